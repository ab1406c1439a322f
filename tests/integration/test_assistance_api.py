"""The cash assistance API as an integration uses it: create a programme, enrol households (from a
run, a list, one by one), run a monthly cycle — prepare, approve by another person, export the
payment file, reconcile the provider's report — and read the indicators and coverage; and what it
refuses: 403 without the permission (and to the preparer approving), 404 for another organisation's
records, 409 for the wrong state or the same report twice, 422 with the field and the reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.assistance.models import Cycle, Enrolment, Payment, Programme, Reconciliation
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.registry import service as registry
from jatigi.targeting import runs
from jatigi.targeting.scope import Scope
from jatigi.web.app import create_app
from tests import factories as f
from tests.unit.assistance import programme_data as d
from tests.unit.assistance.test_programmes import RENT_MODEL
from tests.web import count_rows

API = "/api/v1/assistance"
VIEWER, FOCAL = "vera", "pat"
REPORT_HEADER = ("Reference", "Status", "Amount Paid", "Currency", "Date", "Transaction ID")


@dataclass
class World:
    tokens: dict[str, str]
    households: dict[str, str]  # by given name
    run_id: int

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def world(engine: sa.Engine) -> World:
    """ONGA's cash officers carla and cindy, and four households scored by ivan's run of a rent model:
    Awa (rent 25,000 and a baby), Binta (25,000), Coumba (25,000, no phone), Djeneba (5,000)."""
    with session_scope(engine) as s:
        d.people(s)
        f.user(s, VIEWER, d.ORG, "viewer")
        f.user(s, FOCAL, d.ORG, "protection_focal_point")
        households = {"Awa": d.household(s, "Awa", baby=True), "Binta": d.household(s, "Binta"),
                      "Coumba": d.household(s, "Coumba", phone=None), "Djeneba": d.household(s, "Djeneba", rent=5000)}
        ivan = f.actor(s, d.IM)
        run_id = runs.score(session=s, actor=ivan, loaded=runs.stored_version(s, ivan, RENT_MODEL), scope=Scope(ivan)).id
        names = (d.CASH, d.APPROVER, d.REGISTRAR, d.IM, d.OTHER, d.ADMIN, VIEWER, FOCAL)
        return World({name: f.token(s, name) for name in names}, households, run_id)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as c:
        yield c


PROGRAMME: dict[str, Any] = {"name": "Cash for rent", "sector": "shelter", "modality": "mobile_money",
                             "start_month": "2025-01", "planned_months": 3, "formula": d.RENT_FORMULA,
                             "donor": "ECHO", "area_pcode": "ML09", "provider": "orange_money"}


def _ok(resp: Any, code: int = 200) -> Any:
    assert resp.status_code == code, resp.text
    return resp.json()


def _problem(resp: Any) -> tuple[str, str]:
    assert resp.status_code == 422, resp.text
    found = resp.json()["problems"][0]
    return found["column"], found["message"]


def _list_csv(*codes: str) -> bytes:
    return ("household_code\n" + "".join(f"{c}\n" for c in codes)).encode()


def _report(rows: list[tuple[str, str, str]], header: tuple[str, ...] = REPORT_HEADER) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    for reference, status, amount in rows:
        w.writerow([reference, status, amount, "XOF", "2025-01-20", f"TX-{reference[-4:]}"])
    return out.getvalue().encode()


def _upload(client: TestClient, world: World, who: str, cycle_id: int, data: bytes,
            name: str = "report.csv") -> Any:
    return client.post(f"{API}/cycles/{cycle_id}/reconcile", files={"file": (name, data, "text/csv")},
                       headers=world.auth(who))


def _prepared_cycle(client: TestClient, world: World) -> tuple[str, int]:
    """PRG-0001 with its four households enrolled and its first cycle prepared by carla."""
    carla = world.auth(d.CASH)
    code = _ok(client.post(f"{API}/programmes", json=PROGRAMME, headers=carla), 201)["code"]
    _ok(client.post(f"{API}/programmes/{code}/enrolments", json={"run": world.run_id, "categories": ["high", "low"]},
                    headers=carla))
    _ok(client.post(f"{API}/programmes/{code}/activate", headers=carla))
    cycle_id = _ok(client.post(f"{API}/programmes/{code}/cycles", headers=carla), 201)["id"]
    _ok(client.post(f"{API}/cycles/{cycle_id}/prepare", headers=carla))
    return code, cycle_id


def _references(client: TestClient, world: World, cycle_id: int) -> dict[str, str]:
    """The due lines' references by the household's given name."""
    names = {code: name for name, code in world.households.items()}
    page = _ok(client.get(f"{API}/cycles/{cycle_id}/payments", params={"limit": 50}, headers=world.auth(d.CASH)))
    return {names[p["household_code"]]: p["reference"] for p in page["items"] if p["state"] in ("due", "sent")}


def test_a_cash_officer_runs_a_cycle_end_to_end(client: TestClient, world: World, engine: sa.Engine) -> None:
    carla, cindy, hh = world.auth(d.CASH), world.auth(d.APPROVER), world.households
    made = _ok(client.post(f"{API}/programmes", json=PROGRAMME, headers=carla), 201)
    code = made["code"]
    assert (code, made["state"], made["currency"], made["organisation"]) == ("PRG-0001", "draft", "XOF", "ONGA")
    assert (made["start_month"], made["end_month"], made["provider"]) == ("2025-01", "2025-03", "orange_money")
    assert made["formula"]["id"] == "rent_test" and made["sector_label"] == "Shelter and rent"

    # Enrol: a run's "high" households, then a list (one of them already in), then one household.
    by_run = _ok(client.post(f"{API}/programmes/{code}/enrolments", json={"run": world.run_id,
                                                                          "categories": ["high"]}, headers=carla))
    assert (by_run["found"], by_run["enrolled"], by_run["skipped"]) == (3, 3, 0)
    by_list = _ok(client.post(f"{API}/programmes/{code}/enrolments/upload", headers=carla,
                              files={"file": ("list.csv", _list_csv(hh["Djeneba"], hh["Awa"]), "text/csv")}))
    assert (by_list["found"], by_list["enrolled"], by_list["skipped"]) == (2, 1, 1)
    again = _ok(client.post(f"{API}/programmes/{code}/enrolments", json={"household": hh["Awa"]}, headers=carla))
    assert again["skipped"] == 1 and again["message"] == f"{code}: 0 households enrolled, 1 already enrolled (of 1)."
    page = _ok(client.get(f"{API}/programmes/{code}/households", params={"limit": 2}, headers=carla))
    assert page["total"] == 4 and len(page["items"]) == 2 and page["items"][0]["source"] == "run"

    assert _ok(client.post(f"{API}/programmes/{code}/activate", headers=carla))["state"] == "active"
    locked = client.patch(f"{API}/programmes/{code}", json={"name": "Renamed"}, headers=carla)
    assert locked.status_code == 409 and "only a draft programme can be changed" in locked.json()["detail"]

    cycle = _ok(client.post(f"{API}/programmes/{code}/cycles", headers=carla), 201)
    assert (cycle["number"], cycle["period"], cycle["state"]) == (1, "2025-01", "draft")
    prepared = _ok(client.post(f"{API}/cycles/{cycle['id']}/prepare", headers=carla))
    # Awa 25,000 + 2,500 for her baby, Binta 25,000, Djeneba 5,000; Coumba has no phone for mobile money.
    assert (prepared["state"], prepared["households"], prepared["due"], prepared["total_due"]) == (
        "prepared", 4, 3, 57_500)
    assert prepared["held"] == [{"reason": "no_phone", "label": "No mobile-money number", "households": 1}]
    twice = client.post(f"{API}/cycles/{cycle['id']}/prepare", headers=carla)
    assert twice.status_code == 409 and "cannot be prepared again" in twice.json()["detail"]

    held = _ok(client.get(f"{API}/cycles/{cycle['id']}/payments", params={"hold_reason": "no_phone"}, headers=carla))
    assert held["total"] == 1 and held["items"][0]["household_code"] == hh["Coumba"]
    due = _ok(client.get(f"{API}/cycles/{cycle['id']}/payments", params={"state": "due"}, headers=carla))
    assert due["total"] == 3 and {p["amount"] for p in due["items"]} == {27_500, 25_000, 5000}
    explained = _ok(client.get(f"{API}/cycles/{cycle['id']}/entitlement", params={"household": hh["Awa"]},
                               headers=carla))
    assert explained["amount"] == 27_500 and explained["currency"] == "XOF"
    assert {c["id"]: c["amount"] for c in explained["components"]} == {"amount": 25_000, "children_under5": 2500}
    assert explained["payment"]["state"] == "due" and explained["payment"]["amount"] == 27_500

    # Four eyes: carla prepared it, cindy approves it.
    refused = client.post(f"{API}/cycles/{cycle['id']}/approve", headers=carla)
    assert refused.status_code == 403 and "another person must approve it (four eyes)" in refused.json()["detail"]
    assert _ok(client.post(f"{API}/cycles/{cycle['id']}/approve", headers=cindy))["state"] == "approved"

    exported = client.post(f"{API}/cycles/{cycle['id']}/export", json={"provider": "orange_money"}, headers=carla)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="PRG-0001-1-orange_money.csv"'
    assert (exported.headers["x-payment-lines"], exported.headers["x-payment-total"]) == ("3", "57500")
    assert exported.headers["x-cycle-state"] == "sent"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 3 and {r["Amount"] for r in rows} == {"27500", "25000", "5000"}
    assert {r["Currency"] for r in rows} == {"XOF"} and all(r["MSISDN"].startswith("223") for r in rows)
    resent = client.post(f"{API}/cycles/{cycle['id']}/export", json={"provider": "orange_money"}, headers=carla)
    assert resent.content == exported.content  # a lost file: the same lines again, nothing changes
    assert resent.headers["x-payments-cancelled"] == "0"
    # Sent to Orange Money: never paid through another provider as well.
    twice_paid = client.post(f"{API}/cycles/{cycle['id']}/export", json={"provider": "cash_distribution"},
                             headers=carla)
    assert twice_paid.status_code == 409 and "was sent to Orange Money (orange_money)" in twice_paid.json()["detail"]
    other_report = client.post(f"{API}/cycles/{cycle['id']}/reconcile", data={"provider": "cash_distribution"},
                               files={"file": ("r.csv", _report([]), "text/csv")}, headers=carla)
    assert other_report.status_code == 409 and "reconciled with that provider only" in other_report.json()["detail"]

    refs = _references(client, world, cycle["id"])
    report = _report([(refs["Awa"], "SUCCESS", "27500"), (refs["Binta"], "FAILED", ""),
                      (refs["Djeneba"], "SUCCESS", "5000"), ("PRG-0001-1-NOPE", "SUCCESS", "100")])
    done = _ok(_upload(client, world, d.CASH, cycle["id"], report))
    assert (done["paid"], done["failed"], done["unclaimed"], done["problem_count"]) == (2, 1, 0, 1)
    assert done["cycle_state"] == "reconciled" and done["by_problem"] == {"unknown_reference": 1}
    assert done["problems"][0]["row"] == 5 and done["problems"][0]["kind"] == "unknown_reference"
    assert done["message"].startswith(f"Reconciliation {done['id']} of cycle {cycle['id']}: 2 paid, 1 failed")
    twice = _upload(client, world, d.CASH, cycle["id"], report, name="same-again.csv")
    assert twice.status_code == 409
    assert "the same report is never applied twice" in twice.json()["detail"]
    assert count_rows(engine, Reconciliation) == 1

    read = _ok(client.get(f"{API}/cycles/{cycle['id']}", headers=world.auth(d.IM)))
    assert read["state"] == "reconciled" and (read["prepared_by"], read["approved_by"]) == (d.CASH, d.APPROVER)
    now = {p["state"]: (p["lines"], p["amount"]) for p in read["payments"]}
    assert now == {"held": (1, 25_000), "paid": (2, 32_500), "failed": (1, 25_000)}
    assert [t["to_state"] for t in read["history"] if t["from_state"] != t["to_state"]][:4] == [
        "draft", "prepared", "approved", "sent"]
    listed = _ok(client.get(f"{API}/programmes/{code}/cycles", headers=carla))
    assert [(c["id"], c["state"]) for c in listed] == [(cycle["id"], "reconciled")]
    figures = _ok(client.get(f"{API}/programmes/{code}", headers=world.auth(d.IM)))
    assert (figures["enrolled"], figures["cycles"], figures["paid"], figures["currency"]) == (4, 1, 32_500, "XOF")
    assert "[entitlement]" in figures["formula_text"]
    indicators = _ok(client.get(f"{API}/cycles/{cycle['id']}/pdm", headers=carla))
    assert indicators["interviews"] == 0 and indicators["small"] is True
    assert {i["name"] for i in indicators["indicators"]} >= {"received", "felt_safe"}

    covered = _ok(client.get(f"{API}/coverage", params={"since": "2025-01", "until": "2025-03"}, headers=carla))
    assert (covered["total"]["assisted"], covered["total"]["amount_paid"]) == (2, 32_500)
    assert covered["since"] == "2025-01-01" and covered["until"] == "2025-03-31"
    ending = _ok(client.get(f"{API}/continuity", params={"within": 36}, headers=carla))
    assert [(c["programme"], c["enrolled"]) for c in ending] == [(code, 4)]

    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("assistance.%"))))
    assert {"assistance.enrolment.add", "assistance.cycle.prepared", "assistance.cycle.approved",
            "assistance.payments.export", "assistance.payments.reconcile", "assistance.payments.read",
            "assistance.entitlement.explain", "assistance.programme.read"} <= actions


def test_rejected_cycles_are_prepared_again_and_states_are_kept(client: TestClient, world: World) -> None:
    carla, cindy = world.auth(d.CASH), world.auth(d.APPROVER)
    code, cycle_id = _prepared_cycle(client, world)
    assert _problem(client.post(f"{API}/cycles/{cycle_id}/reject", json={}, headers=cindy)) == (
        "reason", "Say why the cycle is rejected.")
    rejected = _ok(client.post(f"{API}/cycles/{cycle_id}/reject", json={"reason": "Loyers à vérifier"}, headers=cindy))
    assert rejected["state"] == "rejected"
    early = client.post(f"{API}/cycles/{cycle_id}/export", json={"provider": "orange_money"}, headers=carla)
    assert early.status_code == 409 and "only an approved cycle is exported" in early.json()["detail"]
    assert _ok(client.post(f"{API}/cycles/{cycle_id}/prepare", headers=cindy))["state"] == "prepared"
    # cindy prepared it this time: carla approves.
    assert client.post(f"{API}/cycles/{cycle_id}/approve", headers=cindy).status_code == 403
    assert _ok(client.post(f"{API}/cycles/{cycle_id}/approve", headers=carla))["state"] == "approved"
    history = _ok(client.get(f"{API}/cycles/{cycle_id}", headers=carla))["history"]
    assert ("prepared", "rejected", "Loyers à vérifier") in [(t["from_state"], t["to_state"], t["reason"])
                                                             for t in history]
    busy = client.post(f"{API}/programmes/{code}/close", headers=carla)
    assert busy.status_code == 409 and "approved or sent" in busy.json()["detail"]
    second = _ok(client.post(f"{API}/programmes/{code}/cycles", headers=carla), 201)
    blank = client.post(f"{API}/cycles/{second['id']}/cancel", json={"reason": " "}, headers=carla)
    assert _problem(blank) == ("reason", "Say why the cycle is cancelled.")
    assert _ok(client.post(f"{API}/cycles/{second['id']}/cancel", json={"reason": "Doublon"},
                           headers=carla))["state"] == "cancelled"


def test_an_approved_cycle_is_sent_back_and_a_reconciled_one_closed(client: TestClient, world: World,
                                                                    engine: sa.Engine) -> None:
    carla, cindy = world.auth(d.CASH), world.auth(d.APPROVER)
    _code, cycle_id = _prepared_cycle(client, world)
    early = client.post(f"{API}/cycles/{cycle_id}/close", headers=carla)
    assert early.status_code == 409 and "This cycle is prepared and cannot become closed" in early.json()["detail"]
    _ok(client.post(f"{API}/cycles/{cycle_id}/approve", headers=cindy))
    mine = client.post(f"{API}/cycles/{cycle_id}/reject", json={"reason": "Oubli"}, headers=carla)
    assert mine.status_code == 403 and "another person must send it back once approved" in mine.json()["detail"]
    back = _ok(client.post(f"{API}/cycles/{cycle_id}/reject", json={"reason": "Loyer de Binta"}, headers=cindy))
    assert (back["state"], back["approved_at"]) == ("rejected", None)
    _ok(client.post(f"{API}/cycles/{cycle_id}/prepare", headers=carla))
    _ok(client.post(f"{API}/cycles/{cycle_id}/approve", headers=cindy))

    with session_scope(engine) as s:  # what exporting and reconciling do
        s.execute(sa.update(Payment).where(Payment.cycle_id == cycle_id, Payment.state == "due")
                  .values(state="paid", amount_paid=Payment.amount))
        s.execute(sa.update(Cycle).where(Cycle.id == cycle_id).values(state="reconciled"))
    refused = client.post(f"{API}/cycles/{cycle_id}/close", headers=world.auth(d.IM))
    assert refused.status_code == 403 and "assistance:payment:reconcile" in refused.json()["detail"]
    assert client.post(f"{API}/cycles/{cycle_id}/close", headers=world.auth(d.OTHER)).status_code == 404
    assert _problem(client.post(f"{API}/cycles/{cycle_id}/close", json={"note": "x" * 501}, headers=carla))[0] \
        == "note"
    closed = _ok(client.post(f"{API}/cycles/{cycle_id}/close", json={"note": "Rapport final reçu"}, headers=carla))
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    again = client.post(f"{API}/cycles/{cycle_id}/close", headers=carla)
    assert again.status_code == 409 and "it can no longer change" in again.json()["detail"]
    history = _ok(client.get(f"{API}/cycles/{cycle_id}", headers=world.auth(d.IM)))["history"]
    moves = [(t["from_state"], t["to_state"], t["reason"]) for t in history]
    assert ("approved", "rejected", "Loyer de Binta") in moves and moves[-1] == ("reconciled", "closed",
                                                                                 "Rapport final reçu")


def test_each_role_is_refused_what_it_may_not_do(client: TestClient, world: World, engine: sa.Engine) -> None:
    code, cycle_id = _prepared_cycle(client, world)
    reads = [f"{API}/programmes", f"{API}/programmes/{code}", f"{API}/cycles/{cycle_id}",
             f"{API}/cycles/{cycle_id}/payments", f"{API}/providers",
             f"{API}/coverage?since=2025-01"]
    for who in (VIEWER, d.REGISTRAR, FOCAL):
        for url in reads:
            resp = client.get(url, headers=world.auth(who))
            assert resp.status_code == 403, (who, url, resp.text)
            assert "assistance:programme:read" in resp.json()["detail"]
        refused = client.post(f"{API}/programmes", json=PROGRAMME, headers=world.auth(who))
        assert refused.status_code == 403 and "assistance:programme:write" in refused.json()["detail"]
        assert _upload(client, world, who, cycle_id, b"Reference\n").status_code == 403
    # The IM officer reads programmes and cycles, and changes nothing.
    ivan = world.auth(d.IM)
    assert [p["code"] for p in _ok(client.get(f"{API}/programmes", headers=ivan))] == [code]
    for url, body, permission in (
            (f"{API}/programmes", PROGRAMME, "assistance:programme:write"),
            (f"{API}/programmes/{code}/cycles", None, "assistance:cycle:prepare"),
            (f"{API}/cycles/{cycle_id}/approve", None, "assistance:cycle:approve"),
            (f"{API}/cycles/{cycle_id}/export", {"provider": "orange_money"}, "assistance:payment:export")):
        resp = client.post(url, json=body, headers=ivan)
        assert resp.status_code == 403 and permission in resp.json()["detail"], (url, resp.text)
    assert count_rows(engine, Programme) == 1 and count_rows(engine, Cycle) == 1


def test_another_organisation_finds_nothing(client: TestClient, world: World, engine: sa.Engine) -> None:
    code, cycle_id = _prepared_cycle(client, world)
    bert = world.auth(d.OTHER)
    assert _ok(client.get(f"{API}/programmes", headers=bert)) == []
    for method, url, body in (
            ("GET", f"{API}/programmes/{code}", None), ("PATCH", f"{API}/programmes/{code}", {"name": "Mine"}),
            ("POST", f"{API}/programmes/{code}/cancel", {"reason": "Mine"}),
            ("POST", f"{API}/programmes/{code}/enrolments", {"household": world.households["Awa"]}),
            ("GET", f"{API}/programmes/{code}/households", None), ("GET", f"{API}/programmes/{code}/cycles", None),
            ("POST", f"{API}/programmes/{code}/cycles", None), ("GET", f"{API}/cycles/{cycle_id}", None),
            ("GET", f"{API}/cycles/{cycle_id}/payments", None), ("POST", f"{API}/cycles/{cycle_id}/approve", None),
            ("POST", f"{API}/cycles/{cycle_id}/reject", {"reason": "Non"}), ("GET", f"{API}/cycles/{cycle_id}/pdm", None),
            ("POST", f"{API}/cycles/{cycle_id}/export", {"provider": "orange_money"})):
        resp = client.request(method, url, json=body, headers=bert)
        assert resp.status_code == 404, (method, url, resp.text)
    assert _upload(client, world, d.OTHER, cycle_id, _report([("X", "SUCCESS", "1")])).status_code == 404
    missing = client.get(f"{API}/programmes/{code}", headers=bert).json()["detail"]
    assert missing == f"No programme {code} that you may see."
    with session_scope(engine) as s:
        assert s.scalar(sa.select(Cycle.state)) == "prepared"
        assert s.scalar(sa.select(Programme.state)) == "active"


def test_bad_input_is_refused_with_the_field_and_nothing_is_written(client: TestClient, world: World,
                                                                   engine: sa.Engine) -> None:
    carla, cindy, hh = world.auth(d.CASH), world.auth(d.APPROVER), world.households
    bad = client.post(f"{API}/programmes", json={**PROGRAMME, "start_month": "2025-13", "planned_months": 99,
                                                 "provider": "western_union"}, headers=carla)
    assert bad.status_code == 422
    problems = {p["column"]: p["message"] for p in bad.json()["problems"]}
    assert problems["start_month"] == "Write the first month as YYYY-MM, such as 2025-03 (not 2025-13)."
    assert problems["planned_months"].startswith("From 1 to 36 months")
    assert problems["provider"].startswith("No payment provider western_union")
    assert count_rows(engine, Programme) == 0
    assert _problem(client.get(f"{API}/coverage", params={"since": "2025-13"}, headers=carla))[0] == "since"
    assert _problem(client.get(f"{API}/programmes", params={"state": "sleeping"}, headers=carla))[0] == "state"

    code, cycle_id = _prepared_cycle(client, world)
    assert _problem(client.post(f"{API}/programmes/{code}/enrolments",
                                json={"run": world.run_id, "household": hh["Awa"]}, headers=carla))[0] == "run"
    assert _problem(client.post(f"{API}/programmes/{code}/enrolments", json={"run": world.run_id, "budget": 90_000},
                                headers=carla)) == ("transfer_value", "The budget is incomplete: give transfer_value, "
                                                                      "months too.")
    listed = client.post(f"{API}/programmes/{code}/enrolments/upload", headers=carla,
                         files={"file": ("list.csv", _list_csv(hh["Awa"], "HH-NOPE"), "text/csv")})
    assert listed.status_code == 422 and listed.json()["problems"][0]["row"] == 3
    assert "nobody was enrolled" in listed.json()["detail"]
    lost = client.get(f"{API}/cycles/{cycle_id}/payments", params={"state": "lost"}, headers=carla)
    assert _problem(lost)[0] == "state"
    assert _problem(client.post(f"{API}/programmes/{code}/cancel", json={}, headers=carla))[0] == "reason"

    _ok(client.post(f"{API}/cycles/{cycle_id}/approve", headers=cindy))
    unknown = client.post(f"{API}/cycles/{cycle_id}/export", json={"provider": "western_union"}, headers=carla)
    assert _problem(unknown) == ("provider", "No payment provider western_union; known: cash_distribution, "
                                             "orange_money.")
    assert client.post(f"{API}/cycles/{cycle_id}/export", json={"provider": "orange_money"},
                       headers=carla).status_code == 200
    refs = _references(client, world, cycle_id)
    wrong = _upload(client, world, d.CASH, cycle_id, _report([(refs["Awa"], "SUCCESS", "27500")],
                                                             header=("Ref", "Status", "Paid")))
    assert wrong.status_code == 422 and "the columns Reference, Amount Paid" in wrong.json()["detail"]
    nothing = _upload(client, world, d.CASH, cycle_id, _report([(refs["Awa"], "SUCCESS", "99999"),
                                                                ("PRG-0009-1-X", "SUCCESS", "1")]))
    assert nothing.status_code == 422 and nothing.json()["problem_count"] == 2
    assert [p["kind"] for p in nothing.json()["problems"]] == ["amount_mismatch", "unknown_reference"]
    other = client.post(f"{API}/cycles/{cycle_id}/reconcile", data={"provider": "western_union"}, headers=carla,
                        files={"file": ("r.csv", _report([(refs["Awa"], "SUCCESS", "27500")]), "text/csv")})
    assert _problem(other)[0] == "provider"
    with session_scope(engine) as s:
        assert s.scalar(sa.select(Cycle.state)) == "sent"
        assert set(s.scalars(sa.select(Payment.state))) == {"sent", "held"}
        assert s.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 4
    assert count_rows(engine, Reconciliation) == 0


def test_an_export_cancels_the_lines_of_households_removed_after_approval(client: TestClient, world: World,
                                                                          engine: sa.Engine) -> None:
    _code, cycle_id = _prepared_cycle(client, world)
    _ok(client.post(f"{API}/cycles/{cycle_id}/approve", headers=world.auth(d.APPROVER)))
    with session_scope(engine) as s:
        registry.delete_household(session=s, actor=f.actor(s, d.ADMIN), code=world.households["Binta"],
                                  reason="Doublon")
    exported = client.post(f"{API}/cycles/{cycle_id}/export", json={"provider": "orange_money"},
                           headers=world.auth(d.CASH))
    assert exported.status_code == 200, exported.text
    assert (exported.headers["x-payment-lines"], exported.headers["x-payment-total"]) == ("2", "32500")
    assert exported.headers["x-payments-cancelled"] == "1"
    assert exported.headers["x-payments-cancelled-reasons"] == "removed=1"
    with session_scope(engine) as s:
        states = dict(s.execute(sa.select(Payment.state, sa.func.count()).where(Payment.cycle_id == cycle_id)
                                .group_by(Payment.state)).all())
    assert states == {"sent": 2, "cancelled": 1, "held": 1}
