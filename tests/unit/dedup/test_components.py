"""Connected components of pairs: what clusters and household groups are made of."""

from __future__ import annotations

from jatigi.dedup.components import Components


def test_items_joined_through_others_share_one_root_and_others_stay_apart() -> None:
    joined = Components([("a", "b"), ("c", "b"), ("x", "y")])

    assert joined.root("a") == joined.root("b") == joined.root("c") != joined.root("x")
    assert sorted(sorted(g) for g in joined.groups()) == [["a", "b", "c"], ["x", "y"]]
    assert joined.root("z") == "z" and "a" in joined and "z" not in joined


def test_a_long_chain_is_one_component() -> None:
    joined = Components((i, i + 1) for i in range(10_000))

    assert len(joined.groups()) == 1 and joined.root(0) == joined.root(10_000)
