"""The model language evaluated for one household in plain Python, with SQL's missing values.

`None` is "unknown": a comparison or arithmetic with it is unknown; `and` is false if either side
is false, `or` true if either side is true, otherwise unknown. This is the straightforward
per-household evaluation the benchmark compares with the SQL, and the tests' cross-check of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jatigi.targeting.expr_ast import Binary, Call, In, Literal, Name, Node, Unary

Row = Mapping[str, Any]


def evaluate(node: Node, row: Row, members: Sequence[Row] = ()) -> Any:
    """The value of a checked tree for `row` (household fields) and its `members`."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return _read(row.get(node.name), node.kind)
    if isinstance(node, Unary):
        value = evaluate(node.operand, row, members)
        if value is None:
            return None
        return (not value) if node.op == "not" else -value
    if isinstance(node, Binary):
        return _binary(node, row, members)
    if isinstance(node, In):
        value = evaluate(node.operand, row, members)
        if value is None:
            return None
        return (value in [item.value for item in node.items]) != node.negated
    return _call(node, row, members)


def _read(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "number":
        return float(value) if isinstance(value, Decimal) else value
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if kind == "codes":
        return json.loads(value) if isinstance(value, str) else value
    return value


def _binary(node: Binary, row: Row, members: Sequence[Row]) -> Any:
    left = evaluate(node.left, row, members)
    if node.op == "and" and left is False:
        return False
    if node.op == "or" and left is True:
        return True
    right = evaluate(node.right, row, members)
    if node.op == "and":
        return False if right is False else (None if left is None or right is None else True)
    if node.op == "or":
        return True if right is True else (None if left is None or right is None else False)
    if left is None or right is None:
        return None
    op = node.op
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        return None if right == 0 else float(left) / float(right)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def has_code(values: Sequence[str] | None, codes: Sequence[str]) -> bool:
    """Whether a list holds one of `codes` or one of their sub-codes ('SC' finds 'SC-UC'); never unknown."""
    if not values:
        return False
    return any(value == code or value.startswith(code + "-") for value in map(str, values) for code in codes)


def _call(node: Call, row: Row, members: Sequence[Row]) -> Any:
    if node.func in ("count_members", "any_member"):
        count = sum(1 for member in members if evaluate(node.args[0], member) is True)
        return count if node.func == "count_members" else count > 0
    if node.func == "has":
        values = evaluate(node.args[0], row, members)
        return has_code(values, [str(arg.value) for arg in node.args[1:] if isinstance(arg, Literal)])
    if node.func == "has_any":
        return bool(evaluate(node.args[0], row, members))
    values = [evaluate(arg, row, members) for arg in node.args]
    if node.func == "is_missing":
        return values[0] is None
    if node.func == "coalesce":
        return next((value for value in values if value is not None), None)
    if any(value is None for value in values):
        return None
    if node.func == "abs":
        return abs(values[0])
    return min(values) if node.func == "min" else max(values)
