"""The scoring runs API as an integration uses it: score, read the counts and scores, simulate a
budget (alone or beside a second model), the fairness report, one household's explanation; and
what it refuses: 403 without the permission, 404 for what does not exist or is not theirs, 422
with the field and the reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.targeting.tables import Run
from jatigi.web.app import create_app
from tests import factories as f
from tests.integration.test_targeting_scoring import POOR, WELL, _assess
from tests.web import count_rows


@dataclass
class World:
    tokens: dict[str, str]
    idp_poor: str
    host_poor: str
    idp_well: str
    unassessed: str
    other_org: str


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


@pytest.fixture
def world(engine: sa.Engine) -> World:
    from datetime import date

    from jatigi.registry.records import PersonRecord

    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "iris", "ONGA", "im_officer")
        f.user(s, "rose", "ONGA", "registration_officer")
        f.user(s, "vera", "ONGA", "viewer")
        f.user(s, "bob", "ONGB", "im_officer")
        f.user(s, "ada", "ONGB", "admin")
        iris = f.actor(s, "iris")
        man = [PersonRecord(1, "Seydou", "Kanté", "m", "head", date(1960, 1, 1))]
        w = World(tokens={name: f.token(s, name) for name in ("iris", "rose", "vera", "bob", "ada")},
                  idp_poor=f.household(s, iris),
                  host_poor=f.household(s, iris, population_group="host", origin_pcode=None, movements=[],
                                        intention=None),
                  idp_well=f.household(s, iris, members=man), unassessed=f.household(s, iris, members=man),
                  other_org=f.household(s, f.actor(s, "bob")))
        for code, answers in ((w.idp_poor, POOR), (w.host_poor, POOR), (w.idp_well, WELL), (w.other_org, POOR)):
            _assess(s, code, answers)
    return w


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _score(client: TestClient, token: str, **body: object) -> dict[str, Any]:
    resp = client.post("/api/v1/targeting/runs", json={"model": "food_security", **body}, headers=_auth(token))
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_score_then_read_the_run_and_its_scores(client: TestClient, world: World, engine: sa.Engine) -> None:
    run = _score(client, world.tokens["iris"])
    assert run["model"] == "food_security" and run["model_version"] == 1 and run["run_by"] == "iris"
    assert run["households"] == 4 and run["excluded"] == 1 and run["uses_displacement_status"] is False
    assert {c["name"]: c["households"] for c in run["categories"]}["extreme"] == 2
    assert run["categories"][0]["label"] == "Extreme"
    assert run["params"]["fcs_thresholds"] == [28.0, 42.0]

    listed = client.get("/api/v1/targeting/runs", headers=_auth(world.tokens["rose"])).json()
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get(f"/api/v1/targeting/runs/{run['id']}", headers=_auth(world.tokens["rose"])).json() == run

    page = client.get(f"/api/v1/targeting/runs/{run['id']}/scores?limit=2&offset=0",
                      headers=_auth(world.tokens["rose"])).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    top = {item["household_code"] for item in page["items"]}
    assert top == {world.idp_poor, world.host_poor}  # as poor, the host family ranks with the displaced one
    assert {item["category"] for item in page["items"]} == {"extreme"}
    rest = client.get(f"/api/v1/targeting/runs/{run['id']}/scores?limit=2&offset=2",
                      headers=_auth(world.tokens["rose"])).json()["items"]
    assert [(r["household_code"], r["excluded"], r["exclusion"]) for r in rest][-1] == (
        world.unassessed, True, "not_assessed")
    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action)))
    assert {"targeting.run", "targeting.scores.read"} <= actions


def test_a_budget_reaches_the_first_ranked_and_says_who_is_left_out(client: TestClient, world: World) -> None:
    run = _score(client, world.tokens["iris"])
    resp = client.post(f"/api/v1/targeting/runs/{run['id']}/simulate",
                       json={"budget": 30_000, "transfer_value": 10_000, "months": 3},
                       headers=_auth(world.tokens["rose"]))
    assert resp.status_code == 200, resp.text
    picture = resp.json()
    assert picture["households_paid"] == 1 and picture["cost"] == 30_000
    total = picture["total"]
    assert (total["scored"], total["vulnerable"], total["selected"], total["left_out"]) == (4, 2, 1, 1)
    assert picture["coverage"] == 0.5 and picture["categories"] == ["extreme", "high", "moderate"]
    groups = {g["value"]: g for g in picture["by"]["population_group"]}
    assert groups["host"]["vulnerable"] == 1 and groups["host"]["label"].startswith("Host community")
    assert groups["idp"]["scored"] == 3 and groups["idp"]["vulnerable"] == 1
    assert sum(g["selected"] for g in groups.values()) == 1
    assert {g["label"] for g in picture["by"]["head_sex"]} == {"Female", "Male"}
    assert picture["compare"] is None and picture["overlap"] is None


def test_two_models_side_by_side(client: TestClient, world: World) -> None:
    food = _score(client, world.tokens["iris"])
    protection = _score(client, world.tokens["iris"], model="protection")
    picture = client.post(f"/api/v1/targeting/runs/{food['id']}/simulate",
                          json={"budget": 1_000_000, "transfer_value": 10_000, "months": 3,
                                "compare_run": protection["id"], "by": ["population_group"]},
                          headers=_auth(world.tokens["iris"])).json()
    assert picture["compare"]["model"] == "protection" and list(picture["compare"]["by"]) == ["population_group"]
    both = picture["overlap"]
    assert both["both"] + both["only_a"] == picture["total"]["selected"]
    assert both["both"] + both["only_b"] == picture["compare"]["total"]["selected"]


def test_fairness_report_with_shares_and_drivers(client: TestClient, world: World, engine: sa.Engine) -> None:
    run = _score(client, world.tokens["iris"])
    report = client.get(f"/api/v1/targeting/runs/{run['id']}/fairness?budget=30000&transfer_value=10000&months=3"
                        "&by=population_group", headers=_auth(world.tokens["rose"])).json()
    assert report["total"]["selected"] == 1 and [b["dimension"] for b in report["breakdowns"]] == ["population_group"]
    groups = {g["value"]: g for g in report["breakdowns"][0]["groups"]}
    assert groups["host"]["share_scored"] == 0.25 and groups["host"]["share_vulnerable"] == 0.5
    assert groups["idp"]["share_selected"] == 1.0 and groups["host"]["share_selected"] == 0.0  # the tie: first registered
    assert sum(g["share_assessed"] for g in groups.values()) == pytest.approx(1.0)
    drivers = report["breakdowns"][0]["drivers"]
    assert drivers and drivers[0]["gap"] > 0 and {m["value"] for m in drivers[0]["means"]} == {"idp", "host"}
    without = client.get(f"/api/v1/targeting/runs/{run['id']}/fairness", headers=_auth(world.tokens["rose"])).json()
    assert {g["share_selected"] for b in without["breakdowns"] for g in b["groups"]} == {None}
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "targeting.fairness")) == 2


def test_explain_a_household(client: TestClient, world: World) -> None:
    resp = client.get(f"/api/v1/households/{world.idp_poor}/explain?model=food_security",
                      headers=_auth(world.tokens["rose"]))
    assert resp.status_code == 200, resp.text
    e = resp.json()
    assert e["category"] == "extreme" and e["category_label"] == "Extreme" and e["exclusion"] is None
    lines = {line["criterion"]: line for line in e["criteria"]}
    assert lines["fcs_poor"]["met"] is True and lines["fcs_poor"]["points"] == 15
    assert lines["fcs_poor"]["condition"] == "fcs_category == 'poor'"
    assert sum(line["points"] for line in e["criteria"]) == e["score"]
    assert e["values"]["fcs_category"] == "poor"
    none = client.get(f"/api/v1/households/{world.unassessed}/explain?model=food_security",
                      headers=_auth(world.tokens["rose"])).json()
    assert none["exclusion"] == {"id": "not_assessed", "label": "No food security assessment"}
    assert {line["criterion"]: line["met"] for line in none["criteria"]}["fcs_poor"] is None  # not assessed, not "no"
    run = _score(client, world.tokens["iris"])
    as_run = client.get(f"/api/v1/households/{world.idp_poor}/explain?run={run['id']}",
                        headers=_auth(world.tokens["rose"])).json()
    assert as_run["score"] == e["score"]


def test_what_is_refused(client: TestClient, world: World, engine: sa.Engine) -> None:
    iris, rose, vera, bob = (world.tokens[n] for n in ("iris", "rose", "vera", "bob"))
    # Reading is for those with the permission; scoring for those who may run.
    assert client.get("/api/v1/targeting/runs", headers=_auth(vera)).status_code == 403
    refused = client.post("/api/v1/targeting/runs", json={"model": "food_security"}, headers=_auth(rose))
    assert refused.status_code == 403 and "targeting:run:start" in refused.json()["detail"]
    assert count_rows(engine, Run) == 0

    def problem(resp: object) -> tuple[str, str]:
        assert resp.status_code == 422, resp.text  # type: ignore[attr-defined]
        found = resp.json()["problems"][0]  # type: ignore[attr-defined]
        return found["column"], found["message"]

    assert problem(client.post("/api/v1/targeting/runs", json={"model": "nothing"}, headers=_auth(iris))) == (
        "model", "There is no model called nothing.")
    assert problem(client.post("/api/v1/targeting/runs", json={"model": "food_security", "place": "ML99"},
                               headers=_auth(iris))) == ("place", "No place with the P-code ML99.")
    assert problem(client.post("/api/v1/targeting/runs", json={"model": "food_security", "meb": -5},
                               headers=_auth(iris)))[0] == "meb"
    column, message = problem(client.post("/api/v1/targeting/runs", json={"model": "food_security", "meb": 30000},
                                          headers=_auth(iris)))
    assert column == "meb" and "both the MEB and the survival MEB" in message
    assert count_rows(engine, Run) == 0

    run = _score(client, iris)
    url = f"/api/v1/targeting/runs/{run['id']}"
    # Another organisation's run is not theirs to see.
    assert client.get(url, headers=_auth(bob)).status_code == 404
    assert client.get("/api/v1/targeting/runs/999999", headers=_auth(iris)).status_code == 404
    column, message = problem(client.post(f"{url}/simulate", json={"budget": 20_000, "transfer_value": 10_000,
                                                                   "months": 3}, headers=_auth(iris)))
    assert column == "budget" and "does not pay one transfer" in message
    assert problem(client.post(f"{url}/simulate", json={"budget": -1, "transfer_value": 10_000, "months": 3},
                               headers=_auth(iris)))[0] == "budget"
    column, message = problem(client.post(f"{url}/simulate", json={"budget": 90_000, "transfer_value": 10_000,
                                                                   "months": 3, "categories": ["dire"]},
                                          headers=_auth(iris)))
    assert column == "categories" and "Unknown categories dire" in message
    assert problem(client.post(f"{url}/simulate", json={"budget": 90_000, "transfer_value": 10_000, "months": 3,
                                                        "by": ["clan"]}, headers=_auth(iris)))[0] == "by"
    assert problem(client.post(f"{url}/simulate", json={"budget": 90_000, "transfer_value": 10_000, "months": 3,
                                                        "compare_run": 999}, headers=_auth(iris)))[0] == "compare_run"
    assert problem(client.get(f"{url}/fairness?categories=dire", headers=_auth(iris)))[0] == "categories"
    assert problem(client.get(f"/api/v1/households/{world.idp_poor}/explain", headers=_auth(iris)))[0] == "model"
    assert client.get(f"/api/v1/households/{world.other_org}/explain?model=food_security",
                      headers=_auth(iris)).status_code == 404
    assert client.get(f"/api/v1/households/{world.idp_poor}/explain?model=nothing",
                      headers=_auth(iris)).status_code == 404


def test_ids_and_offsets_too_large_are_refused_not_a_server_error(client: TestClient, world: World) -> None:
    iris = _auth(world.tokens["iris"])
    run = _score(client, world.tokens["iris"])
    url = f"/api/v1/targeting/runs/{run['id']}"
    huge = 2**63
    budget = {"budget": 90_000, "transfer_value": 10_000, "months": 3}
    for resp in (client.get(f"/api/v1/targeting/runs/{huge}", headers=iris),
                 client.get(f"/api/v1/targeting/runs/{2**31}", headers=iris),
                 client.get(f"/api/v1/targeting/runs/{huge}/scores", headers=iris),
                 client.get(f"/api/v1/targeting/runs/{huge}/fairness", headers=iris),
                 client.post(f"/api/v1/targeting/runs/{huge}/simulate", json=budget, headers=iris),
                 client.get(f"{url}/scores?offset={huge}", headers=iris),
                 client.post(f"{url}/simulate", json={**budget, "compare_run": huge}, headers=iris),
                 client.post(f"{url}/simulate", json={**budget, "compare_run": 2**31}, headers=iris),
                 client.get(f"/api/v1/households/{world.idp_poor}/explain?run={huge}", headers=iris),
                 client.get(f"/api/v1/households/{world.idp_poor}/explain?run={2**31}", headers=iris),
                 client.get(f"/api/v1/households/{world.idp_poor}/explain?model=food_security&version={huge}",
                            headers=iris),
                 client.post("/api/v1/targeting/runs", json={"model": "food_security", "version": huge},
                             headers=iris)):
        assert resp.status_code in (404, 422), resp.text
        body = resp.json()
        assert body["detail"] and "Internal" not in body["detail"]
    refused = client.get(f"{url}/scores?offset={huge}", headers=iris).json()
    assert refused["problems"][0]["column"] == "offset" and "at most" in refused["problems"][0]["message"]
    # The largest offset allowed is simply past the end.
    assert client.get(f"{url}/scores?offset={2**63 - 1}", headers=iris).json()["items"] == []


def test_an_admin_reading_another_organisations_run_gets_drivers_of_that_runs_households(
        client: TestClient, world: World) -> None:
    run = _score(client, world.tokens["iris"])
    url = f"/api/v1/targeting/runs/{run['id']}/fairness?by=population_group"
    own = client.get(url, headers=_auth(world.tokens["rose"])).json()
    admin = client.get(url, headers=_auth(world.tokens["ada"]))
    assert admin.status_code == 200, admin.text
    # The administrator sees ONGB's poor displaced household too, but the run did not score it:
    # the averages behind the gap are those of the run's four households, whoever reads the report.
    assert admin.json()["breakdowns"][0]["drivers"] == own["breakdowns"][0]["drivers"]
    assert admin.json()["breakdowns"][0]["groups"] == own["breakdowns"][0]["groups"]
