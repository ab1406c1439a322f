"""Partner lists through a TOML mapping, HXL-tagged lists, and Kobo XLSX workbooks."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from jatigi.accounts import service as accounts
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import ValidationFailed
from jatigi.places.service import load_gazetteer
from jatigi.registry.hxl_tags import IMPORT_TAGS
from jatigi.registry.importer import ImportOptions, import_files
from jatigi.registry.models import Household, Person
from jatigi.registry.tabular import source_key
from tests import kobo_files as kf

PARTNER_ROWS = [
    ["N° ménage", "Prénom", "Nom", "Sexe", "Lien", "Âge", "Statut", "Commune", "Consentement"],
    ["M-001", "Aïssata", "Cissé", "F", "Chef", "41", "PDI", "ML050109", "oui"],
    ["M-001", "Hamadoun", "Cissé", "M", "Enfant", "12", "PDI", "ML050109", "oui"],
    ["M-002", "Bakary", "Coulibaly", "M", "Chef", "55", "Hôte", "ML050109", "oui"],
]
MAPPING = """
[columns]
household_key = "N° ménage"
given_name = "Prénom"
family_name = "Nom"
sex = "Sexe"
relationship = "Lien"
age = "Âge"
population_group = "Statut"
current_pcode = "Commune"
consent_registration = "Consentement"

[values.population_group]
"PDI" = "idp"
"Hôte" = "host"

[values.relationship]
"Chef" = "head"
"Enfant" = "child"

[values.consent_registration]
"oui" = "yes"

[defaults]
living_arrangement = "renting"
enumerator = "Équipe AMSS Mopti"
consent_data_sharing = "yes"
consent_referral = "no"
"""


@pytest.fixture
def org(session):  # type: ignore[no-untyped-def]
    load_gazetteer(session=session)
    return accounts.create_organisation(session=session, actor=SYSTEM, acronym="AMSS", name="AMSS", kind="nngo")


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    return path


def test_partner_list_through_a_mapping_groups_people_into_households(session, org, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "liste.csv", PARTNER_ROWS)
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = import_files(session=session, actor=SYSTEM, paths=[data],
                          options=ImportOptions(org="AMSS", mapping=mapping))
    assert result.status == "committed", [p.line() for p in result.problems]
    assert (result.households_written, result.people_written) == (2, 3)
    groups = dict(session.execute(sa.select(Household.source_uuid, Household.population_group)).all())
    assert groups == {source_key("liste.csv", "M-001"): "idp", source_key("liste.csv", "M-002"): "host"}
    ages = session.scalars(sa.select(Person.age_estimated)).all()
    assert all(ages)
    again = import_files(session=session, actor=SYSTEM, paths=[data],
                         options=ImportOptions(org="AMSS", mapping=mapping))
    assert again.households_skipped == 2 and again.households_written == 0
    # Another partner's list reusing the same household keys is other families, not a re-import.
    other = _write_csv(tmp_path / "liste-segou.csv", PARTNER_ROWS)
    third = import_files(session=session, actor=SYSTEM, paths=[other],
                         options=ImportOptions(org="AMSS", mapping=mapping))
    assert (third.households_written, third.households_skipped) == (2, 0)


def test_mapping_naming_an_unknown_field_is_refused(session, org, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "liste.csv", PARTNER_ROWS)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nsalary = "Salaire"\n', encoding="utf-8")
    with pytest.raises(ValidationFailed, match="salary"):
        import_files(session=session, actor=SYSTEM, paths=[data], options=ImportOptions(org="AMSS", mapping=mapping))


def test_unmapped_value_is_reported_with_what_is_accepted(session, org, tmp_path: Path) -> None:
    rows = [r[:] for r in PARTNER_ROWS]
    rows[3][6] = "Réfugié?"
    data = _write_csv(tmp_path / "liste.csv", rows)
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    result = import_files(session=session, actor=SYSTEM, paths=[data],
                          options=ImportOptions(org="AMSS", mapping=mapping))
    assert result.status == "rejected"
    p = result.problems[0]
    assert (p.row, p.column, p.value) == (4, "Statut", "Réfugié?")
    assert "idp" in p.message and "host" in p.message


def test_hxl_tagged_list(session, org, tmp_path: Path) -> None:
    fields = ["household_key", "given_name", "family_name", "sex", "relationship", "birth_date",
              "population_group", "current_pcode", "living_arrangement", "consent_registration",
              "consent_data_sharing", "consent_referral", "enumerator"]
    rows = [["Ménage", "Prénom", "Nom", "Sexe", "Lien", "Naissance", "Groupe", "Lieu", "Logement",
             "C1", "C2", "C3", "Agent"],
            [IMPORT_TAGS[f].replace("+", " +", 1) if f == "sex" else IMPORT_TAGS[f] for f in fields],
            ["H1", "Mariam", "Touré", "f", "head", "1975-03-02", "idp_returned", "ML060106", "own_home",
             "yes", "yes", "yes", "Ali Maïga"],
            ["H1", "Oumar", "Touré", "m", "child", "2010-01-09", "idp_returned", "ML060106", "own_home",
             "yes", "yes", "yes", "Ali Maïga"]]
    data = _write_csv(tmp_path / "hxl.csv", rows)
    result = import_files(session=session, actor=SYSTEM, paths=[data], options=ImportOptions(org="AMSS"))
    assert result.status == "committed", [p.line() for p in result.problems]
    hh = session.scalars(sa.select(Household)).one()
    assert (hh.population_group, hh.current_admin1, hh.member_count) == ("idp_returned", "ML06", 2)


def test_kobo_xlsx_with_repeat_sheets(session, org, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    main = wb.active
    main.title = "jatigi_registration"
    main.append(kf.MAIN_HEADERS)
    for i in (1, 2):
        main.append([kf.household(i)[h] for h in kf.MAIN_HEADERS])
    members = wb.create_sheet("members")
    members.append(kf.MEMBER_HEADERS)
    for row in (kf.member(1, 1), kf.member(2, 2), kf.child(2, 3)):
        members.append([int(row[h]) if h.endswith("index") else row[h] for h in kf.MEMBER_HEADERS])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    result = import_files(session=session, actor=SYSTEM, paths=[path], options=ImportOptions(org="AMSS"))
    assert result.status == "committed", [p.line() for p in result.problems]
    assert (result.households_written, result.people_written) == (2, 3)
