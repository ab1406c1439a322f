"""People records prepared into the columns a linkage model compares."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from jatigi.core.i18n import use_language
from jatigi.dedup.prepare import (
    OUTPUT_SCHEMA,
    PhoneNotRecognised,
    born_key,
    normalise_id_number,
    normalise_phone,
    normalise_place,
    normalise_sex,
    phones,
    prepare_people,
)

REF = date(2013, 10, 25)


@pytest.mark.parametrize(("raw", "expected"), [
    ("76 12 34 56", "+22376123456"),
    ("76123456", "+22376123456"),
    ("+223 76 12 34 56", "+22376123456"),
    ("+223-76-12-34-56", "+22376123456"),
    ("0022376123456", "+22376123456"),
    ("22376123456", "+22376123456"),
    ("76.12.34.56", "+22376123456"),
    ("(223) 76 12 34 56", "+22376123456"),
    (76123456, "+22376123456"),
    (76123456.0, "+22376123456"),  # a number from a spreadsheet
    ("76123456.0", "+22376123456"),
    ("076123456", "+22376123456"),
    ("+226 70 12 34 56", "+22670123456"),  # Burkina Faso keeps its code
    ("00000000", None),
    ("12345678", None),
    ("99 99 99 99", None),
    ("", None),
    (None, None),
])
def test_phones_become_mali_numbers_with_their_country_code(raw: object, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_a_field_with_several_phones_gives_each_once() -> None:
    assert phones("76 12 34 56 / 66123456 ou +223 76123456") == ["+22376123456", "+22366123456"]
    assert normalise_phone("66123456; 76123456") == "+22366123456"


@pytest.mark.parametrize("raw", ["7612345", "223 7612345", "761234567890123456", "tel 76123456", "abc"])
def test_what_is_not_a_phone_number_is_refused(raw: str) -> None:
    with use_language("en"), pytest.raises(PhoneNotRecognised, match="Expected 8 digits, with or without \\+223"):
        normalise_phone(raw)


def test_sex_place_and_id_number() -> None:
    assert [normalise_sex(v) for v in ("M", "h", "Homme", "male", "F", "Femme", "féminin", "", None)] == [
        "m", "m", "m", "m", "f", "f", "f", None, None]
    with use_language("en"), pytest.raises(ValueError, match="Sex not recognised: 3"):
        normalise_sex("3")
    assert normalise_place(" ml090101 ") == "ML090101"
    assert normalise_place("Bamako, Commune VI") == "bamako commune vi"
    assert normalise_place("") is None
    assert normalise_id_number("ml-1234 567") == "ML1234567"
    assert [normalise_id_number(v) for v in ("Néant", "N/A", "000", "", None)] == [None, None, None, None, None]


def _one(record: dict[str, object]) -> dict[str, object]:
    result = prepare_people([{"unique_id": "1", **record}], reference=REF)
    assert not result.problems, result.problems
    return result.rows[0]


def test_two_spellings_of_one_person_get_the_same_keys() -> None:
    a = _one({"given_name": "Mahamadou", "family_name": "Trawore", "birth_date": "25/03/1980", "sex": "H",
              "phone": "76 12 34 56", "place": "ML090101"})
    b = _one({"given_name": "Mamadou", "family_name": "TRAORÉ", "birth_date": "1980-03-25", "sex": "m",
              "phone": "+223 76123456", "place": "ml090101"})
    for column in ("given_name_key", "family_name_key", "given_name_root", "family_name_phonetic", "name_tokens",
                   "name_sorted_key", "birth_date", "birth_year", "sex", "phone", "place"):
        assert a[column] == b[column], column
    assert a["given_name"] == "mahamadou" and b["given_name"] == "mamadou"  # as written, folded
    assert a["given_name_key"] == "mamadou" and a["family_name_key"] == "traore"
    assert a["given_name_root"] == "muhammad"
    assert a["phone"] == "+22376123456"


def test_swapped_names_share_their_token_set() -> None:
    a = _one({"given_name": "Fatoumata", "family_name": "Diarra"})
    b = _one({"given_name": "Jara", "family_name": "Fatimata"})
    assert a["name_tokens"] == b["name_tokens"] == ["diarra", "fatoumata"]
    assert a["name_sorted_key"] == b["name_sorted_key"] == "diarra fatoumata"
    assert a["given_name_key"] == b["family_name_key"]


def test_patronymics_keep_their_particles_and_agree_on_the_fathers_name() -> None:
    a = _one({"given_name": "Fadimata", "family_name": "Walet Mohamed"})
    b = _one({"given_name": "Fatimata", "family_name": "Welet Mohamed Ag Intallah"})
    assert a["family_particles"] == "walet" and b["family_particles"] == "walet ag"
    assert a["family_head_key"] == b["family_head_key"] == "mohamed"
    assert a["given_name_key"] == b["given_name_key"] == "fatoumata"


def test_a_full_name_in_one_field_is_split() -> None:
    row = _one({"full_name": "TRAORE Mahamadou dit Madou", "age": 34})
    assert (row["given_name_key"], row["family_name_key"]) == ("mamadou", "traore")
    assert row["alias_keys"] == ["madou"]
    assert (row["birth_year"], row["birth_precision"]) == (1979, "estimated")


@pytest.mark.parametrize(("record", "year", "month", "day", "iso", "precision"), [
    ({"birth_date": "25/03/1980"}, 1980, 3, 25, "1980-03-25", "day"),
    ({"birth_date": "03/1980"}, 1980, 3, None, None, "month"),
    ({"birth_date": "1980"}, 1980, None, None, None, "year"),
    ({"birth_date": "~35"}, 1978, None, None, None, "estimated"),
    ({"birth_date": "", "age": "35"}, 1978, None, None, None, "estimated"),
    ({"birth_date": date(1980, 3, 25), "age_estimated": True}, 1980, None, None, None, "estimated"),
    ({}, None, None, None, None, None),
])
def test_birth_dates_keep_their_precision(record: dict[str, object], year: int | None, month: int | None,
                                          day: int | None, iso: str | None, precision: str | None) -> None:
    row = _one(record)
    assert (row["birth_year"], row["birth_month"], row["birth_day"], row["birth_date"], row["birth_precision"]) == (
        year, month, day, iso, precision)


def test_empty_values_are_null_not_empty_strings() -> None:
    row = _one({"given_name": " ", "family_name": None, "sex": "", "phone": "", "place": None})
    assert all(row[c] is None for c in ("given_name", "given_name_key", "family_name_key", "name_tokens",
                                         "name_sorted_key", "sex", "phone", "place", "birth_year"))


def test_unreadable_values_are_reported_and_left_empty() -> None:
    with use_language("en"):
        result = prepare_people([
            {"unique_id": "a", "given_name": "Awa", "birth_date": "31/02/1980", "phone": "7612", "sex": "?"},
            {"unique_id": "b", "given_name": "Hawa", "age": "200"},
            {"unique_id": "a", "given_name": "Haoua"},
            {"unique_id": "", "given_name": "Awa"},
        ], reference=REF)
    assert [r["unique_id"] for r in result.rows] == ["a", "b"]
    assert result.rows[0]["given_name_key"] == "hawa" and result.rows[0]["birth_year"] is None
    found = [(p.row, p.field, p.value) for p in result.problems]
    assert found == [(1, "birth_date", "31/02/1980"), (1, "sex", "?"), (1, "phone", "7612"), (2, "age", "200"),
                     (3, "unique_id", "a"), (4, "unique_id", "")]
    assert result.problems[0].message.startswith("Birth date not recognised: 31/02/1980.")
    assert result.problems[4].message == "This id is used by an earlier row: a."
    assert result.problems[5].message == "This row has no id."


def test_numeric_ids_from_spreadsheets_are_kept_as_text() -> None:
    result = prepare_people([{"id": 7.0, "given_name": "Awa"}, {"id": 8, "given_name": "Awa"}], id_column="id",
                            reference=REF)
    assert [r["unique_id"] for r in result.rows] == ["7", "8"]


def test_arrow_tables_in_and_out() -> None:
    source = pa.Table.from_pylist([
        {"unique_id": "1", "given_name": "Kadidia", "family_name": "Coulibaly", "birth_date": "1990"},
        {"unique_id": "2", "given_name": "Khadija", "family_name": "Kulibali", "birth_date": "~23"},
    ])
    table = prepare_people(source, reference=REF).to_arrow()
    assert table.schema == OUTPUT_SCHEMA
    assert table.column("given_name_key").to_pylist() == ["kadidia", "kadidia"]
    assert table.column("family_name_phonetic").to_pylist() == ["kulibali", "kulibali"]
    assert table.column("birth_year").to_pylist() == [1990, 1990]
    assert table.column("birth_precision").to_pylist() == ["year", "estimated"]


def test_each_record_carries_the_other_members_of_its_registration_with_their_birth_years() -> None:
    rows = [
        {"unique_id": "1", "given_name": "Mamadou", "family_name": "Traoré", "birth_date": "1970", "household": "H1"},
        {"unique_id": "2", "given_name": "Awa", "family_name": "Diarra", "birth_date": "12/03/1975", "household": "H1"},
        {"unique_id": "3", "given_name": "Seydou", "family_name": "Traoré", "household": "H1"},  # no birth date
        {"unique_id": "4", "given_name": "Oumar", "family_name": "Traoré", "birth_date": "2001", "household": "H2"},
    ]
    table = prepare_people(rows, reference=REF).to_arrow()
    given, born = table.column("household_given").to_pylist(), table.column("household_born").to_pylist()
    keys = table.column("given_born_key").to_pylist()
    assert keys == [born_key("mamadou", 1970), born_key("hawa", 1975), None, born_key("oumar", 2001)]
    assert given[0] == ["hawa", "seydou"] and given[2] == ["hawa", "mamadou"]
    assert born[0] == [born_key("hawa", 1975)]  # Seydou is known by name only
    assert sorted(born[2]) == sorted([born_key("hawa", 1975), born_key("mamadou", 1970)])
    assert given[3] is None and born[3] is None  # alone in its registration


def test_a_name_and_birth_year_make_one_number_close_for_close_years_only() -> None:
    awa = born_key("hawa", 1975)
    assert awa is not None
    assert born_key("hawa", 1977) == awa + 2 and born_key("hawa", 1973) == awa - 2
    assert abs(born_key("mamadou", 1975) - awa) > 1000  # type: ignore[operator]
    assert born_key(None, 1975) is None and born_key("hawa", None) is None
