"""The syntax tree of the model language, its errors, and printing a tree back as text.

Nodes are frozen dataclasses; `pos` is the character offset in the expression text and `kind`
(number, boolean, text, date, codes) is filled in by the type checker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Union

from jatigi.core.errors import JatigiError
from jatigi.core.i18n import N_, _

MAX_LENGTH = 5000
MAX_DEPTH = 60

KIND_NAMES = {
    "number": N_("a number"),
    "text": N_("a text"),
    "boolean": N_("a condition (true or false)"),
    "date": N_("a date"),
    "codes": N_("a list of codes"),
}


def kind_name(kind: str) -> str:
    return _(KIND_NAMES.get(kind, kind))


@dataclass(frozen=True)
class Literal:
    value: float | int | str | bool | date
    pos: int
    kind: str


@dataclass(frozen=True)
class Name:
    name: str
    pos: int
    kind: str = ""


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    pos: int
    kind: str = ""


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / < <= > >= == != and or
    left: Node
    right: Node
    pos: int
    kind: str = ""


@dataclass(frozen=True)
class In:
    operand: Node
    items: tuple[Literal, ...]
    negated: bool
    pos: int
    kind: str = "boolean"


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    pos: int
    kind: str = ""


Node = Union[Literal, Name, Unary, Binary, In, Call]  # noqa: UP007 (a runtime alias)


class Fail(Exception):
    """An error at an offset of the expression text; turned into an ExprError with line:column."""

    def __init__(self, reason: str, pos: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pos = pos


class ExprError(JatigiError):
    """A wrong expression: where (line and column in the model file) and why (translated)."""

    def __init__(self, reason: str, line: int, column: int) -> None:
        super().__init__(_("Line {line}, column {column}: {reason}", line=line, column=column, reason=reason))
        self.reason = reason
        self.line = line
        self.column = column


def locate(text: str, pos: int, origin: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Line and column of offset `pos` of `text`, when the text starts at `origin` in its file."""
    pos = max(0, min(pos, len(text)))
    newlines = text.count("\n", 0, pos)
    if not newlines:
        return origin[0], origin[1] + pos
    return origin[0] + newlines, pos - text.rfind("\n", 0, pos)


def to_error(fail: Fail, text: str, origin: tuple[int, int]) -> ExprError:
    line, column = locate(text, fail.pos, origin)
    return ExprError(fail.reason, line, column)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.items)
    if isinstance(node, Call):
        return node.args
    return ()


def depth(node: Node) -> int:
    """The depth of the tree, without recursion (the tree may come from a hostile text)."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def unparse(node: Node) -> str:
    """The tree as text in the model language, fully parenthesised (also a key for equal trees)."""
    if isinstance(node, Literal):
        if node.kind == "boolean":
            return "true" if node.value else "false"
        if node.kind in ("text", "date"):
            return quote(str(node.value))
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Unary):
        return f"({node.op} {unparse(node.operand)})" if node.op == "not" else f"(-{unparse(node.operand)})"
    if isinstance(node, Binary):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, In):
        items = ", ".join(unparse(item) for item in node.items)
        return f"({unparse(node.operand)} {'not in' if node.negated else 'in'} ({items}))"
    return f"{node.func}({', '.join(unparse(arg) for arg in node.args)})"
