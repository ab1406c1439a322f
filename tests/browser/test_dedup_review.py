"""A reviewer's journey in Chromium, in French: open the queue of possible duplicates, open a
pair, read why the model matched the two records, merge them, then undo the merge."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from jatigi.accounts import service as accounts
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.core.i18n import _, use_language
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests.browser.test_journeys import Watch, login
from tests.dedup_data import head_of, plant


@pytest.fixture
def watch(page: Page) -> Watch:
    return Watch(page)


def fr(msgid: str, **values: object) -> str:
    with use_language("fr"):
        return _(msgid, **values)


def test_review_a_pair_merge_it_and_undo_the_merge(page: Page, base_url: str, engine: sa.Engine,
                                                    watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.org(s, "NRC")
        f.user(s, "awa", "AMSS", "im_officer", language="fr")
        f.user(s, "enum", "NRC", "registration_officer", language="fr")
        accounts.create_agreement(session=s, actor=SYSTEM, provider="NRC", recipient="AMSS",
                                  purpose="Doublons", signed_on=date(2013, 9, 16))
        first = f.household(s, f.actor(s, "awa"))
        second = f.household(s, f.actor(s, "enum"), phone=None, members=[
            PersonRecord(1, "Aminata", "MAIGA", "f", "head", date(1985, 1, 1), age_estimated=True)])
        pair_id = plant(s, [(head_of(s, first), head_of(s, second), 0.97)])[0]

    # The household's page says it may be registered twice, and leads to the queue's pair.
    login(page, base_url, "awa", start=f"/households/{first}")
    expect(page.locator("#possible-duplicates").get_by_role("link", name=fr("Possible duplicate of {code}",
                                                                          code=second))).to_be_visible()
    page.get_by_role("navigation", name=fr("Main menu")).get_by_role("link", name=fr("Duplicates")).click()
    page.wait_for_url(f"{base_url}/dedup")
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Possible duplicates"))
    expect(page.get_by_role("navigation", name=fr("Main menu")).get_by_role("link", name=fr("Duplicates"))
           ).to_have_attribute("aria-current", "page")
    row = page.get_by_role("row").filter(has_text="Aminata MAIGA")
    expect(row).to_contain_text("NRC")
    row.get_by_role("link", name=fr("Pair {id}", id=pair_id)).click()
    page.wait_for_url(f"{base_url}/dedup/pairs/{pair_id}")

    # Both records side by side, and what each field added or removed.
    records = page.locator("table.dd-sides")
    expect(records).to_contain_text("Maïga")
    expect(records).to_contain_text("MAIGA")
    expect(records).to_contain_text(first)
    expect(records).to_contain_text(second)
    weights = page.locator("#field-weights")
    given = weights.get_by_role("row").filter(has_text=fr("Given name"))
    expect(given).to_contain_text(fr("same root (related names)"))
    expect(given).to_contain_text("+6.5")
    expect(given.locator(".dd-bar-pos")).to_be_visible()
    phone = weights.get_by_role("row").filter(has_text=fr("Phone"))
    expect(phone).to_contain_text("-2.4")
    expect(phone.locator(".dd-bar-neg")).to_be_visible()

    # Merge, with a note: the pair is merged, and the history says who did it and why.
    page.get_by_label(fr("Note (why you decide so; optional)")).fill("Même femme, même quartier")
    page.get_by_role("button", name=fr("Merge: link both records to one person")).click()
    page.wait_for_url(f"{base_url}/dedup/pairs/{pair_id}?done=merge")
    expect(page.locator("#pair-status")).to_have_text(fr("Merged"))
    expect(page.get_by_role("status")).to_contain_text(fr("Decision recorded: the pair is now {status}.",
                                                          status=fr("Merged").lower()))
    expect(page.locator("#decision-history")).to_contain_text("Même femme, même quartier")
    expect(records).to_contain_text(fr("{n} other records", n=1))

    # Undo it: both records stand alone again, and the history keeps both decisions.
    page.get_by_role("button", name=fr("Unmerge: undo the merge")).click()
    page.wait_for_url(f"{base_url}/dedup/pairs/{pair_id}?done=unmerge")
    expect(page.locator("#pair-status")).to_have_text(fr("Unmerged"))
    expect(page.locator("#decision-history tbody tr")).to_have_count(2)
    expect(page.locator("table.dd-sides").get_by_role("row").filter(has_text=fr("Merged with"))).not_to_contain_text(
        fr("{n} other records", n=1))

    # Decided: the household is no longer a possible duplicate.
    page.goto(f"/households/{first}")
    expect(page.locator("#possible-duplicates")).to_have_count(0)
    watch.check()
