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
from jatigi.dedup.blocking import BlockingRule

SETTINGS_NAME = "jatigi-people"
SETTINGS_VERSION = 1
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


def _phone() -> ComparisonCreator:
    """A household often shares one phone: the same phone with another given name is a relative
    more often than the same person, and weighs less than the same phone and a similar name."""
    similar = cll.Or(
        _level("given_name_root_l = given_name_root_r", "root"),
        _level("given_name_phonetic_l = given_name_phonetic_r", "sound"),
        _level("name_sorted_key_l = name_sorted_key_r", "swapped"),
        cll.JaroWinklerLevel("given_name", 0.8),
    )
    return cl.CustomComparison([
        cll.NullLevel("phone").configure(label_for_charts=MISSING),
        cll.And(cll.ExactMatchLevel("phone"), similar).configure(label_for_charts=N_("same phone, similar given name")),
        cll.ExactMatchLevel("phone").configure(label_for_charts=N_("same phone, another given name")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="phone")


def _place() -> ComparisonCreator:
    return cl.CustomComparison([
        cll.NullLevel("place").configure(label_for_charts=MISSING),
        cll.ExactMatchLevel("place").configure(tf_adjustment_column="place", label_for_charts=N_("same place")),
        _level("place_area_l = place_area_r", N_("same cercle")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="place")


def _address() -> ComparisonCreator:
    return cl.CustomComparison([
        cll.NullLevel("address").configure(label_for_charts=MISSING),
        cll.ExactMatchLevel("address").configure(label_for_charts=N_("same")),
        cll.JaroWinklerLevel("address", 0.9).configure(label_for_charts=N_("similar")),
        cll.ElseLevel().configure(label_for_charts=N_("different")),
    ], output_column_name="address")


def comparison(field: str) -> ComparisonCreator:
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
        return _place()
    if field == "address":
        return _address()
    raise ValueError(f"unknown field {field!r}")


def creator(fields: Iterable[str], blocking_rules: Sequence[BlockingRule] = (),
            prior: float = 0.0001) -> SettingsCreator:
    """The settings for the given fields (in `FIELDS` order) and blocking rules."""
    wanted = set(fields)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        probability_two_random_records_match=prior,
        comparisons=[comparison(f) for f in FIELDS if f in wanted],
        blocking_rules_to_generate_predictions=[r.creator() for r in blocking_rules],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=[],
    )


def render(fields: Iterable[str], dialect: str, blocking_rules: Sequence[BlockingRule] = (),
           prior: float = 0.0001) -> dict[str, Any]:
    """The settings as a Splink dictionary with SQL for `dialect` ("duckdb" or "spark")."""
    return creator(fields, blocking_rules, prior).get_settings(dialect).as_dict()
