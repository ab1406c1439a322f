"""Cycles: the months of a programme, prepared by one person, approved by another, then locked.

Preparing a cycle writes, in one transaction and one INSERT … SELECT, a payment line for each
enrolled household that has not left the programme: `held` with the first hold reason that
applies (see `assistance.holds`), else `due` with the amount of the programme's formula, with the
recipient and the household's phone (sealed) as they are then — what the approver approves is what
is paid. For a mobile-money programme, the lines whose phone is not a Mali mobile number are then
held too (the phones opened in one pass). It then re-issues the failed or unclaimed payments of the
programme's earlier cycles to households still eligible (a new `due` line pointing to the one it
replaces, which becomes `reissued`). Preparing again after a rejection first puts those payments back
(the named exception `states.REISSUE_WITHDRAWN`) and removes the rejected lines. Nothing is
half-written: any failure leaves the cycle as it was.

A cycle is prepared by a named person, never by the system account, and approved by another. It may
be rejected while prepared or approved (not yet sent), then prepared again. Once reconciled, it is
closed when no more report is expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import User
from jatigi.assistance import holds, states
from jatigi.assistance.entitlement import amounts_query
from jatigi.assistance.formula import Formula
from jatigi.assistance.models import Complaint, Cycle, Enrolment, Payment, PdmResponse, Programme, Transition
from jatigi.assistance.policies import get_cycle, get_programme, require_change
from jatigi.assistance.programmes import add_months, formula_of
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, Forbidden, ValidationFailed
from jatigi.core.i18n import _, day
from jatigi.registry.models import Household
from jatigi.targeting.model_score import fenced

PAYMENTS: sa.Table = Payment.__table__  # type: ignore[assignment]
CYCLES: sa.Table = Cycle.__table__  # type: ignore[assignment]
ENROLMENTS: sa.Table = Enrolment.__table__  # type: ignore[assignment]
TRANSITIONS: sa.Table = Transition.__table__  # type: ignore[assignment]
HH: sa.Table = Household.__table__  # type: ignore[assignment]
COMPLAINTS: sa.Table = Complaint.__table__  # type: ignore[assignment]
PDM: sa.Table = PdmResponse.__table__  # type: ignore[assignment]
# Payments whose money did not reach the household: paid again in a later cycle.
REISSUABLE = ("failed", "unclaimed")
# Cycles whose lines may still be withdrawn (nothing has gone out).
OPEN = ("draft", "prepared", "rejected")


def _cycle_name(cycle: Cycle, programme: Programme) -> str:
    return _("cycle {number} of {code}", number=cycle.number, code=programme.code)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Creating ----------------------------------------------------------------------------------

def create_cycle(*, session: Session, actor: Actor, ref: str | int) -> Cycle:
    """The programme's next cycle: number n covers month start_month + n − 1."""
    programme = get_programme(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_CYCLE_PREPARE)
    session.refresh(programme, with_for_update=True)
    if programme.state != "active":
        raise Conflict(_("Programme {code} is {state}: cycles are created for an active programme.",
                         code=programme.code, state=states.state_label("programme", programme.state).lower()))
    number = (session.scalar(sa.select(sa.func.max(Cycle.number)).where(Cycle.programme_id == programme.id)) or 0) + 1
    if number > programme.planned_months:
        last = add_months(programme.start_month, programme.planned_months - 1)
        raise Conflict(_("Programme {code} plans {months} months, from {first} to {last}, and has its {months} "
                         "cycles: a cycle {number} would go beyond them.", code=programme.code,
                         months=programme.planned_months, first=programme.start_month.strftime("%Y-%m"),
                         last=last.strftime("%Y-%m"), number=number))
    start = add_months(programme.start_month, number - 1)
    cycle = Cycle(programme_id=programme.id, number=number, period_start=start,
                  period_end=add_months(start, 1) - timedelta(days=1), state="draft", counts=None, total_due=0,
                  version=1, created_at=utcnow(), created_by=actor.user_id)
    session.add(cycle)
    session.flush()
    states.record_transition(session, actor, "cycle", cycle.id, None, "draft",
                             detail={"programme": programme.code, "number": number})
    bump(session, "assistance")
    return cycle


# --- Preparing ---------------------------------------------------------------------------------

def enrolled_ids(programme: Programme) -> sa.Select[Any]:
    e = ENROLMENTS.c
    return sa.select(e.household_id).where(e.programme_id == programme.id, e.exited_at.is_(None))


def lines_select(programme: Programme, cycle: Cycle, formula: Formula) -> sa.Select[Any]:
    """One line per enrolled household: (household_id, reference, hold_reason, amount, recipient,
    phone_sealed)."""
    ids = enrolled_ids(programme)
    amounts = amounts_query(formula, ids).subquery("entitlement")
    h = HH.alias("hh")
    member = holds.members(ids, cycle)
    reason = holds.hold_reason(programme, cycle, h, member, amounts.c.amount, ids)
    prefix = f"{programme.code}-{cycle.number}-"
    return fenced(sa.select(h.c.id.label("household_id"), (sa.literal(prefix) + h.c.code).label("reference"),
                            reason.label("hold_reason"), sa.func.coalesce(amounts.c.amount, 0).label("amount"),
                            member.c.recipient.label("recipient"), h.c.phone_sealed.label("phone_sealed"))
                  .select_from(amounts.join(h, h.c.id == amounts.c.household_id)
                               .outerjoin(member, member.c.household_id == h.c.id)))


def _insert_lines(session: Session, programme: Programme, cycle: Cycle, formula: Formula, now: datetime) -> None:
    lines = lines_select(programme, cycle, formula).subquery("lines")
    session.execute(sa.insert(PAYMENTS).from_select(
        ["cycle_id", "programme_id", "household_id", "reference", "state", "hold_reason", "amount",
         "recipient_person_id", "phone_sealed", "updated_at"],
        sa.select(sa.literal(cycle.id), sa.literal(programme.id), lines.c.household_id, lines.c.reference,
                  sa.case((lines.c.hold_reason.is_(None), "due"), else_="held"), lines.c.hold_reason,
                  lines.c.amount, lines.c.recipient, lines.c.phone_sealed, sa.literal(now, sa.DateTime))))
    if programme.modality == "mobile_money":
        holds.hold_wrong_phones(session, cycle, now)


def _transitions(actor: Actor, ids: sa.Select[Any], before: Any, to: Any, reason: str,
                 now: datetime, detail: dict[str, Any] | None = None) -> sa.Insert:
    """One `assistance_transitions` row per payment `ids` selects (with the payment alias's columns
    in `before` and `to`), inserted set-wise."""
    return sa.insert(TRANSITIONS).from_select(
        ["entity", "entity_id", "from_state", "to_state", "reason", "detail", "at", "by", "by_name"],
        ids.with_only_columns(sa.literal("payment"), ids.selected_columns[0], before, to, sa.literal(reason[:500]),
                              sa.literal(detail, sa.JSON) if detail else sa.null(),
                              sa.literal(now, sa.DateTime), sa.literal(actor.user_id, sa.Integer),
                              sa.literal(actor.username)))


def _add_reissues(session: Session, actor: Actor, programme: Programme, cycle: Cycle, now: datetime) -> int:
    """Re-issue in this cycle every failed or unclaimed payment of the programme's other cycles not yet
    re-issued (and any re-issue cancelled with its cycle), to households this cycle does not hold for
    a reason that stops payment; the originals become `reissued`. Returns how many."""
    o, mine, again, h = (PAYMENTS.alias("original"), PAYMENTS.alias("mine"), PAYMENTS.alias("again"),
                         HH.alias("hh"))
    others = sa.select(CYCLES.c.id).where(CYCLES.c.programme_id == programme.id, CYCLES.c.id != cycle.id)
    cancelled_cycles = others.where(CYCLES.c.state == "cancelled")
    left = o.c.amount - sa.func.coalesce(o.c.amount_paid, 0)
    source = (
        sa.select(sa.literal(cycle.id), sa.literal(programme.id), o.c.household_id,
                  sa.literal(f"{programme.code}-{cycle.number}-") + h.c.code + "-R" + sa.cast(o.c.id, sa.String),
                  sa.literal("due"), left, mine.c.recipient_person_id, mine.c.phone_sealed, sa.literal(now, sa.DateTime),
                  o.c.id)
        .select_from(o.join(mine, sa.and_(mine.c.household_id == o.c.household_id, mine.c.cycle_id == cycle.id,
                                          mine.c.reissue_of.is_(None)))
                     .join(h, h.c.id == o.c.household_id))
        .where(o.c.cycle_id.in_(others),
               sa.or_(o.c.state.in_(REISSUABLE),
                      sa.and_(o.c.state == "cancelled", o.c.reissue_of.is_not(None), o.c.cycle_id.in_(cancelled_cycles))),
               ~sa.exists().where(again.c.reissue_of == o.c.id),
               sa.or_(mine.c.hold_reason.is_(None), mine.c.hold_reason.not_in(holds.BLOCKS_REISSUE)),
               left > 0))
    session.execute(sa.insert(PAYMENTS).from_select(
        ["cycle_id", "programme_id", "household_id", "reference", "state", "amount", "recipient_person_id",
         "phone_sealed", "updated_at", "reissue_of"], source))
    replaced = sa.select(PAYMENTS.c.reissue_of).where(PAYMENTS.c.cycle_id == cycle.id,
                                                      PAYMENTS.c.reissue_of.is_not(None))
    moved: dict[str, int] = dict(session.execute(sa.select(PAYMENTS.c.state, sa.func.count()).where(
        PAYMENTS.c.id.in_(replaced), PAYMENTS.c.state.in_(REISSUABLE)).group_by(PAYMENTS.c.state)).all())
    if moved:
        p = PAYMENTS.alias("payment")
        reason = _("Re-issued in {cycle}", cycle=_cycle_name(cycle, programme))
        session.execute(_transitions(actor, sa.select(p.c.id).where(p.c.id.in_(replaced), p.c.state.in_(REISSUABLE)),
                                     p.c.state, sa.literal("reissued"), reason, now))
        session.execute(sa.update(PAYMENTS).where(PAYMENTS.c.id.in_(replaced), PAYMENTS.c.state.in_(REISSUABLE))
                        .values(state="reissued", updated_at=now))
        for before, n in sorted(moved.items()):
            states.record_transition(session, actor, "cycle", cycle.id, before, "reissued", reason=reason,
                                     detail={"payments": n, "in_cycle": cycle.id})
    return sum(moved.values())


def _withdraw_lines(session: Session, actor: Actor, programme: Programme, cycle: Cycle, why: str) -> None:
    """Remove the cycle's lines (nothing has gone out), putting the payments its re-issues replaced
    back to the state they had: a move outside the payments' state machine, allowed by the named
    exception `states.REISSUE_WITHDRAWN` and kept with its name."""
    now = utcnow()
    replaced = sa.select(PAYMENTS.c.reissue_of).where(PAYMENTS.c.cycle_id == cycle.id,
                                                      PAYMENTS.c.reissue_of.is_not(None))

    def earlier(payment_id: Any) -> Any:
        t = TRANSITIONS.c
        found = (sa.select(t.from_state).where(t.entity == "payment", t.entity_id == payment_id,
                                               t.to_state == "reissued")
                 .order_by(t.id.desc()).limit(1).scalar_subquery())
        return sa.func.coalesce(found, "failed")

    p = PAYMENTS.alias("payment")
    put_back = sa.select(p.c.id).where(p.c.id.in_(replaced), p.c.state == "reissued")
    restored = put_back.with_only_columns(earlier(p.c.id).label("state")).subquery("restored")
    back: dict[str, int] = dict(session.execute(sa.select(restored.c.state, sa.func.count()).group_by(restored.c.state))
                .all())
    if back:
        for state in back:
            states.check_exception(states.REISSUE_WITHDRAWN, "payment", "reissued", state)
        reason = _("Back from {cycle}: {why}", cycle=_cycle_name(cycle, programme), why=why)
        exception = {"exception": states.REISSUE_WITHDRAWN}
        session.execute(_transitions(actor, put_back, sa.literal("reissued"), earlier(p.c.id), reason, now,
                                     exception))
        session.execute(sa.update(PAYMENTS).where(PAYMENTS.c.id.in_(replaced), PAYMENTS.c.state == "reissued")
                        .values(state=earlier(PAYMENTS.c.id), updated_at=now))
        for state, n in sorted(back.items()):
            states.record_transition(session, actor, "cycle", cycle.id, "reissued", state, reason=reason,
                                     detail={"payments": n, **exception})
    lines = sa.select(PAYMENTS.c.id).where(PAYMENTS.c.cycle_id == cycle.id)
    # A complaint or an interview about a withdrawn line keeps its household and programme.
    for table in (COMPLAINTS, PDM):
        session.execute(sa.update(table).where(table.c.payment_id.in_(lines)).values(payment_id=None))
    session.execute(sa.delete(PAYMENTS).where(PAYMENTS.c.cycle_id == cycle.id))


def count_lines(session: Session, cycle: Cycle) -> tuple[dict[str, Any], int]:
    """The cycle's counts as prepared (households, due, held by reason, re-issued) and the total due."""
    p = PAYMENTS.c
    rows = session.execute(sa.select(p.state, p.hold_reason, p.reissue_of.is_not(None), sa.func.count(),
                                     sa.func.coalesce(sa.func.sum(p.amount), 0))
                           .where(p.cycle_id == cycle.id).group_by(p.state, p.hold_reason,
                                                                   p.reissue_of.is_not(None))).all()
    counts: dict[str, Any] = {"households": 0, "due": 0, "held": {}, "held_total": 0, "reissued": 0,
                              "reissued_amount": 0}
    total = 0
    for state, reason, reissue, n, amount in rows:
        if reissue:
            counts["reissued"] += n
            counts["reissued_amount"] += int(amount)
        else:
            counts["households"] += n
            if state == "held":
                counts["held"][reason] = counts["held"].get(reason, 0) + n
                counts["held_total"] += n
            else:
                counts["due"] += n
        if state == "due":
            total += int(amount)
    counts["held"] = {reason: counts["held"][reason] for reason in holds.ORDER if reason in counts["held"]}
    return counts, total


def _already(cycle: Cycle, programme: Programme, session: Session) -> Conflict:
    who = session.scalar(sa.select(User.username).where(User.id == cycle.prepared_by)) if cycle.prepared_by else None
    return Conflict(_("{cycle} is already {state} (prepared by {who} on {on}): it cannot be prepared again.",
                      cycle=_capital(_cycle_name(cycle, programme)),
                      state=states.state_label("cycle", cycle.state).lower(), who=who or "system",
                      on=day(cycle.prepared_at)))


def prepare(*, session: Session, actor: Actor, ref: str | int) -> Cycle:
    """Write the cycle's payment lines (see the module doc); draft or rejected cycles only, by a named
    person."""
    cycle, programme = get_cycle(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_CYCLE_PREPARE)
    if actor.user_id is None:
        raise Forbidden(_("A cycle is prepared by a named person, not by the system account (another person then "
                          "approves it): say who prepares it with --as USER or JATIGI_USER."))
    # One preparation at a time per programme: two could otherwise re-issue the same payment.
    session.refresh(programme, with_for_update=True)
    session.refresh(cycle, with_for_update=True)
    if cycle.state not in ("draft", "rejected"):
        if cycle.state == "cancelled":
            states.check_move("cycle", cycle.state, "prepared")
        raise _already(cycle, programme, session)
    if programme.state != "active":
        raise Conflict(_("Programme {code} is {state}: its cycles are prepared while it is active.",
                         code=programme.code, state=states.state_label("programme", programme.state).lower()))
    formula = formula_of(programme)
    now = utcnow()
    with session.begin_nested():
        if cycle.state == "rejected":
            _withdraw_lines(session, actor, programme, cycle, _("prepared again"))
        _insert_lines(session, programme, cycle, formula, now)
        _add_reissues(session, actor, programme, cycle, now)
        cycle.counts, cycle.total_due = count_lines(session, cycle)
        cycle.prepared_at, cycle.prepared_by = now, actor.user_id
        cycle.approved_at = cycle.approved_by = None
        states.move(session, actor, "cycle", cycle, "prepared",
                    detail={"programme": programme.code, "number": cycle.number, "total_due": cycle.total_due,
                            "due": cycle.counts["due"], "held": cycle.counts["held"],
                            "reissued": cycle.counts["reissued"], "formula": f"{formula.id}@{formula.version}"})
        cycle.version += 1
        session.flush()
    bump(session, "assistance")
    return cycle


# --- Approving, rejecting, cancelling ----------------------------------------------------------

def _locked(session: Session, actor: Actor, ref: str | int, permission: Permission) -> tuple[Cycle, Programme]:
    cycle, programme = get_cycle(session, actor, ref)
    require_change(actor, programme, permission)
    session.refresh(cycle, with_for_update=True)
    return cycle, programme


def approve(*, session: Session, actor: Actor, ref: str | int) -> Cycle:
    """Approve a prepared cycle: by someone other than who prepared it. It is then locked."""
    cycle, programme = _locked(session, actor, ref, Permission.ASSISTANCE_CYCLE_APPROVE)
    states.check_move("cycle", cycle.state, "approved")
    if actor.user_id is None:
        raise Forbidden(_("A cycle is approved by a named person, not by the system account: give --as USER."))
    if cycle.prepared_by == actor.user_id:
        raise Forbidden(_("You prepared {cycle}: another person must approve it (four eyes).",
                          cycle=_cycle_name(cycle, programme)))
    if programme.state != "active":
        raise Conflict(_("Programme {code} is {state}: its cycles are approved while it is active.",
                         code=programme.code, state=states.state_label("programme", programme.state).lower()))
    cycle.approved_at, cycle.approved_by = utcnow(), actor.user_id
    states.move(session, actor, "cycle", cycle, "approved",
                detail={"programme": programme.code, "number": cycle.number, "total_due": cycle.total_due})
    cycle.version += 1
    bump(session, "assistance")
    return cycle


def reject(*, session: Session, actor: Actor, ref: str | int, reason: str) -> Cycle:
    """Send a prepared cycle back, or an approved one not yet sent (by a named person other than who
    prepared it): it can be prepared again (its lines are then replaced)."""
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the cycle is rejected."))
    cycle, programme = _locked(session, actor, ref, Permission.ASSISTANCE_CYCLE_APPROVE)
    states.check_move("cycle", cycle.state, "rejected")
    detail: dict[str, Any] = {"programme": programme.code, "number": cycle.number}
    if cycle.state == "approved":
        if actor.user_id is None:
            raise Forbidden(_("An approved cycle is sent back by a named person, not by the system account: give "
                              "--as USER."))
        if cycle.prepared_by == actor.user_id:
            raise Forbidden(_("You prepared {cycle}: another person must send it back once approved (four eyes).",
                              cycle=_cycle_name(cycle, programme)))
        detail["approved_by"] = cycle.approved_by
        cycle.approved_at = cycle.approved_by = None
    states.move(session, actor, "cycle", cycle, "rejected", reason=reason.strip(), detail=detail)
    cycle.version += 1
    bump(session, "assistance")
    return cycle


def close(*, session: Session, actor: Actor, ref: str | int, note: str | None = None) -> Cycle:
    """Close a reconciled cycle once no more report is expected from the provider: nothing in it changes
    any more (its failed and unclaimed payments are still re-issued in later cycles)."""
    cycle, programme = _locked(session, actor, ref, Permission.ASSISTANCE_PAYMENT_RECONCILE)
    states.check_move("cycle", cycle.state, "closed")
    p = PAYMENTS.c
    still = {state: int(n) for state, n in session.execute(
        sa.select(p.state, sa.func.count()).where(p.cycle_id == cycle.id, p.state.in_(("sent", "unclaimed")))
        .group_by(p.state))}
    cycle.closed_at = utcnow()
    states.move(session, actor, "cycle", cycle, "closed", reason=(note or "").strip() or None,
                detail={"programme": programme.code, "number": cycle.number, "payments_open": still})
    cycle.version += 1
    bump(session, "assistance")
    return cycle


def _cancel(session: Session, actor: Actor, cycle: Cycle, programme: Programme, reason: str) -> None:
    states.check_move("cycle", cycle.state, "cancelled")
    detail: dict[str, Any] = {"programme": programme.code, "number": cycle.number}
    if cycle.state in OPEN:
        _withdraw_lines(session, actor, programme, cycle, reason)
    else:  # approved: the due lines are cancelled and kept
        now = utcnow()
        due = session.scalar(sa.select(sa.func.count()).where(PAYMENTS.c.cycle_id == cycle.id,
                                                              PAYMENTS.c.state == "due")) or 0
        session.execute(sa.update(PAYMENTS).where(PAYMENTS.c.cycle_id == cycle.id, PAYMENTS.c.state == "due")
                        .values(state="cancelled", updated_at=now))
        if due:
            states.record_transition(session, actor, "cycle", cycle.id, "due", "cancelled", reason=reason,
                                     detail={"payments": due})
        detail["payments_cancelled"] = due
    states.move(session, actor, "cycle", cycle, "cancelled", reason=reason, detail=detail)
    cycle.version += 1


def cancel(*, session: Session, actor: Actor, ref: str | int, reason: str) -> Cycle:
    """Cancel a cycle not yet sent: its lines are removed (or, once approved, its due payments cancelled)."""
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the cycle is cancelled."))
    cycle, programme = _locked(session, actor, ref, Permission.ASSISTANCE_CYCLE_PREPARE)
    with session.begin_nested():
        _cancel(session, actor, cycle, programme, reason.strip())
    bump(session, "assistance")
    return cycle


def cancel_open_cycles(session: Session, actor: Actor, programme: Programme, reason: str) -> None:
    """Cancel the programme's cycles in draft, prepared or rejected (when the programme is cancelled)."""
    for cycle in session.scalars(sa.select(Cycle).where(Cycle.programme_id == programme.id,
                                                        Cycle.state.in_(OPEN))):
        _cancel(session, actor, cycle, programme, reason)


# --- Reading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CycleView:
    cycle: Cycle
    programme: Programme
    prepared_by: str | None
    approved_by: str | None
    # The payments as they are now, by state: (lines, amount)
    payments: dict[str, tuple[int, int]]
    transitions: list[Transition]


def read_cycle(*, session: Session, actor: Actor, ref: str | int) -> CycleView:
    cycle, programme = get_cycle(session, actor, ref)
    names = dict(session.execute(sa.select(User.id, User.username).where(
        User.id.in_([i for i in (cycle.prepared_by, cycle.approved_by) if i is not None]))).all())
    p = PAYMENTS.c
    payments = {state: (int(n), int(amount or 0)) for state, n, amount in session.execute(
        sa.select(p.state, sa.func.count(), sa.func.sum(p.amount)).where(p.cycle_id == cycle.id).group_by(p.state))}
    transitions = list(session.scalars(sa.select(Transition).where(Transition.entity == "cycle",
                                                                   Transition.entity_id == cycle.id)
                                       .order_by(Transition.id)))
    audit.record(session, actor, "assistance.cycle.read", "assistance_cycle", cycle.id,
                 {"programme": programme.code, "number": cycle.number})
    return CycleView(cycle, programme, names.get(cycle.prepared_by) if cycle.prepared_by else None,
                     names.get(cycle.approved_by) if cycle.approved_by else None, payments, transitions)


def list_cycles(*, session: Session, actor: Actor, ref: str | int) -> tuple[Programme, list[Cycle]]:
    programme = get_programme(session, actor, ref)
    return programme, list(session.scalars(sa.select(Cycle).where(Cycle.programme_id == programme.id)
                                           .order_by(Cycle.number)))


def period_label(cycle: Cycle) -> str:
    """The month a cycle covers, e.g. 2025-03."""
    start: date = cycle.period_start
    return start.strftime("%Y-%m")

