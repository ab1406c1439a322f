"""Household assessments through the JSON API, as a field office's script sends them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.targeting.tables import Assessment
from jatigi.web.app import create_app
from tests import factories as f

FCS = {"FCSStap": 7, "FCSPulse": 3, "FCSDairy": 1, "FCSPr": 2, "FCSVeg": 5, "FCSFruit": 1, "FCSFat": 7,
       "FCSSugar": 7, "FCSCond": 7}


@dataclass
class World:
    code: str
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA", "registration_officer")
        f.user(s, "bob", "ONGB")
        code = f.household(s, f.actor(s, "alice"))
        tokens = {name: f.token(s, name) for name in ("alice", "bob")}
    return World(code, tokens)


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_record_list_and_delete_an_assessment(world: World, client: TestClient, engine: sa.Engine) -> None:
    url = f"/api/v1/households/{world.code}/assessments"
    made = client.post(url, json={"assessed_on": "2024-06-03", "enumerator": "Awa", **FCS,
                                  "HHSNoFood": True, "HHSNoFood_FR": 1, "HHSBedHung": False, "HHSNotEat": False},
                       headers=world.auth("alice"))
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1

    listed = client.get(url, headers=world.auth("alice"))
    assert listed.status_code == 200
    [a] = listed.json()
    assert (a["assessed_on"], a["source"], a["enumerator"]) == ("2024-06-03", "api", "Awa")
    assert (a["indicators"]["fcs"], a["indicators"]["fcs_category"], a["indicators"]["hhs_phase"]) == (
        48, "acceptable", 2)
    assert a["indicators"]["rcsi"] is None and a["answers"]["rCSIBorrow"] is None  # not assessed, not 0
    assert a["household_size_from_registry"] is True

    gone = client.delete(f"{url}/{a['id']}", headers=world.auth("alice") | {"If-Match": '"1"'})
    assert gone.status_code == 200, gone.text
    assert client.get(url, headers=world.auth("alice")).json() == []
    assert client.delete(f"{url}/{a['id']}", headers=world.auth("alice")).status_code == 404
    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == world.code)))
    assert {"assessment.create", "assessment.read", "assessment.delete"} <= actions


def test_bad_values_answer_422_with_each_problem_and_write_nothing(world: World, client: TestClient,
                                                                   engine: sa.Engine) -> None:
    resp = client.post(f"/api/v1/households/{world.code}/assessments",
                       json={"assessed_on": "demain", **FCS, "FCSStap": 8, "HHExp_Food_Purch_MN_1M": -1,
                             "rCSIBorrow": 2, "Colour": "blue"},
                       headers=world.auth("alice"))
    assert resp.status_code == 422
    body = resp.json()
    problems = {p["column"]: (p["value"], p["message"]) for p in body["problems"]}
    assert problems["FCSStap"] == ("8", "Not accepted; accepted: a whole number of days from 0 to 7.")
    assert problems["assessed_on"] == ("demain", "Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")
    assert problems["Colour"][1].startswith("Unknown field")
    assert problems["rCSIMealNb"][1].startswith("Missing: other answers")
    assert "HHExp_Food_Purch_MN_1M" in problems
    assert body["detail"] == f"The assessment was not recorded: {body['problem_count']} problems."
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Assessment)) == 0


def test_another_organisation_gets_404_then_403_with_an_agreement(world: World, client: TestClient,
                                                                   engine: sa.Engine) -> None:
    url = f"/api/v1/households/{world.code}/assessments"
    body = {"assessed_on": "2024-06-03", **FCS}
    assert client.post(url, json=body, headers=world.auth("bob")).status_code == 404
    assert client.get(url, headers=world.auth("bob")).status_code == 404
    with session_scope(engine) as s:
        accounts.create_agreement(session=s, actor=SYSTEM, provider="ONGA", recipient="ONGB",
                                  purpose="Cash for rent", signed_on=date(2024, 1, 1))
    refused = client.post(url, json=body, headers=world.auth("bob"))
    assert refused.status_code == 403
    assert "Only the organisation that registered" in refused.json()["detail"]
    assert client.get(url, headers=world.auth("bob")).json() == []  # shared: bob may read


def test_an_assessment_id_too_large_is_refused_not_a_server_error(world: World, client: TestClient) -> None:
    url = f"/api/v1/households/{world.code}/assessments"
    for huge in (2**63, 10**30):
        resp = client.delete(f"{url}/{huge}", headers=world.auth("alice"))
        assert resp.status_code == 422, resp.text
        assert resp.json()["problems"][0]["column"] == "assessment_id"
    assert client.delete(f"{url}/{2**63 - 1}", headers=world.auth("alice")).status_code == 404
