"""A cycle's payment lines, a page at a time: one per household (and re-issue), due, held with the
reason, sent, paid… Only households the reader may see are listed; the read is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jatigi.assistance import vocab
from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.assistance.policies import get_cycle
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.service import visibility

MAX_PAGE = 1000


@dataclass(frozen=True)
class Line:
    reference: str
    household_code: str
    state: str
    hold_reason: str | None
    amount: int
    amount_paid: int | None
    paid_on: date | None
    provider_status: str | None
    reissue_of: str | None  # the reference of the failed or unclaimed payment this one replaces


def check_filters(state: str | None, hold_reason: str | None) -> list[tuple[str, str]]:
    """(field, message) for each filter that is not a known code."""
    problems = []
    if state and state not in vocab.PAYMENT_STATES:
        problems.append(("state", _("{value} is not accepted; accepted: {accepted}.", value=state,
                                    accepted=", ".join(vocab.PAYMENT_STATES))))
    if hold_reason and hold_reason not in vocab.HOLD_REASONS:
        problems.append(("hold_reason", _("{value} is not accepted; accepted: {accepted}.", value=hold_reason,
                                          accepted=", ".join(vocab.HOLD_REASONS))))
    return problems


def payment_lines(*, session: Session, actor: Actor, ref: str | int, state: str | None = None,
                  hold_reason: str | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[Cycle, Programme, int, list[Line]]:
    """The cycle, its programme, how many lines match (among visible households) and a page of them."""
    cycle, programme = get_cycle(session, actor, ref)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    problems = check_filters(state, hold_reason)
    if problems:
        raise ValidationFailed("; ".join(message for _field, message in problems))
    original = aliased(Payment)
    conditions = [Payment.cycle_id == cycle.id, *visibility(actor)]
    if state:
        conditions.append(Payment.state == state)
    if hold_reason:
        conditions.append(Payment.hold_reason == hold_reason)
    total = session.scalar(sa.select(sa.func.count()).select_from(Payment)
                           .join(Household, Household.id == Payment.household_id).where(*conditions)) or 0
    rows = session.execute(
        sa.select(Payment.reference, Household.code, Payment.state, Payment.hold_reason, Payment.amount,
                  Payment.amount_paid, Payment.paid_on, Payment.provider_status, original.reference)
        .join(Household, Household.id == Payment.household_id)
        .outerjoin(original, original.id == Payment.reissue_of)
        .where(*conditions).order_by(Household.code, Payment.id)
        .limit(max(1, min(limit, MAX_PAGE))).offset(max(0, offset))).all()
    audit.record(session, actor, "assistance.payments.read", "assistance_cycle", cycle.id,
                 {"programme": programme.code, "number": cycle.number, "state": state, "hold_reason": hold_reason,
                  "shown": len(rows)})
    lines = [Line(r[0], r[1], r[2], r[3], int(r[4]), None if r[5] is None else int(r[5]), r[6], r[7], r[8])
             for r in rows]
    return cycle, programme, total, lines
