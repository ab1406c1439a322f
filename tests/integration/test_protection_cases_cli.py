"""`jatigi protection cases …` as a caseworker and a supervisor run it: open, list, show (the name
hidden unless --show-name), request closure, approve it, reopen; a case one may not see is not found."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.protection import case_work
from jatigi.protection.models import ProtectionCase
from tests import factories as f
from tests import protection_factories as pf
from tests.integration.test_protection_security_tokens import second_factor_env
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, user: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    env.pop("JATIGI_USER", None)
    if user:
        env["JATIGI_USER"] = user
        env.update(second_factor_env(user))
    return subprocess.run([JATIGI, "--lang", "en", "protection", "cases", *args], capture_output=True, text=True,
                          env=env, timeout=120, input=stdin)


def test_case_journey_from_the_command_line(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        pf.team(s)
    bad = jatigi("open", "--type", "theft", "--sex", "f", "--area", f.BAMAKO_COMMUNE_IV, "--may-call", "maybe",
                 "--summary", "x", user="cw.a")
    assert bad.returncode == 1
    assert "Type of case: Unknown choice theft; accepted: gbv, child_protection, tracing, general." in bad.stderr
    assert "May we call?: Unknown choice maybe" in bad.stderr
    assert count_rows(engine, ProtectionCase) == 0

    opened = jatigi("open", "--type", "gbv", "--sex", "f", "--area", f.BAMAKO_COMMUNE_IV, "--may-call", "no",
                    "--given-name", "Oumou", "--family-name", "Diarra", "--age", "30", "--ask-for", "Tantie",
                    "--summary", "-", stdin="Menacée par son mari.\n", user="cw.a")
    assert opened.returncode == 0, opened.stderr
    found = re.search(r"Case (CAS-[A-Z0-9]{6}) is open \(survivor code (SV-[A-Z0-9]{6})\)\.", opened.stdout)
    assert found, opened.stdout
    code, survivor = found.groups()

    listed = jatigi("list", user="cw.a")
    assert code in listed.stdout and survivor in listed.stdout and "Oumou" not in listed.stdout
    shown = jatigi("show", code, user="cw.a")
    assert "NO: do not call" in shown.stdout and "Oumou" not in shown.stdout and "Menacée" in shown.stdout
    named = jatigi("show", code, "--show-name", user="cw.a")
    assert "Oumou Diarra" in named.stdout

    outsider = jatigi("show", code, user="cw.b")
    made_up = jatigi("show", "CAS-ZZZZZZ", user="cw.b")
    assert outsider.returncode == made_up.returncode == 1
    assert f"No case {code} that you may see." in outsider.stderr
    assert outsider.stderr.replace(code, "X") == made_up.stderr.replace("CAS-ZZZZZZ", "X")
    assert jatigi("list", "--search", code, user="cw.b").stdout.strip().endswith("0 cases you need to know match.")

    asked = jatigi("close-request", code, "--reason", "goals_met", user="cw.a")
    assert asked.returncode == 0 and f"Case {code} is now: closure requested." in asked.stdout
    own = jatigi("approve-closure", code, user="cw.a")
    assert own.returncode == 1 and "Only the supervisor" in own.stderr
    approved = jatigi("approve-closure", code, user="sup.a")
    assert approved.returncode == 0 and f"Case {code} is now: closed." in approved.stdout
    reopened = jatigi("reopen", code, "--reason", "Nouvelles menaces", user="cw.a")
    assert reopened.returncode == 0 and f"Case {code} is now: in progress." in reopened.stdout
    assert "Nouvelles menaces" in jatigi("show", code, user="sup.a").stdout

    with session_scope(engine) as s:
        actions = list(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_case")))
    assert actions.count("protection.case.reveal_name") == 1 and "protection.case.reopen" in actions


def test_codes_in_any_case_open_items_and_readable_history(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        pf.team(s)
    opened = jatigi("open", "--type", "GBV", "--sex", "F", "--area", f.BAMAKO_COMMUNE_IV, "--may-call", "oui",
                    "--risk", "High", "--summary", "Menacée.", user="cw.a")
    assert opened.returncode == 0, opened.stderr
    found = re.search(r"Case (CAS-[A-Z0-9]{6}) is open", opened.stdout)
    assert found, opened.stdout
    code = found.group(1)
    with session_scope(engine) as s:
        case_work.add_entry(s, f.actor(s, "cw.a"), code, "plan", "Accompagner au CSRéf.", service_type="medical",
                            due_on="2030-01-01")
    by_supervisor = jatigi("close-request", code, "--reason", "goals_met", "--confirm-open-items", user="sup.a")
    assert by_supervisor.returncode == 1 and "Only the caseworker" in by_supervisor.stderr
    unconfirmed = jatigi("close-request", code, "--reason", "goals_met", user="cw.a")
    assert unconfirmed.returncode == 1 and "1 items are still open" in unconfirmed.stderr
    assert "Case plan action to do: Medical care" in unconfirmed.stderr
    asked = jatigi("close-request", code, "--reason", "goals_met", "--confirm-open-items", user="cw.a")
    assert asked.returncode == 0 and f"Case {code} is now: closure requested." in asked.stdout
    shown = jatigi("show", code, user="sup.a")
    assert "May we call?  Yes" in shown.stdout or "May we call? Yes" in " ".join(shown.stdout.split())
    assert "closure_requested" not in shown.stdout and "In progress" in shown.stdout
    approved = jatigi("approve-closure", code, user="sup.a")
    assert approved.returncode == 0 and "Still open: Case plan action to do: Medical care" in approved.stdout
