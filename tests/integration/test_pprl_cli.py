"""`jatigi dedup pprl`: two agencies encode their lists with a shared secret and match the encodings."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from jatigi.cli.dedup_pprl import app
from jatigi.dedup.names import fold
from jatigi.demo.linkage_data import LinkageRecord, people_lists, true_pairs, write_csv

AGENCY_A = frozenset({"UNHCR", "OIM", "CRM"})
MAP = "given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,phone=phone,place=place"


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def assert_bad_input(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for word in words:
        assert word in result.output, result.output


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A fixed secret, so that what the encodings hold is the same at every run."""
    path = tmp_path / "shared.key"
    path.write_text("9f1c2a7be04d6835c1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8\n")
    path.chmod(0o600)
    return path


def test_an_agency_makes_a_secret_only_its_owner_can_read(tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    result = cli("secret", "--out", path)
    assert result.exit_code == 0, result.output
    assert "never send it with the encodings" in result.output
    assert path.stat().st_mode & 0o777 == 0o600
    assert_bad_input(cli("secret", "--out", path), "exists already")


def write_xlsx(records: list[LinkageRecord], path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Code", "Prénom", "Nom", "Sexe", "Né le", "Téléphone", "Commune"])
    for r in records:
        ws.append([r.record_id, r.given_name, r.family_name, r.sex, r.birth_date, r.phone, r.place])
    wb.save(path)


def read_pairs(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_two_agencies_find_their_shared_people_without_sharing_names(tmp_path: Path, secret: Path) -> None:
    records = list(people_lists(600, 0.25, seed=7))
    a = [r for r in records if r.agency in AGENCY_A]
    b = [r for r in records if r.agency not in AGENCY_A]
    write_csv(iter(a), tmp_path / "A.csv", with_truth=False)
    write_xlsx(b, tmp_path / "B.xlsx")  # the partner keeps its list in Excel, with its own column names

    done = cli("encode", tmp_path / "A.csv", "--secret-file", secret, "--id-column", "record_id", "--map", MAP,
               "--ages-on", "2013-10-15", "--out", tmp_path / "A.enc.csv")
    assert done.exit_code == 0, done.output
    assert f"{len(a)} people encoded into" in done.output
    done = cli("encode", tmp_path / "B.xlsx", "--secret-file", secret, "--id-column", "code", "--map",
               "given_name=Prénom,family_name=Nom,sex=Sexe,birth_date=Né le,phone=Téléphone,place=Commune",
               "--ages-on", "2013-10-15", "--out", tmp_path / "B.enc.csv")
    assert done.exit_code == 0, done.output

    for side in ("A", "B"):
        lines = (tmp_path / f"{side}.enc.csv").read_text(encoding="utf-8").splitlines()[2:]
        values = [cell for line in lines for cell in line.split(",")[1:]]
        assert all(re.fullmatch(r"[A-Za-z0-9+/_=-]*", v) for v in values)  # only encodings and keys
    encoded = (tmp_path / "A.enc.csv").read_text(encoding="utf-8") + (tmp_path / "B.enc.csv").read_text("utf-8")
    for r in records:
        for plain in (r.given_name, r.family_name, r.phone, r.place, r.birth_date):
            folded = fold(plain).replace(" ", "")
            if len(plain) >= 5 and not plain.isupper():  # an upper-case word of 5 letters turns up in base64
                assert plain not in encoded, plain
            if len(folded) >= 5:
                assert folded not in encoded, plain

    matched = cli("match", tmp_path / "A.enc.csv", tmp_path / "B.enc.csv", "--out", tmp_path / "pairs.csv")
    assert matched.exit_code == 0, matched.output
    assert "candidate pairs compared" in matched.output
    rows = read_pairs(tmp_path / "pairs.csv")
    assert list(rows[0]) == ["id_a", "id_b", "match_probability"]
    probabilities = [float(r["match_probability"]) for r in rows]
    assert probabilities == sorted(probabilities, reverse=True) and all(0.5 <= p <= 1 for p in probabilities)
    found = {(r["id_a"], r["id_b"]) for r in rows}
    in_a = {r.record_id for r in a}
    truth = {(x, y) if x in in_a else (y, x) for x, y in true_pairs(records) if (x in in_a) != (y in in_a)}
    assert len(truth) > 30
    assert len(found & truth) >= 0.85 * len(truth)  # recall
    assert len(found & truth) >= 0.85 * len(found)  # precision

    strict = cli("match", tmp_path / "A.enc.csv", tmp_path / "B.enc.csv", "--out", tmp_path / "strict.csv",
                 "--threshold", "0.99", "--link", "one-to-one")
    assert strict.exit_code == 0, strict.output
    strict_rows = read_pairs(tmp_path / "strict.csv")
    assert 0 < len(strict_rows) < len(rows)
    assert len({r["id_a"] for r in strict_rows}) == len({r["id_b"] for r in strict_rows}) == len(strict_rows)


def test_an_agency_finds_duplicates_within_its_own_encodings(tmp_path: Path, secret: Path) -> None:
    records = list(people_lists(300, 0.3, seed=11))
    write_csv(iter(records), tmp_path / "list.csv", with_truth=False)
    assert cli("encode", tmp_path / "list.csv", "--secret-file", secret, "--id-column", "record_id",
               "--ages-on", "2013-10-15", "--out", tmp_path / "enc.csv").exit_code == 0
    result = cli("match", tmp_path / "enc.csv", "--out", tmp_path / "pairs.csv")
    assert result.exit_code == 0, result.output
    found = {(r["id_a"], r["id_b"]) for r in read_pairs(tmp_path / "pairs.csv")}
    truth = true_pairs(records)
    assert all(x < y for x, y in found)
    assert len(found & truth) >= 0.85 * len(truth) and len(found & truth) >= 0.85 * len(found)


# --- bad input -----------------------------------------------------------------------------------

@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("id,prenom,nom,naissance\n1,Awa,Traoré,1990\n2,Mamadou,Keïta,1985-02-03\n", encoding="utf-8")
    return path


def encode_args(path: Path, secret: Path, out: Path, *extra: str) -> list[str | Path]:
    return ["encode", path, "--secret-file", secret, "--id-column", "id", "--map",
            "given_name=prenom,family_name=nom,birth_date=naissance", "--out", out, *extra]


@pytest.mark.parametrize(("content", "words"), [
    ("", ("is empty",)),
    ("id,prenom,nom,naissance\n", ("no people",)),
    ("id,prenom,nom,naissance\n1,Awa,Traoré,1990\n1,Mamadou,Keïta,1985\n", ("repeated ids", "row 3: 1")),
    ("id,prenom,nom,naissance\n1,Awa,Traoré,1990\n,Mamadou,Keïta,1985\n", ("row 3", "no value in the id column")),
    ("id,prenom,nom,naissance\n1,Awa,Traoré,1990,Bamako,76123456\n2,Awa,Sow,1991\n", ("row 2", "6 values")),
    ("id,prenom,nom,naissance\n1,Awa,Traoré,1990\n", ("1 person", "at least two")),
    ("id,prenom,nom,naissance\n1,Awa,Traoré,1990\n2,Awa,Traoré,1980\n3,Awa,TRAORE,1970\n", ("same name",)),
])
def test_a_bad_list_is_refused_with_a_clear_message(tmp_path: Path, secret: Path, content: str,
                                                    words: tuple[str, ...]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "enc.csv"
    assert_bad_input(cli(*encode_args(path, secret, out)), *words)
    assert not out.exists()


@pytest.mark.parametrize(("mapping", "words"), [
    ("given_name=prenom,surname=nom", ("unknown field surname", "family_name")),
    ("given_name=prenom,family_name=last_name", ("no column last_name", "prenom")),
    ("given_name", ("is not of the form field=column",)),
    ("given_name=prenom,given_name=nom", ("mapped twice",)),
])
def test_a_wrong_map_is_refused(tmp_path: Path, secret: Path, people_csv: Path, mapping: str,
                                words: tuple[str, ...]) -> None:
    result = cli("encode", people_csv, "--secret-file", secret, "--id-column", "id", "--map", mapping,
                 "--out", tmp_path / "enc.csv")
    assert_bad_input(result, *words)


def test_an_unknown_id_column_or_missing_file_is_refused(tmp_path: Path, secret: Path, people_csv: Path) -> None:
    result = cli("encode", people_csv, "--secret-file", secret, "--id-column", "code", "--map",
                 "given_name=prenom,family_name=nom", "--out", tmp_path / "e.csv")
    assert_bad_input(result, "no column code", "prenom")
    result = cli("encode", people_csv, "--secret-file", secret, "--id-column", "id", "--out", tmp_path / "e.csv")
    assert_bad_input(result, "no column is named given_name", "--map")
    assert_bad_input(cli(*encode_args(tmp_path / "nowhere.csv", secret, tmp_path / "e.csv")), "No file")


def test_an_unsafe_secret_is_refused(tmp_path: Path, people_csv: Path) -> None:
    weak = tmp_path / "weak.key"
    weak.write_text("motdepasse2013\n")
    weak.chmod(0o600)
    assert_bad_input(cli(*encode_args(people_csv, weak, tmp_path / "e.csv")), "at least 256",
                     "jatigi dedup pprl secret")
    open_to_all = tmp_path / "open.key"
    open_to_all.write_text(os.urandom(32).hex())
    open_to_all.chmod(0o644)
    assert_bad_input(cli(*encode_args(people_csv, open_to_all, tmp_path / "e.csv")), "every user", "chmod 600")
    assert_bad_input(cli(*encode_args(people_csv, tmp_path / "none.key", tmp_path / "e.csv")), "No secret file")
    assert not (tmp_path / "e.csv").exists()


def test_encodings_made_with_another_secret_or_version_are_refused(tmp_path: Path, secret: Path,
                                                                   people_csv: Path) -> None:
    other = tmp_path / "other.key"
    assert cli("secret", "--out", other).exit_code == 0
    assert cli(*encode_args(people_csv, secret, tmp_path / "a.csv")).exit_code == 0
    assert cli(*encode_args(people_csv, other, tmp_path / "b.csv")).exit_code == 0
    result = cli("match", tmp_path / "a.csv", tmp_path / "b.csv", "--out", tmp_path / "pairs.csv")
    assert_bad_input(result, "not encoded with the same secret")
    assert not (tmp_path / "pairs.csv").exists()

    text = (tmp_path / "a.csv").read_text(encoding="utf-8")
    (tmp_path / "v2.csv").write_text(text.replace("version=1;", "version=2;", 1), encoding="utf-8")
    assert_bad_input(cli("match", tmp_path / "a.csv", tmp_path / "v2.csv", "--out", tmp_path / "p.csv"),
                     "version 2 of the encoding", "reads version 1")


@pytest.mark.parametrize(("edit", "words"), [
    (lambda text: "", ("is empty",)),
    (lambda text: "id,name\n1,Awa Traoré\n", ("not a file of encodings",)),
    (lambda text: text.split("\n", 2)[0] + "\n" + text.split("\n", 2)[1] + "\n", ("holds no records",)),
    (lambda text: text.replace("\n2,", "\n1,"), ("the id 1 is used by line 3 too",)),
    (lambda text: text.replace("\n1,", "\n1,@", 1), ("line 3", "column given", "not a valid encoding")),
    (lambda text: text.rstrip("\n") + ",extra\n", ("values where 13 were expected",)),
])
def test_a_damaged_file_of_encodings_is_refused(tmp_path: Path, secret: Path, people_csv: Path, edit: Any,
                                                words: tuple[str, ...]) -> None:
    assert cli(*encode_args(people_csv, secret, tmp_path / "a.csv")).exit_code == 0
    damaged = tmp_path / "damaged.csv"
    damaged.write_text(edit((tmp_path / "a.csv").read_text(encoding="utf-8")), encoding="utf-8")
    assert_bad_input(cli("match", damaged, tmp_path / "a.csv", "--out", tmp_path / "p.csv"), *words)


def test_wrong_match_options_are_refused(tmp_path: Path, secret: Path, people_csv: Path) -> None:
    assert cli(*encode_args(people_csv, secret, tmp_path / "a.csv")).exit_code == 0
    assert_bad_input(cli("match", tmp_path / "a.csv", "--out", tmp_path / "p.csv", "--threshold", "1.5"),
                     "not between 0 and 1")
    assert_bad_input(cli("match", tmp_path / "a.csv", "--out", tmp_path / "p.csv", "--link", "best"),
                     "one-to-one")


def test_lists_with_nothing_to_compare_say_so(tmp_path: Path, secret: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("id,given_name,family_name\n1,Awa,Traoré\n2,Moussa,Keïta\n", encoding="utf-8")
    assert cli("encode", one, "--secret-file", secret, "--id-column", "id", "--out", tmp_path / "one.enc").exit_code == 0
    result = cli("match", tmp_path / "one.enc", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0 and "nothing could be compared" in result.output
    assert read_pairs(tmp_path / "p.csv") == []
