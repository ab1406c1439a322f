"""The supervisor's access review: the accesses to the cases they supervise and no others,
filters, pages, and the review itself audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core import audit
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import login


@pytest.fixture
def codes(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        team = pf.team(s)
        f.user(s, "root", "PA", role="admin")
        mine = pf.case(s, team.caseworker, team.supervisor)
        other = pf.case(s, team.colleague, team.supervisor)
        elsewhere = pf.case(s, team.outsider, team.outsider_supervisor)
        for _ in range(55):
            audit.record(s, team.caseworker, "protection.case.read", "protection_case", mine.id)
        audit.record(s, team.colleague, "protection.case.update", "protection_case", other.id, {"fields": ["risk"]})
        audit.record(s, team.outsider, "protection.case.read", "protection_case", elsewhere.id)
        return {"mine": mine.code, "other": other.code, "elsewhere": elsewhere.code}


def _rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('<tr data-case="')[1:]]


def test_a_supervisor_sees_who_opened_their_cases(engine: sa.Engine, codes: dict[str, str]) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        login(client, "sup.a")
        page = client.get("/protection/audit")
        assert page.status_code == 200
        assert "56 events" in page.text
        assert codes["elsewhere"] not in page.text
        rows = _rows(page.text)
        assert len(rows) == 50 and rows[0] == codes["other"]  # newest first
        assert "cw2.a" in page.text and "protection.case.update" in page.text and "127.0.0.1" in page.text
        second = client.get("/protection/audit?page=2")
        assert len(_rows(second.text)) == 6 and 'rel="prev"' in second.text
        only = client.get(f"/protection/audit?case={codes['other'].lower()}")
        assert _rows(only.text) == [codes["other"]]
        by_user = client.get("/protection/audit?user=cw.a")
        assert set(_rows(by_user.text)) == {codes["mine"]}
        today = date.today()
        assert len(_rows(client.get(f"/protection/audit?start={today}&end={today}").text)) == 50
        assert _rows(client.get(f"/protection/audit?end={today - timedelta(days=1)}").text) == []
        bad = client.get("/protection/audit?start=31/12/2026&case=nope")
        assert bad.status_code == 422
        assert "Give a date as YYYY-MM-DD" in bad.text and "A case code looks like CAS-7KQ4MX" in bad.text
        assert 'id="f-start-error"' in bad.text
    with session_scope(engine) as s:
        reads = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "protection.access_review.read")))
    assert len(reads) == 6 and {ev.actor for ev in reads} == {"sup.a"}  # a refused filter reads nothing
    assert reads[2].detail == {"case": codes["other"].lower(), "offset": 0}


def test_another_supervisor_sees_none_of_them(engine: sa.Engine, codes: dict[str, str]) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        login(client, "sup.b")
        page = client.get("/protection/audit")
        assert _rows(page.text) == [codes["elsewhere"]]
        assert _rows(client.get(f"/protection/audit?case={codes['mine']}").text) == []


@pytest.mark.parametrize("username", ["cw.a", "root"])
def test_caseworkers_and_administrators_may_not_review(engine: sa.Engine, codes: dict[str, str],
                                                       username: str) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        login(client, username)
        assert client.get("/protection/audit").status_code == 403


def test_the_review_in_json(engine: sa.Engine, codes: dict[str, str]) -> None:
    with session_scope(engine) as s:
        sup, cw = f.token(s, "sup.a"), f.token(s, "cw.a")
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        got = client.get("/api/v1/protection/audit", params={"case": codes["other"], "limit": 5},
                         headers={"Authorization": f"Bearer {sup}"})
        assert got.status_code == 200
        body = got.json()
        assert body["total"] == 1 and body["accesses"][0]["case"] == codes["other"]
        assert body["accesses"][0]["user"] == "cw2.a" and body["accesses"][0]["action"] == "protection.case.update"
        bad = client.get("/api/v1/protection/audit", params={"start": "hier"}, headers={"Authorization": f"Bearer {sup}"})
        assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "start"
        assert client.get("/api/v1/protection/audit", headers={"Authorization": f"Bearer {cw}"}).status_code == 403
