"""The administration pages and the boundary upload, over HTTP as a browser uses them (the import page's
own tests are in test_import_jobs.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.accounts.models import DataSharingAgreement, Organisation, User, WebSession
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import Permission
from jatigi.core.db import session_scope
from jatigi.places.models import AdminUnit
from jatigi.registry import service as registry
from jatigi.registry.models import Household
from jatigi.web.app import create_app
from jatigi.web.deps import access_rules, include_api_router
from tests import factories as f
from tests import kobo_files as kf
from tests.unit.places.cod_samples import BF_ADM0, BF_ADM1, BF_ADM2, write_geojson
from tests.web import Files, browsers, count_rows, csrf_of, upload_files


@pytest.fixture
def world(engine: sa.Engine) -> None:
    """ONGA: alice (IM officer), alex (registration officer), vera (viewer). ONGB: bob (IM officer),
    with one household in Mopti that consented to sharing. OCHA: root, the system administrator."""
    with session_scope(engine) as s:
        f.places(s)
        for acronym in ("ONGA", "ONGB", "OCHA"):
            f.org(s, acronym)
        f.user(s, "alice", "ONGA")
        f.user(s, "alex", "ONGA", "registration_officer")
        f.user(s, "vera", "ONGA", "viewer")
        f.user(s, "bob", "ONGB")
        f.user(s, "root", "OCHA", "admin")
        f.household(s, f.actor(s, "bob"), current_pcode=f.MOPTI_COMMUNE)


@pytest.fixture
def browser(engine: sa.Engine, world: None, system_tmp: Path) -> Iterator[Callable[..., tuple[TestClient, str]]]:
    """A fresh browser per user: `browser("alice")` gives a client logged in as alice and its CSRF token."""
    with browsers("/admin") as open_as:
        yield open_as


def _text(html: str) -> str:
    """The page as read: tags dropped, spaces folded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# ---- who may open what -------------------------------------------------------------------------


def test_a_viewer_may_open_neither_the_import_nor_the_administration(browser) -> None:
    client, csrf = browser("vera")
    for path in ("/imports", "/admin", "/admin/users", "/admin/agreements", "/admin/places"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "Not allowed" in resp.text
        # The menu does not offer what the user may not open.
        assert 'href="/imports"' not in resp.text and 'href="/admin"' not in resp.text
    assert client.post("/imports", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/admin/organisations", data={"csrf_token": csrf, "acronym": "X", "kind": "nngo"}
                       ).status_code == 403


def test_the_menu_offers_import_and_administration_to_those_allowed(browser) -> None:
    client, _csrf = browser("alice")
    page = client.get("/admin")
    assert page.status_code == 200
    assert 'href="/imports"' in page.text and 'href="/admin"' in page.text
    for section in ("/admin/organisations", "/admin/users", "/admin/roles", "/admin/agreements", "/admin/places"):
        assert f'href="{section}"' in page.text
        assert client.get(section).status_code == 200, section


def test_every_route_declares_the_permission_it_needs() -> None:
    from jatigi.accounts.admin_views import router as admin_pages
    from jatigi.places.views import router as places_pages
    from jatigi.registry.import_views import router as import_pages

    app = FastAPI()
    for router in (import_pages, admin_pages, places_pages):
        include_api_router(app, router, "")
    rules = {(r.method, r.path): r.access for r in access_rules(app)}
    P = Permission
    assert rules == {
        ("GET", "/imports"): P.REGISTRY_IMPORT_RUN,
        ("POST", "/imports"): P.REGISTRY_IMPORT_RUN,
        ("GET", "/imports/report/{token}"): P.REGISTRY_IMPORT_RUN,
        ("GET", "/imports/jobs/{job_id}"): P.REGISTRY_IMPORT_RUN,
        ("GET", "/imports/jobs/{job_id}/progress"): P.REGISTRY_IMPORT_RUN,
        ("GET", "/admin"): P.ACCOUNTS_USER_READ,
        ("GET", "/admin/organisations"): P.ACCOUNTS_USER_READ,
        ("POST", "/admin/organisations"): P.ACCOUNTS_ORGANISATION_WRITE,
        ("GET", "/admin/users"): P.ACCOUNTS_USER_READ,
        ("POST", "/admin/users"): P.ACCOUNTS_USER_WRITE,
        ("POST", "/admin/users/{user_id}/deactivate"): P.ACCOUNTS_USER_WRITE,
        ("POST", "/admin/users/{user_id}/reactivate"): P.ACCOUNTS_USER_WRITE,
        ("GET", "/admin/users/{user_id}/roles"): P.ACCOUNTS_USER_WRITE,
        ("POST", "/admin/users/{user_id}/roles"): P.ACCOUNTS_USER_WRITE,
        ("GET", "/admin/roles"): P.ACCOUNTS_USER_READ,
        ("POST", "/admin/roles"): P.ACCOUNTS_USER_WRITE,
        ("GET", "/admin/agreements"): P.ACCOUNTS_USER_READ,
        ("POST", "/admin/agreements"): P.ACCOUNTS_AGREEMENT_WRITE,
        ("POST", "/admin/agreements/{agreement_id}/revoke"): P.ACCOUNTS_AGREEMENT_WRITE,
        ("GET", "/admin/places"): P.PLACES_ADMIN_UNIT_WRITE,
        ("POST", "/admin/places"): P.PLACES_ADMIN_UNIT_WRITE,
    }


def test_every_post_without_the_csrf_token_is_refused(browser, engine: sa.Engine, tmp_path: Path) -> None:
    client, csrf = browser("root")
    with session_scope(engine) as s:
        alice = s.scalar(sa.select(User.id).where(User.username == "alice"))
        dsa = accounts.create_agreement(session=s, actor=f.actor(s, "root"), provider="ONGB", recipient="ONGA",
                                        purpose="Referral", signed_on=date.today())
        dsa_id = dsa.id
    geojson = write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0).read_bytes()
    posts: list[tuple[str, dict[str, str], Files | None]] = [
        ("/imports", {}, upload_files(kf.export(tmp_path, n=1))),
        ("/admin/organisations", {"acronym": "IRC", "name": "IRC", "kind": "ingo"}, None),
        ("/admin/users", {"username": "awa", "org": "ONGA", "roles": "viewer", "password": "x" * 12}, None),
        (f"/admin/users/{alice}/deactivate", {}, None),
        ("/admin/agreements", {"provider": "ONGA", "recipient": "ONGB", "purpose": "Referral",
                               "signed_on": "2024-01-01"}, None),
        (f"/admin/agreements/{dsa_id}/revoke", {}, None),
        ("/admin/places", {}, [("file", ("bfa_adm0.geojson", geojson, "application/geo+json"))]),
    ]
    for path, data, files in posts:
        for token in (None, "forged"):
            sent = dict(data) if token is None else {**data, "csrf_token": token}
            resp = client.post(path, data=sent, files=files, follow_redirects=False)
            assert resp.status_code == 403, (path, token)
            assert "expired or did not come from Jatigi" in resp.text
    assert count_rows(engine, Household) == 1
    assert count_rows(engine, Organisation, Organisation.acronym == "IRC") == 0
    assert count_rows(engine, User, User.username == "awa") == 0
    assert count_rows(engine, User, User.username == "alice", User.is_active.is_(True)) == 1
    assert count_rows(engine, DataSharingAgreement) == 1
    assert count_rows(engine, DataSharingAgreement, DataSharingAgreement.revoked_at.is_(None)) == 1
    assert count_rows(engine, AdminUnit, AdminUnit.country_code == "BF") == 0
    # With the token the same form goes through.
    ok = client.post("/admin/organisations", data={"csrf_token": csrf, "acronym": "IRC", "kind": "ingo"},
                     follow_redirects=False)
    assert ok.status_code == 303


# ---- organisations and users -------------------------------------------------------------------


def test_an_administrator_adds_an_organisation_and_a_user_who_can_then_log_in(browser, engine: sa.Engine) -> None:
    client, csrf = browser("root")
    resp = client.post("/admin/organisations", data={"csrf_token": csrf, "acronym": "IRC",
                                                     "name": "International Rescue Committee", "kind": "ingo"})
    assert resp.status_code == 200 and str(resp.url).endswith("/admin/organisations?added=IRC")
    shown = _text(resp.text)
    assert "The organisation IRC was added." in shown
    assert "IRC International Rescue Committee International NGO" in shown
    # The same acronym again: told beside the field, nothing added.
    again = client.post("/admin/organisations", data={"csrf_token": csrf, "acronym": "IRC", "kind": "ingo"})
    assert again.status_code == 422 and "The organisation IRC already exists." in again.text
    assert 'aria-invalid="true"' in again.text

    # A password too short is refused beside its field, and nothing is created.
    short = client.post("/admin/users", data={"csrf_token": csrf, "username": "awa.traore", "full_name": "Awa Traoré",
                                              "org": "IRC", "roles": "im_officer", "language": "fr",
                                              "password": "short"})
    assert short.status_code == 422 and "A password needs at least 10 characters." in short.text
    assert 'value="awa.traore"' in short.text  # what was typed stays, except the password
    assert count_rows(engine, User, User.username == "awa.traore") == 0

    resp = client.post("/admin/users", data={"csrf_token": csrf, "username": "Awa.Traore", "full_name": "Awa Traoré",
                                             "org": "IRC", "roles": ["im_officer", "viewer"], "language": "fr",
                                             "password": "un mot de passe solide"})
    assert resp.status_code == 200
    shown = _text(resp.text)
    assert "The user awa.traore was added." in shown
    assert "awa.traore Awa Traoré IRC Information management officer, Viewer Français Active" in shown
    assert count_rows(engine, AuditEvent, AuditEvent.action == "user.create") == 6  # five in the fixture

    awa = TestClient(create_app(), base_url="http://testserver")
    with awa:
        page = awa.get("/login")
        resp = awa.post("/login", data={"username": "awa.traore", "password": "un mot de passe solide",
                                        "csrf_token": csrf_of(page.text), "next": "/imports"},
                        follow_redirects=False)
        assert resp.status_code == 303
        landing = awa.get("/imports")
        assert landing.status_code == 200 and 'lang="fr"' in landing.text  # her language


def test_deactivating_a_user_ends_their_session(browser, engine: sa.Engine) -> None:
    alice, _alice_csrf = browser("alice", next_url="/imports")
    assert alice.get("/imports").status_code == 200
    root, csrf = browser("root")
    with session_scope(engine) as s:
        alice_id = s.scalar(sa.select(User.id).where(User.username == "alice"))

    resp = root.post(f"/admin/users/{alice_id}/deactivate", data={"csrf_token": csrf})
    assert resp.status_code == 200
    assert "alice was deactivated: their sessions have ended" in resp.text
    assert count_rows(engine, WebSession, WebSession.user_id == alice_id) == 0
    assert count_rows(engine, AuditEvent, AuditEvent.action == "user.deactivate") == 1
    # Her next page load goes to the log-in page, where her password no longer opens anything.
    nxt = alice.get("/imports", follow_redirects=False)
    assert nxt.status_code == 303 and nxt.headers["location"].startswith("/login")
    page = alice.get("/login")
    refused = alice.post("/login", data={"username": "alice", "password": f.PASSWORD,
                                         "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert refused.status_code == 401

    resp = root.post(f"/admin/users/{alice_id}/reactivate", data={"csrf_token": csrf})
    assert "alice was reactivated" in resp.text
    page = alice.get("/login")
    assert alice.post("/login", data={"username": "alice", "password": f.PASSWORD,
                                      "csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 303
    # An administrator cannot lock themselves out.
    with session_scope(engine) as s:
        root_id = s.scalar(sa.select(User.id).where(User.username == "root"))
    resp = root.post(f"/admin/users/{root_id}/deactivate", data={"csrf_token": csrf})
    assert resp.status_code == 422 and "You cannot deactivate your own account." in resp.text


def test_an_im_officer_sees_only_the_users_of_their_organisation(browser) -> None:
    client, csrf = browser("alice")
    page = client.get("/admin/users")
    assert page.status_code == 200
    shown = _text(page.text)
    for name in ("alice", "alex", "vera"):
        assert f" {name} " in shown
    assert " bob " not in shown and " root " not in shown
    # No form to add users nor buttons to deactivate them: that takes accounts:user:write.
    assert 'action="/admin/users"' not in page.text and "/deactivate" not in page.text
    resp = client.post("/admin/users", data={"csrf_token": csrf, "username": "mallory", "org": "ONGA",
                                             "roles": "admin", "password": "x" * 12})
    assert resp.status_code == 403
    # The system administrator sees everyone.
    root, _csrf = browser("root")
    shown = _text(root.get("/admin/users").text)
    assert " bob " in shown and " alice " in shown


def test_the_roles_page_shows_each_roles_permissions(browser) -> None:
    client, _csrf = browser("alice")
    page = client.get("/admin/roles")
    assert page.status_code == 200
    assert "Information management officer" in page.text and "Viewer" in page.text
    row = re.search(r"<code>registry:import:run</code>(.*?)</tr>", page.text, re.S)
    assert row, "no row for registry:import:run"
    # admin, im_officer, registration_officer: yes; caseworker, cash_officer, protection_focal_point,
    # protection_supervisor, viewer: no (roles in alphabetical order).
    assert re.findall(r'visually-hidden">(yes|no)<', row.group(1)) == ["yes", "no", "no", "yes", "no", "no", "yes",
                                                                       "no"]


# ---- data-sharing agreements -------------------------------------------------------------------


def _alice_sees_bobs_household(engine: sa.Engine) -> bool:
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")  # read afresh: what she may see is settled when she acts
        result = registry.list_households(session=s, actor=alice, limit=500)
        return result.total == 1


def test_an_agreement_recorded_then_revoked_opens_then_closes_the_households(browser, engine: sa.Engine) -> None:
    assert not _alice_sees_bobs_household(engine)
    bob, csrf = browser("bob")
    page = bob.get("/admin/agreements")
    assert page.status_code == 200 and "No agreement yet." in page.text
    # Bob cannot record an agreement for another organisation's data.
    resp = bob.post("/admin/agreements", data={"csrf_token": csrf, "provider": "ONGA", "recipient": "ONGB",
                                               "purpose": "Referral", "signed_on": "2024-01-10"})
    assert resp.status_code == 422 and "Only the providing organisation" in resp.text
    # A date that is not one is told beside its field.
    resp = bob.post("/admin/agreements", data={"csrf_token": csrf, "provider": "ONGB", "recipient": "ONGA",
                                               "purpose": "Referral", "signed_on": "10/01/2024"})
    assert resp.status_code == 422 and "Not a valid date" in resp.text

    resp = bob.post("/admin/agreements", data={"csrf_token": csrf, "provider": "ONGB", "recipient": "ONGA",
                                               "purpose": "Referral of protection cases", "signed_on": "2024-01-10",
                                               "valid_until": "", "reference": "DSA-2024-01"})
    assert resp.status_code == 200 and "The agreement was recorded" in resp.text
    shown = _text(resp.text)
    assert "ONGB ONGA Referral of protection cases DSA-2024-01" in shown and "In force" in shown
    assert _alice_sees_bobs_household(engine)
    # The recipient sees the agreement too, but may not revoke it.
    alice, _csrf = browser("alice")
    alice_page = alice.get("/admin/agreements")
    assert "Referral of protection cases" in alice_page.text and "/revoke" not in alice_page.text

    with session_scope(engine) as s:
        dsa_id = s.scalar(sa.select(DataSharingAgreement.id))
    resp = bob.post(f"/admin/agreements/{dsa_id}/revoke", data={"csrf_token": csrf})
    assert resp.status_code == 200 and "The agreement was revoked" in resp.text
    assert "Revoked" in _text(resp.text) and f"/admin/agreements/{dsa_id}/revoke" not in resp.text
    assert not _alice_sees_bobs_household(engine)
    assert count_rows(engine, AuditEvent, AuditEvent.action.in_(["agreement.create", "agreement.revoke"])) == 2
    # An organisation that is no party to it does not see it listed.
    with session_scope(engine) as s:
        f.user(s, "oscar", "OCHA", "im_officer")
    oscar, _csrf = browser("oscar")
    assert "Referral of protection cases" not in oscar.get("/admin/agreements").text


# ---- boundaries --------------------------------------------------------------------------------


def test_the_boundary_upload_adds_units_and_tells_what_is_wrong(browser, engine: sa.Engine, tmp_path: Path) -> None:
    client, csrf = browser("alice")
    page = client.get("/admin/places")
    assert page.status_code == 200 and "Admin units loaded" in page.text

    def upload(name: str, features: list[dict[str, Any]], **data: str) -> httpx.Response:
        body = write_geojson(tmp_path / name, features).read_bytes()
        return client.post("/admin/places", data={"csrf_token": csrf, **data},
                           files=[("file", (name, body, "application/geo+json"))])

    # Districts before their regions: nothing is loaded, and the page says why.
    resp = upload("bfa_adm2.geojson", BF_ADM2)
    assert resp.status_code == 422
    shown = _text(resp.text)
    assert "Nothing was loaded" in shown and "the parent P-code 'BF13' of BF1300 is neither in this import" in shown
    assert count_rows(engine, AdminUnit, AdminUnit.country_code == "BF") == 0

    resp = upload("bfa_adm0.geojson", BF_ADM0)
    assert resp.status_code == 200
    resp = upload("bfa_adm1.geojson", BF_ADM1, level="1")
    shown = _text(resp.text)
    assert "Units read from bfa_adm1.geojson: 3. Added: 3. Updated: 0." in shown
    assert "bfa_adm1.geojson 1 BF 3 3 0" in shown
    assert count_rows(engine, AdminUnit, AdminUnit.country_code == "BF") == 4
    assert count_rows(engine, AuditEvent, AuditEvent.action == "admin_unit.import") == 2

    # Through htmx: the outcome, and the counts per level out of band.
    body = write_geojson(tmp_path / "bfa_adm2.geojson", BF_ADM2).read_bytes()
    resp = client.post("/admin/places", data={"csrf_token": csrf},
                       files=[("file", ("bfa_adm2.geojson", body, "application/geo+json"))],
                       headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "<html" not in resp.text
    assert re.search(r'<section[^>]*id="unit-counts"[^>]*hx-swap-oob="true"', resp.text)
    assert count_rows(engine, AdminUnit, AdminUnit.pcode == "BF5302") == 1

    # A file of another kind is refused before it is read.
    resp = client.post("/admin/places", data={"csrf_token": csrf},
                       files=[("file", ("boundaries.kml", b"<kml/>", "application/xml"))])
    assert resp.status_code == 422 and "unsupported file type" in resp.text
