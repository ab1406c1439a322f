"""A vulnerability model edited in the browser, in French: a mistake is shown with its line and
reason and nothing is saved; once fixed, it is saved as version 2. The model pages pass axe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from jatigi.targeting.tables import ModelVersion
from tests import factories as f
from tests.browser.conftest import login
from tests.browser.test_accessibility import _check, _report
from tests.web import count_rows


@pytest.fixture
def people(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "ines", "AMSS", "im_officer", language="fr")


def test_edit_a_model_with_a_mistake_then_save_version_2(page: Page, base_url: str, people: None,
                                                         engine: sa.Engine) -> None:
    login(page, base_url, "ines", f.PASSWORD)
    page.get_by_role("link", name="Ciblage").click()
    page.get_by_role("link", name="Modèles de vulnérabilité").first.click()
    page.get_by_role("link", name="Vulnérabilité de protection").click()
    expect(page.locator("h1")).to_have_text("Vulnérabilité de protection")
    expect(page.locator("#status-note")).to_contain_text("n'utilise pas le statut de déplacement")
    expect(page.locator("#criteria")).to_contain_text("Surpeuplement (3 personnes ou plus par pièce)")

    page.get_by_role("link", name="Modifier : enregistrer une nouvelle version").click()
    editor = page.locator("#f-text")
    text = editor.input_value()
    assert "version = 2" in text
    editor.fill(text.replace('when = "crowding >= 3"', 'when = "crowdin >= 3"'))
    page.get_by_label("Note").fill("Seuil revu")
    page.get_by_role("button", name="Enregistrer comme nouvelle version").click()

    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("1 problèmes : rien n'a été enregistré.")
    expect(problems).to_contain_text("Ligne 76")
    expect(problems).to_contain_text("crowdin")
    assert 'when = "crowdin >= 3"' in editor.input_value()  # the text as typed
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0

    page.get_by_role("link", name="Ligne 76").click()  # the line is selected in the editor
    assert page.evaluate("() => { const e = document.getElementById('f-text');"
                         " return e.value.slice(e.selectionStart, e.selectionEnd); }") == 'when = "crowdin >= 3"'

    editor.fill(editor.input_value().replace("crowdin >=", "crowding >="))
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("status")).to_have_text("Aucun problème : ce texte peut être enregistré.")
    page.get_by_role("button", name="Enregistrer comme nouvelle version").click()

    expect(page.get_by_role("status")).to_have_text("Enregistré : version 2.")
    expect(page.locator("#model-version")).to_have_text("2")
    expect(page.locator("#versions")).to_contain_text("Seuil revu")
    page.get_by_role("link", name="Voir la version 1").click()
    expect(page.locator(".tg-older")).to_contain_text("Vous consultez la version 1")
    assert count_rows(engine, ModelVersion, ModelVersion.name == "protection") == 2


def test_the_model_pages_pass_axe_in_french(page: Page, base_url: str, people: None) -> None:
    axe = Axe()
    found: dict[str, list[str]] = {}
    login(page, base_url, "ines", f.PASSWORD)
    for path in ("/targeting", "/targeting/models", "/targeting/models/food_security",
                 "/targeting/models/protection/edit", "/targeting/models/new?source=economic"):
        page.goto(path)
        _check(axe, page, path, found)
    page.goto("/targeting/models/protection/edit")
    page.locator("#f-text").fill("[model]\nid = 3\n")
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("alert")).to_be_visible()
    _check(axe, page, "/targeting/models/protection/edit (with problems)", found)
    assert not found, _report(found)
