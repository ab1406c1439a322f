"""Importing Kobo exports: good, bad and hostile files, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.accounts import service as accounts
from jatigi.core.audit import verify_chain
from jatigi.core.authz import SYSTEM
from jatigi.core.crypto import keyring
from jatigi.places.service import load_gazetteer
from jatigi.registry.importer import ImportOptions, import_files
from jatigi.registry.models import Consent, Household, Movement, Person
from tests import kobo_files as kf


@pytest.fixture
def org(session):  # type: ignore[no-untyped-def]
    load_gazetteer(session=session)
    return accounts.create_organisation(session=session, actor=SYSTEM, acronym="AMSS",
                                        name="Association Malienne pour la Survie au Sahel", kind="nngo")


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_good_export_is_written_with_members_consents_and_sealed_phone(session, org, tmp_path: Path) -> None:
    paths = kf.export(tmp_path, n=3)
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert result.status == "committed"
    assert (result.households_written, result.people_written) == (3, 6)
    hh = session.scalars(sa.select(Household).order_by(Household.id)).first()
    assert hh.population_group == "idp" and hh.current_admin1 == "ML09"
    assert hh.member_count == 2 and hh.head_sex == "f"
    assert hh.priority_needs == ["food", "shelter"]
    assert hh.phone_sealed.startswith("v1:") and "76123451" not in hh.phone_sealed
    assert keyring().open(hh.phone_sealed) == "22376123451"
    assert _count(session, Consent) == 15
    # No movements in the file: the displacement itself is recorded, origin to current place.
    mv = session.scalars(sa.select(Movement)).first()
    assert (mv.kind, mv.from_pcode, mv.to_pcode) == ("displaced", "ML060106", "ML090104223")
    head = session.scalars(sa.select(Person).where(Person.relationship == "head")).first()
    assert head.family_key == "maiga" and not head.age_estimated
    assert verify_chain(session).ok


def test_reimport_is_idempotent(session, org, tmp_path: Path) -> None:
    paths = kf.export(tmp_path, n=3)
    import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    again = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert (again.households_written, again.households_skipped) == (0, 3)
    assert _count(session, Household) == 3 and _count(session, Person) == 6


def test_any_error_writes_nothing_and_names_row_column_value(session, org, tmp_path: Path) -> None:
    mains = [kf.household(1), kf.household(2, **{"household/current_pcode": "ML999999"}),
             kf.household(3, **{"household/displacement_date": "2031-01-01"})]
    members = [kf.member(1, 1), kf.member(2, 2), kf.member(3, 3),
               kf.child(3, 4, **{"members/age": "150", "members/birth_date": ""})]
    paths = [kf.write(tmp_path / "registration.csv", kf.MAIN_HEADERS, mains),
             kf.write(tmp_path / "members.csv", kf.MEMBER_HEADERS, members)]
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert result.status == "rejected"
    assert _count(session, Household) == 0 and _count(session, Person) == 0
    by_col = {(p.sheet, p.row, p.column): p for p in result.problems}
    assert by_col[("registration", 3, "household/current_pcode")].value == "ML999999"
    assert "Unknown P-code" in by_col[("registration", 3, "household/current_pcode")].message
    assert "future" in by_col[("registration", 4, "household/displacement_date")].message
    assert "0 to 120" in by_col[("members", 5, "members/age")].message
    assert verify_chain(session).ok
    # The rejected import rolled back to its savepoint: the caller's own uncommitted work stays.
    from jatigi.accounts.models import Organisation

    assert session.scalar(sa.select(Organisation.acronym).where(Organisation.id == org.id)) == "AMSS"


def test_partial_writes_only_the_valid_households(session, org, tmp_path: Path) -> None:
    mains = [kf.household(1), kf.household(2), kf.household(3)]
    members = [kf.member(1, 1), kf.member(2, 2, **{"members/sex": "x"}), kf.member(3, 3)]
    paths = [kf.write(tmp_path / "registration.csv", kf.MAIN_HEADERS, mains),
             kf.write(tmp_path / "members.csv", kf.MEMBER_HEADERS, members)]
    result = import_files(session=session, actor=SYSTEM, paths=paths,
                          options=ImportOptions(org="AMSS", partial=True))
    assert result.status == "partial"
    assert (result.households_written, result.households_rejected) == (2, 1)
    assert _count(session, Household) == 2 and _count(session, Person) == 2


def test_child_head_needs_sc_ch_and_duplicate_submission_is_caught(session, org, tmp_path: Path) -> None:
    mains = [kf.household(1), kf.household(2, _uuid=kf.household(1)["_uuid"]), kf.household(3)]
    members = [kf.member(1, 1), kf.member(2, 2),
               kf.member(3, 3, **{"members/birth_date": "2001-01-01", "members/specific_needs": ""})]
    paths = [kf.write(tmp_path / "registration.csv", kf.MAIN_HEADERS, mains),
             kf.write(tmp_path / "members.csv", kf.MEMBER_HEADERS, members)]
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    messages = [p.message for p in result.problems]
    assert any("Duplicate submission" in m for m in messages)
    assert any("SC-CH" in m for m in messages)
    members[2]["members/specific_needs"] = "SC-CH"
    kf.write(tmp_path / "members.csv", kf.MEMBER_HEADERS, members)
    mains[1]["_uuid"] = "another"
    kf.write(tmp_path / "registration.csv", kf.MAIN_HEADERS, mains)
    assert import_files(session=session, actor=SYSTEM, paths=paths,
                        options=ImportOptions(org="AMSS")).households_written == 3


def test_refused_consent_is_not_registered(session, org, tmp_path: Path) -> None:
    paths = kf.export(tmp_path, n=1, **{"consent/consent_registration": "no"})
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert result.status == "rejected"
    assert "refused" in result.problems[0].message


def test_orphan_member_rows_are_reported(session, org, tmp_path: Path) -> None:
    paths = kf.export(tmp_path, n=1)
    kf.write(paths[1], kf.MEMBER_HEADERS, [kf.member(1, 1), kf.child(7, 2)])
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert result.status == "rejected"
    assert any(p.column == "_parent_index" and p.value == "7" for p in result.problems)


def test_labels_in_french_and_comma_delimiter(session, org, tmp_path: Path) -> None:
    from jatigi.core.i18n import _, use_language
    from jatigi.registry import form_spec

    labels = {f.name: f.label for g in form_spec.GROUPS for f in g.fields}
    with use_language("fr"):
        def lab(path: str) -> str:
            return _(labels[path.split("/")[-1]]) if path.split("/")[-1] in labels else path

        main = {lab(k): v for k, v in kf.household(1).items() if not k.endswith(("/food", "/shelter"))}
        main[lab("household/population_group")] = _("IDP in displacement")
        main[lab("household/living_arrangement")] = _("Renting")
        main[lab("household/priority_needs")] = f"{_('Food')} {_('Shelter and rent')}"
        mem = {lab(k): v for k, v in kf.member(1, 1).items()}
        mem[lab("members/sex")] = _("Female")
        mem[lab("members/relationship")] = _("Head of household")
    p1 = kf.write(tmp_path / "registration.csv", list(main), [main], delimiter=",")
    p2 = kf.write(tmp_path / "members.csv", list(mem), [mem], delimiter=",")
    result = import_files(session=session, actor=SYSTEM, paths=[p1, p2], options=ImportOptions(org="AMSS"))
    assert result.status == "committed", [p.line() for p in result.problems]
    hh = session.scalars(sa.select(Household)).one()
    assert (hh.population_group, hh.living_arrangement) == ("idp", "renting")
    assert hh.priority_needs == ["food", "shelter"]


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary\xff\xfe", b"", b"a;b\n1;2\n"])
def test_hostile_or_unrelated_files_write_nothing(session, org, tmp_path: Path, content: bytes) -> None:
    from jatigi.core.errors import ValidationFailed

    bad = tmp_path / "registration.csv"
    bad.write_bytes(content)
    try:
        result = import_files(session=session, actor=SYSTEM, paths=[bad],
                              options=ImportOptions(org="AMSS", format="kobo"))
        assert result.status == "rejected"
    except ValidationFailed as exc:
        assert exc.message
    assert _count(session, Household) == 0


def test_age_without_birth_date_is_estimated_and_keeps_the_stated_age(session, org, tmp_path: Path) -> None:
    # An 18-year-old head registered in October stays 18, so needs no child-head code.
    paths = kf.export(tmp_path, n=1)
    kf.write(paths[1], kf.MEMBER_HEADERS, [kf.member(1, 1, **{"members/birth_date": "", "members/age": "18",
                                                              "members/specific_needs": ""})])
    result = import_files(session=session, actor=SYSTEM, paths=paths, options=ImportOptions(org="AMSS"))
    assert result.status == "committed", [p.line() for p in result.problems]
    head = session.scalars(sa.select(Person)).one()
    assert head.age_estimated and head.birth_date.isoformat() == "1995-10-20"


def test_checking_in_a_worker_process_gives_the_same_result(session, org, tmp_path: Path) -> None:
    # Large files are checked in a separate process; force it on a small one.
    paths = kf.export(tmp_path, n=4)
    result = import_files(session=session, actor=SYSTEM, paths=paths,
                          options=ImportOptions(org="AMSS", parallel=True))
    assert (result.status, result.households_written, result.people_written) == ("committed", 4, 8)
    bad = kf.write(tmp_path / "registration.csv", kf.MAIN_HEADERS,
                   [kf.household(i, **{"household/living_arrangement": "tent"}) for i in range(5, 9)])
    rejected = import_files(session=session, actor=SYSTEM, paths=[bad, paths[1]],
                            options=ImportOptions(org="AMSS", parallel=True))
    assert rejected.status == "rejected"
    assert {p.value for p in rejected.problems if p.column == "household/living_arrangement"} == {"tent"}
    assert _count(session, Household) == 4


def test_a_file_error_in_the_worker_reaches_the_user(session, org, tmp_path: Path) -> None:
    from jatigi.core.errors import ValidationFailed

    garbage = tmp_path / "registration.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ValidationFailed, match="XLSX"):
        import_files(session=session, actor=SYSTEM, paths=[garbage],
                     options=ImportOptions(org="AMSS", format="kobo", parallel=True))
    assert _count(session, Household) == 0


def test_select_multiple_from_its_0_1_columns_alone(session, org, tmp_path: Path) -> None:
    headers = [h for h in kf.MAIN_HEADERS if h != "household/priority_needs"]
    main = kf.household(1, **{"household/priority_needs/food": "0", "household/priority_needs/shelter": "1"})
    p1 = kf.write(tmp_path / "registration.csv", headers, [main])
    p2 = kf.write(tmp_path / "members.csv", kf.MEMBER_HEADERS, [kf.member(1, 1)])
    result = import_files(session=session, actor=SYSTEM, paths=[p1, p2], options=ImportOptions(org="AMSS"))
    assert result.status == "committed", [p.line() for p in result.problems]
    assert session.scalars(sa.select(Household.priority_needs)).one() == ["shelter"]
