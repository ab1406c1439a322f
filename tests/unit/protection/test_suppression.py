"""Small-cell suppression: no hidden count can be worked out from what is published.

For many random small tables (alone, and linked the way the statistics page links them: two tables
sharing their row totals, and all sharing the grand total), every hidden number is shown to have
another possible value: the test builds, from the published numbers only, a second non-negative
table that publishes exactly the same numbers and differs in that cell (and a third on the other
side, at least 1 away, in whole counts), solving the line equations independently of the module
under test.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from jatigi.protection.suppression import TOTAL, Published, Table, protect

SMALL = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20]


def _table(rng: random.Random, name: str, row_dim: str, col_dim: str, rows: list[str], cols: list[str]) -> Table:
    return Table(name, row_dim, col_dim, rows, cols, {(r, c): rng.choice(SMALL) for r in rows for c in cols})


def _linked(rng: random.Random) -> list[Table]:
    """type x month, type x area (same types: same row totals), age x sex (same grand total)."""
    types = [f"t{i}" for i in range(rng.randint(2, 4))]
    months = [f"m{i}" for i in range(rng.randint(2, 4))]
    areas = [f"a{i}" for i in range(rng.randint(2, 3))]
    a = _table(rng, "type_month", "type", "month", types, months)
    # type x area: the same row totals, split another way.
    b = Table("type_area", "type", "area", types, areas)
    for t in types:
        left = a.row_total(t)
        for area in areas[:-1]:
            share = rng.randint(0, left)
            b.cells[(t, area)] = share
            left -= share
        b.cells[(t, areas[-1])] = left
    ages, sexes = ["0-11", "12-17", "18-59"], ["f", "m"]
    c = Table("age_sex", "age", "sex", ages, sexes)
    left = a.total()
    for i, age in enumerate(ages):
        for j, sex in enumerate(sexes):
            last = i == len(ages) - 1 and j == len(sexes) - 1
            share = left if last else rng.randint(0, left)
            c.cells[(age, sex)] = share
            left -= share
    return [a, b, c]


def _variables(published: list[Published]) -> dict[tuple[object, ...], int]:
    """Every hidden number (inner cells, totals shared by name) with its true value."""
    out: dict[tuple[object, ...], int] = {}
    for p in published:
        t = p.table
        for r in t.rows:
            for c in t.cols:
                if p.cell(r, c) is None:
                    out[t.cell_id(r, c)] = t.value(r, c)
            if p.row_total(r) is None:
                out[t.row_id(r)] = t.row_total(r)
        for c in t.cols:
            if p.col_total(c) is None:
                out[t.col_id(c)] = t.col_total(c)
        if p.total() is None:
            out[TOTAL] = t.total()
    return out


def _equations(published: list[Published]) -> list[tuple[dict[tuple[object, ...], int], int]]:
    """What a reader knows: for each line, sum(parts) - total = 0, shown numbers moved to the right."""
    out = []
    for p in published:
        t = p.table
        lines = [([(t.cell_id(r, c), p.cell(r, c)) for c in t.cols], (t.row_id(r), p.row_total(r))) for r in t.rows]
        lines += [([(t.cell_id(r, c), p.cell(r, c)) for r in t.rows], (t.col_id(c), p.col_total(c)))
                  for c in t.cols]
        lines.append(([(t.row_id(r), p.row_total(r)) for r in t.rows], (TOTAL, p.total())))
        lines.append(([(t.col_id(c), p.col_total(c)) for c in t.cols], (TOTAL, p.total())))
        for parts, (whole, whole_value) in lines:
            coeffs: dict[tuple[object, ...], int] = {}
            rhs = 0
            for cell, value in parts:
                if value is None:
                    coeffs[cell] = coeffs.get(cell, 0) + 1
                else:
                    rhs -= value
            if whole_value is None:
                coeffs[whole] = coeffs.get(whole, 0) - 1
            else:
                rhs += whole_value
            out.append((coeffs, rhs))
    return out


def _solve(equations: list[tuple[dict[object, Fraction], Fraction]], unknowns: list[object]) -> dict[object, Fraction] | None:
    """One solution of a linear system (Gauss-Jordan, free unknowns at 0), or None if there is none."""
    index = {u: i for i, u in enumerate(unknowns)}
    rows = [[Fraction(0)] * len(unknowns) + [Fraction(rhs)] for _c, rhs in equations]
    for row, (coeffs, _rhs) in zip(rows, equations, strict=True):
        for u, v in coeffs.items():
            row[index[u]] = Fraction(v)
    pivot_cols = []
    r = 0
    for col in range(len(unknowns)):
        found = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if found is None:
            continue
        rows[r], rows[found] = rows[found], rows[r]
        rows[r] = [v / rows[r][col] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivot_cols.append(col)
        r += 1
    if any(all(v == 0 for v in row[:-1]) and row[-1] != 0 for row in rows):
        return None
    solution = dict.fromkeys(unknowns, Fraction(0))
    for i, col in enumerate(pivot_cols):
        solution[unknowns[col]] = rows[i][-1]
    return solution


def _another_table(published: list[Published], cell: tuple[object, ...], truth: dict[tuple[object, ...], int],
                   sign: int) -> dict[tuple[object, ...], Fraction] | None:
    """A non-negative filling of the hidden numbers consistent with every published number, in which
    `cell` differs from its true value (moved in the direction `sign`), or None."""
    unknowns = list(truth)
    # A change d of the hidden numbers keeping every equation: M d = 0, with d[cell] = sign.
    homogeneous = [({u: Fraction(v) for u, v in coeffs.items()}, Fraction(0)) for coeffs, _rhs in _equations(published)]
    homogeneous.append(({cell: Fraction(1)}, Fraction(sign)))
    d = _solve(homogeneous, unknowns)
    if d is None:
        return None
    step = 1 / max(abs(v) for v in d.values())
    other = {u: truth[u] + step * d[u] for u in unknowns}
    if any(v < 0 for v in other.values()):
        return None
    return other


def _assert_consistent(published: list[Published], filling: dict[tuple[object, ...], Fraction]) -> None:
    for coeffs, rhs in _equations(published):
        assert sum(v * filling[u] for u, v in coeffs.items()) == rhs


def _assert_unrecoverable(published: list[Published]) -> None:
    truth = _variables(published)
    for coeffs, rhs in _equations(published):  # the true numbers satisfy what is published
        assert sum(v * truth[u] for u, v in coeffs.items()) == rhs
    for cell, value in truth.items():
        assert value >= 1, f"a zero was hidden: {cell}"
        for sign in (1, -1):
            other = _another_table(published, cell, truth, sign)
            assert other is not None, f"{cell} = {value} can be worked out"
            _assert_consistent(published, other)
            # A table of whole non-negative counts, the cell at least 1 away: the interval of what the
            # cell may be, given everything published, is at least 2 wide.
            assert all(v.denominator == 1 and v >= 0 for v in other.values())
            assert (other[cell] - value) * sign >= 1


def _assert_small_hidden(published: list[Published], threshold: int = 5) -> None:
    for p in published:
        t = p.table
        for r in t.rows:
            for c in t.cols:
                if 0 < t.value(r, c) < threshold:
                    assert p.cell(r, c) is None
                if t.value(r, c) == 0:
                    assert p.cell(r, c) == 0
            if 0 < t.row_total(r) < threshold:
                assert p.row_total(r) is None
        for c in t.cols:
            if 0 < t.col_total(c) < threshold:
                assert p.col_total(c) is None
        if 0 < t.total() < threshold:
            assert p.total() is None


@pytest.mark.parametrize("seed", range(250))
def test_no_hidden_cell_of_a_random_table_can_be_worked_out(seed: int) -> None:
    rng = random.Random(seed)
    rows = [f"r{i}" for i in range(rng.randint(1, 5))]
    cols = [f"c{i}" for i in range(rng.randint(1, 5))]
    published = protect([_table(rng, "t", "row", "col", rows, cols)])
    _assert_small_hidden(published)
    _assert_unrecoverable(published)


@pytest.mark.parametrize("seed", range(120))
def test_no_hidden_cell_of_linked_tables_can_be_worked_out_from_any_of_them(seed: int) -> None:
    rng = random.Random(1000 + seed)
    published = protect(_linked(rng))
    _assert_small_hidden(published)
    _assert_unrecoverable(published)
    # A total shared by two tables is hidden in both or in neither.
    a, b = published[0], published[1]
    for t in a.table.rows:
        assert (a.row_total(t) is None) == (b.row_total(t) is None)


def test_a_lone_small_cell_takes_a_complement_in_its_row_and_column() -> None:
    t = Table("t", "row", "col", ["a", "b"], ["x", "y", "z"],
              {("a", "x"): 3, ("a", "y"): 10, ("a", "z"): 20, ("b", "x"): 8, ("b", "y"): 9, ("b", "z"): 30})
    [p] = protect([t])
    assert p.cell("a", "x") is None
    assert p.cell("a", "y") is None  # the smallest other of row a
    assert p.cell("b", "x") is None  # the smallest other of column x
    assert p.cell("b", "y") is None  # closes the rectangle
    assert p.cell("a", "z") == 20 and p.total() == 80
    _assert_unrecoverable([p])


def test_two_hidden_cells_linked_by_a_single_path_are_not_enough() -> None:
    """Two rectangles of hidden cells joined by one hidden cell: that cell is fixed by the equations
    although every line holds two hidden numbers; the linear check hides more."""
    rows, cols = ["r1", "r2", "r3", "r4"], ["c1", "c2", "c3", "c4"]
    cells = {(r, c): 50 for r in rows for c in cols}
    cells.update({("r1", "c1"): 1, ("r1", "c2"): 2, ("r2", "c1"): 3, ("r2", "c2"): 1,
                  ("r3", "c3"): 2, ("r3", "c4"): 1, ("r4", "c3"): 4, ("r4", "c4"): 2, ("r2", "c3"): 4})
    published = protect([Table("t", "row", "col", rows, cols, cells)])
    _assert_unrecoverable(published)


def test_zeros_are_shown_and_a_table_of_zeros_hides_nothing() -> None:
    [p] = protect([Table("t", "row", "col", ["a"], ["x", "y"], {})])
    assert p.cell("a", "x") == 0 and p.total() == 0


def test_a_small_grand_total_is_hidden_everywhere() -> None:
    t = Table("t", "row", "col", ["a", "b"], ["x"], {("a", "x"): 1, ("b", "x"): 2})
    [p] = protect([t])
    assert p.total() is None and p.cell("a", "x") is None and p.col_total("x") is None
    _assert_unrecoverable([p])


def test_tables_that_disagree_on_a_shared_total_are_refused() -> None:
    a = Table("a", "type", "month", ["t"], ["m"], {("t", "m"): 6})
    b = Table("b", "type", "area", ["t"], ["x"], {("t", "x"): 7})
    with pytest.raises(ValueError):
        protect([a, b])
