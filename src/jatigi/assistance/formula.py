"""Entitlement formulas as data: how much a household enrolled in a programme is due each month.

    [entitlement]  id, version, title = { fr, en }, description, uses_displacement_status,
                   base (FCFA per household per month), per_member (FCFA per living member),
                   max_members (members counted at most) — or amount = "<expression>" instead;
                   cap (the most a household gets), round_to (e.g. 100)
    [values]       named numbers the expressions may use, e.g. meb_per_person = 32000
    [[top_up]]     id, label = { fr, en }, when = "<condition>" (optional),
                   amount = a number of FCFA or "<expression>"

Expressions are in the targeting language (`targeting.expr`) over the registry's field catalogue
(household fields, member counts with count_members(), the latest assessment and its
indicators). A named value is a field whose formula is its number, so both back-ends read it
alike. A wrong formula is refused as a whole, each problem with its line (and column) and reason
(`FormulaError`). How an amount is computed from a formula is in `assistance.entitlement`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jatigi.core.errors import JatigiError
from jatigi.core.i18n import N_, _
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.expr import ExprError, Expression, parse_expression
from jatigi.targeting.fields import Catalogue, Field
from jatigi.targeting.model import Labels, Problem
from jatigi.targeting.model_toml import Locator

__all__ = ["Formula", "FormulaError", "TopUp", "catalogue_with", "load_formula", "load_formula_file",
           "shipped_formulas"]

SHIPPED = Path(__file__).parent / "formulas"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
MAX_FCFA = 10**9  # a month's entitlement above a thousand million FCFA is a typing slip
MAX_MEMBERS = 100
HEAD_KEYS = ("id", "version", "title", "description", "uses_displacement_status", "base", "per_member",
             "max_members", "amount", "cap", "round_to")
TOP_UP_KEYS = ("id", "label", "when", "amount")
SECTIONS = ("entitlement", "values", "top_up")
# What the members counted by per_member are: every living member (the registry's members are
# those neither removed nor deceased).
MEMBERS_COUNTED = "count_members(true)"
COMPONENT_LABELS = {
    "base": N_("Base amount per household"),
    "members": N_("Amount per member"),
    "amount": N_("Amount computed by the formula"),
}


@dataclass(frozen=True)
class TopUp:
    id: str
    label: Labels
    when: Expression | None
    amount: Expression | None  # an expression, or
    fixed: int | None  # a number of FCFA


@dataclass(frozen=True)
class Formula:
    text: str
    id: str
    version: int
    title: Labels
    description: Labels | None
    uses_displacement_status: bool
    base: int | None
    per_member: int | None
    max_members: int | None
    amount: Expression | None
    cap: int | None
    round_to: int | None
    top_ups: tuple[TopUp, ...]
    values: dict[str, float] = field(default_factory=dict)
    members: Expression | None = None  # how per_member counts members (set when per_member is given)
    status_fields: tuple[str, ...] = ()

    def expressions(self) -> list[Expression]:
        found = [e for e in (self.amount, self.members) if e is not None]
        return found + [e for t in self.top_ups for e in (t.when, t.amount) if e is not None]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset().union(*(e.fields for e in self.expressions()))

    @property
    def catalogue(self) -> Catalogue:
        return catalogue_with(self.values)


class FormulaError(JatigiError):
    status_code = 422

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def shipped_formulas() -> dict[str, Path]:
    """The example formulas that come with Jatigi, by file name without .toml."""
    return {path.stem: path for path in sorted(SHIPPED.glob("*.toml"))}


def _number_text(value: float) -> str:
    """A number as the expression language writes it (no exponent)."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.12f}".rstrip("0")


def catalogue_with(values: dict[str, float]) -> Catalogue:
    """The registry's field catalogue plus the formula's named values."""
    extra = {name: Field(name, "number", "household", name, formula=_number_text(value))
             for name, value in values.items()}
    return {**registry_catalogue(), **extra}


def load_formula_file(path: Path) -> Formula:
    return load_formula(path.read_text(encoding="utf-8"))


def load_formula(text: str) -> Formula:
    """The checked formula, or FormulaError listing every problem with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        at = _AT.search(detail)
        line, column = (int(at.group(1)), int(at.group(2))) if at else (1, None)
        raise FormulaError([Problem(line, "", _("This is not valid TOML: {detail}.", detail=_AT.sub("", detail)),
                                    column)]) from None
    except RecursionError:
        raise FormulaError([Problem(1, "", _("This text nests lists or tables too deeply to be a formula."))]) \
            from None
    return _Loader(text).formula(data)


class _Loader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.where = Locator(text)
        self.problems: list[Problem] = []
        self.catalogue: Catalogue = registry_catalogue()
        self.checked: list[tuple[str, int, str, Expression]] = []

    def problem(self, section: str, index: int, key: str, reason: str, path: str | None = None) -> None:
        line, column = self.where.key(section, index, key) if key else (self.where.section(section, index)[0], 1)
        self.problems.append(Problem(line, path or _path(section, index, key), reason, column if key else None))

    def formula(self, data: dict[str, Any]) -> Formula:
        for key in data:
            if key not in SECTIONS:
                self.problem("", 0, "", _("Unknown key {key}; the keys here are: {keys}.", key=key,
                                            keys=", ".join(SECTIONS)), key)
        head = data.get("entitlement")
        if not isinstance(head, dict):
            self.problem("", 0, "", _("An [entitlement] table is required."), "entitlement")
            raise FormulaError(self.problems)
        self.known(head, "entitlement", 0, HEAD_KEYS)
        values = self.values(data.get("values", {}))
        self.catalogue = catalogue_with(values)
        declared = head.get("uses_displacement_status", False)
        if not isinstance(declared, bool):
            self.problem("entitlement", 0, "uses_displacement_status", _("Expected true or false."))
            declared = False
        base, per_member, max_members, amount = self.main(head)
        cap = self.money(head, "entitlement", 0, "cap", minimum=1)
        round_to = self.money(head, "entitlement", 0, "round_to", minimum=1)
        if round_to is not None and round_to > 100_000:
            self.problem("entitlement", 0, "round_to", _("Round to at most 100000 FCFA."))
        items = data.get("top_up", [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            self.problem("", 0, "", _("Write each top-up as a [[top_up]] table."), "top_up")
            items = []
        top_ups = [self.top_up(item, i) for i, item in enumerate(items)]
        self.unique([item.get("id") for item in items])
        members = None
        if per_member is not None:
            members = parse_expression(MEMBERS_COUNTED, self.catalogue, expect="number")
        formula = Formula(
            text=self.text, id=self.ident(head, "entitlement", 0, "id"), version=self.version(head),
            title=self.labels(head, "entitlement", 0, "title", required=True) or Labels("", ""),
            description=self.labels(head, "entitlement", 0, "description", required=False),
            uses_displacement_status=declared, base=base, per_member=per_member, max_members=max_members,
            amount=amount, cap=cap, round_to=round_to, top_ups=tuple(t for t in top_ups if t),
            values=values, members=members, status_fields=self.status(declared))
        if self.problems:
            raise FormulaError(sorted(self.problems, key=lambda p: (p.line, p.column or 0)))
        return formula

    # --- keys ----------------------------------------------------------------------------------

    def known(self, item: dict[str, Any], section: str, index: int, keys: tuple[str, ...]) -> None:
        for key in item:
            if key not in keys:
                self.problem(section, index, key, _("Unknown key {key}; the keys here are: {keys}.", key=key,
                                                    keys=", ".join(keys)))

    def ident(self, item: dict[str, Any], section: str, index: int, key: str) -> str:
        value = item.get(key)
        if value is None:
            self.problem(section, index, "", _("{key} is required.", key=key), _path(section, index, key))
            return ""
        if not isinstance(value, str) or not _ID.match(value):
            self.problem(section, index, key, _("Use 1 to 40 lower-case letters, digits and _, starting with a "
                                                "letter."))
            return ""
        return value

    def version(self, head: dict[str, Any]) -> int:
        value = head.get("version", 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem("entitlement", 0, "version", _("Expected a whole number from 1."))
            return 1
        return value

    def money(self, item: dict[str, Any], section: str, index: int, key: str, minimum: int = 0,
              maximum: int = MAX_FCFA) -> int | None:
        """A whole number of FCFA (or of members) in [minimum, maximum], or None when absent."""
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.problem(section, index, key, _("Expected a whole number from {minimum} to {maximum}.",
                                                minimum=minimum, maximum=maximum))
            return None
        return value

    def labels(self, item: dict[str, Any], section: str, index: int, key: str, required: bool) -> Labels | None:
        value = item.get(key)
        if value is None:
            if required:
                self.problem(section, index, "", _("{key} is required.", key=key), _path(section, index, key))
            return None
        if isinstance(value, dict) and set(value) == {"fr", "en"} and all(
                isinstance(v, str) and v.strip() for v in value.values()):
            return Labels(fr=value["fr"], en=value["en"])
        self.problem(section, index, key, _('Expected a French and an English text: fr = "…", en = "…".'))
        return None

    def expression(self, item: dict[str, Any], section: str, index: int, key: str, kind: str) -> Expression | None:
        value = item.get(key)
        if not isinstance(value, str):
            self.problem(section, index, key, _("Expected an expression in quotes."))
            return None
        try:
            expression = parse_expression(value, self.catalogue, expect=kind,
                                          origin=self.where.string_origin(section, index, key))
        except ExprError as exc:
            self.problems.append(Problem(exc.line, _path(section, index, key), exc.reason, exc.column))
            return None
        self.checked.append((section, index, key, expression))
        return expression

    # --- parts ---------------------------------------------------------------------------------

    def values(self, table: Any) -> dict[str, float]:
        if not isinstance(table, dict):
            self.problem("", 0, "", _("Write the named values as a [values] table of numbers."), "values")
            return {}
        found: dict[str, float] = {}
        for name, value in table.items():
            if not isinstance(name, str) or not _ID.match(name):
                self.problem("values", 0, name, _("Use 1 to 40 lower-case letters, digits and _, starting with a "
                                                  "letter."))
            elif name in self.catalogue:
                self.problem("values", 0, name, _("{name} is already a field: choose another name.", name=name))
            elif isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > MAX_FCFA:
                self.problem("values", 0, name, _("Expected a number."))
            else:
                found[name] = float(value)
        return found

    def main(self, head: dict[str, Any]) -> tuple[int | None, int | None, int | None, Expression | None]:
        """base, per_member, max_members or the amount expression."""
        base = self.money(head, "entitlement", 0, "base")
        per_member = self.money(head, "entitlement", 0, "per_member")
        max_members = self.money(head, "entitlement", 0, "max_members", minimum=1, maximum=MAX_MEMBERS)
        has_amount, has_base = "amount" in head, "base" in head or "per_member" in head
        if has_amount and (has_base or "max_members" in head):
            self.problem("entitlement", 0, "amount", _("Give either amount or base (with per_member), not both."))
        elif not has_amount and not has_base:
            self.problem("entitlement", 0, "", _("Give base (FCFA per household per month), per_member, or an "
                                                 "amount expression."), "entitlement.base")
        if "max_members" in head and "per_member" not in head:
            self.problem("entitlement", 0, "max_members", _("max_members needs per_member."))
        amount = self.expression(head, "entitlement", 0, "amount", "number") if has_amount else None
        if has_base and base is None and "base" not in head:
            base = 0
        return base, per_member, max_members, amount

    def top_up(self, item: dict[str, Any], i: int) -> TopUp | None:
        before = len(self.problems)
        self.known(item, "top_up", i, TOP_UP_KEYS)
        ident = self.ident(item, "top_up", i, "id")
        label = self.labels(item, "top_up", i, "label", required=True)
        when = self.expression(item, "top_up", i, "when", "boolean") if "when" in item else None
        amount: Expression | None = None
        fixed: int | None = None
        value = item.get("amount")
        if value is None:
            self.problem("top_up", i, "", _("amount is required: a number of FCFA or an expression."),
                         _path("top_up", i, "amount"))
        elif isinstance(value, str):
            amount = self.expression(item, "top_up", i, "amount", "number")
        else:
            fixed = self.money(item, "top_up", i, "amount")
        if len(self.problems) > before or label is None:
            return None
        return TopUp(ident, label, when, amount, fixed)

    def unique(self, names: list[Any]) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if isinstance(name, str) and name in seen:
                self.problem("top_up", i, "id", _("{name} is used twice.", name=name))
            seen.add(str(name))

    def status(self, declared: bool) -> tuple[str, ...]:
        """The displacement-status fields read; each is a problem unless the formula declares it."""
        found: set[str] = set()
        for section, index, key, expression in self.checked:
            for name in sorted(n for n in expression.fields if self.catalogue[n].status):
                found.add(name)
                if not declared:
                    line, column = self.where.key(section, index, key)
                    self.problems.append(Problem(line, _path(section, index, key), _(
                        "{name} tells displacement status: a formula may use it only when [entitlement] "
                        "declares uses_displacement_status = true.", name=name), column))
        return tuple(sorted(found))


def _path(section: str, index: int, key: str) -> str:
    """How a key is named in a problem: entitlement.cap, top_up[2].when (items counted from 1)."""
    if section in ("", "entitlement", "values"):
        return ".".join(part for part in (section, key) if part)
    return f"{section}[{index + 1}]" + (f".{key}" if key else "")
