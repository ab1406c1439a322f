"""A journey in Chromium on a household's page: add a member, withdraw a consent, and read both
in the household's history of changes — in French, the interface's default language."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from jatigi.core.i18n import _, day, use_language
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests.browser.test_journeys import Watch, login


@pytest.fixture
def watch(page: Page) -> Watch:
    return Watch(page)


def fr(msgid: str, **values: object) -> str:
    with use_language("fr"):
        return _(msgid, **values)


def test_add_a_member_withdraw_a_consent_and_see_both_in_the_history(page: Page, base_url: str,
                                                                      engine: sa.Engine, watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="fr")
        code = f.household(s, f.actor(s, "awa"), members=[
            PersonRecord(1, "Aminata", "Maïga", "f", "head", date(1985, 3, 1)),
            PersonRecord(2, "Moussa", "Maïga", "m", "child", date(2015, 6, 10))])

    login(page, base_url, "awa", start=f"/households/{code}")
    members = page.locator("section", has=page.locator("#members-title"))
    expect(members.locator("h2")).to_have_text(fr("Members") + " (2)")

    # Add Fanta, whose date of birth is not known: her age is estimated.
    members.get_by_role("link", name=fr("Add a member")).click()
    page.wait_for_url(f"{base_url}/households/{code}/members/new")
    page.get_by_label(fr("Given name")).fill("Fanta")
    page.get_by_label(fr("Family name")).fill("Maïga")
    page.get_by_label(re.compile("^" + fr("Sex") + r" \(")).select_option("f")
    page.get_by_label(fr("Relationship to the head of household")).select_option("other_relative")
    page.get_by_role("button", name=fr("Add the member")).click()
    # No age and no date of birth: the form comes back with the message beside the age.
    age = page.get_by_label(fr("Age in years (estimated if the date of birth is unknown)"))
    expect(age).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-age-error")).to_have_text(fr("Give a date of birth or an age."))
    expect(page.get_by_label(fr("Given name"))).to_have_value("Fanta")
    age.fill("30")
    page.get_by_role("button", name=fr("Add the member")).click()
    page.wait_for_url(f"{base_url}/households/{code}")
    expect(members.locator("h2")).to_have_text(fr("Members") + " (3)")
    expect(members.get_by_role("rowheader", name="Fanta Maïga")).to_be_visible()

    # Withdraw the consent to be contacted by phone: the phone number is hidden at once.
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("76 12 34 56")
    consents = page.locator("section", has=page.locator("#consents-title"))
    contact = consents.get_by_role("row").filter(has_text=fr("Contact by phone"))
    contact.get_by_role("link", name=re.compile(fr("Withdraw"))).click()
    page.wait_for_url(re.compile(r"/consents/withdraw\?consent=\d+$"))
    expect(page.get_by_text(fr("Phone numbers of the household and its members stop opening."))).to_be_visible()
    expect(page.get_by_label(fr("Withdrawn on"))).to_have_value(date.today().isoformat())
    page.get_by_role("button", name=fr("Withdraw the consent")).click()
    page.wait_for_url(f"{base_url}/households/{code}")
    with use_language("fr"):
        today = day(date.today())
    expect(contact.get_by_role("cell").first).to_have_text(
        fr("Withdrawn on {date} (recorded by {who})", date=today, who="awa"))
    expect(facts).not_to_contain_text("76 12 34 56")
    expect(facts).to_contain_text(fr("Hidden: the household did not consent to be contacted by phone."))

    # Both changes are in the history, newest first, in plain words.
    history = page.locator("section", has=page.locator("#history-title"))
    captions = history.locator("caption")
    expect(captions).to_have_count(2)
    expect(captions.nth(0)).to_have_text(re.compile(
        "^" + re.escape(fr("Consent withdrawn ({purpose}) on {when} by {who}", purpose=fr("Contact by phone"),
                           when="WHEN", who="awa")).replace("WHEN", ".+ UTC") + "$"))
    expect(captions.nth(1)).to_have_text(re.compile(
        "^" + re.escape(fr("Member {name} added on {when} by {who}", name="Fanta Maïga", when="WHEN",
                           who="awa")).replace("WHEN", ".+ UTC") + "$"))
    added = history.locator("table").nth(1)
    expect(added.get_by_role("row").filter(has_text=fr("Relationship to the head of household"))
           .get_by_role("cell")).to_have_text(["—", fr("Other relative")])
    watch.check()
