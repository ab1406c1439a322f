"""A GBV case from intake to closure in Chromium, in French, with a consented referral.

Awa (cw.a, caseworker of PA) opens a GBV case through the intake form: the page shows the survivor
code, not the name, and "Ne pas appeler". She records the incident and the survivor's consent to
services and reporting, tries to refer the case to PB's clinic (refused: no consent for PB), records
the consent to a referral to PB and sends it. Bintou (cw.b, caseworker of PB) finds the referral in
her organisation's inbox, accepts it, then reads the survivor code and how to make contact safely
(never the name), records the service given, and cannot open the case (the 404 page). Awa sees the
outcome, adds a case plan action (a date is asked for), marks it done and asks for closure; Salif
(sup.a, supervisor of PA) approves it: the case is closed. His access review shows who read and
changed the case, PB's answers included. The case, referral and review pages pass axe.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.protection import services as svc
from tests import factories as f
from tests import protection_factories as pf
from tests.browser.conftest import login
from tests.browser.test_accessibility import _check, _report

NAME = ("Mariam", "Coulibaly")
CLINIC = "Clinique Lafiabougou"
CASES = "/protection"  # where case work lands after the log-in


@pytest.fixture
def world(engine: sa.Engine) -> None:
    """PA (cw.a, sup.a) and PB (cw.b), all reading French; PB's clinic in the directory, in Commune IV."""
    with session_scope(engine) as s:
        pf.team(s)
        for name in ("cw.a", "sup.a", "cw.b"):
            f.accounts.user_by_name(session=s, username=name).language = "fr"
        svc.add_service(session=s, actor=SYSTEM, data=svc.ServiceIn.of(
            {"name": CLINIC, "service_type": "medical", "organisation": "PB", "area_pcode": f.BAMAKO_COMMUNE_IV,
             "opening_hours": "24h/24", "phone": "+223 20 22 33 44"}))


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/login"))


def _open_case(page: Page) -> str:
    """Intake, as the caseworker: the case page it lands on; returns the case code."""
    page.goto("/protection/cases/new")
    expect(page.locator("h1")).to_have_text("Ouvrir un cas")
    page.locator("#f-case_type").select_option("gbv")
    page.locator("#f-risk_level").select_option("high")
    page.locator("#f-area_pcode").fill(f.BAMAKO_COMMUNE_IV)
    page.locator("#f-given_name").fill(NAME[0])
    page.locator("#f-family_name").fill(NAME[1])
    page.locator("#f-sex").select_option("f")
    page.locator("#f-age").fill("24")
    page.locator("#f-phone").fill("+223 76 54 32 10")
    page.locator("#f-may_call").select_option("no")
    page.locator("#f-ask_for").fill("Tantie Sali")
    page.locator("#f-contact_notes").fill("Passer par le centre de santé")
    page.locator("#f-summary").fill("Agressée près du marché de Médine, venue au centre d'écoute.")
    page.get_by_role("button", name="Ouvrir le cas").click()
    expect(page.locator("#notice")).to_have_text("Le cas est ouvert. Vous en êtes le gestionnaire.")
    found = re.search(r"/protection/cases/(CAS-[0-9A-Z]+)", page.url)
    assert found, page.url
    return found.group(1)


def test_a_gbv_case_from_intake_to_closure(page: Page, base_url: str, world: None) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    server_errors: list[str] = []
    page.on("response", lambda r: server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)

    # 1. Intake: the survivor code shows, not the name; nobody calls.
    login(page, base_url, "cw.a", f.PASSWORD, dashboard_path=CASES)
    expect(page.locator("h1")).to_have_text("Dossiers de protection")
    code = _open_case(page)
    case_url = f"/protection/cases/{code}"
    expect(page.locator("h1")).to_contain_text(f"Cas {code}")
    survivor = page.locator("#survivor-code").inner_text().strip()
    assert re.fullmatch(r"SV-[0-9A-Z]+", survivor), survivor
    expect(page.locator("#person")).to_contain_text("Code de survivante")
    expect(page.locator("#main")).to_contain_text("Le nom et les coordonnées d'une survivante de VBG sont masqués.")
    expect(page.locator("#main")).not_to_contain_text(NAME[0])
    expect(page.locator("#main")).not_to_contain_text(NAME[1])
    expect(page.locator("#contact-safety")).to_contain_text("Ne pas appeler.")
    expect(page.locator("#contact-safety")).to_contain_text("Tantie Sali")
    expect(page.locator("#contact-safety")).to_contain_text("Passer par le centre de santé")
    expect(page.locator('#status [data-field="state"]')).to_have_text("En cours")
    _check(axe, page, "/protection/cases/CAS (opened)", found)

    # 2. The incident and the consents to services and reporting.
    page.get_by_role("link", name="Enregistrer un incident").click()
    expect(page.locator("h1")).to_have_text("Enregistrer un incident de VBG")
    page.locator("#f-incident_type").select_option("physical_assault")
    page.locator("#f-incident_date").fill(date.today().isoformat())
    page.get_by_role("button", name="Enregistrer l'incident").click()
    expect(page.locator("#notice")).to_have_text("L'incident a été enregistré.")
    expect(page.locator("[data-incident]")).to_contain_text("Agression physique")
    for purpose in ("services", "reporting"):
        page.locator("#f-purpose").select_option(purpose)
        page.get_by_role("button", name="Enregistrer le consentement").click()
        expect(page.locator("#notice")).to_have_text("Le consentement a été enregistré.")
    expect(page.locator("#consents tbody tr")).to_have_count(2)

    # 3. A referral to PB's clinic: refused without the consent to a referral to PB...
    page.locator("#referrals").get_by_role("link", name="Référer ce cas").click()
    expect(page.locator("h1")).to_have_text(f"Référer le cas {code}")
    expect(page.locator("#consents")).to_contain_text("Aucun consentement au référencement")
    clinic = page.locator("#service-choices tbody tr", has_text=CLINIC)
    expect(clinic).to_contain_text("Pas de consentement pour PB")
    clinic.get_by_role("radio").check()
    page.locator("#f-note").fill("Soins médicaux sous 72 heures.")
    page.get_by_role("button", name="Envoyer le référencement").click()
    expect(page.locator("#f-service-error")).to_contain_text("Aucun consentement de la survivante au référencement "
                                                             "vers PB")
    expect(page.locator("#f-note")).to_have_value("Soins médicaux sous 72 heures.")
    _check(axe, page, "/protection/cases/CAS/referrals/new (refused)", found)

    # ... recorded on the case, then sent.
    page.goto(case_url)
    page.locator("#f-purpose").select_option("referral")
    page.locator("#f-organisation").select_option("PB")
    page.get_by_role("button", name="Enregistrer le consentement").click()
    expect(page.locator("#notice")).to_have_text("Le consentement a été enregistré.")
    expect(page.locator("#consents tbody tr")).to_have_count(3)
    page.goto(f"{case_url}/referrals/new")
    expect(page.locator("#consents")).to_contain_text("PB")
    clinic.get_by_role("radio").check()
    page.locator("#f-note").fill("Soins médicaux sous 72 heures.")
    page.get_by_role("button", name="Envoyer le référencement").click()
    expect(page.locator("#notice")).to_have_text("Le référencement a été envoyé.")
    referral = page.locator("h1").inner_text().split()[-1]
    assert re.fullmatch(r"REF-[0-9A-Z]{6}", referral), referral
    expect(page.locator("#state")).to_have_text("Envoyé, en attente de réponse")
    _log_out(page)

    # 4. PB accepts it, then reads the survivor code, never the name; and no way into the case.
    login(page, base_url, "cw.b", f.PASSWORD, dashboard_path=CASES)
    page.goto("/protection/referrals")
    expect(page.locator("h1")).to_have_text("Référencements")
    row = page.locator(f'#referrals tr[data-code="{referral}"]')
    expect(row).to_contain_text("PA")
    expect(page.locator("#main")).not_to_contain_text(code)
    row.get_by_role("link", name=referral).click()
    expect(page.locator("#state")).to_have_text("Envoyé, en attente de réponse")
    expect(page.locator("#shared-hidden")).to_be_visible()  # what was shared: for whoever accepts it
    for hidden in (*NAME, code, "+223 76 54 32 10"):
        expect(page.locator("#main")).not_to_contain_text(hidden)
    _check(axe, page, "/protection/referrals/REF (received)", found)
    page.locator("#f-accept-note").fill("Rendez-vous lundi à 9 h.")
    page.get_by_role("button", name="Accepter le référencement").click()
    expect(page.locator("#notice")).to_have_text("Le référencement a été accepté.")
    expect(page.locator("#state")).to_have_text("Acceptée")
    expect(page.locator("#shared")).to_contain_text(survivor)
    expect(page.locator("#shared")).to_contain_text("Non : ne pas appeler")
    expect(page.locator("#shared")).to_contain_text("Tantie Sali")
    expect(page.locator("#note")).to_have_text("Soins médicaux sous 72 heures.")
    for hidden in (*NAME, code, "+223 76 54 32 10"):
        expect(page.locator("#main")).not_to_contain_text(hidden)
    _check(axe, page, "/protection/referrals/REF (accepted)", found)
    page.locator("#f-complete-outcome").select_option("service_given")  # the clinic saw her
    page.get_by_role("button", name="Enregistrer le résultat").click()
    expect(page.locator("#notice")).to_have_text("Le résultat a été enregistré.")
    expect(page.locator("#outcome")).to_have_text("Service fourni")
    response = page.goto(case_url)
    assert response is not None and response.status == 404
    expect(page.locator("#main")).to_contain_text(f"Aucun dossier {code} que vous puissiez voir.")
    expect(page.locator("#main")).not_to_contain_text(NAME[0])
    missing = page.goto("/protection/cases/CAS-ZZZZZZ")  # the same page as for a case that does not exist
    assert missing is not None and missing.status == 404
    expect(page.locator("#main")).to_contain_text("Aucun dossier CAS-ZZZZZZ que vous puissiez voir.")
    _log_out(page)

    # 5. Back to the caseworker: the service given; a plan action done; closure requested.
    login(page, base_url, "cw.a", f.PASSWORD, dashboard_path=CASES)
    page.goto(case_url)
    expect(page.locator(f'#case-referrals tr[data-code="{referral}"]')).to_contain_text("Service fourni")
    page.locator("#f-kind").select_option("plan")
    page.locator("#f-service_type").select_option("medical")
    page.locator("#f-text").fill("Accompagner la survivante au rendez-vous de la clinique.")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.locator("#f-due_on-error")).to_contain_text("Obligatoire : une date")  # a plan action has a date
    expect(page.locator("#f-text")).to_have_value("Accompagner la survivante au rendez-vous de la clinique.")
    page.locator("#f-due_on").fill(date.today().isoformat())
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.locator("#notice")).to_have_text("L'entrée a été ajoutée.")
    entry = page.locator("#entries tbody tr", has_text="Accompagner la survivante")
    expect(entry).to_contain_text("À faire")
    entry.get_by_role("button", name="Marquer fait").click()
    expect(page.locator("#notice")).to_have_text("L'action est marquée faite.")
    expect(entry).to_contain_text("Terminée")
    expect(entry.get_by_role("button", name="Marquer fait")).to_have_count(0)
    _check(axe, page, "/protection/cases/CAS (referred, plan done)", found)
    page.locator("#f-closure_reason").select_option("goals_met")
    page.get_by_role("button", name="Demander la clôture").click()
    expect(page.locator("#notice")).to_have_text("Clôture demandée : le superviseur l'approuvera ou la renverra.")
    expect(page.locator('#status [data-field="state"]')).to_have_text("Clôture demandée")
    expect(page.locator("#actions")).to_contain_text("En attente de l'approbation de la clôture par le superviseur.")
    expect(page.get_by_role("button", name="Approuver la clôture")).to_have_count(0)
    _log_out(page)

    # 6. The supervisor approves the closure.
    login(page, base_url, "sup.a", f.PASSWORD, dashboard_path=CASES)
    page.get_by_role("link", name=code).click()
    expect(page.locator('#status [data-field="state"]')).to_have_text("Clôture demandée")
    page.get_by_role("button", name="Approuver la clôture").click()
    expect(page.locator("#notice")).to_have_text("Le cas est clôturé.")
    expect(page.locator('#status [data-field="state"]')).to_have_text("Clôturé")
    expect(page.locator("#facts")).to_contain_text("Clôturé le")
    expect(page.locator("#referrals").get_by_role("link", name="Référer ce cas")).to_have_count(0)
    _check(axe, page, "/protection/cases/CAS (closed)", found)

    # 7. The access review: who read and changed the case, PB's answer to the referral included.
    page.goto("/protection/audit")
    expect(page.locator("h1")).to_have_text("Revue des accès")
    page.locator("#f-case").fill(code)
    page.get_by_role("button", name="Filtrer").click()
    accesses = page.locator(f'#accesses tr[data-case="{code}"]')
    expect(accesses.first).to_be_visible()
    expect(page.locator("nav.pager")).to_have_count(0)  # one page: every event of the case is below
    table = page.locator("#accesses")
    for who, action in (("cw.a", "protection.case.open"), ("cw.a", "protection.case.read"),
                        ("cw.a", "protection.incident.record"), ("cw.a", "protection.consent.record"),
                        ("cw.a", "protection.referral.send"), ("cw.b", "protection.referral.read"),
                        ("cw.b", "protection.referral.accept"), ("cw.b", "protection.referral.complete"),
                        ("cw.a", "protection.case.entry_done"), ("cw.a", "protection.case.closure_request"),
                        ("sup.a", "protection.case.read"), ("sup.a", "protection.case.closure_approve")):
        expect(accesses.filter(has_text=who).filter(has_text=action).first).to_be_visible()
    # PB's attempt at the case's URL is not in the review: a refusal is answered like a missing case, not logged on it.
    expect(accesses.filter(has_text="cw.b").filter(has_text="protection.case.read")).to_have_count(0)
    expect(table).not_to_contain_text(NAME[0])
    _check(axe, page, "/protection/audit?case=CAS", found)
    assert not found, _report(found)
    assert not server_errors, server_errors
