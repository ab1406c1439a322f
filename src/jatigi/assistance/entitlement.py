"""Computing entitlements: set-wise in SQL for a cycle, or for one household in Python to explain it.

For each household: the main amount (base + per_member × members counted, at most max_members;
or the amount expression), plus each top-up whose condition is met (a condition that cannot be
told — a value missing — is not met; a missing top-up amount adds nothing). The total is capped,
never below zero, and rounded to the nearest multiple of round_to (half up; under the cap when
rounding up would pass it). When the amount expression cannot be computed (a value it reads is
missing), the entitlement is zero. Amounts are whole FCFA.

The SELECT (`entitlement_select`) gives per household: household_id, `c_main` and a `t_<id>`
column per top-up, `total` (before cap and rounding) and `amount` (a whole number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select
from sqlalchemy.sql.functions import FunctionElement

from jatigi.assistance.formula import COMPONENT_LABELS, Formula, TopUp
from jatigi.core import audit
from jatigi.core.authz import SYSTEM, Actor
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.service import get_visible
from jatigi.targeting import params as params_
from jatigi.targeting.expr_eval import evaluate
from jatigi.targeting.expr_sql import SqlCompiler
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.model_score import fenced
from jatigi.targeting.scope import PEOPLE, Scope, members_select, scope_select

Row = Mapping[str, Any]


class Floor(FunctionElement[int]):
    """The whole part of a number that is never negative, as a BIGINT."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(Floor)
def _floor(element: Floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS BIGINT)"


@compiles(Floor, "sqlite")
def _floor_sqlite(element: Floor, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"  # truncates: the same for x >= 0


def top_up_column(top_up: TopUp) -> str:
    return f"t_{top_up.id}"


def needed_columns(formula: Formula) -> tuple[list[str], list[str]]:
    """The household-level and member columns the scope and the members must have."""
    catalogue = formula.catalogue
    stored = sorted(name for name in formula.fields if catalogue[name].formula is None)
    return ([name for name in stored if catalogue[name].source != "member"],
            [name for name in stored if catalogue[name].source == "member"])


def _main_sql(formula: Formula, sql: SqlCompiler) -> ColumnElement[Any]:
    if formula.amount is not None:
        return sa.cast(sql.compile(formula.amount.node), sa.Float)
    main: ColumnElement[Any] = sa.literal(formula.base or 0, sa.BigInteger)
    if formula.per_member and formula.members is not None:
        counted = sql.compile(formula.members.node)
        if formula.max_members is not None:
            counted = sa.case((counted > formula.max_members, formula.max_members), else_=counted)
        main = main + sa.literal(formula.per_member, sa.BigInteger) * counted
    return main


def _top_up_sql(top_up: TopUp, sql: SqlCompiler) -> ColumnElement[Any]:
    if top_up.amount is not None:
        value: ColumnElement[Any] = sa.func.coalesce(sa.cast(sql.compile(top_up.amount.node), sa.Float), 0.0)
    else:
        value = sa.literal(top_up.fixed or 0, sa.BigInteger)
    if top_up.when is None:
        return value
    return sa.case((sql.compile(top_up.when.node), value), else_=0)


def _rounded_sql(formula: Formula, total: ColumnElement[Any]) -> ColumnElement[Any]:
    capped = total if formula.cap is None else sa.case((total > formula.cap, formula.cap), else_=total)
    positive = sa.case((capped > 0, sa.cast(capped, sa.Float)), else_=0.0)
    step = formula.round_to or 1
    amount: ColumnElement[Any] = Floor(positive / float(step) + 0.5) * step
    if formula.cap is not None and formula.round_to:
        amount = sa.case((amount > formula.cap, (formula.cap // step) * step), else_=amount)
    return amount


def entitlement_select(formula: Formula, scope: FromClause, members: FromClause | None = None, *,
                       household_id: str = "household_id") -> Select[Any]:
    """Each household's parts and amount (see the module doc), over `scope` (one row per household
    with a column per household-level field the formula reads) and `members`."""
    sql = SqlCompiler({column.key: column for column in scope.c}, members)
    sql.collect(e.node for e in formula.expressions())
    hid = scope.c[household_id]
    layer: list[ColumnElement[Any]] = [hid.label("household_id"), _main_sql(formula, sql).label("c_main")]
    layer += [_top_up_sql(t, sql).label(top_up_column(t)) for t in formula.top_ups]
    first = fenced(sa.select(*layer).select_from(sql.join(scope, hid))).subquery("entitlement_parts")
    c = first.c
    total = sum((c[top_up_column(t)] for t in formula.top_ups), c.c_main)
    return sa.select(*c, total.label("total"), _rounded_sql(formula, total).label("amount"))


# --- One household, in Python ------------------------------------------------------------------

@dataclass(frozen=True)
class Component:
    id: str  # "base", "members", "amount" or a top-up's id
    label: str  # in the reader's language
    amount: float | None  # None: not assessed (a value it reads is missing)
    applies: bool | None = True  # a top-up: whether its condition is met (None: cannot be told)
    detail: str = ""  # members counted, the condition


@dataclass(frozen=True)
class Entitlement:
    components: tuple[Component, ...]
    total: float | None  # before the cap and rounding; None when the main amount is not assessed
    capped: bool
    amount: int


def round_amount(formula: Formula, total: float | None) -> tuple[int, bool]:
    """The whole amount of a total, and whether the cap cut it."""
    if total is None:
        return 0, False
    capped = formula.cap is not None and total > formula.cap
    value = float(formula.cap) if capped and formula.cap is not None else float(total)
    if value <= 0:
        return 0, capped
    step = formula.round_to or 1
    amount = math.floor(value / float(step) + 0.5) * step
    if formula.cap is not None and formula.round_to and amount > formula.cap:
        amount = (formula.cap // step) * step
    return int(amount), capped


def compute(formula: Formula, row: Row, members: Sequence[Row] = ()) -> Entitlement:
    """The same amount as `entitlement_select`, for one household, with each component."""
    parts: list[Component] = []
    if formula.amount is not None:
        value = evaluate(formula.amount.node, row, members)
        parts.append(Component("amount", _(COMPONENT_LABELS["amount"]), None if value is None else float(value),
                               detail=formula.amount.text))
        main = None if value is None else float(value)
    else:
        parts.append(Component("base", _(COMPONENT_LABELS["base"]), float(formula.base or 0)))
        main = float(formula.base or 0)
        if formula.per_member and formula.members is not None:
            counted = int(evaluate(formula.members.node, row, members) or 0)
            if formula.max_members is not None:
                counted = min(counted, formula.max_members)
            parts.append(Component("members", _(COMPONENT_LABELS["members"]), float(formula.per_member * counted),
                                   detail=_("{n} × {amount}", n=counted, amount=formula.per_member)))
            main += formula.per_member * counted
    total = main
    for top_up in formula.top_ups:
        applies = True if top_up.when is None else evaluate(top_up.when.node, row, members)
        value = 0.0
        if applies is True:
            found = evaluate(top_up.amount.node, row, members) if top_up.amount is not None else top_up.fixed
            value = float(found or 0)
        parts.append(Component(top_up.id, top_up.label.get(), value, applies,
                               top_up.when.text if top_up.when is not None else ""))
        if total is not None:
            total += value
    amount, capped = round_amount(formula, total)
    return Entitlement(tuple(parts), total, capped, amount)



# --- Over the registry -------------------------------------------------------------------------

@dataclass(frozen=True)
class Among(Scope):
    """The households whose ids `ids` (a SELECT of ids) gives, whoever registered them, deleted or not:
    a programme computes what its enrolled households are due; who may see them is checked on enrolment."""

    ids: Any = None

    def conditions(self) -> list[ColumnElement[bool]]:
        return [Household.id.in_(self.ids)]


def amounts_query(formula: Formula, ids: Select[Any], params: IndicatorParams | None = None) -> Select[Any]:
    """The entitlement SELECT over the households `ids` selects (see `entitlement_select`)."""
    names, _members = needed_columns(formula)
    inner = fenced(scope_select(Among(SYSTEM, ids=ids), names, params or params_.registry_params(),
                                formula.catalogue)).subquery("scope")
    return entitlement_select(formula, inner, members_select().subquery("members"))


@dataclass(frozen=True)
class Explanation:
    household: Household
    formula: Formula
    entitlement: Entitlement
    values: dict[str, Any]  # the fields the formula reads, as they are now


def explain(*, session: Session, actor: Actor, formula: Formula, code: str,
            params: IndicatorParams | None = None) -> Explanation:
    """Each component of one household's amount, computed in Python from its values as they are now."""
    hh = get_visible(session, actor, code)
    names, _members = needed_columns(formula)
    row = session.execute(scope_select(Scope(actor, household_ids=(hh.id,)), names,
                                       params or params_.registry_params(), formula.catalogue)).mappings().one()
    members = session.execute(members_select().where(PEOPLE.c.household_id == hh.id)).mappings().all()
    result = compute(formula, dict(row), [dict(m) for m in members])
    audit.record(session, actor, "assistance.entitlement.explain", "household", hh.code,
                 {"formula": f"{formula.id}@{formula.version}", "amount": result.amount})
    return Explanation(hh, formula, result, {name: row[name] for name in names})
