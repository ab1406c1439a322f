"""The complaints API over HTTP: record, list with counts, read (audited), move; a sensitive
complaint is the focal point's alone — not listed, not counted, "not found" for anybody else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import Complaint
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f
from tests.unit.assistance import feedback_data as fd
from tests.web import count_rows


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        fd.people(s)
        fd.programme(s)
        return {name: f.token(s, name) for name in ("carla", "pat", "bert", "ivan")}


@pytest.fixture
def client(tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as c:
        yield c


def _as(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


BODY: dict[str, Any] = {"channel": "sms", "category": "wrong_amount", "priority": "low", "received_on": "2024-07-01",
                        "description": "On m'a donné 25 000 au lieu de 30 000.", "name": "Oumar",
                        "programme": "PRG-0001"}


def test_record_list_read_and_move(client: TestClient, tokens: dict[str, str], engine: sa.Engine) -> None:
    carla = _as(tokens, "carla")
    made = client.post("/api/v1/complaints", json=BODY, headers=carla)
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["confidential"] is False and out["complaint"]["respond_by"] == "2024-07-15"
    code = out["code"]
    assert out["complaint"]["description"] == BODY["description"] and out["complaint"]["name"] == "Oumar"

    listed = client.get("/api/v1/complaints", headers=carla).json()
    assert listed["total"] == 1 and listed["counts"]["by_state"] == {"open": 1}
    assert "description" not in listed["items"][0] and "name" not in listed["items"][0]
    assert listed["items"][0]["overdue"] is True

    moved = client.post(f"/api/v1/complaints/{code}/transition", headers=carla,
                        json={"action": "assign", "assignee": "cindy", "version": 1})
    assert moved.status_code == 200 and moved.json()["state"] == "in_progress"
    stale = client.post(f"/api/v1/complaints/{code}/transition", headers=carla,
                        json={"action": "resolve", "resolution": "Complément payé.", "version": 1})
    assert stale.status_code == 409
    empty = client.post(f"/api/v1/complaints/{code}/transition", headers=carla, json={"action": "resolve"})
    assert empty.status_code == 422 and empty.json()["problems"][0]["column"] == "resolution"
    done = client.post(f"/api/v1/complaints/{code}/transition", headers=carla,
                       json={"action": "resolve", "resolution": "Complément payé."}).json()
    assert done["state"] == "resolved" and done["resolution"] == "Complément payé."
    assert [(t["from_state"], t["to_state"]) for t in done["history"]] == [
        (None, "open"), ("open", "in_progress"), ("in_progress", "resolved")]
    wrong = client.post(f"/api/v1/complaints/{code}/transition", headers=carla, json={"action": "resolve",
                                                                                       "resolution": "x"})
    assert wrong.status_code == 409 and "cannot become resolved" in wrong.json()["detail"]
    with session_scope(engine) as s:
        reads = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                         .where(AuditEvent.action == "assistance.complaint.read"))
    assert reads == 3  # each answer that carried what was said

    refused = client.post("/api/v1/complaints", headers=carla,
                          json={**BODY, "channel": "fax", "payment": "NOPE", "received_on": "2999-01-01"})
    assert refused.status_code == 422
    assert [p["column"] for p in refused.json()["problems"]] == ["channel", "received_on", "payment"]
    assert count_rows(engine, Complaint) == 1
    assert client.get("/api/v1/complaints", headers=_as(tokens, "ivan")).status_code == 403
    assert client.get(f"/api/v1/complaints/{code}", headers=_as(tokens, "bert")).status_code == 404


def test_a_sensitive_complaint_is_the_focal_points_alone(client: TestClient, tokens: dict[str, str]) -> None:
    carla, pat = _as(tokens, "carla"), _as(tokens, "pat")
    client.post("/api/v1/complaints", json=BODY, headers=carla)
    made = client.post("/api/v1/complaints", headers=carla,
                       json={**BODY, "category": "staff_misconduct", "description": "Le distributeur insulte."})
    out = made.json()
    assert made.status_code == 201 and out["confidential"] is True and out["complaint"] is None
    assert "went confidentially to the protection focal point" in out["message"]
    code = out["code"]
    marked = client.post("/api/v1/complaints", headers=carla, json={**BODY, "sensitive": True}).json()
    assert marked["confidential"] is True

    listed = client.get("/api/v1/complaints", headers=carla).json()
    assert listed["total"] == 1 and listed["counts"]["total"] == 1
    assert listed["counts"]["by_category"] == {"wrong_amount": 1}
    assert client.get("/api/v1/complaints", params={"q": code}, headers=carla).json()["total"] == 0
    assert client.get("/api/v1/complaints", params={"category": "staff_misconduct"},
                      headers=carla).json()["items"] == []
    for hidden in (code, marked["code"]):
        missing = client.get(f"/api/v1/complaints/{hidden}", headers=carla)
        assert missing.status_code == 404 and missing.json()["detail"] == f"No complaint {hidden} that you may see."
        assert client.post(f"/api/v1/complaints/{hidden}/transition", headers=carla,
                           json={"action": "close"}).status_code == 404

    seen = client.get("/api/v1/complaints", headers=pat).json()
    assert seen["total"] == 3 and seen["counts"]["by_category"] == {"wrong_amount": 2, "staff_misconduct": 1}
    detail = client.get(f"/api/v1/complaints/{code}", headers=pat).json()
    assert detail["sensitive"] is True and detail["description"] == "Le distributeur insulte."
    refused = client.post(f"/api/v1/complaints/{code}/transition", headers=pat,
                          json={"action": "assign", "assignee": "carla"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["column"] == "assignee"
    taken = client.post(f"/api/v1/complaints/{code}/transition", headers=pat,
                        json={"action": "assign", "assignee": "pat"})
    assert taken.json()["assignee"] == "pat"
