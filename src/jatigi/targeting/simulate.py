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

from jatigi.core.authz import Actor
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.targeting.model import Model
from jatigi.targeting.runs import Loaded, get_run
from jatigi.targeting.tables import Run, Score

SCORES: sa.Table = Score.__table__  # type: ignore[assignment]
HH: sa.Table = Household.__table__  # type: ignore[assignment]
DIMENSIONS = {"population_group": HH.c.population_group, "head_sex": HH.c.head_sex,
              "region": HH.c.current_admin1, "commune": HH.c.current_pcode}
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


def selection(session: Session, run_id: int, categories: tuple[str, ...],
              budget: Budget) -> tuple[ColumnElement[bool], ColumnElement[bool], float | None]:
    """(vulnerable, selected) as conditions on targeting_scores, and the cut-off score."""
    s = SCORES.c
    vulnerable = sa.and_(s.excluded.is_(False), s.category.in_(categories))
    cut = session.execute(sa.select(s.score, s.household_id).where(s.run_id == run_id, vulnerable)
                          .order_by(s.score.desc(), s.household_id).offset(budget.households - 1).limit(1)).first()
    if cut is None:
        return vulnerable, vulnerable, None
    score, household_id = cut
    chosen = sa.and_(vulnerable, sa.or_(s.score > score, sa.and_(s.score == score, s.household_id <= household_id)))
    return vulnerable, chosen, float(score)


def simulate(*, session: Session, actor: Actor, run_id: int, budget: Budget, categories: Sequence[str] | None = None,
             by: Sequence[str] = DEFAULT_BY) -> Simulation:
    run, loaded = get_run(session, actor, run_id)
    chosen = vulnerable_categories(loaded.model, categories)
    vulnerable, selected, cutoff = selection(session, run.id, chosen, budget)
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(_("Unknown breakdown {unknown}: use {known}.", unknown=", ".join(unknown),
                                 known=", ".join(DIMENSIONS)))
    criteria = len(loaded.model.criteria)
    sim = Simulation(run, loaded, budget, chosen,
                     groups(session, actor, run.id, criteria, vulnerable, selected, None)[0], cutoff)
    for dimension in by:
        sim.by[dimension] = groups(session, actor, run.id, criteria, vulnerable, selected, DIMENSIONS[dimension])
    return sim


def _flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def groups(session: Session, actor: Actor, run_id: int, criteria: int, vulnerable: ColumnElement[bool],
           selected: ColumnElement[bool], dimension: ColumnElement[Any] | None) -> list[Group]:
    """Counts per value of `dimension` (one overall group when None), over households still visible."""
    s = SCORES.c
    keys = [dimension] if dimension is not None else []
    query = (sa.select(*keys, sa.func.count(), _flag(s.not_assessed < criteria), _flag(vulnerable), _flag(selected))
             .select_from(SCORES.join(HH, HH.c.id == s.household_id))
             .where(s.run_id == run_id, *visibility(actor)))
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    rows: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(query)]
    if not keys:
        return [Group(None, *(int(n) for n in rows[0]))]
    return [Group(row[0], *(int(n) for n in row[1:])) for row in rows]


def selected_households(session: Session, actor: Actor, sim: Simulation) -> sa.Result[Any]:
    """The selected households in rank order: rank, code, score, category, place, group, size."""
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
