"""The service directory over HTTP: a supervisor adds, changes, deactivates and imports services in
the pages; a caseworker lists them by area; the API does the same; bad input is named beside its
field (or by row and column) and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
from jatigi.protection.models import Service
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import browsers, count_rows

FORM = {"name": "CSCOM de Commune IV", "service_type": "medical", "organisation": "PA", "provider_name": "",
        "area_pcode": f.BAMAKO_COMMUNE_IV, "address": "Lafiabougou", "phone": "+223 20 22 33 44", "email": "",
        "opening_hours": "24h/24", "notes": "Personnel féminin"}


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "viewer.a", "PA", role="viewer")
        return {name: f.token(s, name) for name in ("sup.a", "cw.a", "viewer.a", "sup.b")}


@pytest.fixture
def api() -> Iterator[TestClient]:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        yield client


def test_pages_add_change_deactivate_import(tokens: dict[str, str], engine: sa.Engine, system_tmp: object) -> None:
    with browsers("/protection/services") as open_as:
        sup, csrf = open_as("sup.a")
        page = sup.get("/protection/services")
        assert page.status_code == 200 and "No service matches." in page.text
        assert 'href="/protection/services/new"' in page.text

        bad = sup.post("/protection/services/new", data={**FORM, "csrf_token": csrf, "service_type": "food",
                                                         "organisation": "", "email": "x"})
        assert bad.status_code == 422
        assert 'id="f-service_type-error">Unknown type of service; accepted: medical' in bad.text
        assert 'id="f-provider_name-error">Give the provider&#39;s name, or choose its organisation.' in bad.text
        assert 'id="f-email-error">Not an email address' in bad.text
        assert 'value="CSCOM de Commune IV"' in bad.text
        assert sup.post("/protection/services/new", data={**FORM, "csrf_token": ""}).status_code == 403
        assert count_rows(engine, Service) == 0

        done = sup.post("/protection/services/new", data={**FORM, "csrf_token": csrf})
        assert done.status_code == 200 and "The service was added to the directory." in done.text
        assert "CSCOM de Commune IV" in done.text and "receives referrals in Jatigi" in done.text
        with session_scope(engine) as s:
            sid = s.scalar(sa.select(Service.id))
        edit = sup.get(f"/protection/services/{sid}/edit")
        assert 'value="Lafiabougou"' in edit.text and '<option value="PA" selected>' in edit.text
        changed = sup.post(f"/protection/services/{sid}/edit", data={**FORM, "csrf_token": csrf,
                                                                    "opening_hours": "Lun-Sam 8h-18h"})
        assert "The service was saved." in changed.text and "Lun-Sam 8h-18h" in changed.text
        other, other_csrf = open_as("sup.b")  # PA's service: PB may not change it
        assert other.get(f"/protection/services/{sid}/edit").status_code == 403
        refused_off = other.post(f"/protection/services/{sid}/active", data={"csrf_token": other_csrf, "active": "0"})
        assert refused_off.status_code == 403 and "only the people of PA (or an administrator)" in refused_off.text
        assert "Changed by its organisation" in other.get("/protection/services").text
        off = sup.post(f"/protection/services/{sid}/active", data={"csrf_token": csrf, "active": "0"})
        assert "no new referral can be sent to it" in off.text and "Deactivated" in off.text

        bad_file = "name,service_type,provider_name,area_pcode\nAbri,shelter,APDF,ML090104\n"
        refused = sup.post("/protection/services/import", data={"csrf_token": csrf},
                           files={"file": ("abris.csv", bad_file.encode(), "text/csv")})
        assert refused.status_code == 422 and "abris.csv: 1 problems; nothing was imported." in refused.text
        assert "<td class=\"num\">2</td><td>service_type</td><td class=\"value\">shelter</td>" in refused.text
        good = "name,service_type,provider_name,area_pcode\nAbri,safe_shelter,APDF,ML09\n"
        imported = sup.post("/protection/services/import", data={"csrf_token": csrf},
                            files={"file": ("abris.csv", good.encode(), "text/csv")})
        assert "1 services added, 0 updated." in imported.text

        cw, _csrf = open_as("cw.a")
        listed = cw.get("/protection/services", params={"area": f.BAMAKO_COMMUNE_IV})
        assert "Abri" in listed.text and "CSCOM de Commune IV" not in listed.text  # deactivated
        assert 'href="/protection/services/new"' not in listed.text
        assert cw.get("/protection/services/new").status_code == 403
        assert cw.get("/protection/services", params={"area": "ML999"}).status_code == 422
        exported = cw.get("/protection/services/export.csv", params={"inactive": "1"})
        assert exported.text.splitlines()[0].startswith("name,service_type,organisation")
        assert "CSCOM de Commune IV" in exported.text


def test_api_add_list_change_import(tokens: dict[str, str], api: TestClient) -> None:
    sup = {"Authorization": f"Bearer {tokens['sup.a']}"}
    viewer = {"Authorization": f"Bearer {tokens['viewer.a']}"}
    body = {k: v for k, v in FORM.items() if v}
    made = api.post("/api/v1/protection/services", json=body, headers=sup)
    assert made.status_code == 201 and made.json()["organisation"] == "PA"
    sid = made.json()["id"]
    other = api.put(f"/api/v1/protection/services/{sid}", json={**body, "active": False},
                    headers={"Authorization": f"Bearer {tokens['sup.b']}"})
    assert other.status_code == 403 and "only the people of PA (or an administrator)" in other.json()["detail"]
    assert api.post("/api/v1/protection/services", json=body, headers=viewer).status_code == 403
    bad = api.post("/api/v1/protection/services", json={**body, "area_pcode": "XX"}, headers=sup)
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "area_pcode"

    listed = api.get("/api/v1/protection/services", params={"area": f.BAMAKO_COMMUNE_IV}, headers=viewer).json()
    assert listed["total"] == 1 and listed["items"][0]["area_name"] == "Commune IV"
    assert api.get("/api/v1/protection/services", params={"area": f.MOPTI_COMMUNE}, headers=viewer).json()["total"] == 0
    off = api.put(f"/api/v1/protection/services/{sid}", json={**body, "active": False}, headers=sup)
    assert off.status_code == 200 and off.json()["active"] is False
    assert api.get("/api/v1/protection/services", headers=viewer).json()["total"] == 0
    assert api.get("/api/v1/protection/services/999999", headers=viewer).status_code == 404

    bad_file = b"name,service_type,provider_name,area_pcode\nAbri,safe_shelter,,ML09\n"
    refused = api.post("/api/v1/protection/services/import", headers=sup,
                       files={"file": ("abris.csv", bad_file, "text/csv")})
    assert refused.status_code == 422
    assert refused.json()["problems"][0] | {"message": ""} == {"sheet": "abris.csv", "row": 2, "column": "provider_name",
                                                               "value": "", "message": "", "kind": ""}
    ok = api.post("/api/v1/protection/services/import", headers=sup,
                  files={"file": ("abris.csv", bad_file.replace(b",,", b",APDF,"), "text/csv")})
    assert ok.status_code == 200 and ok.json()["added"] == 1
