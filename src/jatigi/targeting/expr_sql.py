"""The model language compiled to SQLAlchemy Core, in SQL that SQLite, PostgreSQL and DuckDB share.

Household-level names read `columns`. Member aggregates (count_members, any_member) are all
computed in ONE grouped subquery over the members selectable — SUM(CASE WHEN cond THEN 1 ELSE 0
END) per distinct condition, GROUP BY household_id — which the caller LEFT JOINs once
(`SqlCompiler.join`). Missing values follow SQL: a comparison with NULL is NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement, FromClause, Subquery
from sqlalchemy.sql.functions import FunctionElement

from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _
from jatigi.targeting.expr_ast import Binary, Call, In, Literal, Name, Node, Unary, children, unparse

_TYPES: dict[str, Any] = {"number": sa.Float, "text": sa.String, "boolean": sa.Boolean, "date": sa.Date}


class Contains(FunctionElement[int]):
    """Where `needle` starts in the text of `haystack` (1-based, 0 when absent): case-sensitive everywhere."""

    type = sa.Integer()
    inherit_cache = True

    def __init__(self, haystack: ColumnElement[Any], needle: str) -> None:
        super().__init__(haystack, sa.literal(needle, sa.String))


@compiles(Contains)
def _contains(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"instr(CAST({haystack} AS TEXT), {needle})"


@compiles(Contains, "sqlite")
def _contains_sqlite(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"instr({haystack}, {needle})"  # JSON is stored as text


@compiles(Contains, "postgresql")
def _contains_postgresql(element: Contains, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"strpos(CAST({haystack} AS TEXT), {needle})"


def _literal(node: Literal) -> ColumnElement[Any]:
    if node.kind == "number":
        return sa.literal(node.value, sa.Integer if isinstance(node.value, int) else sa.Float)
    return sa.literal(node.value, _TYPES[node.kind])


class SqlCompiler:
    """Compiles checked trees; register every tree with `collect` before building the join."""

    def __init__(self, columns: Mapping[str, ColumnElement[Any]], members: FromClause | None = None,
                 member_key: str = "household_id") -> None:
        self.columns = columns
        self.members = members
        self.member_key = member_key
        self.conditions: dict[str, tuple[str, Node]] = {}  # condition text -> (column label, tree)
        self._subquery: Subquery | None = None

    def collect(self, nodes: Iterable[Node]) -> None:
        """Note the member aggregates of `nodes`: each distinct condition gets one column."""
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, Call) and node.func in ("count_members", "any_member"):
                key = unparse(node.args[0])
                if key not in self.conditions:
                    self.conditions[key] = (f"m{len(self.conditions)}", node.args[0])
                    self._subquery = None
                continue
            stack.extend(children(node))

    def subquery(self) -> Subquery | None:
        """household_id and one count per member condition; None when no aggregate is used."""
        if not self.conditions:
            return None
        if self._subquery is None:
            if self.members is None:
                raise JatigiError(_("This model counts members, but no members were given."))
            key = self.members.c[self.member_key]
            member_columns: dict[str, ColumnElement[Any]] = {column.key: column for column in self.members.c}
            counts = [
                sa.func.sum(sa.case((self._compile(tree, member_columns), 1), else_=0)).label(label)
                for label, tree in self.conditions.values()
            ]
            self._subquery = (
                sa.select(key.label("household_id"), *counts).group_by(key).subquery("member_counts")
            )
        return self._subquery

    def join(self, base: FromClause, household_id: ColumnElement[Any]) -> FromClause:
        """`base` LEFT JOIN the member counts (or `base` alone when the trees count no members)."""
        sub = self.subquery()
        return base if sub is None else base.outerjoin(sub, sub.c.household_id == household_id)

    def compile(self, node: Node) -> ColumnElement[Any]:
        """A household-level tree as a column expression."""
        return self._compile(node, self.columns)

    def _compile(self, node: Node, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, Name):
            if node.name not in columns:
                raise JatigiError(_("The field {name} is not available here.", name=node.name))
            return columns[node.name]
        if isinstance(node, Unary):
            operand = self._compile(node.operand, columns)
            return sa.not_(operand) if node.op == "not" else -operand
        if isinstance(node, Binary):
            return self._binary(node, columns)
        if isinstance(node, In):
            operand = self._compile(node.operand, columns)
            values = [item.value for item in node.items]
            return operand.not_in(values) if node.negated else operand.in_(values)
        return self._call(node, columns)

    def _binary(self, node: Binary, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        left, right = self._compile(node.left, columns), self._compile(node.right, columns)
        op = node.op
        if op == "and":
            return sa.and_(left, right)
        if op == "or":
            return sa.or_(left, right)
        if op == "/":
            return sa.cast(left, sa.Float) / sa.cast(sa.func.nullif(right, 0), sa.Float)
        operators = {
            "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        }
        result: ColumnElement[Any] = operators[op](left, right)
        return result

    def _call(self, node: Call, columns: Mapping[str, ColumnElement[Any]]) -> ColumnElement[Any]:
        if node.func in ("count_members", "any_member"):
            sub = self.subquery()
            assert sub is not None, "collect() the trees before compiling them"
            label, _tree = self.conditions[unparse(node.args[0])]
            count = sa.func.coalesce(sub.c[label], 0)
            return count if node.func == "count_members" else count > 0
        if node.func == "has":
            # A JSON array of codes, searched as text for "CODE" and "CODE-…"; a missing list has none.
            codes = self._compile(node.args[0], columns)
            found = [Contains(codes, f'"{arg.value}{end}') for arg in node.args[1:] if isinstance(arg, Literal)
                     for end in ('"', "-")]
            return sa.and_(codes.is_not(None), sa.or_(*[position > 0 for position in found]))
        if node.func == "has_any":
            # A JSON array holds a code when it holds a quoted string; a missing list has none.
            codes = self._compile(node.args[0], columns)
            return sa.and_(codes.is_not(None), Contains(codes, '"') > 0)
        if node.func == "is_missing":
            if isinstance(node.args[0], Literal):
                return sa.false()
            return sa.case((self._compile(node.args[0], columns).is_(None), sa.true()), else_=sa.false())
        values = [self._compile(arg, columns) for arg in node.args]
        if node.func == "coalesce":
            return sa.func.coalesce(*values)
        if node.func == "abs":
            return sa.func.abs(values[0])
        # min/max: NULL when any value is missing; else the first value that beats every later one.
        missing = sa.or_(*[value.is_(None) for value in values])
        whens: list[tuple[Any, Any]] = [(missing, sa.null())]
        for i, value in enumerate(values[:-1]):
            later = values[i + 1:]
            beats = [value <= other if node.func == "min" else value >= other for other in later]
            whens.append((sa.and_(*beats), value))
        return sa.case(*whens, else_=values[-1])
