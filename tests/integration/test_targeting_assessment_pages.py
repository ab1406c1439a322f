"""The assessment pages over HTTP: the form refuses bad values beside their fields and writes
nothing; a recorded assessment shows on the household page; only the registering organisation
records, corrects and deletes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.targeting.tables import Assessment
from tests import factories as f
from tests.web import browsers, count_rows, csrf_of

FCS = {"FCSStap": "7", "FCSPulse": "3", "FCSDairy": "1", "FCSPr": "2", "FCSVeg": "5", "FCSFruit": "1",
       "FCSFat": "7", "FCSSugar": "7", "FCSCond": "7"}
Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def code(engine: sa.Engine) -> str:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA", "registration_officer")
        f.user(s, "bob", "ONGB")
        return f.household(s, f.actor(s, "alice"))


@pytest.fixture
def open_as(code: str) -> Iterator[Open]:
    with browsers(f"/households/{code}") as opener:
        yield opener


def _reads(engine: sa.Engine) -> list[object]:
    with session_scope(engine) as s:
        return list(s.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "assessment.read")
                              .order_by(AuditEvent.id)))


def test_record_see_and_delete_an_assessment(code: str, open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as("alice")
    page = client.get(f"/households/{code}").text
    assert "No assessment recorded." in page and f'href="/households/{code}/assessments/new"' in page

    form = client.get(f"/households/{code}/assessments/new").text
    assert '<legend>Food consumption (FCS)</legend>' in form
    assert 'name="FCSStap" type="number"' in form and 'min="0"' in form and 'max="7"' in form
    assert "a whole number of days from 0 to 7" in form and 'type="radio" id="f-HHSNoFood-1"' in form

    bad = client.post(f"/households/{code}/assessments/new", data={
        "csrf_token": csrf, "assessed_on": "2024-06-03", **FCS, "FCSStap": "8", "HHSNoFood": "1",
        "HHSBedHung": "0", "HHSNotEat": "0"})
    assert bad.status_code == 422
    assert re.search(r'id="f-FCSStap-error">Not accepted; accepted: a whole number of days from 0 to 7\.<', bad.text)
    assert 'id="f-HHSNoFood_FR-error">Say how often' in bad.text
    assert 'name="FCSPulse" type="number" inputmode="numeric" step="1" value="3"' in bad.text  # input kept
    assert count_rows(engine, Assessment) == 0

    refused = client.post(f"/households/{code}/assessments/new", data={"assessed_on": "2024-06-03", **FCS})
    assert refused.status_code == 403 and count_rows(engine, Assessment) == 0  # no CSRF token

    done = client.post(f"/households/{code}/assessments/new", data={
        "csrf_token": csrf, "assessed_on": "2024-06-03", "enumerator": "Awa", **FCS}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(f"/households/{code}").text
    assert "Assessment of Jun 3, 2024" in page and "By Awa, entered in the web form" in page
    assert "48 (Acceptable)" in page and "Not assessed" in page

    a_id = re.search(r'name="assessment" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    # The correction form shows every answer: opening it is audited as a read.
    before = _reads(engine)
    assert client.get(f"/households/{code}/assessments/edit?assessment={a_id}").status_code == 200
    assert _reads(engine) == before + [{"assessments": [int(a_id)]}]
    gone = client.post(f"/households/{code}/assessments/delete", data={
        "csrf_token": csrf_of(page), "assessment": a_id, "version": "1"}, follow_redirects=False)
    assert gone.status_code == 303
    assert "No assessment recorded." in client.get(f"/households/{code}").text


def test_a_partner_sees_the_page_but_may_not_record(code: str, open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        accounts.create_agreement(session=s, actor=SYSTEM, provider="ONGA", recipient="ONGB", purpose="Cash",
                                  signed_on=date(2024, 1, 1))
    client, csrf = open_as("bob")
    page = client.get(f"/households/{code}").text
    assert "No assessment recorded." in page and "Record an assessment" not in page
    form = client.get(f"/households/{code}/assessments/new")
    assert form.status_code == 403
    post = client.post(f"/households/{code}/assessments/new", data={"csrf_token": csrf, "assessed_on": "2024-06-03",
                                                                    **FCS})
    assert post.status_code == 403 and count_rows(engine, Assessment) == 0
