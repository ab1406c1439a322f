"""Helpers for page tests: log in through the real form, as a browser does."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests import factories as f

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = f.PASSWORD, next_url: str = "/") -> str:
    """Log in; returns the session's CSRF token (read from the page the log-in leads to)."""
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": next_url},
                       follow_redirects=False)
    assert resp.status_code == 303, resp.text[:500]
    landing = client.get(resp.headers["location"])
    return csrf_of(landing.text)
