"""Kobo/ODK exports of the registration form: columns by XML name or label, repeat groups joined.

A Kobo export is a main table (one row per submission) and one table per repeat group, joined
on `_index` / `_parent_index`. Columns are headed by the group path (`household/phone`), the bare
name, or the label in French or English; select_multiple answers come as a space-separated
value and/or one 0/1 column per choice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, use_language
from jatigi.registry import form_spec
from jatigi.registry.problems import Problem
from jatigi.registry.sheets import Sheet
from jatigi.registry.text import name_key
from jatigi.registry.validate import RawRow, RawSubmission, choices

MAIN_META = ("start", "end", "today", "_id", "_uuid", "_submission_time", "_index", "__version__")
REPEAT_META = ("_index", "_parent_index", "_parent_table_name", "_submission__uuid")
IN_MEMORY_JOIN_LIMIT = 50 * 1024 * 1024  # bytes (CSV) or rows × 100 (XLSX)


@dataclass
class Scope:
    """The fields a table may hold, found by name or label."""

    fields: dict[str, form_spec.Field]
    meta: tuple[str, ...]
    by_label: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.fields.values():
            for lang in ("en", "fr"):
                with use_language(lang):
                    self.by_label.setdefault(name_key(_(f.label)), f.name)


def main_scope() -> Scope:
    return Scope({f.name: f for g in form_spec.MAIN_GROUPS for f in g.fields}, MAIN_META)


def repeat_scope(name: str) -> Scope:
    return Scope({f.name: f for f in form_spec.REPEATS[name].fields}, REPEAT_META)


@dataclass
class Columns:
    plain: list[tuple[int, str]]
    multi: dict[str, list[tuple[int, str]]]  # select_multiple field -> [(column, choice code)]
    headers: dict[str, str]

    def __post_init__(self) -> None:
        # When the space-separated column is there, it is the answer; 0/1 columns only stand in for it.
        self.with_value_column = {name for _i, name in self.plain}

    def values(self, cells: list[Any]) -> dict[str, object]:
        n = len(cells)
        out: dict[str, object] = {name: cells[i] for i, name in self.plain if i < n}
        for fname, cols in self.multi.items():
            if fname not in self.with_value_column:
                picked = [code for i, code in cols if i < n and _truthy(cells[i])]
                if picked:
                    out[fname] = " ".join(picked)
        return out

    def count(self) -> int:
        return len(self.plain) + len(self.multi)


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "1.0", "true", "vrai", "yes", "oui")


def resolve(headers: list[str], scope: Scope) -> Columns:
    plain: list[tuple[int, str]] = []
    multi: dict[str, list[tuple[int, str]]] = defaultdict(list)
    names: dict[str, str] = {}
    for i, header in enumerate(headers):
        hit = _resolve_one(header, scope)
        if hit is None:
            continue
        fname, choice = hit
        if choice is None:
            if fname not in names:
                plain.append((i, fname))
                names[fname] = header
        else:
            multi[fname].append((i, choice))
            names.setdefault(fname, header.rsplit("/", 1)[0])
    return Columns(plain, dict(multi), names)


def _resolve_one(header: str, scope: Scope) -> tuple[str, str | None] | None:
    h = header.strip()
    if h in scope.meta:
        return h, None
    parts = h.split("/")
    if parts[-1] in scope.fields:
        return parts[-1], None
    if len(parts) >= 2 and parts[-2] in scope.fields and scope.fields[parts[-2]].type == "select_multiple":
        code = choices(scope.fields[parts[-2]].choices or "").one(parts[-1])
        if code:
            return parts[-2], code
    # Labels: try every suffix after a "/" (group labels come first), whole header first.
    cuts = [0] + [i + 1 for i, ch in enumerate(h) if ch == "/"]
    for cut in cuts:
        key = name_key(h[cut:])
        if key in scope.by_label:
            return scope.by_label[key], None
    for cut in reversed(cuts[1:]):
        left, right = h[: cut - 1], h[cut:]
        for lcut in [0] + [i + 1 for i, ch in enumerate(left) if ch == "/"]:
            fname = scope.by_label.get(name_key(left[lcut:]))
            if fname and scope.fields[fname].type == "select_multiple":
                code = choices(scope.fields[fname].choices or "").one(right)
                if code:
                    return fname, code
    return None


def looks_like_kobo(sheets: list[Sheet]) -> bool:
    for s in sheets:
        if "_uuid" in s.headers or "_parent_index" in s.headers:
            return True
        if any("/" in h for h in s.headers) and resolve(s.headers, main_scope()).count() >= 3:
            return True
    return False


def identify(sheets: list[Sheet]) -> tuple[Sheet, dict[str, Sheet], list[Problem]]:
    """Which table is the main one and which repeat group each other table holds."""
    problems: list[Problem] = []
    mains = [s for s in sheets if "_parent_index" not in s.headers]
    repeats = [s for s in sheets if "_parent_index" in s.headers]
    if len(mains) != 1:
        names = ", ".join(s.name for s in mains) or "—"
        raise ValidationFailed(_(
            "Expected exactly one main table (without _parent_index); found {n}: {names}.",
            n=len(mains), names=names))
    found: dict[str, Sheet] = {}
    for s in repeats:
        best = max(form_spec.REPEATS, key=lambda r: (s.name == r, resolve(s.headers, repeat_scope(r)).count()))
        if resolve(s.headers, repeat_scope(best)).count() <= 1 or best in found:
            problems.append(Problem(s.name, 1, "", "", _(
                "Cannot tell which repeat group this table holds; expected one of: {groups}.",
                groups=", ".join(form_spec.REPEATS))))
            continue
        found[best] = s
    return mains[0], found, problems


def _index_of(value: object) -> int | None:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return None


class RepeatJoin:
    """Rows of one repeat table grouped by `_parent_index`, read in step with the main table.

    Small tables are held in memory; a large one is read as a stream, which needs it in the order
    of its parents, as Kobo writes it.
    """

    def __init__(self, name: str, sheet: Sheet, problems: list[Problem]) -> None:
        self.name = name
        self.sheet = sheet
        self.cols = resolve(sheet.headers, repeat_scope(name))
        self.parent_col = sheet.headers.index("_parent_index")
        self.problems = problems
        self.streaming = sheet.size_hint > IN_MEMORY_JOIN_LIMIT
        self.grouped: dict[int, list[RawRow]] = defaultdict(list)
        self.pending: tuple[int, RawRow] | None = None
        self.last_parent = -1
        self.rows = self._raw_rows()
        if not self.streaming:
            for parent, raw in self.rows:
                self.grouped[parent].append(raw)

    def _raw_rows(self) -> Iterator[tuple[int, RawRow]]:
        for n, cells in self.sheet.rows:
            parent = _index_of(cells[self.parent_col] if self.parent_col < len(cells) else None)
            raw = RawRow(self.sheet.name, n, self.cols.values(cells), self.cols.headers)
            if parent is None:
                self.problems.append(Problem(self.sheet.name, n, "_parent_index",
                                             str(cells[self.parent_col] if self.parent_col < len(cells) else ""),
                                             _("Not a row number of the main table.")))
                continue
            yield parent, raw

    def take(self, index: int) -> list[RawRow]:
        if not self.streaming:
            return self.grouped.pop(index, [])
        out: list[RawRow] = []
        while True:
            if self.pending is None:
                nxt = next(self.rows, None)
                if nxt is None:
                    return out
                if nxt[0] < self.last_parent:
                    # Rows of a household already passed: it would be written without them.
                    raise ValidationFailed(_(
                        "{sheet}, row {row}: this large table must be sorted by _parent_index, as Kobo "
                        "exports it; nothing was written.", sheet=self.sheet.name, row=nxt[1].row))
                self.last_parent = nxt[0]
                self.pending = nxt
            parent, raw = self.pending
            if parent < index:
                self._orphan(parent, raw)
                self.pending = None
            elif parent == index:
                out.append(raw)
                self.pending = None
            else:
                return out

    def _orphan(self, parent: int, raw: RawRow) -> None:
        self.problems.append(Problem(self.sheet.name, raw.row, "_parent_index", str(parent),
                                     _("No row with this _index in the main table.")))

    def finish(self) -> None:
        if self.streaming:
            for parent, raw in self.rows:
                self._orphan(parent, raw)
            if self.pending:
                self._orphan(*self.pending)
        else:
            for parent, raws in self.grouped.items():
                for raw in raws:
                    self._orphan(parent, raw)


def submissions(sheets: list[Sheet], problems: list[Problem]) -> Iterator[RawSubmission]:
    """Assemble households from a Kobo export; structural problems go into `problems`."""
    main, repeats, found = identify(sheets)
    problems.extend(found)
    cols = resolve(main.headers, main_scope())
    missing = [f.name for g in form_spec.MAIN_GROUPS for f in g.fields
               if f.required and f.name not in cols.headers]
    for name in missing:
        problems.append(Problem(main.name, 1, name, "", _("Required column missing.")))
    if missing:
        return
    joins = [RepeatJoin(name, sheet, problems) for name, sheet in repeats.items()]
    index_col = main.headers.index("_index") if "_index" in main.headers else None
    seen: set[int] = set()
    for position, (n, cells) in enumerate(main.rows, start=1):
        index = position
        if index_col is not None:
            idx = _index_of(cells[index_col] if index_col < len(cells) else None)
            if idx is None or idx in seen:
                problems.append(Problem(main.name, n, "_index", str(cells[index_col] if index_col < len(cells) else ""),
                                        _("Missing or repeated _index.")))
                continue
            index = idx
        seen.add(index)
        raw = RawRow(main.name, n, cols.values(cells), cols.headers)
        yield RawSubmission(raw, {j.name: j.take(index) for j in joins})
    for j in joins:
        j.finish()
