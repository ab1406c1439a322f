"""Reading the model language: a tokenizer and a Pratt parser producing `expr_ast` nodes.

Nothing here runs Python code: the text is cut into numbers, 'texts', names, keywords and a few
operators; anything else is refused with its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jatigi.core.i18n import _
from jatigi.targeting.expr_ast import (
    MAX_DEPTH,
    MAX_LENGTH,
    Binary,
    Call,
    Fail,
    In,
    Literal,
    Name,
    Node,
    Unary,
    depth,
)

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
BINDING = {"or": 10, "and": 20, **dict.fromkeys(COMPARISONS, 40), "in": 40, "+": 50, "-": 50, "*": 60, "/": 60}
NOT_POWER = 30
NEGATE_POWER = 70
MAX_DIGITS = 15
MAX_TEXT = 500

_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,)|(?P<quote>')"
)


@dataclass(frozen=True)
class Token:
    type: str  # number, text, name, keyword, op, end
    text: str
    pos: int


def describe(token: Token) -> str:
    if token.type == "end":
        return _("the end of the expression")
    if token.type == "text":
        return "'" + token.text + "'"
    return token.text


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            if char == "=":
                raise Fail(_("Use == to compare, not =."), pos)
            if char == '"':
                raise Fail(_("Write texts between single quotes, such as 'poor'."), pos)
            raise Fail(_("Unexpected character {char}.", char=repr(char)), pos)
        kind = match.lastgroup or ""
        if kind == "quote":
            end, value = _read_text(text, pos)
            tokens.append(Token("text", value, pos))
            pos = end
            continue
        if kind == "number" and len(match.group().replace(".", "")) > MAX_DIGITS:
            raise Fail(_("The number {number} is too long.", number=match.group()[:20]), pos)
        if kind == "name" and match.group() in KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _read_text(text: str, start: int) -> tuple[int, str]:
    """A 'text' from the quote at `start`; two quotes inside stand for one."""
    parts: list[str] = []
    pos = start + 1
    while True:
        end = text.find("'", pos)
        if end < 0 or "\n" in text[pos:end]:
            raise Fail(_("A text is not closed: a ' is missing."), start)
        parts.append(text[pos:end])
        if text.startswith("''", end):
            parts.append("'")
            pos = end + 2
            continue
        value = "".join(parts)
        if len(value) > MAX_TEXT:
            raise Fail(_("The text is too long (more than {limit} characters).", limit=MAX_TEXT), start)
        return end + 1, value


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0
        self.level = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.at += 1
        return token

    def expect(self, op: str) -> Token:
        token = self.take()
        if token.type != "op" or token.text != op:
            raise Fail(_("Expected {expected}, found {found}.", expected=op, found=describe(token)), token.pos)
        return token

    def power(self, token: Token) -> int:
        if token.type == "keyword" and token.text == "not" and self.peek(1).text == "in":
            return BINDING["in"]
        if token.type in ("op", "keyword"):
            return BINDING.get(token.text, 0)
        return 0

    def expression(self, rbp: int = 0) -> Node:
        self.level += 1
        if self.level > MAX_DEPTH:
            raise Fail(_("The expression is too deeply nested (more than {limit} levels).", limit=MAX_DEPTH),
                       self.peek().pos)
        left = self.prefix()
        while rbp < self.power(self.peek()):
            left = self.infix(left)
        self.level -= 1
        return left

    def prefix(self) -> Node:
        token = self.take()
        if token.type == "number":
            value = float(token.text) if "." in token.text else int(token.text)
            return Literal(value, token.pos, "number")
        if token.type == "text":
            return Literal(token.text, token.pos, "text")
        if token.type == "keyword" and token.text in ("true", "false"):
            return Literal(token.text == "true", token.pos, "boolean")
        if token.type == "name":
            if self.peek().text == "(" and self.peek().type == "op":
                return self.call(token)
            return Name(token.text, token.pos)
        if token.type == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.type == "op" and token.text == "-":
            operand = self.expression(NEGATE_POWER)
            if isinstance(operand, Literal) and operand.kind == "number" and not isinstance(operand.value, bool):
                return Literal(-operand.value, token.pos, "number")  # type: ignore[operator]
            return Unary("-", operand, token.pos)
        if token.type == "keyword" and token.text == "not":
            return Unary("not", self.expression(NOT_POWER), token.pos)
        raise Fail(_("Expected a value, found {found}.", found=describe(token)), token.pos)

    def call(self, name: Token) -> Call:
        self.expect("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.expression())
            while self.peek().type == "op" and self.peek().text == ",":
                self.take()
                args.append(self.expression())
        self.expect(")")
        return Call(name.text, tuple(args), name.pos)

    def infix(self, left: Node) -> Node:
        token = self.take()
        if token.text in ("in", "not"):
            if token.text == "not":
                self.take()
            node: Node = In(left, self.items(), token.text == "not", token.pos)
        else:
            right = self.expression(BINDING[token.text])
            node = Binary(token.text, left, right, token.pos)
        if BINDING[token.text if token.text != "not" else "in"] == 40 and self.power(self.peek()) == 40:
            raise Fail(_("Comparisons cannot be chained: join them with and."), self.peek().pos)
        return node

    def items(self) -> tuple[Literal, ...]:
        token = self.peek()
        if token.type != "op" or token.text != "(":
            raise Fail(_("After in, write a list in parentheses, such as ('a', 'b')."), token.pos)
        self.take()
        items: list[Literal] = []
        while True:
            item = self.prefix()
            if not isinstance(item, Literal) or item.kind not in ("number", "text"):
                raise Fail(_("The list after in may hold only numbers and texts in quotes."), item.pos)
            items.append(item)
            if self.peek().text != ",":
                break
            self.take()
        self.expect(")")
        return tuple(items)


def parse(text: str) -> Node:
    """The syntax tree of `text`, or Fail with the offset and the reason."""
    if len(text) > MAX_LENGTH:
        raise Fail(_("The expression is too long (more than {limit} characters).", limit=MAX_LENGTH), MAX_LENGTH)
    if not text.strip():
        raise Fail(_("The expression is empty."), 0)
    parser = Parser(text)
    node = parser.expression()
    end = parser.peek()
    if end.type != "end":
        raise Fail(_("Unexpected {found}.", found=describe(end)), end.pos)
    if depth(node) > MAX_DEPTH:
        raise Fail(_("The expression is too deeply nested (more than {limit} levels).", limit=MAX_DEPTH), 0)
    return node
