"""Indicators for any survey file with WFP variable names: `jatigi targeting indicators`.

The file is read and every value checked first; one problem anywhere and nothing is written, every
problem listed. The checked values go into an in-memory SQLite table, and all indicators come out
of one SQL query — the same expressions that score the registry. Columns the file lacks leave their
module "not assessed" (empty cells); columns it has that are not inputs are carried through.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.core.i18n import number as number_text
from jatigi.core.spreadsheet import safe_cell
from jatigi.registry.sheets import Sheet, read_any
from jatigi.targeting import indicators as ind
from jatigi.targeting import inputs as I  # noqa: N812

BATCH = 5000
SQLITE_MAX_COLUMNS = 1999  # SQLite's limit is 2000, one of which holds the row number
_YES = {"1", "yes", "oui", "true", "vrai", "y", "o"}
_NO = {"0", "no", "non", "false", "faux", "n"}
# Modules whose indicator needs every one of these columns.
REQUIRED: dict[str, tuple[str, ...]] = {
    "fcs": tuple(I.FCS_WEIGHTS), "rcsi": tuple(I.RCSI_WEIGHTS), "hhs": tuple(q for q, _fr in I.HHS_QUESTIONS),
    "hdds": I.HDDS_GROUPS, "expenditure": (I.FOOD_EXPENDITURE, *I.NON_FOOD_EXPENDITURE),
    "disability": I.WG_DOMAINS,
}


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    value: str
    accepted: str
    reason: str  # "number", "range" or "shape"

    def line(self) -> str:
        if self.reason == "shape":
            return _("{file}, row {row}: {n} values for {columns} columns; is the file a CSV with another separator "
                     "(--delimiter)?", file=self.field, row=self.row, n=self.value, columns=self.accepted)
        if self.reason == "number":
            return _("Row {row}, {field}: \"{value}\" is not a number; accepted: {accepted}.", row=self.row,
                     field=self.field, value=self.value, accepted=self.accepted)
        return _("Row {row}, {field}: {value} is not accepted; accepted: {accepted}.", row=self.row,
                 field=self.field, value=self.value, accepted=self.accepted)


class SurveyInvalid(ValidationFailed):
    """A file with bad values: all of them, in `problems`."""

    def __init__(self, problems: list[Problem], rows: int) -> None:
        super().__init__(_("Nothing was written: {n} problems in {rows} rows.", n=len(problems), rows=rows))
        self.problems = problems


@dataclass
class Result:
    rows: int = 0
    assessed: list[str] = field(default_factory=list)
    not_assessed: dict[str, list[str]] = field(default_factory=dict)  # module -> its missing columns
    replaced: list[str] = field(default_factory=list)  # the file's columns named like an indicator


def accepted_text(var: I.InputVar) -> str:
    """What an input accepts, for a person."""
    if var.kind == "yesno":
        return _("1 (yes) or 0 (no)")
    if var.kind == "days":
        return _("a whole number of days from 0 to 7")
    if var.kind == "money":
        return _("an amount in FCFA from 0 to {maximum}", maximum=number_text(var.maximum or 0))
    if var.choices is not None:
        return _("one of {codes}", codes=", ".join(str(c) for c in var.choices))
    low, high = format(var.minimum or 0, "g"), format(var.maximum or 0, "g")
    return _("a whole number from {minimum} to {maximum}", minimum=low, maximum=high)


def _number(cell: Any) -> float | None:
    if isinstance(cell, bool):
        return float(cell)
    if isinstance(cell, int | float):
        try:
            value = float(cell)
        except OverflowError:  # an integer too large for any amount
            return None
        return value if math.isfinite(value) else None
    text = str(cell).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def convert(var: I.InputVar, cell: Any) -> tuple[float | int | None, str | None]:
    """(value, None) for an accepted cell, (None, None) for an empty one, (None, reason) otherwise."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None, None
    if var.kind == "yesno" and isinstance(cell, str):
        word = cell.strip().lower()
        if word in _YES or word in _NO:
            return int(word in _YES), None
    number = _number(cell)
    if number is None:
        return None, "number"
    if var.kind == "money":
        return (number, None) if 0 <= number <= (var.maximum or I.MAX_FCFA) else (None, "range")
    if not number.is_integer():
        return None, "range"
    whole = int(number)
    if var.kind == "yesno":
        ok = whole in (0, 1)
    elif var.choices is not None:
        ok = whole in var.choices
    else:
        ok = (var.minimum is None or whole >= var.minimum) and (var.maximum is None or whole <= var.maximum)
    return (whole, None) if ok else (None, "range")


def _text(cell: Any) -> str | None:
    if cell is None or cell == "":
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _first_sheet(path: Path, delimiter: str | None) -> Sheet:
    sheets = read_any(path, delimiter)
    if not sheets:
        raise ValidationFailed(_("{file} is empty.", file=path.name))
    return sheets[0]


def _columns(sheet: Sheet) -> tuple[dict[int, I.InputVar], list[str]]:
    """Which input each column holds, by position, and the file's columns named like an indicator."""
    found: dict[int, I.InputVar] = {}
    seen: dict[str, str] = {}
    indicator_names = {i.name.lower() for i in ind.INDICATORS}
    replaced = []
    for position, header in enumerate(sheet.headers):
        var = I.lookup(header) if header else None
        if var is None:
            if header.strip().lower() in indicator_names:
                replaced.append(header)
            continue
        if var.name in seen:
            raise ValidationFailed(_("{file}: the columns {first} and {second} both hold {name}; keep one.",
                                     file=sheet.name, first=seen[var.name], second=header, name=var.name))
        seen[var.name] = header
        found[position] = var
    if len(sheet.headers) > SQLITE_MAX_COLUMNS:
        raise ValidationFailed(_("{file}: {n} columns; at most {max} are accepted.", file=sheet.name,
                                 n=len(sheet.headers), max=SQLITE_MAX_COLUMNS))
    return found, replaced


def modules_status(names: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(modules assessed, {module not assessed: its missing columns}) for the inputs a file has."""
    assessed, missing = [], {}
    for module, required in REQUIRED.items():
        lacking = [n for n in required if n not in names]
        if lacking:
            missing[module] = lacking
        else:
            assessed.append(module)
    levels = {I.lcs_level(n) for n in names} - {None}
    if len(levels) == 3:
        assessed.append("lcs")
    else:
        patterns = {"stress": "Lcs_stress_*", "crisis": "Lcs_crisis_*", "emergency": "Lcs_em_*"}
        missing["lcs"] = [pattern for level, pattern in patterns.items() if level not in levels]
    return assessed, missing


def _table(sheet: Sheet, found: dict[int, I.InputVar]) -> sa.Table:
    columns = [sa.Column("_row", sa.Integer, primary_key=True)]
    for position in range(len(sheet.headers)):
        var = found.get(position)
        type_: sa.types.TypeEngine[Any] = sa.Text() if var is None else sa.Float() if var.kind == "money" else sa.Integer()
        columns.append(sa.Column(f"c{position}", type_))
    return sa.Table("survey", sa.MetaData(), *columns)


def _load(conn: sa.Connection, table: sa.Table, sheet: Sheet, found: dict[int, I.InputVar]) -> tuple[int, list[Problem]]:
    """Check every cell and insert the rows; (rows, problems)."""
    width = len(sheet.headers)
    insert = f"INSERT INTO survey VALUES ({', '.join('?' * (width + 1))})"
    problems: list[Problem] = []
    batch: list[tuple[Any, ...]] = []
    rows = 0
    for number, cells in sheet.rows:
        rows += 1
        if len(cells) > width and any(c not in (None, "") for c in cells[width:]):
            problems.append(Problem(number, sheet.name, str(len(cells)), str(width), "shape"))
        cells = list(cells[:width]) + [None] * (width - len(cells))
        values: list[Any] = [number]
        for position, cell in enumerate(cells):
            var = found.get(position)
            if var is None:
                values.append(_text(cell))
                continue
            value, reason = convert(var, cell)
            if reason:
                problems.append(Problem(number, sheet.headers[position], str(cell), accepted_text(var), reason))
            values.append(value)
        batch.append(tuple(values))
        if len(batch) >= BATCH:
            conn.exec_driver_sql(insert, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(insert, batch)
    return rows, problems


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, str) and _number(value) is None:
        return str(safe_cell(value))
    return str(value)


def indicators_file(path: Path, out: TextIO, params: ind.IndicatorParams, delimiter: str | None = None) -> Result:
    """Read `path`, check it, and write its columns plus the indicators to `out` as CSV."""
    sheet = _first_sheet(path, delimiter)
    found, replaced = _columns(sheet)
    table = _table(sheet, found)
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            table.create(conn)
            rows, problems = _load(conn, table, sheet, found)
            if problems:
                raise SurveyInvalid(problems, rows)
            cols = {var.name: table.c[f"c{position}"] for position, var in found.items()}
            exprs = ind.all_indicators(cols, params)
            kept = [p for p, h in enumerate(sheet.headers) if h not in replaced]
            query = sa.select(*(table.c[f"c{p}"] for p in kept), *exprs.values()).order_by(table.c._row)
            writer = csv.writer(out)
            writer.writerow([sheet.headers[p] for p in kept] + list(exprs))
            for record in _stream(conn, query):
                writer.writerow([_format(v) for v in record])
    finally:
        engine.dispose()
    assessed, missing = modules_status(set(cols))
    return Result(rows=rows, assessed=assessed, not_assessed=missing, replaced=replaced)


def _stream(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[tuple[Any, ...]]:
    result = conn.execute(query)
    while chunk := result.fetchmany(BATCH):
        yield from (tuple(r) for r in chunk)
