"""Scoring in the browser, in French: an IM officer scores the households with the food security
model, simulates a budget and sees the coverage and who is left out, downloads the target list,
then opens a household from the run and, from its page, why it scored what it did. The scoring
pages pass axe."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_accessibility import _check, _report
from tests.integration.test_targeting_scoring import POOR, WELL, _assess


@pytest.fixture
def codes(engine: sa.Engine) -> dict[str, str]:
    """AMSS with ines, an IM officer reading French, and three assessed households: two as poor
    as each other (one displaced, one host) and one eating well."""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "ines", "AMSS", "im_officer", language="fr")
        ines = f.actor(s, "ines")
        man = [PersonRecord(1, "Seydou", "Kanté", "m", "head", date(1960, 1, 1))]
        out = {"idp_poor": f.household(s, ines),
               "host_poor": f.household(s, ines, population_group="host", origin_pcode=None, movements=[],
                                        intention=None),
               "well": f.household(s, ines, members=man)}
        for key, answers in (("idp_poor", POOR), ("host_poor", POOR), ("well", WELL)):
            _assess(s, out[key], answers)
    return out


def test_score_simulate_download_and_explain(page: Page, base_url: str, codes: dict[str, str]) -> None:
    login(page, base_url, "ines", f.PASSWORD)
    page.get_by_role("link", name="Ciblage").click()
    page.get_by_role("link", name="Exécutions de notation").click()
    expect(page.locator("h1")).to_have_text("Exécutions de notation")
    page.get_by_label("Modèle").select_option("food_security")
    page.get_by_role("button", name="Noter les ménages").click()
    expect(page.locator("h1")).to_contain_text("Sécurité alimentaire (Cadre Harmonisé), version 1")
    expect(page.locator("#status-note")).to_contain_text("n'utilise pas le statut de déplacement")
    expect(page.locator("#categories")).to_contain_text("Extrême")

    # A budget for one household of the two vulnerable ones.
    page.get_by_label("Budget (FCFA)").fill("30 000")
    page.get_by_label("Transfert par ménage et par mois (FCFA)").fill("10000")
    page.get_by_label("Mois", exact=True).fill("3")
    page.get_by_role("button", name="Simuler", exact=True).click()
    figures = page.locator("#simulation")
    expect(figures.locator('[data-figure="selected"]')).to_have_text("1")
    expect(figures.locator('[data-figure="coverage"]')).to_have_text("50\u00a0%")
    expect(figures.locator('[data-figure="left-out"]')).to_have_text("1")
    expect(figures).to_contain_text("Communauté hôte")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger la liste des bénéficiaires (CSV)").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["household_code"] for r in rows] == [codes["idp_poor"]]
    assert "Aminata" not in text  # codes, no names

    # The first household of the run, its page, and why it scored so.
    page.locator("#scores").get_by_role("link", name=codes["idp_poor"], exact=True).click()
    expect(page.locator("#vulnerability-title")).to_have_text("Vulnérabilité")
    expect(page.locator("#vulnerability")).to_contain_text("Extrême")
    page.locator("#vulnerability").get_by_role("link", name="Pourquoi ce score").click()
    expect(page.locator("h1")).to_have_text(f"Pourquoi ce score : ménage {codes['idp_poor']}")
    expect(page.locator("#criteria")).to_contain_text("Consommation alimentaire pauvre")
    expect(page.locator('[data-figure="category"]')).to_have_text("Extrême")


def test_a_too_small_budget_is_told_beside_its_field(page: Page, base_url: str, codes: dict[str, str]) -> None:
    login(page, base_url, "ines", f.PASSWORD)
    page.goto("/targeting/runs")
    page.get_by_role("button", name="Noter les ménages").click()
    page.get_by_label("Budget (FCFA)").fill("20000")
    page.get_by_label("Transfert par ménage et par mois (FCFA)").fill("10000")
    page.get_by_label("Mois", exact=True).fill("3")
    page.get_by_role("button", name="Simuler", exact=True).click()
    expect(page.locator("#f-budget-error")).to_contain_text("ne paie pas un transfert")
    expect(page.locator("#f-budget")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#simulation")).to_have_count(0)


def test_the_scoring_pages_pass_axe_in_french(page: Page, base_url: str, codes: dict[str, str]) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    login(page, base_url, "ines", f.PASSWORD)
    page.goto("/targeting/runs")
    _check(axe, page, "/targeting/runs", found)
    page.get_by_role("button", name="Noter les ménages").click()
    page.wait_for_url("**/targeting/runs/1")
    run = "/targeting/runs/1?budget=30000&transfer_value=10000&months=3&fairness=1"
    page.goto(run)
    expect(page.locator("#simulation")).to_be_visible()
    _check(axe, page, run, found)
    page.goto("/targeting/runs/1?budget=1&transfer_value=10000&months=3")
    _check(axe, page, "/targeting/runs/1 (with problems)", found)
    for path in (f"/targeting/explain/{codes['idp_poor']}?run=1", f"/households/{codes['idp_poor']}"):
        page.goto(path)
        _check(axe, page, path, found)
    assert not found, _report(found)
