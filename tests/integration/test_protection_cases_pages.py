"""The case pages over HTTP: a caseworker opens a GBV case, records its work and asks for closure; the
supervisor approves; the survivor's name stays hidden until shown (and that is audited); another
organisation's caseworker gets the same 404 for a real case code as for a made-up one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.protection.models import ProtectionCase
from tests import factories as f
from tests import protection_factories as pf
from tests.web import browsers, count_rows

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def open_as(engine: sa.Engine) -> Iterator[Open]:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "admin.a", "PA", role="admin")
    with browsers("/protection") as opener:
        yield opener


def _intake(csrf: str, **overrides: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "case_type": "gbv", "given_name": "Kadiatou", "family_name": "Sangaré", "sex": "f",
            "age": "19", "phone": "+223 70 12 34 56", "address": "Banconi", "may_call": "no", "call_when": "",
            "ask_for": "Tantie Fanta", "contact_notes": "", "summary": "Violences au marché.", "risk_level": "high",
            "area_pcode": f.BAMAKO_COMMUNE_IV, "household": "", "supervisor": "", "opened_on": ""}
    data.update(overrides)
    return data


def _code(location: str) -> str:
    found = re.search(r"/protection/cases/(CAS-[A-Z0-9]+)", location)
    assert found, location
    return found.group(1)


def test_gbv_case_from_intake_to_closure(open_as: Open, engine: sa.Engine) -> None:
    cw, csrf = open_as("cw.a")
    landing = cw.get("/protection")
    assert landing.status_code == 200 and 'href="/protection/cases/new"' in landing.text
    assert "names are encrypted and cannot be searched" in landing.text
    form = cw.get("/protection/cases/new")
    assert form.status_code == 200 and "Sup.A" in form.text

    bad = cw.post("/protection/cases/new", data=_intake(csrf, case_type="theft", area_pcode="ML000", summary=""))
    assert bad.status_code == 422
    assert 'id="f-case_type-error"' in bad.text and "theft" in bad.text and "ML000" in bad.text
    assert 'value="Kadiatou"' in bad.text
    assert count_rows(engine, ProtectionCase) == 0

    made = cw.post("/protection/cases/new", data=_intake(csrf), follow_redirects=False)
    assert made.status_code == 303
    code = _code(made.headers["location"])
    page = cw.get(made.headers["location"])
    assert page.status_code == 200 and "The case is open" in page.text
    assert "<strong>Do not call.</strong>" in page.text and "Tantie Fanta" in page.text
    assert "Kadiatou" not in page.text and "SV-" in page.text
    listed = cw.get("/protection")
    assert code in listed.text and "Kadiatou" not in listed.text

    shown = cw.get(f"/protection/cases/{code}?show=name")
    assert "Kadiatou Sangaré" in shown.text and "+223 70 12 34 56" in shown.text
    with session_scope(engine) as s:
        actions = s.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_case")).all()
    assert "protection.case.reveal_name" in actions and "protection.case.read" in actions

    assert cw.post(f"/protection/cases/{code}/stage", data={"csrf_token": csrf, "stage": "assessment"},
                   follow_redirects=False).status_code == 303
    entry = cw.post(f"/protection/cases/{code}/entries", data={"csrf_token": csrf, "kind": "plan", "text": "",
                                                                "service_type": "medical", "due_on": ""})
    assert entry.status_code == 422 and 'id="f-text-error"' in entry.text
    cw.post(f"/protection/cases/{code}/entries", data={"csrf_token": csrf, "kind": "plan",
                                                       "text": "Soins au CSCom de Banconi.",
                                                       "service_type": "medical", "due_on": "2030-01-01"})
    cw.post(f"/protection/cases/{code}/consents", data={"csrf_token": csrf, "purpose": "reporting", "granted": "yes",
                                                        "lawful_basis": "consent", "given_by": "survivor",
                                                        "given_on": "", "organisation": ""})
    twice = cw.post(f"/protection/cases/{code}/consents", data={"csrf_token": csrf, "purpose": "reporting",
                                                                "granted": "yes", "lawful_basis": "consent",
                                                                "given_by": "survivor", "given_on": "",
                                                                "organisation": ""})
    assert twice.status_code == 409 and "This consent is already recorded" in twice.text
    incident = cw.post(f"/protection/cases/{code}/incident",
                       data={"csrf_token": csrf, "incident_type": "physical_assault", "incident_month": "2026-01",
                             "account": "Frappée au marché."}, follow_redirects=False)
    assert incident.status_code == 303, incident.text[:2000]
    page = cw.get(f"/protection/cases/{code}")
    assert "Soins au CSCom de Banconi." in page.text and "Physical assault" in page.text
    assert "Counting in anonymous statistics" in page.text and "Withdraw" in page.text

    sup, sup_csrf = open_as("sup.a")
    page = sup.get(f"/protection/cases/{code}")
    assert 'id="closure-request"' not in page.text and "Only the caseworker requests the closure" in page.text
    by_supervisor = sup.post(f"/protection/cases/{code}/closure-request",
                             data={"csrf_token": sup_csrf, "closure_reason": "goals_met", "confirm_open_items": "1"})
    assert by_supervisor.status_code == 403

    page = cw.get(f"/protection/cases/{code}")
    assert "Still open on this case:" in page.text and 'id="f-confirm_open_items"' in page.text
    assert "Case plan action to do: Medical care" in page.text
    unconfirmed = cw.post(f"/protection/cases/{code}/closure-request", data={"csrf_token": csrf,
                                                                             "closure_reason": "goals_met"})
    assert unconfirmed.status_code == 422
    assert 'id="f-confirm_open_items-error"' in unconfirmed.text and "1 items are still open" in unconfirmed.text
    asked = cw.post(f"/protection/cases/{code}/closure-request", data={"csrf_token": csrf, "closure_reason": "goals_met",
                                                                       "confirm_open_items": "1"})
    assert "Waiting for the supervisor" in asked.text
    refused = cw.post(f"/protection/cases/{code}/closure-approve", data={"csrf_token": csrf})
    assert refused.status_code == 403

    page = sup.get(f"/protection/cases/{code}")
    assert "Approve the closure" in page.text and "Case plan action to do: Medical care" in page.text
    done = sup.post(f"/protection/cases/{code}/closure-approve", data={"csrf_token": sup_csrf})
    assert done.status_code == 200 and "The case is closed." in done.text


def test_outsiders_get_the_same_404(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        cw = f.actor(s, "cw.a")
        code = pf.case(s, cw, f.actor(s, "sup.a")).code
    outsider, _csrf = open_as("cw.b")
    real = outsider.get(f"/protection/cases/{code}")
    fake = outsider.get("/protection/cases/CAS-ZZZZZZ")
    assert real.status_code == fake.status_code == 404
    assert f"No case {code} that you may see." in real.text and "No case CAS-ZZZZZZ that you may see." in fake.text
    assert real.text.replace(code, "X") == fake.text.replace("CAS-ZZZZZZ", "X")
    assert code not in outsider.get("/protection").text
    posted = outsider.post(f"/protection/cases/{code}/closure-request", data={"csrf_token": _csrf,
                                                                              "closure_reason": "goals_met"})
    assert posted.status_code == 404
    admin, _admin_csrf = open_as("admin.a")
    assert admin.get(f"/protection/cases/{code}").status_code == 403


def test_in_french_and_the_household_page_shows_nothing(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        f.user(s, "reg.a", "PA", role="registration_officer")
        household = f.household(s, f.actor(s, "reg.a"))
    cw, csrf = open_as("cw.a")
    made = cw.post("/protection/cases/new", data=_intake(csrf, household=household, case_type="child_protection",
                                                         given_name="Ibrahim", family_name="Maïga", may_call="yes"),
                   follow_redirects=False)
    assert made.status_code == 303, made.text[:3000]
    code = _code(made.headers["location"])
    page = cw.get(f"/protection/cases/{code}")
    assert "Ibrahim Maïga" in page.text and household in page.text and "We may call." in page.text
    cw.post("/language", data={"csrf_token": csrf, "lang": "fr", "next": "/protection"})
    french = cw.get(f"/protection/cases/{code}")
    assert "Sécurité du contact" in french.text and "On peut appeler." in french.text
    assert "Ouvrir un cas" in cw.get("/protection").text

    registrar, _reg_csrf = open_as("reg.a")
    seen = registrar.get(f"/households/{household}")
    assert seen.status_code == 200
    assert code not in seen.text and "CAS-" not in seen.text and "SV-" not in seen.text
    assert registrar.get(f"/protection/cases/{code}").status_code == 403


def test_supervisor_shares_and_the_colleague_only_reads(open_as: Open, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        code = pf.case(s, f.actor(s, "cw.a"), f.actor(s, "sup.a")).code
    colleague, colleague_csrf = open_as("cw2.a")
    assert colleague.get(f"/protection/cases/{code}").status_code == 404
    sup, csrf = open_as("sup.a")
    refused = sup.post(f"/protection/cases/{code}/shares", data={"csrf_token": csrf, "colleague": "cw2.a",
                                                                 "share_reason": ""})
    assert refused.status_code == 422 and 'id="f-share_reason-error"' in refused.text
    shared = sup.post(f"/protection/cases/{code}/shares", data={"csrf_token": csrf, "colleague": "cw2.a",
                                                                "share_reason": "Relais pendant le congé"})
    assert "The case is shared" in shared.text and "Relais pendant le congé" in shared.text
    page = colleague.get(f"/protection/cases/{code}")
    assert page.status_code == 200 and 'id="read-only"' in page.text and "Show the name" not in page.text
    assert code in colleague.get("/protection").text
    wrote = colleague.post(f"/protection/cases/{code}/entries", data={"csrf_token": colleague_csrf, "kind": "note",
                                                                      "text": "Vu."})
    assert wrote.status_code == 403
    sup.post(f"/protection/cases/{code}/shares/revoke", data={"csrf_token": csrf, "colleague": "cw2.a"})
    assert colleague.get(f"/protection/cases/{code}").status_code == 404
