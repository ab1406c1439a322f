"""Helpers for page tests: log in through the real form, as a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.core.db import session_scope
from tests import factories as f

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def totp_code(username: str, secret: str | None = None) -> str:
    """A code that the app accepts now for this user (case work: their second factor).

    Uses the present time step, or the next one (within the accepted window) if the present one
    was used already; if both were used (many log-ins of one user within a minute) it forgets the
    last step used rather than wait for the clock — a shortcut of the tests alone.
    """
    with session_scope() as s:
        user = accounts.user_by_name(session=s, username=username)
        secret = secret or totp.secret_of(user)
        assert secret, f"{username} has no TOTP secret"
        present = totp.current_step()
        step = present if user.totp_last_step is None else max(present, user.totp_last_step + 1)
        if step > present + totp.WINDOW:
            user.totp_last_step = present - 1
            step = present
        return totp.code_at(secret, step)


def _second_factor(client: TestClient, username: str, location: str) -> str:
    """Answer the code step of the log-in (set-up or code); returns where it leads."""
    page = client.get(location)
    assert page.status_code == 200, page.text[:500]
    secret = None
    action = "/login/totp"
    if urlsplit(location).path == "/login/totp/setup":
        found = _SECRET.search(page.text)
        assert found, "no TOTP secret on the set-up page"
        secret = found.group(1).replace(" ", "")
        action = "/login/totp/setup"
    next_url = parse_qs(urlsplit(location).query).get("next", ["/"])[0]
    resp = client.post(action, data={"code": totp_code(username, secret), "next": next_url,
                                     "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:500]
    return resp.headers["location"]


def login(client: TestClient, username: str, password: str = f.PASSWORD, next_url: str = "/") -> str:
    """Log in (answering the second factor's step for case work); returns the session's CSRF
    token (read from the page the log-in leads to)."""
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(page.text), "next": next_url},
                       follow_redirects=False)
    assert resp.status_code == 303, resp.text[:500]
    location = resp.headers["location"]
    if urlsplit(location).path.startswith("/login/totp"):
        location = _second_factor(client, username, location)
    landing = client.get(location)
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
