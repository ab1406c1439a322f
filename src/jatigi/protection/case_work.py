"""Case work on a protection case: stage and risk, entries (assessment, case plan actions,
services, follow-ups, notes), consent, closure with a supervisor's approval, reopening,
reassignment and sharing.

Each change is kept as a CaseTransition (who, when, why) and audited with entity type
"protection_case". Free text — an entry, a reason — is sealed under the case's data key: the
transition and share tables hold only its ciphertext. Only the caseworker and the supervisor
change a case (`policies.require_case_writer`); the people it is shared with read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation, User
from jatigi.core import audit, changes
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, Forbidden
from jatigi.core.i18n import N_, _, day
from jatigi.protection import consent as consent_
from jatigi.protection import policies, vocab
from jatigi.protection.cases import (
    ENTITY,
    CaseInvalid,
    choice,
    day_value,
    holders,
    text_value,
    user_names,
)
from jatigi.protection.models import CaseEntry, CaseShare, CaseTransition, Consent, ProtectionCase, Referral
from jatigi.protection.sealing import key_for, open_text, opened_key, require_key

P = Permission
MAX_ENTRY = 4000
MAX_REASON = 150  # a reason is sealed into a 300-character column
MAX_REASON_BYTES = 190

def _writable(session: Session, actor: Actor, code: str) -> ProtectionCase:
    """The case, if the actor needs to know it and may change it, and it is not closed."""
    case = policies.get_case(session, actor, code)
    policies.require_case_writer(actor, case)
    require_key(opened_key(session, case))
    if case.state == "closed":
        raise Conflict(_("Case {code} is closed: reopen it first.", code=case.code))
    return case


def _reason(problems: list[tuple[str, str]], value: str | None, *, required: bool = True) -> str:
    text = text_value(problems, "reason", value, MAX_REASON, required=required)
    if len(text.encode("utf-8")) > MAX_REASON_BYTES and len(text) <= MAX_REASON:
        problems.append(("reason", _("Too long once written: shorten it to fewer than {n} characters.",
                                     n=MAX_REASON_BYTES // 2)))
    return text


def _sealed_reason(session: Session, case: ProtectionCase, reason: str) -> str | None:
    return key_for(session, case).seal("reason", reason) if reason else None


def _transition(session: Session, actor: Actor, case: ProtectionCase, name: str, old: str | None, new: str,
                reason: str | None = None) -> CaseTransition:
    row = CaseTransition(case_id=case.id, field=name, from_value=old, to_value=new, reason=reason, at=utcnow(),
                         by=actor.user_id)
    session.add(row)
    setattr(case, name if name in ("state", "stage", "risk_level") else name + "_id",
            new if name in ("state", "stage", "risk_level") else int(new))
    case.version += 1
    case.updated_at = utcnow()
    session.flush()
    return row


def _move(session: Session, actor: Actor, case: ProtectionCase, to: str, action: str, reason: str | None,
          detail: dict[str, Any] | None = None) -> ProtectionCase:
    old = case.state
    if to not in vocab.CASE_MOVES.get(old, set()):
        raise Conflict(_("Case {code} is {state}: this cannot be done now.", code=case.code,
                         state=_(vocab.CASE_STATES[old]).lower()))
    _transition(session, actor, case, "state", old, to, reason)
    audit.record(session, actor, action, ENTITY, case.id, {"code": case.code, "from": old, "to": to, **(detail or {})})
    changes.bump(session, "protection")
    return case


def reason_text(session: Session, case: ProtectionCase, reason: str | None) -> str | None:
    """A transition's reason as people read it: a closure reason's label, or the sealed text opened."""
    if not reason:
        return None
    if reason in vocab.CLOSURE_REASONS:
        return _(vocab.CLOSURE_REASONS[reason])
    return open_text(opened_key(session, case), "reason", reason)


# ---- stage and risk --------------------------------------------------------------------------------


def change_stage(session: Session, actor: Actor, code: str, stage: str) -> ProtectionCase:
    """Move the case to another stage of case management (intake, assessment, case plan…)."""
    case = _writable(session, actor, code)
    problems: list[tuple[str, str]] = []
    new = choice(problems, "stage", stage, vocab.CASE_STAGES)
    if problems or new is None:
        raise CaseInvalid(problems)
    if new != case.stage:
        old = case.stage
        _transition(session, actor, case, "stage", old, new)
        audit.record(session, actor, "protection.case.stage", ENTITY, case.id, {"code": case.code, "from": old,
                                                                                "to": new})
    return case


def change_risk(session: Session, actor: Actor, code: str, risk_level: str) -> ProtectionCase:
    """Set the case's risk level."""
    case = _writable(session, actor, code)
    problems: list[tuple[str, str]] = []
    new = choice(problems, "risk_level", risk_level, vocab.RISK_LEVELS)
    if problems or new is None:
        raise CaseInvalid(problems)
    if new != case.risk_level:
        old = case.risk_level
        _transition(session, actor, case, "risk_level", old, new)
        audit.record(session, actor, "protection.case.risk", ENTITY, case.id, {"code": case.code, "from": old,
                                                                               "to": new})
    return case


# ---- entries -------------------------------------------------------------------------------------


def add_entry(session: Session, actor: Actor, code: str, kind: str, text: str, *, service_type: str = "",
              due_on: str | date | None = None, today: date | None = None) -> CaseEntry:
    """Add an assessment, a case plan action (with its service and due date), a service given, a
    follow-up or a note. The text is sealed. A plan action stays to do until marked done."""
    case = _writable(session, actor, code)
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    kind_ = choice(problems, "kind", kind, vocab.ENTRY_KINDS)
    body = text_value(problems, "text", text, MAX_ENTRY, required=True)
    needs_service = kind_ in ("plan", "service")
    service = choice(problems, "service_type", service_type, vocab.SERVICE_TYPES, required=needs_service)
    due = day_value(problems, "due_on", due_on, today=today, required=kind_ == "plan", future=True,
                    earliest=case.opened_on)
    if problems:
        raise CaseInvalid(problems)
    assert kind_ is not None
    entry = CaseEntry(case_id=case.id, kind=kind_, service_type=service, due_on=due if kind_ == "plan" else None,
                      status="open" if kind_ == "plan" else "done", done_on=None if kind_ == "plan" else today,
                      created_at=utcnow(), created_by=actor.user_id)
    session.add(entry)
    session.flush()
    entry.text_sealed = key_for(session, case).seal("text_sealed", body)
    case.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "protection.case.entry_add", ENTITY, case.id,
                 {"code": case.code, "entry_id": entry.id, "kind": entry.kind, "service_type": entry.service_type})
    return entry


def complete_entry(session: Session, actor: Actor, code: str, entry_id: int, *, today: date | None = None,
                   cancelled: bool = False) -> CaseEntry:
    """Mark a case plan action done (or cancelled)."""
    case = _writable(session, actor, code)
    entry = session.scalar(sa.select(CaseEntry).where(CaseEntry.id == entry_id, CaseEntry.case_id == case.id))
    if entry is None or entry.kind != "plan":
        raise CaseInvalid([("entry", _("Case {code} has no case plan action {n}.", code=case.code, n=entry_id))])
    if entry.status != "open":
        raise Conflict(_("This action is already {state}.", state=_(vocab.ENTRY_STATUSES[entry.status]).lower()))
    entry.status = "cancelled" if cancelled else "done"
    entry.done_on = today or date.today()
    case.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "protection.case.entry_done", ENTITY, case.id,
                 {"code": case.code, "entry_id": entry.id, "status": entry.status})
    return entry


def entries(session: Session, case: ProtectionCase) -> list[tuple[CaseEntry, str | None]]:
    """The entries of a case (read by whoever may see it), their text opened."""
    key = opened_key(session, case)
    rows = session.scalars(sa.select(CaseEntry).where(CaseEntry.case_id == case.id)
                           .order_by(CaseEntry.created_at, CaseEntry.id))
    return [(e, open_text(key, "text_sealed", e.text_sealed)) for e in rows]


STEP_LABELS = {"state": N_("State"), "stage": N_("Stage"), "risk_level": N_("Risk level"),
               "caseworker": N_("Caseworker"), "supervisor": N_("Supervisor")}
STEP_CODES = {"state": vocab.CASE_STATES, "stage": vocab.CASE_STAGES, "risk_level": vocab.RISK_LEVELS}


def step_label(name: str) -> str:
    """What a transition changed, as people read it (State, Stage…)."""
    return _(STEP_LABELS[name]) if name in STEP_LABELS else name


def step_value(name: str, value: str | None) -> str:
    """A transition's value as people read it: the label of a state, stage or risk level."""
    if not value:
        return "—"
    codes = STEP_CODES.get(name, {})
    return _(codes[value]) if value in codes else value


@dataclass(frozen=True)
class Step:
    """A transition as people read it."""

    at: datetime
    by: str
    field: str
    from_value: str | None
    to_value: str
    reason: str | None


def transitions(session: Session, case: ProtectionCase) -> list[Step]:
    """What happened to the case (state, stage, risk, caseworker), oldest first; reasons opened."""
    rows = list(session.scalars(sa.select(CaseTransition).where(CaseTransition.case_id == case.id)
                                .order_by(CaseTransition.at, CaseTransition.id)))
    ids = {r.by for r in rows if r.by is not None} | {int(v) for r in rows if r.field in ("caseworker", "supervisor")
                                                      for v in (r.from_value, r.to_value) if v and v.isdigit()}
    names = user_names(session, set(ids))

    def person(value: str | None) -> str | None:
        return names.get(int(value), value) if value and value.isdigit() else value

    return [Step(r.at, names.get(r.by, "—") if r.by else "—", r.field,
                 person(r.from_value) if r.field in ("caseworker", "supervisor") else r.from_value,
                 (person(r.to_value) or r.to_value) if r.field in ("caseworker", "supervisor") else r.to_value,
                 reason_text(session, case, r.reason)) for r in rows]


# ---- consent -------------------------------------------------------------------------------------


def give_consent(session: Session, actor: Actor, code: str, *, purpose: str, granted: bool = True,
                 lawful_basis: str = "consent", given_by: str = "survivor", given_on: str | date | None = None,
                 organisation: str = "") -> Consent:
    """Record consent (or its refusal) for a purpose; a referral's consent names the organisation
    (its acronym). The rules are those of `protection.consent`."""
    case = _writable(session, actor, code)
    problems: list[tuple[str, str]] = []
    purpose_ = choice(problems, "purpose", purpose, vocab.CONSENT_PURPOSES)
    basis = choice(problems, "lawful_basis", lawful_basis, vocab.LAWFUL_BASES)
    giver = choice(problems, "given_by", given_by, vocab.CONSENT_GIVERS)
    given = day_value(problems, "given_on", given_on or date.today(), today=date.today(), required=True)
    org_id = None
    if purpose_ == "referral":
        acronym = (organisation or "").strip()
        org_id = session.scalar(sa.select(Organisation.id).where(sa.func.upper(Organisation.acronym)
                                                                 == acronym.upper())) if acronym else None
        if org_id is None:
            known = session.scalars(sa.select(Organisation.acronym).order_by(Organisation.acronym)).all()
            problems.append(("organisation", unknown_org(acronym, known)))
    if problems:
        raise CaseInvalid(problems)
    assert purpose_ and basis and giver and given
    _refuse_same_consent(session, case, purpose_, org_id, granted=granted, lawful_basis=basis, given_by=giver,
                         given_on=given)
    return consent_.record_consent(session=session, actor=actor, case=case, purpose=purpose_, granted=granted,
                                   lawful_basis=basis, given_by=giver, given_on=given, organisation_id=org_id)


def _refuse_same_consent(session: Session, case: ProtectionCase, purpose: str, org_id: int | None, *, granted: bool,
                         lawful_basis: str, given_by: str, given_on: date) -> None:
    """A second submit of the same form: the latest consent of this purpose (and organisation), not
    withdrawn, already says exactly this."""
    query = sa.select(Consent).where(Consent.case_id == case.id, Consent.purpose == purpose)
    if purpose == "referral":
        query = query.where(Consent.organisation_id == org_id)
    latest = session.scalar(query.order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))
    if latest is None or latest.withdrawn_at is not None:
        return
    if (latest.granted, latest.lawful_basis, latest.given_by, latest.given_on) == (granted, lawful_basis, given_by,
                                                                                    given_on):
        raise Conflict(_("This consent is already recorded (given on {date}): nothing was added.",
                         date=day(given_on)))


def unknown_org(acronym: str, known: Any) -> str:
    if not acronym:
        return _("A referral's consent names the organisation it allows; accepted: {accepted}.",
                 accepted=", ".join(known))
    return _("Unknown organisation {value}; accepted: {accepted}.", value=acronym[:40], accepted=", ".join(known))


def withdraw_consent(session: Session, actor: Actor, code: str, consent_id: int) -> Consent:
    """Withdraw a consent, even on a closed case: from now on its purpose is not allowed."""
    case = policies.get_case(session, actor, code)
    return consent_.withdraw_consent(session=session, actor=actor, case=case, consent_id=consent_id)


def organisations(session: Session) -> list[tuple[str, str]]:
    """(acronym, name) of the organisations a referral consent may name."""
    return [(r.acronym, r.name) for r in session.execute(sa.select(Organisation.acronym, Organisation.name)
                                                          .order_by(Organisation.acronym))]


def organisation_acronyms(session: Session) -> dict[int, str]:
    return {r.id: r.acronym for r in session.execute(sa.select(Organisation.id, Organisation.acronym))}


# ---- closure and reopening -----------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """Something of the case still under way: a case plan action to do, or a referral the receiving
    organisation has not finished (sent or accepted). Described without its sealed text."""

    kind: str  # "plan" or "referral"
    ref: str  # the entry's id or the referral's code
    description: str


def open_items(session: Session, case: ProtectionCase) -> list[OpenItem]:
    """The case plan actions still to do and the referrals still open at the receiving organisation."""
    out = []
    for e in session.scalars(sa.select(CaseEntry).where(CaseEntry.case_id == case.id, CaseEntry.kind == "plan",
                                                        CaseEntry.status == "open").order_by(CaseEntry.id)):
        service = _(vocab.SERVICE_TYPES.get(e.service_type or "", e.service_type or "—"))
        out.append(OpenItem("plan", str(e.id), _("Case plan action to do: {service}, due {date}", service=service,
                                                 date=day(e.due_on) if e.due_on else "—")))
    acronyms = organisation_acronyms(session)
    for r in session.scalars(sa.select(Referral).where(Referral.case_id == case.id,
                                                       Referral.state.in_(("sent", "accepted")))
                             .order_by(Referral.sent_at, Referral.id)):
        out.append(OpenItem("referral", r.code, _("Referral {code} to {organisation}: {state}", code=r.code,
                                                  organisation=acronyms.get(r.to_org_id or 0, "—"),
                                                  state=_(vocab.REFERRAL_STATES[r.state]).lower())))
    return out


def request_closure(session: Session, actor: Actor, code: str, closure_reason: str, *,
                    confirm_open_items: bool = False) -> ProtectionCase:
    """The caseworker (only them) asks to close the case, for a reason of vocab.CLOSURE_REASONS; the
    supervisor decides. Open plan actions and open referrals are listed and must be confirmed."""
    case = _writable(session, actor, code)
    if not policies.is_caseworker(actor, case):
        raise Forbidden(_("Only the caseworker of case {code} asks for its closure; the supervisor approves it.",
                          code=case.code))
    problems: list[tuple[str, str]] = []
    reason = choice(problems, "closure_reason", closure_reason, vocab.CLOSURE_REASONS)
    items = open_items(session, case)
    if items and not confirm_open_items:
        problems.append(("confirm_open_items", _("{n} items are still open: {items}. Close them first, or confirm "
                                                 "that the closure is requested anyway.", n=len(items),
                                                 items="; ".join(i.description for i in items))))
    if problems or reason is None:
        raise CaseInvalid(problems)
    if case.state != "open":
        raise Conflict(_("Closure of case {code} was already requested.", code=case.code))
    case.closure_reason = reason
    case.closure_requested_at = utcnow()
    return _move(session, actor, case, "closure_requested", "protection.case.closure_request", reason,
                 {"closure_reason": reason, "open_items": len(items)})


def closure_requester(session: Session, case: ProtectionCase) -> int | None:
    """Who asked for the closure now requested (the latest request's author)."""
    return session.scalar(sa.select(CaseTransition.by).where(
        CaseTransition.case_id == case.id, CaseTransition.field == "state",
        CaseTransition.to_value == "closure_requested").order_by(CaseTransition.at.desc(), CaseTransition.id.desc())
        .limit(1))


def _supervised(session: Session, actor: Actor, code: str) -> ProtectionCase:
    case = policies.get_case(session, actor, code)
    policies.require_supervisor(actor, case)
    require_key(opened_key(session, case))
    return case


def approve_closure(session: Session, actor: Actor, code: str, reason: str = "", *,
                    today: date | None = None) -> ProtectionCase:
    """The supervisor approves the requested closure: the case is closed. Nobody approves the
    closure of a case they are the caseworker of, nor a closure they requested themselves."""
    case = _supervised(session, actor, code)
    if policies.is_caseworker(actor, case):
        raise Forbidden(_("You are the caseworker of case {code}: another supervisor must approve its closure.",
                          code=case.code))
    if case.state != "closure_requested":
        raise Conflict(_("Case {code} has no closure request to approve.", code=case.code))
    if closure_requester(session, case) == actor.user_id:
        raise Forbidden(_("You requested the closure of case {code}: someone else must approve it.", code=case.code))
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason, required=False)
    if problems:
        raise CaseInvalid(problems)
    case.closed_on = today or date.today()
    return _move(session, actor, case, "closed", "protection.case.closure_approve", _sealed_reason(session, case, text),
                 {"closure_reason": case.closure_reason})


def reject_closure(session: Session, actor: Actor, code: str, reason: str) -> ProtectionCase:
    """The supervisor sends the case back to its caseworker, saying why: it is open again."""
    case = _supervised(session, actor, code)
    if case.state != "closure_requested":
        raise Conflict(_("Case {code} has no closure request to send back.", code=case.code))
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason)
    if problems:
        raise CaseInvalid(problems)
    old_reason = case.closure_reason
    case.closure_reason = None
    case.closure_requested_at = None
    return _move(session, actor, case, "open", "protection.case.closure_reject", _sealed_reason(session, case, text),
                 {"closure_reason": old_reason})


def reopen(session: Session, actor: Actor, code: str, reason: str) -> ProtectionCase:
    """Reopen a closed case (its caseworker or supervisor), saying why."""
    case = policies.get_case(session, actor, code)
    policies.require_case_writer(actor, case)
    require_key(opened_key(session, case))
    if case.state != "closed":
        raise Conflict(_("Case {code} is not closed.", code=case.code))
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason)
    if problems:
        raise CaseInvalid(problems)
    case.closed_on = None
    case.closure_reason = None
    case.closure_requested_at = None
    case.reopened_count += 1
    return _move(session, actor, case, "open", "protection.case.reopen", _sealed_reason(session, case, text),
                 {"reopened_count": case.reopened_count})


# ---- reassignment and sharing --------------------------------------------------------------------


def _colleague(session: Session, case: ProtectionCase, name: str, field: str,
               permission: Permission) -> tuple[int, str]:
    found = holders(session, case.org_id, permission)
    wanted = (name or "").strip().lower()
    match = [h for h in found if h[1].lower() == wanted]
    if not match:
        raise CaseInvalid([(field, _("{value} is not a colleague who may work on cases; accepted: {accepted}.",
                                     value=wanted[:80] or "—", accepted=", ".join(h[1] for h in found) or "—"))])
    return match[0][0], match[0][2]


def supervisors_of(session: Session, case: ProtectionCase) -> list[tuple[int, str, str]]:
    """Who may supervise the case: its organisation's users holding PROTECTION_CASE_SUPERVISE."""
    return holders(session, case.org_id, P.PROTECTION_CASE_SUPERVISE)


def caseworkers(session: Session, case: ProtectionCase) -> list[tuple[int, str, str]]:
    """Who the case may be given to: its organisation's users holding PROTECTION_CASE_WRITE."""
    return holders(session, case.org_id, P.PROTECTION_CASE_WRITE)


def reassign(session: Session, actor: Actor, code: str, caseworker: str, reason: str = "") -> ProtectionCase:
    """The supervisor gives the case to another caseworker of the organisation."""
    case = _supervised(session, actor, code)
    if case.state == "closed":
        raise Conflict(_("Case {code} is closed: reopen it first.", code=case.code))
    user_id, _full = _colleague(session, case, caseworker, "caseworker", P.PROTECTION_CASE_WRITE)
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason, required=False)
    if user_id == case.supervisor_id:
        problems.append(("caseworker", _("The supervisor cannot also be the caseworker of a case.")))
    if problems:
        raise CaseInvalid(problems)
    if user_id != case.caseworker_id:
        old = str(case.caseworker_id)
        _transition(session, actor, case, "caseworker", old, str(user_id), _sealed_reason(session, case, text))
        audit.record(session, actor, "protection.case.reassign", ENTITY, case.id,
                     {"code": case.code, "from_user_id": int(old), "to_user_id": user_id})
    return case


def hand_over(session: Session, actor: Actor, code: str, supervisor: str, reason: str = "") -> ProtectionCase:
    """The supervisor hands the supervision of a case to another supervisor of the organisation
    (leave, departure): from then on only the new one supervises it."""
    case = _supervised(session, actor, code)
    user_id, _full = _colleague(session, case, supervisor, "supervisor", P.PROTECTION_CASE_SUPERVISE)
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason, required=False)
    if user_id == case.caseworker_id:
        problems.append(("supervisor", _("The supervisor cannot also be the caseworker of a case.")))
    if problems:
        raise CaseInvalid(problems)
    if user_id != case.supervisor_id:
        old = str(case.supervisor_id)
        _transition(session, actor, case, "supervisor", old, str(user_id), _sealed_reason(session, case, text))
        audit.record(session, actor, "protection.case.hand_over", ENTITY, case.id,
                     {"code": case.code, "from_user_id": int(old), "to_user_id": user_id})
    return case


def hand_over_all(session: Session, actor: Actor, org_id: int, from_user_id: int, to_user_id: int) -> int:
    """Move every case a supervisor supervises to another supervisor of the same organisation — for a
    supervisor who left, whom nobody else can act for. An operator's act at the machine (the system
    account), audited case by case; returns how many cases moved."""
    if actor.user_id is not None:
        raise Forbidden(_("Only an operator at the machine (the system account) hands over all the cases of a "
                          "supervisor; a supervisor hands over their own cases one by one."))
    supervisors = {h[0] for h in holders(session, org_id, P.PROTECTION_CASE_SUPERVISE)}
    if to_user_id not in supervisors:
        raise CaseInvalid([("supervisor", _("The new supervisor must be a supervisor of the same organisation."))])
    moved = 0
    for case in session.scalars(sa.select(ProtectionCase).where(ProtectionCase.org_id == org_id,
                                                                ProtectionCase.supervisor_id == from_user_id)):
        if case.caseworker_id == to_user_id:
            continue  # never their own supervisor: left for a supervisor to hand over by hand
        _transition(session, actor, case, "supervisor", str(from_user_id), str(to_user_id))
        audit.record(session, actor, "protection.case.hand_over", ENTITY, case.id,
                     {"code": case.code, "from_user_id": from_user_id, "to_user_id": to_user_id})
        moved += 1
    return moved


def share(session: Session, actor: Actor, code: str, colleague: str, reason: str) -> CaseShare:
    """The supervisor shares the case with a named colleague who needs to know it, saying why.
    The colleague reads the case; only its caseworker and supervisor change it."""
    case = _supervised(session, actor, code)
    problems: list[tuple[str, str]] = []
    text = _reason(problems, reason)
    user_id = None
    try:
        user_id, _full = _colleague(session, case, colleague, "colleague", P.PROTECTION_CASE_WRITE)
    except CaseInvalid as exc:
        problems += exc.problems
    if user_id is not None and user_id in (case.caseworker_id, case.supervisor_id):
        problems.append(("colleague", _("The caseworker and the supervisor already see the case.")))
    if problems:
        raise CaseInvalid(problems)
    existing = session.scalar(sa.select(CaseShare).where(CaseShare.case_id == case.id, CaseShare.user_id == user_id,
                                                         CaseShare.revoked_at.is_(None)))
    if existing is not None:
        raise Conflict(_("Case {code} is already shared with {user}.", code=case.code, user=colleague.strip()))
    assert user_id is not None and actor.user_id is not None
    row = CaseShare(case_id=case.id, user_id=user_id, reason=_sealed_reason(session, case, text) or "",
                    granted_by=actor.user_id, granted_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "protection.case.share", ENTITY, case.id,
                 {"code": case.code, "user_id": user_id, "share_id": row.id})
    return row


def revoke_share(session: Session, actor: Actor, code: str, colleague: str) -> CaseShare:
    """The supervisor ends a share: the colleague no longer finds the case."""
    case = _supervised(session, actor, code)
    wanted = (colleague or "").strip().lower()
    row = session.scalar(sa.select(CaseShare).join(User, User.id == CaseShare.user_id).where(
        CaseShare.case_id == case.id, sa.func.lower(User.username) == wanted, CaseShare.revoked_at.is_(None)))
    if row is None:
        raise CaseInvalid([("colleague", _("Case {code} is not shared with {value}.", code=case.code,
                                           value=wanted[:80] or "—"))])
    row.revoked_at = utcnow()
    row.revoked_by = actor.user_id
    session.flush()
    audit.record(session, actor, "protection.case.share_revoke", ENTITY, case.id,
                 {"code": case.code, "user_id": row.user_id, "share_id": row.id})
    return row
