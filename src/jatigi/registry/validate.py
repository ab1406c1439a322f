"""Checking one submitted household — raw values from any source — into a HouseholdRecord.

Values may be codes or labels (French or English), strings from a CSV or typed cells from a
spreadsheet. Every problem names the row, the column as the file heads it, the value and what
would be accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from jatigi.core.crypto import normalise_phone
from jatigi.core.i18n import _, use_language
from jatigi.registry import form_spec, limits, vocab
from jatigi.registry.problems import Problem
from jatigi.registry.records import (
    ConsentRecord,
    HouseholdRecord,
    MovementRecord,
    PersonRecord,
    RelativeRecord,
)
from jatigi.registry.text import name_key

MAX_NAME = 120
MAX_TEXT = 300
EARLIEST = date(1900, 1, 1)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class RawRow:
    sheet: str
    row: int
    values: dict[str, object]
    columns: dict[str, str] = field(default_factory=dict)

    def col(self, name: str) -> str:
        return self.columns.get(name, name)


@dataclass
class RawSubmission:
    main: RawRow
    repeats: dict[str, list[RawRow]] = field(default_factory=dict)


class Choices:
    """Codes of a choice list, recognised by code or by French or English label."""

    def __init__(self, list_name: str) -> None:
        self.list_name = list_name
        options = form_spec.CHOICE_LISTS[list_name]
        self.codes = list(options)
        lookup: dict[str, str] = {}
        for code, label in options.items():
            for lang in ("en", "fr"):
                with use_language(lang):
                    lookup.setdefault(name_key(_(label)), code)
        for code in options:
            lookup[name_key(code)] = code
            lookup[code] = code
        self._lookup = lookup
        self._labels = sorted((k for k in lookup if " " in k), key=len, reverse=True)

    def one(self, value: object) -> str | None:
        text = _text(value)
        if text in self._lookup:
            return self._lookup[text]
        return self._lookup.get(name_key(text))

    def many(self, value: object) -> list[str] | None:
        """Space-separated codes, or labels run together as Kobo's label exports write them."""
        text = _text(value)
        if not text:
            return []
        tokens = text.replace(",", " ").replace(";", " ").split()
        codes = [self._lookup.get(t) for t in tokens]
        if all(codes):
            if len(codes) == 1:
                return codes  # type: ignore[return-value]
            unique: list[str] = []
            for code in codes:
                if code not in unique:
                    unique.append(code)  # type: ignore[arg-type]
            return unique
        rest = name_key(text)
        found: list[str] = []
        while rest:
            for key in (*self._labels, *sorted(self._lookup, key=len, reverse=True)):
                if rest == key or rest.startswith(key + " "):
                    found.append(self._lookup[key])
                    rest = rest[len(key):].strip()
                    break
            else:
                return None
        return list(dict.fromkeys(found))

    def accepted(self) -> str:
        shown = self.codes[:14]
        return ", ".join(shown) + (", …" if len(self.codes) > len(shown) else "")


@lru_cache(maxsize=32)
def choices(list_name: str) -> Choices:
    return Choices(list_name)


def _text(value: object) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class Checker:
    """Collects problems for one submission while converting its values."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.problems: list[Problem] = []

    def add(self, row: RawRow, name: str, value: object, message: str) -> None:
        self.problems.append(Problem(row.sheet, row.row, row.col(name), _text(value), message))

    def text(self, row: RawRow, name: str, *, required: bool = False, max_len: int = MAX_TEXT) -> str | None:
        value = row.values.get(name)
        text = _text(value)
        if not text:
            if required:
                self.add(row, name, value, _("This value is required."))
            return None
        if _CONTROL.search(text):
            self.add(row, name, value, _("Control characters are not accepted in text."))
            return None
        if len(text) > max_len:
            self.add(row, name, value, _("Text longer than {n} characters.", n=max_len))
            return None
        return text

    def one(self, row: RawRow, name: str, list_name: str, *, required: bool = False) -> str | None:
        value = row.values.get(name)
        if not _text(value):
            if required:
                self.add(row, name, value, _("This value is required; accepted: {accepted}.",
                                             accepted=choices(list_name).accepted()))
            return None
        code = choices(list_name).one(value)
        if code is None:
            self.add(row, name, value, _("Unknown choice; accepted: {accepted}.",
                                         accepted=choices(list_name).accepted()))
        return code

    def many(self, row: RawRow, name: str, list_name: str) -> list[str]:
        value = row.values.get(name)
        codes = choices(list_name).many(value)
        if codes is None:
            self.add(row, name, value, _("Unknown choice; accepted: {accepted}.",
                                         accepted=choices(list_name).accepted()))
            return []
        return codes

    def integer(self, row: RawRow, name: str, low: int, high: int, *, required: bool = False) -> int | None:
        value = row.values.get(name)
        text = _text(value)
        if text.isascii() and text.isdigit():
            number = int(text)
            if low <= number <= high:
                return number
        text = text.replace(" ", "").replace("\u202f", "").replace("\xa0", "")
        if not text:
            if required:
                self.add(row, name, value, _("This value is required."))
            return None
        try:
            number = int(float(text)) if "." in text else int(text)
        except ValueError:
            self.add(row, name, value, _("Not a whole number; accepted: {low} to {high}.", low=low, high=high))
            return None
        if not low <= number <= high:
            self.add(row, name, value, _("Out of range; accepted: {low} to {high}.", low=low, high=high))
            return None
        return number

    def day(self, row: RawRow, name: str, *, required: bool = False) -> date | None:
        value = row.values.get(name)
        if isinstance(value, datetime):
            result: date | None = value.date()
        elif isinstance(value, date):
            result = value
        else:
            text = _text(value)
            if not text:
                if required:
                    self.add(row, name, value, _("This value is required."))
                return None
            result = parse_date(text)
            if result is None:
                self.add(row, name, value, _("Not a date; write it as YYYY-MM-DD."))
                return None
        assert result is not None
        if result > self.ctx.today:
            self.add(row, name, value, _("A date in the future is not accepted."))
            return None
        if result < EARLIEST:
            self.add(row, name, value, _("A date before 1900 is not accepted."))
            return None
        return result

    def pcode(self, row: RawRow, name: str, *, required: bool = False) -> str | None:
        value = row.values.get(name)
        text = _text(value).upper()
        if not text:
            if required:
                self.add(row, name, value, _("This value is required: a P-code such as ML0901."))
            return None
        if text not in self.ctx.pcodes:
            self.add(row, name, value,
                     _("Unknown P-code; accepted: a P-code of the imported admin units, such as ML0901."))
            return None
        return text

    def phone(self, row: RawRow, name: str) -> str | None:
        value = row.values.get(name)
        text = _text(value)
        if not text:
            return None
        digits = normalise_phone(text)
        if digits is None or not 8 <= len(digits) <= 15 or re.search(r"[^\d\s+().-]", text):
            self.add(row, name, value, _("Not a phone number; accepted: 8 digits, or +223 and 8 digits."))
            return None
        return text


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d")


def parse_date(text: str) -> date | None:
    text = text.strip()
    if len(text) >= 10 and text[4] == "-":
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for fmt in _DATE_FORMATS[1:]:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class Context:
    pcodes: set[str] | dict[str, object]
    today: date = field(default_factory=date.today)


def check_submission(sub: RawSubmission, ctx: Context) -> tuple[HouseholdRecord | None, list[Problem]]:
    """Convert one household; return the record, or None with the problems found."""
    c = Checker(ctx)
    m = sub.main
    consents = []
    for fname, purpose in form_spec.CONSENT_PURPOSE_OF.items():
        answer = c.one(m, fname, "yes_no", required=purpose == "registration")
        if answer is not None:
            consents.append(ConsentRecord(purpose=purpose, given=answer == "yes"))
    if any(x.purpose == "registration" and not x.given for x in consents):
        c.add(m, "consent_registration", m.values.get("consent_registration"),
              _("Consent to registration was refused: the household cannot be registered."))
    enumerator = c.text(m, "enumerator", required=True, max_len=MAX_NAME)
    group = c.one(m, "population_group", "population_group", required=True)
    current = c.pcode(m, "current_pcode", required=True)
    arrangement = c.one(m, "living_arrangement", "living_arrangement", required=True)
    displaced_on = c.day(m, "displacement_date")
    arrived_on = c.day(m, "arrival_date")
    if displaced_on and arrived_on and arrived_on < displaced_on:
        c.add(m, "arrival_date", m.values.get("arrival_date"),
              _("Arrival is before displacement ({date}).", date=displaced_on.isoformat()))
    registered_on = _registration_day(c, m)
    rent = c.integer(m, "monthly_rent_xof", *limits.MONTHLY_RENT_XOF)
    arrears = c.integer(m, "rent_arrears_xof", *limits.RENT_ARREARS_XOF)
    record = HouseholdRecord(
        population_group=group or "",
        current_pcode=current or "",
        living_arrangement=arrangement or "",
        registered_on=registered_on,
        source_uuid=c.text(m, form_spec.META_UUID, max_len=64),
        address=c.text(m, "address"),
        origin_pcode=c.pcode(m, "origin_pcode"),
        displacement_date=displaced_on,
        arrival_date=arrived_on,
        households_in_dwelling=c.integer(m, "households_in_dwelling", *limits.HOUSEHOLDS_IN_DWELLING),
        monthly_rent_xof=rent,
        rent_arrears_xof=arrears,
        intention=c.one(m, "intention", "intention"),
        priority_needs=c.many(m, "priority_needs", "needs"),
        phone=c.phone(m, "phone"),
        enumerator=enumerator,
        consents=consents,
    )
    record.members = [_member(c, r, i + 1, registered_on) for i, r in enumerate(sub.repeats.get("members", []))]
    _check_household_members(c, sub, record)
    record.relatives = [_relative(c, r) for r in sub.repeats.get("separated_relatives", [])]
    record.movements = [_movement(c, r) for r in sub.repeats.get("movements", [])]
    if not record.movements and group not in (None, "host") and (displaced_on or record.origin_pcode):
        # A displaced household without recorded movements still moved once: from its origin.
        record.movements.append(MovementRecord("displaced", displaced_on, record.origin_pcode, current))
    if c.problems:
        return None, c.problems
    return record, []


def _registration_day(c: Checker, m: RawRow) -> date:
    for name in (form_spec.META_TODAY, form_spec.META_SUBMISSION_TIME, "start"):
        if _text(m.values.get(name)):
            day = c.day(m, name)
            return day or c.ctx.today
    return c.ctx.today


def _age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _member(c: Checker, r: RawRow, line_no: int, registered_on: date) -> PersonRecord:
    born = c.day(r, "birth_date")
    age = c.integer(r, "age", *limits.AGE_YEARS)
    estimated = False
    if born is None and age is not None:
        # The date on which the person had exactly the stated age at registration.
        try:
            born = registered_on.replace(year=registered_on.year - age)
        except ValueError:  # 29 February
            born = date(registered_on.year - age, 2, 28)
        estimated = True
    if born is None and age is None and not _text(r.values.get("age")) and not _text(r.values.get("birth_date")):
        c.add(r, "age", r.values.get("age"), _("Give a date of birth or an age."))
    if born is not None and _age_on(born, registered_on) > 120:
        c.add(r, "birth_date", r.values.get("birth_date"), _("An age over 120 years is not possible."))
    return PersonRecord(
        line_no=line_no,
        given_name=c.text(r, "given_name", required=True, max_len=MAX_NAME) or "",
        family_name=c.text(r, "family_name", required=True, max_len=MAX_NAME) or "",
        sex=c.one(r, "sex", "sex", required=True) or "",
        relationship=c.one(r, "relationship", "relationship", required=True) or "",
        birth_date=born,
        age_estimated=estimated,
        wg={d: _wg(c, r, f"wg_{d}") for d in vocab.WG_DOMAINS},
        school_attendance=c.one(r, "school_attendance", "school"),
        specific_needs=c.many(r, "specific_needs", "specific_needs"),
        documents=c.many(r, "documents", "documents"),
        phone=c.phone(r, "member_phone"),
    )


_WG_FAST: dict[object, int | None] = {None: None, "": None, "1": 1, "2": 2, "3": 3, "4": 4}


def _wg(c: Checker, r: RawRow, name: str) -> int | None:
    value = r.values.get(name)
    if (type(value) is str or value is None) and value in _WG_FAST:
        return _WG_FAST[value]
    code = c.one(r, name, "wg")  # a level by its number or by its label
    return int(code) if code else None


def _check_household_members(c: Checker, sub: RawSubmission, record: HouseholdRecord) -> None:
    rows = sub.repeats.get("members", [])
    m = sub.main
    if not rows:
        c.add(m, form_spec.META_UUID, m.values.get(form_spec.META_UUID),
              _("A household needs at least one member."))
        return
    heads = [(row, p) for row, p in zip(rows, record.members, strict=True) if p.relationship == "head"]
    if len(heads) != 1:
        row = heads[1][0] if len(heads) > 1 else rows[0]
        c.add(row, "relationship", row.values.get("relationship"),
              _("A household needs exactly one head; found {n}.", n=len(heads)))
        return
    row, head = heads[0]
    if head.birth_date is not None:
        age = _age_on(head.birth_date, record.registered_on)
        if age < vocab.ADULT_AGE and not vocab.CHILD_HEAD_CODES & set(head.specific_needs):
            c.add(row, "specific_needs", row.values.get("specific_needs"),
                  _("The head is {age} years old: a child heading a household needs the specific-needs code SC-CH.",
                    age=age))


def _relative(c: Checker, r: RawRow) -> RelativeRecord:
    return RelativeRecord(
        name=c.text(r, "relative_name", required=True, max_len=MAX_NAME) or "",
        relationship=c.one(r, "relative_relationship", "relationship", required=True) or "",
        sex=c.one(r, "relative_sex", "sex"),
        age=c.integer(r, "relative_age", 0, 120),
        last_known_pcode=c.pcode(r, "relative_last_pcode"),
        whereabouts=c.text(r, "relative_whereabouts"),
        separated_on=c.day(r, "relative_separated_on"),
    )


def _movement(c: Checker, r: RawRow) -> MovementRecord:
    return MovementRecord(
        kind=c.one(r, "movement_kind", "movement_kind", required=True) or "",
        moved_on=c.day(r, "movement_date"),
        from_pcode=c.pcode(r, "movement_from"),
        to_pcode=c.pcode(r, "movement_to"),
    )
