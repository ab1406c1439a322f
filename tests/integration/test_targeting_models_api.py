"""The models API as an integration uses it: list, read a version, check, save a new version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
from jatigi.targeting import store
from jatigi.targeting.model import shipped_models
from jatigi.targeting.tables import ModelVersion
from jatigi.web.app import create_app
from tests import factories as f
from tests.web import count_rows


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "iris", "ONGA", "im_officer")
        f.user(s, "rose", "ONGA", "registration_officer")
        f.user(s, "vera", "ONGA", "viewer")
        return {name: f.token(s, name) for name in ("iris", "rose", "vera")}


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def _food(version: int = 2, **replace: str) -> str:
    text = store.with_head(shipped_models()["food_security"].read_text(encoding="utf-8"), version=version)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_list_and_read_the_shipped_models(client: TestClient, tokens: dict[str, str]) -> None:
    listed = client.get("/api/v1/targeting/models", headers=_auth(tokens["rose"]))
    assert listed.status_code == 200
    assert {(m["name"], m["version"], m["saved_by"]) for m in listed.json()} == {
        ("economic", 1, None), ("food_security", 1, None), ("protection", 1, None)}
    food = client.get("/api/v1/targeting/models/food_security", headers=_auth(tokens["rose"])).json()
    assert food["title"]["en"] == "Food security (Cadre Harmonisé)" and food["uses_displacement_status"] is False
    assert food["criteria"][1] == {"id": "fcs_poor", "label": {"fr": "Consommation alimentaire pauvre",
                                                               "en": "Poor food consumption"},
                                   "when": "fcs_category == 'poor'", "points": 15.0, "score": None, "cap": None}
    assert food["text"] == shipped_models()["food_security"].read_text(encoding="utf-8")
    assert [c["name"] for c in food["categories"]] == ["extreme", "high", "moderate", "low"]
    missing = client.get("/api/v1/targeting/models/nothing", headers=_auth(tokens["rose"]))
    assert missing.status_code == 404 and "no model called nothing" in missing.json()["detail"]
    assert client.get("/api/v1/targeting/models", headers=_auth(tokens["vera"])).status_code == 403


def test_check_tells_every_problem_with_its_line_and_saves_nothing(client: TestClient, tokens: dict[str, str],
                                                                  engine: sa.Engine) -> None:
    bad = _food(1, **{"points = 15": 'points = "many"', "fcs_category == 'borderline'": "fcs_categry == 1"})
    resp = client.post("/api/v1/targeting/models/check", json={"text": bad}, headers=_auth(tokens["rose"]))
    assert resp.status_code == 200 and resp.json()["ok"] is False
    problems = resp.json()["problems"]
    assert [(p["line"], p["key"]) for p in problems] == [(24, "criteria[2].points"), (29, "criteria[3].when")]
    assert problems[0]["reason"] == "Expected a number." and "fcs_categry" in problems[1]["reason"]
    good = client.post("/api/v1/targeting/models/check", json={"text": _food(1)}, headers=_auth(tokens["rose"]))
    assert good.json()["ok"] is False and "set version = 2" in good.json()["problems"][0]["reason"]
    assert client.post("/api/v1/targeting/models/check", json={"text": _food(2)},
                       headers=_auth(tokens["rose"])).json() == {"ok": True, "problems": []}
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0


def test_save_a_new_version_then_read_either(client: TestClient, tokens: dict[str, str], engine: sa.Engine) -> None:
    text = _food(2, **{"points = 15": "points = 20"})
    saved = client.post("/api/v1/targeting/models", json={"text": text, "note": "Poor consumption weighs more"},
                        headers=_auth(tokens["iris"]))
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert (body["name"], body["version"], body["latest_version"]) == ("food_security", 2, 2)
    assert body["criteria"][1]["points"] == 20.0
    assert [(v["version"], v["saved_by"], v["note"]) for v in body["versions"]] == [
        (2, "iris", "Poor consumption weighs more"), (1, None, None)]
    first = client.get("/api/v1/targeting/models/food_security?version=1", headers=_auth(tokens["rose"])).json()
    assert (first["version"], first["latest_version"], first["criteria"][1]["points"]) == (1, 2, 15.0)

    again = client.post("/api/v1/targeting/models", json={"text": text}, headers=_auth(tokens["iris"]))
    assert again.status_code == 422
    (problem,) = again.json()["problems"]
    assert problem["line"] == 9 and problem["key"] == "model.version" and "set version = 3" in problem["reason"]
    assert count_rows(engine, ModelVersion, ModelVersion.name == "food_security") == 2


def test_a_wrong_text_or_a_reader_saves_nothing(client: TestClient, tokens: dict[str, str],
                                                engine: sa.Engine) -> None:
    wrong = client.post("/api/v1/targeting/models", json={"text": "[model\nid = 1"}, headers=_auth(tokens["iris"]))
    assert wrong.status_code == 422 and wrong.json()["problems"][0]["line"] == 1
    assert "not valid TOML" in wrong.json()["problems"][0]["reason"]
    refused = client.post("/api/v1/targeting/models", json={"text": _food(2)}, headers=_auth(tokens["rose"]))
    assert refused.status_code == 403 and "targeting:model:write" in refused.json()["detail"]
    status = client.post("/api/v1/targeting/models", headers=_auth(tokens["iris"]),
                         json={"text": _food(2, **{"fcs_category == 'poor'": "population_group == 'idp'"})})
    assert status.status_code == 422 and "tells displacement status" in status.json()["problems"][0]["reason"]
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0
