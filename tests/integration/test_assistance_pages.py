"""The cash assistance pages over HTTP: a cash officer creates a programme from the form (mistakes
beside their fields, a formula's with its line and column, nothing written), enrols households
from a list, a code and a scoring run, takes one out; creates, prepares and — as another person —
approves a cycle (four eyes), exports its payment file, reconciles the provider's report; the
coverage page; and who may see or do what."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import Cycle, Enrolment, Payment, Programme, Reconciliation
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.targeting import runs
from jatigi.targeting.scope import Scope
from tests import factories as f
from tests.integration.test_targeting_scoring import POOR, _assess
from tests.unit.assistance import programme_data as d
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@dataclass(frozen=True)
class World:
    rent: str  # rent 25,000 and a baby: 27,500 FCFA a month
    small: str  # rent 20,000: 20,000 FCFA
    no_phone: str  # held in a mobile-money programme
    other_org: str  # registered by ONGB
    run_id: int  # ivan's food security run: rent and small are poor


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        d.people(s)
        f.user(s, "vera", d.ORG, "viewer")
        f.user(s, "otto", "ONGB", "registration_officer")
        rent = d.household(s, "Aminata", baby=True)
        small = d.household(s, "Fanta", rent=20_000)
        no_phone = d.household(s, "Kadia", phone=None)
        other = f.household(s, f.actor(s, "otto"))
        for code in (rent, small):
            _assess(s, code, POOR)
        ivan = f.actor(s, d.IM)
        run = runs.score(session=s, actor=ivan, loaded=runs.model_by_name(s, ivan, "food_security"),
                         scope=Scope(ivan))
        return World(rent, small, no_phone, other, run.id)


@pytest.fixture
def open_as(world: World) -> Iterator[Open]:
    with browsers("/assistance/programmes") as opener:
        yield opener


def _error(html: str, name: str) -> str:
    found = re.search(rf'id="f-{name}-error">(.*?)</(?:p|ul)>', html, re.S)
    assert found, f"no message beside {name}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


def _programme_form(csrf: str, **overrides: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "name": "Cash for rent", "donor": "ECHO", "sector": "shelter", "objective": "",
            "modality": "mobile_money", "start_month": "2025-01", "planned_months": "3", "area_pcode": "",
            "provider": "orange_money", "formula_source": "paste", "formula": d.RENT_FORMULA}
    data.update(overrides)
    return data


def _create(client: TestClient, csrf: str, **overrides: str) -> str:
    done = client.post("/assistance/programmes/new", data=_programme_form(csrf, **overrides), follow_redirects=False)
    assert done.status_code == 303, done.text[:3000]
    return done.headers["location"].split("/")[-1].split("?")[0]


def _post(client: TestClient, url: str, csrf: str, **data: str) -> tuple[int, str, str]:
    """Post a form; (status, where it redirected or "", the page)."""
    resp = client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)
    if resp.status_code == 303:
        where = resp.headers["location"]
        return 303, where, client.get(where).text
    return resp.status_code, "", resp.text


def _csv(*codes: str, header: str = "household_code") -> list[tuple[str, tuple[str, bytes, str]]]:
    body = "\n".join([header, *codes]) + "\n"
    return [("file", ("menages.csv", body.encode(), "text/csv"))]


def _enrol_list(client: TestClient, csrf: str, code: str, *codes: str) -> tuple[int, str]:
    resp = client.post(f"/assistance/programmes/{code}/enrol/list", data={"csrf_token": csrf}, files=_csv(*codes),
                       follow_redirects=False)
    if resp.status_code == 303:
        return 303, client.get(resp.headers["location"]).text
    return resp.status_code, resp.text


def _state(html: str) -> str:
    found = re.search(r'data-field="state">([^<]*)<', html)
    assert found
    return found.group(1)


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


def _active_programme(engine: sa.Engine, world: World, *codes: str) -> str:
    """An active mobile-money programme (rent formula, 3 months from 2025-01) enrolling `codes`."""
    from jatigi.assistance import enrolment

    with session_scope(engine) as s:
        prog = d.programme(s)
        for code in codes:
            enrolment.enrol_household(session=s, actor=f.actor(s, d.CASH), ref=prog.code, code=code)
        return prog.code


def _cycle(client: TestClient, csrf: str, programme: str) -> int:
    status, where, _page = _post(client, f"/assistance/programmes/{programme}/cycles", csrf)
    assert status == 303, _page[:2000]
    return int(where.split("/")[-1].split("?")[0])


# ---- programmes ---------------------------------------------------------------------------------------


def test_create_a_programme_with_mistakes_beside_their_fields(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as(d.CASH)
    page = client.get("/assistance/programmes")
    assert page.status_code == 200 and 'href="/assistance" aria-current="page">Assistance<' in page.text
    assert "No programme yet." in page.text and 'href="/assistance/programmes/new"' in page.text
    form = client.get("/assistance/programmes/new").text
    assert '<option value="household_size" selected>' in form and "Orange Money" in form
    assert client.get("/assistance").status_code == 200  # the menu's entry leads to the list

    bad_formula = '[entitlement]\nid = "x"\ntitle = { fr = "X", en = "X" }\nbase = "lots"\n'
    bad = client.post("/assistance/programmes/new", data=_programme_form(
        csrf, name="", sector="fun", start_month="March", planned_months="99", area_pcode="ML99",
        provider="western_union", formula=bad_formula))
    assert bad.status_code == 422
    assert _error(bad.text, "name") == "Give the programme a name."
    assert _error(bad.text, "sector").startswith("fun is not accepted; accepted: multipurpose")
    assert "YYYY-MM" in _error(bad.text, "start_month")
    assert _error(bad.text, "planned_months") == "From 1 to 36 months (not 99)."
    assert _error(bad.text, "area_pcode") == "No place has the P-code ML99."
    assert "No payment provider western_union" in _error(bad.text, "provider")
    assert re.match(r"Line 4, column \d+", _error(bad.text, "formula")), _error(bad.text, "formula")
    assert 'value="March"' in bad.text and "base = &#34;lots&#34;" in bad.text  # what was typed is kept
    empty = client.post("/assistance/programmes/new", data=_programme_form(csrf, formula=""))
    assert _error(empty.text, "formula") == "Paste the formula, or choose a shipped one."
    assert client.post("/assistance/programmes/new", data=_programme_form("")).status_code == 403  # no CSRF
    assert count_rows(engine, Programme) == 0

    code = _create(client, csrf, formula_source="household_size", formula="")
    page = client.get(f"/assistance/programmes/{code}?done=created").text
    assert "The programme was created, in draft" in page and _state(page) == "Draft"
    assert "Multipurpose cash by household size" in page and "per_member = 5000" in page
    assert "Organisation ONGA (ONGA)" in page and "3 months, 2025-01 to 2025-03" in page
    listed = client.get("/assistance/programmes").text
    assert re.search(rf'<a href="/assistance/programmes/{code}">{code}</a></td>\s*<td>Cash for rent</td>\s*'
                     r"<td>ONGA</td>\s*<td>Shelter and rent</td>\s*<td>Mobile money</td>", listed)
    assert "0\u00a0FCFA" in listed
    assert "No programme in this state." in client.get("/assistance/programmes?state=active").text
    wrong = client.get("/assistance/programmes?state=paused")
    assert wrong.status_code == 422 and "paused is not accepted" in _error(wrong.text, "state")

    # A draft is changed, formula included; then activated, it no longer is.
    edit = client.get(f"/assistance/programmes/{code}/edit").text
    assert 'value="Cash for rent"' in edit and '<option value="paste" selected>' in edit
    broken = client.post(f"/assistance/programmes/{code}/edit", data=_programme_form(
        csrf, name="Rent support", formula="[entitlement]\nid = \"x\"\nbase = 1000\ncap = -5\n", version="1"))
    assert broken.status_code == 422 and re.match(r"Line \d+", _error(broken.text, "formula"))
    status, _where, page = _post(client, f"/assistance/programmes/{code}/edit", csrf,
                                 **{k: v for k, v in _programme_form(csrf, name="Rent support").items()
                                    if k != "csrf_token"}, version="1")
    assert status == 303 and "The programme was saved." in page and "Rent support" in page
    assert 'amount = "min(coalesce(monthly_rent_xof, 0), 30000)"' in html.unescape(page)
    status, _where, page = _post(client, f"/assistance/programmes/{code}/activate", csrf)
    assert status == 303 and _state(page) == "Active" and "Change the programme" not in page
    assert client.get(f"/assistance/programmes/{code}/edit").status_code == 409


def test_cancel_and_close_a_programme(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as(d.CASH)
    code = _create(client, csrf)
    status, _w, page = _post(client, f"/assistance/programmes/{code}/cancel", csrf, reason=" ")
    assert status == 422 and _error(page, "cancelled_reason") == "Say why the programme is cancelled."
    status, _w, page = _post(client, f"/assistance/programmes/{code}/cancel", csrf, reason="Funding withdrawn")
    assert status == 303 and _state(page) == "Cancelled" and "Funding withdrawn" in page  # in the history
    assert 'action="/assistance/programmes/' not in page  # no more actions
    other = _create(client, csrf)
    _post(client, f"/assistance/programmes/{other}/activate", csrf)
    status, _w, page = _post(client, f"/assistance/programmes/{other}/close", csrf, reason="Ended")
    assert status == 303 and _state(page) == "Closed" and "The programme is closed." in page
    status, _w, page = _post(client, f"/assistance/programmes/{other}/activate", csrf)
    assert status == 409 and "cannot become active" in page


# ---- enrolment ----------------------------------------------------------------------------------------


def test_enrol_from_a_list_a_code_and_a_run_then_take_one_out(open_as: Open, world: World,
                                                              engine: sa.Engine) -> None:
    client, csrf = open_as(d.CASH)
    code = _create(client, csrf)
    status, page = _enrol_list(client, csrf, code, world.rent, "HH-NOPE", world.rent, world.other_org)
    assert status == 422
    message = _error(page, "list_file")
    assert "menages.csv: 3 problems; nobody was enrolled." in message
    assert "Row 3: no household HH-NOPE" in message and f"{world.rent} is already on row 2" in message
    assert f"no household {world.other_org} that you may see" in message
    nothing = client.post(f"/assistance/programmes/{code}/enrol/list", data={"csrf_token": csrf})
    assert nothing.status_code == 422 and _error(nothing.text, "list_file") == "Choose a CSV or XLSX file."
    assert count_rows(engine, Enrolment) == 0

    status, page = _enrol_list(client, csrf, code, world.rent, world.small)
    assert status == 303 and "2 households enrolled (2 found, 0 already enrolled)." in page
    assert f'<a href="/households/{world.rent}">{world.rent}</a>' in page
    assert "A list of households" in page

    status, _w, page = _post(client, f"/assistance/programmes/{code}/enrol/household", csrf, household="HH-NOPE")
    assert status == 422 and _error(page, "household") == "No household HH-NOPE that you may see."
    status, _w, page = _post(client, f"/assistance/programmes/{code}/enrol/household", csrf,
                             household=world.no_phone.lower())
    assert status == 303 and "1 households enrolled (1 found, 0 already enrolled)." in page

    # From a scoring run: choose it, then its categories (the vulnerable ones by default).
    page = client.get(f"/assistance/programmes/{code}?run={world.run_id}").text
    assert f'<input type="hidden" name="run" value="{world.run_id}">' in page
    assert re.search(r'name="categories" value="extreme" checked', page)
    status, _w, page = _post(client, f"/assistance/programmes/{code}/enrol/run", csrf, run=str(world.run_id))
    assert status == 422 and _error(page, "categories") == "Choose at least one category."
    bad = client.post(f"/assistance/programmes/{code}/enrol/run",
                      data={"csrf_token": csrf, "run": str(world.run_id), "categories": ["extreme"],
                            "budget": "10", "transfer_value": "x", "months": "3"})
    assert bad.status_code == 422 and _error(bad.text, "transfer_value") == "Not a valid integer."
    assert _error(client.get(f"/assistance/programmes/{code}?run=999").text, "run") == \
        "No scoring run 999 that you may see."
    done = client.post(f"/assistance/programmes/{code}/enrol/run",
                       data={"csrf_token": csrf, "run": str(world.run_id), "categories": ["extreme", "high"]},
                       follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "0 households enrolled (2 found, 2 already enrolled)." in page
    assert f'href="/targeting/runs/{world.run_id}"' in page

    status, _w, page = _post(client, f"/assistance/programmes/{code}/exit", csrf, household=world.small, reason="")
    assert status == 422 and _error(page, "exit_reason") == "Say why the household leaves the programme."
    status, _w, page = _post(client, f"/assistance/programmes/{code}/exit", csrf, household=world.small,
                             reason="Returned to Mopti")
    assert status == 303 and "The household left the programme" in page
    assert re.search(rf'data-household="{world.small}" class="inactive">.*?Returned to Mopti', page, re.S)
    assert 'data-field="enrolled">2<' in page and 'data-field="exited">1<' in page
    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("assistance.enrolment%"))))
    assert {"assistance.enrolment.add", "assistance.enrolment.exit", "assistance.enrolment.read"} <= actions


# ---- cycles, payment files, reports ---------------------------------------------------------------------


def _report(rows: list[list[str]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Reference", "Status", "Amount Paid", "Currency", "Date", "Transaction ID"])
    writer.writerows(rows)
    return [("file", ("orange-report.csv", out.getvalue().encode(), "text/csv"))]


def test_a_cycle_from_preparation_to_reconciliation(open_as: Open, world: World, engine: sa.Engine) -> None:
    programme = _active_programme(engine, world, world.rent, world.small, world.no_phone)
    carla, csrf = open_as(d.CASH)
    cycle_id = _cycle(carla, csrf, programme)
    page = carla.get(f"/assistance/cycles/{cycle_id}?done=cycle").text
    assert _state(page) == "Draft" and "The cycle was created" in page and "Not prepared yet" in page
    assert "Cycle 1 of PRG-0001: 2025-01" in page

    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)
    assert status == 303 and _state(page) == "Prepared"
    assert _figure(page, "households") == "3" and _figure(page, "due") == "2" and _figure(page, "held") == "1"
    assert re.search(r'No mobile-money number</dt><dd data-held="no_phone">1<', page)
    assert _figure(page, "total-due") == "47,500\u00a0FCFA"
    assert f'<a href="/households/{world.rent}">{world.rent}</a>' in page and "27,500\u00a0FCFA" in page
    # Four eyes: the preparer is told why they cannot approve, and is refused if they try.
    assert "You prepared this cycle: another person must approve it (four eyes)." in page
    assert f'action="/assistance/cycles/{cycle_id}/approve"' not in page
    refused = carla.post(f"/assistance/cycles/{cycle_id}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "another person must approve it (four eyes)" in refused.text

    held = carla.get(f"/assistance/cycles/{cycle_id}?state=held").text
    assert re.findall(r'<tr data-household="([^"]+)"', held) == [world.no_phone]
    by_reason = carla.get(f"/assistance/cycles/{cycle_id}?reason=deceased").text
    assert "No payment line matches." in by_reason
    wrong = carla.get(f"/assistance/cycles/{cycle_id}?state=lost")
    assert wrong.status_code == 422 and "lost is not accepted" in _error(wrong.text, "state")

    explained = carla.get(f"/assistance/cycles/{cycle_id}/explain?household={world.rent}").text
    assert _figure(explained, "amount") == "27,500\u00a0FCFA" and "Children under five" in explained
    assert f"Line PRG-0001-1-{world.rent}: 27,500\u00a0FCFA, due." in explained
    unknown = carla.get(f"/assistance/cycles/{cycle_id}/explain?household=HH-NOPE")
    assert unknown.status_code == 422 and _error(unknown.text, "household") == "No household HH-NOPE that you may see."

    cindy, cindy_csrf = open_as(d.APPROVER)
    page = cindy.get(f"/assistance/cycles/{cycle_id}").text
    assert f'action="/assistance/cycles/{cycle_id}/approve"' in page and "four eyes" not in page
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/reject", cindy_csrf, reason="")
    assert status == 422 and _error(page, "reject_reason") == "Say why the cycle is rejected."
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/reject", cindy_csrf, reason="Check the rents")
    assert status == 303 and _state(page) == "Rejected" and "Check the rents" in page
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)
    assert status == 303 and _state(page) == "Prepared"
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/approve", cindy_csrf)
    assert status == 303 and _state(page) == "Approved" and "approved and locked" in page
    assert re.search(r"by cindy on", page)

    # The mobile-money file: the due lines only; the cycle is then sent.
    resp = carla.post(f"/assistance/cycles/{cycle_id}/export", data={"csrf_token": csrf, "provider": "orange_money"})
    assert resp.status_code == 200 and "attachment" in resp.headers["content-disposition"]
    assert "PRG-0001-cycle-1-orange_money.csv" in resp.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert {(r["Reference"], r["Amount"]) for r in rows} == {
        (f"PRG-0001-1-{world.rent}", "27500"), (f"PRG-0001-1-{world.small}", "20000")}
    page = carla.get(f"/assistance/cycles/{cycle_id}").text
    assert _state(page) == "Sent to the provider" and 'id="reconcile"' in page

    wrong_columns = carla.post(f"/assistance/cycles/{cycle_id}/reconcile", data={"csrf_token": csrf},
                               files=[("file", ("r.csv", b"Ref,What\nA,B\n", "text/csv"))])
    assert wrong_columns.status_code == 422 and "Reference" in _error(wrong_columns.text, "report")
    assert count_rows(engine, Reconciliation) == 0
    report = _report([[f"PRG-0001-1-{world.rent}", "SUCCESS", "27500", "XOF", "2025-01-20", "T1"],
                      [f"PRG-0001-1-{world.small}", "SUCCESS", "15000", "XOF", "2025-01-20", "T2"],
                      ["PRG-0001-1-HH-NOPE", "SUCCESS", "1000", "XOF", "2025-01-20", "T3"]])
    done = carla.post(f"/assistance/cycles/{cycle_id}/reconcile", data={"csrf_token": csrf}, files=report,
                      follow_redirects=False)
    assert done.status_code == 303, done.text[:3000]
    page = carla.get(done.headers["location"]).text
    assert _state(page) == "Reconciled"
    assert "Report orange-report.csv applied: 1 paid, 0 failed, 0 unclaimed, 0 unchanged; 2 lines not applied." in page
    problems = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td class="value">([^<]*)</td>', page)
    assert [(line, value) for line, _column, value in problems] == [("3", "15000"), ("4", "PRG-0001-1-HH-NOPE")]
    link = re.search(r'href="(/assistance/cycles/\d+/problems\.csv\?reconciliation=\d+)"', page)
    assert link
    problems_csv = carla.get(link.group(1))
    assert problems_csv.status_code == 200 and "PRG-0001-1-HH-NOPE" in problems_csv.text
    assert "Line,Column,Value,Kind,Problem" in problems_csv.text.lstrip("\ufeff")
    again = carla.post(f"/assistance/cycles/{cycle_id}/reconcile", data={"csrf_token": csrf}, files=report)
    assert again.status_code == 409 and "never applied twice" in _error(again.text, "report")
    assert count_rows(engine, Reconciliation) == 1
    with session_scope(engine) as s:
        paid = s.scalars(sa.select(Payment.state).where(Payment.cycle_id == cycle_id, Payment.state == "paid")).all()
    assert len(paid) == 1
    assert "No interview imported for this cycle yet." in page  # the monitoring section
    assert re.search(r"<td>Sent to the provider</td>\s*<td>Reconciled</td>", page)  # the history
    listed = carla.get("/assistance/programmes").text
    assert "27,500\u00a0FCFA" in listed  # total paid


def test_cancel_a_cycle_and_refusals(open_as: Open, world: World, engine: sa.Engine) -> None:
    programme = _active_programme(engine, world, world.rent)
    carla, csrf = open_as(d.CASH)
    cycle_id = _cycle(carla, csrf, programme)
    export = carla.post(f"/assistance/cycles/{cycle_id}/export", data={"csrf_token": csrf, "provider": "orange_money"})
    assert export.status_code == 409 and "only an approved cycle is exported" in export.text  # the form is not shown
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/cancel", csrf, reason="")
    assert status == 422 and _error(page, "cancel_reason") == "Say why the cycle is cancelled."
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/cancel", csrf, reason="Wrong month")
    assert status == 303 and _state(page) == "Cancelled" and 'id="actions-title"' not in page
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)
    assert status == 409 and "cannot become prepared" in page
    # Three planned months: cycles 2 and 3, then no more.
    _cycle(carla, csrf, programme)
    _cycle(carla, csrf, programme)
    page = carla.get(f"/assistance/programmes/{programme}").text
    assert "The programme has all its planned cycles." in page
    assert len(re.findall(r'<tr data-cycle="\d+">', page)) == 3
    status, _w, page = _post(carla, f"/assistance/programmes/{programme}/cycles", csrf)
    assert status == 409 and "would go beyond them" in _error(page, "cycle")
    assert count_rows(engine, Cycle) == 3


def test_an_approved_cycle_is_sent_back_and_a_reconciled_one_closed(open_as: Open, world: World,
                                                                    engine: sa.Engine) -> None:
    programme = _active_programme(engine, world, world.rent, world.small)
    carla, csrf = open_as(d.CASH)
    cindy, cindy_csrf = open_as(d.APPROVER)
    cycle_id = _cycle(carla, csrf, programme)
    _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/approve", cindy_csrf)
    assert status == 303 and _state(page) == "Approved"
    # Not yet sent: another person than who prepared it may send it back.
    assert 'id="reject"' in page and "Not sent yet: it can still be sent back" in page
    page = carla.get(f"/assistance/cycles/{cycle_id}").text
    assert 'id="reject"' not in page
    refused = carla.post(f"/assistance/cycles/{cycle_id}/reject", data={"csrf_token": csrf, "reason": "Oops"})
    assert refused.status_code == 403 and "another person must send it back once approved (four eyes)" in refused.text
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/reject", cindy_csrf, reason=" ")
    assert status == 422 and _error(page, "reject_reason") == "Say why the cycle is rejected."
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/reject", cindy_csrf, reason="Wrong rent for Fanta")
    assert status == 303 and _state(page) == "Rejected" and "Wrong rent for Fanta" in page
    assert re.search(r"<td>Approved</td>\s*<td>Rejected</td>", page)  # the history
    _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)
    status, _w, page = _post(cindy, f"/assistance/cycles/{cycle_id}/approve", cindy_csrf)
    assert status == 303 and _state(page) == "Approved" and 'id="close"' not in page

    with session_scope(engine) as s:  # what exporting and reconciling do
        s.execute(sa.update(Payment).where(Payment.cycle_id == cycle_id, Payment.state == "due")
                  .values(state="paid", amount_paid=Payment.amount))
        s.execute(sa.update(Cycle).where(Cycle.id == cycle_id).values(state="reconciled"))
    ivan, ivan_csrf = open_as(d.IM)
    assert 'id="close"' not in ivan.get(f"/assistance/cycles/{cycle_id}").text
    assert ivan.post(f"/assistance/cycles/{cycle_id}/close", data={"csrf_token": ivan_csrf}).status_code == 403
    page = carla.get(f"/assistance/cycles/{cycle_id}").text
    assert 'id="close"' in page and "once the provider will send no more report" in page
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/close", csrf, reason="Final report received")
    assert status == 303 and _state(page) == "Closed"
    assert "The cycle is closed: no report can be applied to it any more." in page
    assert "Final report received" in page and 'id="close"' not in page and 'id="actions-title"' not in page
    status, _w, page = _post(carla, f"/assistance/cycles/{cycle_id}/close", csrf)
    assert status == 409 and "This cycle is closed and cannot become closed" in page


def test_who_may_see_and_do_what(open_as: Open, world: World, engine: sa.Engine) -> None:
    programme = _active_programme(engine, world, world.rent)
    carla, csrf = open_as(d.CASH)
    cycle_id = _cycle(carla, csrf, programme)
    _post(carla, f"/assistance/cycles/{cycle_id}/prepare", csrf)

    ivan, ivan_csrf = open_as(d.IM)  # reads programmes, changes nothing
    page = ivan.get(f"/assistance/programmes/{programme}").text
    assert world.rent in page and 'id="actions-title"' not in page and "Create the next cycle" not in page
    assert "enrol/list" not in page and "New programme" not in ivan.get("/assistance/programmes").text
    page = ivan.get(f"/assistance/cycles/{cycle_id}").text
    assert _state(page) == "Prepared" and 'id="actions-title"' not in page
    for url in (f"/assistance/programmes/{programme}/activate", f"/assistance/programmes/{programme}/enrol/household",
                f"/assistance/cycles/{cycle_id}/approve", f"/assistance/cycles/{cycle_id}/export"):
        assert ivan.post(url, data={"csrf_token": ivan_csrf}).status_code == 403, url
    assert ivan.get("/assistance/programmes/new").status_code == 403

    vera, _ = open_as("vera", next_url="/")  # a viewer: no assistance at all
    assert vera.get("/assistance/programmes").status_code == 403
    assert 'href="/assistance"' not in vera.get("/").text

    bert, bert_csrf = open_as(d.OTHER)  # a cash officer of another organisation
    assert "No programme yet." in bert.get("/assistance/programmes").text
    assert bert.get(f"/assistance/programmes/{programme}").status_code == 404
    assert bert.get(f"/assistance/cycles/{cycle_id}").status_code == 404
    assert bert.get(f"/assistance/cycles/{cycle_id}/explain?household={world.rent}").status_code == 404
    assert bert.post(f"/assistance/cycles/{cycle_id}/approve", data={"csrf_token": bert_csrf}).status_code == 404
    assert bert.post(f"/assistance/programmes/{programme}/cancel",
                     data={"csrf_token": bert_csrf, "reason": "x"}).status_code == 404
    assert carla.get("/assistance/programmes/PRG-9999").status_code == 404
    assert carla.get("/assistance/cycles/nothing").status_code == 404
    assert carla.post(f"/assistance/cycles/{cycle_id}/approve", data={}).status_code == 403  # no CSRF token
    with session_scope(engine) as s:
        assert s.scalar(sa.select(Cycle.state).where(Cycle.id == cycle_id)) == "prepared"


# ---- coverage --------------------------------------------------------------------------------------------


def test_coverage_and_continuity(open_as: Open, world: World, engine: sa.Engine) -> None:
    from jatigi.assistance import enrolment

    with session_scope(engine) as s:
        prog = d.programme(s, sector="shelter")
        enrolment.enrol_from_run(session=s, actor=f.actor(s, d.CASH), ref=prog.code, run_id=world.run_id)
        code = prog.code
    carla, csrf = open_as(d.CASH)
    page = carla.get("/assistance/coverage?since=2025-01&until=2025-03&level=1&within=36")
    assert page.status_code == 200, page.text[:3000]
    total = re.search(r'<tr data-area="total">(.*?)</tr>', page.text, re.S)
    assert total
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', total.group(1))
    assert cells[:3] == ["3", "2", "0"]  # households, enrolled, assisted
    assert "Bamako" in page.text and "IDP in displacement" in page.text
    assert re.search(rf'<tr data-code="{code}">.*?data-figure="still-vulnerable">2<', page.text, re.S)
    link = re.search(r'href="(/assistance/coverage/still-vulnerable\.csv\?programme=PRG-\d+)"', page.text)
    assert link
    listed = carla.get(link.group(1))
    assert listed.status_code == 200
    assert sorted(listed.text.split()) == sorted(["household_code", world.rent, world.small])
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "assistance.still_vulnerable.export")) == 1

    bad = carla.get("/assistance/coverage?since=soon&until=2025-13&level=3&place=ML99&within=99")
    assert bad.status_code == 422
    assert "YYYY-MM" in _error(bad.text, "since") and "YYYY-MM" in _error(bad.text, "until")
    assert _error(bad.text, "level") == "Choose regions or cercles."
    assert _error(bad.text, "place") == "No place with the P-code ML99."
    assert _error(bad.text, "within") == "Must be at most 36."
    assert 'id="coverage"' not in bad.text
    backwards = carla.get("/assistance/coverage?since=2025-03&until=2025-01")
    assert backwards.status_code == 422 and "before it starts" in _error(backwards.text, "until")
    assert carla.get("/assistance/coverage/still-vulnerable.csv?programme=PRG-9999").status_code == 404


def test_a_stale_edit_keeps_what_was_typed_and_odd_references_are_not_found(open_as: Open, engine: sa.Engine) -> None:
    client, csrf = open_as(d.CASH)
    code = _create(client, csrf)
    first = client.post(f"/assistance/programmes/{code}/edit", data=_programme_form(csrf, name="Rent, first",
                                                                                  version="1"))
    assert first.status_code == 200 and "Rent, first" in first.text
    # A second edit made from the same (now stale) form: refused, what was typed comes back with the reason.
    stale = client.post(f"/assistance/programmes/{code}/edit", data=_programme_form(
        csrf, name="Rent, second", objective="Keep me", version="1"))
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    assert 'value="Rent, second"' in stale.text and "Keep me" in stale.text
    with session_scope(engine) as s:
        assert s.scalars(sa.select(Programme.name).where(Programme.code == code)).one() == "Rent, first"
    # References written with digits other than 0-9 are simply not found (never an error page).
    for path in ("/assistance/programmes/%C2%B2", "/assistance/cycles/%C2%B2",
                 "/assistance/coverage/still-vulnerable.csv?programme=%C2%B2"):
        assert client.get(path).status_code == 404, path
