"""Retention: cases closed, and tracing requests ended, longer ago than the period are anonymised
— data keys destroyed, sealed fields emptied, registry links cut — and their counted facts stay."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import envelope
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope, utcnow
from jatigi.core.errors import Forbidden
from jatigi.protection import case_work, incidents, referrals
from jatigi.protection.models import (
    CaseEntry,
    GbvIncident,
    ProtectionCase,
    Referral,
    TracingRequest,
)
from jatigi.protection.retention import purge_closed_cases
from jatigi.protection.sealing import key_for, open_json, opened_key, seal_json
from tests import protection_factories as pf

JATIGI = str(Path(sys.executable).with_name("jatigi"))
TODAY = date.today()


def _closed(session: Session, case: ProtectionCase, days_ago: int) -> None:
    case.state = "closed"
    case.closure_reason = "goals_met"
    case.closed_on = TODAY - timedelta(days=days_ago)
    session.flush()


def _tracing(session: Session, team: pf.Team, days_ago: int | None) -> TracingRequest:
    row = TracingRequest(code="TR-" + secrets.token_hex(3).upper(), org_id=team.caseworker.org_id,
                         caseworker_id=team.caseworker.user_id, state="open" if days_ago is None else "reunified",
                         relationship="child", created_by=team.caseworker.user_id,
                         closed_at=None if days_ago is None else utcnow() - timedelta(days=days_ago))
    key = key_for(session, row)
    row.sought_sealed = seal_json(key, "sought_sealed", {"name": "Enfant recherché"})
    row.inquirer_sealed = seal_json(key, "inquirer_sealed", {"name": "Mère qui cherche"})
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def made(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        team = pf.team(s)
        old = pf.case(s, team.caseworker, team.supervisor, name="Ancienne Survivante")
        incidents.record_incident(s, team.caseworker, old.code, incidents.NewIncident(
            incident_type="rape", incident_date=TODAY - timedelta(days=500), account="Ce qui s'est passé",
            perpetrator_identity="Un voisin"))
        case_work.add_entry(s, team.caseworker, old.code, "note", "Suivi fait")
        case_work.give_consent(s, team.caseworker, old.code, purpose="referral", organisation="PB")
        referrals.send_referral(s, team.caseworker, old, referrals.NewReferral(
            organisation="PB", service_type="psychosocial", note="Pour le partenaire"))
        _closed(s, old, 400)
        recent = pf.case(s, team.caseworker, team.supervisor, name="Récente Survivante")
        _closed(s, recent, 30)
        still = pf.case(s, team.caseworker, team.supervisor, name="Toujours Suivie")
        _tracing(s, team, 400)
        _tracing(s, team, 30)
        _tracing(s, team, None)
        return {"old": old.code, "recent": recent.code, "open": still.code}


def _case(session: Session, code: str) -> ProtectionCase:
    case = session.scalar(sa.select(ProtectionCase).where(ProtectionCase.code == code))
    assert case is not None
    return case


def test_a_dry_run_counts_and_changes_nothing(engine: sa.Engine, made: dict[str, str]) -> None:
    with session_scope(engine) as s:
        keys = s.scalar(sa.select(sa.func.count()).select_from(envelope.DataKey))
        done = purge_closed_cases(s, SYSTEM, 365, dry_run=True)
        assert (done.cases, done.referrals, done.tracing_requests) == (1, 1, 1)
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(envelope.DataKey)) == keys
        assert _case(s, made["old"]).anonymised_at is None


def test_old_closed_cases_are_anonymised_and_their_facts_stay(engine: sa.Engine, made: dict[str, str]) -> None:
    with session_scope(engine) as s:
        old = _case(s, made["old"])
        doomed_keys = {old.data_key_id, *s.scalars(sa.select(Referral.data_key_id).where(Referral.case_id == old.id))}
        done = purge_closed_cases(s, SYSTEM)  # the default period: 365 days
        assert (done.cases, done.referrals, done.tracing_requests, done.older_than_days) == (1, 1, 1, 365)
    with session_scope(engine) as s:
        old = _case(s, made["old"])
        assert old.anonymised_at is not None and old.data_key_id is None
        assert (old.person_sealed, old.contact_sealed, old.summary_sealed) == (None, None, None)
        assert (old.case_type, old.sex, old.age_group, old.state, old.closure_reason) == (
            "gbv", "f", "18-59", "closed", "goals_met")
        assert opened_key(s, old) is None
        assert not set(s.scalars(sa.select(envelope.DataKey.id).where(envelope.DataKey.id.in_(doomed_keys))))
        incident = s.scalar(sa.select(GbvIncident).where(GbvIncident.case_id == old.id))
        assert incident is not None and incident.incident_type == "rape"
        assert (incident.account_sealed, incident.perpetrator_sealed) == (None, None)
        assert set(s.scalars(sa.select(CaseEntry.text_sealed).where(CaseEntry.case_id == old.id))) == {None}
        referral = s.scalar(sa.select(Referral).where(Referral.case_id == old.id))
        assert referral is not None and referral.shared_sealed is None and referral.service_type == "psychosocial"
        for code, name in ((made["recent"], "Récente Survivante"), (made["open"], "Toujours Suivie")):
            kept = _case(s, code)
            assert kept.anonymised_at is None
            assert open_json(opened_key(s, kept), "person_sealed", kept.person_sealed)["name"] == name
        requests = {r.closed_at is not None and r.closed_at < utcnow() - timedelta(days=365): r
                    for r in s.scalars(sa.select(TracingRequest))}
        assert requests[True].sought_sealed is None and requests[True].data_key_id is None
        assert all(r.sought_sealed for r in s.scalars(sa.select(TracingRequest)) if r is not requests[True])
        events = {ev.action: ev for ev in s.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("protection.%")))}
        assert events["protection.retention.run"].detail == {"cases": 1, "referrals": 1, "tracing_requests": 1,
                                                              "older_than_days": 365}
        assert events["protection.case.anonymise"].entity_id == str(old.id)
    with session_scope(engine) as s:
        again = purge_closed_cases(s, SYSTEM)
        assert (again.cases, again.tracing_requests) == (0, 0)


def test_only_who_may_purge_runs_it(engine: sa.Engine, made: dict[str, str]) -> None:
    with session_scope(engine) as s, pytest.raises(Forbidden):
        purge_closed_cases(s, pf.f.actor(s, "sup.a"))


def test_the_command_line(engine: sa.Engine, made: dict[str, str]) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "JATIGI_PROTECTION_RETENTION_DAYS": "20"}
    env.pop("JATIGI_USER", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([JATIGI, "--lang", "en", "protection", "retention", "run", *args], capture_output=True,
                              text=True, env=env, timeout=60)

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Would anonymise 2 cases (with 1 referrals) and 2 tracing requests closed more than 20 days ago" in dry.stdout
    done = run("--days", "365")
    assert "Anonymised 1 cases (with 1 referrals) and 1 tracing requests closed more than 365 days ago" in done.stdout
    with session_scope(engine) as s:
        assert _case(s, made["old"]).anonymised_at is not None and _case(s, made["recent"]).anonymised_at is None
