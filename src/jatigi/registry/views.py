"""The registry's pages: the list with search, a household's page, create, edit and delete.

Thin: read the form, call the services — which check visibility and permissions again and
audit every read and change — and render. A form with problems comes back with the user's
input kept and each message beside its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jatigi.accounts import service as accounts
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Forbidden, ValidationFailed
from jatigi.core.i18n import N_, _, day, money, number
from jatigi.core.numbers import whole_number
from jatigi.dedup.service import duplicates_of_household
from jatigi.places import service as places_service
from jatigi.places.service import known_pcodes
from jatigi.registry import form_spec, service, vocab
from jatigi.registry.history import PART_CHOICES, PART_LABELS, HistoryEntry, household_timeline
from jatigi.registry.models import Household
from jatigi.registry.problems import Problem
from jatigi.registry.text import name_key
from jatigi.registry.validate import Context, RawRow, RawSubmission, check_submission
from jatigi.targeting.assessment_page import assessments_for_page
from jatigi.targeting.vulnerability_page import vulnerability_for_page
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_MEMBERS = 30
AUDIT_SHOWN = 50
# Shortened name terms tried, in turn, when a name finds nothing.
FALLBACK_PREFIXES = (4, 3)

ReadActor = Annotated[Actor, Depends(page_require(Permission.REGISTRY_HOUSEHOLD_READ))]
WriteActor = Annotated[Actor, Depends(page_require(Permission.REGISTRY_HOUSEHOLD_WRITE))]
DeleteActor = Annotated[Actor, Depends(page_require(Permission.REGISTRY_HOUSEHOLD_DELETE))]
# Every form post carries the session's CSRF token.
Csrf = Annotated[None, Depends(check_csrf)]


async def _posted(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(_posted)]


# ---- the list and search ----------------------------------------------------------------------


@dataclass
class Search:
    q: str = ""
    phone: str = ""
    pcode: str = ""
    population_group: str = ""

    def any(self) -> bool:
        return bool(self.q or self.phone or self.pcode or self.population_group)

    def url(self, page: int = 1) -> str:
        params = {k: v for k, v in self.__dict__.items() if v}
        if page > 1:
            params["page"] = str(page)
        return "/households" + ("?" + urlencode(params) if params else "")


def _positive(text: str) -> int:
    """A count or page number from a query or form: 1 when absent or not a number."""
    return page_number(text.strip(), max_digits=7)


def _find(session: Session, actor: Actor, s: Search, offset: int) -> tuple[service.SearchResult, str | None]:
    """Search; when a name finds nothing, try its terms cut to their first letters. Returns the
    result and the prefixes that found it, if the fallback was used."""

    def run(q: str) -> service.SearchResult:
        return service.search(session=session, actor=actor, q=q or None, phone=s.phone or None,
                              pcode=s.pcode or None, population_group=s.population_group or None,
                              limit=PAGE_SIZE, offset=offset)

    result = run(s.q)
    if result.total or not s.q:
        return result, None
    terms = name_key(s.q).split()
    tried = {" ".join(terms)}
    for size in FALLBACK_PREFIXES:
        short = " ".join(t[:size] for t in terms)
        if short in tried:
            continue
        tried.add(short)
        found = run(short)
        if found.total:
            return found, short
    return result, None


def _bad_field(s: Search) -> str:
    """Which search field the service's message is about: it checks the name, then the phone."""
    if s.q and not name_key(s.q).split():
        return "q"
    return "phone" if s.phone else "q"


@router.get("/households", response_class=HTMLResponse)
def household_list(request: Request, session: SessionDep, actor: ReadActor, q: str = "", phone: str = "",
                   pcode: str = "", population_group: str = "", page: str = "1",
                   deleted: str = "") -> HTMLResponse:
    s = Search(q.strip()[:200], phone.strip()[:40], pcode.strip()[:32], population_group.strip()[:40])
    page_no = _positive(page)
    offset = (page_no - 1) * PAGE_SIZE
    errors: dict[str, str] = {}
    prefixes: str | None = None
    result = service.SearchResult()
    if s.population_group and s.population_group not in vocab.POPULATION_GROUPS:
        errors["population_group"] = _("Unknown choice; accepted: {accepted}.",
                                       accepted=", ".join(vocab.POPULATION_GROUPS))
    elif not s.any():
        result = service.list_households(session=session, actor=actor, limit=PAGE_SIZE, offset=offset)
    else:
        try:
            result, prefixes = _find(session, actor, s, offset)
        except ValidationFailed as exc:
            errors[_bad_field(s)] = exc.message
    pages = max(1, -(-result.total // PAGE_SIZE))
    if errors:
        count = _("No search was made.")
    elif not result.total:
        count = _("No household found.")
    elif not result.hits:
        count = _("This page is past the last one: {total} households found.", total=number(result.total))
    else:
        count = _("Households {first} to {last} of {total}", first=number(offset + 1),
                  last=number(offset + len(result.hits)), total=number(result.total))
    context: dict[str, Any] = {
        "search": s, "result": result, "errors": errors, "count": count, "page": page_no, "pages": pages,
        "previous_url": s.url(min(page_no - 1, pages)) if page_no > 1 else None,
        "next_url": s.url(page_no + 1) if page_no < pages else None,
        "notice": _("No exact match; showing names that begin like {prefixes}",
                    prefixes=", ".join(p + "…" for p in prefixes.split())) if prefixes else None,
        "deleted": deleted if re.fullmatch(r"[A-Z0-9-]{1,16}", deleted) else None,
        "groups": vocab.POPULATION_GROUPS,
    }
    partial = request.headers.get("hx-request") and not request.headers.get("hx-history-restore-request")
    response = render(request, "registry/_results.html" if partial else "registry/list.html",
                      oob=bool(partial), **context)
    response.headers["Vary"] = "HX-Request"
    return response


# ---- the household page -----------------------------------------------------------------------


def _place_names(session: Session, pcodes: Iterable[str | None]) -> dict[str, str]:
    return places_service.names_of(session=session, pcodes=pcodes)


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass
class MemberRow:
    line: int
    name: str
    sex: str
    born: str
    age: int | None
    estimated: bool
    relationship: str
    disability: list[str] | None  # domains with a lot of difficulty or more; None when not asked
    school: str
    needs: list[tuple[str, str]]
    died: str | None = None  # the day of death, as shown


def _member_rows(members: Iterable[Any]) -> list[MemberRow]:
    today = date.today()
    rows = []
    for p in members:
        levels = {d: getattr(p, f"wg_{d}") for d in vocab.WG_DOMAINS}
        answered = [v for v in levels.values() if v is not None]
        disability = [_(vocab.WG_DOMAINS[d]) for d, v in levels.items()
                      if v is not None and v >= vocab.WG_DISABILITY_THRESHOLD] if answered else None
        rows.append(MemberRow(
            line=p.line_no, name=f"{p.given_name} {p.family_name}", sex=_label(vocab.SEXES, p.sex),
            born=day(p.birth_date), age=_age_on(p.birth_date, today) if p.birth_date else None,
            estimated=bool(p.age_estimated), relationship=_label(vocab.RELATIONSHIPS, p.relationship),
            disability=disability, school=_label(vocab.SCHOOL_ATTENDANCE, p.school_attendance),
            needs=[(c, _label(vocab.SPECIFIC_NEEDS, c)) for c in p.specific_needs or []],
            died=day(p.deceased_on) if p.deceased_on else None,
        ))
    return rows


def _label(labels: dict[str, str], code: str | None) -> str:
    if code is None or code == "":
        return "—"
    return _(labels[code]) if code in labels else code


_CHOICE_FIELDS = {"population_group": vocab.POPULATION_GROUPS, "living_arrangement": vocab.LIVING_ARRANGEMENTS,
                  "intention": vocab.INTENTIONS, "head_sex": vocab.SEXES, "priority_needs": vocab.NEEDS,
                  **PART_CHOICES}
_MORE_LABELS = {
    "member_count": N_("Members"), "head_sex": N_("Sex of the head"),
    "sharing_consent": N_("Consent to sharing with partner organisations"),
    "current_admin1": N_("Region (P-code)"), "registered_on": N_("Registered on"),
    "enumerator": N_("Name of the enumerator who took consent"), "deleted_at": N_("Deleted on"),
    "deleted_by": N_("Deleted by"), "delete_reason": N_("Reason for deletion"), "purge_after": N_("Erased after"),
    "code": N_("Code"), "departed_on": N_("Left on (whereabouts unknown or elsewhere)"),
    "deceased_on": N_("Died on"),
}
_FIELD_LABELS = {f.name: f.label for g in form_spec.MAIN_GROUPS for f in g.fields} | _MORE_LABELS | PART_LABELS


def field_label(name: str) -> str:
    return _(_FIELD_LABELS[name]) if name in _FIELD_LABELS else name


def shown_value(name: str, value: Any, places: dict[str, str]) -> str:
    """A stored value as a person reads it: labels for codes, dates and amounts per language."""
    if value is None or value == "" or value == []:
        return "—"
    if name in _CHOICE_FIELDS and isinstance(value, list):
        return ", ".join(_label(_CHOICE_FIELDS[name], str(v)) for v in value)
    if name in _CHOICE_FIELDS:
        return _label(_CHOICE_FIELDS[name], str(value))
    if name.endswith("_xof") and isinstance(value, int):
        return money(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name.endswith("pcode") and isinstance(value, str):
        return f"{places[value]} ({value})" if value in places else value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return day(date.fromisoformat(value))
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", value):
        return day(datetime.fromisoformat(value))
    return str(value)


def when(at: datetime | None) -> str:
    """A moment of the audit trail or history: the day per language and the time (UTC)."""
    if at is None:
        return "—"
    return f"{day(at)} {at:%H:%M} UTC"


_ACTIONS = {
    "household.create": N_("Registered"), "household.read": N_("Opened"), "household.update": N_("Changed"),
    "household.history": N_("History read"), "household.delete": N_("Deleted"),
    "household.member_add": N_("Member added"), "household.member_update": N_("Member changed"),
    "household.member_remove": N_("Member removed"), "household.consent_add": N_("Consent recorded"),
    "household.consent_withdraw": N_("Consent withdrawn"), "household.movement_add": N_("Movement added"),
    "household.movement_update": N_("Movement corrected"),
}


def history_caption(e: HistoryEntry) -> str:
    """What an entry of the history is about, when and by whom, in plain words."""
    at, who = when(e.changed_at), e.changed_by or "—"
    if e.subject == "person":
        about = e.about or "—"
        if e.action == "added":
            return _("Member {name} added on {when} by {who}", name=about, when=at, who=who)
        if e.action == "removed":
            return _("Member {name} removed from the household on {when} by {who}", name=about, when=at, who=who)
        return _("Member {name} changed on {when} by {who}", name=about, when=at, who=who)
    if e.subject == "consent":
        purpose = _label(vocab.CONSENT_PURPOSES, e.about)
        if e.action == "added":
            return _("Consent recorded ({purpose}) on {when} by {who}", purpose=purpose, when=at, who=who)
        if e.action == "withdrawn":
            return _("Consent withdrawn ({purpose}) on {when} by {who}", purpose=purpose, when=at, who=who)
        return _("Consent changed ({purpose}) on {when} by {who}", purpose=purpose, when=at, who=who)
    if e.subject == "movement":
        kind = _label(vocab.MOVEMENT_KINDS, e.about)
        if e.action == "added":
            return _("Movement added ({kind}) on {when} by {who}", kind=kind, when=at, who=who)
        return _("Movement corrected ({kind}) on {when} by {who}", kind=kind, when=at, who=who)
    return _("Version {version} changed on {when} by {who}", version=e.version, when=at, who=who)


@dataclass
class TrailRow:
    at: str
    actor: str
    action: str
    detail: str
    ip: str


def _audit_trail(session: Session, code: str) -> list[TrailRow]:
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "household", AuditEvent.entity_id == code)
        .order_by(AuditEvent.id.desc()).limit(AUDIT_SHOWN))
    return [TrailRow(when(e.at), e.actor, _(_ACTIONS[e.action]) if e.action in _ACTIONS else e.action,
                     _detail_text(e.detail), e.ip or "") for e in events]


def _detail_text(detail: dict[str, Any] | None) -> str:
    """An event's details as plain text: "opened: phone, whereabouts; fields: monthly_rent_xof"."""
    if not detail:
        return ""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            text = ", ".join(map(str, value))
        elif isinstance(value, dict | bool | int | float) or value is None:
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
        parts.append(f"{key}: {text}")
    return "; ".join(parts)


def shown_phone(digits: str | None) -> str:
    """A stored number (digits with the country code) as people write it: +223 76 12 34 56."""
    if not digits:
        return ""
    if digits.startswith("223") and len(digits) == 11:
        local = digits[3:]
        return "+223 " + " ".join(local[i:i + 2] for i in range(0, 8, 2))
    return "+" + digits


def _phone_note(actor: Actor, hh: Household, phone: str | None) -> str | None:
    """Why the phone is not shown, or None when it is."""
    if phone:
        return None
    if hh.phone_sealed is None:
        return _("None recorded.")
    if not actor.can(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE):
        return _("Hidden: your role may not open phone numbers.")
    if not actor.acts_for(hh.org_id):
        return _("Hidden: only the organisation that registered the household may open it.")
    return _("Hidden: the household did not consent to be contacted by phone.")


def _may_change(actor: Actor, hh: Household, permission: Permission) -> bool:
    return actor.can(permission) and actor.acts_for(hh.org_id)


def _household_page(request: Request, session: Session, actor: Actor, code: str, *,
                    delete_error: str | None = None, status_code: int = 200) -> HTMLResponse:
    d = service.get_household(session=session, actor=actor, code=code)
    hh = d.household
    history: list[HistoryEntry] = household_timeline(session=session, detail=d)
    places = _place_names(session, [
        hh.current_pcode, hh.origin_pcode, *(m.from_pcode for m in d.movements), *(m.to_pcode for m in d.movements),
        *(r.last_known_pcode for r in d.relatives),
        *(str(c.before) for e in history for c in e.changes if c.field.endswith("pcode") and c.before),
        *(str(c.after) for e in history for c in e.changes if c.field.endswith("pcode") and c.after)])
    org = accounts.organisation_names(session=session).get(hh.org_id)
    trail = _audit_trail(session, hh.code) if actor.can(Permission.CORE_AUDIT_READ) else None
    withdrawn_by = {e.entity_id: e.changed_by for e in history if e.subject == "consent" and e.action == "withdrawn"}
    return render(
        request, "registry/household.html", status_code=status_code,
        hh=hh, d=d, phone=shown_phone(d.phone), places=places, org=org, members=_member_rows(d.members),
        history=list(reversed(history)), phone_note=_phone_note(actor, hh, d.phone), trail=trail,
        may_edit=_may_change(actor, hh, Permission.REGISTRY_HOUSEHOLD_WRITE),
        may_delete=_may_change(actor, hh, Permission.REGISTRY_HOUSEHOLD_DELETE),
        audit_shown=AUDIT_SHOWN, delete_error=delete_error, vocab=vocab, label=_label, field_label=field_label,
        shown=shown_value, when=when, caption=history_caption, deciding=service.deciding_consents(d.consents),
        withdrawn_by=withdrawn_by,
        duplicates=duplicates_of_household(session=session, actor=actor, household_id=hh.id),
        assessments=assessments_for_page(session, actor, hh),
        vulnerability=vulnerability_for_page(session, actor, hh),
    )


# ---- forms: values, problems beside their fields ----------------------------------------------

Values = dict[str, Any]  # field name -> text, or a list of codes for a multiple choice

MEMBER_MAIN = ("given_name", "family_name", "sex", "relationship", "birth_date", "age", "school_attendance",
               "member_phone")
MEMBER_WG = tuple(f"wg_{d}" for d in vocab.WG_DOMAINS)
MEMBER_FIELDS = {f.name: f for f in form_spec.MEMBERS.fields}
# What check_submission requires (form_spec's `required` is the field form's, a little wider).
REQUIRED = frozenset({"consent_registration", "enumerator", "population_group", "current_pcode",
                      "living_arrangement", "given_name", "family_name", "sex", "relationship"})


def member_name(i: int, name: str) -> str:
    return f"m-{i}-{name}"


def _read(form: FormData, fields: Iterable[form_spec.Field], prefix: str = "") -> Values:
    values: Values = {}
    for f in fields:
        key = prefix + f.name
        if f.type == "select_multiple":
            values[f.name] = [str(v) for v in form.getlist(key) if str(v).strip()]
        else:
            values[f.name] = str(form.get(key) or "").strip()
    return values


def _raw(values: Values) -> dict[str, object]:
    return {k: " ".join(v) if isinstance(v, list) else v for k, v in values.items()}


def _blank(values: Values) -> bool:
    return not any(values.values())


@dataclass
class FormProblems:
    """Messages by field name (as the form names it), and a list for the summary at the top."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str | None, str, str]] = field(default_factory=list)  # (field id, label, message)

    def add(self, name: str | None, label: str, message: str) -> None:
        if name:
            self.by_field.setdefault(name, []).append(message)
        self.summary.append(("f-" + name if name else None, label, message))

    def __bool__(self) -> bool:
        return bool(self.summary)

    @classmethod
    def of(cls, found: Iterable[tuple[str, str]], label: Callable[[str], str], prefix: str = "") -> FormProblems:
        """The (field, message) pairs of a check (a `FieldsInvalid`'s `problems`, a list's filters), each
        field named by `label`; `prefix` is put before the field's name where the form names it so."""
        out = cls()
        for name, message in found:
            out.add(prefix + name, label(name), message)
        return out

    @classmethod
    def general(cls, message: str) -> FormProblems:
        """A problem of no one field: the action was not done."""
        out = cls()
        out.add(None, _("Not done"), message)
        return out


def _member_label(column: str) -> tuple[str, str] | None:
    match = re.fullmatch(r"m-(\d+)-(\w+)", column)
    if not match:
        return None
    i, name = int(match.group(1)), match.group(2)
    label = _(MEMBER_FIELDS[name].label) if name in MEMBER_FIELDS else name
    return column, _("Member {n}, {field}", n=i + 1, field=label)


def _problems_of(problems: list[Problem]) -> FormProblems:
    out = FormProblems()
    for p in problems:
        member = _member_label(p.column)
        if member:
            out.add(member[0], member[1], p.message)
        elif p.column == "members":
            out.add("members", _("Household members"), p.message)
        elif p.column in _FIELD_LABELS:
            out.add(p.column, field_label(p.column), p.message)
        else:
            out.add(None, p.column, p.message)
    return out


def _form_context(errors: FormProblems | None = None) -> dict[str, Any]:
    return {
        "errors": (errors or FormProblems()).by_field, "problems": (errors or FormProblems()).summary,
        "choice_lists": form_spec.CHOICE_LISTS, "required": REQUIRED, "member_name": member_name,
        "pcode_hint": form_spec.PCODE_MSG,
    }


# ---- create -----------------------------------------------------------------------------------


def _create_page(request: Request, main: Values, members: list[Values], errors: FormProblems | None = None,
                 status_code: int = 200) -> HTMLResponse:
    return render(request, "registry/create.html", status_code=status_code, main=main, members=members,
                  consent_fields=form_spec.CONSENT.fields, household_fields=form_spec.HOUSEHOLD.fields,
                  member_main=[MEMBER_FIELDS[n] for n in MEMBER_MAIN],
                  member_wg=[MEMBER_FIELDS[n] for n in MEMBER_WG],
                  member_needs=MEMBER_FIELDS["specific_needs"], member_documents=MEMBER_FIELDS["documents"],
                  max_members=MAX_MEMBERS, **_form_context(errors))


def _empty(fields: Iterable[form_spec.Field]) -> Values:
    return {f.name: [] if f.type == "select_multiple" else "" for f in fields}


@router.get("/households/new", response_class=HTMLResponse)
def create_form(request: Request, actor: WriteActor) -> HTMLResponse:
    main = _empty((*form_spec.CONSENT.fields, *form_spec.HOUSEHOLD.fields))
    user = getattr(request.state, "user", None)
    main["enumerator"] = user.full_name if user is not None else actor.username
    return _create_page(request, main, [_empty(form_spec.MEMBERS.fields)])


@router.post("/households/new", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted) -> Response:
    main = _read(form, (*form_spec.CONSENT.fields, *form_spec.HOUSEHOLD.fields))
    count = _positive(str(form.get("member_count") or "1"))
    members = [_read(form, form_spec.MEMBERS.fields, member_name(i, "")) for i in range(min(count, MAX_MEMBERS))]
    if form.get("add_member"):
        if len(members) < MAX_MEMBERS:
            members.append(_empty(form_spec.MEMBERS.fields))
        return _create_page(request, main, members)
    removed = str(form.get("remove_member") or "")
    removed_at = whole_number(removed, 3)
    if removed_at is not None:
        if len(members) > 1 and removed_at < len(members):
            members.pop(removed_at)
        return _create_page(request, main, members)

    # Blocks left empty (an "add a member" pressed once too often) are not members.
    kept = [(i, m) for i, m in enumerate(members) if not _blank(m)] or [(0, members[0])]
    submission = RawSubmission(
        main=RawRow("form", 1, _raw(main), {form_spec.META_UUID: "members"}),
        repeats={"members": [RawRow("form", n, _raw(m), {k: member_name(i, k) for k in m})
                             for n, (i, m) in enumerate(kept, start=1)]})
    record, problems = check_submission(submission, Context(pcodes=set(known_pcodes(session=session))))
    if record is None:
        return _create_page(request, main, members, _problems_of(problems), status_code=422)
    code = service.create_household(session=session, actor=actor, record=record)
    return RedirectResponse(f"/households/{code}", status_code=303)


# ---- household page, edit, delete -------------------------------------------------------------


@router.get("/households/{code}", response_class=HTMLResponse)
def household_page(code: str, request: Request, session: SessionDep, actor: ReadActor) -> HTMLResponse:
    return _household_page(request, session, actor, code)


DEPARTED = form_spec.Field("departed_on", "date", N_("Left on (whereabouts unknown or elsewhere)"),
                           hint=N_("The day the household left the place where it is registered; cash programmes "
                                   "hold its payments until this is cleared."))
EDIT_FIELDS = (*(f for f in form_spec.HOUSEHOLD.fields if f.name in service.EDITABLE), DEPARTED)
EDIT_REQUIRED = frozenset({"population_group", "current_pcode", "living_arrangement"})


def _current_values(hh: Household, phone: str | None) -> Values:
    values: Values = {}
    for f in EDIT_FIELDS:
        if f.name == "phone":
            values["phone"] = shown_phone(phone)
            continue
        value = getattr(hh, f.name)
        if f.type == "select_multiple":
            values[f.name] = list(value or [])
        elif isinstance(value, date):
            values[f.name] = value.isoformat()
        else:
            values[f.name] = "" if value is None else str(value)
    return values


def _edit_page(request: Request, hh: Household, values: Values, version: int, phone_hidden: bool,
               errors: FormProblems | None = None, conflict: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    context = _form_context(errors)
    context["required"] = EDIT_REQUIRED
    return render(request, "registry/edit.html", status_code=status_code, hh=hh, main=values, version=version,
                  fields=EDIT_FIELDS, phone_hidden=phone_hidden, conflict=conflict, **context)


def _editable(session: Session, actor: Actor, code: str) -> service.HouseholdDetail:
    d = service.get_household(session=session, actor=actor, code=code)
    if not _may_change(actor, d.household, Permission.REGISTRY_HOUSEHOLD_WRITE):
        raise Forbidden(_("Only the organisation that registered this household may change it."))
    return d


@router.get("/households/{code}/edit", response_class=HTMLResponse)
def edit_form(code: str, request: Request, session: SessionDep, actor: WriteActor) -> HTMLResponse:
    d = _editable(session, actor, code)
    hidden = d.phone is None and d.household.phone_sealed is not None
    return _edit_page(request, d.household, _current_values(d.household, d.phone), d.household.version, hidden)


def _changes(form: FormData, current: Values, phone_hidden: bool) -> dict[str, Any]:
    """The fields the user changed. A field the form did not send is left as it is; a phone the
    user could not see is replaced only by a new number, never erased by an empty field."""
    changes: dict[str, Any] = {}
    for f in EDIT_FIELDS:
        if f.type == "select_multiple":
            if not form.get(f"{f.name}__shown"):
                continue
            chosen = [str(v) for v in form.getlist(f.name) if str(v).strip()]
            if set(chosen) != set(current[f.name]):
                changes[f.name] = " ".join(chosen)
            continue
        if f.name not in form:
            continue
        value = str(form.get(f.name) or "").strip()
        if f.name == "phone" and phone_hidden and not value:
            continue
        if value != current[f.name]:
            changes[f.name] = value
    return changes


def _update_problems(message: str) -> FormProblems:
    """update_household's "column: message (value: …)" parts, joined by "; ", back by field."""
    sample = _("{column}: {message} (value: {value})", column="\x01", message="\x02", value="\x03")
    head, _sep, rest = sample.partition("\x01")
    between, _sep, rest = rest.partition("\x02")
    value_open, _sep, close = rest.partition("\x03")
    names = sorted(service.EDITABLE, key=len, reverse=True)
    pattern = re.compile("(?:^|; )" + re.escape(head) + "(" + "|".join(names) + ")" + re.escape(between))
    found = list(pattern.finditer(message))
    out = FormProblems()
    if not found or found[0].start() != 0:
        out.add(None, _("Household"), message)
        return out
    for match, following in zip(found, [*found[1:], None], strict=True):
        text = message[match.end():following.start() if following else len(message)]
        cut = text.rfind(value_open)
        if cut > 0 and text.endswith(close):
            text = text[:cut]
        out.add(match.group(1), field_label(match.group(1)), text)
    return out


@router.post("/households/{code}/edit", response_class=HTMLResponse)
def edit(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
         form: Posted) -> Response:
    d = _editable(session, actor, code)
    hh = d.household
    hidden = d.phone is None and hh.phone_sealed is not None
    current = _current_values(hh, d.phone)
    version_text = str(form.get("version") or "").strip()
    version = whole_number(version_text, 9) or 0
    shown = {**current, **{k: v for k, v in _read(form, EDIT_FIELDS).items()
                           if k in form or (k == "priority_needs" and form.get("priority_needs__shown"))}}
    changes = _changes(form, current, hidden)
    try:
        service.update_household(session=session, actor=actor, code=hh.code, changes=changes,
                                 expected_version=version)
    except service.VersionConflict as exc:
        return _edit_page(request, hh, shown, version, hidden, conflict=exc.message, status_code=409)
    except ValidationFailed as exc:
        return _edit_page(request, hh, shown, version, hidden, errors=_update_problems(exc.message),
                          status_code=422)
    return RedirectResponse(f"/households/{hh.code}", status_code=303)


@router.post("/households/{code}/delete", response_class=HTMLResponse)
def delete(code: str, request: Request, session: SessionDep, actor: DeleteActor, _csrf: Csrf,
           reason: Annotated[str, Form()] = "") -> Response:
    if not reason.strip():
        # Shown beside the reason field on the household page, not as an error page.
        return _household_page(request, session, actor, code, delete_error=_("Say why the household is deleted."),
                               status_code=422)
    hh = service.delete_household(session=session, actor=actor, code=code, reason=reason)
    return RedirectResponse("/households?" + urlencode({"deleted": hh.code}), status_code=303)
