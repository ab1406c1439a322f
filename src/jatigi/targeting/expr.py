"""The model language: parse a text, check it against the field catalogue, get an `Expression`.

    fcs_category == 'poor' and rcsi >= 19
    count_members(age < 5 or has(specific_needs, 'SM-MN')) >= 2
    min(rent_arrears_xof / max(monthly_rent_xof, 1), 6)

Numbers, 'texts', true/false, field names, + - * /, comparisons, and/or/not, `x in (...)`,
parentheses and a few functions; member fields only inside count_members()/any_member(). A
missing value makes a comparison unknown, as in SQL. Back-ends: `expr_sql.SqlCompiler` (set-wise)
and `expr_eval.evaluate` (one household in Python). No Python code is ever run from a model.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

from jatigi.core.i18n import _
from jatigi.targeting.expr_ast import (
    Binary,
    Call,
    ExprError,
    Fail,
    In,
    Literal,
    Name,
    Node,
    Unary,
    kind_name,
    to_error,
    unparse,
)
from jatigi.targeting.expr_parse import COMPARISONS, KEYWORDS, parse
from jatigi.targeting.fields import Catalogue, Field

__all__ = ["Expression", "ExprError", "FUNCTIONS", "parse_expression", "unparse"]

FUNCTIONS = {
    "min": "min(a, b, …)",
    "max": "max(a, b, …)",
    "coalesce": "coalesce(a, b, …)",
    "abs": "abs(a)",
    "is_missing": "is_missing(a)",
    "has": "has(list, 'CODE', …)",
    "has_any": "has_any(list)",
    "count_members": "count_members(condition)",
    "any_member": "any_member(condition)",
}
AGGREGATES = ("count_members", "any_member")
ARITHMETIC = ("+", "-", "*", "/")
ORDERING = ("<", "<=", ">", ">=")
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, typed tree, kind and the catalogue names it reads."""

    text: str
    node: Node
    kind: str
    fields: frozenset[str]


def parse_expression(text: str, catalogue: Catalogue, *, origin: tuple[int, int] = (1, 1),
                     expect: str | None = None) -> Expression:
    """Parse and type-check `text`; `origin` is the line and column where it starts in its file.

    Raises ExprError (line, column, reason) for any error.
    """
    try:
        checker = Checker(catalogue)
        node = checker.check(parse(text), None)
        if expect and node.kind != expect:
            raise Fail(_("Expected {expected} here, but this is {found}.", expected=kind_name(expect),
                         found=kind_name(node.kind)), 0)
    except Fail as fail:
        raise to_error(fail, text, origin) from None
    return Expression(text, node, node.kind, frozenset(checker.used))


@lru_cache(maxsize=256)
def _formula_tree(formula: str) -> Node:
    return parse(formula)


def _suggest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if close:
        return _("Unknown field {name}. Did you mean {suggestions}?", name=name, suggestions=", ".join(close))
    return _("Unknown field {name}.", name=name)


class Checker:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.used: set[str] = set()
        self.expanding: list[str] = []

    def check(self, node: Node, scope: str | None) -> Node:
        """The typed tree; `scope` is None at household level, else the member aggregate around it."""
        if isinstance(node, Literal):
            return node
        if isinstance(node, Name):
            return self.name(node, scope)
        if isinstance(node, Unary):
            operand = self.check(node.operand, scope)
            self.need(operand, "number" if node.op == "-" else "boolean", node.op)
            return replace(node, operand=operand, kind=operand.kind)
        if isinstance(node, Binary):
            return self.binary(node, scope)
        if isinstance(node, In):
            return self.membership(node, scope)
        return self.call(node, scope)

    def need(self, node: Node, kind: str, what: str) -> None:
        if node.kind != kind:
            raise Fail(_("{what} needs {expected}, but this is {found}.", what=what, expected=kind_name(kind),
                         found=kind_name(node.kind)), node.pos)

    def name(self, node: Name, scope: str | None) -> Node:
        if node.name in KEYWORDS or node.name in FUNCTIONS:
            raise Fail(_("{name} cannot be used as a field.", name=node.name), node.pos)
        field = self.catalogue.get(node.name)
        if field is None:
            raise Fail(_suggest(node.name, sorted(self.catalogue)), node.pos)
        if field.source == "member" and scope is None:
            raise Fail(_("{name} is a field of each member: use it inside count_members() or any_member().",
                         name=node.name), node.pos)
        if field.source != "member" and scope is not None:
            raise Fail(_("Only member fields can be used inside {function}(); {name} is not one.",
                         function=scope, name=node.name), node.pos)
        self.used.add(node.name)
        if field.formula is None:
            return replace(node, kind=field.kind)
        return self.expand(node, field, scope)

    def expand(self, node: Name, field: Field, scope: str | None) -> Node:
        if field.name in self.expanding:
            raise Fail(_("The formula of {name} refers to itself.", name=field.name), node.pos)
        self.expanding.append(field.name)
        try:
            expanded = self.check(_formula_tree(field.formula or ""), scope)
        except Fail as fail:
            raise Fail(_("The formula of {name} is wrong: {reason}", name=field.name, reason=fail.reason),
                       node.pos) from None
        finally:
            self.expanding.pop()
        if expanded.kind != field.kind:
            raise Fail(_("The formula of {name} is wrong: {reason}", name=field.name,
                         reason=kind_name(expanded.kind)), node.pos)
        return expanded

    def binary(self, node: Binary, scope: str | None) -> Node:
        left, right = self.check(node.left, scope), self.check(node.right, scope)
        if node.op in ARITHMETIC:
            self.need(left, "number", node.op)
            self.need(right, "number", node.op)
            return replace(node, left=left, right=right, kind="number")
        if node.op in ("and", "or"):
            self.need(left, "boolean", node.op)
            self.need(right, "boolean", node.op)
            return replace(node, left=left, right=right, kind="boolean")
        assert node.op in COMPARISONS
        left, right = self.as_date(left, right), self.as_date(right, left)
        if left.kind != right.kind or left.kind == "codes":
            raise Fail(_("Cannot compare {left} with {right}.", left=kind_name(left.kind),
                         right=kind_name(right.kind)), node.pos)
        if node.op in ORDERING and left.kind not in ("number", "date"):
            raise Fail(_("Only numbers and dates can be compared with {operator}.", operator=node.op), node.pos)
        self.choice(left, right)
        self.choice(right, left)
        return replace(node, left=left, right=right, kind="boolean")

    def as_date(self, node: Node, other: Node) -> Node:
        """A 'YYYY-MM-DD' text compared with a date becomes a date."""
        if other.kind != "date" or not isinstance(node, Literal) or node.kind != "text":
            return node
        try:
            return Literal(date.fromisoformat(str(node.value)), node.pos, "date")
        except ValueError:
            raise Fail(_("{value} is not a date written as YYYY-MM-DD.", value=str(node.value)), node.pos) from None

    def choice(self, field: Node, value: Node) -> None:
        if not isinstance(field, Name) or not isinstance(value, Literal) or value.kind != "text":
            return
        choices = self.catalogue[field.name].choices
        if choices is not None and value.value not in choices:
            raise Fail(_("{value} is not a value of {name}; its values are: {choices}.", value=str(value.value),
                         name=field.name, choices=", ".join(choices)), value.pos)

    def membership(self, node: In, scope: str | None) -> Node:
        operand = self.check(node.operand, scope)
        if operand.kind not in ("number", "text"):
            raise Fail(_("Only numbers and texts can be looked up in a list, but this is {found}.",
                         found=kind_name(operand.kind)), node.pos)
        for item in node.items:
            if item.kind != operand.kind:
                raise Fail(_("Cannot compare {left} with {right}.", left=kind_name(operand.kind),
                             right=kind_name(item.kind)), item.pos)
            self.choice(operand, item)
        return replace(node, operand=operand)

    def call(self, node: Call, scope: str | None) -> Node:
        usage = FUNCTIONS.get(node.func)
        if usage is None:
            raise Fail(_("Unknown function {name}. The functions are: {functions}.", name=node.func,
                         functions=", ".join(FUNCTIONS)), node.pos)
        wrong = _("{function}() is written {usage}.", function=node.func, usage=usage)
        variadic = node.func in ("min", "max", "coalesce", "has")
        if (variadic and len(node.args) < 2) or (not variadic and len(node.args) != 1):
            raise Fail(wrong, node.pos)
        if node.func in AGGREGATES:
            if scope is not None:
                raise Fail(_("{function}() cannot be used inside {outer}().", function=node.func, outer=scope),
                           node.pos)
            condition = self.check(node.args[0], node.func)
            self.need(condition, "boolean", node.func + "()")
            return replace(node, args=(condition,), kind="number" if node.func == "count_members" else "boolean")
        args = tuple(self.check(arg, scope) for arg in node.args)
        if node.func == "has":
            return self.has(node, args, wrong)
        if node.func == "has_any":
            if not isinstance(args[0], Name) or args[0].kind != "codes":
                raise Fail(wrong, node.pos)
            return replace(node, args=args, kind="boolean")
        if node.func == "is_missing":
            if args[0].kind == "codes":
                raise Fail(_("A missing list has none of the codes: use has() on it."), node.pos)
            return replace(node, args=args, kind="boolean")
        if node.func == "coalesce":
            kinds = {arg.kind for arg in args}
            if len(kinds) != 1 or "codes" in kinds:
                raise Fail(_("The values given to coalesce() must all be of the same kind."), node.pos)
            return replace(node, args=args, kind=args[0].kind)
        for arg in args:
            self.need(arg, "number", node.func + "()")
        return replace(node, args=args, kind="number")

    def has(self, node: Call, args: tuple[Node, ...], wrong: str) -> Node:
        target, codes = args[0], args[1:]
        if not isinstance(target, Name) or target.kind != "codes":
            raise Fail(wrong, node.pos)
        choices = self.catalogue[target.name].choices
        for code in codes:
            if not isinstance(code, Literal) or code.kind != "text" or not _CODE.match(str(code.value)):
                raise Fail(wrong, code.pos)
            if choices is not None and code.value not in choices:
                raise Fail(_("{value} is not a value of {name}; its values are: {choices}.", value=str(code.value),
                             name=target.name, choices=", ".join(choices)), code.pos)
        return replace(node, args=args, kind="boolean")
