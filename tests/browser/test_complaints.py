"""Complaints in the browser, in French: a cash officer records a complaint at the help desk (the
form first refuses it without what the person said), finds it in the queue, takes it and resolves
it. The complaint pages pass axe."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_accessibility import _check, _report
from tests.unit.assistance import feedback_data as fd


@pytest.fixture
def paid(engine: sa.Engine) -> fd.Paid:
    """ONGA with carla, a cash officer reading French, and a programme paying three households."""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "carla", "ONGA", "cash_officer", language="fr")
        f.user(s, "rita", "ONGA", "registration_officer", language="fr")
        return fd.programme(s)


def test_record_find_and_resolve_a_complaint(page: Page, base_url: str, paid: fd.Paid) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    login(page, base_url, "carla", f.PASSWORD)
    page.get_by_role("link", name="Plaintes", exact=True).click()
    expect(page.locator("h1")).to_have_text("Plaintes et retours")
    expect(page.locator("#main")).to_contain_text("Aucune plainte ne correspond.")
    page.get_by_role("link", name="Enregistrer une plainte").click()
    expect(page.locator("h1")).to_have_text("Enregistrer une plainte")

    page.get_by_label("Canal").select_option("help_desk")
    page.get_by_label("Catégorie").select_option("not_received")
    page.get_by_label("Priorité").select_option("high")
    page.get_by_label("Référence du paiement").fill(paid.references[1][1])
    page.get_by_label("Nom de la personne plaignante").fill("Mariam Coulibaly")
    page.get_by_role("button", name="Enregistrer la plainte").click()
    expect(page.locator("#f-description-error")).to_have_text("Cette valeur est obligatoire.")
    expect(page.locator("#f-description")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Nom de la personne plaignante")).to_have_value("Mariam Coulibaly")
    _check(axe, page, "/complaints/new (with problems)", found)

    page.get_by_label("Ce que la personne a dit").fill("Le paiement de juin n'est jamais arrivé.\nElle a trois enfants.")
    page.get_by_role("button", name="Enregistrer la plainte").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"^Plainte CMP-[A-Z0-9]{8}$"))
    code = page.locator("h1").inner_text().split()[-1]
    expect(page.locator("#description")).to_have_text("Le paiement de juin n'est jamais arrivé.\nElle a trois enfants.")
    expect(page.locator("#facts")).to_contain_text(paid.households[1])
    _check(axe, page, f"/complaints/{code}", found)

    # Found again from the queue by the household's code.
    page.get_by_role("link", name="Plaintes et retours").first.click()
    page.get_by_label("Plainte, ménage ou paiement").fill(paid.households[1])
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Paiement non reçu")
    expect(rows.first).not_to_contain_text("Mariam")
    _check(axe, page, "/complaints?q=…", found)
    rows.first.get_by_role("link", name=code).click()

    page.get_by_label("Confier à").select_option("carla")
    page.get_by_role("button", name="Confier", exact=True).click()
    expect(page.locator('[data-field="state"]')).to_have_text("En cours")
    page.get_by_label("Résolution").fill("Payé en espèces le 4 juillet au bureau de Kalaban.")
    page.get_by_role("button", name="Marquer comme résolue").click()
    expect(page.locator('[data-field="state"]')).to_have_text("Résolu")
    expect(page.locator("#resolution")).to_have_text("Payé en espèces le 4 juillet au bureau de Kalaban.")
    expect(page.locator("#history tbody tr")).to_have_count(3)
    _check(axe, page, f"/complaints/{code} (resolved)", found)
    assert not found, _report(found)
