"""Exports: the documented columns, minimised, only what the user may see, safe to open."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from jatigi.accounts import service as accounts
from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.core.errors import Forbidden
from jatigi.registry.export import COLUMNS, export_households
from jatigi.registry.records import PersonRecord
from tests import factories as f

HEADERS = ["Household code", "Organisation", "Population group", "Region P-code", "Region", "Cercle P-code",
           "Cercle", "Commune P-code", "Commune", "Current place P-code", "Place of origin P-code",
           "Living arrangement", "Households in the dwelling", "Monthly rent (FCFA)", "Rent arrears (FCFA)",
           "Intention", "Members", "Females", "Males", "Children under 18", "People with a disability",
           "Sex of the head of household", "Registration date"]
HASHTAGS = ["#meta+id", "#org+code", "#group+code", "#adm1+code", "#adm1+name", "#adm2+code", "#adm2+name",
            "#adm3+code", "#adm3+name", "#loc+code", "#loc+code+origin", "#indicator+shelter+code",
            "#indicator+households+num", "#value+rent+xof", "#value+arrears+xof", "#indicator+intention+code",
            "#affected+ind", "#affected+f", "#affected+m", "#affected+children", "#affected+disabled",
            "#beneficiary+head+sex", "#date+registered"]


@dataclass
class Data:
    a_code: str
    b_code: str


@pytest.fixture
def data(engine: sa.Engine) -> Data:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "=ONGB+1")  # an acronym a spreadsheet would run as a formula
        f.user(s, "alice", "ONGA")
        f.user(s, "bob", "=ONGB+1")
        f.user(s, "vera", "ONGA", "viewer")
        a_code = f.household(s, f.actor(s, "alice"))
        b_code = f.household(s, f.actor(s, "bob"), current_pcode=f.MOPTI_COMMUNE, population_group="host",
                             origin_pcode=None, movements=[], phone="70 98 76 54", members=[
                                 PersonRecord(1, "Boubacar", "Cissé", "m", "head", date(1970, 1, 1))])
    return Data(a_code, b_code)


def _export(engine: sa.Engine, username: str, fmt: str, out: Path) -> int:
    with session_scope(engine) as s:
        return export_households(session=s, actor=f.actor(s, username), fmt=fmt, out=out)


def _read_csv(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


def test_csv_export_has_the_documented_columns_and_no_identifying_data(
        engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "households.csv"
    assert _export(engine, "alice", "csv", out) == 1
    rows = _read_csv(out)
    assert rows[0] == HEADERS
    assert len(rows) == 2
    row = dict(zip([c.key for c in COLUMNS], rows[1], strict=True))
    assert row == {
        "code": data.a_code, "organisation": "ONGA", "population_group": "idp",
        "admin1_pcode": "ML09", "admin1_name": "Bamako", "admin2_pcode": "ML0901", "admin2_name": "Bamako",
        "admin3_pcode": "ML090104", "admin3_name": "Commune IV", "current_pcode": "ML090104",
        "origin_pcode": f.DOUENTZA, "living_arrangement": "renting", "households_in_dwelling": "3",
        "monthly_rent_xof": "25000", "rent_arrears_xof": "50000", "intention": "stay", "members": "3",
        "females": "2", "males": "1", "children": "2", "disabled": "1", "head_sex": "f",
        "registered_on": "2024-05-02",
    }
    text = out.read_text(encoding="utf-8-sig")
    for secret in ("Aminata", "Maïga", "Maiga", "76123456", "66554433", "Lafiabougou", "Coulibaly"):
        assert secret not in text
    assert not (tmp_path / "households.csv.part").exists()


def test_hxl_export_carries_core_hashtags_and_reads_back_with_libhxl(
        engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    import hxl

    out = tmp_path / "households.hxl.csv"
    assert _export(engine, "alice", "hxl", out) == 1
    rows = _read_csv(out, encoding="utf-8")
    assert rows[0] == HEADERS and rows[1] == HASHTAGS
    source = hxl.data(str(out), hxl.InputOptions(allow_local=True))
    assert [c.get_display_tag() for c in source.columns][:4] == ["#meta+id", "#org+code", "#group+code",
                                                                "#adm1+code"]
    [record] = list(source)
    assert record.get("#adm1+name") == "Bamako" and record.get("#affected+disabled") == "1"


def test_export_holds_only_visible_households_until_an_agreement(
        engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    _export(engine, "alice", "csv", out)
    assert [r[0] for r in _read_csv(out)[1:]] == [data.a_code]
    with session_scope(engine) as s:
        accounts.create_agreement(session=s, actor=f.actor(s, "bob"), provider="=ONGB+1", recipient="ONGA",
                                  purpose="Joint rent support", signed_on=date.today())
    _export(engine, "alice", "csv", out)
    assert sorted(r[0] for r in _read_csv(out)[1:]) == sorted([data.a_code, data.b_code])
    _export(engine, "bob", "csv", out)
    assert [r[0] for r in _read_csv(out)[1:]] == [data.b_code]


def test_a_formula_like_value_is_escaped(engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    _export(engine, "bob", "csv", out)
    [row] = _read_csv(out)[1:]
    assert row[1] == "'=ONGB+1"
    xlsx = tmp_path / "b.xlsx"
    _export(engine, "bob", "xlsx", xlsx)
    ws = load_workbook(xlsx, read_only=True).active
    cells = list(ws.iter_rows(values_only=True))
    assert cells[1][1] == "'=ONGB+1"


def test_xlsx_export_opens_with_typed_cells(engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "a.xlsx"
    assert _export(engine, "alice", "xlsx", out) == 1
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    row = dict(zip([c.key for c in COLUMNS], rows[1], strict=True))
    assert row["monthly_rent_xof"] == 25000 and row["members"] == 3 and row["children"] == 2
    assert row["registered_on"].date() == date(2024, 5, 2)


def test_an_export_is_audited_once_and_needs_the_export_permission(
        engine: sa.Engine, data: Data, tmp_path: Path) -> None:
    _export(engine, "alice", "hxl", tmp_path / "x.csv")
    with session_scope(engine) as s:
        events = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "registry.export")).all()
        assert [(e.actor, e.detail["format"], e.detail["rows"]) for e in events] == [("alice", "hxl", 1)]
        assert verify_chain(s).ok
    with pytest.raises(Forbidden):
        _export(engine, "vera", "csv", tmp_path / "v.csv")
    assert not (tmp_path / "v.csv").exists()
    # The system account (an operator at the machine) sees every organisation's households.
    with session_scope(engine) as s:
        assert export_households(session=s, actor=SYSTEM, fmt="csv", out=tmp_path / "all.csv") == 2
