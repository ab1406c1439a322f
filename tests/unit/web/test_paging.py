"""Numbers read from addresses and forms: a page asked for, an id, a count. Only plain ASCII digits of
a bounded length are numbers; anything else is refused (a page falls back to the first)."""

import pytest

from jatigi.core.numbers import whole_number
from jatigi.web.paging import page_number


@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3),
    ("0", 0),
    ("007", 7),
    ("123456", 123456),
])
def test_whole_number_reads_ascii_digits(text: str, expected: int) -> None:
    assert whole_number(text, 6) == expected


@pytest.mark.parametrize("text", [
    "",            # nothing typed
    "-1",          # no sign
    "+1",
    " 3",          # no spaces (callers strip when they mean to)
    "3 ",
    "1e3",         # no exponent
    "1.5",
    "١٢",          # Arabic-Indic digits: str.isdigit says yes, the address does not mean 12
    "３",          # full-width digit
    "²",           # superscript: isdigit, but int() refuses it
    "1234567",     # one digit too many
    "9" * 5000,    # beyond what int() even accepts
])
def test_whole_number_refuses_anything_else(text: str) -> None:
    assert whole_number(text, 6) is None


def test_the_bound_is_the_number_of_digits() -> None:
    assert whole_number("999", 3) == 999
    assert whole_number("1000", 3) is None
    assert whole_number("0001", 3) is None  # leading zeros count as digits


@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3),
    ("1", 1),
    ("999999", 999999),
    ("", 1),
    ("0", 1),
    ("000", 1),
    ("-1", 1),
    ("1e3", 1),
    ("١٢", 1),
    ("1000000", 1),    # seven digits: more pages than any list has
    ("9" * 5000, 1),
])
def test_page_number_falls_back_to_the_first_page(text: str, expected: int) -> None:
    assert page_number(text) == expected


def test_page_number_may_allow_longer_numbers() -> None:
    assert page_number("1000000", max_digits=7) == 1000000
    assert page_number("10000000", max_digits=7) == 1
