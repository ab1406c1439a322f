"""Every page × every role: a 403 page exactly where the role lacks the page's permission, and
the log-in page for anyone not signed in."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.authz import DEFAULT_ROLE_PERMISSIONS, Permission
from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from jatigi.web.deps import AUTHENTICATED, PUBLIC, AccessRule, access_rules
from tests import factories as f
from tests.web import login

_ORDER = {"GET": 0, "POST": 1}


def _pages() -> list[AccessRule]:
    rules = [r for r in access_rules(create_app()) if not r.path.startswith("/api/")]
    # Log-out last: it would end the walk's session.
    return sorted(rules, key=lambda r: (r.path == "/logout", _ORDER.get(r.method, 9), r.path))


def _url(rule: AccessRule, code: str) -> str:
    values = {"code": code, "token": "no-such-report", "user_id": "999999", "agreement_id": "999999",
              "job_id": "999999", "pair_id": "999999", "name": "protection",
              "run_id": "999999"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "999999"), rule.path)


@pytest.fixture
def codes(engine: sa.Engine) -> dict[str, str]:
    out = {}
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "registrar", "ONGA", "registration_officer")
        registrar = f.actor(s, "registrar")
        for role in f.ROLES:
            f.user(s, f"u_{role}", "ONGA", role)
            out[role] = f.household(s, registrar)
    return out


def test_every_page_declares_its_access_and_the_list_is_complete() -> None:
    paths = {(r.method, r.path) for r in _pages()}
    assert {("GET", "/"), ("GET", "/households"), ("GET", "/households/{code}"), ("GET", "/imports"),
            ("GET", "/admin/users"), ("POST", "/households/{code}/edit")} <= paths


def test_each_role_gets_a_403_page_exactly_where_it_lacks_the_permission(
        engine: sa.Engine, codes: dict[str, str]) -> None:
    rules = [r for r in _pages() if r.access != PUBLIC]
    for role, code in codes.items():
        perms = DEFAULT_ROLE_PERMISSIONS[role]
        with TestClient(create_app()) as client:
            csrf = login(client, f"u_{role}", next_url="/login")
            for rule in rules:
                data = {"csrf_token": csrf} if rule.method == "POST" else None
                resp = client.request(rule.method, _url(rule, code), data=data, follow_redirects=False)
                allowed = rule.access == AUTHENTICATED or Permission(rule.access) in perms
                where = f"{role} {rule.method} {rule.path}: {resp.status_code}"
                if allowed:
                    assert resp.status_code not in (401, 403) and resp.status_code < 500, where
                else:
                    assert resp.status_code == 403, where
                    assert "<html" in resp.text and str(rule.access) in resp.text, where


def test_every_protected_page_sends_a_stranger_to_the_log_in_page(engine: sa.Engine) -> None:
    with TestClient(create_app()) as client:
        for rule in _pages():
            if rule.access == PUBLIC:
                continue
            resp = client.request(rule.method, _url(rule, "HH-0000000000"), follow_redirects=False)
            assert resp.status_code in (303, 403), f"{rule.method} {rule.path}: {resp.status_code}"
            if rule.method == "GET":
                assert resp.headers["location"].startswith("/login?next="), rule.path
