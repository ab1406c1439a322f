"""The household pass: pairs between two registrations of one household support each other and pair one to one."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from jatigi.dedup import household_pass
from jatigi.dedup.household_pass import BONUS_BITS, MAX_BONUS, PENALTY_BITS


def _scored(rows: list[tuple[str, str, str | None, str | None, float]]) -> pa.Table:
    """Pairs as Splink scores them: id_l, id_r, registration_l, registration_r, match weight."""
    return pa.table({
        "unique_id_l": [r[0] for r in rows], "unique_id_r": [r[1] for r in rows],
        "household_l": pa.array([r[2] for r in rows], pa.string()),
        "household_r": pa.array([r[3] for r in rows], pa.string()),
        "match_weight": [r[4] for r in rows],
        "match_probability": [1 / (1 + 2 ** -r[4]) for r in rows],
    })


def _members(scored: pa.Table, **sizes: int) -> pa.Table:
    """Registration sizes: each registration of `scored` holds 4 records unless told otherwise."""
    named = {h for side in ("household_l", "household_r") for h in scored.column(side).to_pylist() if h is not None}
    households = [h for h in sorted(named) for _ in range(sizes.get(h, 4))]
    return household_pass.sizes(pa.array(households, pa.string()))


def _found(table: pa.Table) -> dict[tuple[str, str], float]:
    return {(a, b): p for a, b, p in zip(table.column("unique_id_l").to_pylist(), table.column("unique_id_r").to_pylist(),
                                         table.column("match_probability").to_pylist(), strict=True)}


def test_a_household_registered_again_lifts_a_badly_written_copy() -> None:
    # Registration H1 (a1, a2, a3, a4) written again as H2 (b1, b2, b3, b4): three members pair
    # clearly; b4's name and birth date were written badly (weight -2: probability 0.2).
    scored = _scored([("a1", "b1", "H1", "H2", 10.0), ("a2", "b2", "H1", "H2", 8.0), ("a3", "b3", "H1", "H2", 6.0),
                      ("a4", "b4", "H1", "H2", -2.0),
                      ("c1", "d1", "H3", "H4", -2.0)])  # the same weight with nothing around it

    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert found[("a4", "b4")] == pytest.approx(1 / (1 + 2 ** -(-2.0 + 3 * BONUS_BITS)))
    assert ("c1", "d1") not in found
    # The three clear pairs support each other too (two others each): still found, more surely.
    assert found[("a1", "b1")] == pytest.approx(1 / (1 + 2 ** -(10.0 + 2 * BONUS_BITS)))
    assert set(found) == {("a1", "b1"), ("a2", "b2"), ("a3", "b3"), ("a4", "b4")}


def test_support_is_counted_once_per_other_pair_and_capped() -> None:
    rows = [(f"a{i}", f"b{i}", "H1", "H2", 9.0) for i in range(6)] + [("a9", "b9", "H1", "H2", -20.0)]

    scored = _scored(rows)
    lifted = household_pass.lifted(scored, 0.9, _members(scored, H1=10, H2=10)).to_pylist()

    assert [r[household_pass.SUPPORT] for r in lifted] == [5, 5, 5, 5, 5, 5, 6]
    assert all(r[household_pass.COLUMN] == MAX_BONUS for r in lifted)
    assert lifted[-1]["match_weight"] == pytest.approx(-20.0 + MAX_BONUS)


def test_a_brother_loses_to_the_real_copy() -> None:
    # Moussa (a1) and his brother Seydou (a2) in H1; H2 lists them again (b1, b2). The pair
    # a1-b2 shares the household's evidence and scores high too, but a1 pairs better with b1.
    scored = _scored([("a1", "b1", "H1", "H2", 12.0), ("a1", "b2", "H1", "H2", 5.0), ("a2", "b2", "H1", "H2", 7.0)])

    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert set(found) == {("a1", "b1"), ("a2", "b2")}


def test_pairs_without_registrations_are_left_as_scored() -> None:
    scored = _scored([("a", "b", None, None, 5.0), ("a", "c", None, "H1", 4.0), ("a", "d", None, None, 1.0)])

    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert found == {("a", "b"): pytest.approx(1 / (1 + 2 ** -5.0)), ("a", "c"): pytest.approx(1 / (1 + 2 ** -4.0))}


def test_a_namesake_whose_household_does_not_pair_loses_the_penalty() -> None:
    # Fatoumata Diarra of H1 and of H2: same names, a birth year written vaguely, weight 5 (0.97).
    # Both registrations list other people, and none of them pair: a namesake, not a copy.
    scored = _scored([("a1", "b1", "H1", "H2", 5.0), ("a2", "b3", "H1", "H2", -6.0)])

    lifted = {(r["unique_id_l"], r["unique_id_r"]): r for r in
              household_pass.lifted(scored, 0.9, _members(scored)).to_pylist()}
    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert lifted[("a1", "b1")][household_pass.COLUMN] == -PENALTY_BITS
    assert lifted[("a1", "b1")]["match_probability"] == pytest.approx(1 / (1 + 2 ** -(5.0 - PENALTY_BITS)))
    assert found == {}


def test_a_person_registered_alone_is_not_penalised() -> None:
    # A wife registered on her own by another agency (H2 holds only her), or a grown son: no other
    # member could pair, so nothing is taken away.
    scored = _scored([("a1", "b1", "H1", "H2", 5.0)])

    found = _found(household_pass.apply(scored, 0.9, _members(scored, H2=1)))

    assert found == {("a1", "b1"): pytest.approx(1 / (1 + 2 ** -5.0))}


def test_two_records_of_one_registration_are_left_to_the_model() -> None:
    # Someone listed twice in one registration: the model's household comparison weighs that; the
    # pass neither lifts nor penalises it, nor pairs it one to one.
    scored = _scored([("a1", "a1x", "H1", "H1", 5.0), ("a2", "a2x", "H1", "H1", 6.0)])

    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert found == {("a1", "a1x"): pytest.approx(1 / (1 + 2 ** -5.0)), ("a2", "a2x"): pytest.approx(1 / (1 + 2 ** -6.0))}


def test_equal_weights_are_settled_by_the_ids_not_by_the_order_of_the_pairs() -> None:
    rows = [("a1", "b2", "H1", "H2", 9.0), ("a1", "b1", "H1", "H2", 9.0)]

    first = _found(household_pass.apply(_scored(rows), 0.9, _members(_scored(rows))))
    second = _found(household_pass.apply(_scored(rows[::-1]), 0.9, _members(_scored(rows))))

    assert set(first) == set(second) == {("a1", "b1")}


def test_one_supporting_pair_is_enough_to_escape_the_penalty() -> None:
    scored = _scored([("a1", "b1", "H1", "H2", 5.0), ("a2", "b2", "H1", "H2", 6.0)])

    found = _found(household_pass.apply(scored, 0.9, _members(scored)))

    assert found[("a1", "b1")] == pytest.approx(1 / (1 + 2 ** -(5.0 + BONUS_BITS)))


def test_pairs_are_scored_from_as_low_as_the_pass_can_lift() -> None:
    floor = household_pass.floor(0.9)
    assert math.log2(floor / (1 - floor)) == pytest.approx(math.log2(9) - MAX_BONUS)
    assert household_pass.floor(0.5) < 0.001
