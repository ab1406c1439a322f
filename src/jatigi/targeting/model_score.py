"""Scoring with a model: one SELECT over a scope of households, or one household in Python.

The SELECT has, per household: household_id; for each criterion `c_<id>` (its points, 0 when not
met or not assessed) and `na_<id>` (1 when its condition is unknown: "not assessed"); `score`;
`not_assessed` (how many criteria were not assessed); `excluded` (1/0) and `exclusion` (the id of
the first exclusion that applies); `category` (NULL for excluded households and for scores under
the lowest category). `score_household` gives the same for one household from Python values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select

from jatigi.targeting.expr_eval import evaluate
from jatigi.targeting.expr_sql import SqlCompiler
from jatigi.targeting.fields import Catalogue
from jatigi.targeting.model import Criterion, Model

Row = Mapping[str, Any]


def needed_columns(model: Model, catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """The columns the scope and the members selectable must have for `model` (derived fields excluded)."""
    stored = sorted(name for name in model.fields if catalogue[name].formula is None)
    return ([name for name in stored if catalogue[name].source != "member"],
            [name for name in stored if catalogue[name].source == "member"])


def contribution_column(criterion: Criterion) -> str:
    return f"c_{criterion.id}"


def not_assessed_column(criterion: Criterion) -> str:
    return f"na_{criterion.id}"


def _flag(condition: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.case((condition, 1), else_=0)


def _criterion_sql(criterion: Criterion, sql: SqlCompiler) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(contribution, not assessed) of one criterion."""
    when = sql.compile(criterion.when.node) if criterion.when is not None else None
    if criterion.score is None:
        assert when is not None and criterion.points is not None
        return sa.case((when, sa.literal(criterion.points, sa.Float)), else_=0.0), _flag(when.is_(None))
    value: ColumnElement[Any] = sa.cast(sql.compile(criterion.score.node), sa.Float)
    if criterion.cap is not None:
        cap = sa.literal(criterion.cap, sa.Float)
        value = sa.case((value > cap, cap), else_=value)
    if when is None:
        return sa.func.coalesce(value, 0.0), _flag(value.is_(None))
    return (sa.case((when, sa.func.coalesce(value, 0.0)), else_=0.0),
            _flag(sa.or_(when.is_(None), sa.and_(when, value.is_(None)))))


def fenced(select: Select[Any]) -> Select[Any]:
    """The same rows, computed once as a subquery: OFFSET 0 keeps SQLite and PostgreSQL from
    folding it into the outer query, which would copy each expression wherever its column is used."""
    return select.offset(0)


def score_select(model: Model, scope: FromClause, members: FromClause | None = None, *,
                 household_id: str = "household_id", carry: Sequence[str] = ()) -> Select[Any]:
    """The scoring SELECT over `scope` (one row per household, a column per household-level field).

    `members` has `household_id` and a column per member field; the member counts are computed in
    one grouped subquery LEFT JOINed once. Labels of the result are described in the module doc;
    the scope's columns named in `carry` are passed through. Each criterion is computed once per
    household (a first layer), then added up and categorised (a second).
    """
    sql = SqlCompiler({column.key: column for column in scope.c}, members)
    sql.collect(e.node for e in model.expressions())
    hid = scope.c[household_id]
    layer: list[ColumnElement[Any]] = [hid.label("household_id"), *(scope.c[name] for name in carry)]
    for criterion in model.criteria:
        value, unknown = _criterion_sql(criterion, sql)
        layer += [value.label(contribution_column(criterion)), unknown.label(not_assessed_column(criterion))]
    layer += [_flag(sql.compile(e.when.node)).label(f"x_{i}") for i, e in enumerate(model.exclusions)]
    first = fenced(sa.select(*layer).select_from(sql.join(scope, hid))).subquery("criteria")

    c = first.c
    score = sum((c[contribution_column(k)] for k in model.criteria[1:]), c[contribution_column(model.criteria[0])])
    unknowns = sum((c[not_assessed_column(k)] for k in model.criteria[1:]),
                   c[not_assessed_column(model.criteria[0])])
    flags = [c[f"x_{i}"] == 1 for i in range(len(model.exclusions))]
    excluded = sa.case(*[(flag, 1) for flag in flags], else_=0) if flags else sa.literal(0)
    exclusion = (sa.case(*[(flag, e.id) for flag, e in zip(flags, model.exclusions, strict=True)])
                 if flags else sa.null())
    second = fenced(sa.select(
        *(c[col.key] for col in first.c if not col.key.startswith("x_")),
        score.label("score"), unknowns.label("not_assessed"), excluded.label("excluded"),
        exclusion.label("exclusion"))).subquery("scored")
    t = second.c
    category = sa.case(*[(t.score >= k.min_score, k.name) for k in model.categories], else_=sa.null())
    return sa.select(*t, sa.case((t.excluded == 1, sa.null()), else_=category).label("category"))


@dataclass(frozen=True)
class HouseholdScore:
    contributions: dict[str, float]  # criterion id -> points
    not_assessed: tuple[str, ...]  # criterion ids whose condition or score is unknown
    score: float
    exclusion: str | None
    category: str | None


def _criterion_value(criterion: Criterion, row: Row, members: Sequence[Row]) -> tuple[float, bool]:
    when = evaluate(criterion.when.node, row, members) if criterion.when is not None else True
    if when is None:
        return 0.0, True
    if when is False:
        return 0.0, False
    if criterion.score is None:
        return float(criterion.points or 0.0), False
    value = evaluate(criterion.score.node, row, members)
    if value is None:
        return 0.0, True
    value = float(value)
    return (min(value, criterion.cap) if criterion.cap is not None else value), False


def score_household(model: Model, row: Row, members: Sequence[Row] = ()) -> HouseholdScore:
    """The same result as `score_select`, for one household, computed in Python."""
    contributions: dict[str, float] = {}
    unknown: list[str] = []
    for criterion in model.criteria:
        value, missing = _criterion_value(criterion, row, members)
        contributions[criterion.id] = value
        if missing:
            unknown.append(criterion.id)
    score = sum(contributions.values())
    exclusion = next((e.id for e in model.exclusions if evaluate(e.when.node, row, members) is True), None)
    category = None
    if exclusion is None:
        category = next((c.name for c in model.categories if score >= c.min_score), None)
    return HouseholdScore(contributions, tuple(unknown), score, exclusion, category)
