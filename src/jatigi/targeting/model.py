"""Vulnerability models as data: a TOML file, checked against the field catalogue.

    [model]       id, version, title = { fr, en }, description, uses_displacement_status
    [[criteria]]  id, label, when + points, or score (+ when), optional cap
    [[exclusions]] id, label, when        — excluded households get the reason, no category
    [[categories]] name, label, min_score — from the highest min_score to the lowest

A wrong model is refused as a whole with every problem's line, key and reason (`ModelError`).
A field that tells displacement status is refused unless the model declares it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _, current_language
from jatigi.targeting.expr import ExprError, Expression, parse_expression
from jatigi.targeting.fields import Catalogue
from jatigi.targeting.model_toml import Locator, model_to_toml

__all__ = ["Category", "Criterion", "Exclusion", "Labels", "Model", "ModelError", "Problem", "load_model",
           "load_model_file", "model_to_toml", "shipped_models"]

SHIPPED = Path(__file__).parent / "models"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
MODEL_KEYS = ("id", "version", "title", "description", "uses_displacement_status")
CRITERION_KEYS = ("id", "label", "when", "points", "score", "cap")
EXCLUSION_KEYS = ("id", "label", "when")
CATEGORY_KEYS = ("name", "label", "min_score")


@dataclass(frozen=True)
class Labels:
    fr: str
    en: str

    def get(self, lang: str | None = None) -> str:
        return self.en if (lang or current_language()) == "en" else self.fr


@dataclass(frozen=True)
class Criterion:
    id: str
    label: Labels
    when: Expression | None
    points: float | None
    score: Expression | None
    cap: float | None


@dataclass(frozen=True)
class Exclusion:
    id: str
    label: Labels
    when: Expression


@dataclass(frozen=True)
class Category:
    name: str
    label: Labels
    min_score: float


@dataclass(frozen=True)
class Model:
    id: str
    version: int
    title: Labels
    description: Labels | None
    uses_displacement_status: bool
    criteria: tuple[Criterion, ...]
    exclusions: tuple[Exclusion, ...]
    categories: tuple[Category, ...]
    status_fields: tuple[str, ...]  # the displacement-status fields it reads (only when declared)

    def expressions(self) -> list[Expression]:
        found = [e for c in self.criteria for e in (c.when, c.score) if e is not None]
        return found + [e.when for e in self.exclusions]

    @property
    def fields(self) -> frozenset[str]:
        """Every catalogue name the model reads (derived fields and what they are made of)."""
        return frozenset().union(*(e.fields for e in self.expressions()))


@dataclass(frozen=True)
class Problem:
    line: int
    key: str
    reason: str
    column: int | None = None

    def __str__(self) -> str:
        if self.column is not None:
            return _("Line {line}, column {column}, {key}: {reason}", line=self.line, column=self.column,
                     key=self.key, reason=self.reason)
        return _("Line {line}, {key}: {reason}", line=self.line, key=self.key, reason=self.reason)


class ModelError(JatigiError):
    status_code = 422

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def shipped_models() -> dict[str, Path]:
    """The models that come with Jatigi, by file name without .toml."""
    return {path.stem: path for path in sorted(SHIPPED.glob("*.toml"))}


def load_model_file(path: Path, catalogue: Catalogue) -> Model:
    return load_model(path.read_text(encoding="utf-8"), catalogue)


def load_model(text: str, catalogue: Catalogue) -> Model:
    """The checked model, or ModelError listing every problem with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        at = _AT.search(detail)
        line, column = (int(at.group(1)), int(at.group(2))) if at else (1, None)
        reason = _("This is not valid TOML: {detail}.", detail=_AT.sub("", detail))
        raise ModelError([Problem(line, "", reason, column)]) from None
    except RecursionError:  # thousands of nested brackets: no model looks like that
        raise ModelError([Problem(1, "", _("This text nests lists or tables too deeply to be a model."), None)]) \
            from None
    return _Loader(text, catalogue).model(data)


class _Loader:
    def __init__(self, text: str, catalogue: Catalogue) -> None:
        self.where = Locator(text)
        self.catalogue = catalogue
        self.problems: list[Problem] = []
        self.checked: list[tuple[str, int, str, Expression]] = []

    def problem(self, section: str, index: int, key: str, reason: str, path: str | None = None) -> None:
        line, _column = self.where.key(section, index, key) if key else (self.where.section(section, index)[0], 1)
        self.problems.append(Problem(line, path or _path(section, index, key), reason))

    def model(self, data: dict[str, Any]) -> Model:
        for key in data:
            if key not in ("model", "criteria", "exclusions", "categories"):
                self.problem("", 0, "", _("Unknown key {key}; the keys here are: {keys}.", key=key,
                                            keys="model, criteria, exclusions, categories"), key)
        head = self.table(data, "model")
        if head is None:
            raise ModelError(self.problems)
        declared = self.boolean(head, "uses_displacement_status")
        items = {name: self.array(data, name, name != "exclusions") for name in ("criteria", "exclusions", "categories")}
        criteria = [self.criterion(item, i) for i, item in enumerate(items["criteria"])]
        exclusions = [self.exclusion(item, i) for i, item in enumerate(items["exclusions"])]
        categories = [self.category(item, i) for i, item in enumerate(items["categories"])]
        for section, key in (("criteria", "id"), ("exclusions", "id"), ("categories", "name")):
            self.unique(section, [item.get(key) for item in items[section]], key)
        for i in range(1, len(categories)):
            before, this = categories[i - 1], categories[i]
            if before and this and this.min_score >= before.min_score:
                self.problem("categories", i, "min_score",
                             _("Categories must go from the highest min_score to the lowest."))
        status = self.status(declared)
        model = Model(
            id=self.ident(head, "model", 0, "id"), version=self.version(head),
            title=self.labels(head, "model", 0, "title", required=True) or Labels("", ""),
            description=self.labels(head, "model", 0, "description", required=False),
            uses_displacement_status=declared,
            criteria=tuple(c for c in criteria if c), exclusions=tuple(e for e in exclusions if e),
            categories=tuple(c for c in categories if c), status_fields=status,
        )
        if self.problems:
            raise ModelError(sorted(self.problems, key=lambda p: p.line))
        return model

    # --- tables and keys ---------------------------------------------------------------------

    def table(self, data: dict[str, Any], name: str) -> dict[str, Any] | None:
        value = data.get(name)
        if not isinstance(value, dict):
            self.problem("", 0, "", _("A [{name}] table is required.", name=name), name)
            return None
        self.known(value, name, 0, MODEL_KEYS)
        return value

    def array(self, data: dict[str, Any], name: str, required: bool) -> list[dict[str, Any]]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem("", 0, "", _("Write each item as a [[{name}]] table.", name=name), name)
            return []
        if required and not value:
            self.problem("", 0, "", _("At least one [[{name}]] is required.", name=name), name)
        return value

    def known(self, item: dict[str, Any], section: str, index: int, keys: tuple[str, ...]) -> None:
        for key in item:
            if key not in keys:
                self.problem(section, index, key, _("Unknown key {key}; the keys here are: {keys}.", key=key,
                                                    keys=", ".join(keys)))

    def required(self, item: dict[str, Any], section: str, index: int, key: str) -> Any:
        if key not in item:
            self.problem(section, index, "", _("{key} is required.", key=key), _path(section, index, key))
        return item.get(key)

    def ident(self, item: dict[str, Any], section: str, index: int, key: str) -> str:
        value = self.required(item, section, index, key)
        if value is not None and (not isinstance(value, str) or not _ID.match(value)):
            self.problem(section, index, key, _("Use 1 to 40 lower-case letters, digits and _, starting with a "
                                                "letter."))
        return value if isinstance(value, str) else ""

    def version(self, head: dict[str, Any]) -> int:
        value = self.required(head, "model", 0, "version")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            self.problem("model", 0, "version", _("Expected a whole number from 1."))
            return 0
        return value or 0

    def boolean(self, head: dict[str, Any], key: str) -> bool:
        value = head.get(key, False)
        if not isinstance(value, bool):
            self.problem("model", 0, key, _("Expected true or false."))
            return False
        return value

    def number(self, item: dict[str, Any], section: str, index: int, key: str) -> float | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e9:
            self.problem(section, index, key, _("Expected a number."))
            return None
        return float(value)

    def labels(self, item: dict[str, Any], section: str, index: int, key: str, required: bool) -> Labels | None:
        value = self.required(item, section, index, key) if required else item.get(key)
        if value is None:
            return None
        if isinstance(value, dict) and set(value) == {"fr", "en"} and all(
                isinstance(v, str) and v.strip() for v in value.values()):
            return Labels(fr=value["fr"], en=value["en"])
        self.problem(section, index, key, _('Expected a French and an English text: fr = "…", en = "…".'))
        return None

    def expression(self, item: dict[str, Any], section: str, index: int, key: str, kind: str) -> Expression | None:
        value = item.get(key)
        if value is None:
            return None
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

    # --- items -------------------------------------------------------------------------------

    def criterion(self, item: dict[str, Any], i: int) -> Criterion | None:
        before = len(self.problems)
        self.known(item, "criteria", i, CRITERION_KEYS)
        ident = self.ident(item, "criteria", i, "id")
        label = self.labels(item, "criteria", i, "label", required=True)
        when = self.expression(item, "criteria", i, "when", "boolean")
        score = self.expression(item, "criteria", i, "score", "number")
        points, cap = self.number(item, "criteria", i, "points"), self.number(item, "criteria", i, "cap")
        if ("points" in item) == ("score" in item):
            self.problem("criteria", i, "", _("Give either points (with when) or a score."),
                         _path("criteria", i, "points"))
        elif "points" in item and "when" not in item:
            self.problem("criteria", i, "", _("when is required with points."), _path("criteria", i, "when"))
        if cap is not None and points is not None:
            points = min(points, cap)
        if len(self.problems) > before or label is None:
            return None
        return Criterion(ident, label, when, points, score, cap)

    def exclusion(self, item: dict[str, Any], i: int) -> Exclusion | None:
        self.known(item, "exclusions", i, EXCLUSION_KEYS)
        ident = self.ident(item, "exclusions", i, "id")
        label = self.labels(item, "exclusions", i, "label", required=True)
        self.required(item, "exclusions", i, "when")
        when = self.expression(item, "exclusions", i, "when", "boolean")
        if label is None or when is None:
            return None
        return Exclusion(ident, label, when)

    def category(self, item: dict[str, Any], i: int) -> Category | None:
        self.known(item, "categories", i, CATEGORY_KEYS)
        name = self.ident(item, "categories", i, "name")
        label = self.labels(item, "categories", i, "label", required=True)
        self.required(item, "categories", i, "min_score")
        min_score = self.number(item, "categories", i, "min_score")
        if label is None or min_score is None:
            return None
        return Category(name, label, min_score)

    def unique(self, section: str, names: list[Any], key: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if isinstance(name, str) and name in seen:
                self.problem(section, i, key, _("{name} is used twice.", name=name))
            seen.add(str(name))

    def status(self, declared: bool) -> tuple[str, ...]:
        """The status fields read; each is a problem unless the model declares it uses them."""
        found: set[str] = set()
        for section, index, key, expression in self.checked:
            for name in sorted(n for n in expression.fields if self.catalogue[n].status):
                found.add(name)
                if not declared:
                    line, _column = self.where.key(section, index, key)
                    self.problems.append(Problem(line, _path(section, index, key), _(
                        "{name} tells displacement status: a model may use it only when [model] declares "
                        "uses_displacement_status = true.", name=name)))
        return tuple(sorted(found))


def _path(section: str, index: int, key: str) -> str:
    """How a key is named in a problem: model.version, criteria[2].when (items counted from 1)."""
    if section in ("", "model"):
        return ".".join(part for part in (section, key) if part)
    return f"{section}[{index + 1}]" + (f".{key}" if key else "")
