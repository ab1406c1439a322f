"""`jatigi assistance complaints …` and `jatigi assistance pdm …` as a user runs them."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.assistance.models import PdmResponse
from jatigi.core.db import session_scope
from tests.unit.assistance import feedback_data as fd
from tests.unit.assistance.test_pdm import HEADER, _six
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, user: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("JATIGI_USER", None)
    if user:
        env["JATIGI_USER"] = user
    return subprocess.run([JATIGI, "--lang", "en", "assistance", *args], capture_output=True, text=True, env=env,
                          timeout=120, input=stdin)


@pytest.fixture
def paid(engine: sa.Engine) -> fd.Paid:
    with session_scope(engine) as s:
        fd.people(s)
        return fd.programme(s, households=6)


def test_complaints_from_the_command_line(paid: fd.Paid) -> None:
    added = jatigi("complaints", "add", "--channel", "hotline", "--category", "late", "--priority", "high",
                   "--received", "2024-07-01", "--payment", paid.references[1][0], "--name", "Awa Traoré",
                   "--contact", "76 11 22 33", "--description", "-", stdin="Toujours rien reçu.\n", user="carla")
    assert added.returncode == 0, added.stderr
    code = re.search(r"The complaint (CMP-[A-Z0-9]+) is recorded; the answer is due by Jul 3, 2024\.", added.stdout)
    assert code, added.stdout
    general = code.group(1)
    hidden = jatigi("complaints", "add", "--channel", "visit", "--category", "sexual_exploitation",
                    "--description", "Un agent a demandé des faveurs.", user="carla")
    assert hidden.returncode == 0 and "went confidentially to the protection focal point" in hidden.stdout
    secret = re.search(r"(CMP-[A-Z0-9]+)", hidden.stdout).group(1)  # type: ignore[union-attr]
    assert "faveurs" not in hidden.stdout

    listed = jatigi("complaints", "list", user="carla")
    assert listed.returncode == 0, listed.stderr
    assert general in listed.stdout and secret not in listed.stdout and "Awa" not in listed.stdout
    assert "Overdue" in listed.stdout and "1 complaints that match" in listed.stdout
    assert jatigi("complaints", "list", "--search", secret, user="carla").stdout.startswith("0 complaints")
    refused = jatigi("complaints", "show", secret, user="carla")
    assert refused.returncode == 1 and f"No complaint {secret} that you may see." in refused.stderr
    assert "faveurs" not in refused.stdout + refused.stderr

    shown = jatigi("complaints", "show", general, user="carla")
    assert shown.returncode == 0 and "Toujours rien reçu." in shown.stdout and "76 11 22 33" in shown.stdout
    focal = jatigi("complaints", "list", user="pat")
    assert general in focal.stdout and f"{secret} *" in focal.stdout and "confidential" in focal.stdout
    assert "Un agent a demandé des faveurs." in jatigi("complaints", "show", secret, user="pat").stdout

    assert "is assigned to cindy" in jatigi("complaints", "assign", general, "--to", "cindy", user="carla").stdout
    early = jatigi("complaints", "close", general, user="carla")
    assert early.returncode == 1 and "cannot become closed" in early.stderr
    assert "is now resolved" in jatigi("complaints", "resolve", general, "--resolution", "Payé le 4 juillet.",
                                       user="carla").stdout
    assert "is now closed" in jatigi("complaints", "close", general, user="carla").stdout

    bad = jatigi("complaints", "add", "--channel", "fax", "--category", "late", "--description", "x", user="carla")
    assert bad.returncode == 1 and "Nothing was saved: Channel: Unknown choice; accepted: hotline" in bad.stderr
    assert "complaint:write" in jatigi("complaints", "list", user="ivan").stderr


def test_complaints_csv_leaves_out_what_was_said(paid: fd.Paid, tmp_path: Path) -> None:
    for category in ("late", "protection_risk"):
        assert jatigi("complaints", "add", "--channel", "sms", "--category", category, "--name", "Awa",
                      "--description", "Texte", user="carla").returncode == 0
    out = tmp_path / "complaints.csv"
    written = jatigi("complaints", "list", "--csv", str(out), user="carla")
    assert written.returncode == 0 and "1 complaints written to" in written.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["category"] for r in rows] == ["late"] and "Awa" not in out.read_text(encoding="utf-8")


def test_pdm_import_and_indicators(paid: fd.Paid, engine: sa.Engine, tmp_path: Path) -> None:
    good = tmp_path / "pdm.csv"
    good.write_text("\n".join([HEADER, *_six(paid)]) + "\n", encoding="utf-8")
    done = jatigi("pdm", "import", str(good), "--cycle", "PRG-0001/1", user="carla")
    assert done.returncode == 0, done.stderr
    assert "6 interviews added, 0 already there (6 rows read)." in done.stdout
    again = jatigi("pdm", "import", str(good), "--cycle", str(paid.cycles[1]), user="carla")
    assert "0 interviews added, 6 already there" in again.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, f"{paid.references[2][0]},,2024-06-20,yes,,,,,,,,,x1",
                              f"{paid.references[1][0]},,2024-06-20,peut-être,,,,,,,,,x2"]) + "\n", encoding="utf-8")
    report = tmp_path / "problems.csv"
    refused = jatigi("pdm", "import", str(bad), "--cycle", "PRG-0001/1", "--errors", str(report), user="carla")
    assert refused.returncode == 1
    assert ("bad.csv, row 2, column payment_reference: This payment belongs to cycle 2, not to cycle 1 being "
            "imported.") in refused.stderr
    assert "bad.csv, row 3, column received: Not a yes/no answer" in refused.stderr
    assert "Nothing was written: 2 problems in 2 rows." in refused.stderr
    assert len(list(csv.reader(report.open(encoding="utf-8-sig")))) == 3
    assert count_rows(engine, PdmResponse) == 6

    shown = jatigi("pdm", "show", "--cycle", "PRG-0001/1", user="carla")
    assert shown.returncode == 0, shown.stderr
    assert "PRG-0001, cycle 1: 6 interviews." in shown.stdout
    assert re.search(r"Received the payment[\s│]+83 % \(5 of 6\)", shown.stdout)
    assert re.search(r"Were asked for money or a favour to receive it — Red flag: follow it up[\s│]+17 % \(1 of 6\)",
                     shown.stdout)
    assert re.search(r"Food[\s│]+80 % \(4 of 5\)", shown.stdout) and "140,000" in shown.stdout
    other = jatigi("pdm", "show", "--cycle", "PRG-0001/1", user="bert")
    assert other.returncode == 1 and "No cycle PRG-0001/1 that you may see." in other.stderr
