"""Need to know: who may see a protection case, a referral, a tracing request.

A case is visible to its caseworker, its supervisor and the people of its organisation it is
explicitly shared with (`protection_case_shares`, not revoked) — to nobody else, whatever their
role: not a system administrator, not a coordinator, not a cash officer. Holding the permission
to work on cases is necessary, never sufficient. A user who must give a second factor and has
not in this session holds none of the case permissions at all (`accounts.signin`).

Every way to reach a case — list, search, URL, export, API — goes through `visible_cases`, and
a case one may not see is answered exactly like a case that does not exist: the same message,
the same status, whatever the reference.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Forbidden, NotFound
from jatigi.core.i18n import _
from jatigi.protection.models import CaseShare, ProtectionCase, Referral, TracingRequest

_CODE = re.compile(r"^[A-Z]{2,3}-[0-9A-Z]{4,10}$", re.ASCII)


def may_work_on_cases(actor: Actor) -> bool:
    return actor.can(Permission.PROTECTION_CASE_WRITE) or actor.can(Permission.PROTECTION_CASE_SUPERVISE)


def visible_cases(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """SQL conditions that keep an actor to the cases they need to know."""
    if actor.user_id is None or actor.org_id is None or not may_work_on_cases(actor):
        return [sa.false()]
    shared = sa.select(CaseShare.id).where(CaseShare.case_id == ProtectionCase.id,
                                           CaseShare.user_id == actor.user_id,
                                           CaseShare.revoked_at.is_(None)).exists()
    return [ProtectionCase.org_id == actor.org_id,
            sa.or_(ProtectionCase.caseworker_id == actor.user_id,
                   ProtectionCase.supervisor_id == actor.user_id,
                   shared)]


def not_found(ref: object) -> NotFound:
    """The one answer for a case that does not exist and a case one may not see."""
    return NotFound(_("No case {ref} that you may see.", ref=str(ref).strip()[:40]))


def normal_code(ref: object) -> str | None:
    text = str(ref).strip().upper()
    return text if _CODE.match(text) else None


def get_case(session: Session, actor: Actor, ref: object) -> ProtectionCase:
    """A case by its code (CAS-…), if the actor needs to know it; else NotFound (never Forbidden)."""
    code = normal_code(ref)
    if code is None:
        raise not_found(ref)
    case = session.scalar(sa.select(ProtectionCase).where(ProtectionCase.code == code, *visible_cases(actor)))
    if case is None:
        raise not_found(ref)
    return case


def is_caseworker(actor: Actor, case: ProtectionCase) -> bool:
    return actor.user_id == case.caseworker_id


def is_supervisor(actor: Actor, case: ProtectionCase) -> bool:
    return actor.user_id == case.supervisor_id and actor.can(Permission.PROTECTION_CASE_SUPERVISE)


def require_supervisor(actor: Actor, case: ProtectionCase) -> None:
    """Only the case's supervisor may do this (approve a closure, override consent, share…)."""
    if not is_supervisor(actor, case):
        raise Forbidden(_("Only the supervisor of case {code} may do this.", code=case.code))


def require_case_writer(actor: Actor, case: ProtectionCase) -> None:
    """Its caseworker or supervisor may change a case; people it is shared with only read it."""
    actor.require(Permission.PROTECTION_CASE_WRITE)
    if not (is_caseworker(actor, case) or is_supervisor(actor, case)):
        raise Forbidden(_("Case {code} is shared with you to read; only its caseworker or supervisor may change "
                          "it.", code=case.code))


def visible_referrals(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Referrals an actor may see: those of cases they need to know (sent), and those sent to
    their organisation if they answer referrals (received). Seeing a referral is not reading what
    was shared: a receiver reads the shared summary only once they accepted it themselves (the named
    receiver, `responded_by`); the others of the organisation see its facts and state
    (`referrals.view_referral`)."""
    if actor.user_id is None or actor.org_id is None:
        return [sa.false()]
    sent = Referral.case_id.in_(sa.select(ProtectionCase.id).where(*visible_cases(actor)))
    if actor.can(Permission.PROTECTION_REFERRAL_RECEIVE):
        return [sa.or_(sent, Referral.to_org_id == actor.org_id)]
    return [sent]


def visible_tracing(actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Tracing requests an actor may see. A request linked to a case follows the case: those who
    need to know the case (its caseworker now, its supervisor, those it is shared with). A request
    without a case: the caseworker who recorded it and the supervisors of that organisation."""
    if actor.user_id is None or actor.org_id is None or not actor.can(Permission.PROTECTION_TRACING_WRITE):
        return [sa.false()]
    of_cases = TracingRequest.case_id.in_(sa.select(ProtectionCase.id).where(*visible_cases(actor)))
    unlinked = [TracingRequest.caseworker_id == actor.user_id]
    if actor.can(Permission.PROTECTION_CASE_SUPERVISE):
        unlinked.append(sa.true())
    return [TracingRequest.org_id == actor.org_id,
            sa.or_(of_cases, sa.and_(TracingRequest.case_id.is_(None), sa.or_(*unlinked)))]


def tracing_writable(session: Session, actor: Actor, request: TracingRequest) -> bool:
    """Who may search, confirm and close a request: for a request linked to a case, its caseworker or
    supervisor (not those it is only shared with); otherwise its caseworker or a supervisor of the
    organisation."""
    if not actor.can(Permission.PROTECTION_TRACING_WRITE):
        return False
    if request.case_id is not None:
        case = session.get(ProtectionCase, request.case_id)
        return case is not None and (is_caseworker(actor, case) or is_supervisor(actor, case))
    return actor.user_id == request.caseworker_id or (
        actor.can(Permission.PROTECTION_CASE_SUPERVISE) and actor.org_id == request.org_id)
