"""Why an enrolled household gets no payment in a cycle, as one SQL CASE over the households, and
who receives the payment of those paid.

Everything is judged on the cycle's last day: a departure or a death recorded for a later day does
not count yet. The recipient is the household's living head (the lowest id if it has several),
else its oldest living adult member (18 or more on the cycle's last day).

The first reason that applies, in this order: deleted (removed from the registry); moved_away
(marked as departed, or living outside the programme's area); deceased (every member is recorded
as deceased); no_recipient (no member may receive it: those alive are all children, or the household
has no member); duplicate (a member is the same person — a pair confirmed or merged by a reviewer —
as a member of another household enrolled in the programme with a lower id, which is paid instead);
possible_duplicate (a member is in a pair of possible duplicates still waiting for review);
assisted_elsewhere (a live payment of another programme of the same sector for a period overlapping
this cycle's — in any organisation, which is not revealed); no_phone (a mobile-money programme and no
phone for the household, or one that is not a Mali mobile number: +223 and 8 digits — the phones
are sealed, so these are found after the lines are written, see `hold_wrong_phones`); zero_amount.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FromClause

from jatigi.assistance import vocab
from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.core.bulk import Rows, insert_rows
from jatigi.core.crypto import keyring, normalise_phone
from jatigi.dedup.models import CONFIRMED, MERGED, PENDING, CandidatePair
from jatigi.registry.models import Household, Person

ORDER = ("deleted", "moved_away", "deceased", "no_recipient", "duplicate", "possible_duplicate",
         "assisted_elsewhere", "no_phone", "zero_amount")
# A household held for one of these in a cycle gets no re-issue of an earlier payment in it either.
BLOCKS_REISSUE = ("deleted", "moved_away", "deceased", "no_recipient", "duplicate", "possible_duplicate",
                  "no_phone")
# The age from which a member may receive the payment when the head cannot.
ADULT_AGE = 18
PEOPLE: sa.Table = Person.__table__  # type: ignore[assignment]
HOUSEHOLDS: sa.Table = Household.__table__  # type: ignore[assignment]
PAIRS: sa.Table = CandidatePair.__table__  # type: ignore[assignment]
PAYMENTS: sa.Table = Payment.__table__  # type: ignore[assignment]
CYCLES: sa.Table = Cycle.__table__  # type: ignore[assignment]
PROGRAMMES: sa.Table = Programme.__table__  # type: ignore[assignment]
# Reviewers' decisions that two records are one person (rejected and unmerged pairs are two people).
SAME_PERSON = (CONFIRMED, MERGED)
# A Mali mobile number as the registry keeps it (normalised): 223 and the 8 digits of the number.
MALI_MOBILE = re.compile(r"223[0-9]{8}")
TMP_PHONES = "tmp_assistance_wrong_phones"

assert set(ORDER) == set(vocab.HOLD_REASONS)


def adult_born_by(day: date) -> date:
    """The latest birth date of a person who is ADULT_AGE or more on `day`."""
    try:
        return day.replace(year=day.year - ADULT_AGE)
    except ValueError:  # 29 February, and the year 18 years before is not a leap year
        return day.replace(year=day.year - ADULT_AGE, day=28)


def members(household_ids: sa.Select[Any], cycle: Cycle) -> FromClause:
    """Per household among `household_ids`: its members (`members`), those alive on the cycle's last day
    (`living`), and who receives its payment (`recipient`, NULL when nobody may: see the module doc)."""
    p = PEOPLE.c
    last_day = cycle.period_end
    living = sa.or_(p.deceased_on.is_(None), p.deceased_on > last_day)
    head = p.relationship == "head"
    may_receive = sa.and_(living, sa.or_(head, p.birth_date <= adult_born_by(last_day)))
    rank = sa.func.row_number().over(partition_by=p.household_id, order_by=(
        sa.case((may_receive, 0), else_=1), sa.case((head, 0), else_=1), sa.case((head, p.id), else_=0),
        p.birth_date, p.id))
    ranked = (sa.select(p.household_id, p.id, sa.case((living, 1), else_=0).label("alive"),
                        sa.case((may_receive, 1), else_=0).label("may_receive"), rank.label("rank"))
              .where(p.deleted_at.is_(None), p.household_id.in_(household_ids)).subquery("ranked"))
    r = ranked.c
    return (sa.select(r.household_id, sa.func.count().label("members"), sa.func.sum(r.alive).label("living"),
                      sa.func.max(sa.case((sa.and_(r.rank == 1, r.may_receive == 1), r.id))).label("recipient"))
            .group_by(r.household_id).subquery("members"))


def _current_pair() -> list[ColumnElement[bool]]:
    """A pair whose two people are still in the registry, in two households."""
    removed = sa.select(PEOPLE.c.id).where(PEOPLE.c.deleted_at.is_not(None))
    return [PAIRS.c.person_a_id.not_in(removed), PAIRS.c.person_b_id.not_in(removed),
            PAIRS.c.household_a_id != PAIRS.c.household_b_id]


def pending_duplicates() -> sa.CompoundSelect:
    """The households with a member in a pair of possible duplicates still waiting for review
    (both people still in the registry): `dedup.flags.possible_duplicates`, as one SELECT."""
    current = [PAIRS.c.status == PENDING, *_current_pair()]
    return sa.union(sa.select(PAIRS.c.household_a_id).where(*current),
                    sa.select(PAIRS.c.household_b_id).where(*current))


def registered_twice(household_ids: sa.Select[Any]) -> sa.Select[Any]:
    """Those of the households `household_ids` selects with a member who is the same person (a pair
    confirmed or merged) as a member of another of them with a lower id, not removed from the registry:
    that household is paid, these are held."""
    a, b = PAIRS.c.household_a_id, PAIRS.c.household_b_id
    higher, lower = sa.case((a > b, a), else_=b), sa.case((a > b, b), else_=a)
    removed = sa.select(HOUSEHOLDS.c.id).where(HOUSEHOLDS.c.deleted_at.is_not(None))
    return sa.select(higher).where(PAIRS.c.status.in_(SAME_PERSON), *_current_pair(), a.in_(household_ids),
                                   b.in_(household_ids), lower.not_in(removed))


def assisted_elsewhere(programme: Programme, cycle: Cycle) -> sa.Select[Any]:
    """The households with a live payment of another programme of the same sector, for a period
    overlapping the cycle's."""
    p, c, g = PAYMENTS.alias("other_payment"), CYCLES.alias("other_cycle"), PROGRAMMES.alias("other_programme")
    return (sa.select(p.c.household_id)
            .select_from(p.join(c, c.c.id == p.c.cycle_id).join(g, g.c.id == p.c.programme_id))
            .where(p.c.state.in_(vocab.PAYMENT_LIVE), p.c.programme_id != programme.id,
                   g.c.sector == programme.sector, c.c.period_start <= cycle.period_end,
                   c.c.period_end >= cycle.period_start))


def hold_reason(programme: Programme, cycle: Cycle, household: FromClause, member: FromClause,
                amount: ColumnElement[Any], household_ids: sa.Select[Any]) -> ColumnElement[Any]:
    """The first hold reason of each household (NULL: due). `household` is the households table,
    `member` the `members` subquery (LEFT JOINed), `amount` the household's entitlement and
    `household_ids` the households enrolled."""
    h, m = household.c, member.c
    moved: ColumnElement[bool] = sa.and_(h.departed_on.is_not(None), h.departed_on <= cycle.period_end)
    if programme.area_pcode:
        moved = sa.or_(moved, sa.not_(h.current_pcode.startswith(programme.area_pcode, autoescape=True)))
    whens: list[tuple[ColumnElement[bool], str]] = [
        (h.deleted_at.is_not(None), "deleted"),
        (moved, "moved_away"),
        (sa.and_(m.members > 0, m.living == 0), "deceased"),
        (m.recipient.is_(None), "no_recipient"),
        (h.id.in_(registered_twice(household_ids)), "duplicate"),
        (h.id.in_(pending_duplicates()), "possible_duplicate"),
        (h.id.in_(assisted_elsewhere(programme, cycle)), "assisted_elsewhere"),
    ]
    if programme.modality == "mobile_money":
        whens.append((h.phone_index.is_(None), "no_phone"))
    whens.append((sa.func.coalesce(amount, 0) <= 0, "zero_amount"))
    return sa.case(*whens, else_=sa.null())


# --- Phones, opened in Python --------------------------------------------------------------------

def is_mali_mobile(phone: str | None) -> bool:
    """Whether a phone (as stored, or as typed) is a Mali mobile number: +223 and 8 digits."""
    digits = normalise_phone(phone)
    return digits is not None and MALI_MOBILE.fullmatch(digits) is not None


def hold_wrong_phones(session: Session, cycle: Cycle, now: datetime) -> int:
    """Hold as no_phone the cycle's lines (not the re-issues) due, or held for a reason that comes after
    no_phone, whose phone as copied to the line is not a Mali mobile number. The phones are opened in
    one streamed pass; the lines are held in one UPDATE. Returns how many."""
    keys, p = keyring(), PAYMENTS.c
    later = ORDER[ORDER.index("no_phone") + 1:]
    rows = session.execute(sa.select(p.id, p.phone_sealed)
                           .where(p.cycle_id == cycle.id, p.reissue_of.is_(None),
                                  sa.or_(p.state == "due", p.hold_reason.in_(later)))
                           .execution_options(yield_per=10_000))
    wrong = [(payment_id,) for payment_id, sealed in rows if not is_mali_mobile(keys.open(sealed))]
    if not wrong:
        return 0
    tmp = sa.Table(TMP_PHONES, sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True),
                   prefixes=["TEMPORARY"])
    conn = session.connection()
    tmp.drop(conn, checkfirst=True)
    tmp.create(conn)
    insert_rows(conn, tmp, Rows(["id"], wrong))
    session.execute(sa.update(PAYMENTS).where(PAYMENTS.c.id.in_(sa.select(tmp.c.id)))
                    .values(state="held", hold_reason="no_phone", updated_at=now))
    tmp.drop(conn)
    return len(wrong)
