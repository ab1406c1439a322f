"""People records prepared into the columns a linkage model compares.

Input: any list of people as mappings (or a pyarrow table) with some of the fields
`given_name`, `family_name`, `full_name`, `birth_date`, `age`, `age_estimated`, `sex`, `phone`,
`place`, `id_number`, `address`. Output: one row per person with folded names and their keys
(canonical, root, phonetic), an order-insensitive token set, the birth date split by precision,
and normalised sex, phone, place and identity number (`OUTPUT_SCHEMA`). Values that cannot be
read become empty and are reported as problems naming the row, the field and the value.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jatigi.core.crypto import normalise_phone as _phone_digits
from jatigi.core.i18n import _
from jatigi.dedup import names
from jatigi.dedup.dates import DateNotRecognised, parse_birth_date

COUNTRY_CODE = "223"  # Mali: +223 and eight digits
# A person's first given name and birth year as one number, `born_key`: the name's CRC-32 times
# YEAR_SLOTS plus the year. Two keys within a few units of each other are the same name and close
# years; comparing numbers needs no list of every year around each (measured: half the memory and
# less time on a million records than strings such as "awa|1980").
YEAR_SLOTS = 8192

OUTPUT_SCHEMA = pa.schema([
    ("unique_id", pa.string()),
    ("given_name", pa.string()),  # folded words, without particles
    ("family_name", pa.string()),
    ("given_name_key", pa.string()),  # canonical keys: "mamadou"
    ("family_name_key", pa.string()),
    ("given_name_root", pa.string()),  # roots: "muhammad"
    ("family_name_root", pa.string()),
    ("given_name_phonetic", pa.string()),
    ("family_name_phonetic", pa.string()),
    ("given_first_key", pa.string()),  # first given name, for blocking
    ("family_head_key", pa.string()),  # first family word: the father's name in a patronymic
    ("family_particles", pa.string()),  # "ag", "ould", "walet"... kept, not compared as a name
    ("name_tokens", pa.list_(pa.string())),  # canonical keys of given and family names, sorted
    ("name_sorted_key", pa.string()),  # the same joined: equal when given and family are swapped
    ("alias_keys", pa.list_(pa.string())),  # names after "dit" / "dite" / "épouse"
    ("birth_year", pa.int32()),
    ("birth_month", pa.int32()),
    ("birth_day", pa.int32()),
    ("birth_date", pa.string()),  # YYYY-MM-DD when the day is known
    ("birth_precision", pa.string()),  # day, month, year or estimated
    ("sex", pa.string()),  # m or f
    ("phone", pa.string()),  # "+223" and eight digits, e.g. +22376123456
    ("place", pa.string()),  # a P-code as written (upper case) or a folded place name
    ("place_area", pa.string()),  # the P-code of the unit above a place (a commune's cercle), else empty
    ("id_number", pa.string()),
    ("address", pa.string()),  # folded
    ("address_area", pa.string()),  # the quartier or village part: "hamdallaye"
    ("address_street", pa.string()),  # "r245" for "Rue 245"
    ("address_door", pa.string()),  # "r245 p12" for "Rue 245, Porte 12" (street and door)
    ("household", pa.string()),  # the registration (household) the record was written in
    ("household_given", pa.list_(pa.string())),  # first given names of the other members of that registration
    ("given_born_key", pa.int64()),  # first given name and birth year as one number (`born_key`)
    ("household_born", pa.list_(pa.int64())),  # the same for the other members whose birth year is known
])

INPUT_FIELDS = ("given_name", "family_name", "full_name", "birth_date", "age", "age_estimated", "sex",
                "phone", "place", "id_number", "address", "household")


class PhoneNotRecognised(ValueError):
    pass


_PHONE_SPLIT = re.compile(r"\s*(?:/|,|;|\||\bou\b|\bor\b|\bet\b|&)\s*", re.I)
_PHONE_CHARS = re.compile(r"^[\d\s+().-]+$")
_PLACEHOLDER_LOCAL = frozenset({"12345678", "01234567", "87654321", "23456789"})


def phones(raw: object, country_code: str = COUNTRY_CODE) -> list[str]:
    """Every phone number in a field, normalised to `+<country code><digits>`:
    `76 12 34 56`, `+223-76-12-34-56`, `0022376123456` -> `+22376123456`. Numbers of other
    countries keep their code (`+22670123456`). Placeholders (`00000000`, `12345678`) are
    dropped. Raises `PhoneNotRecognised` when a part is not a phone number."""
    if raw is None:
        return []
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # spreadsheets hand numbers over as 76123456.0
    text = str(raw).strip()
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    out: list[str] = []
    for part in _PHONE_SPLIT.split(text):
        if not part:
            continue
        if not _PHONE_CHARS.match(part):
            raise PhoneNotRecognised(_phone_message(text))
        bare = re.sub(r"\D", "", part)
        digits = country_code + bare if len(bare) == 8 else _phone_digits(part, country_code) or ""
        if len(digits) == 9 and digits.startswith("0"):
            digits = country_code + digits[1:]
        local = digits[len(country_code):] if digits.startswith(country_code) else ""
        if local and len(local) == 8:
            if len(set(local)) == 1 or local in _PLACEHOLDER_LOCAL:
                continue
        elif digits.startswith(country_code) or not 10 <= len(digits) <= 15:
            raise PhoneNotRecognised(_phone_message(text))
        number = "+" + digits
        if number not in out:
            out.append(number)
    return out


def normalise_phone(raw: object, country_code: str = COUNTRY_CODE) -> str | None:
    """The first phone number of a field (see `phones`), or None."""
    found = phones(raw, country_code)
    return found[0] if found else None


def _phone_message(value: str) -> str:
    return _("Phone number not recognised: {value}. Expected 8 digits, with or without +223.", value=value)


_SEXES = {
    "m": "m", "h": "m", "male": "m", "homme": "m", "masculin": "m", "man": "m", "garcon": "m",
    "f": "f", "female": "f", "femme": "f", "feminin": "f", "woman": "f", "fille": "f",
}


def normalise_sex(raw: object) -> str | None:
    """`M`, `H`, `homme`, `male` -> `m`; `F`, `femme`, `female` -> `f`; empty -> None.
    Raises ValueError for anything else."""
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    sex = _SEXES.get(names.fold(text))
    if sex is None:
        raise ValueError(_("Sex not recognised: {value}. Accepted: m, f (also homme, femme, male, female).",
                           value=raw))
    return sex


_PCODE = re.compile(r"^[A-Z]{2}\d{2,}$")
_NO_ID = frozenset({"NA", "NAN", "NONE", "NEANT", "AUCUN", "AUCUNE", "NULL", "NR", "ND", "X"})


def normalise_place(raw: object) -> str | None:
    text = str(raw).strip() if raw is not None else ""
    if _PCODE.match(text.upper()):
        return text.upper()
    return names.fold(text) or None


def place_area(place: str | None) -> str | None:
    """The P-code of the unit a P-coded place belongs to: `ML090101` (a commune) -> `ML0901` (its
    cercle). None for a cercle, a region or a place written as a name."""
    if place is None or not _PCODE.match(place) or len(place) < 8:
        return None
    return place[:-2]


def normalise_id_number(raw: object) -> str | None:
    plain = unicodedata.normalize("NFKD", str(raw)) if raw is not None else ""
    text = re.sub(r"[^0-9A-Za-z]", "", plain).upper()
    if not text or text in _NO_ID or set(text) == {"0"}:
        return None
    return text


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based position in the input
    field: str
    value: object
    message: str


@dataclass
class Prepared:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_arrow(self) -> pa.Table:
        return with_household_context(pa.Table.from_pylist(self.rows, schema=OUTPUT_SCHEMA))


@dataclass(frozen=True)
class _NameFields:
    name: str | None
    key: str | None
    root: str | None
    phonetic: str | None
    first: str | None
    particles: str | None
    keys: tuple[str, ...]
    aliases: tuple[str, ...]


@lru_cache(maxsize=1 << 18)
def _name_fields(text: str) -> _NameFields:
    """Everything derived from one written name; names repeat a lot, so this is cached."""
    parts = names.parse(text)
    keys = parts.keys
    return _NameFields(
        name=" ".join(parts.tokens) or None,
        key=" ".join(keys) or None,
        root=" ".join(parts.roots) or None,
        phonetic=" ".join(parts.phonetics) or None,
        first=keys[0] if keys else None,
        particles=" ".join(parts.particles) or None,
        keys=keys,
        aliases=parts.alias_keys,
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from a spreadsheet
        return ""
    return str(value).strip()


def prepare_person(record: Mapping[str, Any], *, reference: date,
                   problems: list[Problem] | None = None, row: int = 0) -> dict[str, Any]:
    """One person's comparison columns (without `unique_id`); unreadable values are left empty
    and, when `problems` is given, reported there."""
    def problem(name: str, error: Exception) -> None:
        if problems is not None:
            problems.append(Problem(row, name, record.get(name), str(error)))

    given, family = _text(record.get("given_name")), _text(record.get("family_name"))
    full = _text(record.get("full_name"))
    full_aliases: tuple[str, ...] = ()
    if full and not (given or family):
        given, family = names.split_full_name(full)
        full_aliases = _name_fields(full).aliases
    g, f = _name_fields(given), _name_fields(family)
    tokens = tuple(sorted(set(g.keys) | set(f.keys)))
    aliases = tuple(sorted(set(g.aliases) | set(f.aliases) | set(full_aliases)))

    out: dict[str, Any] = {
        "given_name": g.name, "family_name": f.name,
        "given_name_key": g.key, "family_name_key": f.key,
        "given_name_root": g.root, "family_name_root": f.root,
        "given_name_phonetic": g.phonetic, "family_name_phonetic": f.phonetic,
        "given_first_key": g.first, "family_head_key": f.first,
        "family_particles": f.particles,
        "name_tokens": list(tokens) or None, "name_sorted_key": " ".join(tokens) or None,
        "alias_keys": list(aliases) or None,
        "birth_year": None, "birth_month": None, "birth_day": None, "birth_date": None,
        "birth_precision": None,
    }
    born = None
    source = "birth_date"
    raw_date = record.get("birth_date")
    if _text(raw_date) == "" and _text(record.get("age")) != "":
        source, raw_date = "age", f"~{_text(record.get('age'))}"
    try:
        born = parse_birth_date(raw_date if _text(raw_date) else None, reference=reference)
    except DateNotRecognised as error:
        problem(source, error)
    if born is not None:
        precision = born.precision
        if _truthy(record.get("age_estimated")) and precision in ("day", "month", "year"):
            precision = "estimated"
        exact = precision == "day"
        out.update(birth_year=born.year, birth_month=born.month if precision in ("day", "month") else None,
                   birth_day=born.day if exact else None, birth_date=born.iso if exact else None,
                   birth_precision=precision)
    for name, normalise in (("sex", normalise_sex), ("phone", normalise_phone)):
        try:
            out[name] = normalise(record.get(name))
        except ValueError as error:
            out[name] = None
            problem(name, error)
    out["place"] = normalise_place(record.get("place"))
    out["place_area"] = place_area(out["place"])
    out["id_number"] = normalise_id_number(record.get("id_number"))
    out.update(address_parts(_text(record.get("address"))))
    household = _text(record.get("household"))
    out["household"] = household or None
    out["household_given"] = None  # filled by `with_household_context`, once every member is known
    year = out["birth_year"]
    out["given_born_key"] = born_key(g.first, year)
    out["household_born"] = None
    return out


_STREET = re.compile(r"\b(?:rue|r)\s*(\d{1,5})\b")
_DOOR = re.compile(r"\b(?:porte|p|pte)\s*(\d{1,5})\b")
_NUMBER_WORDS = re.compile(r"\b(?:rue|r|porte|p|pte|n|no|numero)\b")
_LANDMARK_START = ("pres ", "derriere ", "a cote ", "chez ", "face ", "en face ", "vers ", "non loin ")


def address_parts(text: str) -> dict[str, str | None]:
    """An address as agencies write it, in comparable parts: `Hamdallaye, Rue 245, Porte 12`,
    `HAMDALLAYE R245 P12` and `Porte 12 rue 245 Hamdallaye` all give area `hamdallaye`, street
    `r245` and door `r245 p12`. The area is the first part that is neither numbers nor a
    landmark ("près de la mosquée")."""
    folded = names.fold(text)
    if not folded:
        return {"address": None, "address_area": None, "address_street": None, "address_door": None}
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    plain = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", plain)  # "r245" -> "r 245"
    lowered = " ".join(re.sub(r"[^0-9a-z,]+", " ", plain).split())
    street = _STREET.search(lowered)
    door = _DOOR.search(lowered)
    area = None
    for part in _NUMBER_WORDS.sub(" ", re.sub(r"\d+", " ", lowered)).split(","):
        words = " ".join(part.split())
        if words and not words.startswith(_LANDMARK_START):
            area = words
            break
    return {
        "address": lowered.replace(",", "").replace("  ", " ") or folded,
        "address_area": area,
        "address_street": f"r{int(street.group(1))}" if street else None,
        "address_door": f"r{int(street.group(1))} p{int(door.group(1))}" if street and door else None,
    }


def born_key(given: str | None, year: int | None) -> int | None:
    """A first given name and a birth year as one number: same name and years within N apart give
    keys within N apart (see `YEAR_SLOTS`)."""
    if given is None or year is None or not 0 <= year < YEAR_SLOTS:
        return None
    return zlib.crc32(given.encode("utf-8")) * YEAR_SLOTS + year


def with_household_context(table: pa.Table) -> pa.Table:
    """Fill the household context of each record from the other members of its registration
    (records with the same `household`): `household_given`, their first given names, sorted;
    `household_born`, the `given_born_key` of those whose birth year is known, sorted. Records
    alone in their registration, or without one, get none. Built by an in-memory DuckDB query: a
    million records in a few seconds."""
    if "household" not in table.column_names or table.column("household").null_count == table.num_rows:
        return table
    import duckdb

    members = pa.table({"i": pa.array(range(table.num_rows), pa.int64()), "household": table.column("household"),
                        "g": table.column("given_first_key"), "k": table.column("given_born_key")})
    sql = """
        WITH context AS (
            SELECT a.i,
                   list_sort(list_distinct(list(b.g) FILTER (WHERE b.g IS NOT NULL))) AS given,
                   list_sort(list_distinct(list(b.k) FILTER (WHERE b.k IS NOT NULL))) AS born
            FROM members a JOIN members b ON a.household = b.household AND a.i <> b.i
            GROUP BY a.i)
        SELECT given, born FROM members LEFT JOIN context USING (i) ORDER BY i"""
    with duckdb.connect() as con:
        con.register("members", members)
        found = con.sql(sql).to_arrow_table()
    out = table
    for name, column in (("household_given", "given"), ("household_born", "born")):
        kind = OUTPUT_SCHEMA.field(name).type
        values = found.column(column).cast(kind)
        # None rather than an empty list: no other member (with a name, or a birth year).
        values = pc.if_else(pc.fill_null(pc.greater(pc.list_value_length(values), 0), False), values,
                            pa.nulls(table.num_rows, kind))
        out = out.set_column(out.column_names.index(name), pa.field(name, kind), values)
    return out


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "oui", "y", "o"} if value is not None else False


def _records(data: Iterable[Mapping[str, Any]] | pa.Table) -> Iterable[Mapping[str, Any]]:
    if isinstance(data, pa.Table):
        for batch in data.to_batches(max_chunksize=50_000):
            yield from batch.to_pylist()
    else:
        yield from data


def prepare_people(data: Iterable[Mapping[str, Any]] | pa.Table, *, id_column: str = "unique_id",
                   reference: date | None = None) -> Prepared:
    """Prepare every person of `data` (mappings or a pyarrow table). A row without an id or
    with an id already seen is left out and reported; other unreadable values are reported
    and left empty."""
    ref = reference or date.today()
    result = Prepared()
    seen: set[str] = set()
    for i, record in enumerate(_records(data), start=1):
        uid = _text(record.get(id_column))
        if uid.endswith(".0") and uid[:-2].isdigit():
            uid = uid[:-2]
        if not uid:
            result.problems.append(Problem(i, id_column, record.get(id_column), _("This row has no id.")))
            continue
        if uid in seen:
            result.problems.append(Problem(i, id_column, uid, _("This id is used by an earlier row: {id}.", id=uid)))
            continue
        seen.add(uid)
        row = {"unique_id": uid}
        row.update(prepare_person(record, reference=ref, problems=result.problems, row=i))
        result.rows.append(row)
    return result
