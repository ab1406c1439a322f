"""The demo's Kobo export has Kobo's layout: headers, row counts and parent links."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from jatigi.core.authz import SYSTEM
from jatigi.core.errors import ValidationFailed
from jatigi.demo.generator import generate
from jatigi.demo.kobo_export import export_households
from jatigi.registry import vocab

N = 150


def _read(path: Path, delimiter: str = ";") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def _headers(path: Path, delimiter: str = ";") -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh, delimiter=delimiter))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kobo")
    export_households(generate(N, seed=11), out)
    return out


def test_main_sheet_has_kobo_headers(export: Path) -> None:
    headers = _headers(export / "registration.csv")
    assert headers[:3] == ["start", "end", "today"]
    assert headers[-6:] == ["_id", "_uuid", "_submission_time", "_validation_status",
                            "__version__", "_index"]
    for column in ("consent/consent_registration", "consent/enumerator",
                   "household/population_group", "household/current_pcode",
                   "household/priority_needs", "household/priority_needs/food",
                   "household/priority_needs/psychosocial"):
        assert column in headers
    assert headers.index("household/priority_needs/shelter") == headers.index(
        "household/priority_needs") + 1


def test_repeat_sheets_have_kobo_headers(export: Path) -> None:
    members = _headers(export / "members.csv")
    assert members[0] == "members/given_name"
    assert "members/specific_needs" in members and "members/specific_needs/SC-CH" in members
    assert members[-5:] == ["_index", "_parent_table_name", "_parent_index",
                            "_submission__id", "_submission__uuid"]
    assert _headers(export / "movements.csv")[0] == "movements/movement_kind"
    assert _headers(export / "separated_relatives.csv")[0] == "separated_relatives/relative_name"


def test_row_counts_and_parent_links(export: Path) -> None:
    records = list(generate(N, seed=11))
    main = _read(export / "registration.csv")
    assert [int(r["_index"]) for r in main] == list(range(1, N + 1))
    assert [r["_uuid"] for r in main] == [h.source_uuid for h in records]
    by_index = {r["_index"]: r for r in main}
    for name, attr in (("members", "members"), ("separated_relatives", "relatives"),
                       ("movements", "movements")):
        rows = _read(export / f"{name}.csv")
        assert len(rows) == sum(len(getattr(h, attr)) for h in records)
        assert [int(r["_index"]) for r in rows] == list(range(1, len(rows) + 1))
        parents = [int(r["_parent_index"]) for r in rows]
        assert parents == sorted(parents)  # in the order of their parents
        for r in rows:
            parent = by_index[r["_parent_index"]]
            assert r["_parent_table_name"] == "registration"
            assert r["_submission__uuid"] == parent["_uuid"]
            assert r["_submission__id"] == parent["_id"]
    members = _read(export / "members.csv")
    first = [m for m in members if m["_parent_index"] == "1"]
    assert [m["members/given_name"] for m in first] == [p.given_name for p in records[0].members]


def test_values_are_codes_dates_and_flags(export: Path) -> None:
    main = _read(export / "registration.csv")
    for r in main:
        assert r["consent/consent_registration"] == "yes"
        assert r["household/population_group"] in vocab.POPULATION_GROUPS
        assert r["today"] == r["start"][:10]
        picked = set(r["household/priority_needs"].split())
        assert picked and picked <= set(vocab.NEEDS)
        assert {c for c in vocab.NEEDS if r[f"household/priority_needs/{c}"] == "1"} == picked
        if r["household/population_group"] == "host":
            assert r["household/origin_pcode"] == "" and r["household/intention"] == ""
    records = {h.source_uuid: h for h in generate(N, seed=11)}
    members = _read(export / "members.csv")
    for m in members:
        assert m["members/age"].isdigit()
        assert m["members/sex"] in ("f", "m")
    exact = sum(bool(m["members/birth_date"]) for m in members)
    people = [p for h in records.values() for p in h.members]
    assert exact == sum(not p.age_estimated for p in people)
    with_needs = [m for m in members if m["members/specific_needs"]]
    assert with_needs
    for m in with_needs:
        for code in m["members/specific_needs"].split():
            assert m[f"members/specific_needs/{code}"] == "1"
    no_needs = next(m for m in members if not m["members/specific_needs"])
    assert no_needs["members/specific_needs/SC-CH"] == ""


def test_labels_in_english_with_comma(tmp_path: Path) -> None:
    export_households(generate(20, seed=3), tmp_path, labels="en", delimiter=",")
    headers = _headers(tmp_path / "registration.csv", ",")
    assert "Population group" in headers and "Priority needs/Food" in headers
    assert headers[:3] == ["start", "end", "today"] and headers[-1] == "_index"
    main = _read(tmp_path / "registration.csv", ",")
    assert {r["Population group"] for r in main} <= set(vocab.POPULATION_GROUPS.values())
    assert main[0]["Consent to registration and assistance"] == "Yes"
    members = _headers(tmp_path / "members.csv", ",")
    assert "Given name" in members and "Specific needs/Child-headed household" in members


def test_xlsx_workbook_with_french_labels(tmp_path: Path) -> None:
    result = export_households(generate(30, seed=5), tmp_path, fmt="xlsx", labels="fr")
    wb = load_workbook(tmp_path / "registration.xlsx", read_only=True)
    assert wb.sheetnames == ["registration", "members", "separated_relatives", "movements"]
    rows = list(wb["registration"].iter_rows(values_only=True))
    assert len(rows) == 31 and rows[0][:3] == ("start", "end", "today")
    members = list(wb["members"].iter_rows(values_only=True))
    assert len(members) - 1 == result.rows["members"]
    assert members[0][-3] == "_parent_index"


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="csv, xlsx"):
        export_households(generate(1), tmp_path, fmt="json")


def test_the_registry_importer_reads_the_export_back(session: Session, tmp_path: Path) -> None:
    from jatigi.accounts import service as accounts
    from jatigi.places.service import load_gazetteer
    from jatigi.registry.importer import ImportOptions, import_files

    load_gazetteer(session=session)
    accounts.create_organisation(session=session, actor=SYSTEM, acronym="AMSS",
                                 name="Association Malienne pour la Survie au Sahel", kind="nngo")
    records = list(generate(60, seed=21))
    export_households(records, tmp_path)

    result = import_files(session=session, actor=SYSTEM, paths=sorted(tmp_path.glob("*.csv")),
                          options=ImportOptions(org="AMSS"))

    assert result.status == "committed", result.problems[:5]
    assert result.households_written == 60
    assert result.people_written == sum(len(h.members) for h in records)
