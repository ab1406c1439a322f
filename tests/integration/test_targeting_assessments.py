"""`jatigi targeting assess` as a user runs it: a Kobo export of assessments in, all or nothing, and
the same export again adds nothing."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.targeting.assessments import assessments_of
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.tables import Assessment
from tests import factories as f

JATIGI = str(Path(sys.executable).parent / "jatigi")
FCS = ("FCSStap", "FCSPulse", "FCSDairy", "FCSPr", "FCSVeg", "FCSFruit", "FCSFat", "FCSSugar", "FCSCond")
RCSI = ("rCSILessQlty", "rCSIBorrow", "rCSIMealSize", "rCSIMealAdult", "rCSIMealNb")
HEADERS = ["start", "end", "today", "household_code", "enumerator", *(f"fcs/{n}" for n in FCS),
           *(f"coping/{n}" for n in RCSI), "wg_seeing", "_uuid", "_submission_time", "_index"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([JATIGI, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=120)


def row(start: str, code: str, fcs: list[object], rcsi: list[object], uuid: str, who: str = "Awa Traoré") -> list[object]:
    return [start, start, start[:10], code, who, *fcs, *rcsi, "", uuid, start, 1]


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")  # as KoboToolbox exports it
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


@dataclass
class Data:
    a: list[str]
    b: str


@pytest.fixture
def data(engine: sa.Engine) -> Data:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA", "registration_officer")
        f.user(s, "bob", "ONGB")
        alice = f.actor(s, "alice")
        a = [f.household(s, alice), f.household(s, alice, population_group="host", origin_pcode=None, movements=[])]
        b = f.household(s, f.actor(s, "bob"))
    return Data(a, b)


def count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Assessment)) or 0


def test_a_kobo_export_is_imported_once_and_its_indicators_read(data: Data, engine: sa.Engine,
                                                                tmp_path: Path) -> None:
    export = write_csv(tmp_path / "evaluation_2024.csv", [
        row("2024-06-03T09:12:00.000+00:00", data.a[0].lower(), [7, 3, 1, 2, 5, 1, 7, 7, 7], [3, 1, 2, 1, 2],
            "0f7c1e52-0001"),
        row("2024-06-04T10:40:00.000+00:00", data.a[1], [2, 0, 0, 0, 1, 0, 3, 2, 7], ["", "", "", "", ""],
            "0f7c1e52-0002"),
    ])
    done = run("targeting", "assess", str(export), "--as", "alice")
    assert done.returncode == 0, done.stderr
    assert "2 assessments added, 0 already there (2 rows read)." in done.stdout
    assert "Columns not kept in assessments: wg_seeing." in done.stdout

    again = run("targeting", "assess", str(export), "--as", "alice")
    assert again.returncode == 0, again.stderr
    assert "0 assessments added, 2 already there (2 rows read)." in again.stdout
    assert count(engine) == 2

    params = IndicatorParams()
    with session_scope(engine) as s:
        [first] = assessments_of(session=s, actor=SYSTEM, code=data.a[0], params=params)
        [second] = assessments_of(session=s, actor=SYSTEM, code=data.a[1], params=params)
    assert (first.assessed_on, first.source, first.enumerator) == (date(2024, 6, 3), "import", "Awa Traoré")
    assert (first.indicators["fcs"], first.indicators["rcsi"]) == (48, 12)
    # 2x2 + 1 + 0.5x3 + 0.5x2 = 7.5: poor; the empty coping module is not assessed, not 0
    assert (second.indicators["fcs"], second.indicators["fcs_category"], second.indicators["rcsi"]) == (
        7.5, "poor", None)


def test_a_file_with_any_problem_writes_nothing_and_lists_each(data: Data, engine: sa.Engine, tmp_path: Path) -> None:
    fcs = [7, 3, 1, 2, 5, 1, 7, 7, 7]
    export = write_csv(tmp_path / "bad.csv", [
        row("2024-06-03", data.a[0], fcs, [0, 0, 0, 0, 0], "u-1"),  # a good row: not written either
        row("2024-06-03", data.a[1], [8, *fcs[1:]], [0, 0, 0, 0, 0], "u-2"),
        row("2024-06-03", "HH-NOSUCHONE", fcs, [0, 0, 0, 0, 0], "u-3"),
        row("2024-06-03", data.b, fcs, [0, 0, 0, 0, 0], "u-4"),  # another organisation's household
        row("2024-13-01", data.a[0], fcs, [0, 0, 0, 0, 0], "u-5"),
        row("2024-06-03", data.a[0], fcs, [0, 0, 0, 0, 0], "u-1"),
        row("2024-06-03", data.a[0], fcs, [0, 0, -1, 0, 0], "u-6"),
    ])
    errors = tmp_path / "problems.csv"
    done = run("targeting", "assess", str(export), "--as", "alice", "--errors", str(errors))
    assert done.returncode == 1
    out = done.stderr
    assert ("bad.csv, row 3, column fcs/FCSStap: Not accepted; accepted: a whole number of days from 0 to 7. "
            "(value: '8')") in out
    assert "row 4, column household_code: No household HH-NOSUCHONE that you may see." in out
    assert f"row 5, column household_code: No household {data.b} that you may see." in out
    assert "row 6, column today: Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY." in out
    assert "row 7, column _uuid: Repeated: row 2 has the same submission; each submission once." in out
    assert "row 8, column coping/rCSIMealSize: Not accepted; accepted: a whole number of days from 0 to 7." in out
    assert "Nothing was written: 6 problems in 7 rows." in out
    assert count(engine) == 0
    with errors.open(encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == 7  # a header and the six problems


def test_an_xlsx_file_with_other_column_names_and_day_first_dates(data: Data, engine: sa.Engine,
                                                                  tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["household", "assessed_on", *FCS, "HHSNoFood", "HHSNoFood_FR", "HHSBedHung", "HHSNotEat"])
    ws.append([data.a[0], "05/06/2024", 7, 7, 7, 7, 7, 7, 7, 7, 7, "yes", 2, "no", "non"])
    ws.append([data.a[1], date(2024, 6, 6), 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, None, 0, 0])
    path = tmp_path / "assessments.xlsx"
    wb.save(path)
    done = run("targeting", "assess", str(path), "--as", "alice")
    assert done.returncode == 0, done.stderr
    assert "2 assessments added, 0 already there" in done.stdout
    with session_scope(engine) as s:
        [first] = assessments_of(session=s, actor=SYSTEM, code=data.a[0], params=IndicatorParams())
    assert (first.assessed_on, first.indicators["fcs"], first.indicators["hhs"]) == (date(2024, 6, 5), 112, 1)

    refused = run("targeting", "assess", str(path), "--as", "bob")  # bob's organisation does not see them
    assert refused.returncode == 1 and f"No household {data.a[0]} that you may see." in refused.stderr
    assert count(engine) == 2
