"""Household expansion: two registrations joined by a strong pair are a link, and all their members are compared."""

from __future__ import annotations

import pyarrow as pa

from jatigi.dedup import household_expansion, household_pass
from jatigi.dedup.household_expansion import MAX_LINK_PAIRS


def _found(pairs: list[tuple[str | None, str | None]]) -> pa.Table:
    return pa.table({"household_l": pa.array([a for a, _b in pairs], pa.string()),
                     "household_r": pa.array([b for _a, b in pairs], pa.string())})


def _links(households: list[str | None], pairs: list[tuple[str | None, str | None]]) -> list[list[str] | None]:
    column = pa.array(households, pa.string())
    return household_expansion.links(_found(pairs), household_pass.sizes(column), column).to_pylist()


def test_each_record_carries_the_links_of_its_registration() -> None:
    # H1 registered again as H2 and a third time as H3 (H3 pairs with H2 only); H4 pairs with nobody;
    # H5's strong pair is inside its own registration; the last record has no registration.
    households = ["H1", "H1", "H2", "H2", "H3", "H4", "H5", "H5", None]

    links = _links(households, [("H1", "H2"), ("H3", "H2"), ("H2", "H1"), ("H5", "H5"), (None, "H4")])

    h1_h2, h2_h3 = "H1\x1fH2", "H2\x1fH3"
    assert links[:5] == [[h1_h2], [h1_h2], [h1_h2, h2_h3], [h1_h2, h2_h3], [h2_h3]]
    assert links[5:] == [None, None, None, None]


def test_a_link_between_two_crowds_is_left_to_blocking() -> None:
    # A "household" of 60 people (a distribution site, say) against another of 50: 3,000 comparisons.
    households = ["S1"] * 60 + ["S2"] * 50 + ["A", "A", "B"]

    links = _links(households, [("S1", "S2"), ("A", "B")])

    assert 60 * 50 > MAX_LINK_PAIRS
    assert set(map(str, links[:110])) == {"None"}
    assert links[110:] == [["A\x1fB"]] * 3


def test_only_pairs_not_yet_scored_are_added_whichever_side_each_record_is_on() -> None:
    scored = pa.table({"unique_id_l": ["a", "c"], "unique_id_r": ["b", "d"], "match_probability": [0.5, 0.9]})
    extra = pa.table({"unique_id_l": ["a", "d", "e"], "unique_id_r": ["b", "c", "f"],
                      "match_probability": [0.5, 0.9, 0.1], "household_links": [["g"], ["g"], ["g"]]})

    added = household_expansion.new_pairs(extra, scored)

    assert added.to_pylist() == [{"unique_id_l": "e", "unique_id_r": "f", "match_probability": 0.1}]
