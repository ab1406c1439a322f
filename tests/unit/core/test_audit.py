"""The audit trail is a hash chain: any change to a past event is detected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jatigi.core import audit
from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.authz import SYSTEM

JATIGI = str(Path(sys.executable).with_name("jatigi"))


def _events(session, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        audit.record(session, SYSTEM, "household.read", "household", f"HH-{i}", {"i": i})
    session.commit()


def test_intact_chain_verifies(session) -> None:
    _events(session)
    report = verify_chain(session)
    assert report.ok and report.checked == 5


def test_changed_detail_is_detected_at_that_event(session) -> None:
    _events(session)
    third = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id).offset(2)).first()
    session.execute(sa.update(AuditEvent).where(AuditEvent.id == third.id).values(entity_id="HH-other"))
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.broken_at == third.id and report.checked == 2


def test_removed_event_is_detected(session) -> None:
    _events(session)
    second = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id).offset(1)).first()
    session.execute(sa.delete(AuditEvent).where(AuditEvent.id == second.id))
    session.commit()
    assert not verify_chain(session).ok


def test_cli_verify_exits_1_on_tampering(session, db_url) -> None:
    _events(session)
    env = {**os.environ, "JATIGI_DATABASE_URL": db_url}
    ok = subprocess.run([JATIGI, "--lang", "en", "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "5 events" in ok.stdout
    session.execute(sa.update(AuditEvent).where(AuditEvent.id == 3).values(actor="someone else"))
    session.commit()
    bad = subprocess.run([JATIGI, "--lang", "fr", "audit", "verify"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "3" in bad.stderr + bad.stdout
