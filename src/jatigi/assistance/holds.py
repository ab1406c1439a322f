"""Why an enrolled household gets no payment in a cycle, as one SQL CASE over the households.

The first reason that applies, in this order: deleted (removed from the registry); moved_away
(marked as departed, or living outside the programme's area); deceased (the household's head is
recorded as deceased and no other head is alive); possible_duplicate (a member is in a pair of
possible duplicates still waiting for review); assisted_elsewhere (a live payment of another
programme of the same sector for a period overlapping this cycle's — in any organisation, which
is not revealed); no_phone (a mobile-money programme and no phone for the household); zero_amount.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, FromClause

from jatigi.assistance import vocab
from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.dedup.models import PENDING, CandidatePair
from jatigi.registry.models import Person

ORDER = ("deleted", "moved_away", "deceased", "possible_duplicate", "assisted_elsewhere", "no_phone", "zero_amount")
# A household held for one of these in a cycle gets no re-issue of an earlier payment in it either.
BLOCKS_REISSUE = ("deleted", "moved_away", "deceased", "possible_duplicate", "no_phone")
PEOPLE: sa.Table = Person.__table__  # type: ignore[assignment]
PAIRS: sa.Table = CandidatePair.__table__  # type: ignore[assignment]
PAYMENTS: sa.Table = Payment.__table__  # type: ignore[assignment]
CYCLES: sa.Table = Cycle.__table__  # type: ignore[assignment]
PROGRAMMES: sa.Table = Programme.__table__  # type: ignore[assignment]

assert set(ORDER) == set(vocab.HOLD_REASONS)


def heads(household_ids: sa.Select[Any]) -> FromClause:
    """Per household among `household_ids`: how many heads it has (`heads`) and its living head
    with the lowest id (`recipient`, NULL when none is alive)."""
    p = PEOPLE.c
    return (sa.select(p.household_id, sa.func.count().label("heads"),
                      sa.func.min(sa.case((p.deceased_on.is_(None), p.id))).label("recipient"))
            .where(p.relationship == "head", p.deleted_at.is_(None), p.household_id.in_(household_ids))
            .group_by(p.household_id).subquery("heads"))


def pending_duplicates() -> sa.CompoundSelect:
    """The households with a member in a pair of possible duplicates still waiting for review
    (both people still in the registry): `dedup.flags.possible_duplicates`, as one SELECT."""
    removed = sa.select(PEOPLE.c.id).where(PEOPLE.c.deleted_at.is_not(None))
    current = [PAIRS.c.status == PENDING, PAIRS.c.person_a_id.not_in(removed), PAIRS.c.person_b_id.not_in(removed)]
    return sa.union(sa.select(PAIRS.c.household_a_id).where(*current),
                    sa.select(PAIRS.c.household_b_id).where(*current))


def assisted_elsewhere(programme: Programme, cycle: Cycle) -> sa.Select[Any]:
    """The households with a live payment of another programme of the same sector, for a period
    overlapping the cycle's."""
    p, c, g = PAYMENTS.alias("other_payment"), CYCLES.alias("other_cycle"), PROGRAMMES.alias("other_programme")
    return (sa.select(p.c.household_id)
            .select_from(p.join(c, c.c.id == p.c.cycle_id).join(g, g.c.id == p.c.programme_id))
            .where(p.c.state.in_(vocab.PAYMENT_LIVE), p.c.programme_id != programme.id,
                   g.c.sector == programme.sector, c.c.period_start <= cycle.period_end,
                   c.c.period_end >= cycle.period_start))


def hold_reason(programme: Programme, cycle: Cycle, household: FromClause, head: FromClause,
                amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """The first hold reason of each household (NULL: due). `household` is the households table,
    `head` the `heads` subquery (LEFT JOINed), `amount` the household's entitlement."""
    h = household.c
    moved: ColumnElement[bool] = h.departed_on.is_not(None)
    if programme.area_pcode:
        moved = sa.or_(moved, sa.not_(h.current_pcode.startswith(programme.area_pcode, autoescape=True)))
    whens: list[tuple[ColumnElement[bool], str]] = [
        (h.deleted_at.is_not(None), "deleted"),
        (moved, "moved_away"),
        (sa.and_(head.c.heads > 0, head.c.recipient.is_(None)), "deceased"),
        (h.id.in_(pending_duplicates()), "possible_duplicate"),
        (h.id.in_(assisted_elsewhere(programme, cycle)), "assisted_elsewhere"),
    ]
    if programme.modality == "mobile_money":
        whens.append((h.phone_index.is_(None), "no_phone"))
    whens.append((sa.func.coalesce(amount, 0) <= 0, "zero_amount"))
    return sa.case(*whens, else_=sa.null())
