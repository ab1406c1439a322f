"""A journey in Chromium, in French: record a household's assessment from its page — a day too many
is refused beside its field — see its indicators on the page, then delete it after confirming."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Dialog, Page, expect

from jatigi.core.db import session_scope
from jatigi.core.i18n import _, day, use_language
from jatigi.targeting import inputs, survey
from jatigi.targeting.tables import Assessment
from tests import factories as f
from tests.browser.test_accessibility import _violations
from tests.browser.test_journeys import Watch, login
from tests.web import count_rows

FCS = {"FCSStap": "7", "FCSPulse": "3", "FCSDairy": "1", "FCSPr": "2", "FCSVeg": "5", "FCSFruit": "1",
       "FCSFat": "7", "FCSSugar": "7", "FCSCond": "7"}


@pytest.fixture
def watch(page: Page) -> Watch:
    return Watch(page)


def fr(msgid: str, **values: object) -> str:
    with use_language("fr"):
        return _(msgid, **values)


def test_record_an_assessment_and_see_its_indicators(page: Page, base_url: str, engine: sa.Engine,
                                                     watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", "registration_officer", language="fr")
        code = f.household(s, f.actor(s, "awa"))

    login(page, base_url, "awa", start=f"/households/{code}")
    section = page.locator("section", has=page.locator("#assessments-title"))
    expect(section).to_contain_text(fr("No assessment recorded."))
    section.get_by_role("link", name=fr("Record an assessment")).click()
    page.wait_for_url(f"{base_url}/households/{code}/assessments/new")
    expect(page.get_by_role("group", name=fr("Food consumption (FCS)"))).to_be_visible()

    page.locator("#f-assessed_on").fill("2024-06-03")
    for name, days in FCS.items():
        page.locator(f"#f-{name}").fill(days)
    page.locator("#f-FCSStap").fill("8")  # eight days in a week
    page.locator("#f-HHSNoFood-1").check()
    page.locator("#f-HHSNoFood_FR").select_option("3")
    page.locator("#f-HHSBedHung-0").check()
    page.locator("#f-HHSNotEat-0").check()
    page.get_by_role("button", name=fr("Record the assessment")).click()

    stap = page.locator("#f-FCSStap")
    expect(stap).to_have_attribute("aria-invalid", "true")
    with use_language("fr"):
        accepted = survey.accepted_text(inputs.BY_NAME["FCSStap"])
    expect(page.locator("#f-FCSStap-error")).to_have_text(fr("Not accepted; accepted: {accepted}.",
                                                             accepted=accepted))
    expect(page.locator("#f-FCSPulse")).to_have_value("3")  # the rest of the input is kept
    axe = Axe()
    assert _violations(axe, page) == []
    assert count_rows(engine, Assessment) == 0
    stap.fill("7")
    page.get_by_role("button", name=fr("Record the assessment")).click()
    page.wait_for_url(f"{base_url}/households/{code}#assessments-title")

    with use_language("fr"):
        when = day(date(2024, 6, 3))
        acceptable = _("Acceptable")
    expect(section.get_by_role("heading", name=fr("Assessment of {date}", date=when))).to_be_visible()
    facts = section.locator("dl.facts")
    expect(facts).to_contain_text(f"48 ({acceptable})")
    # Yes, often (2) + no + no: HHS 2, phase 3; coping not asked: not assessed, never 0
    expect(facts).to_contain_text(fr("Phase {phase}", phase=3))
    expect(facts.locator("dd", has_text=fr("Not assessed")).first).to_be_visible()
    assert _violations(axe, page) == []

    def accept(dialog: Dialog) -> None:
        assert dialog.message == fr("Delete the assessment of {date}? It is no longer listed nor used for targeting.",
                                    date=when)
        dialog.accept()

    page.once("dialog", accept)
    section.get_by_role("button", name=fr("Delete")).click()
    page.wait_for_url(f"{base_url}/households/{code}#assessments-title")
    expect(section).to_contain_text(fr("No assessment recorded."))
    assert not watch.server_errors and not watch.csp
