"""Birth dates in the forms agencies write them, with how precise each one is."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from jatigi.core.i18n import use_language
from jatigi.dedup.dates import BirthDate, DateNotRecognised, parse_birth_date

REF = date(2013, 10, 25)


@pytest.mark.parametrize(("value", "expected"), [
    ("1980-03-25", BirthDate(1980, 3, 25, "day")),
    ("1980-03-25T00:00:00", BirthDate(1980, 3, 25, "day")),
    ("25/03/1980", BirthDate(1980, 3, 25, "day")),
    ("25-03-1980", BirthDate(1980, 3, 25, "day")),
    ("25.03.1980", BirthDate(1980, 3, 25, "day")),
    ("5/3/1980", BirthDate(1980, 3, 5, "day")),
    ("25/03/80", BirthDate(1980, 3, 25, "day")),
    ("25/03/05", BirthDate(2005, 3, 25, "day")),
    ("03/25/1980", BirthDate(1980, 3, 25, "day")),  # month first, unambiguous
    ("19800325", BirthDate(1980, 3, 25, "day")),
    (19800325, BirthDate(1980, 3, 25, "day")),
    (date(1980, 3, 25), BirthDate(1980, 3, 25, "day")),
    (datetime(1980, 3, 25, 10, 30), BirthDate(1980, 3, 25, "day")),
    ("12 mars 1980", BirthDate(1980, 3, 12, "day")),
    ("03/1980", BirthDate(1980, 3, None, "month")),
    ("1980-03", BirthDate(1980, 3, None, "month")),
    ("mars 1980", BirthDate(1980, 3, None, "month")),
    ("00/03/1980", BirthDate(1980, 3, None, "month")),
    ("1980", BirthDate(1980, None, None, "year")),
    (1980, BirthDate(1980, None, None, "year")),
    ("00/00/1980", BirthDate(1980, None, None, "year")),
    ("xx/xx/1980", BirthDate(1980, None, None, "year")),
    ("01/01/1980", BirthDate(1980, None, None, "year")),  # the usual stand-in for "born in 1980"
    ("31/12/1980", BirthDate(1980, None, None, "year")),
    ("vers 1980", BirthDate(1980, None, None, "estimated")),
    ("~1980", BirthDate(1980, None, None, "estimated")),
    ("1980?", BirthDate(1980, None, None, "estimated")),
    ("~35", BirthDate(1978, None, None, "estimated")),
    ("35 ans", BirthDate(1978, None, None, "estimated")),
    ("35ans", BirthDate(1978, None, None, "estimated")),
    ("environ 35 ans", BirthDate(1978, None, None, "estimated")),
    ("35 years", BirthDate(1978, None, None, "estimated")),
    ("35", BirthDate(1978, None, None, "estimated")),
    (35.0, BirthDate(1978, None, None, "estimated")),
    ("0", BirthDate(2013, None, None, "estimated")),
])
def test_accepted_forms(value: object, expected: BirthDate) -> None:
    assert parse_birth_date(value, reference=REF) == expected


def test_only_exact_dates_have_an_iso_form() -> None:
    assert parse_birth_date("25/03/1980", reference=REF).iso == "1980-03-25"  # type: ignore[union-attr]
    assert parse_birth_date("03/1980", reference=REF).iso is None  # type: ignore[union-attr]
    assert parse_birth_date("~35", reference=REF).iso is None  # type: ignore[union-attr]


def test_placeholder_days_can_be_turned_off() -> None:
    assert parse_birth_date("01/01/1980", reference=REF, placeholder_days=frozenset()) == BirthDate(1980, 1, 1)


def test_ages_count_back_from_the_reference_date() -> None:
    assert parse_birth_date("35 ans", reference=date(2024, 1, 1)) == BirthDate(1989, precision="estimated")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_values_are_no_date(value: object) -> None:
    assert parse_birth_date(value, reference=REF) is None


@pytest.mark.parametrize(("value", "message"), [
    ("31/02/1980", "Birth date not recognised: 31/02/1980. Accepted: 1980-03-25, 25/03/1980"),
    ("25/13/1980", "Birth date not recognised: 25/13/1980"),
    ("hier", "Birth date not recognised: hier"),
    ("198O", "Birth date not recognised: 198O"),
    ("2014-01-01", "A date in the future is not accepted: 2014-01-01."),
    ("2014", "A date in the future is not accepted: 2014."),
    ("1850", "A date before 1900 is not accepted: 1850."),
    ("200 ans", "An age over 120 years is not possible: 200 ans."),
])
def test_unreadable_dates_say_what_is_accepted(value: str, message: str) -> None:
    with use_language("en"), pytest.raises(DateNotRecognised) as error:
        parse_birth_date(value, reference=REF)
    assert str(error.value).startswith(message)


def test_messages_are_in_french_by_default() -> None:
    with use_language("fr"), pytest.raises(DateNotRecognised, match="Date de naissance non reconnue : hier"):
        parse_birth_date("hier", reference=REF)
