"""Two-factor sign-in in Chromium, in French: a supervisor sets up the authenticator (QR code and
key shown, CSP respected), confirms with a code and reaches the access review; both pages pass axe."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from jatigi.accounts import totp
from jatigi.core.db import session_scope
from tests import factories as f
from tests import protection_factories as pf
from tests.browser.conftest import login

AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]}, "resultTypes": ["violations"]}


@pytest.fixture
def team(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        pf.team(s)
        for name in ("sup.a", "cw.a"):
            f.accounts.user_by_name(session=s, username=name).language = "fr"
        # sup.a as on the first day: no authenticator yet.
        user = f.accounts.user_by_name(session=s, username="sup.a")
        user.totp_sealed = user.totp_confirmed_at = None


def _violations(page: Page) -> list[str]:
    results = Axe().run(page, options=AXE_OPTIONS).response
    return [f"{v['id']}: {' '.join(str(t) for n in v['nodes'] for t in n['target'])}" for v in results["violations"]]


def test_setting_up_and_giving_the_code(page: Page, base_url: str, team: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/protection/audit")
    page.wait_for_url(re.compile(r"/login\?next="))
    form = page.locator("form[action='/login']")
    form.locator("input[name=username]").fill("sup.a")
    form.locator("input[name=password]").fill(f.PASSWORD)
    form.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/login/totp/setup\?next=/protection/audit"))
    expect(page.locator("h1")).to_have_text("Configurer la connexion à deux facteurs")
    qr = page.locator("img.totp-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("document.querySelector('img.totp-qr').naturalWidth") > 0  # the data: URI shows
    assert _violations(page) == []
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.locator("input[name=code]").fill("000000" if totp.code_at(secret, totp.current_step()) != "000000"
                                          else "111111")
    page.locator("form[action='/login/totp/setup'] button").click()
    expect(page.locator("#code-error")).to_contain_text("Code incorrect ou expiré")
    page.locator("input[name=code]").fill(totp.code_at(secret, totp.current_step()))
    page.locator("form[action='/login/totp/setup'] button").click()
    page.wait_for_url(re.compile(r"/protection/audit$"))
    expect(page.locator("h1")).to_have_text("Revue des accès")
    assert _violations(page) == []
    assert not [e for e in errors if "Content Security Policy" in e]


def test_an_enrolled_caseworker_gives_the_code(page: Page, base_url: str, team: Any) -> None:
    page.goto("/login")
    page.locator("form[action='/login'] input[name=username]").fill("cw.a")
    page.locator("form[action='/login'] input[name=password]").fill(f.PASSWORD)
    page.locator("form[action='/login'] button").click()
    page.wait_for_url(re.compile(r"/login/totp"))
    expect(page.locator("h1")).to_have_text("Code de connexion")
    assert _violations(page) == []
    page.context.clear_cookies()  # and again through the shared helper, as other journeys do
    login(page, base_url, "cw.a", f.PASSWORD, dashboard_path="/protection")  # her cases, not the registry's dashboard
    expect(page.locator("h1")).to_have_text("Dossiers de protection")
