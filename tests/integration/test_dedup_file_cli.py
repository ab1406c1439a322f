"""`jatigi dedup file` and `jatigi dedup explain` as a user runs them, on generated CSV and XLSX lists."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from jatigi.cli.main import app
from jatigi.dedup.engine import PASS_LABELS
from jatigi.demo.linkage_data import REFERENCE_DAY, LinkageRecord, people_lists, true_pairs, write_csv

COLUMNS = "given_name=given_name,family_name=family_name,birth_date=birth_date,sex=sex,phone=phone,place=place"
AGES_ON = REFERENCE_DAY.isoformat()


def jatigi(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jatigi", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-c", "from jatigi.cli.main import app; app()"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([*command, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=600)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _scores(pairs: list[dict[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    found = {(min(p["id_a"], p["id_b"]), max(p["id_a"], p["id_b"])) for p in pairs}
    hits = len(found & truth)
    precision, recall = hits / len(found), hits / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall)


def _generated(tmp_path: Path, n: int, rate: float = 0.25, seed: int = 8) -> tuple[Path, list[LinkageRecord]]:
    records = list(people_lists(n, rate, seed=seed))
    path = tmp_path / f"list_{n}.csv"
    write_csv(iter(records), path, with_truth=False)
    return path, records


def test_pairs_and_clusters_of_a_generated_csv_list(tmp_path: Path) -> None:
    source, records = _generated(tmp_path, 1200)
    out, clusters = tmp_path / "pairs.csv", tmp_path / "clusters.csv"

    done = jatigi("dedup", "file", str(source), "--id-column", "record_id", "--map", COLUMNS, "--out", str(out),
                  "--clusters", str(clusters), "--ages-on", AGES_ON)

    assert done.returncode == 0, done.stderr
    assert "1,200 people read from list_1200.csv." in done.stdout
    assert out.read_text(encoding="utf-8").splitlines()[0] == "id_a,id_b,match_probability"
    pairs = _read(out)
    assert all(float(p["match_probability"]) >= 0.9 and p["id_a"] < p["id_b"] for p in pairs)
    precision, recall, _f1 = _scores(pairs, true_pairs(records))
    assert precision > 0.85 and recall > 0.8
    assert f"{len(pairs):,} pairs with a match probability of at least 0.9 written to" in done.stdout

    groups = _read(clusters)
    assert list(groups[0]) == ["id", "cluster_id"]
    assert sorted(g["id"] for g in groups) == sorted(r.record_id for r in records)
    cluster_of = {g["id"]: g["cluster_id"] for g in groups}
    for p in pairs:
        assert cluster_of[p["id_a"]] == cluster_of[p["id_b"]]
    person_of = {r.record_id: r.true_id for r in records}
    together = [person_of[a] == person_of[b] for a, b in true_pairs(records)]
    assert sum(cluster_of[a] == cluster_of[b] for a, b in true_pairs(records)) / len(together) > 0.8


def test_f1_on_a_generated_list_of_3000_people_is_at_least_0_9(tmp_path: Path) -> None:
    source, records = _generated(tmp_path, 3000, rate=0.2, seed=2013)
    out = tmp_path / "pairs.csv"

    done = jatigi("dedup", "file", str(source), "--id-column", "record_id", "--map", COLUMNS, "--out", str(out),
                  "--ages-on", AGES_ON)

    assert done.returncode == 0, done.stderr
    assert _scores(_read(out), true_pairs(records))[2] >= 0.9


def test_an_xlsx_list_with_real_dates_and_numbers(tmp_path: Path) -> None:
    records = list(people_lists(400, 0.25, seed=3))
    source = tmp_path / "liste.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ID", "Prénom", "Nom", "Sexe", "Né le", "Téléphone", "Commune"])
    for i, r in enumerate(records):
        born: object = r.birth_date
        if len(r.birth_date) == 10 and r.birth_date[4] == "-" and i % 2:
            born = date.fromisoformat(r.birth_date)  # a date cell, as Excel stores it
        phone: object = int(r.phone) if r.phone and i % 3 == 0 else r.phone
        sheet.append([int(r.record_id[1:]), r.given_name, r.family_name, r.sex, born, phone, r.place])
    book.save(source)
    out, clusters = tmp_path / "pairs.csv", tmp_path / "clusters.csv"

    done = jatigi("dedup", "file", str(source), "--id-column", "ID", "--out", str(out), "--clusters", str(clusters),
                  "--map", "given_name=Prénom,family_name=Nom,sex=Sexe,birth_date=Né le",
                  "--map", "phone=Téléphone,place=Commune", "--ages-on", AGES_ON)

    assert done.returncode == 0, done.stderr
    truth = {(str(int(a[1:])), str(int(b[1:]))) for a, b in true_pairs(records)}
    truth = {(min(a, b), max(a, b)) for a, b in truth}
    precision, recall, _f1 = _scores(_read(out), truth)
    assert precision > 0.85 and recall > 0.75
    assert len(_read(clusters)) == 400


def test_a_saved_model_gives_the_same_pairs_and_explains_a_pair(tmp_path: Path) -> None:
    source, records = _generated(tmp_path, 800, seed=21)
    model, first, second = tmp_path / "model.json", tmp_path / "first.csv", tmp_path / "second.csv"
    common = ("--id-column", "record_id", "--map", COLUMNS, "--ages-on", AGES_ON)

    trained = jatigi("dedup", "file", str(source), *common, "--out", str(first), "--save-model", str(model),
                     "--explain")
    reused = jatigi("dedup", "file", str(source), *common, "--out", str(second), "--model", str(model), "--explain")

    assert trained.returncode == 0 and reused.returncode == 0, trained.stderr + reused.stderr
    assert f"Model saved to {model}." in trained.stdout
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    pairs = _read(first)
    assert list(pairs[0]) == ["id_a", "id_b", "match_probability", "match_weight", "mw_given_name", "mw_family_name",
                              "mw_birth", "mw_sex", "mw_phone", "mw_place"]
    best = max(pairs, key=lambda p: float(p["match_probability"]))

    shown = jatigi("dedup", "explain", "--file", str(source), *common, "--model", str(model), best["id_a"],
                   best["id_b"])

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["Field", best["id_a"], best["id_b"], "Agreement", "Weight"]
    for label in ("Given name", "Family name", "Birth", "Sex", "Phone", "Place", "Total"):
        assert any(line.startswith(label) for line in lines), label
    total = next(line for line in lines if line.startswith("Total"))
    assert f"{float(best['match_weight']):+.2f}" in total
    assert "As written in the file:" in shown.stdout


def test_households_registered_again_are_weighed_together_and_explained(tmp_path: Path) -> None:
    source, records = _generated(tmp_path, 1500, seed=5)
    out = tmp_path / "pairs.csv"
    common = ("--id-column", "record_id", "--map", f"{COLUMNS},address=address,household=household",
              "--ages-on", AGES_ON)

    done = jatigi("dedup", "file", str(source), *common, "--out", str(out), "--explain")

    assert done.returncode == 0, done.stderr
    pairs = _read(out)
    assert list(pairs[0])[-2:] == ["mw_household", "mw_household_pass"]
    precision, recall, _f1 = _scores(pairs, true_pairs(records))
    assert precision > 0.95 and recall > 0.9
    # A person is paired with at most one member of another registration.
    household = {r.record_id: r.household for r in records}
    seen: set[tuple[str, str]] = set()
    for p in pairs:
        for me, other in ((p["id_a"], p["id_b"]), (p["id_b"], p["id_a"])):
            assert (me, household[other]) not in seen
            seen.add((me, household[other]))
    lifted = min((p for p in pairs if float(p["mw_household_pass"]) > 0),
                 key=lambda p: float(p["match_weight"]) - float(p["mw_household_pass"]))

    shown = jatigi("dedup", "explain", "--file", str(source), *common, lifted["id_a"], lifted["id_b"])

    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if line.startswith("Other pairs of the two registrations"))
    assert any(label in row for label in PASS_LABELS[1:])  # "1 other pair …" up to "3 other pairs or more …"
    assert household[lifted["id_a"]] in row and household[lifted["id_b"]] in row
    assert row.endswith(f"{float(lifted['mw_household_pass']):+.2f}")


runner = CliRunner()


def _bad(tmp_path: Path, *args: str) -> str:
    """Run `jatigi dedup file` on bad input: exit code 2, one clear message, no traceback, no output file."""
    out = tmp_path / "pairs.csv"
    result = runner.invoke(app, ["--lang", "en", "dedup", "file", *args, "--out", str(out)],
                           env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert not out.exists()
    return " ".join(result.output.split())


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "id,prenom,nom,ne_le\n1,Awa,Traoré,1980\n2,Moussa,Keïta,1975\n3,Fanta,Diarra,1990\n"


@pytest.mark.parametrize(("content", "args", "message"), [
    ("", (), "list.csv is empty."),
    ("id,prenom,nom\n", (), "list.csv has column headings but no people."),
    ("id,prenom,nom\n1,Awa,Traoré,1980,extra\n2,Moussa,Keïta\n", (),
     "list.csv, row 2: 5 values for 3 columns"),
    (GOOD, ("--map", "given_name=prenom,surname=nom"), "--map: unknown field surname; accepted: given_name"),
    (GOOD, ("--map", "given_name=prenom,family_name=nom_de_famille"),
     "list.csv has no column nom_de_famille (--map family_name); its columns are: id, prenom, nom, ne_le."),
    (GOOD, ("--map", "given_name"), "--map: given_name is not of the form field=column."),
    (GOOD, ("--map", "birth_date=ne_le"), "map at least given_name and family_name, or full_name"),
    (GOOD, ("--id-column", "code"), "list.csv has no column code (--id-column)"),
    ("id,prenom,nom\n1,Awa,Traoré\n2,Moussa,Keïta\n1,Fanta,Diarra\n2,Awa,Cissé\n", (),
     "the id column id has 2 repeated ids: row 4: 1 (first on row 2); row 5: 2 (first on row 3)"),
    ("id,prenom,nom\n1,Awa,Traoré\n,Moussa,Keïta\n", (), "list.csv, row 3: no value in the id column id."),
    ("id,prenom,nom\n1,Awa,Traoré\n", (), "list.csv lists 1 person; at least two are needed"),
    ("id,prenom,nom\n1,Awa,Traoré\n2,AWA,TRAORE\n3,Awa,Traore\n4,awa,traoré\n", (),
     "all 4 people have the same name (Awa Traoré), so names cannot tell them apart"),
    ("id,prenom,nom\n1,,\n2,,\n3,,\n", (), "no name in any row (columns prenom, nom)"),
    ("id,prenom,nom\n1,Awa,Traoré\n2,Moussa,Keïta\n", (), "besides names it needs a birth date, a phone, a place"),
    (GOOD, ("--threshold", "1.5"), "--threshold is a match probability between 0 and 1"),
    (GOOD, ("--engine", "oracle"), "Unknown engine oracle; accepted: duckdb, spark."),
    (GOOD, ("--ages-on", "15/10/2013"), "--ages-on: 15/10/2013 is not a date written YYYY-MM-DD."),
    (GOOD, ("--memory", "lots"), "--memory: lots is not an amount of memory such as 6GB or 512MB."),
])
def test_bad_input_gets_a_clear_message_and_exit_code_2(tmp_path: Path, content: str, args: tuple[str, ...],
                                                        message: str) -> None:
    source = _csv(tmp_path / "list.csv", content)
    options = {"--id-column": "id", "--map": "given_name=prenom,family_name=nom,birth_date=ne_le"}
    if "ne_le" not in content.partition("\n")[0]:
        options["--map"] = "given_name=prenom,family_name=nom"
    given = dict(zip(args[::2], args[1::2], strict=True))
    options.update(given)
    flat = [item for pair in options.items() for item in pair]
    assert message in _bad(tmp_path, str(source), *flat)


def test_bad_files_and_models_get_a_clear_message(tmp_path: Path) -> None:
    binary = tmp_path / "list.xlsx"
    binary.write_bytes(b"\x00\x01PK not a workbook\xff" * 20)
    assert "list.xlsx: not a readable XLSX workbook" in _bad(tmp_path, str(binary), "--id-column", "id")
    odd = tmp_path / "list.pdf"
    odd.write_text("x", encoding="utf-8")
    assert "list.pdf: unknown file type; accepted: .csv, .xlsx." in _bad(tmp_path, str(odd), "--id-column", "id")
    assert "No file " in _bad(tmp_path, str(tmp_path / "missing.csv"), "--id-column", "id")
    source = _csv(tmp_path / "list.csv", GOOD)
    model = tmp_path / "model.json"
    model.write_text('{"format": "splink"}', encoding="utf-8")
    assert "This is not a Jatigi linkage model." in _bad(tmp_path, str(source), "--id-column", "id", "--model",
                                                         str(model))


def test_unreadable_values_are_reported_and_left_empty(tmp_path: Path) -> None:
    source = _csv(tmp_path / "list.csv", "id,given_name,family_name,birth_date,phone\n"
                                         "1,Awa,Traoré,31/02/1980,76 12 34 56\n2,Awa,Traore,1980,123\n"
                                         "3,Moussa,Keïta,1975,\n")
    out = tmp_path / "pairs.csv"
    result = runner.invoke(app, ["--lang", "en", "dedup", "file", str(source), "--id-column", "id", "--out", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Row 2, birth_date: Birth date not recognised: 31/02/1980." in text
    assert "Row 3, phone: Phone number not recognised: 123." in text
    assert out.read_text(encoding="utf-8").startswith("id_a,id_b,match_probability")


def test_explain_names_an_unknown_id(tmp_path: Path) -> None:
    source = _csv(tmp_path / "list.csv", GOOD)
    result = runner.invoke(app, ["--lang", "en", "dedup", "explain", "--file", str(source), "--id-column", "id",
                                 "--map", "given_name=prenom,family_name=nom,birth_date=ne_le", "1", "9"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "list.csv has no record with the id 9." in " ".join(result.output.split())


def test_confirmed_pairs_train_the_model(tmp_path: Path) -> None:
    source, records = _generated(tmp_path, 600, seed=4)
    labels = tmp_path / "confirmed.csv"
    confirmed = sorted(true_pairs(records))[:40]
    labels.write_text("id_a,id_b\n" + "".join(f"{a},{b}\n" for a, b in confirmed), encoding="utf-8")
    model = tmp_path / "model.json"
    result = runner.invoke(app, ["--lang", "en", "dedup", "file", str(source), "--id-column", "record_id", "--map",
                                 COLUMNS, "--out", str(tmp_path / "pairs.csv"), "--labels", str(labels),
                                 "--save-model", str(model), "--ages-on", AGES_ON], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert '"labelled_pairs": 40' in model.read_text(encoding="utf-8")
