"""Pages for a household's parts: add, change or remove a member; record or withdraw a consent;
add or correct a movement.

Thin, like the household pages: the services in `registry.members` check visibility, the
organisation, the version the form was read at, and audit. A form with problems comes back with
the user's input and each message beside its field; a stale form says so and keeps the input.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jatigi.core.errors import NotFound
from jatigi.core.i18n import N_, _, day
from jatigi.core.numbers import whole_number
from jatigi.registry import form_spec, members, service, vocab
from jatigi.registry.models import Consent, Movement, Person
from jatigi.registry.views import (
    MEMBER_MAIN,
    MEMBER_WG,
    Csrf,
    FormProblems,
    Posted,
    Values,
    WriteActor,
    _editable,
    _empty,
    _raw,
    _read,
    field_label,
    shown_phone,
)
from jatigi.web.deps import SessionDep
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

MEMBER_FIELDS = {f.name: f for f in form_spec.MEMBERS.fields}
MEMBER_REQUIRED = frozenset({"given_name", "family_name", "sex", "relationship"})
FORMER_HEAD = form_spec.Field("former_head_relationship", "select_one",
                              N_("If this member becomes the head, the current head becomes"), "former_head")
DECEASED = form_spec.Field("deceased_on", "date", N_("Died on"),
                           hint=N_("Cash programmes hold the household's payments when its head has died."))
CONSENT_FORM = (
    form_spec.Field("purpose", "select_one", N_("Purpose"), "consent_purpose"),
    form_spec.Field("given", "select_one", N_("Consent given"), "yes_no"),
    form_spec.Field("lawful_basis", "select_one", N_("Lawful basis"), "lawful_basis"),
    form_spec.Field("recorded_on", "date", N_("Recorded on")),
    form_spec.Field("taken_by", "text", N_("Taken by")),
)
CONSENT_REQUIRED = frozenset({"purpose", "given", "recorded_on", "taken_by"})
WITHDRAW_FORM = (form_spec.Field("withdrawn_on", "date", N_("Withdrawn on")),)
CHOICE_LISTS = {**form_spec.CHOICE_LISTS, "consent_purpose": vocab.CONSENT_PURPOSES,
                "lawful_basis": vocab.LAWFUL_BASES,
                "former_head": {k: v for k, v in vocab.RELATIONSHIPS.items() if k != "head"}}
# What withdrawing each consent stops, told before the user withdraws it.
WITHDRAW_EFFECTS = {
    "data_sharing": N_("Partner organisations stop seeing this household at once."),
    "contact": N_("Phone numbers of the household and its members stop opening."),
    "tracing": N_("Whereabouts of separated relatives stop opening."),
    "referral": N_("The household may no longer be referred to services."),
}


def _number(text: str) -> int | None:
    return whole_number(text.strip(), 9)


def _version(form: FormData) -> int:
    return _number(str(form.get("version") or "")) or 0


def _problems(exc: members.Refused, labels: dict[str, str], fields: set[str]) -> FormProblems:
    out = FormProblems()
    for p in exc.problems:
        label = _(labels[p.column]) if p.column in labels else field_label(p.column)
        out.add(p.column if p.column in fields else None, label, p.message)
    return out


def _context(errors: FormProblems | None) -> dict[str, Any]:
    problems = errors or FormProblems()
    return {"errors": problems.by_field, "problems": problems.summary, "choice_lists": CHOICE_LISTS,
            "pcode_hint": form_spec.PCODE_MSG}


# ---- members ----------------------------------------------------------------------------------


def _member_now(p: Person, phone: str | None) -> Values:
    values = _empty(form_spec.MEMBERS.fields)
    for name in ("given_name", "family_name", "sex", "relationship"):
        values[name] = getattr(p, name)
    values["school_attendance"] = p.school_attendance or ""
    values["specific_needs"] = list(p.specific_needs or [])
    values["documents"] = list(p.documents or [])
    for name in MEMBER_WG:
        level = getattr(p, name)
        values[name] = "" if level is None else str(level)
    if p.birth_date and p.age_estimated:
        today = date.today()
        born = p.birth_date
        values["age"] = str(today.year - born.year - ((today.month, today.day) < (born.month, born.day)))
    elif p.birth_date:
        values["birth_date"] = p.birth_date.isoformat()
    values["member_phone"] = shown_phone(phone)
    values["deceased_on"] = p.deceased_on.isoformat() if p.deceased_on else ""
    return values


def _member_page(request: Request, session: Session, d: service.HouseholdDetail, values: Values, version: int, *,
                 person: Person | None = None, errors: FormProblems | None = None, conflict: str | None = None,
                 remove_error: str | None = None, status_code: int = 200) -> HTMLResponse:
    hh = d.household
    head = next((m for m in d.members if m.relationship == "head" and (person is None or m.id != person.id)), None)
    phone_hidden = person is not None and person.phone_sealed is not None and not d.member_phones.get(person.id)
    if person is None:
        title = _("Add a member to household {code}", code=hh.code)
        action = f"/households/{hh.code}/members/new"
    else:
        name = person.given_name + " " + person.family_name
        title = _("Change member {name} of household {code}", name=name, code=hh.code)
        action = f"/households/{hh.code}/members/edit?line={person.line_no}"
    refusal = remove_error or (members.removal_refusal(session, hh, person) if person is not None else None)
    context = _context(errors)
    return render(request, "registry/member_form.html", status_code=status_code, hh=hh, values=values,
                  version=version, title=title, action=action, person=person, head=head,
                  phone_hidden=phone_hidden, conflict=conflict, refusal=refusal, remove_failed=bool(remove_error),
                  member_main=[MEMBER_FIELDS[n] for n in MEMBER_MAIN], member_wg=[MEMBER_FIELDS[n] for n in MEMBER_WG],
                  member_needs=MEMBER_FIELDS["specific_needs"], member_documents=MEMBER_FIELDS["documents"],
                  former_head=FORMER_HEAD, deceased=DECEASED, required=MEMBER_REQUIRED, **context)


def _member_of(d: service.HouseholdDetail, line: str) -> Person:
    n = _number(line)
    found = next((m for m in d.members if m.line_no == n), None)
    if found is None:
        raise NotFound(_("Household {code} has no member {n}.", code=d.household.code, n=line[:10] or "—"))
    return found


def _posted_member(form: FormData, phone_hidden: bool) -> tuple[Values, dict[str, Any]]:
    """What the form shows back, and the values for the service: a phone the user could not see
    is replaced only by a new number, never erased by the empty field."""
    values = _read(form, form_spec.MEMBERS.fields)
    values["former_head_relationship"] = str(form.get("former_head_relationship") or "").strip()
    if "deceased_on" in form:
        values["deceased_on"] = str(form.get("deceased_on") or "").strip()
    sent = _raw({k: v for k, v in values.items() if k != "former_head_relationship"})
    if phone_hidden and not values["member_phone"]:
        del sent["member_phone"]
    return values, sent


_MEMBER_LABELS = ({f.name: f.label for f in form_spec.MEMBERS.fields} | {FORMER_HEAD.name: FORMER_HEAD.label}
                  | {DECEASED.name: DECEASED.label})
_MEMBER_NAMES = set(_MEMBER_LABELS)


@router.get("/households/{code}/members/new", response_class=HTMLResponse)
def member_new_form(code: str, request: Request, session: SessionDep, actor: WriteActor) -> HTMLResponse:
    d = _editable(session, actor, code)
    values = _empty(form_spec.MEMBERS.fields) | {"former_head_relationship": ""}
    return _member_page(request, session, d, values, d.household.version)


def _saved(code: str, change: Callable[[], object], page: Callable[..., Response],
           refused: Callable[[members.Refused], dict[str, Any]]) -> Response:
    """Make a change to a household's part; if someone else changed the household since the form
    was opened, show the form again (409); if the values are refused, with their problems (422);
    else back to the household's page."""
    try:
        change()
    except service.VersionConflict as exc:
        return page(conflict=exc.message, status_code=409)
    except members.Refused as exc:
        return page(status_code=422, **refused(exc))
    return RedirectResponse(f"/households/{code}", status_code=303)


@router.post("/households/{code}/members/new", response_class=HTMLResponse)
def member_new(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
               form: Posted) -> Response:
    d = _editable(session, actor, code)
    values, sent = _posted_member(form, phone_hidden=False)
    version = _version(form)
    return _saved(d.household.code,
                  partial(members.add_member, session=session, actor=actor, code=d.household.code, values=sent,
                          expected_version=version, former_head_relationship=values["former_head_relationship"]),
                  partial(_member_page, request, session, d, values, version),
                  lambda exc: {"errors": _problems(exc, _MEMBER_LABELS, _MEMBER_NAMES)})


@router.get("/households/{code}/members/edit", response_class=HTMLResponse)
def member_edit_form(code: str, request: Request, session: SessionDep, actor: WriteActor,
                     line: str = "") -> HTMLResponse:
    d = _editable(session, actor, code)
    p = _member_of(d, line)
    values = _member_now(p, d.member_phones.get(p.id)) | {"former_head_relationship": ""}
    return _member_page(request, session, d, values, d.household.version, person=p)


@router.post("/households/{code}/members/edit", response_class=HTMLResponse)
def member_edit(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted,
                line: str = "") -> Response:
    d = _editable(session, actor, code)
    p = _member_of(d, line)
    hidden = p.phone_sealed is not None and not d.member_phones.get(p.id)
    values, sent = _posted_member(form, phone_hidden=hidden)
    version = _version(form)
    return _saved(d.household.code,
                  partial(members.update_member, session=session, actor=actor, code=d.household.code, line=p.line_no,
                          values=sent, expected_version=version,
                          former_head_relationship=values["former_head_relationship"]),
                  partial(_member_page, request, session, d, values, version, person=p),
                  lambda exc: {"errors": _problems(exc, _MEMBER_LABELS, _MEMBER_NAMES)})


@router.post("/households/{code}/members/remove", response_class=HTMLResponse)
def member_remove(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
                  form: Posted) -> Response:
    d = _editable(session, actor, code)
    p = _member_of(d, str(form.get("line") or ""))
    version = _version(form)
    values = _member_now(p, d.member_phones.get(p.id)) | {"former_head_relationship": ""}
    return _saved(d.household.code,
                  partial(members.remove_member, session=session, actor=actor, code=d.household.code, line=p.line_no,
                          expected_version=version),
                  partial(_member_page, request, session, d, values, version, person=p),
                  lambda exc: {"remove_error": exc.problems[0].message})


# ---- consents ---------------------------------------------------------------------------------


def _part_page(request: Request, d: service.HouseholdDetail, *, title: str, action: str, fields: tuple[Any, ...],
               values: Values, version: int, submit: str, required: frozenset[str] = frozenset(),
               intro: list[str] | None = None, facts: list[tuple[str, str]] | None = None,
               refusal: str | None = None, errors: FormProblems | None = None, conflict: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    return render(request, "registry/part_form.html", status_code=status_code, hh=d.household, title=title,
                  action=action, fields=fields, values=values, version=version, submit=submit, required=required,
                  intro=intro or [], facts=facts or [], refusal=refusal, conflict=conflict, **_context(errors))


def _consent_page(request: Request, d: service.HouseholdDetail, values: Values, version: int,
                  **kwargs: Any) -> HTMLResponse:
    hh = d.household
    return _part_page(request, d, title=_("Record a consent for household {code}", code=hh.code),
                      action=f"/households/{hh.code}/consents/new", fields=CONSENT_FORM, values=values,
                      version=version, submit=_("Record the consent"), required=CONSENT_REQUIRED,
                      intro=[_("A new record decides its purpose from now on, in place of any earlier one. "
                               "Record a refusal too: it stops what an earlier consent allowed.")], **kwargs)


_CONSENT_LABELS = {f.name: f.label for f in CONSENT_FORM}


@router.get("/households/{code}/consents/new", response_class=HTMLResponse)
def consent_new_form(code: str, request: Request, session: SessionDep, actor: WriteActor) -> HTMLResponse:
    d = _editable(session, actor, code)
    user = getattr(request.state, "user", None)
    values = _empty(CONSENT_FORM) | {"lawful_basis": "consent", "recorded_on": date.today().isoformat(),
                                     "taken_by": user.full_name if user is not None else actor.username}
    return _consent_page(request, d, values, d.household.version)


@router.post("/households/{code}/consents/new", response_class=HTMLResponse)
def consent_new(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
                form: Posted) -> Response:
    d = _editable(session, actor, code)
    values = _read(form, CONSENT_FORM)
    version = _version(form)
    return _saved(d.household.code,
                  partial(members.record_consent, session=session, actor=actor, code=d.household.code,
                          values=_raw(values), expected_version=version),
                  partial(_consent_page, request, d, values, version),
                  lambda exc: {"errors": _problems(exc, _CONSENT_LABELS, set(_CONSENT_LABELS))})


def _consent_of(d: service.HouseholdDetail, consent_id: str) -> Consent:
    n = _number(consent_id)
    found = next((c for c in d.consents if c.id == n), None)
    if found is None:
        raise NotFound(_("Household {code} has no such consent record.", code=d.household.code))
    return found


def _withdraw_page(request: Request, session: SessionDep, d: service.HouseholdDetail, c: Consent, values: Values,
                   version: int, **kwargs: Any) -> HTMLResponse:
    hh = d.household
    purpose = _(vocab.CONSENT_PURPOSES[c.purpose]) if c.purpose in vocab.CONSENT_PURPOSES else c.purpose
    refusal = kwargs.pop("refusal", None) or members.withdrawal_refusal(session, hh, c)
    effect = WITHDRAW_EFFECTS.get(c.purpose)
    return _part_page(
        request, d, title=_("Withdraw a consent of household {code}", code=hh.code),
        action=f"/households/{hh.code}/consents/withdraw?consent={c.id}", fields=WITHDRAW_FORM, values=values,
        version=version, submit=_("Withdraw the consent"), required=frozenset({"withdrawn_on"}),
        facts=[(_("Purpose"), purpose), (_("Recorded on"), day(c.recorded_on)), (_("Taken by"), c.taken_by)],
        intro=[_(effect)] if effect else [], refusal=refusal, **kwargs)


@router.get("/households/{code}/consents/withdraw", response_class=HTMLResponse)
def consent_withdraw_form(code: str, request: Request, session: SessionDep, actor: WriteActor,
                          consent: str = "") -> HTMLResponse:
    d = _editable(session, actor, code)
    c = _consent_of(d, consent)
    return _withdraw_page(request, session, d, c, {"withdrawn_on": date.today().isoformat()}, d.household.version)


@router.post("/households/{code}/consents/withdraw", response_class=HTMLResponse)
def consent_withdraw(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
                     form: Posted, consent: str = "") -> Response:
    d = _editable(session, actor, code)
    c = _consent_of(d, consent)
    values = _read(form, WITHDRAW_FORM)
    version = _version(form)
    def refused(exc: members.Refused) -> dict[str, Any]:
        if exc.problems[0].column == "consent":  # the consent itself may not be withdrawn
            return {"refusal": exc.problems[0].message}
        return {"errors": _problems(exc, {"withdrawn_on": WITHDRAW_FORM[0].label}, {"withdrawn_on"})}

    return _saved(d.household.code,
                  partial(members.withdraw_consent, session=session, actor=actor, code=d.household.code,
                          consent_id=c.id, withdrawn_on=values["withdrawn_on"], expected_version=version),
                  partial(_withdraw_page, request, session, d, c, values, version), refused)


# ---- movements --------------------------------------------------------------------------------

MOVEMENT_FORM = form_spec.MOVEMENTS.fields
_MOVEMENT_LABELS = {f.name: f.label for f in MOVEMENT_FORM}


def _movement_page(request: Request, d: service.HouseholdDetail, values: Values, version: int,
                   mv: Movement | None = None, **kwargs: Any) -> HTMLResponse:
    hh = d.household
    if mv is None:
        title, action, submit = (_("Add a movement to household {code}", code=hh.code),
                                 f"/households/{hh.code}/movements/new", _("Add the movement"))
    else:
        title, action, submit = (_("Correct a movement of household {code}", code=hh.code),
                                 f"/households/{hh.code}/movements/edit?movement={mv.id}", _("Save the correction"))
    return _part_page(request, d, title=title, action=action, fields=MOVEMENT_FORM, values=values, version=version,
                      submit=submit, required=frozenset({"movement_kind"}),
                      intro=[_("Adding a movement does not change the household's current place: edit the "
                               "household for that.")], **kwargs)


def _movement_of(d: service.HouseholdDetail, movement_id: str) -> Movement:
    n = _number(movement_id)
    found = next((m for m in d.movements if m.id == n), None)
    if found is None:
        raise NotFound(_("Household {code} has no such movement.", code=d.household.code))
    return found


def _movement_now(mv: Movement) -> Values:
    return {"movement_kind": mv.kind, "movement_date": mv.moved_on.isoformat() if mv.moved_on else "",
            "movement_from": mv.from_pcode or "", "movement_to": mv.to_pcode or ""}


@router.get("/households/{code}/movements/new", response_class=HTMLResponse)
def movement_new_form(code: str, request: Request, session: SessionDep, actor: WriteActor) -> HTMLResponse:
    d = _editable(session, actor, code)
    return _movement_page(request, d, _empty(MOVEMENT_FORM), d.household.version)


@router.post("/households/{code}/movements/new", response_class=HTMLResponse)
def movement_new(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf,
                 form: Posted) -> Response:
    d = _editable(session, actor, code)
    values = _read(form, MOVEMENT_FORM)
    version = _version(form)
    return _saved(d.household.code,
                  partial(members.add_movement, session=session, actor=actor, code=d.household.code,
                          values=_raw(values), expected_version=version),
                  partial(_movement_page, request, d, values, version),
                  lambda exc: {"errors": _problems(exc, _MOVEMENT_LABELS, set(_MOVEMENT_LABELS))})


@router.get("/households/{code}/movements/edit", response_class=HTMLResponse)
def movement_edit_form(code: str, request: Request, session: SessionDep, actor: WriteActor,
                       movement: str = "") -> HTMLResponse:
    d = _editable(session, actor, code)
    mv = _movement_of(d, movement)
    return _movement_page(request, d, _movement_now(mv), d.household.version, mv)


@router.post("/households/{code}/movements/edit", response_class=HTMLResponse)
def movement_edit(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted,
                  movement: str = "") -> Response:
    d = _editable(session, actor, code)
    mv = _movement_of(d, movement)
    values = _read(form, MOVEMENT_FORM)
    version = _version(form)
    return _saved(d.household.code,
                  partial(members.update_movement, session=session, actor=actor, code=d.household.code,
                          movement_id=mv.id, values=_raw(values), expected_version=version),
                  partial(_movement_page, request, d, values, version, mv),
                  lambda exc: {"errors": _problems(exc, _MOVEMENT_LABELS, set(_MOVEMENT_LABELS))})
