"""The general audit log (`jatigi audit log`, for whoever may read the audit) says nothing of
protection cases: that a case exists and who works on it is need to know. Supervisors review those
events on /protection/audit; `jatigi audit verify` still checks every event."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jatigi.core import audit
from jatigi.core.db import session_scope
from tests import factories as f
from tests import protection_factories as pf

JATIGI = str(Path(sys.executable).with_name("jatigi"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run([JATIGI, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=60)


def test_the_audit_log_leaves_out_protection_events(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        team = pf.team(s)
        f.user(s, "root", "PA", role="admin")
        case = pf.case(s, team.caseworker, team.supervisor)
        audit.record(s, team.caseworker, "protection.case.read", "protection_case", case.id)
        audit.record(s, team.caseworker, "protection.tracing.read", "tracing_request", 1)
        audit.record(s, team.caseworker, "places.visit", "admin_unit", "ML09")
    shown = _run("audit", "log", "--limit", "500", "--as", "root")
    assert shown.returncode == 0, shown.stderr
    assert "places.visit" in shown.stdout  # the log works…
    assert "protection." not in shown.stdout and "tracing_request" not in shown.stdout  # …without cases
    checked = _run("audit", "verify")
    assert checked.returncode == 0 and "protection" not in checked.stderr
