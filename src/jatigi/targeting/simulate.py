"""Who a budget would reach: selection from a scoring run, before any money moves.

The vulnerable are the households in the model's categories but the lowest (or the categories
chosen), excluded ones left out; they are ranked by score (then by household, so the list is the
same every time) and taken while the budget lasts: `budget // (transfer value × months)`
households. The picture is given overall and by population group, sex of the head, region (or
commune): how many were scored, how many are vulnerable, how many selected, and how many
vulnerable households the budget leaves out. Everything is counted by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.targeting.model import Model
from jatigi.targeting.runs import Loaded, get_run
from jatigi.targeting.tables import Run, Score

SCORES: sa.Table = Score.__table__  # type: ignore[assignment]
HH: sa.Table = Household.__table__  # type: ignore[assignment]
# The groups as they were at the run (kept with each score).
DIMENSIONS = {"population_group": SCORES.c.population_group, "head_sex": SCORES.c.head_sex,
              "region": SCORES.c.admin1, "commune": SCORES.c.pcode}
DEFAULT_BY = ("population_group", "head_sex", "region")


@dataclass(frozen=True)
class Budget:
    budget: int
    transfer_value: int
    months: int

    def __post_init__(self) -> None:
        if self.transfer_value <= 0 or self.months <= 0:
            raise ValidationFailed(_("The transfer value and the number of months must be above zero."))
        if self.budget < self.per_household:
            raise ValidationFailed(_("A budget of {budget} FCFA does not pay one transfer of {value} FCFA for "
                                     "{months} months ({needed} FCFA).", budget=self.budget, value=self.transfer_value,
                                     months=self.months, needed=self.per_household))

    @property
    def per_household(self) -> int:
        return self.transfer_value * self.months

    @property
    def households(self) -> int:
        return self.budget // self.per_household


@dataclass(frozen=True)
class Group:
    value: str | None
    scored: int
    assessed: int  # scored on at least one criterion (not "not assessed" on all)
    vulnerable: int
    selected: int

    @property
    def left_out(self) -> int:
        return self.vulnerable - self.selected


@dataclass
class Simulation:
    run: Run
    loaded: Loaded
    budget: Budget
    categories: tuple[str, ...]
    total: Group
    cutoff: float | None  # the lowest score selected; None when every vulnerable household is
    by: dict[str, list[Group]] = field(default_factory=dict)

    @property
    def cost(self) -> int:
        return self.total.selected * self.budget.per_household

    @property
    def coverage(self) -> float | None:
        return self.total.selected / self.total.vulnerable if self.total.vulnerable else None


def vulnerable_categories(model: Model, chosen: Sequence[str] | None = None) -> tuple[str, ...]:
    names = [c.name for c in sorted(model.categories, key=lambda c: -c.min_score)]
    if chosen:
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise ValidationFailed(_("Unknown categories {unknown}: the model has {known}.",
                                     unknown=", ".join(unknown), known=", ".join(names)))
        return tuple(chosen)
    return tuple(names[:-1]) if len(names) > 1 else tuple(names)


def still_registered() -> ColumnElement[bool]:
    """A run's household not deleted since: a deleted household takes no place in a selection."""
    return SCORES.c.household_id.not_in(sa.select(HH.c.id).where(HH.c.deleted_at.is_not(None)))


def selection(session: Session, run_id: int, categories: tuple[str, ...],
              budget: Budget) -> tuple[ColumnElement[bool], ColumnElement[bool], float | None]:
    """(vulnerable, selected) as conditions on targeting_scores, and the cut-off score.

    Scores are sums of points: few distinct values. The cut-off score is found from how many
    households have each score (no sort of every household); only the households tied at it are
    ordered, by household, to take as many as the budget still pays."""
    s = SCORES.c
    vulnerable = sa.and_(s.excluded.is_(False), s.category.in_(categories), still_registered())
    counts = session.execute(sa.select(s.score, sa.func.count()).where(s.run_id == run_id, vulnerable)
                             .group_by(s.score).order_by(s.score.desc())).all()
    left = budget.households
    for score, n in counts:
        if n < left:
            left -= n
            continue
        last = session.scalar(sa.select(s.household_id).where(s.run_id == run_id, vulnerable, s.score == score)
                              .order_by(s.household_id).offset(left - 1).limit(1))
        chosen = sa.and_(vulnerable, sa.or_(s.score > score, sa.and_(s.score == score, s.household_id <= last)))
        return vulnerable, chosen, float(score)
    return vulnerable, vulnerable, None


def simulate(*, session: Session, actor: Actor, run_id: int, budget: Budget, categories: Sequence[str] | None = None,
             by: Sequence[str] = DEFAULT_BY) -> Simulation:
    """The picture of a selection within `budget`, from one grouped pass over the run's scores (by
    group and score), and a small one over the households tied at the cut-off."""
    run, loaded = get_run(session, actor, run_id)
    chosen = vulnerable_categories(loaded.model, categories)
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(_("Unknown breakdown {unknown}: use {known}.", unknown=", ".join(unknown),
                                 known=", ".join(DIMENSIONS)))
    s = SCORES.c
    keys = [DIMENSIONS[d] for d in by]
    is_vulnerable = sa.case((sa.and_(s.excluded.is_(False), s.category.in_(chosen)), 1), else_=0)
    is_assessed = sa.case((s.not_assessed < len(loaded.model.criteria), 1), else_=0)
    rows = [tuple(r) for r in session.execute(
        sa.select(*keys, s.score, is_vulnerable, is_assessed, sa.func.count()).where(s.run_id == run.id,
                                                                                     still_registered())
        .group_by(*keys, s.score, is_vulnerable, is_assessed))]
    n = len(keys)
    by_score: dict[float, int] = {}
    for row in rows:
        if row[n + 1]:
            by_score[row[n]] = by_score.get(row[n], 0) + int(row[n + 3])
    cutoff, left = _cut(by_score, budget.households)
    tied: dict[tuple[Any, ...], int] = {}
    if cutoff is not None and left < by_score[cutoff]:
        vulnerable = sa.and_(s.excluded.is_(False), s.category.in_(chosen), still_registered())
        last = session.scalar(sa.select(s.household_id).where(s.run_id == run.id, vulnerable, s.score == cutoff)
                              .order_by(s.household_id).offset(left - 1).limit(1))
        tied = {tuple(r[:n]): int(r[n]) for r in session.execute(
            sa.select(*keys, sa.func.count()).where(s.run_id == run.id, vulnerable, s.score == cutoff,
                                                    s.household_id <= last).group_by(*keys))}
    total = [0, 0, 0, 0]
    per: dict[str, dict[Any, list[int]]] = {d: {} for d in by}
    for row in rows:
        values, score, vulnerable_, assessed, count = row[:n], row[n], row[n + 1], row[n + 2], int(row[n + 3])
        taken = 0
        if vulnerable_ and (cutoff is None or score > cutoff or (score == cutoff and not tied)):
            taken = count
        counts = [count, count if assessed else 0, count if vulnerable_ else 0, taken]
        _add(total, counts)
        for i, dimension in enumerate(by):
            _add(per[dimension].setdefault(values[i], [0, 0, 0, 0]), counts)
    for values, count in tied.items():
        total[3] += count
        for i, dimension in enumerate(by):
            per[dimension].setdefault(values[i], [0, 0, 0, 0])[3] += count
    groups = {d: [Group(v, *c) for v, c in sorted(per[d].items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
              for d in by}
    return Simulation(run, loaded, budget, chosen, Group(None, *total), cutoff, groups)


def _cut(by_score: dict[float, int], households: int) -> tuple[float | None, int]:
    """The lowest score selected and how many of the households at that score are taken; (None, 0)
    when the budget pays for every vulnerable household."""
    left = households
    for score in sorted(by_score, reverse=True):
        if by_score[score] < left:
            left -= by_score[score]
            continue
        return score, left
    return None, 0


def _add(into: list[int], counts: list[int]) -> None:
    for i, count in enumerate(counts):
        into[i] += count


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def breakdowns(session: Session, run_id: int, criteria: int, vulnerable: ColumnElement[bool],
               selected: ColumnElement[bool], by: Sequence[str]) -> tuple[Group, dict[str, list[Group]]]:
    """The counts overall and per value of each dimension, as the households were at the run: one
    grouped query over every dimension at once, added up per dimension. (The run's scope was the
    runner's; the households themselves are listed only to those who see them now.)"""
    s = SCORES.c
    keys = [DIMENSIONS[d] for d in by]
    query = sa.select(*keys, sa.func.count(), _flag(s.not_assessed < criteria), _flag(vulnerable),
                      _flag(selected)).where(s.run_id == run_id, still_registered())
    if keys:
        query = query.group_by(*keys)
    rows = [tuple(row) for row in session.execute(query)]
    total = [0, 0, 0, 0]
    per: dict[str, dict[str | None, list[int]]] = {d: {} for d in by}
    for row in rows:
        counts = [int(n or 0) for n in row[len(keys):]]
        total = [a + b for a, b in zip(total, counts, strict=True)]
        for i, dimension in enumerate(by):
            cell = per[dimension].setdefault(row[i], [0, 0, 0, 0])
            per[dimension][row[i]] = [a + b for a, b in zip(cell, counts, strict=True)]
    found = {d: [Group(value, *counts) for value, counts in sorted(per[d].items(), key=lambda kv: (kv[0] is None,
                                                                                                  kv[0] or ""))]
             for d in by}
    return Group(None, *total), found


def selected_households(session: Session, actor: Actor, sim: Simulation) -> sa.Result[Any]:
    """The selected households in rank order: rank, code, score, category, place, group, size."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    _, chosen, _ = selection(session, sim.run.id, sim.categories, sim.budget)
    s = SCORES.c
    rank = sa.func.row_number().over(order_by=(s.score.desc(), s.household_id)).label("rank")
    return session.execute(
        sa.select(rank, HH.c.code, s.score, s.category, HH.c.current_admin1, HH.c.current_pcode,
                  HH.c.population_group, HH.c.member_count, HH.c.head_sex)
        .select_from(SCORES.join(HH, HH.c.id == s.household_id))
        .where(s.run_id == sim.run.id, chosen, *visibility(actor))
        .order_by(s.score.desc(), s.household_id))


def overlap(session: Session, a: Simulation, b: Simulation) -> dict[str, int]:
    """How many households both simulations select, and how many only one of them."""
    _, chosen_a, _ = selection(session, a.run.id, a.categories, a.budget)
    _, chosen_b, _ = selection(session, b.run.id, b.categories, b.budget)
    in_a = sa.select(SCORES.c.household_id).where(SCORES.c.run_id == a.run.id, chosen_a).subquery("in_a")
    in_b = sa.select(SCORES.c.household_id).where(SCORES.c.run_id == b.run.id, chosen_b).subquery("in_b")
    both = session.scalar(sa.select(sa.func.count())
                          .select_from(in_a.join(in_b, in_a.c.household_id == in_b.c.household_id)))
    return {"both": both or 0, "only_a": a.total.selected - (both or 0), "only_b": b.total.selected - (both or 0)}
