"""The case API over HTTP: a caseworker opens and works a case, the supervisor approves its closure;
GBV names only on request (audited); bad input answers 422 field by field; another organisation's
caseworker gets the same 404 for a real code as for a made-up one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.protection.models import ProtectionCase
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import count_rows

BODY: dict[str, Any] = {"case_type": "gbv", "sex": "f", "summary": "Mariage forcé annoncé.", "may_call": "yes",
                        "area_pcode": f.MOPTI_COMMUNE, "given_name": "Fatoumata", "family_name": "Kané", "age": 16,
                        "call_when": "le matin", "risk_level": "critical"}


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        pf.team(s)
        return {name: f.token(s, name) for name in ("cw.a", "cw2.a", "sup.a", "cw.b")}


@pytest.fixture
def client(tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as c:
        yield c


def _as(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def test_case_journey(client: TestClient, tokens: dict[str, str], engine: sa.Engine) -> None:
    cw, sup = _as(tokens, "cw.a"), _as(tokens, "sup.a")
    bad = client.post("/api/v1/protection/cases", json={**BODY, "case_type": "x", "area_pcode": "ML1"}, headers=cw)
    assert bad.status_code == 422
    columns = {p["column"]: p for p in bad.json()["problems"]}
    assert columns["case_type"]["value"] == "x" and "gbv" in columns["case_type"]["message"]
    assert "ML1" in columns["area_pcode"]["message"]
    assert count_rows(engine, ProtectionCase) == 0

    made = client.post("/api/v1/protection/cases", json=BODY, headers=cw)
    assert made.status_code == 201, made.text
    case = made.json()
    code = case["code"]
    assert case["age_group"] == "12-17" and case["person"] is None and case["name_shown"] is False
    assert case["contact"]["may_call"] is True and case["summary"] == BODY["summary"]

    listed = client.get("/api/v1/protection/cases", headers=cw).json()
    assert [i["code"] for i in listed["items"]] == [code] and listed["items"][0]["shown_as"].startswith("SV-")
    assert "Fatoumata" not in str(listed)
    named = client.get(f"/api/v1/protection/cases/{code}?show_name=true", headers=cw).json()
    assert named["person"]["name"] == "Fatoumata Kané"
    searched = client.get("/api/v1/protection/cases?q=Fatoumata", headers=cw)
    assert searched.status_code == 422 and "cannot be searched" in searched.text

    entry = client.post(f"/api/v1/protection/cases/{code}/entries", headers=cw,
                        json={"kind": "plan", "text": "Médiation familiale.", "service_type": "psychosocial",
                              "due_on": "2030-01-01"})
    assert entry.status_code == 200 and entry.json()["entries"][0]["text"] == "Médiation familiale."
    incident = client.post(f"/api/v1/protection/cases/{code}/incident", headers=cw,
                           json={"incident_type": "forced_marriage", "incident_month": "2026-02"})
    assert incident.json()["incidents"][0]["incident_month"] == "2026-02"
    consent = client.post(f"/api/v1/protection/cases/{code}/consents", headers=cw,
                          json={"purpose": "referral", "organisation": "PB", "given_by": "caregiver",
                                "lawful_basis": "best_interest"})
    assert consent.json()["consents"][0]["organisation"] == "PB"
    shared = client.post(f"/api/v1/protection/cases/{code}/shares", headers=sup,
                         json={"colleague": "cw2.a", "reason": "Remplacement"})
    assert shared.json()["shared_with"] == ["Cw2.A"]
    colleague = _as(tokens, "cw2.a")
    read = client.get(f"/api/v1/protection/cases/{code}", headers=colleague)
    assert read.status_code == 200 and read.json()["may_write"] is False
    assert client.post(f"/api/v1/protection/cases/{code}/entries", headers=colleague,
                       json={"kind": "note", "text": "x"}).status_code == 403
    assert client.get(f"/api/v1/protection/cases/{code}?show_name=true", headers=colleague).status_code == 403

    by_supervisor = client.post(f"/api/v1/protection/cases/{code}/closure-request", headers=sup,
                                json={"closure_reason": "goals_met", "confirm_open_items": True})
    assert by_supervisor.status_code == 403 and "Only the caseworker" in by_supervisor.text
    unconfirmed = client.post(f"/api/v1/protection/cases/{code}/closure-request", headers=cw,
                              json={"closure_reason": "goals_met"})
    assert unconfirmed.status_code == 422
    (problem,) = unconfirmed.json()["problems"]
    assert problem["column"] == "confirm_open_items" and "Case plan action to do: Psychosocial support" in problem["message"]
    asked = client.post(f"/api/v1/protection/cases/{code}/closure-request", headers=cw,
                        json={"closure_reason": "goals_met", "confirm_open_items": True})
    assert asked.json()["state"] == "closure_requested"
    assert client.post(f"/api/v1/protection/cases/{code}/closure-approve", headers=cw, json={}).status_code == 403
    back = client.post(f"/api/v1/protection/cases/{code}/closure-reject", headers=sup, json={"reason": ""})
    assert back.status_code == 422 and back.json()["problems"][0]["column"] == "reason"
    closed = client.post(f"/api/v1/protection/cases/{code}/closure-approve", headers=sup, json={})
    assert closed.json()["state"] == "closed"
    reopened = client.post(f"/api/v1/protection/cases/{code}/reopen", headers=cw, json={"reason": "Menaces"})
    assert reopened.json()["state"] == "open" and reopened.json()["history"][-1]["reason"] == "Menaces"
    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_case")))
    assert {"protection.case.read", "protection.case.reveal_name", "protection.case.open",
            "protection.case.closure_approve"} <= actions


def test_outsider_gets_the_same_404(client: TestClient, tokens: dict[str, str], engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        code = pf.case(s, f.actor(s, "cw.a"), f.actor(s, "sup.a")).code
    outsider = _as(tokens, "cw.b")
    real = client.get(f"/api/v1/protection/cases/{code}", headers=outsider)
    fake = client.get("/api/v1/protection/cases/CAS-ZZZZZZ", headers=outsider)
    assert real.status_code == fake.status_code == 404
    assert real.json()["detail"] == f"No case {code} that you may see."
    assert fake.json()["detail"] == "No case CAS-ZZZZZZ that you may see."
    assert client.get("/api/v1/protection/cases", headers=outsider).json()["total"] == 0
    moved = client.post(f"/api/v1/protection/cases/{code}/reopen", headers=outsider, json={"reason": "x"})
    assert moved.status_code == 404
