"""Changing a user's roles and what a role grants, from the administration pages: who may, what
the person notices on their next page, and the guard that keeps the system administrable."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts.models import Role, RolePermission, User, UserRole
from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.db import session_scope
from jatigi.web.app import create_app
from tests import factories as f
from tests.web import login

Open = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def world(engine: sa.Engine) -> None:
    """ONGA: alice (IM officer), vera (viewer). OCHA: root, the only system administrator."""
    with session_scope(engine) as s:
        f.places(s)
        for acronym in ("ONGA", "OCHA"):
            f.org(s, acronym)
        f.user(s, "alice", "ONGA")
        f.user(s, "vera", "ONGA", "viewer")
        f.user(s, "root", "OCHA", "admin")


@pytest.fixture
def browser(engine: sa.Engine, world: None) -> Iterator[Open]:
    """`browser("alice")`: a client logged in as alice, and its CSRF token."""
    clients: list[TestClient] = []

    def open_as(username: str, next_url: str = "/admin") -> tuple[TestClient, str]:
        client = TestClient(create_app(), base_url="http://testserver", headers={"Accept-Language": "en"})
        client.__enter__()
        clients.append(client)
        return client, login(client, username, next_url=next_url)

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def _id(engine: sa.Engine, username: str) -> int:
    with session_scope(engine) as s:
        found = s.scalar(sa.select(User.id).where(User.username == username))
    assert found is not None
    return found


def _roles(engine: sa.Engine, username: str) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(sa.select(Role.name).join(UserRole, UserRole.role_id == Role.id)
                              .join(User, User.id == UserRole.user_id).where(User.username == username)
                              .order_by(Role.name)))


def _grants(engine: sa.Engine, role: str) -> set[str]:
    with session_scope(engine) as s:
        return set(s.scalars(sa.select(RolePermission.permission).join(Role, Role.id == RolePermission.role_id)
                             .where(Role.name == role)))


def _events(engine: sa.Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        events = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
    return events


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _checked(html: str, name: str) -> list[str]:
    """The values of the ticked check boxes called `name`."""
    return sorted(m.group(1) for m in re.finditer(
        rf'<input type="checkbox" id="[^"]*" name="{re.escape(name)}" value="([^"]*)" checked>', html))


def _role_form(html: str) -> dict[str, list[str]]:
    """The roles page's form as the browser would send it unchanged: each role's ticked permissions."""
    roles = re.findall(r'<input type="hidden" name="roles" value="([^"]*)">', html)
    return {role: _checked(html, f"grant-{role}") for role in roles}


def test_those_without_accounts_user_write_may_neither_open_nor_post_the_forms(browser, engine: sa.Engine) -> None:
    vera_id = _id(engine, "vera")
    for username in ("alice", "vera"):  # alice reads the users; vera not even that
        client, csrf = browser(username)
        page = client.get(f"/admin/users/{vera_id}/roles")
        assert page.status_code == 403, username
        resp = client.post(f"/admin/users/{vera_id}/roles", data={"csrf_token": csrf, "roles": "admin"})
        assert resp.status_code == 403, username
        resp = client.post("/admin/roles", data={"csrf_token": csrf, "roles": "viewer",
                                                 "grant-viewer": "accounts:user:write"})
        assert resp.status_code == 403, username
    assert _roles(engine, "vera") == ["viewer"]
    assert "accounts:user:write" not in _grants(engine, "viewer")
    # alice still reads the roles page, without a form to change it.
    alice, _csrf = browser("alice")
    page = alice.get("/admin/roles")
    assert page.status_code == 200 and 'action="/admin/roles"' not in page.text
    assert 'href="/admin/users/' not in alice.get("/admin/users").text


def test_every_form_needs_its_csrf_token(browser, engine: sa.Engine) -> None:
    root, _csrf = browser("root")
    vera_id = _id(engine, "vera")
    for path, data in ((f"/admin/users/{vera_id}/roles", {"roles": "im_officer"}),
                       ("/admin/roles", {"roles": "viewer", "grant-viewer": "registry:household:read"})):
        for token in (None, "forged"):
            sent = dict(data) if token is None else {**data, "csrf_token": token}
            resp = root.post(path, data=sent)
            assert resp.status_code == 403 and "expired or did not come from Jatigi" in resp.text, (path, token)
    assert _roles(engine, "vera") == ["viewer"]
    assert "registry:household:read" not in _grants(engine, "viewer")


def test_new_roles_apply_to_an_open_session_on_its_next_page(browser, engine: sa.Engine) -> None:
    vera, _vera_csrf = browser("vera", next_url="/")
    assert vera.get("/households").status_code == 403
    root, csrf = browser("root")
    vera_id = _id(engine, "vera")

    page = root.get("/admin/users")
    assert f'href="/admin/users/{vera_id}/roles"' in page.text
    form = root.get(f"/admin/users/{vera_id}/roles")
    assert form.status_code == 200 and "Roles of vera" in form.text
    assert _checked(form.text, "roles") == ["viewer"]

    resp = root.post(f"/admin/users/{vera_id}/roles",
                     data={"csrf_token": csrf, "roles": ["registration_officer", "viewer"]})
    assert resp.status_code == 200 and str(resp.url).endswith("/admin/users?roles=vera")
    shown = _text(resp.text)
    assert "The roles of vera were changed" in shown
    assert "vera Vera ONGA Registration officer, Viewer" in shown
    # Same session, no new log-in: the next page follows the new roles.
    assert vera.get("/households").status_code == 200
    assert 'href="/households"' in vera.get("/").text

    resp = root.post(f"/admin/users/{vera_id}/roles", data={"csrf_token": csrf, "roles": "viewer"})
    assert resp.status_code == 200
    assert vera.get("/households").status_code == 403

    events = _events(engine, "user.roles_change")
    assert [(e.actor, e.entity_id, e.detail) for e in events] == [
        ("root", str(vera_id), {"username": "vera", "before": ["viewer"], "after": ["registration_officer", "viewer"]}),
        ("root", str(vera_id), {"username": "vera", "before": ["registration_officer", "viewer"], "after": ["viewer"]}),
    ]
    with session_scope(engine) as s:
        assert verify_chain(s).broken_at is None


def test_no_role_or_an_unknown_one_is_refused_beside_the_field(browser, engine: sa.Engine) -> None:
    root, csrf = browser("root")
    vera_id = _id(engine, "vera")
    resp = root.post(f"/admin/users/{vera_id}/roles", data={"csrf_token": csrf})
    assert resp.status_code == 422
    assert "Choose at least one role; to stop someone from logging in, deactivate them." in resp.text
    assert 'id="user-roles-role-error"' in resp.text
    resp = root.post(f"/admin/users/{vera_id}/roles", data={"csrf_token": csrf, "roles": "chief"})
    assert resp.status_code == 422 and "Unknown role chief" in resp.text
    assert root.post("/admin/users/999999/roles", data={"csrf_token": csrf, "roles": "viewer"}).status_code == 404
    assert _roles(engine, "vera") == ["viewer"]
    assert _events(engine, "user.roles_change") == []


def test_changing_what_a_role_grants_changes_it_for_everyone_holding_it(browser, engine: sa.Engine) -> None:
    alice, _alice_csrf = browser("alice", next_url="/imports")
    assert alice.get("/imports").status_code == 200
    root, csrf = browser("root")
    page = root.get("/admin/roles")
    assert page.status_code == 200
    form = _role_form(page.text)
    assert sorted(form) == ["caseworker", "cash_officer", "im_officer", "protection_focal_point",
                            "protection_supervisor", "registration_officer", "viewer"]  # never the administrator role
    assert "registry:import:run" in form["im_officer"]

    form["im_officer"].remove("registry:import:run")
    form["viewer"].append("registry:household:read")
    data: dict[str, object] = {"csrf_token": csrf, "roles": list(form)}
    data.update({f"grant-{role}": perms for role, perms in form.items()})
    resp = root.post("/admin/roles", data=data)
    assert resp.status_code == 200 and "The permissions were saved" in resp.text
    assert "registry:import:run" not in _grants(engine, "im_officer")
    assert "registry:household:read" in _grants(engine, "viewer")
    # alice, still logged in, loses the import at her next page; her menu no longer offers it.
    refused = alice.get("/imports")
    assert refused.status_code == 403 and "registry:import:run" in refused.text
    assert 'href="/imports"' not in alice.get("/admin").text

    changes = {e.detail["role"]: e.detail for e in _events(engine, "role.permissions_change")}
    assert sorted(changes) == ["im_officer", "viewer"]  # the unchanged role leaves no event
    assert "registry:import:run" in changes["im_officer"]["before"]
    assert "registry:import:run" not in changes["im_officer"]["after"]
    assert set(changes["viewer"]["after"]) - set(changes["viewer"]["before"]) == {"registry:household:read"}


def test_a_bad_role_form_changes_no_role(browser, engine: sa.Engine) -> None:
    root, csrf = browser("root")
    before = {role: _grants(engine, role) for role in ("viewer", "admin")}
    for data, message in (
            ({"roles": ["viewer", "admin"], "grant-viewer": "registry:household:read"},
             "The system administrator role always grants every permission."),
            ({"roles": ["viewer"], "grant-viewer": ["registry:household:read", "everything:at:once"]},
             "Unknown permission everything:at:once."),
            ({"roles": ["viewer"]}, "The role viewer must grant at least one permission"),
    ):
        resp = root.post("/admin/roles", data={"csrf_token": csrf, **data})
        assert resp.status_code == 422 and message in resp.text, message
    assert {role: _grants(engine, role) for role in ("viewer", "admin")} == before
    assert _events(engine, "role.permissions_change") == []


def test_the_last_active_administrator_keeps_the_role(browser, engine: sa.Engine) -> None:
    root, csrf = browser("root")
    root_id, alice_id = _id(engine, "root"), _id(engine, "alice")
    # Adding a role to oneself is fine; taking away one's own administrator role is not.
    resp = root.post(f"/admin/users/{root_id}/roles", data={"csrf_token": csrf, "roles": ["admin", "viewer"]})
    assert resp.status_code == 200
    resp = root.post(f"/admin/users/{root_id}/roles", data={"csrf_token": csrf, "roles": "viewer"})
    assert resp.status_code == 422
    assert "You cannot remove your own administrator role: ask another administrator." in _text(resp.text)
    assert _roles(engine, "root") == ["admin", "viewer"]

    # IM officers are made able to manage every user without being system administrators…
    form = _role_form(root.get("/admin/roles").text)
    form["im_officer"] += ["accounts:user:write", "registry:household:read_all"]
    data: dict[str, object] = {"csrf_token": csrf, "roles": list(form)}
    data.update({f"grant-{role}": perms for role, perms in form.items()})
    assert root.post("/admin/roles", data=data).status_code == 200
    # …yet alice may neither strip root, the only active administrator, of the role nor deactivate root.
    alice, alice_csrf = browser("alice")
    last = "root is the last active system administrator: give the role to another active user first."
    resp = alice.post(f"/admin/users/{root_id}/roles", data={"csrf_token": alice_csrf, "roles": "viewer"})
    assert resp.status_code == 422 and last in _text(resp.text)
    resp = alice.post(f"/admin/users/{root_id}/deactivate", data={"csrf_token": alice_csrf})
    assert resp.status_code == 422 and last in _text(resp.text)
    assert _roles(engine, "root") == ["admin", "viewer"]

    # Once alice is an administrator too, root's role may go (root's next page is refused).
    assert root.post(f"/admin/users/{alice_id}/roles", data={"csrf_token": csrf, "roles": "admin"}
                     ).status_code == 200
    resp = alice.post(f"/admin/users/{root_id}/roles", data={"csrf_token": alice_csrf, "roles": "viewer"})
    assert resp.status_code == 200 and _roles(engine, "root") == ["viewer"]
    assert root.get("/admin/users").status_code == 403
    assert [e.detail["after"] for e in _events(engine, "user.roles_change")] == [
        ["admin", "viewer"], ["admin"], ["viewer"]]
