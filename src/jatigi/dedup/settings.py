"""The people linkage model's settings, kept as Python creators and rendered for each engine.

Splink writes its settings as SQL for one engine; a model saved from DuckDB does not load on
Spark. So the comparisons live here, engine-neutral, under a name and a version
(`SETTINGS_NAME`, `SETTINGS_VERSION`): a saved model records them and its trained m/u values,
and `render` rebuilds the SQL for whichever engine scores (see `model.py`).

A comparison is only part of a model when the list has that field (`FIELDS`): a list without
phones has no phone comparison at all, rather than one that never agrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator
from splink.internals.comparison_creator import ComparisonCreator
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from jatigi.core.i18n import N_
from jatigi.dedup.blocking import Rule

SETTINGS_NAME = "jatigi-people"
SETTINGS_VERSION = 3  # 3: co-members compared by given name and birth year
UNIQUE_ID = "unique_id"
MISSING = N_("missing in one record")
SWAPPED = N_("same names, given and family swapped")

# Field -> the prepared columns (prepare.OUTPUT_SCHEMA) that tell whether a list has it.
FIELDS: dict[str, tuple[str, ...]] = {
    "given_name": ("given_name_key",),
    "family_name": ("family_name_key",),
    "birth": ("birth_year",),
    "sex": ("sex",),
    "phone": ("phone",),
    "place": ("place",),
    "id_number": ("id_number",),
    "address": ("address",),
    "household": ("household", "household_given"),
}


def _level(sql: str, label: str) -> ComparisonLevelCreator:
    return cll.CustomLevel(sql, label_for_charts=label, base_dialect_str="duckdb")


def _swapped(part: str) -> ComparisonLevelCreator:
    """Given and family names written in each other's field. The given-name comparison carries
    the evidence; the family-name comparison then adds nothing (m = u), so that one agreement is
    not counted twice. (Measured: term-frequency adjustments on this level made F1 worse.)"""
    level = _level("name_sorted_key_l = name_sorted_key_r", SWAPPED)
    if part == "given":
        return level
    return level.configure(m_probability=0.5, u_probability=0.5, fix_m_probability=True, fix_u_probability=True)


def _name(part: str) -> ComparisonCreator:
    col = f"{part}_name"
    first = "given_first_key" if part == "given" else "family_head_key"
    levels: list[ComparisonLevelCreator | dict[str, Any]] = [
        cll.NullLevel(f"{col}_key").configure(label_for_charts=MISSING),
        cll.ExactMatchLevel(f"{col}_key").configure(tf_adjustment_column=f"{col}_key",
                                                    label_for_charts=N_("same name")),
        _swapped(part),
        _level(f"{col}_root_l = {col}_root_r", N_("same root (related names)")),
        _level(f"{col}_phonetic_l = {col}_phonetic_r", N_("same sound")),
        _level(f"{first}_l = {first}_r",
               N_("same first given name") if part == "given" else N_("same first family word")),
        cll.JaroWinklerLevel(col, 0.9).configure(label_for_charts=N_("similar spelling")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ]
    return cl.CustomComparison(levels, output_column_name=col)


def _birth() -> ComparisonCreator:
    vague = "(birth_day_l IS NULL OR birth_day_r IS NULL)"  # at least one is a year, a month or an age
    return cl.CustomComparison([
        cll.NullLevel("birth_year").configure(label_for_charts=MISSING),
        _level("birth_date_l = birth_date_r", N_("same day")),
        _level(f"birth_year_l = birth_year_r AND (birth_month_l = birth_month_r OR birth_month_l IS NULL "
               f"OR birth_month_r IS NULL) AND {vague}", N_("same year, one date vague")),
        _level(f"abs(birth_year_l - birth_year_r) <= 1 AND {vague}", N_("within a year, one date vague")),
        _level(f"abs(birth_year_l - birth_year_r) <= 3 AND {vague}", N_("within 3 years, one date vague")),
        _level("abs(birth_year_l - birth_year_r) <= 1", N_("two different days within a year")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="birth")


def _exact(col: str, *, tf: bool = False) -> ComparisonCreator:
    same = cll.ExactMatchLevel(col).configure(label_for_charts=N_("same"))
    if tf:
        same = same.configure(tf_adjustment_column=col)
    return cl.CustomComparison([cll.NullLevel(col).configure(label_for_charts=MISSING), same,
                                cll.ElseLevel().configure(label_for_charts=N_("different"))], output_column_name=col)


def _similar_given() -> ComparisonLevelCreator:
    """Given names that could be one person's: the same root or sound, swapped with the family
    name, or close in spelling."""
    return cll.Or(
        _level("given_name_root_l = given_name_root_r", "root"),
        _level("given_name_phonetic_l = given_name_phonetic_r", "sound"),
        _level("name_sorted_key_l = name_sorted_key_r", "swapped"),
        cll.JaroWinklerLevel("given_name", 0.8),
    )


def _phone() -> ComparisonCreator:
    """A household often shares one phone: the same phone with another given name is a relative
    more often than the same person, and weighs less than the same phone and a similar name."""
    return cl.CustomComparison([
        cll.NullLevel("phone").configure(label_for_charts=MISSING),
        cll.And(cll.ExactMatchLevel("phone"), _similar_given()).configure(
            label_for_charts=N_("same phone, similar given name")),
        cll.ExactMatchLevel("phone").configure(label_for_charts=N_("same phone, another given name")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="phone")


def _place(with_address: bool) -> ComparisonCreator:
    """Where a person lives. With addresses, one comparison says both the commune and the address
    within it, so that living in the same commune is not counted twice (once for the commune,
    once for the quartier in it)."""
    if not with_address:
        return cl.CustomComparison([
            cll.NullLevel("place").configure(label_for_charts=MISSING),
            cll.ExactMatchLevel("place").configure(tf_adjustment_column="place", label_for_charts=N_("same place")),
            _level("place_area_l = place_area_r", N_("same cercle")),
            cll.ElseLevel().configure(label_for_charts=N_("different")),
        ], output_column_name="place")
    same = cll.ExactMatchLevel("place")
    return cl.CustomComparison([
        cll.NullLevel("place").configure(label_for_charts=MISSING),
        cll.And(same, cll.ExactMatchLevel("address_door")).configure(
            label_for_charts=N_("same place, same street and door")),
        cll.And(same, cll.Or(cll.ExactMatchLevel("address_street"), cll.JaroWinklerLevel("address_area", 0.9))).configure(
            label_for_charts=N_("same place, same street or quartier")),
        cll.And(same, _level("(address_area_l IS NULL OR address_area_r IS NULL)", "no address")).configure(
            label_for_charts=N_("same place, address missing in one record")),
        same.configure(label_for_charts=N_("same place, another address")),
        _level("place_area_l = place_area_r", N_("same cercle")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="place")


def _address() -> ComparisonCreator:
    """Addresses alone, for a list without places."""
    return cl.CustomComparison([
        cll.NullLevel("address_area").configure(label_for_charts=MISSING),
        cll.ExactMatchLevel("address_door").configure(label_for_charts=N_("same street and door")),
        cll.Or(cll.ExactMatchLevel("address_street"), cll.JaroWinklerLevel("address_area", 0.9)).configure(
            label_for_charts=N_("same street or quartier")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="address")


# A co-member is found in another registration by given name and a birth year within this many
# years: agencies write estimated ages and vague years one or two years off. On the generated lists
# (100,000 records, 10 % duplicates, before the household pass) F1 at 0.9 was 0.928 with 1 year,
# 0.936 with 2 or 3; the oracle ceiling 0.955, 0.958, 0.957 (with 3, more namesakes agree).
YEAR_TOLERANCE = 2


def _found(values: str, other: str) -> str:
    """How many of the (distinct) `values` are in the list `other`. A filter: DuckDB's
    `list_intersect` took eight times longer on a million compared pairs."""
    return f"ARRAY_LENGTH(LIST_FILTER({values}, lambda x: list_contains({other}, x)))"


def _near(keys: str, key: str) -> str:
    """Whether the list of born keys `keys` has one of the same name as `key` and a birth year
    within `YEAR_TOLERANCE` (`prepare.born_key`)."""
    return f"ARRAY_LENGTH(LIST_FILTER({keys}, lambda y: abs(y - {key}) <= {YEAR_TOLERANCE})) > 0"


def _household() -> ComparisonCreator:
    """The other members of each record's registration. An agency that registers a household again
    lists most of the same people; namesakes rarely live with people of all the same names, and
    even more rarely of the same names and ages. Levels, strongest evidence first:

    - two records of one registration are two people: an enumerator lists each member once;
    - when the other record's registration has a member with this record's given name and birth
      year (or its given name, this record's year being unknown), that member, not this one, is
      the likely match: two brothers of a household registered twice share the household, not the
      name;
    - the share of the smaller registration's other members found in the other by given name and
      birth year (within `YEAR_TOLERANCE`): all, all but one, the only one with a year;
    - then, years disagreeing or unknown, by given name only: all, all but one, 2, 1, none.

    What counts is the share found, not the number: namesakes of one language group often have
    three co-members' names in common in a registration of eight, rarely every one of four, and
    rarely with their birth years too (bench/dedup_oracle.py)."""
    common = _found("household_given_l", "household_given_r")
    smaller = "LEAST(ARRAY_LENGTH(household_given_l), ARRAY_LENGTH(household_given_r))"
    dated = f"ARRAY_LENGTH(LIST_FILTER(household_born_l, lambda x: {_near('household_born_r', 'x')}))"
    dated_smaller = "LEAST(ARRAY_LENGTH(household_born_l), ARRAY_LENGTH(household_born_r))"
    namesake = "array_contains(household_given_r, given_first_key_l) OR array_contains(household_given_l, given_first_key_r)"

    def sibling(a: str, b: str) -> str:
        return (f"(({_near(f'household_born_{b}', f'given_born_key_{a}')}) OR (given_born_key_{a} IS NULL "
                f"AND array_contains(household_given_{b}, given_first_key_{a})))")

    # Most compared pairs have no co-member's name in common: they leave at the third level, before
    # the costlier counts (`GREATEST` keeps each to one per level). That level takes nothing from the
    # next one: a member with the other's name and birth year has the other's name.
    return cl.CustomComparison([
        _level("household_l = household_r", N_("same registration: two members")).configure(
            m_probability=1e-9, u_probability=0.5, fix_m_probability=True, fix_u_probability=True),
        cll.NullLevel("household_given").configure(label_for_charts=N_("alone in one registration")),
        _level(f"{common} = 0 AND NOT ({namesake})", N_("no member's name in common")),
        _level(f"{sibling('l', 'r')} OR {sibling('r', 'l')}",
               N_("a member of one registration has the other's given name and birth year")),
        _level(f"{dated} >= GREATEST(2, {dated_smaller})",
               N_("all the other members' names and birth years in common (2 or more)")),
        _level(f"{dated} >= GREATEST(2, {dated_smaller} - 1)",
               N_("all but one of the other members' names and birth years in common (2 or more)")),
        _level(f"{dated} >= GREATEST(1, {dated_smaller})",
               N_("the only other member with a birth year: name and birth year in common")),
        _level(namesake, N_("a member of one registration has the other's given name")),
        _level(f"{common} >= GREATEST(2, {smaller})", N_("all the other members' names in common (2 or more)")),
        _level(f"{common} >= GREATEST(3, {smaller} - 1)",
               N_("all but one of the other members' names in common (3 or more)")),
        _level(f"{common} >= 2", N_("2 members' names in common")),
        cll.ElseLevel().configure(label_for_charts=N_("1 member's name in common")),  # what is left: exactly 1
    ], output_column_name="household")


def comparison(field: str, fields: Iterable[str] = ()) -> ComparisonCreator:
    if field == "given_name":
        return _name("given")
    if field == "family_name":
        return _name("family")
    if field == "birth":
        return _birth()
    if field == "phone":
        return _phone()
    if field == "id_number":
        return _exact(field)
    if field == "sex":
        return _exact("sex")
    if field == "place":
        return _place("address" in set(fields))
    if field == "address":
        return _address()
    if field == "household":
        return _household()
    raise ValueError(f"unknown field {field!r}")


def creator(fields: Iterable[str], blocking_rules: Sequence[Rule] = (),
            prior: float = 0.0001) -> SettingsCreator:
    """The settings for the given fields (in `FIELDS` order) and blocking rules."""
    wanted = set(fields)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        probability_two_random_records_match=prior,
        comparisons=[comparison(f, wanted) for f in FIELDS if f in wanted and not (f == "address" and "place" in wanted)],
        blocking_rules_to_generate_predictions=[r.creator() for r in blocking_rules],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=[],
    )


def render(fields: Iterable[str], dialect: str, blocking_rules: Sequence[Rule] = (),
           prior: float = 0.0001) -> dict[str, Any]:
    """The settings as a Splink dictionary with SQL for `dialect` ("duckdb" or "spark")."""
    return creator(fields, blocking_rules, prior).get_settings(dialect).as_dict()
