"""Every API route × every role: 403 exactly when the role lacks the route's permission."""

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

# Writes last, deletes at the very end, so that reads meet an existing household.
_ORDER = {"GET": 0, "POST": 1, "PATCH": 2, "DELETE": 3}


def _rules() -> list[AccessRule]:
    """The API's routes; pages are walked in test_page_permissions.py."""
    api = [r for r in access_rules(create_app()) if r.path.startswith("/api/")]
    return sorted(api, key=lambda r: (_ORDER.get(r.method, 9), r.path))


def _url(rule: AccessRule, code: str) -> str:
    values = {"code": code, "pcode": "ML09", "agreement_id": "999999", "pair_id": "999999",
              "assessment_id": "999999", "name": "protection", "run_id": "999999",
              "cycle_id": "999999"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "999999"), rule.path)


def test_every_route_in_the_openapi_document_declares_its_access() -> None:
    app = create_app()
    declared = {(r.method, r.path) for r in access_rules(app)}
    documented = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    assert documented <= declared
    public = {(r.method, r.path) for r in access_rules(app) if r.access == PUBLIC}
    # Public: the API index and token endpoint, and for people the log-in page and language switch.
    assert public == {("GET", "/api/v1/"), ("POST", "/api/v1/tokens"), ("GET", "/login"), ("POST", "/login"),
                      ("POST", "/language")}


@pytest.fixture
def role_tokens(engine: sa.Engine) -> dict[str, tuple[str, str]]:
    """For each role, a user of ONGA with a token and a household of their own to act on."""
    out = {}
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "registrar", "ONGA", "registration_officer")
        registrar = f.actor(s, "registrar")
        for role in f.ROLES:
            f.user(s, f"u_{role}", "ONGA", role)
            out[role] = (f.token(s, f"u_{role}"), f.household(s, registrar))
    return out


def test_each_role_gets_403_exactly_where_it_lacks_the_permission(
        engine: sa.Engine, role_tokens: dict[str, tuple[str, str]]) -> None:
    rules = [r for r in _rules() if r.access != PUBLIC]
    assert len(rules) >= 13
    seen: dict[tuple[str, str], list[int]] = {}
    with TestClient(create_app()) as client:
        for role, (token, code) in role_tokens.items():
            perms = DEFAULT_ROLE_PERMISSIONS[role]
            for rule in rules:
                body = {} if rule.method in ("POST", "PATCH") and not rule.path.endswith("/imports") else None
                resp = client.request(rule.method, _url(rule, code), json=body,
                                      headers={"Authorization": f"Bearer {token}"})
                allowed = rule.access == AUTHENTICATED or Permission(rule.access) in perms
                where = f"{role} {rule.method} {rule.path}: {resp.status_code} {resp.text[:200]}"
                if allowed:
                    assert resp.status_code not in (401, 403) and resp.status_code < 500, where
                else:
                    assert resp.status_code == 403, where
                    assert str(rule.access) in resp.json()["detail"], where
                seen.setdefault((rule.method, rule.path), []).append(resp.status_code)
    assert len(seen) == len(rules)
    # Some role is refused somewhere, and every route is open to some role.
    assert any(403 in codes for codes in seen.values()) and all(set(codes) != {403} for codes in seen.values())


def test_every_protected_route_answers_401_without_or_with_a_bad_token(engine: sa.Engine) -> None:
    with TestClient(create_app()) as client:
        for rule in _rules():
            if rule.access == PUBLIC:
                continue
            url = _url(rule, "HH-0000000000")
            for headers in ({}, {"Authorization": "Bearer jtg_forged"}, {"Authorization": "Basic YTpi"}):
                resp = client.request(rule.method, url, headers=headers)
                assert resp.status_code == 401, (rule, headers, resp.text)
