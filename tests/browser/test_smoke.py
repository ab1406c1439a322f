"""The harness itself: the real app, in the real browser, with nothing fetched from elsewhere."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect


def test_api_index_in_the_browser(page: Page, base_url: str) -> None:
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    response = page.goto(f"{base_url}/api/v1/")

    assert response is not None and response.ok
    expect(page.locator("body")).to_contain_text('"name":"Jatigi"')
    assert json.loads(page.locator("pre").first.inner_text())["name"] == "Jatigi"
    assert requested, "the browser recorded no request"
    outside = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], f"requests to other hosts: {outside}"
