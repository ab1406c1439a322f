"""`jatigi protection monitoring …` and `jatigi protection statistics` as a user runs them."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.core.db import session_scope
from jatigi.protection.models import MonitoringReport
from tests import factories as f
from tests import protection_factories as pf
from tests.integration.test_protection_security_tokens import second_factor_env
from tests.integration.test_protection_stats_gbvims import _incident
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")
MONTH = date.today().replace(day=1).strftime("%Y-%m")


def jatigi(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("JATIGI_USER", None)
    if user:
        env["JATIGI_USER"] = user
        env.update(second_factor_env(user))
    return subprocess.run([JATIGI, "--lang", "en", "protection", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def team(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        t = pf.team(s)
        f.user(s, "im", "PA", role="im_officer")
        f.user(s, "view", "PA", role="viewer")
        for _i in range(6):
            _incident(s, t.caseworker, t.supervisor, "rape", "yes", f.BAMAKO_COMMUNE_IV)
        _incident(s, t.outsider, t.outsider_supervisor, "rape", "yes", f.MOPTI_COMMUNE)
        _incident(s, t.caseworker, t.supervisor, "forced_marriage", "withdrawn", f.MOPTI_COMMUNE)


def test_monitoring_from_the_command_line(team: None, engine: sa.Engine, tmp_path: Path) -> None:
    added = jatigi("monitoring", "add", "--month", MONTH, "--area", "ML0506", "--type", "child_labour",
                   "--people", "12", "--children", "12", "--source", "observation", "--description",
                   "Enfants aux champs", user="cw.a")
    assert added.returncode == 0, added.stderr
    assert "The report is recorded: Child labour in ML0506" in added.stdout
    bad = jatigi("monitoring", "add", "--month", MONTH, "--area", "ML0506", "--type", "child_labour",
                 "--people", "2", "--children", "5", "--source", "observation", user="cw.a")
    assert bad.returncode == 1 and "More than the people affected (2)." in bad.stderr
    assert jatigi("monitoring", "add", "--month", MONTH, "--area", "ML0506", "--type", "child_labour", "--people",
                  "2", "--source", "observation", user="im").returncode == 1  # no permission to record

    file = tmp_path / "reports.csv"
    file.write_text("incident_month,area,type,people_affected,source\n"
                    f"{MONTH},ML0501,forced_return,30,partner\n{MONTH},ML0501,forced_return,many,partner\n")
    refused = jatigi("monitoring", "import", str(file), "--errors", str(tmp_path / "problems.csv"), user="cw.a")
    assert refused.returncode == 1 and "row 3, column people_affected" in refused.stderr
    assert (tmp_path / "problems.csv").exists() and count_rows(engine, MonitoringReport) == 1

    listed = jatigi("monitoring", "list", user="cw.a")
    assert listed.returncode == 0 and "Enfants aux champs" in listed.stdout
    assert "Enfants" not in jatigi("monitoring", "list", user="cw.b").stdout
    analysis = jatigi("monitoring", "analysis", "--level", "cercle", user="im")
    assert analysis.returncode == 0, analysis.stderr
    assert "Child labour" in analysis.stdout and "Douentza (ML0506)" in analysis.stdout


def test_statistics_from_the_command_line(team: None, tmp_path: Path) -> None:
    shown = jatigi("statistics", "--by", "type,month", "--year", MONTH[:4], user="im")
    assert shown.returncode == 0, shown.stderr
    assert "consented to reporting" in shown.stdout and "Incidents by type and month" in shown.stdout
    assert "Incidents by type and area" not in shown.stdout
    assert "PA" not in shown.stdout.split() and "PB" not in shown.stdout.split()
    out = tmp_path / "stats.csv"
    assert f"Year {MONTH[:4]}, all of Mali" in shown.stdout
    # Published by calendar year for all of Mali only: no free period nor area.
    assert jatigi("statistics", "--from", MONTH, "--to", MONTH, user="im").returncode == 2
    assert jatigi("statistics", "--area", "ML09", user="im").returncode == 2
    written = jatigi("statistics", "--csv", str(out), user="cw.a")
    assert written.returncode == 0, written.stderr
    rows = {(r["table"], r["row"], r["column"]): r["count"] for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows[("type_month", "rape", MONTH)] == "7"  # both organisations pooled; the withdrawn consent not counted
    assert rows[("type_month", "forced_marriage", "total")] == "0"
    bad = jatigi("statistics", "--by", "type,perpetrator", user="im")
    assert bad.returncode == 1 and "Unknown table type,perpetrator" in bad.stderr
    assert jatigi("statistics", user="view").returncode == 1
