"""Privacy-preserving record linkage: encoding a list of people so that only encodings travel.

Each agency prepares its list (`dedup.prepare`) and encodes every person locally into keyed
Bloom filters, one per field, and a few keyed blocking keys. Only the encodings leave the
agency; the secret shared by the agencies never travels with them. `dedup.pprl_match` compares
two files of encodings (or one with itself) without the secret.

How a field becomes a filter: the prepared values are cut into features (letter pairs of the
folded names, their canonical keys, sound keys and roots; the birth year with its neighbours;
the date; the phone's digits; the place's code and its parents). Each feature sets `k` bits of
the field's filter, at positions drawn from HMAC-SHA256 under a key derived from the secret for
that field ("random hashing": every position comes from the keyed hash, never from a linear
double-hashing formula, which has been attacked). The given and family name filters share one
key so that swapped names can be compared crosswise. A keyed pseudo-random share of the bits of
every filter (`NOISE`) is then flipped, seeded by the record id, so that two records with the
same name do not carry the same bit pattern. Blocking keys are truncated HMACs, one key per
kind; no plain value, q-gram or hash without the secret is ever written.

The file starts with a line `#jatigi-pprl;version=1;check=...`: the check value is an HMAC of
the encoding settings under the secret, so that files encoded with another secret or other
settings are refused before any comparison.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import math
import os
import re
import secrets
import stat
import string
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _

FORMAT = "jatigi-pprl"
VERSION = 1
MIN_SECRET_BITS = 256
NOISE = 0.01  # share of each filter's bits flipped, keyed by the record id
KEY_BYTES = 12  # blocking keys: truncated HMAC-SHA256, 96 bits

csv.field_size_limit(min(sys.maxsize, 1 << 20))


@dataclass(frozen=True)
class FilterSpec:
    name: str
    bits: int  # a power of two
    key: str  # filters sharing a key can be compared with each other (given and family names)


FILTERS: tuple[FilterSpec, ...] = (
    FilterSpec("given", 1024, "name"),
    FilterSpec("family", 1024, "name"),
    FilterSpec("birth_year", 512, "birth_year"),
    FilterSpec("birth_date", 512, "birth_date"),
    FilterSpec("phone", 256, "phone"),
    FilterSpec("place", 256, "place"),
)
FILTER_NAMES = tuple(f.name for f in FILTERS)
# Blocking keys, in the order candidate pairs are looked for.
BLOCKING_KEYS = ("id_number", "phone", "family_year", "given_year", "names_area", "sound")

# Bits set by one feature of each kind: the weight of that kind in the Dice coefficient.
HASHES: dict[str, int] = {
    "bigram": 10, "key": 20, "sound": 15, "root": 8,  # names
    "year": 6, "year2": 6, "year3": 6, "year_sex": 18,  # birth year, its windows, year and sex
    "ymd": 12, "md": 12, "ym": 8,  # birth date
    "number": 12, "digits": 4,  # phone
    "code": 12, "parent": 8, "region": 4, "word": 10, "letters": 4,  # place
}

COLUMNS = ("id", *FILTER_NAMES, *(f"key_{k}" for k in BLOCKING_KEYS))


class SecretRejected(ValidationFailed):
    """A secret file that must not be used."""


class EncodingFileError(ValidationFailed):
    """A file of encodings that cannot be read or compared."""


# --- the secret ---------------------------------------------------------------------------------

class Secret:
    """Keys derived from the shared secret (HMAC-SHA256 as a key derivation function)."""

    __slots__ = ("_prk",)

    def __init__(self, material: bytes) -> None:
        self._prk = hmac.new(FORMAT.encode(), material, hashlib.sha256).digest()

    def key(self, purpose: str) -> bytes:
        return hmac.new(self._prk, f"{FORMAT}/{VERSION}/{purpose}".encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "Secret(…)"


_ALPHABETS = (string.digits, "0123456789abcdef", "0123456789ABCDEF", string.ascii_lowercase,
              string.ascii_letters + string.digits, string.ascii_letters + string.digits + "+/-_=",
              string.printable.strip() + " ")


def secret_bits(data: bytes) -> int:
    """A conservative estimate of the entropy of a secret, in bits: the length in symbols times
    the bits of the smallest usual alphabet that holds them (hex digits: 4, base64: 6, bytes: 8),
    capped by what the secret compresses to, so that repeated patterns count for little."""
    if not data:
        return 0
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c in _ALPHABETS[-1] for c in text):
        symbols = text.rstrip("=")
        chars = set(symbols)
        size = next(len(set(a)) for a in _ALPHABETS if chars <= set(a))
        by_alphabet = len(symbols) * math.log2(size)
    else:
        by_alphabet = len(data) * 8.0
    compressed = len(zlib.compress(data, 9)) - 11  # zlib's header, checksum and block overhead
    return int(min(by_alphabet, max(compressed, 0) * 8 * 1.5))


def load_secret(path: Path) -> Secret:
    """Read the shared secret: the file's content without surrounding blanks. Refused when the
    file can be read by every user of the computer or holds less than 256 bits of entropy."""
    if not path.is_file():
        raise SecretRejected(_("No secret file {file}.", file=str(path)))
    if os.name == "posix" and path.stat().st_mode & stat.S_IROTH:
        raise SecretRejected(_("The secret file {file} can be read by every user of this computer. "
                               "Protect it first: chmod 600 {file}", file=str(path)))
    data = _secret_material(path.read_bytes())
    bits = secret_bits(data)
    if bits < MIN_SECRET_BITS:
        raise SecretRejected(_("The secret file {file} holds about {bits} bits of secret; at least {min} "
                               "(32 random bytes) are needed. Make one with: jatigi dedup pprl secret --out "
                               "{file}", file=str(path), bits=bits, min=MIN_SECRET_BITS))
    return Secret(data)


def _secret_material(raw: bytes) -> bytes:
    """A text secret loses the blanks and line ends around it; binary bytes are kept as they are."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    stripped = text.strip()
    return stripped.encode("utf-8") if stripped.isprintable() else raw


def new_secret(path: Path) -> None:
    """Write a new random secret (32 bytes, base64) to a file only its owner may read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")


def settings() -> str:
    """Everything that must be equal for two files to be comparable, except the secret."""
    filters = ",".join(f"{f.name}:{f.bits}:{f.key}" for f in FILTERS)
    hashes = ",".join(f"{k}:{v}" for k, v in sorted(HASHES.items()))
    return f"{FORMAT};{VERSION};{filters};{hashes};noise={NOISE};keys={','.join(BLOCKING_KEYS)}"


def check_value(secret: Secret) -> str:
    digest = hmac.new(secret.key("check"), settings().encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


# --- features of a prepared person -------------------------------------------------------------

Feature = tuple[str, str]  # (kind, value)
_PCODE = re.compile(r"^[A-Z]{2}\d{2,}$")


def _bigrams(word: str) -> list[str]:
    padded = f"_{word}_"
    return [padded[i:i + 2] for i in range(len(padded) - 1)]


def name_features(row: Mapping[str, Any], part: str) -> list[Feature]:
    """Letter pairs of each folded word, then canonical keys, sound keys and roots, so that
    listed spellings agree fully (Mahamadou / Mamadou) and others in part (Traoré / Trawore)."""
    out: list[Feature] = []
    for word in (row.get(f"{part}_name") or "").split():
        out += [("bigram", g) for g in _bigrams(word)]
    for kind, column in (("key", "key"), ("sound", "phonetic"), ("root", "root")):
        out += [(kind, w) for w in (row.get(f"{part}_name_{column}") or "").split()]
    return out


def birth_year_features(row: Mapping[str, Any]) -> list[Feature]:
    """The year, every window of two and three years holding it (so that years one or two apart
    share part of their features), and the year with the sex (so that a different sex counts
    against a pair without sex being written on its own)."""
    year = row.get("birth_year")
    if not year:
        return []
    out: list[Feature] = [("year", str(year))]
    out += [("year2", str(year - i)) for i in range(2)]
    out += [("year3", str(year - i)) for i in range(3)]
    if row.get("sex"):
        out.append(("year_sex", f"{year}{row['sex']}"))
    return out


def birth_date_features(row: Mapping[str, Any]) -> list[Feature]:
    if row.get("birth_day") and row.get("birth_date"):
        iso = str(row["birth_date"])
        return [("ymd", iso), ("md", iso[5:]), ("ym", iso[:7])]
    if row.get("birth_month") and row.get("birth_year"):
        return [("ym", f"{row['birth_year']}-{row['birth_month']:02d}")]
    return []


def phone_features(row: Mapping[str, Any]) -> list[Feature]:
    phone = row.get("phone")
    if not phone:
        return []
    local = phone[-8:]
    return [("number", phone)] + [("digits", f"{i}{local[i:i + 3]}") for i in range(len(local) - 2)]


def place_features(row: Mapping[str, Any]) -> list[Feature]:
    place = row.get("place")
    if not place:
        return []
    if _PCODE.match(place):  # a P-code: the commune, its cercle and its region
        return [("code", place), ("parent", place[:-2]), ("region", place[:4])]
    out: list[Feature] = [("word", w) for w in place.split()]
    for w in place.split():
        out += [("letters", g) for g in _bigrams(w)]
    return out


FEATURES = {
    "given": lambda row: name_features(row, "given"),
    "family": lambda row: name_features(row, "family"),
    "birth_year": birth_year_features,
    "birth_date": birth_date_features,
    "phone": phone_features,
    "place": place_features,
}


def blocking_values(row: Mapping[str, Any]) -> dict[str, str | None]:
    """The plain values behind each blocking key; they are only ever written as keyed HMACs."""
    year = row.get("birth_year")
    given, family = row.get("given_first_key"), row.get("family_head_key")
    given_sound = (row.get("given_name_phonetic") or "").split()[:1]
    family_sound = (row.get("family_name_phonetic") or "").split()[:1]
    place = row.get("place") or ""
    area = place[:4] if _PCODE.match(place) else place
    names = sorted(n for n in (given, family) if n)
    sounds = sorted(given_sound + family_sound)
    return {
        "id_number": row.get("id_number") or None,
        "phone": row.get("phone") or None,
        "family_year": f"{family}|{year}" if family and year else None,
        "given_year": f"{given}|{year}" if given and year else None,
        "names_area": f"{' '.join(names)}|{area}" if len(names) == 2 and area else None,
        "sound": " ".join(sounds) if len(sounds) == 2 else None,
    }


# --- encoding -----------------------------------------------------------------------------------

@lru_cache(maxsize=1 << 18)
def _positions(key: bytes, feature: str, k: int, bits: int) -> int:
    """The bits one feature sets: k positions, each from 16 bits of HMAC-SHA256(key, feature)."""
    mask = 0
    block = 0
    while k > 0:
        digest = hmac.new(key, f"{feature}\x1f{block}".encode(), hashlib.sha256).digest()
        for i in range(0, min(len(digest), 2 * k), 2):
            mask |= 1 << (int.from_bytes(digest[i:i + 2], "big") % bits)  # bits divides 65536: no bias
        k -= len(digest) // 2
        block += 1
    return mask


def noise_mask(key: bytes, record_id: str, filter_name: str, bits: int, rate: float) -> int:
    """Bits to flip: each bit with probability `rate`, drawn from a keyed stream seeded by the
    record id, so that encoding is repeatable and two records with equal values still differ."""
    if rate <= 0:
        return 0
    log_keep = math.log1p(-rate)
    mask, position, block, stream, i = 0, -1, 0, b"", 0
    while True:
        if i + 2 > len(stream):
            stream = hmac.new(key, f"{record_id}\x1f{filter_name}\x1f{block}".encode(), hashlib.sha256).digest()
            block, i = block + 1, 0
        u = (int.from_bytes(stream[i:i + 2], "big") + 0.5) / 65536
        i += 2
        position += 1 + int(math.log(u) / log_keep)
        if position >= bits:
            return mask
        mask |= 1 << position


def to_text(bloom: int, bits: int) -> str:
    return base64.b64encode(bloom.to_bytes(bits // 8, "big")).decode("ascii") if bloom else ""


class Encoder:
    """Encodes prepared people (rows of `dedup.prepare.OUTPUT_SCHEMA`) under one secret."""

    def __init__(self, secret: Secret, *, noise: float = NOISE) -> None:
        self.noise = noise
        self._filter_keys = {f.key: secret.key(f"filter/{f.key}") for f in FILTERS}
        self._block_keys = {k: secret.key(f"block/{k}") for k in BLOCKING_KEYS}
        self._noise_key = secret.key("noise")
        self.check = check_value(secret)

    def filter(self, spec: FilterSpec, features: Iterable[Feature], record_id: str) -> int:
        key = self._filter_keys[spec.key]
        bloom = 0
        for kind, value in features:
            bloom |= _positions(key, f"{kind}\x1f{value}", HASHES[kind], spec.bits)
        if bloom:  # an empty filter stays empty: the value is missing
            bloom ^= noise_mask(self._noise_key, record_id, spec.name, spec.bits, self.noise)
        return bloom

    def block_key(self, name: str, value: str | None) -> str:
        if not value:
            return ""
        digest = hmac.new(self._block_keys[name], value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:KEY_BYTES]).decode("ascii")

    def encode(self, row: Mapping[str, Any]) -> list[str]:
        """One CSV row: the id, each filter in base64 (empty when missing), each blocking key."""
        rid = str(row["unique_id"])
        cells = [rid]
        for spec in FILTERS:
            cells.append(to_text(self.filter(spec, FEATURES[spec.name](row), rid), spec.bits))
        values = blocking_values(row)
        cells += [self.block_key(k, values[k]) for k in BLOCKING_KEYS]
        return cells


def header_line(check: str) -> str:
    return f"#{FORMAT};version={VERSION};check={check}\n"


def write_encodings(path: Path, rows: Iterable[Mapping[str, Any]], secret: Secret, *,
                    noise: float = NOISE) -> int:
    """Encode prepared rows into a CSV file of encodings; returns the number of records."""
    encoder = Encoder(secret, noise=noise)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(header_line(encoder.check))
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(COLUMNS)
        for row in rows:
            out.writerow(encoder.encode(row))
            n += 1
    return n


# --- reading a file of encodings ---------------------------------------------------------------

@dataclass
class Encodings:
    """One file of encodings in memory: filters as integers, blocking keys as text."""

    name: str
    check: str
    ids: list[str] = field(default_factory=list)
    filters: dict[str, list[int]] = field(default_factory=lambda: {f: [] for f in FILTER_NAMES})
    keys: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in BLOCKING_KEYS})

    def __len__(self) -> int:
        return len(self.ids)


def _header(name: str, line: str) -> dict[str, str]:
    if not line.startswith(f"#{FORMAT};"):
        raise EncodingFileError(_("{file} is not a file of encodings made by jatigi dedup pprl encode.",
                                  file=name))
    fields = dict(part.partition("=")[::2] for part in line.strip().lstrip("#").split(";")[1:])
    if fields.get("version") != str(VERSION):
        raise EncodingFileError(_("{file} was encoded with version {found} of the encoding; this Jatigi reads "
                                  "version {version}. Encode both lists again with the same version.",
                                  file=name, found=fields.get("version") or "?", version=VERSION))
    if not fields.get("check"):
        raise EncodingFileError(_("{file} has no check value in its first line.", file=name))
    return fields


def _bloom(text: str, bits: int) -> int | None:
    if not text:
        return 0
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "big") if len(raw) == bits // 8 else None


def read_encodings(path: Path) -> Encodings:
    """Read and check a file written by `write_encodings`."""
    name = path.name
    if not path.is_file():
        raise EncodingFileError(_("No file {file}.", file=str(path)))
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            first = fh.readline()
            if not first.strip():
                raise EncodingFileError(_("{file} is empty.", file=name))
            meta = _header(name, first)
            data = Encodings(name, meta["check"])
            reader = csv.reader(fh)
            columns = next(reader, None)
            if columns is None or tuple(c.strip() for c in columns) != COLUMNS:
                raise EncodingFileError(_("{file}: the columns are not those of a file of encodings ({columns}).",
                                          file=name, columns=", ".join(COLUMNS)))
            _read_rows(data, reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EncodingFileError(_("{file}: cannot read it as CSV ({error}).", file=name, error=str(exc))) from None
    if not data.ids:
        raise EncodingFileError(_("{file} holds no records.", file=name))
    return data


def _read_rows(data: Encodings, reader: Iterator[list[str]]) -> None:
    seen: dict[str, int] = {}
    specs = FILTERS
    for line, cells in enumerate(reader, start=3):
        if not cells:
            continue
        if len(cells) != len(COLUMNS):
            raise EncodingFileError(_("{file}, line {row}: {n} values where {expected} were expected.",
                                      file=data.name, row=line, n=len(cells), expected=len(COLUMNS)))
        rid = cells[0].strip()
        if not rid:
            raise EncodingFileError(_("{file}, line {row}: the record has no id.", file=data.name, row=line))
        if rid in seen:
            raise EncodingFileError(_("{file}, line {row}: the id {id} is used by line {first} too.",
                                      file=data.name, row=line, id=rid, first=seen[rid]))
        seen[rid] = line
        data.ids.append(rid)
        for spec, text in zip(specs, cells[1:1 + len(specs)], strict=True):
            bloom = _bloom(text.strip(), spec.bits)
            if bloom is None:
                raise EncodingFileError(_("{file}, line {row}, column {column}: not a valid encoding.",
                                          file=data.name, row=line, column=spec.name))
            data.filters[spec.name].append(bloom)
        for key, text in zip(BLOCKING_KEYS, cells[1 + len(specs):], strict=True):
            data.keys[key].append(text.strip())
