"""Any list of people, from a CSV or XLSX file, read into the columns the linkage engine compares.

The user names the id column and maps the fields the engine knows to the file's columns
(`--map given_name=Prénom,family_name=Nom,birth_date=Né le`). A list the engine cannot work on
is refused with a message naming the row, the field and the value: an empty or unreadable file,
a mapped column the file lacks, an empty or repeated id, fewer than two people, no names, or the
same name for everyone. Values that cannot be read (a phone of six digits, a date of 31/02/1980)
are left empty and reported; they do not stop the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.dedup.prepare import INPUT_FIELDS, OUTPUT_SCHEMA, Problem, prepare_person, with_household_context
from jatigi.registry.sheets import Sheet, read_any

MAP_FIELDS = tuple(f for f in INPUT_FIELDS)
NAME_FIELDS = ("given_name", "family_name", "full_name")
BATCH = 50_000
SHOWN_IDS = 5


class ListError(ValidationFailed):
    """A list the engine cannot work on; the message names the row, the field or the value."""


def parse_map(specs: str | Sequence[str]) -> dict[str, str]:
    """`given_name=Prénom,family_name=Nom` (or several such options) -> {field: column}."""
    parts: list[str] = []
    for spec in [specs] if isinstance(specs, str) else specs:
        parts.extend(p for p in spec.split(",") if p.strip())
    mapping: dict[str, str] = {}
    for part in parts:
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise ListError(_("--map: {part} is not of the form field=column.", part=part.strip()))
        if name not in MAP_FIELDS:
            raise ListError(_("--map: unknown field {field}; accepted: {accepted}.", field=name,
                              accepted=", ".join(MAP_FIELDS)))
        if name in mapping:
            raise ListError(_("--map: the field {field} is mapped twice.", field=name))
        mapping[name] = column
    if not any(f in mapping for f in NAME_FIELDS):
        raise ListError(_("--map: map at least given_name and family_name, or full_name."))
    return mapping


@dataclass
class PeopleList:
    source: Path
    table: pa.Table  # prepare.OUTPUT_SCHEMA, one row per person
    problems: list[Problem] = field(default_factory=list)  # values left empty
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # the file's values of the records asked for

    @property
    def size(self) -> int:
        return int(self.table.num_rows)


def read_people(path: Path, *, id_column: str, mapping: dict[str, str], reference: date | None = None,
                delimiter: str | None = None, keep: Iterable[str] = ()) -> PeopleList:
    """Read and prepare a list of people; raises `ListError` when the list cannot be used."""
    sheet = _first_sheet(path, delimiter)
    mapping = mapping or _named_like_fields(sheet, path, id_column)
    positions = _positions(sheet, path, id_column, mapping)
    ref = reference or date.today()
    wanted = set(keep)
    problems: list[Problem] = []
    raw: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    repeated: list[tuple[int, str, int]] = []
    batches: list[pa.Table] = []
    rows: list[dict[str, Any]] = []
    written = ""  # the first name as written, to show
    width = len(sheet.headers)
    for number, cells in _rows(sheet, path):
        if len(cells) > width and any(_text(c) for c in cells[width:]):
            raise ListError(_("{file}, row {row}: {n} values for {columns} columns; is the file a CSV with "
                              "another separator (--delimiter)?", file=path.name, row=number, n=len(cells),
                              columns=width))
        uid = _id(cells[positions[id_column]] if positions[id_column] < len(cells) else None)
        if not uid:
            raise ListError(_("{file}, row {row}: no value in the id column {column}.", file=path.name, row=number,
                              column=id_column))
        if uid in seen:
            repeated.append((number, uid, seen[uid]))
            continue
        seen[uid] = number
        record = {f: cells[i] if i < len(cells) else None for f, i in positions.items() if f != id_column}
        if uid in wanted:
            raw[uid] = {column: record.get(f) for f, column in mapping.items()}
        if not written:
            written = " ".join(_text(record.get(f)) for f in NAME_FIELDS if _text(record.get(f)))
        row = {"unique_id": uid}
        row.update(prepare_person(record, reference=ref, problems=problems, row=number))
        rows.append(row)
        if len(rows) >= BATCH:
            batches.append(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA))
            rows = []
    if repeated:
        shown = "; ".join(_("row {row}: {id} (first on row {first})", row=r, id=u, first=f)
                          for r, u, f in repeated[:SHOWN_IDS])
        raise ListError(_("{file}: the id column {column} has {n} repeated ids: {shown}. Each person needs "
                          "their own id.", file=path.name, column=id_column, n=len(repeated), shown=shown))
    if rows or not batches:
        batches.append(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA))
    table = with_household_context(pa.concat_tables(batches).combine_chunks())
    _check_people(table, path, mapping, written)
    return PeopleList(path, table, problems, raw)


def _first_sheet(path: Path, delimiter: str | None) -> Sheet:
    sheets = read_any(path, delimiter)
    if not sheets:
        raise ListError(_("{file} is empty.", file=path.name))
    return sheets[0]


def _named_like_fields(sheet: Sheet, path: Path, id_column: str) -> dict[str, str]:
    """Without --map: the columns named like the fields (given_name, family_name...)."""
    found = {h.strip().casefold(): h.strip() for h in sheet.headers if h.strip() and h.strip() != id_column}
    mapping = {f: found[f] for f in MAP_FIELDS if f in found}
    if not any(f in mapping for f in NAME_FIELDS):
        raise ListError(_("{file}: no column is named given_name, family_name or full_name; say which columns hold "
                          "what with --map, e.g. --map given_name=Prénom,family_name=Nom.", file=path.name))
    return mapping


def _positions(sheet: Sheet, path: Path, id_column: str, mapping: dict[str, str]) -> dict[str, int]:
    headers = [h.strip() for h in sheet.headers]
    index: dict[str, int] = {}
    for i, h in enumerate(headers):
        index.setdefault(h, i)
        index.setdefault(h.casefold(), i)
    shown = ", ".join(h for h in headers if h) or "—"

    def find(column: str, what: str) -> int:
        i = index.get(column.strip(), index.get(column.strip().casefold()))
        if i is None:
            raise ListError(_("{file} has no column {column} ({what}); its columns are: {columns}.", file=path.name,
                              column=column, what=what, columns=shown))
        return i

    positions = {id_column: find(id_column, "--id-column")}
    for name, column in mapping.items():
        positions[name] = find(column, f"--map {name}")
    return positions


def _rows(sheet: Sheet, path: Path) -> Iterator[tuple[int, list[Any]]]:
    count = 0
    for number, cells in sheet.rows:
        if not any(_text(c) for c in cells):
            continue
        count += 1
        yield number, cells
    if count == 0:
        raise ListError(_("{file} has column headings but no people.", file=path.name))


def _check_people(table: pa.Table, path: Path, mapping: dict[str, str], written: str) -> None:
    n = table.num_rows
    if n < 2:
        raise ListError(_("{file} lists {n} person; at least two are needed to find duplicates.", file=path.name,
                          n=n))
    names = table.column("name_sorted_key")
    columns = ", ".join(mapping[f] for f in NAME_FIELDS if f in mapping)
    if names.null_count == n:
        raise ListError(_("{file}: no name in any row (columns {columns}); check --map.", file=path.name,
                          columns=columns))
    distinct = names.unique().drop_null()
    if n >= 3 and len(distinct) == 1:
        raise ListError(_("{file}: all {n} people have the same name ({name}), so names cannot tell them apart; "
                          "check --map (columns {columns}).", file=path.name, n=n, name=written,
                          columns=columns))


def _id(value: Any) -> str:
    text = _text(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # a number from a spreadsheet
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()
