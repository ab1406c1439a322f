"""Privacy-preserving encodings: repeatable under one secret, unreadable without it, refused when unsafe."""

from __future__ import annotations

import base64
import os
import re
from datetime import date
from pathlib import Path

import pytest

from jatigi.dedup import pprl
from jatigi.dedup.prepare import prepare_people

REF = date(2013, 10, 15)
PEOPLE = [
    {"unique_id": "a1", "given_name": "Mamadou", "family_name": "Traoré", "sex": "m", "birth_date": "1985-03-02",
     "phone": "76 12 34 56", "place": "ML070101"},
    {"unique_id": "a2", "given_name": "Fatoumata", "family_name": "Keïta", "sex": "f", "birth_date": "12/06/1990",
     "phone": "", "place": "Tombouctou"},
    {"unique_id": "a3", "given_name": "Aghaly", "family_name": "Ag Intallah", "sex": "m", "birth_date": "40 ans",
     "phone": "+223 66 55 44 33", "place": "ML060507", "id_number": "NINA 1234567"},
]


def secret(seed: bytes = b"a") -> pprl.Secret:
    return pprl.Secret(seed * 32)


def encode(path: Path, people: list[dict[str, str]], key: pprl.Secret) -> str:
    rows = prepare_people(people, reference=REF).rows
    pprl.write_encodings(path, rows, key)
    return path.read_text(encoding="utf-8")


def test_the_same_secret_gives_the_same_encodings_and_another_secret_others(tmp_path: Path) -> None:
    first = encode(tmp_path / "1.csv", PEOPLE, secret(b"a"))
    again = encode(tmp_path / "2.csv", PEOPLE, secret(b"a"))
    other = encode(tmp_path / "3.csv", PEOPLE, secret(b"b"))
    assert first == again
    rows_first, rows_other = first.splitlines(), other.splitlines()
    assert rows_first[0] != rows_other[0]  # the check value
    for line_a, line_b in zip(rows_first[2:], rows_other[2:], strict=True):
        cells_a, cells_b = line_a.split(","), line_b.split(",")
        assert cells_a[0] == cells_b[0]  # the id
        assert all(x != y for x, y in zip(cells_a[1:], cells_b[1:], strict=True) if x or y)


def test_the_file_holds_no_name_date_phone_or_place_in_clear(tmp_path: Path) -> None:
    text = encode(tmp_path / "enc.csv", PEOPLE, secret())
    lowered = text.lower()
    for plain in ("mamadou", "traore", "traoré", "fatoumata", "keita", "keïta", "aghaly", "intallah", "mamadu",
                  "traur", "muhammad", "tombouctou", "tumbuktu", "1985", "1990", "1973", "0302", "76123456",
                  "22376123456", "66554433", "1234567", "ml070101", "ml0701", "ml060507"):
        assert plain not in lowered, plain
    lines = text.splitlines()
    assert lines[0].startswith("#jatigi-pprl;version=1;check=")
    assert lines[1] == ",".join(pprl.COLUMNS)
    for line in lines[2:]:
        cells = line.split(",")
        for spec, cell in zip(pprl.FILTERS, cells[1:], strict=False):
            assert not cell or len(base64.b64decode(cell)) == spec.bits // 8
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", c) for c in cells[1 + len(pprl.FILTERS):] if c)


def test_two_people_with_the_same_name_do_not_carry_the_same_bits(tmp_path: Path) -> None:
    twins = [dict(PEOPLE[0], unique_id="x"), dict(PEOPLE[0], unique_id="y")]
    encode(tmp_path / "t.csv", twins, secret())
    data = pprl.read_encodings(tmp_path / "t.csv")
    assert data.filters["given"][0] != data.filters["given"][1]  # the keyed noise differs by record
    x, y = data.filters["given"]
    assert 2 * (x & y).bit_count() / (x.bit_count() + y.bit_count()) > 0.85  # yet they stay close
    assert data.keys["sound"][0] == data.keys["sound"][1]  # blocking keys are exact


def test_a_missing_value_stays_empty(tmp_path: Path) -> None:
    encode(tmp_path / "e.csv", PEOPLE, secret())
    data = pprl.read_encodings(tmp_path / "e.csv")
    assert data.filters["phone"][1] == 0 and data.keys["phone"][1] == ""
    assert data.filters["birth_date"][2] == 0  # an age gives a year, not a date
    assert data.filters["birth_year"][2] != 0
    assert data.keys["id_number"][2] and not data.keys["id_number"][0]


def write_secret(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(content)
    path.chmod(mode)
    return path


_RANDOM = os.urandom(32)


@pytest.mark.parametrize("content", [
    _RANDOM,
    _RANDOM.hex().encode() + b"\n",
    base64.b64encode(_RANDOM) + b"\n",
    b"the old baobab of kati holds 47 green mangoes while djoliba river floods",
], ids=["raw", "hex", "base64", "passphrase"])
def test_a_secret_of_at_least_256_bits_is_accepted(tmp_path: Path, content: bytes) -> None:
    assert isinstance(pprl.load_secret(write_secret(tmp_path / "k", content)), pprl.Secret)


@pytest.mark.parametrize(("content", "why"), [
    (b"", "about 0 bits"),
    (b"motdepasse", "at least 256"),
    (_RANDOM[:31].hex().encode(), "about 248 bits"),
    (b"a" * 200, "at least 256"),
    (b"0123456789abcdef" * 8, "at least 256"),
], ids=["empty", "short-word", "31-bytes-hex", "repeated", "pattern"])
def test_a_weak_secret_is_refused(tmp_path: Path, content: bytes, why: str) -> None:
    with pytest.raises(pprl.SecretRejected) as err:
        pprl.load_secret(write_secret(tmp_path / "k", content))
    assert why in err.value.message and "jatigi dedup pprl secret" in err.value.message


def test_a_secret_every_user_can_read_is_refused(tmp_path: Path) -> None:
    path = write_secret(tmp_path / "k", os.urandom(32).hex().encode(), 0o644)
    with pytest.raises(pprl.SecretRejected) as err:
        pprl.load_secret(path)
    assert "can be read by every user" in err.value.message and "chmod 600" in err.value.message


def test_a_new_secret_is_strong_and_private(tmp_path: Path) -> None:
    path = tmp_path / "k"
    pprl.new_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert pprl.secret_bits(path.read_bytes().strip()) >= 256
    pprl.load_secret(path)
    with pytest.raises(FileExistsError):
        pprl.new_secret(path)


def test_the_check_value_depends_on_the_secret_only_through_a_keyed_hash() -> None:
    assert pprl.check_value(secret(b"a")) == pprl.check_value(secret(b"a"))
    assert pprl.check_value(secret(b"a")) != pprl.check_value(secret(b"b"))
    assert "a" * 8 not in pprl.check_value(secret(b"a"))
