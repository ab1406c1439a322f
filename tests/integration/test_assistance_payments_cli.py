"""`jatigi assistance providers|payments` as a cash officer runs them: providers, payment files, reconciliation."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.assistance.models import Cycle, Reconciliation
from jatigi.core.db import session_scope
from jatigi.registry import service as registry
from tests.unit.assistance import payment_data as d
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([JATIGI, "--lang", lang, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def cycle(engine: sa.Engine) -> d.CycleData:
    with session_scope(engine) as s:
        return d.approved_cycle(s)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_providers_are_listed_shown_and_added_from_a_template(cycle: d.CycleData, tmp_path: Path) -> None:
    listed = jatigi("assistance", "providers", "list", "--as", d.CASH)
    assert listed.returncode == 0, listed.stderr
    assert "orange_money" in listed.stdout and "MSISDN, Amount, Currency, Reference, Name" in listed.stdout
    assert "cash_distribution" in listed.stdout and "Cash-in-hand distribution list" in listed.stdout

    shown = jatigi("assistance", "providers", "show", "orange_money", "--as", d.CASH)
    assert shown.returncode == 0, shown.stderr
    assert "orange_money: Orange Money (Mobile-money operator)" in shown.stdout
    assert "EXPIRED" in shown.stdout and "unclaimed" in shown.stdout

    template = tmp_path / "moov.toml"
    shipped = Path(__file__).parents[2] / "src/jatigi/assistance/provider_templates/orange_money.toml"
    template.write_text(shipped.read_text(encoding="utf-8").replace('format = "csv"', 'format = "docx"'),
                        encoding="utf-8")
    refused = jatigi("assistance", "providers", "add", "moov", "--template", str(template), "--as", d.ADMIN)
    assert refused.returncode == 1
    assert "Error: The template is refused: format is 'docx'; accepted: csv, xlsx, pdf." in refused.stderr
    template.write_text(shipped.read_text(encoding="utf-8").replace('delimiter = ","', 'delimiter = ";"'),
                        encoding="utf-8")
    # A provider is shared by every organisation: a cash officer may not add one.
    officer = jatigi("assistance", "providers", "add", "moov", "--template", str(template), "--as", d.CASH)
    assert officer.returncode == 1
    assert "You do not have the permission assistance:provider:write" in officer.stderr
    added = jatigi("assistance", "providers", "add", "moov", "--template", str(template), "--label", "Moov Africa",
                   "--as", d.ADMIN)
    assert added.returncode == 0, added.stderr
    assert "Payment provider moov saved: csv file with 5 columns." in added.stdout
    assert "Moov Africa" in jatigi("assistance", "providers", "list", "--as", d.CASH).stdout


def test_a_cycle_is_exported_then_reconciled_with_its_problems_written(
        cycle: d.CycleData, engine: sa.Engine, tmp_path: Path) -> None:
    out = tmp_path / "orange.csv"
    refused = jatigi("assistance", "payments", "export", "--cycle", str(cycle.cycle_id), "--provider", "orange_money",
                     "--out", str(out), "--as", d.IM)
    assert refused.returncode == 1 and "You do not have the permission assistance:payment:export" in refused.stderr
    assert not out.exists()

    exported = jatigi("assistance", "payments", "export", "--cycle", str(cycle.cycle_id), "--provider",
                      "orange_money", "--out", str(out), "--as", d.CASH)
    assert exported.returncode == 0, exported.stderr
    assert f"3 payments, 60,000\u00a0FCFA, written to {out}." in exported.stdout
    assert f"Cycle {cycle.cycle_id} is now sent to orange_money." in exported.stdout
    rows = _rows(out)
    assert rows[0] == ["MSISDN", "Amount", "Currency", "Reference", "Name"] and len(rows) == 4
    again = jatigi("assistance", "payments", "export", "--cycle", str(cycle.cycle_id), "--provider", "orange_money",
                   "--out", str(tmp_path / "again.csv"), "--as", d.APPROVER)
    assert again.returncode == 0 and "was sent already: the same payments were written again" in again.stdout
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()

    r = cycle.references
    report = d.write_report(tmp_path / "report.csv", [
        [r[0], "SUCCESS", "15000", "XOF", "2024-06-05", "TX-1"],
        [r[1], "SUCCESS", "19000", "XOF", "2024-06-05", "TX-2"],
        [r[2], "EXPIRED", "", "XOF", "", ""],
    ])
    problems = tmp_path / "problems.csv"
    done = jatigi("assistance", "payments", "reconcile", str(report), "--cycle", str(cycle.cycle_id), "--problems",
                  str(problems), "--as", d.CASH)
    assert done.returncode == 0, done.stderr
    assert "1 paid, 0 failed, 1 unclaimed, 0 unchanged; 1 lines not applied." in done.stdout
    assert ("report.csv, row 3, column Amount Paid: The amount paid differs from the entitlement; accepted: 20000. "
            "(value: '19000')") in done.stderr
    assert _rows(problems) == [["Sheet", "Row", "Column", "Value", "Problem"],
                               ["report.csv", "3", "Amount Paid", "19000",
                                "The amount paid differs from the entitlement; accepted: 20000."]]
    twice = jatigi("assistance", "payments", "reconcile", str(report), "--cycle", str(cycle.cycle_id), "--as", d.CASH)
    assert twice.returncode == 1 and "This file was already applied to cycle" in twice.stderr
    with session_scope(engine) as s:
        assert s.get(Cycle, cycle.cycle_id).state == "reconciled"  # type: ignore[union-attr]
    assert count_rows(engine, Reconciliation) == 1


def test_a_report_with_nothing_to_apply_is_refused_with_its_problems(cycle: d.CycleData, engine: sa.Engine,
                                                                       tmp_path: Path) -> None:
    jatigi("assistance", "payments", "export", "--cycle", str(cycle.cycle_id), "--provider", "orange_money",
           "--out", str(tmp_path / "orange.csv"), "--as", d.CASH)
    wrong = d.write_report(tmp_path / "wrong.csv", [["NOPE-1", "SUCCESS", "15000", "USD", "", ""],
                                                   ["NOPE-2", "SUCCESS", "15000", "XOF", "", ""]])
    problems = tmp_path / "problems.csv"
    refused = jatigi("assistance", "payments", "reconcile", str(wrong), "--cycle", str(cycle.cycle_id),
                     "--problems", str(problems), "--as", d.CASH, lang="fr")
    assert refused.returncode == 1
    assert "Erreur" in refused.stderr and "wrong.csv" in refused.stderr
    assert len(_rows(problems)) == 3
    assert count_rows(engine, Reconciliation) == 0
    missing = d.write_report(tmp_path / "columns.csv", [["x"]], header=("Reference",))
    whole = jatigi("assistance", "payments", "reconcile", str(missing), "--cycle", str(cycle.cycle_id), "--as", d.CASH)
    assert whole.returncode == 1 and "the columns Status, Amount Paid, Currency, Date, Transaction ID are missing" \
        in whole.stderr


def test_the_cash_distribution_list_is_printed_to_pdf(engine: sa.Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        d.people(s)
        data = d.cycle(s, d.programme(s, modality="cash_in_hand"), d.households(s))
    out = tmp_path / "list.pdf"
    done = jatigi("assistance", "payments", "export", "--cycle", str(data.cycle_id), "--provider",
                  "cash_distribution", "--out", str(out), "--as", d.CASH)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF") and "3 payments" in done.stdout


def test_an_export_says_which_due_payments_it_cancelled_and_why(engine: sa.Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        d.people(s)
        codes = d.households(s)
        data = d.cycle(s, d.programme(s), codes)
        registry.delete_household(session=s, actor=d.f.actor(s, d.ADMIN), code=codes[1], reason="Doublon")
    out = tmp_path / "orange.csv"
    done = jatigi("assistance", "payments", "export", "--cycle", str(data.cycle_id), "--provider", "orange_money",
                  "--out", str(out), "--as", d.CASH)
    assert done.returncode == 0, done.stderr
    assert "2 payments, 40,000\u00a0FCFA" in done.stdout
    assert ("1 due payments were cancelled and left out of the file: the household was removed from the registry "
            "after the cycle was approved.") in done.stderr
    assert len(_rows(out)) == 3
    other = jatigi("assistance", "payments", "export", "--cycle", str(data.cycle_id), "--provider",
                   "cash_distribution", "--out", str(tmp_path / "list.pdf"), "--as", d.CASH)
    assert other.returncode == 1 and "was sent to Orange Money (orange_money)" in other.stderr
    assert not (tmp_path / "list.pdf").exists()
