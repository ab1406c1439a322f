"""What a model scores: one row per household in scope, with the fields the model reads.

A row holds the household's registry fields, the answers of its latest assessment and the
indicators computed from them, all in one SELECT (no Python per household). Only the columns a
model needs are read: the latest assessment is found with a window over the assessments, and
household size, dependants and working-age members default to the registry's members when the
assessment did not count them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import ColumnElement, Select

from jatigi.core.authz import Actor
from jatigi.registry import vocab
from jatigi.registry.models import Household, Person, SeparatedRelative
from jatigi.registry.service import visibility
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.fields import Catalogue, registry_members
from jatigi.targeting.indicators import IndicatorParams, base_indicators, base_needed, derived_indicators
from jatigi.targeting.model_score import fenced
from jatigi.targeting.tables import STORED_INPUTS, Score, assessments

HOUSEHOLDS = Household.__table__
PEOPLE = Person.__table__
# Counted from the registry's members when the assessment has no figure of its own.
FROM_MEMBERS = ("HHDependents", "HHWorkingAge")
CARRIED = ("household_version", "assessment_id")


@dataclass(frozen=True)
class Scope:
    """Which households: those the actor may see, optionally under one place (a P-code prefix),
    among given ids, or among those a run scored (`run_id`)."""

    actor: Actor
    place: str | None = None
    household_ids: tuple[int, ...] | None = None
    run_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conds = list(visibility(self.actor))
        if self.place:
            conds.append(Household.current_pcode.startswith(self.place.strip().upper(), autoescape=True))
        if self.household_ids is not None:
            conds.append(Household.id.in_(self.household_ids))
        if self.run_id is not None:
            scored = Score.__table__.c
            conds.append(Household.id.in_(sa.select(scored.household_id).where(scored.run_id == self.run_id)))
        return conds


def _inputs_of(expressions: Iterable[ColumnElement[Any]]) -> set[str]:
    """The assessment columns these expressions read."""
    names: set[str] = set()
    for expr in expressions:
        for element in visitors.iterate(expr):
            if isinstance(element, sa.Column) and element.table is assessments:
                names.add(element.name)
    return names


def _member_counts() -> Select[Any]:
    members = registry_members(PEOPLE, date.today()).subquery("counted")
    age = members.c.age
    working = sa.and_(age >= vocab.ADULT_AGE, age < 60)
    return (sa.select(members.c.household_id,
                      sa.func.sum(sa.case((sa.and_(age.is_not(None), sa.not_(working)), 1), else_=0))
                      .label("HHDependents"),
                      sa.func.sum(sa.case((working, 1), else_=0)).label("HHWorkingAge"))
            .group_by(members.c.household_id))


def scope_select(scope: Scope, names: Iterable[str], params: IndicatorParams,
                 catalogue: Catalogue | None = None) -> Select[Any]:
    """household_id, household_version, assessment_id and a column per name (household fields,
    assessment answers, indicators) for every household in scope.

    In two steps: the first reads the rows and computes the base indicators (scores, shares); the
    second derives categories and phases from those columns, each score computed once."""
    catalogue = catalogue or registry_catalogue()
    wanted = sorted(set(names))
    household = [n for n in wanted if catalogue[n].source == "household"]
    answers = [n for n in wanted if catalogue[n].source == "assessment"]
    indicator_names = {n for n in wanted if catalogue[n].source == "indicator"}
    base_names = base_needed(indicator_names)

    # Which answers the base indicators read, found on the plain table, then read from the latest.
    plain = base_indicators({v.name: assessments.c[v.name] for v in STORED_INPUTS}, base_names)
    read = sorted(_inputs_of(plain.values()) | set(answers))
    a = assessments.c
    latest = (sa.select(a.id, a.household_id, *[a[n] for n in read],
                        sa.func.row_number().over(partition_by=a.household_id,
                                                  order_by=(a.assessed_on.desc(), a.id.desc())).label("rn"))
              .where(a.deleted_at.is_(None)).subquery("latest"))
    h = HOUSEHOLDS.c
    joined = HOUSEHOLDS.outerjoin(latest, sa.and_(latest.c.household_id == h.id, latest.c.rn == 1))
    cols: dict[str, ColumnElement[Any]] = {n: latest.c[n] for n in read}
    if "HHSize" in cols:
        cols["HHSize"] = sa.func.coalesce(latest.c.HHSize, h.member_count)
    counted = [n for n in FROM_MEMBERS if n in cols]
    if counted:
        counts = _member_counts().subquery("member_counts")
        joined = joined.outerjoin(counts, counts.c.household_id == h.id)
        for n in counted:
            cols[n] = sa.func.coalesce(latest.c[n], counts.c[n])

    first: list[ColumnElement[Any]] = [h.id.label("household_id"), h.version.label("household_version"),
                                       latest.c.id.label("assessment_id")]
    first += [_separated().label(n) if n == "separated_relatives" else h[n].label(n) for n in household]
    first += [_typed(catalogue[n].kind, cols[n]).label(n) for n in answers]
    first += [expr.label(n) for n, expr in base_indicators(cols, base_names).items()]
    step = fenced(sa.select(*first).select_from(joined).where(*scope.conditions())).subquery("base")
    derived = derived_indicators({n: step.c[n] for n in base_names}, indicator_names, params)
    kept = [c for c in step.c if c.key in (*CARRIED, "household_id", *household, *answers, *indicator_names)]
    return sa.select(*kept, *[expr.label(n) for n, expr in derived.items()])


def _typed(kind: str, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Yes/no answers are stored as 0/1: compared with true/false as booleans (PostgreSQL insists)."""
    return sa.cast(column, sa.Boolean) if kind == "boolean" else column


def _separated() -> ColumnElement[Any]:
    r = SeparatedRelative.__table__.c
    return (sa.select(sa.func.count()).where(r.household_id == HOUSEHOLDS.c.id)
            .correlate(HOUSEHOLDS).scalar_subquery())


def members_select() -> Select[Any]:
    """The living members of every household, with every member field a model may read (each
    member's age computed once, not once per count that reads it)."""
    return registry_members(PEOPLE, date.today())
