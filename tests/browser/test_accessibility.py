"""Accessibility measured by a tool: axe-core (bundled in axe-playwright-python, injected into
the page by Playwright, nothing fetched) runs the WCAG 2.0/2.1/2.2 A and AA rules, colour
contrast among them, and its best practices (landmarks, headings) on each main page, in French,
in Chromium against the real app. A failure lists each violation: rule, elements, summary.

A journey by keyboard alone follows: Tab to the search field, type a name, Enter.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Request, expect

from jatigi.accounts.models import User
from jatigi.core.db import session_scope
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests import kobo_files as kf
from tests.browser.conftest import login

AXE_OPTIONS = {
    "runOnly": {"type": "tag",
                "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    "resultTypes": ["violations"],
}
MAX_TABS = 25


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, Any]:
    """AMSS with awa, a system administrator who reads French, and one household."""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.org(s, "UNHCR", kind="un_agency")
        f.user(s, "awa", "AMSS", "admin", language="fr")
        f.user(s, "issa", "AMSS", "registration_officer", language="fr")
        members = [PersonRecord(1, "Aminata", "Traoré", "f", "head", date(1984, 2, 3)),
                   PersonRecord(2, "Moussa", "Traoré", "m", "child", date(2014, 9, 1))]
        code = f.household(s, f.actor(s, "awa"), members=members)
        issa = s.scalar(sa.select(User.id).where(User.username == "issa"))
    return {"code": code, "issa": issa}


@pytest.fixture
def requests_seen(page: Page) -> list[str]:
    """Every URL the page asked for."""
    seen: list[str] = []

    def record(request: Request) -> None:
        seen.append(request.url)

    page.on("request", record)
    return seen


def _nothing_fetched_from_elsewhere(seen: list[str]) -> None:
    # axe is injected from the wheel, and the app needs no internet: nothing left 127.0.0.1.
    assert seen, "the browser recorded no request"
    outside = [url for url in seen if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], f"requests to other hosts: {outside}"


def _bad_export(folder: Path) -> list[Path]:
    """A Kobo export of two households, the second in a place that does not exist."""
    mains = [kf.household(1), kf.household(2, **{"household/current_pcode": "ML999999"})]
    members = [kf.member(1, 1), kf.member(2, 2)]
    return [kf.write(folder / "registration.csv", kf.MAIN_HEADERS, mains),
            kf.write(folder / "members.csv", kf.MEMBER_HEADERS, members)]


def _violations(axe: Axe, page: Page) -> list[str]:
    results = axe.run(page, options=AXE_OPTIONS).response
    lines = []
    for violation in results["violations"]:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{violation['id']} ({violation['impact']}) at {target}: {summary}")
    return lines


def _check(axe: Axe, page: Page, path: str, found: dict[str, list[str]]) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    problems = _violations(axe, page)
    if problems:
        found[path] = problems


def _report(found: dict[str, list[str]]) -> str:
    return "accessibility violations:\n" + "\n".join(
        f"{path}\n" + "\n".join(f"  - {line}" for line in lines) for path, lines in found.items())


def test_the_main_pages_pass_axe_in_french(page: Page, base_url: str, world: dict[str, Any], axe: Axe,
                                           requests_seen: list[str], tmp_path: Path) -> None:
    found: dict[str, list[str]] = {}
    page.goto("/login")
    _check(axe, page, "/login", found)
    login(page, base_url, "awa", f.PASSWORD)
    # The dashboard fetches its people figures and map after it shows.
    expect(page.locator("#fig-disability")).to_be_attached()
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^\d+$"))
    _check(axe, page, "/", found)
    code = world["code"]
    for path in ("/households", "/households?q=trao", f"/households/{code}", f"/households/{code}/edit",
                 "/households/new", "/imports", "/admin", "/admin/organisations", "/admin/users",
                 f"/admin/users/{world['issa']}/roles", "/admin/roles", "/admin/agreements", "/admin/places",
                 "/dedup", "/households/HH-0000000000"):
        page.goto(path)
        page.wait_for_load_state()
        _check(axe, page, path, found)
    # Forms sent back with their problems beside the fields.
    page.goto("/households/new")
    page.locator("form[action='/households/new'] button[name=save]:not([tabindex])").click()
    expect(page.locator(".field-error:not(:empty)").first).to_be_visible()
    _check(axe, page, "/households/new (with errors)", found)
    page.goto("/admin/users")
    page.locator("form[action='/admin/users'] button[type=submit]").click()
    expect(page.locator(".field-error").first).to_be_visible()
    _check(axe, page, "/admin/users (with errors)", found)
    # An import refused, its problems in a table.
    page.goto("/imports")
    page.set_input_files("#import-files", [{"name": p.name, "mimeType": "text/csv", "buffer": p.read_bytes()}
                                           for p in _bad_export(tmp_path)])
    page.locator("form[action='/imports'] button[type=submit]").click()
    # The outcome, once the import has ended (an import that runs in the background stops polling).
    ended = page.locator("#import-outcome-title, #import-outcome .import-job:not([hx-get])").first
    expect(ended).to_be_visible(timeout=30_000)
    _check(axe, page, "/imports (refused file)", found)
    assert found == {}, _report(found)
    _nothing_fetched_from_elsewhere(requests_seen)


def test_search_by_keyboard_alone(page: Page, base_url: str, world: dict[str, Any],
                                  requests_seen: list[str]) -> None:
    login(page, base_url, "issa", f.PASSWORD)
    page.goto("/households")
    # The first stop is the link that skips to the content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_class("skip")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-q":
            break
    else:
        pytest.fail(f"the search field was not reached in {MAX_TABS} presses of Tab")
    page.keyboard.type("trao")
    page.keyboard.press("Enter")
    results = page.locator("#results")
    expect(results).to_contain_text("Traoré")
    expect(results.get_by_role("link").first).to_be_visible()
    _nothing_fetched_from_elsewhere(requests_seen)
