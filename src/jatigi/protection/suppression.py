"""Small-cell suppression of two-way tables with their totals, so that no hidden count can be worked
out from what is published.

Generic: it knows tables of counts, not incidents. A table has an inner grid, a total per row, a
total per column and a grand total. Tables of the same request share their totals: a total is
named by its dimension and key (("type", "rape") is the same number in every table whose rows are
types), and the grand total is the same in all of them. Hiding a total in one table hides it in
every table — otherwise one table would give back what another hides.

The algorithm (documented in docs/PROTECTION.md, "Monitoring and statistics"):

1. Primary suppression: every count from 1 to threshold - 1 — inner cells, totals and the grand
   total alike — is hidden. Zeros are shown: a zero names nobody.
2. Secondary (complementary) suppression, repeated until nothing changes:
   a. every line (a row or a column with its total) that has exactly one hidden number would give
      it back by subtraction: the smallest non-zero shown number of that line is hidden too
      (inner cells before totals when equal);
   b. then all the lines of all the tables are solved together as linear equations (exact
      rational arithmetic): a hidden number that the equations pin down — two hidden numbers of a
      row whose sum a column gives back, say — gets the smallest non-zero shown number of one of
      its lines hidden as well.
3. Zeros are never hidden as complements, so every hidden number is at least 1. When no hidden
   number is fixed by the equations, each lies on a direction of change that keeps every shown
   number and every line sum (step b's test), and moving a little along it in either direction
   keeps all counts non-negative: every hidden number has a range of possible values, not one.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

THRESHOLD = 5

CellId = tuple[Hashable, ...]  # ("cell", table, row, column), ("margin", dimension, key) or ("total",)
TOTAL: CellId = ("total",)


@dataclass
class Table:
    """A two-way table of counts: `cells[(row, column)]`; missing cells are 0."""

    name: str
    row_dim: str
    col_dim: str
    rows: list[Hashable]
    cols: list[Hashable]
    cells: dict[tuple[Hashable, Hashable], int] = field(default_factory=dict)

    def value(self, row: Hashable, col: Hashable) -> int:
        return self.cells.get((row, col), 0)

    def row_total(self, row: Hashable) -> int:
        return sum(self.value(row, c) for c in self.cols)

    def col_total(self, col: Hashable) -> int:
        return sum(self.value(r, col) for r in self.rows)

    def total(self) -> int:
        return sum(self.value(r, c) for r in self.rows for c in self.cols)

    def cell_id(self, row: Hashable, col: Hashable) -> CellId:
        return ("cell", self.name, row, col)

    def row_id(self, row: Hashable) -> CellId:
        return ("margin", self.row_dim, row)

    def col_id(self, col: Hashable) -> CellId:
        return ("margin", self.col_dim, col)

    def lines(self) -> list[tuple[list[CellId], CellId]]:
        """Each line as (its parts, its total): rows, columns, then the two lines of totals."""
        out = [([self.cell_id(r, c) for c in self.cols], self.row_id(r)) for r in self.rows]
        out += [([self.cell_id(r, c) for r in self.rows], self.col_id(c)) for c in self.cols]
        out.append(([self.row_id(r) for r in self.rows], TOTAL))
        out.append(([self.col_id(c) for c in self.cols], TOTAL))
        return out

    def values(self) -> dict[CellId, int]:
        out: dict[CellId, int] = {self.cell_id(r, c): self.value(r, c) for r in self.rows for c in self.cols}
        out.update({self.row_id(r): self.row_total(r) for r in self.rows})
        out.update({self.col_id(c): self.col_total(c) for c in self.cols})
        out[TOTAL] = self.total()
        return out


@dataclass(frozen=True)
class Published:
    """A table after suppression: None where a number is hidden."""

    table: Table
    hidden: frozenset[CellId]

    def cell(self, row: Hashable, col: Hashable) -> int | None:
        return None if self.table.cell_id(row, col) in self.hidden else self.table.value(row, col)

    def row_total(self, row: Hashable) -> int | None:
        return None if self.table.row_id(row) in self.hidden else self.table.row_total(row)

    def col_total(self, col: Hashable) -> int | None:
        return None if self.table.col_id(col) in self.hidden else self.table.col_total(col)

    def total(self) -> int | None:
        return None if TOTAL in self.hidden else self.table.total()


def _check_shared(tables: Sequence[Table]) -> dict[CellId, int]:
    values: dict[CellId, int] = {}
    for t in tables:
        for cell, v in t.values().items():
            if values.setdefault(cell, v) != v:
                raise ValueError(f"tables disagree on {cell}: {values[cell]} and {v}")
    return values


def _order(values: dict[CellId, int], cell: CellId) -> tuple[int, int, str]:
    return values[cell], 0 if cell[0] == "cell" else 1, repr(cell)


def _smallest(values: dict[CellId, int], hidden: set[CellId], cells: Iterable[CellId]) -> CellId | None:
    shown = [c for c in cells if c not in hidden and values[c] > 0]
    return min(shown, key=lambda c: _order(values, c)) if shown else None


def _lines_rule(values: dict[CellId, int], lines: list[list[CellId]], hidden: set[CellId]) -> bool:
    """Step 2a until stable; True if anything was hidden."""
    changed = False
    again = True
    while again:
        again = False
        for line in lines:
            if sum(1 for c in line if c in hidden) == 1:
                extra = _smallest(values, hidden, line)
                if extra is not None:
                    hidden.add(extra)
                    again = changed = True
    return changed


def determined(lines: list[list[CellId]], hidden: set[CellId]) -> set[CellId]:
    """The hidden cells that the line equations fix once every shown number is known.

    Each line says: sum(parts) - total = 0. Shown numbers are constants; what is left is a
    homogeneous system in the hidden cells. A hidden cell is fixed exactly when every solution of
    that system is 0 there: in reduced row echelon form, it is a pivot whose row has no free column.
    """
    rows: list[dict[CellId, Fraction]] = []
    for line in lines:
        coeffs: dict[CellId, Fraction] = {}
        *parts, whole = line
        for c in parts:
            if c in hidden:
                coeffs[c] = coeffs.get(c, Fraction(0)) + 1
        if whole in hidden:
            coeffs[whole] = coeffs.get(whole, Fraction(0)) - 1
        coeffs = {c: v for c, v in coeffs.items() if v}
        if coeffs:
            rows.append(coeffs)
    pivots: dict[CellId, dict[CellId, Fraction]] = {}
    for row in rows:
        row = dict(row)
        for p, prow in pivots.items():  # reduce by the pivots found so far
            if p in row:
                factor = row[p]
                for c, v in prow.items():
                    row[c] = row.get(c, Fraction(0)) - factor * v
                row = {c: v for c, v in row.items() if v}
        if not row:
            continue
        p = min(row, key=repr)
        scale = row[p]
        row = {c: v / scale for c, v in row.items()}
        for q, qrow in pivots.items():  # keep the earlier pivot rows reduced
            if p in qrow:
                factor = qrow[p]
                for c, v in row.items():
                    qrow[c] = qrow.get(c, Fraction(0)) - factor * v
                pivots[q] = {c: v for c, v in qrow.items() if v}
        pivots[p] = row
    return {p for p, row in pivots.items() if all(c == p for c in row)}


def protect(tables: Sequence[Table], threshold: int = THRESHOLD) -> list[Published]:
    """Suppress small counts in these tables (which share their totals), with complements."""
    values = _check_shared(tables)
    lines = [[*parts, whole] for t in tables for parts, whole in t.lines()]
    hidden = {c for c, v in values.items() if 0 < v < threshold}
    while True:
        _lines_rule(values, lines, hidden)
        fixed = determined(lines, hidden)
        if not fixed:
            break
        added = False
        for cell in sorted(fixed, key=repr):
            around = [c for line in lines if cell in line for c in line]
            extra = _smallest(values, hidden, around)
            if extra is None:
                extra = _smallest(values, hidden, values)
            if extra is not None:
                hidden.add(extra)
                added = True
        if not added:  # everything non-zero is hidden: nothing is left to give anything back
            break
    frozen = frozenset(hidden)
    return [Published(t, frozen) for t in tables]
