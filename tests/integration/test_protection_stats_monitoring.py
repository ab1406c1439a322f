"""Protection monitoring over HTTP: a caseworker records reports (form, API, file), sees her
organisation's reports with their descriptions; other organisations and information managers see
only the pooled analysis; a viewer is refused; bad input is refused beside the field, writing nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.protection.models import MonitoringReport
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import browsers, count_rows

MONTH = date.today().replace(day=1).strftime("%Y-%m")
SECRET = "Vu au marché de Médine"


@pytest.fixture
def tokens(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "im", "PA", role="im_officer")
        f.user(s, "view", "PA", role="viewer")
        return {name: f.token(s, name) for name in ("cw.a", "cw.b", "im", "view")}


@pytest.fixture
def open_as(tokens: dict[str, str]) -> Iterator[object]:
    with browsers("/protection/monitoring") as opener:
        yield opener


def _form(csrf: str, **overrides: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "reported_on": date.today().isoformat(), "incident_month": MONTH,
            "area": f.BAMAKO_COMMUNE_IV, "incident_type": "early_marriage", "population_group": "idp",
            "people_affected": "3", "women_and_girls": "3", "children": "2", "source": "focus_group",
            "description": SECRET}
    data.update(overrides)
    return data


def test_record_by_form_then_see_own_reports_and_the_pooled_analysis(open_as, engine: sa.Engine) -> None:
    client, csrf = open_as("cw.a")
    form = client.get("/protection/monitoring/new").text
    assert "No names." in form and 'name="incident_type"' in form and "Early marriage" in form

    bad = client.post("/protection/monitoring/new", data=_form(csrf, area="ML99", people_affected="2",
                                                                 women_and_girls="5", incident_type="war"))
    assert bad.status_code == 422
    assert 'id="f-area-error">Unknown P-code' in bad.text
    assert 'id="f-women_and_girls-error">More than the people affected (2).' in bad.text
    assert re.search(r'id="f-incident_type-error">Unknown choice; accepted: gbv_rape', bad.text)
    assert SECRET in bad.text  # what was typed is kept
    assert client.post("/protection/monitoring/new", data={**_form(csrf), "csrf_token": ""}).status_code == 403
    assert count_rows(engine, MonitoringReport) == 0

    done = client.post("/protection/monitoring/new", data=_form(csrf), follow_redirects=False)
    assert done.status_code == 303
    mine = client.get(done.headers["location"]).text
    assert "The report is recorded." in mine and SECRET in mine and "Early marriage" in mine
    with session_scope(engine) as s:
        stored = s.scalar(sa.select(MonitoringReport))
        assert stored is not None and SECRET not in (stored.description_sealed or "")
        assert stored.incident_month.strftime("%Y-%m") == MONTH
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "protection.monitoring.read")) == 1

    analysis = client.get("/protection/monitoring", params={"level": "cercle"}).text
    assert "Reports: 1. People affected: 3, of whom women and girls: 3, children: 2." in analysis
    assert 'data-line="early_marriage"' in analysis and SECRET not in analysis

    # Another organisation's caseworker: the analysis counts the report, her list does not hold it.
    other, _csrf = open_as("cw.b")
    assert "Reports: 1. People affected: 3," in other.get("/protection/monitoring").text
    theirs = other.get("/protection/monitoring/reports").text
    assert SECRET not in theirs and "No report yet." in theirs


def test_import_a_file_all_or_nothing(open_as, tmp_path: Path, engine: sa.Engine, system_tmp: Path) -> None:
    client, csrf = open_as("cw.a")
    header = "reported_on,incident_month,area,incident_type,people_affected,women_and_girls,source,description\n"
    good = f"{date.today()},{MONTH},ML0501,forced_eviction,40,22,key_informant,Expulsions\n"
    bad = f"{date.today()},2999-01,ML0501,forced_eviction,x,,radio,\n"
    refused = client.post("/protection/monitoring/import", data={"csrf_token": csrf},
                          files={"file": ("reports.csv", (header + good + bad).encode(), "text/csv")})
    assert refused.status_code == 422
    assert "Nothing was written: 3 problems in 2 rows." in refused.text
    table = refused.text.split('id="report-problems"', 1)[1]
    assert re.search(r"<td class=\"num\">3</td><td>people_affected</td><td class=\"value\">x</td>", table)
    assert "Unknown choice; accepted: key_informant" in table
    assert count_rows(engine, MonitoringReport) == 0

    ok = client.post("/protection/monitoring/import", data={"csrf_token": csrf},
                     files={"file": ("reports.csv", (header + good + good).encode(), "text/csv")},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert "Reports imported: 2." in client.get(ok.headers["location"]).text
    assert count_rows(engine, MonitoringReport) == 2
    analysis = client.get("/protection/monitoring", params={"area": "ML05"}).text
    assert "Reports: 2. People affected: 80," in analysis and "Forced eviction" in analysis


def test_api_record_list_analysis_and_permissions(tokens: dict[str, str]) -> None:
    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    body = {"incident_month": MONTH, "area": "ML0506", "incident_type": "gbv_rape", "people_affected": 2,
            "source": "hotline", "description": SECRET}
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        made = client.post("/api/v1/protection/monitoring/reports", json=body, headers=auth("cw.a"))
        assert made.status_code == 201, made.text
        assert made.json()["description"] == SECRET
        bad = client.post("/api/v1/protection/monitoring/reports", json={**body, "source": "rumour", "area": "X"},
                          headers=auth("cw.a"))
        assert bad.status_code == 422 and {p["column"] for p in bad.json()["problems"]} == {"source", "area"}
        own = client.get("/api/v1/protection/monitoring/reports", headers=auth("cw.a")).json()
        assert own["total"] == 1 and own["items"][0]["description"] == SECRET
        assert client.get("/api/v1/protection/monitoring/reports", headers=auth("cw.b")).json()["total"] == 0
        # An information manager reads the analysis, may not record nor list reports.
        analysis = client.get("/api/v1/protection/monitoring/analysis", params={"level": "cercle"},
                              headers=auth("im"))
        assert analysis.status_code == 200
        assert analysis.json()["total"]["people_affected"] == 2 and SECRET not in analysis.text
        assert analysis.json()["by_area"][0]["code"] == "ML0506"
        assert client.get("/api/v1/protection/monitoring/reports", headers=auth("im")).status_code == 403
        assert client.post("/api/v1/protection/monitoring/reports", json=body, headers=auth("im")).status_code == 403
        for path in ("/api/v1/protection/monitoring/analysis", "/api/v1/protection/monitoring/reports"):
            assert client.get(path, headers=auth("view")).status_code == 403


def test_an_information_manager_sees_the_analysis_and_a_viewer_nothing(open_as) -> None:
    im, _csrf = open_as("im")
    page = im.get("/protection/monitoring")
    assert page.status_code == 200 and "Record a monitoring report" not in page.text
    assert im.get("/protection/monitoring/reports").status_code == 403
    assert im.get("/protection/monitoring/new").status_code == 403
    viewer, _csrf = open_as("view", "/")
    assert viewer.get("/protection/monitoring").status_code == 403
