"""Helpers for page tests: log in through the real form, as a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.db import session_scope
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


Files = list[tuple[str, tuple[str, bytes, str]]]


@contextmanager
def browsers(default_next: str) -> Iterator[Callable[..., tuple[TestClient, str]]]:
    """Fresh browsers per user: `open_as("alice")` gives a client logged in as alice and its CSRF token."""
    from jatigi.web.app import create_app

    clients: list[TestClient] = []

    def open_as(username: str, next_url: str = default_next) -> tuple[TestClient, str]:
        client = TestClient(create_app(), base_url="http://testserver", headers={"Accept-Language": "en"})
        client.__enter__()
        clients.append(client)
        return client, login(client, username, next_url=next_url)

    try:
        yield open_as
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def count_rows(engine: sa.Engine, model: type, *where: sa.ColumnElement[bool]) -> int:
    with session_scope(engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def upload_files(paths: list[Path]) -> Files:
    return [("files", (p.name, p.read_bytes(), "text/csv")) for p in paths]
