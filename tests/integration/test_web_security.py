"""Sessions and security of the web pages: cookies, CSRF, headers, lockout, expiry, redirects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts.models import User, WebSession
from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope, utcnow
from jatigi.web.app import create_app
from tests import factories as f
from tests.web import csrf_of, login


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "alice", "ONGA", language="fr")
        f.user(s, "vera", "ONGA", "viewer")
    with TestClient(create_app(), base_url="http://testserver") as c:
        yield c


def test_pages_need_a_session_and_lead_to_the_login_page(client: TestClient) -> None:
    resp = client.get("/households?q=maiga", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/households%3Fq%3Dmaiga"
    # htmx requests are told to load the log-in page, not to swap it into a fragment.
    resp = client.get("/households", headers={"HX-Request": "true"}, follow_redirects=False)
    assert resp.headers["hx-redirect"].startswith("/login?next=")


def test_login_sets_a_httponly_samesite_cookie_and_only_its_hash_is_stored(client: TestClient,
                                                                           engine: sa.Engine) -> None:
    page = client.get("/login")
    resp = client.post("/login", data={"username": "alice", "password": f.PASSWORD,
                                       "csrf_token": csrf_of(page.text), "next": "/households"},
                       follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/households"
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("jatigi_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with session_scope(engine) as s:
        stored = s.scalars(sa.select(WebSession.token_hash)).all()
        assert len(stored) == 1 and token not in stored[0]
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.login"))


def test_a_login_without_the_forms_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    resp = client.post("/login", data={"username": "alice", "password": f.PASSWORD, "csrf_token": "forged"},
                       follow_redirects=False)
    assert resp.status_code == 403
    assert "jatigi_session" not in resp.headers.get("set-cookie", "")


def test_security_headers_on_every_page(client: TestClient) -> None:
    resp = client.get("/login")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"
    assert "<script>" not in resp.text and " style=" not in resp.text  # nothing inline for the CSP to block


def test_six_wrong_passwords_lock_the_account(client: TestClient) -> None:
    for _ in range(6):
        page = client.get("/login", headers={"Accept-Language": "en"})
        resp = client.post("/login", data={"username": "alice", "password": "not the password",
                                           "csrf_token": csrf_of(page.text)}, headers={"Accept-Language": "en"})
        assert resp.status_code == 401 and "Wrong user name or password." in resp.text
    page = client.get("/login")
    resp = client.post("/login", data={"username": "alice", "password": f.PASSWORD, "csrf_token": csrf_of(page.text)},
                       headers={"Accept-Language": "en"}, follow_redirects=False)
    assert resp.status_code == 401 and "locked" in resp.text


def test_login_never_redirects_to_another_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client.cookies.clear()
        page = client.get("/login")
        resp = client.post("/login", data={"username": "alice", "password": f.PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": target},
                           follow_redirects=False)
        assert resp.headers["location"] == "/"


def test_logout_ends_the_session_on_the_server(client: TestClient, engine: sa.Engine) -> None:
    csrf = login(client, "alice", next_url="/households")
    stolen = client.cookies.get("jatigi_session")
    resp = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    # A copy of the old cookie opens nothing any more.
    client.cookies.set("jatigi_session", stolen)
    assert client.get("/households", follow_redirects=False).status_code == 303


def test_an_idle_session_expires(client: TestClient, engine: sa.Engine) -> None:
    login(client, "alice", next_url="/households")
    with session_scope(engine) as s:
        s.execute(sa.update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    resp = client.get("/households", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_language_is_french_by_default_and_the_switch_is_remembered_for_the_user(
        client: TestClient, engine: sa.Engine) -> None:
    assert "Connexion à Jatigi" in client.get("/login").text
    csrf = login(client, "alice", next_url="/households")
    resp = client.post("/language", data={"lang": "en", "next": "/households", "csrf_token": csrf},
                       follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/households"
    with session_scope(engine) as s:
        assert s.scalar(sa.select(User.language).where(User.username == "alice")) == "en"
    assert "Households" in client.get("/households").text
    # Without the form's token, the switch is refused.
    assert client.post("/language", data={"lang": "fr", "csrf_token": "x"}).status_code == 403


def test_a_viewer_gets_a_403_page_not_the_data(client: TestClient) -> None:
    login(client, "vera", next_url="/login")
    resp = client.get("/households", headers={"Accept-Language": "en"})
    assert resp.status_code == 403 and "<html" in resp.text


def test_a_user_deactivated_by_another_process_is_signed_out_on_the_next_page(
        client: TestClient, engine: sa.Engine) -> None:
    login(client, "alice", next_url="/households")
    assert client.get("/households", follow_redirects=False).status_code == 200  # who alice is, now remembered
    with session_scope(engine) as s:  # as the command line or another server process would
        s.scalars(sa.select(User).where(User.username == "alice")).one().is_active = False
    resp = client.get("/households", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
