"""Referrals over HTTP, as people use them: a caseworker refers a case from the directory — refused
without consent for that organisation, sent with it; the receiving organisation reads the shared
summary (never the case: 404), accepts and records the outcome; the caseworker sees it; a third
organisation sees nothing. The API does the same, with the same rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts.models import Organisation
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.protection import consent
from jatigi.protection import services as svc
from jatigi.protection.models import ProtectionCase, Referral
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import browsers, count_rows


@dataclass(frozen=True)
class World:
    case_code: str
    case_id: int
    survivor_code: str
    clinic_id: int  # PB's clinic
    legal_id: int  # PC's legal aid


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        team = pf.team(s)
        f.org(s, "PC")
        f.user(s, "cw.c", "PC", role="caseworker")
        case = pf.case(s, team.caseworker, team.supervisor)
        clinic = svc.add_service(session=s, actor=SYSTEM, data=svc.ServiceIn.of(
            {"name": "Clinique Lafiabougou", "service_type": "medical", "organisation": "PB",
             "area_pcode": f.BAMAKO_COMMUNE_IV, "opening_hours": "24h/24"}))
        legal = svc.add_service(session=s, actor=SYSTEM, data=svc.ServiceIn.of(
            {"name": "Aide juridique Bamako", "service_type": "legal", "organisation": "PC", "area_pcode": "ML09"}))
        svc.add_service(session=s, actor=SYSTEM, data=svc.ServiceIn.of(
            {"name": "Clinique de Mopti", "service_type": "medical", "organisation": "PB",
             "area_pcode": f.MOPTI_COMMUNE}))
        pc = s.scalar(sa.select(Organisation.id).where(Organisation.acronym == "PC"))
        consent.record_consent(session=s, actor=team.caseworker, case=case, purpose="referral", granted=True,
                               organisation_id=pc)
        return World(case.code, case.id, case.survivor_code, clinic.id, legal.id)


@pytest.fixture
def open_as(world: World) -> Iterator:  # type: ignore[type-arg]
    with browsers("/protection/referrals") as opener:
        yield opener


def test_refer_from_the_directory_answer_and_see_the_outcome(world: World, open_as, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    cw, csrf = open_as("cw.a")
    form = cw.get(f"/protection/cases/{world.case_code}/referrals/new")
    assert form.status_code == 200
    assert "Consent to a referral recorded for: PC." in form.text
    assert "Clinique Lafiabougou" in form.text and "Aide juridique Bamako" in form.text
    assert "Clinique de Mopti" not in form.text  # another area
    assert "No consent for PB" in form.text
    assert 'id="override"' not in form.text  # override fields: the case's supervisor only

    data = {"csrf_token": csrf, "service": str(world.clinic_id), "note": "Besoin de soins sous 72h."}
    refused = cw.post(f"/protection/cases/{world.case_code}/referrals/new", data=data)
    assert refused.status_code == 422
    assert re.search(r'id="f-service-error">No consent of the survivor to a referral to PB \(Organisation PB\)',
                     refused.text)
    assert "Besoin de soins sous 72h." in refused.text  # what was typed is kept
    # Override fields posted by the caseworker are ignored: still refused.
    again = cw.post(f"/protection/cases/{world.case_code}/referrals/new",
                    data={**data, "override_reason": "Urgence vitale, pas le temps."})
    assert again.status_code == 422 and count_rows(engine, Referral) == 0

    sent = cw.post(f"/protection/cases/{world.case_code}/referrals/new",
                   data={**data, "service": str(world.legal_id), "urgent": "1"}, follow_redirects=False)
    assert sent.status_code == 303
    code = sent.headers["location"].split("/")[-1].split("?")[0]
    page = cw.get(sent.headers["location"]).text
    assert "The referral was sent." in page and world.case_code in page
    assert "Sent with the survivor&#39;s consent to this organisation." in page

    receiver, rcsrf = open_as("cw.c")
    inbox = receiver.get("/protection/referrals").text
    assert code in inbox and world.case_code not in inbox
    detail = receiver.get(f"/protection/referrals/{code}").text  # before accepting: what is needed to decide
    assert world.survivor_code not in detail and "Besoin de soins sous 72h." not in detail
    assert "Commune IV (ML090104)" in detail and "Not shared: survivor code only" in detail
    assert "is shown to the person who accepts the referral" in detail
    assert "Aminata" not in detail and world.case_code not in detail
    assert "Accept the referral" in detail and "Withdraw the referral" not in detail
    assert receiver.get(f"/protection/cases/{world.case_code}").status_code == 404

    no_reason = receiver.post(f"/protection/referrals/{code}/decline", data={"csrf_token": rcsrf, "note": ""})
    assert no_reason.status_code == 422 and 'id="f-decline-note-error">Say why' in no_reason.text
    accepted = receiver.post(f"/protection/referrals/{code}/accept", data={"csrf_token": rcsrf,
                                                                          "note": "RDV lundi 9h."})
    assert "The referral was accepted." in accepted.text
    assert world.survivor_code in accepted.text and "Besoin de soins sous 72h." in accepted.text
    done = receiver.post(f"/protection/referrals/{code}/complete", data={"csrf_token": rcsrf,
                                                                        "outcome": "service_given", "note": ""})
    assert "The outcome was recorded." in done.text

    outsider, _ = open_as("cw.b")  # PB: not the receiving organisation of this referral
    assert code not in outsider.get("/protection/referrals").text
    hidden = outsider.get(f"/protection/referrals/{code}")
    missing = outsider.get("/protection/referrals/REF-ZZZZZZ")
    assert hidden.status_code == missing.status_code == 404
    assert (hidden.text.replace(code, "X").count("No referral X that you may see.")
            == missing.text.replace("REF-ZZZZZZ", "X").count("No referral X that you may see.") == 1)

    sent_box = cw.get("/protection/referrals", params={"box": "sent"}).text
    assert code in sent_box and "Service given" in sent_box
    final = cw.get(f"/protection/referrals/{code}").text
    assert "RDV lundi 9h." in final
    with session_scope(engine) as s:
        actions = set(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_case",
                                                                   AuditEvent.entity_id == str(world.case_id))))
    assert {"protection.referral.send", "protection.referral.read", "protection.referral.accept",
            "protection.referral.complete"} <= actions


def test_supervisor_override_in_the_page(world: World, open_as, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    sup, csrf = open_as("sup.a")
    form = sup.get(f"/protection/cases/{world.case_code}/referrals/new").text
    assert 'id="override"' in form
    short = sup.post(f"/protection/cases/{world.case_code}/referrals/new",
                     data={"csrf_token": csrf, "service": str(world.clinic_id), "override_reason": "vite"})
    assert short.status_code == 422 and 'id="f-override_reason-error">Say why it cannot wait' in short.text
    done = sup.post(f"/protection/cases/{world.case_code}/referrals/new",
                    data={"csrf_token": csrf, "service": str(world.clinic_id),
                          "override_reason": "Urgence médicale: moins de 72 heures."})
    assert "Sent without consent by Sup.A: Urgence médicale" in done.text
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "protection.referral.override")) == 1


@pytest.fixture
def api(world: World, engine: sa.Engine) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    with session_scope(engine) as s:
        tokens = {n: {"Authorization": f"Bearer {f.token(s, n)}"} for n in ("cw.a", "sup.a", "cw.b", "cw.c")}
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        yield client, tokens


def test_api_send_answer_and_refuse(world: World, api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, t = api
    body = {"case": world.case_code, "service_id": world.clinic_id}
    refused = client.post("/api/v1/protection/referrals", json=body, headers=t["cw.a"])
    assert refused.status_code == 422
    assert "No consent of the survivor to a referral to PB" in refused.json()["problems"][0]["message"]
    over = client.post("/api/v1/protection/referrals", json={**body, "override_reason": "x" * 20}, headers=t["cw.a"])
    assert over.status_code == 403
    hidden = client.post("/api/v1/protection/referrals", json=body, headers=t["cw.b"])
    missing = client.post("/api/v1/protection/referrals", json={**body, "case": "CAS-ZZZZZZ"}, headers=t["cw.b"])
    assert hidden.status_code == missing.status_code == 404

    sent = client.post("/api/v1/protection/referrals", json={"case": world.case_code, "organisation": "PC",
                                                             "service_type": "legal", "share_identity": True},
                       headers=t["cw.a"])
    assert sent.status_code == 201, sent.text
    code = sent.json()["code"]
    assert sent.json()["with_consent"] is True and sent.json()["may"] == ["withdraw"]
    got = client.get(f"/api/v1/protection/referrals/{code}", headers=t["cw.c"]).json()
    assert got["case"] is None and got["shared"] == {} and got["may"] == ["accept", "decline"]
    assert got["identity_shared"] is True and got["area"] == "Commune IV (ML090104)" and "Aminata" not in str(got)
    assert client.get(f"/api/v1/protection/cases/{world.case_code}", headers=t["cw.c"]).status_code == 404
    assert client.get(f"/api/v1/protection/referrals/{code}", headers=t["cw.b"]).status_code == 404
    assert client.post(f"/api/v1/protection/referrals/{code}/complete", json={"outcome": "service_given"},
                       headers=t["cw.c"]).status_code == 409  # not accepted yet
    declined = client.post(f"/api/v1/protection/referrals/{code}/decline", json={"note": "Plus de place."},
                           headers=t["cw.c"])
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    listed = client.get("/api/v1/protection/referrals", params={"box": "sent"}, headers=t["cw.a"]).json()
    assert [(i["code"], i["state"], i["case"]) for i in listed["items"]] == [(code, "declined", world.case_code)]
    assert client.get("/api/v1/protection/referrals", headers=t["cw.b"]).json()["total"] == 0


def test_a_double_submit_and_a_consent_ended_are_told_plainly(world: World, open_as, engine: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    cw, csrf = open_as("cw.a")
    data = {"csrf_token": csrf, "service": str(world.legal_id)}
    first = cw.post(f"/protection/cases/{world.case_code}/referrals/new", data=data, follow_redirects=False)
    code = first.headers["location"].split("/")[-1].split("?")[0]
    again = cw.post(f"/protection/cases/{world.case_code}/referrals/new", data=data)
    assert again.status_code == 422
    assert re.search(rf'id="f-service-error">Referral {code} of this case to PC \(Organisation PC\) for this type '
                     r'of service is still open', again.text)
    assert count_rows(engine, Referral) == 1

    with session_scope(engine) as s:  # the survivor withdraws her consent to PC
        referral = s.scalar(sa.select(Referral).where(Referral.code == code))
        assert referral is not None and referral.consent_id is not None
        case = s.get(ProtectionCase, world.case_id)
        consent.withdraw_consent(session=s, actor=f.actor(s, "cw.a"), case=case, consent_id=referral.consent_id)
    receiver, rcsrf = open_as("cw.c")
    page = receiver.get(f"/protection/referrals/{code}").text
    assert "This referral was withdrawn or its consent ended" in page and "Accept the referral" not in page
    refused = receiver.post(f"/protection/referrals/{code}/accept", data={"csrf_token": rcsrf, "note": ""})
    assert refused.status_code == 409 and "This referral was withdrawn or its consent ended" in refused.text
    own = cw.get(f"/protection/referrals/{code}").text
    assert 'id="consent-withdrawn"' in own and "Withdraw the referral" in own
