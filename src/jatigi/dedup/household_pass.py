"""The household pass: what the pairs found say about each other, once every pair is scored.

A household registered again by another agency is a pair of registrations whose members pair one
to one. Three rules follow, applied to the model's pairs between records of two registrations
(`household` given):

- **one to one**: a person is listed once in a registration, so they pair with at most one member
  of another registration, the one they score highest with. A brother of the household
  registered twice, who shares its name-and-age evidence but not the name, loses to the real
  copy;
- **support**: each *other* pair of the same two registrations at or above the threshold (not
  involving either record) adds `BONUS_BITS` to a pair's match weight, up to `MAX_SUPPORT` of
  them: a copy whose names and birth date were written badly is still found when the rest of
  its household pairs;
- **no support**: when both registrations list other members and none of them pair, the pair
  loses `PENALTY_BITS`: a household registered again brings its members along, while a namesake
  with the same common names and a vaguely written birth year lives with other people. On a
  generated million people (10 % duplicates) such pairs were 5,106 false matches for 1,527 true
  ones; the penalty took F1 from 0.939 to 0.956. Every pair between two registrations that a pair
  at or above the threshold joins is scored before the pass (`household_expansion`), so "none of
  them pair" is the model's finding, not blocking's.

On the generated lists (bench/dedup.py, 100,000 records, 10 % duplicates, F1 at 0.9): 0.936
before the pass, 0.947 with one to one, 0.967 with support too; any bonus of 2 to 8 bits gave
0.955-0.967, 4 bits and up to three pairs was best at 10,000 and 100,000, 10 % and 30 %.
The pass uses only pairs between the two registrations, so `Linkage.explain` can redo it for one
pair.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

BONUS_BITS = 4.0
MAX_SUPPORT = 3
PENALTY_BITS = 4.0
MAX_BONUS = BONUS_BITS * MAX_SUPPORT
COLUMN = "mw_household_pass"  # the weight the pass added to a pair, in bits
SUPPORT = "household_pair_support"
FIELD = "household_pass"  # its row in an explanation
_SEP = "\x1f"


def floor(threshold: float) -> float:
    """The lowest match probability the pass can lift to `threshold`: pairs are scored from there."""
    if threshold <= 0 or threshold >= 1:
        return threshold
    return threshold / (threshold + (1 - threshold) * 2.0 ** MAX_BONUS)


def unordered_key(left: pa.ChunkedArray, right: pa.ChunkedArray) -> pa.ChunkedArray:
    """Two string columns as one key per row, whichever side each value is on (null when either is)."""
    forward = pc.binary_join_element_wise(left, right, _SEP)
    backward = pc.binary_join_element_wise(right, left, _SEP)
    return pc.if_else(pc.less_equal(left, right), forward, backward)


def registration_pair(table: pa.Table) -> pa.ChunkedArray:
    """The two registrations of each pair, in either order, as one key; null when either is missing
    or both records are of one registration (the model's household comparison weighs those)."""
    left, right = table.column("household_l"), table.column("household_r")
    return pc.if_else(pc.equal(left, right), pa.scalar(None, pa.string()), unordered_key(left, right))


def one_to_one(keys: list[str | None], ids_l: list[str], ids_r: list[str], weights: list[float]) -> list[bool]:
    """Which pairs to keep: within each pair of registrations, the highest weight first, a pair
    is kept when neither record is already paired there. Pairs without registrations are kept."""
    keep = [True] * len(keys)
    # Equal weights are settled by the records' ids, not by the order the engine returned the pairs in.
    order = sorted((i for i, k in enumerate(keys) if k is not None),
                   key=lambda i: (keys[i], -weights[i], min(ids_l[i], ids_r[i]), max(ids_l[i], ids_r[i])))
    current: str | None = None
    used: set[str] = set()
    for i in order:
        if keys[i] != current:
            current, used = keys[i], set()
        if ids_l[i] in used or ids_r[i] in used:
            keep[i] = False
            continue
        used.add(ids_l[i])
        used.add(ids_r[i])
    return keep


def support(table: pa.Table, keys: pa.ChunkedArray, threshold: float) -> list[int]:
    """For each pair, how many other pairs of the same two registrations reach `threshold` (one to
    one, neither record involved)."""
    strong_mask = pc.and_(pc.greater_equal(table.column("match_probability"), threshold), pc.is_valid(keys))
    strong = pa.table({"g": keys, "a": table.column("unique_id_l"), "b": table.column("unique_id_r"),
                       "w": table.column("match_weight")}).filter(strong_mask)
    g, a, b = strong.column("g").to_pylist(), strong.column("a").to_pylist(), strong.column("b").to_pylist()
    kept = one_to_one(g, a, b, strong.column("w").to_pylist())
    count: dict[str, int] = {}
    partner: dict[tuple[str, str], str] = {}  # (registration pair, record) -> the record it is paired with there
    for key, x, y, k in zip(g, a, b, kept, strict=True):
        if k:
            count[key] = count.get(key, 0) + 1
            partner[(key, x)] = y
            partner[(key, y)] = x
    out = [0] * table.num_rows
    if not count:
        return out
    rows = pc.indices_nonzero(pc.fill_null(pc.is_in(keys, value_set=pa.array(list(count))), False))
    picked = table.take(rows)
    for i, key, x, y in zip(rows.to_pylist(), keys.take(rows).to_pylist(), picked.column("unique_id_l").to_pylist(),
                            picked.column("unique_id_r").to_pylist(), strict=True):
        px, py = partner.get((key, x)), partner.get((key, y))
        taken = 1 if px == y else (px is not None) + (py is not None)  # this pair, or the pairs of either record
        out[i] = count[key] - taken
    return out


def sizes(households: pa.Array | pa.ChunkedArray) -> pa.Table:
    """`household`, `members`: how many records of the list each registration holds."""
    counted = pa.table({"household": households}).group_by("household").aggregate([("household", "count")])
    return counted.rename_columns(["household", "members"]).filter(pc.is_valid(counted.column(0)))


def both_with_others(table: pa.Table, members: pa.Table) -> pa.Array:
    """For each pair, whether both records' registrations list someone else."""
    def more_than_one(side: str) -> pa.Array:
        at = pc.index_in(table.column(side), value_set=members.column("household"))
        return pc.fill_null(pc.greater(pc.take(members.column("members"), at), 1), False)

    return pc.and_(more_than_one("household_l"), more_than_one("household_r"))


def lifted(table: pa.Table, threshold: float, members: pa.Table) -> pa.Table:
    """Every pair of `table` with the support of the others: `match_weight` and `match_probability`
    after it, `mw_household_pass` the weight it added (negative: no support), `household_pair_support`
    how many other pairs gave it. `table` holds Splink's scored pairs (`unique_id_l`, `unique_id_r`,
    `match_weight`, `match_probability`, `household_l`, `household_r`, …); `members` the size of
    each registration (`sizes`)."""
    keys = registration_pair(table)
    others = support(table, keys, threshold)
    counted = pa.array(others, type=pa.int64())
    bonus = pc.multiply(pc.min_element_wise(counted, MAX_SUPPORT), BONUS_BITS)
    alone = pc.and_(pc.equal(counted, 0), pc.and_(pc.is_valid(keys), both_with_others(table, members)))
    bonus = pc.if_else(alone, -PENALTY_BITS, pc.cast(bonus, pa.float64()))
    weight = pc.add(pc.cast(table.column("match_weight"), pa.float64()), bonus)
    raised = pc.divide(1.0, pc.add(1.0, pc.power(2.0, pc.negate(weight))))
    probability = pc.if_else(pc.not_equal(bonus, 0), raised, table.column("match_probability"))
    out = table.set_column(table.column_names.index("match_weight"), "match_weight", weight)
    out = out.set_column(out.column_names.index("match_probability"), "match_probability", probability)
    return out.append_column(COLUMN, bonus).append_column(SUPPORT, counted)


def kept(table: pa.Table) -> pa.Array:
    """Which pairs of a lifted table (all at or above the threshold) stay: one to one within each
    pair of registrations, the highest weight first."""
    keys = registration_pair(table).to_pylist()
    return pa.array(one_to_one(keys, table.column("unique_id_l").to_pylist(), table.column("unique_id_r").to_pylist(),
                               table.column("match_weight").to_pylist()), type=pa.bool_())


def apply(table: pa.Table, threshold: float, members: pa.Table) -> pa.Table:
    """The pairs at or above `threshold` after the pass (see `lifted`; `table` is scored from
    `floor(threshold)`), one to one within each pair of registrations."""
    out = lifted(table, threshold, members)
    out = out.filter(pc.greater_equal(out.column("match_probability"), threshold))
    return out.filter(kept(out)).drop_columns([SUPPORT])


def weight_to_probability(weight: float) -> float:
    return 1 / (1 + math.pow(2.0, -weight))
