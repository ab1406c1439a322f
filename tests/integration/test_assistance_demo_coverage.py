"""The demo's cash programme, and coverage and continuity read from it through `jatigi assistance
coverage`, as a user runs them: separate processes over a real database."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jatigi.assistance.models import Complaint, Cycle, Payment, PdmResponse, Programme, Reconciliation
from jatigi.core.db import session_scope
from jatigi.registry.models import Household


def jatigi(*args: str, user: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jatigi", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-c", "from jatigi.cli.main import app; app()"]
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("JATIGI_COD_DIR", None)
    if user:
        env["JATIGI_USER"] = user
    return subprocess.run([*command, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=cwd)


def test_the_demo_has_a_programme_in_three_states_and_coverage_reads_it(db_url: str, tmp_path: Path,
                                                                         engine: sa.Engine) -> None:
    built = jatigi("demo", "build", "--households", "400", "--no-cod", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "Cash programme PRG-0001" in built.stdout
    with session_scope(engine) as s:
        programme = s.scalars(sa.select(Programme)).one()
        assert (programme.state, programme.modality, programme.area_pcode) == ("active", "mobile_money", "ML09")
        states = [c.state for c in s.scalars(sa.select(Cycle).order_by(Cycle.number))]
        assert states == ["reconciled", "sent", "prepared"]
        by_state = dict(s.execute(sa.select(Payment.state, sa.func.count()).group_by(Payment.state)).all())
        assert by_state.get("paid", 0) > 0 and by_state.get("sent", 0) > 0 and by_state.get("due", 0) > 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Reconciliation)) == 1
        # Every paid household lives in Bamako, the programme's area.
        paid_in = set(s.scalars(sa.select(Household.current_admin1).join(Payment, Payment.household_id == Household.id)
                                .where(Payment.state == "paid")))
        assert paid_in == {"ML09"}
        complaints = s.scalars(sa.select(Complaint)).all()
        assert len(complaints) == 8 and sum(c.sensitive for c in complaints) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(PdmResponse)) >= 1
        paid_total = s.scalar(sa.select(sa.func.sum(Payment.amount_paid)).where(Payment.state == "paid"))

    gaps = jatigi("assistance", "coverage", "gaps", "--since", "2013-10", "--until", "2013-12", user="cash.unhcr")
    assert gaps.returncode == 0, gaps.stderr
    total = next(line for line in gaps.stdout.splitlines() if "All areas" in line)
    assert f"{paid_total:,} FCFA" in total.replace("\u00a0", " ").replace("\u202f", " ")
    assert "Bamako" in gaps.stdout

    out = tmp_path / "still.csv"
    cont = jatigi("assistance", "coverage", "continuity", "--within", "1", "--programme", "PRG-0001", "--out",
                  str(out), user="cash.unhcr")
    assert cont.returncode == 0, cont.stderr
    assert "PRG-0001" in cont.stdout
    codes = [row["household_code"] for row in csv.DictReader(out.open(encoding="utf-8"))]
    assert codes and all(code.startswith("HH-") for code in codes)

    # Someone without the permission is refused in words, and a bad month is named.
    refused = jatigi("assistance", "coverage", "gaps", "--since", "2013-10", user="viewer.ocha")
    assert refused.returncode != 0 and "assistance:programme:read" in refused.stdout + refused.stderr
    bad = jatigi("assistance", "coverage", "gaps", "--since", "octobre", user="cash.unhcr")
    assert bad.returncode != 0 and "is not a month" in bad.stdout + bad.stderr
