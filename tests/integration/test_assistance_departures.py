"""Recording that a household has left or that a member has died, from the household's pages and
the API, as field staff do; the next cycle of a programme then holds the household with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance import cycles, enrolment
from jatigi.core.db import session_scope
from jatigi.registry.models import Household, Person
from jatigi.web.app import create_app
from tests import factories as f
from tests.integration.test_registry_pages import Browser, assert_problem_beside, filled, tag_with_id
from tests.unit.assistance import programme_data as d


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        d.people(s)
        return {"left": d.household(s, "Awa"), "widowed": f.household(s, f.actor(s, d.REGISTRAR))}


@pytest.fixture
def browse(engine: sa.Engine) -> Iterator[Callable[[str], Browser]]:
    with ExitStack() as stack:
        def open_as(username: str) -> Browser:
            return Browser(stack.enter_context(TestClient(create_app())), username)

        yield open_as


def test_a_departure_and_a_death_recorded_on_the_pages_hold_the_next_payments(
        world: dict[str, str], browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    rita = browse(d.REGISTRAR)
    url = f"/households/{world['left']}/edit"
    form = rita.get(url).text
    assert 'type="date"' in tag_with_id(form, "f-departed_on") and "hold its payments" in form
    future = (date.today() + timedelta(days=2)).isoformat()
    refused = rita.post(url, filled(form, url, {"departed_on": future}))
    assert refused.status_code == 422
    assert_problem_beside(refused.text, "f-departed_on", "A date in the future is not accepted.")
    assert rita.post(url, filled(form, url, {"departed_on": "2025-01-10"})).status_code == 303
    page = rita.get(f"/households/{world['left']}").text
    assert "Left on (whereabouts unknown or elsewhere)" in page and "Jan 10, 2025" in page

    edit = f"/households/{world['widowed']}/members/edit?line=1"
    form = rita.get(edit).text
    assert 'type="date"' in tag_with_id(form, "f-deceased_on")
    before_birth = rita.post(edit, filled(form, edit, {"deceased_on": "1980-01-01"}))
    assert before_birth.status_code == 422
    assert_problem_beside(before_birth.text, "f-deceased_on", "The day of death is before the birth (1985-03-01).")
    assert rita.post(edit, filled(form, edit, {"deceased_on": "2025-01-05"})).status_code == 303
    assert "died on Jan 5, 2025" in rita.get(f"/households/{world['widowed']}").text
    # Adding a member asks nothing about death.
    assert 'id="f-deceased_on"' not in rita.get(f"/households/{world['widowed']}/members/new").text

    with session_scope(engine) as s:
        assert s.scalar(sa.select(Person.deceased_on).join(Household, Household.id == Person.household_id)
                        .where(Household.code == world["widowed"], Person.line_no == 1)) == date(2025, 1, 5)
        prog = d.programme(s)
        carla = f.actor(s, d.CASH)
        for code in world.values():
            enrolment.enrol_household(session=s, actor=carla, ref=prog.code, code=code)
        cycle = cycles.prepare(session=s, actor=carla, ref=cycles.create_cycle(session=s, actor=carla,
                                                                                ref=prog.code).id)
        # The mother has died: her two children live, but neither is an adult to receive the payment.
        assert cycle.counts is not None and cycle.counts["held"] == {"moved_away": 1, "no_recipient": 1}


def test_the_api_records_and_clears_a_departure(world: dict[str, str], engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        token = f.token(s, d.REGISTRAR)
    with TestClient(create_app()) as client:
        headers = {"Authorization": f"Bearer {token}"}
        done = client.patch(f"/api/v1/households/{world['left']}", json={"departed_on": "2025-02-01"},
                            headers=headers)
        assert done.status_code == 200, done.text
        assert done.json()["departed_on"] == "2025-02-01"
        cleared = client.patch(f"/api/v1/households/{world['left']}", json={"departed_on": ""}, headers=headers)
        assert cleared.json()["departed_on"] is None
        members = client.get(f"/api/v1/households/{world['widowed']}", headers=headers).json()["members"]
        assert members[0]["deceased_on"] is None
