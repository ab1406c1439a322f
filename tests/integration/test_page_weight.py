"""Page weight on a slow link: what a first visit downloads (HTML, CSS, scripts and the
dashboard's map data), compressed as the server sends it, stays within the budget in
docs/WEB.md."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f
from tests.web import login

# Kilobytes, compressed. The dashboard carries Leaflet and its map data; other pages do not.
BUDGET_KB = {"/": 150, "/households": 60, "/households/new": 60, "/imports": 60, "/login": 40,
             "/targeting/models": 60, "/targeting/models/food_security": 60, "/targeting/models/food_security/edit": 60,
             "/targeting/runs": 60}
_ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "alice", "ONGA")
        alice = f.actor(s, "alice")
        for _ in range(30):
            f.household(s, alice)
    with TestClient(create_app()) as c:
        yield c


def _weight(client: TestClient, path: str) -> int:
    page = client.get(path)
    assert page.status_code == 200, path
    total = len(gzip.compress(page.content))
    for asset in sorted(set(_ASSET.findall(page.text))):
        body = client.get(asset).content
        assert body, asset
        total += len(gzip.compress(body))
    if path == "/":
        total += len(gzip.compress(client.get("/dashboard/map.geojson").content))
        total += len(gzip.compress(client.get("/dashboard/people").content))
    return total


def test_first_visits_stay_within_the_budget(client: TestClient) -> None:
    assert _weight(client, "/login") <= BUDGET_KB["/login"] * 1024
    login(client, "alice")
    for path, budget in BUDGET_KB.items():
        if path == "/login":
            continue
        weight = _weight(client, path)
        assert weight <= budget * 1024, f"{path}: {weight / 1024:.0f} KB over {budget} KB"


def test_the_server_compresses_pages(client: TestClient) -> None:
    login(client, "alice")
    resp = client.get("/households", headers={"Accept-Encoding": "gzip"})
    assert resp.headers.get("content-encoding") == "gzip"
