"""The scoring pages over HTTP: score from the form (mistakes beside their fields, nothing
recorded), a run's summary, a simulation with its messages, the target list, the fairness report,
the households table; the household page's vulnerability section and the explain page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.registry.models import Household
from jatigi.targeting.tables import Run
from tests import factories as f
from tests.integration.test_targeting_runs_api import World
from tests.integration.test_targeting_runs_api import world as world  # noqa: F401  (the fixture)
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def open_as(world: World) -> Iterator[Open]:
    with browsers("/targeting/runs") as opener:
        yield opener


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}-error">([^<]*)<', html)
    assert found, f"no message beside {name}"
    return found.group(1)


def _score(client: TestClient, csrf: str, **fields: str) -> int:
    done = client.post("/targeting/runs", data={"csrf_token": csrf, "model": "food_security", **fields},
                       follow_redirects=False)
    assert done.status_code == 303, done.text[:2000]
    return int(done.headers["location"].rsplit("/", 1)[1])


def test_score_from_the_form_with_mistakes_beside_their_fields(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as("iris")
    page = client.get("/targeting/runs").text
    assert "Score households" in page and "No scoring run yet." in page
    assert '<option value="food_security" selected>' in page and 'value="protection"' in page

    half = client.post("/targeting/runs", data={"csrf_token": csrf, "model": "food_security", "meb": "30000"})
    assert half.status_code == 422 and "Give both the MEB and the survival MEB" in _field_error(half.text, "meb")
    bad = client.post("/targeting/runs", data={"csrf_token": csrf, "model": "food_security", "place": "ML99",
                                               "meb": "-3", "smeb": "many"})
    assert bad.status_code == 422
    assert _field_error(bad.text, "place") == "No place with the P-code ML99."
    assert _field_error(bad.text, "meb") == "Must be at least 1."
    assert _field_error(bad.text, "smeb") == "Not a valid integer."
    assert 'value="ML99"' in bad.text  # the input is kept
    assert client.post("/targeting/runs", data={"model": "food_security"}).status_code == 403  # no CSRF token
    assert count_rows(engine, Run) == 0

    run_id = _score(client, csrf, meb="30 000", smeb="20000")
    run = client.get(f"/targeting/runs/{run_id}").text
    assert f"Run {run_id}: Food security (Cadre Harmonisé), version 1" in run
    assert "Status-neutral: this model does not use displacement status." in run
    assert re.search(r"<th scope=\"row\">Extreme</th><td class=\"num\">2</td>", run)
    assert "30,000\u00a0FCFA" in run  # the MEB the run used
    listed = client.get("/targeting/runs").text
    assert f'href="/targeting/runs/{run_id}"' in listed and "iris" in listed and "Not used" in listed


def test_a_registration_officer_reads_runs_but_may_not_score(open_as: Open, world: World) -> None:
    iris, csrf = open_as("iris")
    run_id = _score(iris, csrf)
    rose, rose_csrf = open_as("rose")
    page = rose.get("/targeting/runs").text
    assert "Score households" not in page and f'href="/targeting/runs/{run_id}"' in page
    assert rose.post("/targeting/runs", data={"csrf_token": rose_csrf, "model": "food_security"}).status_code == 403
    bob, _ = open_as("bob")
    assert bob.get(f"/targeting/runs/{run_id}").status_code == 404  # another organisation's run
    vera, _ = open_as("vera", next_url="/")
    assert vera.get(f"/targeting/runs/{run_id}").status_code == 403


def test_simulate_a_budget_then_download_the_target_list(open_as: Open, world: World, engine: sa.Engine) -> None:
    client, csrf = open_as("iris")
    run_id = _score(client, csrf)
    url = f"/targeting/runs/{run_id}"

    small = client.get(url, params={"budget": "20000", "transfer_value": "10000", "months": "3"})
    assert small.status_code == 422
    assert _field_error(small.text, "budget").startswith("A budget of 20000 FCFA does not pay one transfer")
    negative = client.get(url, params={"budget": "30000", "transfer_value": "-1", "months": "0"})
    assert _field_error(negative.text, "transfer_value") == "Must be at least 1."
    assert _field_error(negative.text, "months") == "Must be at least 1."
    unknown = client.get(url, params={"budget": "30000", "transfer_value": "10000", "months": "3",
                                      "categories": ["dire"]})
    assert "Unknown categories dire" in _field_error(unknown.text, "categories")
    assert 'id="simulation"' not in unknown.text

    sim = client.get(url, params={"budget": "30 000", "transfer_value": "10000", "months": "3"})
    assert sim.status_code == 200
    figures = dict(re.findall(r'data-figure="([\w-]+)">([^<]*)<', sim.text))
    assert figures["selected"] == "1" and figures["vulnerable"] == "2" and figures["left-out"] == "1"
    assert figures["coverage"] == "50\u00a0%" and figures["cost"].startswith("30,000\u00a0FCFA")
    assert "<caption>Population group</caption>" in sim.text and "<caption>Sex of the head of household</caption>" \
        in sim.text and "<caption>Region</caption>" in sim.text
    assert "Host community" in sim.text and "Bamako" in sim.text  # groups and regions by name

    link = re.search(r'href="(/targeting/runs/\d+/targets\.csv\?[^"]+)"', sim.text).group(1)  # type: ignore[union-attr]
    resp = client.get(link.replace("&amp;", "&"))
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["household_code"] for r in rows] == [world.idp_poor]
    assert rows[0]["rank"] == "1" and rows[0]["category"] == "extreme" and rows[0]["model"] == "food_security"
    assert "name" not in ",".join(rows[0]) and "phone" not in ",".join(rows[0])  # codes only
    with session_scope(engine) as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "targeting.target_list")).one()
        assert event.detail["rows"] == 1 and event.detail["budget"] == 30000
    assert client.get(f"{url}/targets.csv?budget=1&transfer_value=10000&months=3").status_code == 422


def test_compare_fairness_and_the_households_table(open_as: Open, world: World) -> None:
    client, csrf = open_as("iris")
    food = _score(client, csrf)
    protection = _score(client, csrf, model="protection")
    page = client.get(f"/targeting/runs/{food}", params={"budget": "1000000", "transfer_value": "10000",
                                                         "months": "3", "compare": str(protection), "fairness": "1"})
    assert page.status_code == 200, page.text[:3000]
    assert "Selected by both models:" in page.text and "only by protection" in page.text
    assert 'id="fairness-population_group"' in page.text and "Share of the vulnerable" in page.text
    assert "Criteria behind the gap: average points per group" in page.text
    # The households, highest score first, each with a link to its page and to why it scored so.
    assert f'<a href="/households/{world.idp_poor}">' in page.text
    assert f'href="/targeting/explain/{world.idp_poor}?run={food}"' in page.text
    assert "No food security assessment" in page.text  # the unassessed household's exclusion
    assert client.get("/targeting/runs/nothing").status_code == 404


def test_the_household_page_shows_the_score_and_the_explain_page_why(open_as: Open, world: World) -> None:
    client, csrf = open_as("iris")
    assert "No scoring run includes this household yet." in client.get(f"/households/{world.idp_poor}").text
    run_id = _score(client, csrf)
    page = client.get(f"/households/{world.idp_poor}").text
    assert 'id="vulnerability-title">Vulnerability<' in page
    assert "Food security (Cadre Harmonisé)" in page and "Extreme" in page
    why = re.search(rf'href="(/targeting/explain/{world.idp_poor}\?run={run_id})"', page)
    assert why
    explained = client.get(why.group(1)).text
    assert f"Why this score: household {world.idp_poor}" in explained
    assert "Poor food consumption" in explained and "fcs_category == &#39;poor&#39;" in explained
    assert re.search(r'data-figure="category">Extreme<', explained)
    assert "<caption>Values read</caption>" in explained
    by_model = client.get(f"/targeting/explain/{world.unassessed}?model=economic")
    assert by_model.status_code == 200 and "Economic" in by_model.text
    assert "not assessed" in client.get(f"/targeting/explain/{world.unassessed}?model=food_security").text
    assert client.get(f"/targeting/explain/{world.other_org}?model=food_security").status_code == 404

    viewer, _ = open_as("vera", next_url="/")
    assert 'id="vulnerability-title"' not in viewer.get(f"/households/{world.idp_poor}").text


def test_a_score_is_marked_stale_once_the_households_assessment_changes(open_as: Open, world: World,
                                                                        engine: sa.Engine) -> None:
    client, csrf = open_as("iris")
    _score(client, csrf)
    assert "(the household changed since)" not in client.get(f"/households/{world.idp_poor}").text
    with session_scope(engine) as s:  # the food consumption answers corrected after the run
        from jatigi.targeting import assessments as svc
        from jatigi.targeting.tables import Assessment

        hh_id = s.scalar(sa.select(Household.id).where(Household.code == world.idp_poor))
        a = s.scalars(sa.select(Assessment).where(Assessment.household_id == hh_id)).one()
        answers = {**a.answers(), "FCSPulse": 6}
        svc.correct_assessment(session=s, actor=f.actor(s, "iris"), code=world.idp_poor, assessment_id=a.id,
                               answers={k: v for k, v in answers.items() if v is not None},
                               assessed_on=a.assessed_on.isoformat(), expected_version=a.version)
    assert "(the household changed since)" in client.get(f"/households/{world.idp_poor}").text


def test_pages_in_french_by_default(world: World, engine: sa.Engine) -> None:
    from jatigi.web.app import create_app
    from tests.web import login

    with session_scope(engine) as s:
        f.user(s, "ines", "ONGA", "im_officer", language="fr")
    with TestClient(create_app()) as client:
        csrf = login(client, "ines", next_url="/targeting/runs")
        page = client.get("/targeting/runs").text
        assert "<h1>Exécutions de notation</h1>" in page and "Noter les ménages" in page
        run_id = _score(client, csrf)
        sim = client.get(f"/targeting/runs/{run_id}", params={"budget": "30000", "transfer_value": "10000",
                                                              "months": "3"}).text
        figures = dict(re.findall(r'data-figure="([\w-]+)">([^<]*)<', sim))
        assert "<dt>Couverture</dt>" in sim and figures["coverage"] == "50\u00a0%"
        assert figures["cost"] == "30\u202f000\u00a0FCFA / 30\u202f000\u00a0FCFA"
        assert "Télécharger la liste des bénéficiaires (CSV)" in sim
