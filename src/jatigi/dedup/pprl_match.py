"""Matching two files of privacy-preserving encodings (or one file with itself), without the secret.

1. Candidate pairs: records sharing a keyed blocking key (id number, phone, family name and
   birth year, given name and birth year, both names and region, sound of both names). A key
   value shared by so many records that it would make more than `MAX_BLOCK_PAIRS` pairs is not
   used on its own (such pairs are still found through the other keys) and is reported.
2. Comparison: the Dice coefficient of each pair of filters (given and family names compared
   straight and crosswise, to catch swapped names), cut into levels.
3. Score: a logistic model over the levels and over how many pairs share the pair's name and
   phone keys (a common name says less than a rare one), fitted on labelled synthetic lists of
   several sizes and duplicate rates (`bench/pprl.py --fit`). Its output is the probability that
   a candidate pair is the same person, calibrated on those lists (see docs/PPRL.md).
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jatigi.core.i18n import _
from jatigi.dedup.pprl import BLOCKING_KEYS, EncodingFileError, Encodings

THRESHOLD = 0.5
MAX_BLOCK_PAIRS = 250_000
LINKS = ("all", "one-to-one", "many-to-one")

# Dice coefficient cut points: level 0 is the closest.
CUTS: dict[str, tuple[float, ...]] = {
    "name": (0.9, 0.8, 0.7, 0.6, 0.5, 0.35),
    "birth_year": (0.75, 0.5, 0.28, 0.14),  # same year; same year, other sex; a year apart; two apart
    "birth_date": (0.75, 0.45, 0.25),
    "phone": (0.75, 0.45),
    "place": (0.7, 0.35),  # same commune; same cercle
}

# Fitted by `bench/pprl.py --fit` (see docs/PPRL.md); identity numbers are not in the synthetic
# data: their weights are set by hand.
MODEL: dict[str, object] = {
    "intercept": -3.6282,
    "weights": {
        "birth_date:0": 6.1473,
        "birth_date:1": 1.1552,
        "birth_date:2": -1.8547,
        "birth_date:3": -5.9392,
        "birth_date:missing": 0.4914,
        "birth_year:0": 2.7827,
        "birth_year:1": -1.0218,
        "birth_year:2": 2.0379,
        "birth_year:3": -0.3386,
        "birth_year:4": -3.3416,
        "birth_year:missing": -0.1186,
        "family:0": 0.9849,
        "family:1": 1.0312,
        "family:2": 1.1322,
        "family:3": 1.2985,
        "family:4": 1.0111,
        "family:5": 0.1354,
        "family:6": -5.5934,
        "family_not_given": -0.14,
        "given:0": 1.1317,
        "given:1": 1.2231,
        "given:2": 0.8287,
        "given:3": 1.1677,
        "given:4": 1.224,
        "given:5": -0.5347,
        "given:6": -5.0404,
        "names_area_shared:0": 2.0498,
        "names_area_shared:1": 1.0066,
        "names_area_shared:2": 0.2014,
        "names_area_shared:3": -0.4704,
        "names_area_shared:4": -1.0873,
        "names_area_shared:5": -1.9982,
        "names_area_shared:6": 0.2982,
        "names_close": 0.0365,
        "phone:0": 2.5115,
        "phone:1": -0.0021,
        "phone:2": -1.5827,
        "phone:missing": -0.9267,
        "phone_not_given": -2.5803,
        "phone_shared:0": 2.5892,
        "phone_shared:1": 1.3572,
        "phone_shared:2": 0.1993,
        "phone_shared:3": -1.0097,
        "phone_shared:4": -0.6246,
        "phone_shared:6": -1.5848,
        "phone_shared:missing": -0.9267,
        "place:0": 3.3236,
        "place:1": -0.0273,
        "place:2": -3.2962,
        "sound_shared:0": 1.4599,
        "sound_shared:1": 0.566,
        "sound_shared:2": 0.2682,
        "sound_shared:3": -0.1006,
        "sound_shared:4": -0.3422,
        "sound_shared:5": -0.6808,
        "sound_shared:6": -1.1706,
        "swapped": 0.0303,
    },
}
HAND_WEIGHTS = {"id_number:0": 6.0, "id_number:1": -2.0}


@dataclass
class MatchResult:
    pairs: list[tuple[str, str, float]]
    candidates: int
    skipped_blocks: int
    largest_block: int


# --- candidate pairs ----------------------------------------------------------------------------

def _index(values: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        if v:
            index.setdefault(v, []).append(i)
    return index


class Blocking:
    """Candidate pairs (index in a, index in b) sharing a blocking key; with `b` None, pairs i < j
    of `a`. Each pair comes once, under the first key that brings it. After iterating, `skipped`
    counts the key values left aside for making too many pairs and `largest` the largest block used."""

    def __init__(self, a: Encodings, b: Encodings | None, *, max_block_pairs: int = MAX_BLOCK_PAIRS) -> None:
        self.a, self.b = a, b
        self.max_block_pairs = max_block_pairs
        self.skipped = 0
        self.largest = 0
        self.count = 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        same = self.b is None
        other = self.a if self.b is None else self.b
        used: list[tuple[list[str], list[str], set[str]]] = []  # earlier keys and their values left aside
        for key in BLOCKING_KEYS:
            left, right = self.a.keys[key], other.keys[key]
            index_a, index_b = _index(left), (None if same else _index(right))
            too_big: set[str] = set()
            for value, rows_a in index_a.items():
                rows_b = rows_a if index_b is None else index_b.get(value)
                if not rows_b:
                    continue
                size = len(rows_a) * (len(rows_a) - 1) // 2 if same else len(rows_a) * len(rows_b)
                if size > self.max_block_pairs:
                    too_big.add(value)
                    self.skipped += 1
                    continue
                self.largest = max(self.largest, size)
                for i in rows_a:
                    for j in rows_b:
                        if (same and j <= i) or _seen(used, i, j):
                            continue
                        self.count += 1
                        yield i, j
            used.append((left, right, too_big))


def _seen(used: list[tuple[list[str], list[str], set[str]]], i: int, j: int) -> bool:
    for left, right, too_big in used:
        v = left[i]
        if v and v == right[j] and v not in too_big:
            return True
    return False


# --- comparison ---------------------------------------------------------------------------------

def level(dice: float | None, cuts: tuple[float, ...]) -> int:
    """0 for the closest level, len(cuts) for the farthest, -1 when a value is missing."""
    if dice is None:
        return -1
    for i, cut in enumerate(cuts):
        if dice >= cut:
            return i
    return len(cuts)


BLOCK_SIZES = (1, 4, 16, 64, 256)  # levels of how many pairs share a key value: 0 = this pair alone
SHARED_KEYS = ("sound", "names_area", "phone")


class Comparer:
    """Levels of agreement between the records of two files (bit counts and key counts computed once)."""

    def __init__(self, a: Encodings, b: Encodings) -> None:
        self.a, self.b = a, b
        self.same = b is a
        self.count_a = {k: [x.bit_count() for x in v] for k, v in a.filters.items()}
        self.count_b = self.count_a if self.same else {k: [x.bit_count() for x in v] for k, v in b.filters.items()}
        # How common a key value is tells how much sharing it says: the keyed values are all the
        # matcher sees of a name's frequency, and they are in the files anyway.
        self.key_count_a = {k: Counter(v for v in a.keys[k] if v) for k in SHARED_KEYS}
        self.key_count_b = self.key_count_a if self.same else {
            k: Counter(v for v in b.keys[k] if v) for k in SHARED_KEYS}

    def dice(self, left: str, i: int, right: str, j: int) -> float | None:
        na, nb = self.count_a[left][i], self.count_b[right][j]
        if not na or not nb:
            return None
        return 2 * (self.a.filters[left][i] & self.b.filters[right][j]).bit_count() / (na + nb)

    def block_level(self, key: str, i: int, j: int) -> int:
        """-1 when a key is missing, len(BLOCK_SIZES) + 1 when the values differ, else the level of
        the number of pairs sharing the value (0: only this pair)."""
        va, vb = self.a.keys[key][i], self.b.keys[key][j]
        if not va or not vb:
            return -1
        if va != vb:
            return len(BLOCK_SIZES) + 1
        ca, cb = self.key_count_a[key][va], self.key_count_b[key][vb]
        pairs = ca * (ca - 1) // 2 if self.same else ca * cb
        return next((n for n, size in enumerate(BLOCK_SIZES) if pairs <= size), len(BLOCK_SIZES))

    def levels(self, i: int, j: int) -> tuple[int, ...]:
        """One level per name in `LEVEL_NAMES`."""
        gg, ff = self.dice("given", i, "given", j), self.dice("family", i, "family", j)
        gf, fg = self.dice("given", i, "family", j), self.dice("family", i, "given", j)
        swapped = (gf or 0) + (fg or 0) > (gg or 0) + (ff or 0)
        if swapped:
            gg, ff = gf, fg
        ka, kb = self.a.keys["id_number"][i], self.b.keys["id_number"][j]
        return (level(gg, CUTS["name"]), level(ff, CUTS["name"]), int(swapped),
                level(self.dice("birth_year", i, "birth_year", j), CUTS["birth_year"]),
                level(self.dice("birth_date", i, "birth_date", j), CUTS["birth_date"]),
                level(self.dice("phone", i, "phone", j), CUTS["phone"]),
                level(self.dice("place", i, "place", j), CUTS["place"]),
                -1 if not (ka and kb) else int(ka != kb),
                *(self.block_level(k, i, j) for k in SHARED_KEYS))


LEVEL_NAMES = ("given", "family", "swapped", "birth_year", "birth_date", "phone", "place", "id_number",
               *(f"{k}_shared" for k in SHARED_KEYS))


def features(levels: tuple[int, ...]) -> list[str]:
    """The model's inputs for one pair: each field's level, and combinations that the fields on
    their own do not tell apart (both names close; a shared phone or family name with another
    given name, as in a family)."""
    given, family, swapped, _year, _date, phone = levels[:6]
    out = [f"{name}:{'missing' if lvl < 0 else lvl}" for name, lvl in zip(LEVEL_NAMES, levels, strict=True)
           if name != "swapped"]
    if swapped:
        out.append("swapped")
    if 0 <= given <= 1 and 0 <= family <= 1:
        out.append("names_close")
    if phone == 0 and given >= 4:
        out.append("phone_not_given")
    if family in (0, 1) and given >= 4:
        out.append("family_not_given")
    return out


def logit(levels: tuple[int, ...], model: dict[str, object] | None = None) -> float:
    m = model or MODEL
    weights: dict[str, float] = m["weights"]  # type: ignore[assignment]
    z = float(m["intercept"])  # type: ignore[arg-type]
    for f in features(levels):
        z += weights.get(f, HAND_WEIGHTS.get(f, 0.0))
    return z


def _sigmoid(z: float) -> float:
    if z < -35:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def _log_odds(p: float) -> float:
    return math.log(p / (1 - p))


# --- matching -----------------------------------------------------------------------------------

def check_comparable(a: Encodings, b: Encodings) -> None:
    if a.check != b.check:
        raise EncodingFileError(_("{a} and {b} were not encoded with the same secret and settings: they cannot be "
                                  "compared. Both agencies must encode with the same secret file.",
                                  a=a.name, b=b.name))


def match(a: Encodings, b: Encodings | None = None, *, threshold: float = THRESHOLD, link: str = "all",
          max_block_pairs: int = MAX_BLOCK_PAIRS, model: dict[str, object] | None = None) -> MatchResult:
    """Pairs of records of `a` and `b` (or of `a` with itself) at or above `threshold`."""
    if b is not None:
        check_comparable(a, b)
    blocking = Blocking(a, b, max_block_pairs=max_block_pairs)
    other = b if b is not None else a
    comparer = Comparer(a, other)
    memo: dict[tuple[int, ...], float] = {}
    cut = _log_odds(min(max(threshold, 1e-12), 1 - 1e-12))
    pairs = []
    for i, j in blocking:
        lv = comparer.levels(i, j)
        z = memo.get(lv)
        if z is None:
            z = memo[lv] = logit(lv, model)
        if z >= cut or threshold <= 0:
            id_a, id_b = a.ids[i], other.ids[j]
            if b is None and id_b < id_a:
                id_a, id_b = id_b, id_a
            pairs.append((id_a, id_b, _sigmoid(z)))
    pairs.sort(key=lambda t: (-t[2], t[0], t[1]))
    return MatchResult(_linked(pairs, link, within=b is None), blocking.count, blocking.skipped, blocking.largest)


def _linked(pairs: list[tuple[str, str, float]], link: str, *, within: bool = False) -> list[tuple[str, str, float]]:
    """Keep every pair, or each record in at most one pair (one-to-one), or each record of the
    first file in at most one pair (many-to-one); the most probable pairs are kept first. Within
    one file, a record is the same on either side of a pair."""
    if link == "all":
        return pairs
    taken_a: set[str] = set()
    taken_b: set[str] = taken_a if within else set()
    out = []
    for id_a, id_b, p in pairs:
        if id_a in taken_a or (link == "one-to-one" and id_b in taken_b):
            continue
        taken_a.add(id_a)
        taken_b.add(id_b)
        out.append((id_a, id_b, p))
    return out


def write_pairs(path: Path, pairs: Iterable[tuple[str, str, float]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("id_a", "id_b", "match_probability"))
        for id_a, id_b, p in pairs:
            out.writerow((id_a, id_b, f"{p:.4f}"))
            n += 1
    return n


# --- fitting ------------------------------------------------------------------------------------

def fit(samples: Iterable[tuple[tuple[int, ...], bool, float]], *, iterations: int = 30,
        l2: float = 1.0) -> dict[str, object]:
    """A logistic model over `features` from weighted labelled pairs (levels, is the same person,
    weight), by Newton's method on the distinct feature patterns, with a small ridge penalty."""
    positives: dict[tuple[int, ...], float] = {}
    totals: dict[tuple[int, ...], float] = {}
    for levels, same, weight in samples:
        totals[levels] = totals.get(levels, 0.0) + weight
        positives[levels] = positives.get(levels, 0.0) + (weight if same else 0.0)
    names = sorted({f for lv in totals for f in features(lv)})
    column = {f: i + 1 for i, f in enumerate(names)}  # column 0: the intercept
    rows = [([0] + [column[f] for f in features(lv)], totals[lv], positives[lv]) for lv in totals]
    size = len(names) + 1
    beta = [0.0] * size
    for _i in range(iterations):
        grad = [0.0] * size
        hess = [[0.0] * size for _ in range(size)]
        for cols, total, pos in rows:
            p = _sigmoid(sum(beta[c] for c in cols))
            err = pos - total * p
            w = total * p * (1 - p)
            for c in cols:
                grad[c] += err
                row = hess[c]
                for d in cols:
                    row[d] += w
        for c in range(1, size):
            grad[c] -= l2 * beta[c]
            hess[c][c] += l2
        step = _solve(hess, grad)
        beta = [b + s for b, s in zip(beta, step, strict=True)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return {"intercept": round(beta[0], 4),
            "weights": {f: round(beta[column[f]], 4) for f in names if abs(beta[column[f]]) >= 1e-4}}


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve matrix x = vector by Gaussian elimination with partial pivoting."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < 1e-12:
            continue
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            if factor:
                for c in range(col, n + 1):
                    a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(a[r][r]) >= 1e-12:
            x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x
