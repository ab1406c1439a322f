"""Birth dates as agencies write them: exact, month and year, year only, or an estimated age.

Every form becomes a `BirthDate` (year, month?, day?, precision) so that a linkage model can be
tolerant where the source was vague: two records agree on "1980" whatever day each one gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from jatigi.core.i18n import _

EARLIEST_YEAR = 1900
DAY, MONTH, YEAR, ESTIMATED = "day", "month", "year", "estimated"
PRECISIONS = (DAY, MONTH, YEAR, ESTIMATED)

# Registrations often write a birth known only by its year as 1 January or 31 December.
PLACEHOLDER_DAYS = frozenset({(1, 1), (12, 31)})

_MONTHS = {
    "jan": 1, "janv": 1, "janvier": 1, "january": 1, "fev": 2, "fevr": 2, "fevrier": 2, "feb": 2,
    "february": 2, "mar": 3, "mars": 3, "march": 3, "avr": 4, "avril": 4, "apr": 4, "april": 4,
    "mai": 5, "may": 5, "juin": 6, "jun": 6, "june": 6, "juil": 7, "juillet": 7, "jul": 7, "july": 7,
    "aou": 8, "aout": 8, "aug": 8, "august": 8, "sep": 9, "sept": 9, "septembre": 9, "september": 9,
    "oct": 10, "octobre": 10, "october": 10, "nov": 11, "novembre": 11, "november": 11, "dec": 12,
    "decembre": 12, "december": 12,
}
_APPROX = re.compile(r"^(?:~|\+/-|±|environ|env\.|vers|approx\.?|about|circa|ca\.|c\.)\s*", re.I)
_AGE = re.compile(r"^(\d{1,3})\s*(?:ans?|years?|yrs?|y|a)?(?:\s*(?:old|environ))?\??$", re.I)
_YEAR = re.compile(r"^(\d{4})\s*\??$")
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?(?:[T ].*)?$")
_DMY = re.compile(r"^(\d{1,2}|[0x?]{1,2})[-/.](\d{1,2}|[0x?]{1,2})[-/.](\d{4}|\d{2})$", re.I)
_MY = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_WORDS = re.compile(r"^(?:(\d{1,2})(?:er)?\s+)?([a-zéûè.]+)\s+(\d{4})$", re.I)


class DateNotRecognised(ValueError):
    """A birth date in none of the accepted forms; the message says which forms are accepted."""


@dataclass(frozen=True)
class BirthDate:
    year: int
    month: int | None = None
    day: int | None = None
    precision: str = DAY

    @property
    def iso(self) -> str | None:
        """`YYYY-MM-DD` when the day is known, else None."""
        if self.precision != DAY or self.month is None or self.day is None:
            return None
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def parse_birth_date(value: object, *, reference: date | None = None,
                     placeholder_days: frozenset[tuple[int, int]] = PLACEHOLDER_DAYS) -> BirthDate | None:
    """Read a birth date or an age. None when the value is empty.

    Accepted: date objects, `1980-03-25`, `25/03/1980` (also with - or .), `25/03/80`,
    `19800325`, `03/1980`, `1980-03`, `mars 1980`, `1980`, `vers 1980`, `~1980`, `35`, `~35`,
    `35 ans`, `35 years`, `00/00/1980`. An age is counted back from `reference` (default today).
    Raises `DateNotRecognised` for anything else, for impossible dates, dates in the future and
    dates before 1900.
    """
    ref = reference or date.today()
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _checked(value.year, value.month, value.day, ref, placeholder_days, str(value))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = " ".join(str(value).strip().split())
    if not text:
        return None
    approx = _APPROX.match(text)
    body = text[approx.end():] if approx else text
    result = _parse_text(body.strip(), ref, placeholder_days, text)
    if approx and result is not None and result.precision in (DAY, MONTH, YEAR):
        result = BirthDate(result.year, precision=ESTIMATED)
    if result is None:
        raise DateNotRecognised(_not_recognised(text))
    return result


def _parse_text(text: str, ref: date, placeholder_days: frozenset[tuple[int, int]],
                original: str) -> BirthDate | None:
    if m := _YEAR.match(text):
        year = int(m.group(1))
        precision = ESTIMATED if text.endswith("?") else YEAR
        return _checked(year, None, None, ref, placeholder_days, original, precision)
    if m := _COMPACT.match(text):
        return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)), ref, placeholder_days, original)
    if m := _ISO.match(text):
        day = int(m.group(3)) if m.group(3) else None
        return _checked(int(m.group(1)), int(m.group(2)), day, ref, placeholder_days, original)
    if m := _DMY.match(text):
        year = _full_year(m.group(3), ref)
        day, month = _number(m.group(1)), _number(m.group(2))
        if month is not None and month > 12 and day is not None and day <= 12:
            day, month = month, day  # written month first (03/25/1980)
        return _checked(year, month, day, ref, placeholder_days, original)
    if m := _MY.match(text):
        return _checked(int(m.group(2)), int(m.group(1)), None, ref, placeholder_days, original)
    if m := _WORDS.match(_unaccent(text)):
        month = _MONTHS.get(m.group(2).lower().rstrip("."))
        if month is None:
            return None
        day = int(m.group(1)) if m.group(1) else None
        return _checked(int(m.group(3)), month, day, ref, placeholder_days, original)
    if m := _AGE.match(text):
        age = int(m.group(1))
        if age > 120:
            raise DateNotRecognised(_("An age over 120 years is not possible: {value}.", value=original))
        return BirthDate(ref.year - age, precision=ESTIMATED)
    return None


def _checked(year: int, month: int | None, day: int | None, ref: date,
             placeholder_days: frozenset[tuple[int, int]], original: str, precision: str | None = None) -> BirthDate:
    if year < EARLIEST_YEAR:
        raise DateNotRecognised(_("A date before 1900 is not accepted: {value}.", value=original))
    if month is not None and day is not None:
        try:
            when = date(year, month, day)
        except ValueError:
            raise DateNotRecognised(_not_recognised(original)) from None
        if when > ref:
            raise DateNotRecognised(_("A date in the future is not accepted: {value}.", value=original))
        if (month, day) in placeholder_days:
            return BirthDate(year, precision=YEAR)
        return BirthDate(year, month, day, DAY)
    if month is not None and not 1 <= month <= 12:
        raise DateNotRecognised(_not_recognised(original))
    if year > ref.year or (month is not None and (year, month) > (ref.year, ref.month)):
        raise DateNotRecognised(_("A date in the future is not accepted: {value}.", value=original))
    if month is not None:
        return BirthDate(year, month, None, MONTH)
    return BirthDate(year, precision=precision or YEAR)


def _number(text: str) -> int | None:
    """A day or month written as digits; None for unknown placeholders such as 00 or xx."""
    return int(text) or None if text.isascii() and text.isdigit() else None


def _full_year(text: str, ref: date) -> int:
    if len(text) == 4:
        return int(text)
    two = int(text)
    return 2000 + two if 2000 + two <= ref.year else 1900 + two


def _unaccent(text: str) -> str:
    return text.translate(str.maketrans("éèêëûùôîïàâç", "eeeeuuoiiaac"))


def _not_recognised(value: str) -> str:
    return _("Birth date not recognised: {value}. Accepted: 1980-03-25, 25/03/1980, 19800325, 03/1980, "
             "1980, ~1980, 35 ans.", value=value)
