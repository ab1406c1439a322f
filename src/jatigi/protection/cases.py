"""Protection cases: intake (opening a case), reading a case file, and the list of the cases one
needs to know.

The person (names, sex, birth date or age, phone, address), the contact safety the survivor chose
(may we call? when? which name to ask for?) and the summary are sealed under the case's own data
key. What stays in clear is what need-to-know lists and statistics use: type, state, stage, risk,
sex, age group, area. On a GBV case the name is hidden by default — the survivor code stands for
the person — and showing it is an explicit, audited act of the caseworker or supervisor.

Every read of a case is audited ("protection.case.read"); a case one may not see is answered
like one that does not exist (`policies.get_case`). Case work (stages, entries, closure…) is in
`case_work`, GBV incidents in `incidents`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import RolePermission, User, UserRole
from jatigi.core import audit, changes
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, FieldsInvalid, Forbidden
from jatigi.core.i18n import N_, _
from jatigi.places.models import AdminUnit
from jatigi.protection import policies, vocab
from jatigi.protection.models import CaseShare, ProtectionCase
from jatigi.protection.sealing import key_for, open_json, open_text, opened_key, seal_json
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.registry.validate import parse_date

P = Permission
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
CODE_LENGTH = 6
CODE_ATTEMPTS = 20
PAGE_SIZE = 50
MAX_NAME = 100
MAX_PHONE = 40
MAX_ADDRESS = 300
MAX_SUMMARY = 4000
MAX_CONTACT_TEXT = 200
MAX_AGE = 120
EARLIEST = date(1900, 1, 1)
ENTITY = "protection_case"

LABELS = {
    "case_type": N_("Type of case"),
    "given_name": N_("Given name"),
    "family_name": N_("Family name"),
    "sex": N_("Sex"),
    "birth_date": N_("Birth date"),
    "age": N_("Age (years)"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "may_call": N_("May we call?"),
    "call_when": N_("When to call"),
    "ask_for": N_("Name to ask for"),
    "contact_notes": N_("Other safety instructions"),
    "summary": N_("Summary"),
    "risk_level": N_("Risk level"),
    "area_pcode": N_("Area (P-code)"),
    "household": N_("Household code"),
    "supervisor": N_("Supervisor"),
    "opened_on": N_("Opened on"),
    "state": N_("State"),
    "stage": N_("Stage"),
    "q": N_("Case or survivor code"),
    "kind": N_("Kind of entry"),
    "text": N_("Text"),
    "service_type": N_("Service"),
    "due_on": N_("Due on"),
    "reason": N_("Reason"),
    "share_reason": N_("Why this colleague needs to know"),
    "closure_reason": N_("Reason for closing"),
    "caseworker": N_("Caseworker"),
    "colleague": N_("Colleague"),
    "purpose": N_("Purpose"),
    "organisation": N_("Organisation"),
    "lawful_basis": N_("Lawful basis"),
    "given_by": N_("Given by"),
    "given_on": N_("Given on"),
    "entry": N_("Entry"),
    "confirm_open_items": N_("Request closure with items still open"),
}
MAY_CALL = {"yes": N_("Yes, we may call"), "no": N_("No: do not call")}


class CaseInvalid(FieldsInvalid):
    """Input with problems, each with its field: nothing was written."""

    labels = LABELS


label = CaseInvalid.label




def unknown_choice(value: str, codes: dict[str, str]) -> str:
    """The message for a value not among the codes: the value, and what is accepted."""
    return _("Unknown choice {value}; accepted: {accepted}.", value=(value or "—")[:40], accepted=", ".join(codes))


def choice(problems: list[tuple[str, str]], name: str, value: str | None, codes: dict[str, str], *,
           required: bool = True) -> str | None:
    """A code of `codes`, or None (with a problem if it was required or is unknown). Codes are
    matched whatever their case (F, Yes), and oui/non stand for yes/no."""
    text = (value or "").strip()
    if not text:
        if required:
            problems.append((name, _("Required; accepted: {accepted}.", accepted=", ".join(codes))))
        return None
    found = code_of(text, codes)
    if found is None:
        problems.append((name, unknown_choice(text, codes)))
    return found


SYNONYMS = {"oui": "yes", "non": "no", "inconnu": "unknown"}


def code_of(text: str, codes: dict[str, str]) -> str | None:
    """The code of `codes` that `text` names, whatever its case (oui/non/inconnu for yes/no/unknown), or None."""
    wanted = text.strip().lower()
    wanted = SYNONYMS.get(wanted, wanted) if SYNONYMS.get(wanted) in codes else wanted
    return next((code for code in codes if code.lower() == wanted), None)


def text_value(problems: list[tuple[str, str]], name: str, value: str | None, limit: int, *,
               required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        problems.append((name, _("Required.")))
    elif len(text) > limit:
        problems.append((name, _("At most {n} characters (here {count}).", n=limit, count=len(text))))
    return text


def day_value(problems: list[tuple[str, str]], name: str, value: str | date | None, *, today: date,
              required: bool = False, earliest: date = EARLIEST, future: bool = False) -> date | None:
    """A date given as a date, YYYY-MM-DD or DD/MM/YYYY."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append((name, _("Required: a date, YYYY-MM-DD or DD/MM/YYYY.")))
        return None
    found = value if isinstance(value, date) else parse_date(value)
    if found is None:
        problems.append((name, _("{value} is not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.", value=str(value)[:20])))
        return None
    if not future and found > today:
        problems.append((name, _("{value} is in the future: not accepted.", value=found.isoformat())))
        return None
    if found < earliest:
        problems.append((name, _("{value} is before {date}: not accepted.", value=found.isoformat(),
                                 date=earliest.isoformat())))
        return None
    return found


def area_value(session: Session, problems: list[tuple[str, str]], name: str, value: str | None, *,
               required: bool = True) -> str | None:
    pcode = (value or "").strip().upper()
    if not pcode:
        if required:
            problems.append((name, _("Required: the P-code of the commune or cercle, e.g. ML090104.")))
        return None
    if len(pcode) > 32 or session.get(AdminUnit, pcode) is None:
        problems.append((name, _("Unknown P-code {value}; accepted: a P-code of the gazetteer, e.g. ML090104.",
                                 value=pcode[:32])))
        return None
    return pcode


# ---- codes and people ----------------------------------------------------------------------------


def new_code(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def free_code(session: Session, prefix: str, column: Any) -> str:
    """A random code nobody has (drawn again on the rare collision)."""
    for _attempt in range(CODE_ATTEMPTS):
        code = new_code(prefix)
        if session.scalar(sa.select(ProtectionCase.id).where(column == code)) is None:
            return code
    raise Conflict(_("No free case code was found; try again."))


def holders(session: Session, org_id: int, permission: Permission) -> list[tuple[int, str, str]]:
    """(id, user name, full name) of the active users of an organisation holding `permission`."""
    with_it = (sa.select(UserRole.user_id).join(RolePermission, RolePermission.role_id == UserRole.role_id)
               .where(RolePermission.permission == str(permission)))
    rows = session.execute(sa.select(User.id, User.username, User.full_name).where(
        User.org_id == org_id, User.is_active.is_(True), User.id.in_(with_it)).order_by(User.full_name, User.id))
    return [(r.id, r.username, r.full_name) for r in rows]


def supervisors(session: Session, actor: Actor) -> list[tuple[int, str, str]]:
    """Who may supervise a case the actor opens: supervisors of their organisation, not themselves."""
    if actor.org_id is None:
        return []
    return [s for s in holders(session, actor.org_id, P.PROTECTION_CASE_SUPERVISE) if s[0] != actor.user_id]


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {r.id: r.full_name for r in session.execute(sa.select(User.id, User.full_name).where(User.id.in_(wanted)))}


def age_group(age: int | None) -> str:
    """The GBVIMS age group (vocab.AGE_GROUPS) of an age in years."""
    if age is None:
        return "unknown"
    if age <= 11:
        return "0-11"
    if age <= 17:
        return "12-17"
    if age <= 59:
        return "18-59"
    return "60+"


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# ---- intake --------------------------------------------------------------------------------------


@dataclass
class NewCase:
    """What intake asks, as typed (strings from a form, the API or the command line)."""

    case_type: str
    sex: str
    summary: str
    area_pcode: str
    given_name: str = ""
    family_name: str = ""
    birth_date: str | date | None = None
    age: str | int | None = None
    phone: str = ""
    address: str = ""
    may_call: str = ""  # "yes" or "no": the survivor's choice, always asked
    call_when: str = ""
    ask_for: str = ""
    contact_notes: str = ""
    risk_level: str = "medium"
    household: str = ""
    supervisor: str = ""  # a user name; empty: the organisation's only supervisor
    opened_on: str | date | None = None


@dataclass(frozen=True)
class Checked:
    case_type: str
    sex: str
    age_group: str
    area_pcode: str
    risk_level: str
    opened_on: date
    supervisor_id: int
    household_id: int | None
    person: dict[str, Any]
    contact: dict[str, Any]
    summary: str


def _age(problems: list[tuple[str, str]], new: NewCase, opened_on: date, today: date) -> tuple[date | None,
                                                                                                 int | None]:
    born = day_value(problems, "birth_date", new.birth_date, today=today)
    age: int | None = None
    raw = "" if new.age is None else str(new.age).strip()
    if raw:
        if not (raw.isascii() and raw.isdigit() and int(raw) <= MAX_AGE):
            problems.append(("age", _("{value} is not an age; accepted: a whole number of years from 0 to {max}.",
                                      value=raw[:20], max=MAX_AGE)))
        else:
            age = int(raw)
    if born is not None:
        from_birth = years_between(born, opened_on)
        if age is not None and abs(age - from_birth) > 1:
            problems.append(("age", _("Age {age} does not agree with the birth date ({years} years); give one or the "
                                      "other.", age=age, years=from_birth)))
        age = from_birth
    return born, age


def _supervisor(session: Session, actor: Actor, problems: list[tuple[str, str]], wanted: str) -> int | None:
    found = supervisors(session, actor)
    name = (wanted or "").strip().lower()
    if name:
        match = [s for s in found if s[1].lower() == name]
        if match:
            return match[0][0]
        problems.append(("supervisor", _("{value} is not a supervisor of your organisation; accepted: {accepted}.",
                                         value=name[:80], accepted=", ".join(s[1] for s in found) or "—")))
        return None
    if len(found) == 1:
        return found[0][0]
    if not found:
        problems.append(("supervisor", _("Your organisation has no other protection supervisor: a case needs one "
                                         "(ask an administrator to give the role to someone).")))
    else:
        problems.append(("supervisor", _("Choose the supervisor; accepted: {accepted}.",
                                         accepted=", ".join(s[1] for s in found))))
    return None


def _household(session: Session, actor: Actor, problems: list[tuple[str, str]], code: str) -> int | None:
    text = (code or "").strip().upper()
    if not text:
        return None
    found = None if len(text) > 16 else session.scalar(
        sa.select(Household.id).where(Household.code == text, *visibility(actor)))
    if found is None:
        problems.append(("household", _("No household {code} that you may see.", code=text[:16])))
    return found


def check(session: Session, actor: Actor, new: NewCase, today: date | None = None) -> Checked:
    """Every field of intake checked; CaseInvalid lists every problem."""
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    case_type = choice(problems, "case_type", new.case_type, vocab.CASE_TYPES)
    given = text_value(problems, "given_name", new.given_name, MAX_NAME)
    family = text_value(problems, "family_name", new.family_name, MAX_NAME)
    sex = choice(problems, "sex", new.sex, vocab.SEXES)
    opened_on = day_value(problems, "opened_on", new.opened_on or today, today=today, earliest=date(2000, 1, 1))
    born, age = _age(problems, new, opened_on or today, today)
    phone = text_value(problems, "phone", new.phone, MAX_PHONE)
    if phone and not all(ch.isdigit() or ch in "+ -.()" for ch in phone):
        problems.append(("phone", _("{value} is not a phone number; accepted: digits, spaces and +.",
                                    value=phone[:MAX_PHONE])))
    address = text_value(problems, "address", new.address, MAX_ADDRESS)
    may_call = choice(problems, "may_call", new.may_call, MAY_CALL)
    call_when = text_value(problems, "call_when", new.call_when, MAX_CONTACT_TEXT)
    ask_for = text_value(problems, "ask_for", new.ask_for, MAX_NAME)
    notes = text_value(problems, "contact_notes", new.contact_notes, MAX_CONTACT_TEXT)
    summary = text_value(problems, "summary", new.summary, MAX_SUMMARY, required=True)
    risk = choice(problems, "risk_level", new.risk_level, vocab.RISK_LEVELS)
    area = area_value(session, problems, "area_pcode", new.area_pcode)
    household_id = _household(session, actor, problems, new.household)
    supervisor_id = _supervisor(session, actor, problems, new.supervisor)
    if problems:
        raise CaseInvalid(problems)
    assert case_type and sex and risk and area and may_call and opened_on and supervisor_id
    person = {"given_name": given, "family_name": family, "sex": sex, "phone": phone, "address": address,
              "birth_date": born.isoformat() if born else "", "age": age}
    contact = {"may_call": may_call == "yes", "call_when": call_when, "ask_for": ask_for, "notes": notes}
    return Checked(case_type=case_type, sex=sex, age_group=age_group(age), area_pcode=area, risk_level=risk,
                   opened_on=opened_on, supervisor_id=supervisor_id, household_id=household_id,
                   person={k: v for k, v in person.items() if v not in ("", None)}, contact=contact, summary=summary)


def open_case(session: Session, actor: Actor, new: NewCase, *, today: date | None = None) -> ProtectionCase:
    """Open a case at intake: the actor becomes its caseworker. Nothing is written if a field is wrong."""
    actor.require(P.PROTECTION_CASE_WRITE)
    if actor.user_id is None or actor.org_id is None:
        raise Forbidden(_("Only a caseworker of an organisation may open a case."))
    ok = check(session, actor, new, today)
    case = ProtectionCase(code=free_code(session, "CAS", ProtectionCase.code), org_id=actor.org_id,
                          case_type=ok.case_type, state="open", stage="intake", risk_level=ok.risk_level,
                          caseworker_id=actor.user_id, supervisor_id=ok.supervisor_id,
                          survivor_code=free_code(session, "SV", ProtectionCase.survivor_code), sex=ok.sex,
                          age_group=ok.age_group, area_pcode=ok.area_pcode, household_id=ok.household_id,
                          opened_on=ok.opened_on, created_by=actor.user_id, created_at=utcnow(), updated_at=utcnow())
    key = key_for(session, case)
    case.person_sealed = seal_json(key, "person_sealed", ok.person)
    case.contact_sealed = seal_json(key, "contact_sealed", ok.contact)
    case.summary_sealed = key.seal("summary_sealed", ok.summary)
    session.add(case)
    session.flush()
    audit.record(session, actor, "protection.case.open", ENTITY, case.id,
                 {"code": case.code, "case_type": case.case_type, "risk_level": case.risk_level,
                  "area_pcode": case.area_pcode, "supervisor_id": case.supervisor_id,
                  "household_linked": case.household_id is not None})
    changes.bump(session, "protection")
    return case


# ---- reading a case ------------------------------------------------------------------------------


def name_of(person: dict[str, Any]) -> str:
    if person.get("name"):
        return str(person["name"])
    return " ".join(p for p in (person.get("given_name"), person.get("family_name")) if p)


def name_hidden(case: ProtectionCase) -> bool:
    """GBV survivors' names are hidden by default: the survivor code stands for the person."""
    return case.case_type == "gbv"


def may_reveal(actor: Actor, case: ProtectionCase) -> bool:
    return policies.is_caseworker(actor, case) or policies.is_supervisor(actor, case)


def read_case(session: Session, actor: Actor, code: str, *, reveal_name: bool = False) -> ProtectionCase:
    """The case (need to know), with the read audited; revealing a GBV survivor's name is its own event."""
    case = policies.get_case(session, actor, code)
    audit.record(session, actor, "protection.case.read", ENTITY, case.id, {"code": case.code})
    if reveal_name and name_hidden(case):
        if not may_reveal(actor, case):
            raise Forbidden(_("Only the caseworker or the supervisor of case {code} may show the survivor's name.",
                              code=case.code))
        audit.record(session, actor, "protection.case.reveal_name", ENTITY, case.id, {"code": case.code})
    return case


@dataclass
class CaseView:
    """A case as its page shows it: the sealed fields opened, the name only when it may be shown."""

    case: ProtectionCase
    person: dict[str, Any]  # empty while the name is hidden (GBV), except sex and age group
    contact: dict[str, Any]
    summary: str | None
    name_shown: bool
    may_reveal: bool
    may_write: bool
    is_supervisor: bool
    caseworker: str
    supervisor: str
    household: str | None
    anonymised: bool
    shares: list[tuple[CaseShare, str, str | None]] = field(default_factory=list)  # share, name, reason

    @property
    def display_name(self) -> str:
        return name_of(self.person) if self.name_shown else self.case.survivor_code


def view_case(session: Session, actor: Actor, code: str, *, reveal_name: bool = False) -> CaseView:
    case = read_case(session, actor, code, reveal_name=reveal_name)
    key = opened_key(session, case)
    person = open_json(key, "person_sealed", case.person_sealed)
    shown = not name_hidden(case) or reveal_name
    names = user_names(session, {case.caseworker_id, case.supervisor_id})
    household = None if case.household_id is None else session.scalar(
        sa.select(Household.code).where(Household.id == case.household_id))
    shares = list(session.scalars(sa.select(CaseShare).where(CaseShare.case_id == case.id,
                                                             CaseShare.revoked_at.is_(None)).order_by(CaseShare.id)))
    share_names = user_names(session, {s.user_id for s in shares})
    return CaseView(case=case, person=person if shown else {}, contact=open_json(key, "contact_sealed",
                                                                                  case.contact_sealed),
                    summary=open_text(key, "summary_sealed", case.summary_sealed), name_shown=shown,
                    may_reveal=may_reveal(actor, case), may_write=may_write(actor, case),
                    is_supervisor=policies.is_supervisor(actor, case), caseworker=names.get(case.caseworker_id, "—"),
                    supervisor=names.get(case.supervisor_id, "—"), household=household,
                    anonymised=case.anonymised_at is not None or key is None,
                    shares=[(s, share_names.get(s.user_id, "—"), open_text(key, "reason", s.reason))
                            for s in shares])


def may_write(actor: Actor, case: ProtectionCase) -> bool:
    try:
        policies.require_case_writer(actor, case)
    except Forbidden:
        return False
    return True


# ---- the list ------------------------------------------------------------------------------------


@dataclass
class Filters:
    case_type: str = ""
    state: str = ""
    risk_level: str = ""
    stage: str = ""
    q: str = ""

    def problems(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for name, codes in (("case_type", vocab.CASE_TYPES), ("state", vocab.CASE_STATES),
                            ("risk_level", vocab.RISK_LEVELS), ("stage", vocab.CASE_STAGES)):
            value = getattr(self, name).strip()
            if value and value not in codes:
                found.append((name, unknown_choice(value, codes)))
        if self.q.strip() and policies.normal_code(self.q) is None:
            found.append(("q", _("{value} is not a case code (CAS-…) nor a survivor code (SV-…). Names are "
                                 "encrypted and cannot be searched.", value=self.q.strip()[:40])))
        return found

    def query(self) -> dict[str, str]:
        return {k: v.strip() for k, v in (("case_type", self.case_type), ("state", self.state),
                                          ("risk_level", self.risk_level), ("stage", self.stage), ("q", self.q))
                if v.strip()}


@dataclass(frozen=True)
class CaseRow:
    case: ProtectionCase
    shown_as: str  # the name (non-GBV cases) or the survivor code (GBV cases)
    caseworker: str
    role: str  # caseworker, supervisor or shared


RISK_ORDER = sa.case({"critical": 0, "high": 1, "medium": 2, "low": 3}, value=ProtectionCase.risk_level, else_=4)


def list_cases(session: Session, actor: Actor, filters: Filters | None = None, *, limit: int = PAGE_SIZE,
               offset: int = 0) -> tuple[int, list[CaseRow]]:
    """The cases the actor needs to know, the most at risk first; names only for non-GBV cases."""
    filters = filters or Filters()
    problems = filters.problems()
    if problems:
        raise CaseInvalid(problems)
    conds = list(policies.visible_cases(actor))
    for name in ("case_type", "state", "risk_level", "stage"):
        value = getattr(filters, name).strip()
        if value:
            conds.append(getattr(ProtectionCase, name) == value)
    if filters.q.strip():
        code = policies.normal_code(filters.q)
        conds.append(sa.or_(ProtectionCase.code == code, ProtectionCase.survivor_code == code))
    total = session.scalar(sa.select(sa.func.count()).select_from(ProtectionCase).where(*conds)) or 0
    cases = list(session.scalars(sa.select(ProtectionCase).where(*conds).order_by(
        sa.case((ProtectionCase.state == "closed", 1), else_=0), RISK_ORDER, ProtectionCase.opened_on.desc(),
        ProtectionCase.id.desc()).limit(limit).offset(offset)))
    names = user_names(session, {c.caseworker_id for c in cases})
    rows = []
    for c in cases:
        shown = c.survivor_code
        if not name_hidden(c):
            shown = name_of(open_json(opened_key(session, c), "person_sealed", c.person_sealed)) or c.survivor_code
        role = ("caseworker" if c.caseworker_id == actor.user_id else
                "supervisor" if c.supervisor_id == actor.user_id else "shared")
        rows.append(CaseRow(c, shown, names.get(c.caseworker_id, "—"), role))
    audit.record(session, actor, "protection.case.list", ENTITY, None,
                 {"filters": filters.query() | ({"q": "code"} if filters.q.strip() else {}), "shown": len(rows),
                  "total": total})
    return total, rows
