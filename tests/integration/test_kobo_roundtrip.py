"""Submissions shaped like the registration form's Kobo export come back through the importer
unchanged: XML names or French/English labels, CSV or XLSX."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.accounts import service as accounts
from jatigi.core.authz import SYSTEM
from jatigi.demo.generator import generate
from jatigi.demo.kobo_export import export_households
from jatigi.places.service import load_gazetteer
from jatigi.registry.importer import ImportOptions, import_files
from jatigi.registry.models import Household, Movement, Person, SeparatedRelative

N = 150


@pytest.fixture
def org(session):  # type: ignore[no-untyped-def]
    load_gazetteer(session=session)
    return accounts.create_organisation(session=session, actor=SYSTEM, acronym="UNHCR", name="UNHCR",
                                        kind="un_agency")


@pytest.mark.parametrize(("fmt", "labels"), [("csv", "xml"), ("xlsx", "fr"), ("csv", "en")])
def test_export_of_the_form_imports_back_unchanged(session, org, tmp_path: Path, fmt: str, labels: str) -> None:
    records = list(generate(N, seed=7))
    export = export_households(records, tmp_path, fmt=fmt, labels=labels)
    result = import_files(session=session, actor=SYSTEM, paths=export.files, options=ImportOptions(org="UNHCR"))
    assert result.status == "committed", [p.line() for p in result.problems[:5]]
    assert result.households_written == N
    assert result.people_written == sum(len(r.members) for r in records)

    stored = dict(session.execute(sa.select(Household.source_uuid, Household.population_group)).all())
    assert stored == {r.source_uuid: r.population_group for r in records}
    by_sex_rel = Counter(session.execute(sa.select(Person.sex, Person.relationship)).all())
    assert by_sex_rel == Counter((m.sex, m.relationship) for r in records for m in r.members)
    needs = sorted(code for (codes,) in session.execute(sa.select(Person.specific_needs)) for code in codes or [])
    assert needs == sorted(code for r in records for m in r.members for code in m.specific_needs)
    assert session.scalar(sa.select(sa.func.count()).select_from(SeparatedRelative)) == \
        sum(len(r.relatives) for r in records)
    assert session.scalar(sa.select(sa.func.count()).select_from(Movement)) >= sum(len(r.movements) for r in records)
    rent = session.scalar(sa.select(sa.func.sum(Household.monthly_rent_xof)))
    assert rent == sum(r.monthly_rent_xof or 0 for r in records)
