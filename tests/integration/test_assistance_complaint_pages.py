"""The complaint pages over HTTP: a cash officer records, finds and answers complaints; a sensitive
one goes to the protection focal point and, for anybody else, is in no list, count, search, CSV
nor page; forms refuse bad input beside the field and write nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import Complaint
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from tests.unit.assistance import feedback_data as fd
from tests.web import browsers, count_rows, csrf_of

Open = Callable[..., tuple[TestClient, str]]
TODAY = date.today()


@pytest.fixture
def paid(engine: sa.Engine) -> fd.Paid:
    with session_scope(engine) as s:
        fd.people(s)
        return fd.programme(s)


@pytest.fixture
def open_as(paid: fd.Paid) -> Iterator[Open]:
    with browsers("/complaints") as opener:
        yield opener


def _form(csrf: str, **overrides: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "channel": "help_desk", "category": "not_received", "priority": "high",
            "received_on": TODAY.isoformat(), "description": "Je n'ai rien reçu en juin.", "name": "Awa Traoré",
            "contact": "76 11 22 33", "programme": "", "household": "", "payment": ""}
    data.update(overrides)
    return data


def _codes(html: str) -> list[str]:
    return re.findall(r'<tr[^>]*data-code="(CMP-[A-Z0-9]+)"', html)


def test_record_find_and_answer_a_complaint(open_as: Open, paid: fd.Paid, engine: sa.Engine) -> None:
    client, csrf = open_as("carla")
    page = client.get("/complaints")
    assert page.status_code == 200 and 'href="/complaints" aria-current="page"' in page.text
    assert "No complaint matches." in page.text
    form = client.get("/complaints/new").text
    assert 'name="description"' in form and f'value="{TODAY.isoformat()}"' in form
    assert "Sexual exploitation or abuse" in form and "PRG-0001 — Cash PRG-0001" in form

    bad = client.post("/complaints/new", data=_form(csrf, channel="fax", description="", payment="NOPE"))
    assert bad.status_code == 422
    assert re.search(r'id="f-channel-error">Unknown choice; accepted: hotline', bad.text)
    assert 'id="f-description-error">This value is required.<' in bad.text
    assert 'id="f-payment-error">No payment NOPE that you may see.<' in bad.text
    assert 'value="Awa Traoré"' in bad.text  # what was typed is kept
    assert client.post("/complaints/new", data={**_form(csrf), "csrf_token": ""}).status_code == 403
    assert count_rows(engine, Complaint) == 0

    done = client.post("/complaints/new", data=_form(csrf, payment=paid.references[1][0]), follow_redirects=False)
    assert done.status_code == 303
    code = done.headers["location"].rsplit("/", 1)[1]
    detail = client.get(f"/complaints/{code}").text
    assert "Je n&#39;ai rien reçu en juin." in detail and "Awa Traoré" in detail and "76 11 22 33" in detail
    assert paid.households[0] in detail and paid.references[1][0] in detail
    due = TODAY + timedelta(days=2)
    assert f"{due:%b} {due.day}, {due.year}" in detail  # high priority: two days

    queue = client.get("/complaints", params={"q": paid.households[0]}).text
    assert _codes(queue) == [code] and "Awa" not in queue  # names only on the complaint's page
    assert _codes(client.get("/complaints", params={"category": "late"}).text) == []

    version = re.search(r'name="version" value="(\d+)"', detail).group(1)  # type: ignore[union-attr]
    refused = client.post(f"/complaints/{code}/resolve", data={"csrf_token": csrf, "version": version,
                                                               "resolution": " "})
    assert refused.status_code == 422 and 'id="f-resolution-error">This value is required.<' in refused.text
    assigned = client.post(f"/complaints/{code}/assign", data={"csrf_token": csrf, "version": version,
                                                               "assignee": "cindy"}, follow_redirects=False)
    assert assigned.status_code == 303
    stale = client.post(f"/complaints/{code}/resolve", data={"csrf_token": csrf, "version": version,
                                                             "resolution": "Payé."})
    assert stale.status_code == 409 and "Someone else changed this complaint meanwhile" in stale.text
    detail = client.get(f"/complaints/{code}").text
    resolved = client.post(f"/complaints/{code}/resolve", data={"csrf_token": csrf_of(detail), "version": "2",
                                                                "resolution": "Payé le 3 juillet."},
                           follow_redirects=False)
    assert resolved.status_code == 303
    detail = client.get(f"/complaints/{code}").text
    assert "Payé le 3 juillet." in detail and "assigned to cindy" in detail
    assert re.search(r'data-field="state">Resolved<', detail) and "Reopen: the complainant is not satisfied" in detail
    history = detail[detail.index('id="history"'):]
    moves = re.findall(r"<td>(—|Open|In progress)</td>\s*<td>(Open|In progress|Resolved)", history)
    assert moves == [("—", "Open"), ("Open", "In progress"), ("In progress", "Resolved")]


def test_a_sensitive_complaint_reaches_only_the_focal_point(open_as: Open, paid: fd.Paid, engine: sa.Engine) -> None:
    carla, csrf = open_as("carla")
    general = carla.post("/complaints/new", data=_form(csrf), follow_redirects=False)
    general_code = general.headers["location"].rsplit("/", 1)[1]
    answer = carla.post("/complaints/new", data=_form(csrf, category="protection_risk",
                                                       description="Menacée par le logeur"))
    assert answer.status_code == 200
    code = re.search(r"The complaint (CMP-[A-Z0-9]+) is recorded\. It went confidentially", answer.text).group(1)  # type: ignore[union-attr]
    assert "Menacée" not in answer.text and "Awa" not in answer.text
    marked = carla.post("/complaints/new", data=_form(csrf, category="late", sensitive="1"))
    marked_code = re.search(r"The complaint (CMP-[A-Z0-9]+) is recorded", marked.text).group(1)  # type: ignore[union-attr]

    queue = carla.get("/complaints").text
    assert _codes(queue) == [general_code]
    assert code not in queue and marked_code not in queue and "Protection risk" not in queue.split("Filters")[0]
    assert re.search(r'data-figure="total">1<', queue) and 'data-state="open">1<' in queue
    for hidden in (code, marked_code):
        assert _codes(carla.get("/complaints", params={"q": hidden}).text) == []
        assert carla.get(f"/complaints/{hidden}").status_code == 404
        assert carla.post(f"/complaints/{hidden}/close", data={"csrf_token": csrf}).status_code == 404
    assert _codes(carla.get("/complaints", params={"category": "protection_risk"}).text) == []
    exported = carla.get("/complaints/export.csv")
    assert exported.status_code == 200 and exported.text.count("CMP-") == 1 and general_code in exported.text
    assert "Awa" not in exported.text and "reçu" not in exported.text

    pat, pat_csrf = open_as("pat")
    queue = pat.get("/complaints").text
    assert sorted(_codes(queue)) == sorted([general_code, code, marked_code])
    assert re.search(r'data-figure="total">3<', queue) and 'data-category="protection_risk">1<' in queue
    assert queue.count(">Confidential</strong>") == 2
    detail = pat.get(f"/complaints/{code}").text
    assert "Menacée par le logeur" in detail and 'id="confidential"' in detail
    assert re.findall(r'<option value="(\w+)"', detail[detail.index('id="f-assignee"'):].split("</select>")[0]) == [
        "ada", "pat"]
    assert code in pat.get("/complaints/export.csv").text


def test_filters_overdue_and_who_may_open_the_pages(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        org = s.scalar(sa.text("SELECT id FROM organisations WHERE acronym = 'ONGA'"))
        for i, (received, due) in enumerate(((TODAY - timedelta(days=20), TODAY - timedelta(days=6)),
                                             (TODAY, TODAY + timedelta(days=7)))):
            s.add(Complaint(code=f"CMP-90000{i}", org_id=org, channel="sms", category="information",
                            priority="medium", state="open", received_on=received, respond_by=due,
                            description_sealed="v1:x"))
    carla, _csrf = open_as("carla")
    queue = carla.get("/complaints").text
    assert re.search(r'<tr class="cmp-overdue" data-code="CMP-900000"', queue)
    assert '<tr data-code="CMP-900001"' in queue and 'data-figure="overdue">1 overdue<' in queue
    assert _codes(carla.get("/complaints", params={"overdue": "1"}).text) == ["CMP-900000"]
    wrong = carla.get("/complaints", params={"state": "lost"})
    assert wrong.status_code == 422 and re.search(r'id="f-state-error">Unknown choice; accepted: open', wrong.text)

    ivan, _csrf = open_as("ivan")
    home = ivan.get("/").text
    assert 'href="/complaints"' not in home
    assert ivan.get("/complaints").status_code == 403
    assert ivan.get("/complaints/CMP-900000").status_code == 403


def test_reloading_a_confidential_confirmation_records_nothing_and_lists_are_audited(
        open_as: Open, paid: fd.Paid, engine: sa.Engine) -> None:
    carla, csrf = open_as("carla")
    sent = carla.post("/complaints/new", data=_form(csrf, category="protection_risk"), follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/complaints/recorded?code=CMP-")
    for _ in range(2):  # the confirmation, then a reload of it
        page = carla.get(sent.headers["location"])
        assert page.status_code == 200 and "is recorded. It went confidentially" in page.text
    assert count_rows(engine, Complaint) == 1
    assert carla.get("/complaints/recorded?code=<script>").status_code == 404
    assert carla.get("/complaints?page=0").status_code == 200  # not a negative offset on PostgreSQL

    pat, _pat_csrf = open_as("pat")
    exported = pat.get("/complaints/export.csv").text.splitlines()
    header = exported[0].split(",")
    assert exported[1].split(",")[header.index("sensitive")] == "1"  # a confidential row says so once passed on
    pat.get("/complaints")
    with session_scope(engine) as s:
        listed = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "assistance.complaint.list")).all()
        assert listed and any(e.detail and e.detail.get("sensitive_shown") == 1 for e in listed)
