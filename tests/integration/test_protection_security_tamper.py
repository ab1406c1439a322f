"""A changed, reattributed or deleted audit event about a protection case is reported by
`jatigi audit verify`, with the event where the chain breaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.core import audit
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from tests import protection_factories as pf

JATIGI = str(Path(sys.executable).with_name("jatigi"))


def verify() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run([JATIGI, "--lang", "en", "audit", "verify"], capture_output=True, text=True, env=env,
                          timeout=60)


@pytest.fixture
def case_events(engine: sa.Engine) -> list[int]:
    with session_scope(engine) as s:
        team = pf.team(s)
        case = pf.case(s, team.caseworker, team.supervisor)
        for action in ("protection.case.read", "protection.case.update", "protection.case.read"):
            audit.record(s, team.caseworker, action, "protection_case", case.id, {"fields": ["risk_level"]})
        audit.record(s, team.supervisor, "protection.case.read", "protection_case", case.id)
    with session_scope(engine) as s:
        return list(s.scalars(sa.select(AuditEvent.id).where(AuditEvent.entity_type == "protection_case")
                              .order_by(AuditEvent.id)))


@pytest.mark.parametrize("tamper", ["detail", "actor", "delete"])
def test_a_tampered_protection_event_breaks_the_chain(engine: sa.Engine, case_events: list[int], tamper: str) -> None:
    intact = verify()
    assert intact.returncode == 0 and "Audit trail intact" in intact.stdout
    target = case_events[1]
    with session_scope(engine) as s:
        row = sa.update(AuditEvent).where(AuditEvent.id == target)
        if tamper == "detail":
            s.execute(row.values(detail={"fields": []}))
        elif tamper == "actor":
            s.execute(row.values(actor="cw2.a"))
        else:
            s.execute(sa.delete(AuditEvent).where(AuditEvent.id == target))
    broken = verify()
    assert broken.returncode == 1
    # A changed event is reported itself; after a deletion, the event that followed it.
    expected = case_events[2] if tamper == "delete" else target
    assert f"Audit trail broken at event {expected}" in broken.stderr
