"""A month of cash assistance in the browser, in French: a cash officer creates a programme, enrols
households from a list, creates and prepares the first cycle (and is told she may not approve
it); a second cash officer approves it; the first downloads the mobile-money file and uploads the
operator's report; the cycle shows reconciled. The assistance pages pass axe."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from jatigi.core.i18n import money, use_language
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_accessibility import _check, _report
from tests.unit.assistance import programme_data as d


@pytest.fixture
def codes(engine: sa.Engine) -> list[str]:
    """ONGA with carla and cindy, cash officers reading French, and two households with phones."""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, d.ORG)
        f.user(s, d.CASH, d.ORG, "cash_officer", language="fr")
        f.user(s, d.APPROVER, d.ORG, "cash_officer", language="fr")
        f.user(s, d.REGISTRAR, d.ORG, "registration_officer", language="fr")
        return [d.household(s, "Aminata", baby=True), d.household(s, "Fanta", rent=20_000)]


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/login"))


def test_a_month_of_cash_assistance(page: Page, base_url: str, codes: list[str], tmp_path: Path) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    login(page, base_url, d.CASH, f.PASSWORD)
    page.get_by_role("link", name="Assistance", exact=True).click()
    expect(page.locator("h1")).to_have_text("Programmes d’assistance monétaire")
    expect(page.locator("#main")).to_contain_text("Aucun programme pour l’instant.")
    page.get_by_role("link", name="Nouveau programme").click()

    # The form refuses a programme without a name, beside the field, keeping what was typed.
    page.get_by_label("Premier mois").fill("2025-01")
    page.get_by_label("Prestataire de paiement").select_option("orange_money")
    page.get_by_role("button", name="Créer le programme").click()
    expect(page.locator("#f-name-error")).to_have_text("Donnez un nom au programme.")
    expect(page.get_by_label("Premier mois")).to_have_value("2025-01")
    _check(axe, page, "/assistance/programmes/new (with problems)", found)
    page.locator("#f-name").fill("Loyers de Bamako")
    page.get_by_label("Bailleur de fonds").fill("ECHO")
    page.get_by_role("button", name="Créer le programme").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Programme PRG-\d{4} : Loyers de Bamako$"))
    expect(page.locator('[data-field="state"]')).to_have_text("Brouillon")
    programme_url = page.url.split("?")[0]

    # Enrol from a list of household codes.
    page.locator("#f-list_file").set_input_files(files=[{
        "name": "menages.csv", "mimeType": "text/csv",
        "buffer": ("household_code\n" + "\n".join(codes) + "\n").encode()}])
    page.get_by_role("button", name="Inscrire la liste").click()
    expect(page.locator("#notice")).to_have_text("2 ménages inscrits (2 trouvés, 0 déjà inscrits).")
    expect(page.locator("#enrolled tbody tr")).to_have_count(2)
    _check(axe, page, "/assistance/programmes/PRG (draft, enrolled)", found)
    page.get_by_role("button", name="Activer").click()
    expect(page.locator('[data-field="state"]')).to_have_text("Actif")

    # The first cycle, prepared by carla, who may not approve it.
    page.get_by_role("button", name="Créer le cycle suivant").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Cycle 1 de PRG-\d{4} : 2025-01$"))
    cycle_url = page.url.split("?")[0]
    page.get_by_role("button", name="Préparer le cycle").click()
    expect(page.locator('[data-field="state"]')).to_have_text("Préparé")
    expect(page.locator('[data-figure="due"]')).to_have_text("2")
    expect(page.locator("#four-eyes")).to_contain_text("une autre personne doit l’approuver")
    expect(page.get_by_role("button", name="Approuver le cycle")).to_have_count(0)
    _check(axe, page, "/assistance/cycles/ID (prepared)", found)
    _log_out(page)

    # cindy approves it.
    login(page, base_url, d.APPROVER, f.PASSWORD)
    page.goto(cycle_url)
    page.get_by_role("button", name="Approuver le cycle").click()
    expect(page.locator('[data-field="state"]')).to_have_text("Approuvé")
    _log_out(page)

    # carla downloads the mobile-money file: the cycle is sent.
    login(page, base_url, d.CASH, f.PASSWORD)
    page.goto(cycle_url)
    page.get_by_label("Prestataire de paiement").select_option("orange_money")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le fichier de paiement").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert re.fullmatch(r"PRG-\d{4}-cycle-1-orange_money\.csv", saved.name)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert len(rows) == 2 and all(r["MSISDN"].startswith("223") and r["Currency"] == "XOF" for r in rows)
    page.goto(cycle_url)
    expect(page.locator('[data-field="state"]')).to_have_text("Envoyé au prestataire")

    # The operator's report: both paid.
    report = io.StringIO()
    writer = csv.writer(report)
    writer.writerow(["Reference", "Status", "Amount Paid", "Currency", "Date", "Transaction ID"])
    writer.writerows([r["Reference"], "SUCCESS", r["Amount"], "XOF", "2025-01-20", f"T{i}"]
                     for i, r in enumerate(rows))
    page.locator("#f-report").set_input_files(files=[{"name": "rapport-orange.csv", "mimeType": "text/csv",
                                                      "buffer": report.getvalue().encode()}])
    page.get_by_role("button", name="Rapprocher").click()
    expect(page.locator('[data-field="state"]')).to_have_text("Rapproché")
    expect(page.locator("#reconciliation-result")).to_contain_text(
        "Rapport rapport-orange.csv appliqué : 2 payés, 0 échoués, 0 non réclamés")
    expect(page.locator('#payment-states [data-state="paid"]')).to_contain_text("2")
    _check(axe, page, "/assistance/cycles/ID (reconciled)", found)

    # The programme shows what was paid; the coverage page counts the households assisted.
    page.goto(programme_url)
    total = sum(int(r["Amount"]) for r in rows)
    with use_language("fr"):
        expect(page.locator('[data-field="paid"]')).to_have_text(money(total))
    page.get_by_role("link", name="Couverture et lacunes").click()
    page.get_by_label("Du mois").fill("2025-01")
    page.get_by_label("Au mois").fill("2025-03")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator('#coverage tfoot td.num').nth(2)).to_have_text("2")
    _check(axe, page, "/assistance/coverage", found)
    assert not found, _report(found)
