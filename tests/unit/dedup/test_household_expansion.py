"""Household expansion: registrations joined by a strong pair are gathered so that all their members are compared."""

from __future__ import annotations

import pyarrow as pa

from jatigi.dedup import household_expansion
from jatigi.dedup.household_expansion import MAX_GROUP_RECORDS


def _people(households: list[str | None]) -> pa.Table:
    return pa.table({"unique_id": [f"r{i}" for i in range(len(households))],
                     "household": pa.array(households, pa.string())})


def _found(pairs: list[tuple[str | None, str | None]]) -> pa.Table:
    return pa.table({"household_l": pa.array([a for a, _b in pairs], pa.string()),
                     "household_r": pa.array([b for _a, b in pairs], pa.string())})


def test_registrations_of_one_household_share_a_group_and_others_have_none() -> None:
    # H1 registered again as H2 and a third time as H3 (H3 pairs only with H2); H4 pairs with nobody,
    # H5's strong pair is with a member of its own registration; the last record has no registration.
    people = _people(["H1", "H1", "H2", "H2", "H3", "H4", "H5", "H5", None])

    groups = household_expansion.groups(_found([("H1", "H2"), ("H3", "H2"), ("H5", "H5"), (None, "H4")]),
                                        people).to_pylist()

    assert groups[0] == groups[1] == groups[2] == groups[3] == groups[4] is not None
    assert groups[5:] == [None, None, None, None]


def test_a_chain_of_namesakes_too_large_to_be_one_household_is_left_out() -> None:
    size = MAX_GROUP_RECORDS // 4 + 1
    households = [f"H{i}" for i in range(size) for _ in range(4)] + ["A", "A", "B"]
    people = _people(households)
    chain = [(f"H{i}", f"H{i + 1}") for i in range(size - 1)]

    groups = household_expansion.groups(_found([*chain, ("A", "B")]), people).to_pylist()

    assert len(households) - 3 > MAX_GROUP_RECORDS
    assert set(groups[:-3]) == {None}
    assert groups[-3] == groups[-2] == groups[-1] is not None


def test_only_pairs_not_yet_scored_are_added_whichever_side_each_record_is_on() -> None:
    scored = pa.table({"unique_id_l": ["a", "c"], "unique_id_r": ["b", "d"], "match_probability": [0.5, 0.9]})
    extra = pa.table({"unique_id_l": ["a", "d", "e"], "unique_id_r": ["b", "c", "f"],
                      "match_probability": [0.5, 0.9, 0.1], "household_group": ["g", "g", "g"]})

    added = household_expansion.new_pairs(extra, scored)

    assert added.to_pylist() == [{"unique_id_l": "e", "unique_id_r": "f", "match_probability": 0.1}]
