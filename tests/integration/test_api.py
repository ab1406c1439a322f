"""The JSON API over HTTP, as an integration partner or a field office's script uses it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.places.service import UnitRow, upsert_units
from jatigi.registry import service
from jatigi.registry.models import Household, Person
from jatigi.registry.records import PersonRecord
from jatigi.web.app import create_app, preferred_language
from tests import factories as f

CLIENT_IP = "203.0.113.7"


@dataclass
class World:
    a_codes: list[str]
    b_codes: list[str]
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@pytest.fixture
def world(engine: sa.Engine) -> World:
    """Two organisations: ONGA (alice) with two households in Bamako, ONGB (bob) with one in Mopti."""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA")
        f.user(s, "bob", "ONGB")
        alice, bob = f.actor(s, "alice"), f.actor(s, "bob")
        a_codes = [f.household(s, alice), f.household(s, alice, population_group="host", origin_pcode=None,
                                                     movements=[], intention=None)]
        b_codes = [f.household(s, bob, current_pcode=f.MOPTI_COMMUNE, phone="70 98 76 54", members=[
            PersonRecord(1, "Boubacar", "Cissé", "m", "head", date(1970, 1, 1))])]
        tokens = {"alice": f.token(s, "alice"), "bob": f.token(s, "bob")}
    return World(a_codes, b_codes, tokens)


@pytest.fixture
def client(engine: sa.Engine) -> Iterator[TestClient]:
    with TestClient(create_app(), client=(CLIENT_IP, 40000)) as c:
        yield c


def _codes(resp: object) -> set[str]:
    return {item["code"] for item in resp.json()["items"]}  # type: ignore[attr-defined]


def test_the_api_index_and_no_cdn_documentation_page(client: TestClient) -> None:
    # The root is the dashboard for people (see the page tests); the API has its own index.
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    index = client.get("/api/v1/").json()
    assert index["name"] == "Jatigi" and index["links"]["households"] == "/api/v1/households"
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/households/{code}" in schema["paths"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_no_token_or_a_bad_token_is_refused(client: TestClient, world: World) -> None:
    resp = client.get("/api/v1/households")
    assert resp.status_code == 401 and "Bearer" in resp.json()["detail"]
    assert resp.headers["www-authenticate"] == "Bearer"
    resp = client.get("/api/v1/households", headers={"Authorization": "Bearer jtg_not-a-real-token",
                                                     "Accept-Language": "en-GB,en;q=0.9"})
    assert resp.status_code == 401 and resp.json()["detail"] == "Invalid or expired API token."
    # French is the default language.
    resp = client.get("/api/v1/households", headers={"Authorization": "Bearer jtg_not-a-real-token"})
    assert resp.json()["detail"] == "Jeton d'API invalide ou expiré."
    me = client.get("/api/v1/me", headers=world.auth("alice")).json()
    assert me["username"] == "alice" and me["organisation"] == "ONGA"
    assert "registry:household:read" in me["permissions"]


def test_a_password_gives_a_token_and_six_wrong_ones_lock_the_account(client: TestClient, world: World) -> None:
    resp = client.post("/api/v1/tokens", json={"username": "alice", "password": f.PASSWORD})
    assert resp.status_code == 201
    token = resp.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    for _ in range(6):
        resp = client.post("/api/v1/tokens", json={"username": "alice", "password": "wrong password!"},
                           headers={"Accept-Language": "en"})
        assert resp.status_code == 401
        assert resp.json()["detail"] == "Wrong user name or password."
    resp = client.post("/api/v1/tokens", json={"username": "alice", "password": f.PASSWORD},
                       headers={"Accept-Language": "en"})
    assert resp.status_code == 401
    assert "locked" in resp.json()["detail"]
    # A token issued before the lock still works: the lock guards passwords, not tokens.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_an_organisation_sees_another_ones_households_only_under_a_valid_agreement(
        client: TestClient, world: World, engine: sa.Engine) -> None:
    alice = world.auth("alice")
    b_code = world.b_codes[0]

    def alice_sees_b() -> dict[str, bool]:
        summary = client.get("/api/v1/registry/summary", headers=alice).json()
        return {
            "list": b_code in _codes(client.get("/api/v1/households?limit=500", headers=alice)),
            "search by place": b_code in _codes(client.get("/api/v1/households?pcode=ML05", headers=alice)),
            "search by name": b_code in _codes(client.get("/api/v1/households?q=cisse", headers=alice)),
            "search by phone": b_code in _codes(
                client.get("/api/v1/households", params={"phone": "70987654"}, headers=alice)),
            "detail": client.get(f"/api/v1/households/{b_code}", headers=alice).status_code == 200,
            "history": client.get(f"/api/v1/households/{b_code}/history", headers=alice).status_code == 200,
            "summary": summary["total"]["households"] == 3,
        }

    before = alice_sees_b()
    assert not any(before.values()), before
    assert client.get(f"/api/v1/households/{b_code}", headers=alice).json()["detail"] == \
        f"No household {b_code} that you may see."
    assert client.get("/api/v1/registry/summary", headers=alice).json()["total"] == \
        {"households": 2, "people": 6, "female_headed": 2}

    # Alice cannot grant herself access to ONGB's households.
    resp = client.post("/api/v1/agreements", headers=alice,
                       json={"provider": "ONGB", "recipient": "ONGA", "purpose": "Cash for rent"})
    assert resp.status_code == 422

    resp = client.post("/api/v1/agreements", headers=world.auth("bob"),
                       json={"provider": "ONGB", "recipient": "ONGA", "purpose": "Cash for rent",
                             "reference": "DSA-2024-01"})
    assert resp.status_code == 201, resp.text
    agreement = resp.json()
    during = alice_sees_b()
    assert all(during.values()), during

    assert client.delete(f"/api/v1/agreements/{agreement['id']}", headers=alice).status_code == 422
    resp = client.delete(f"/api/v1/agreements/{agreement['id']}", headers=world.auth("bob"))
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    after = alice_sees_b()
    assert not any(after.values()), after

    long_ago = date.today() - timedelta(days=400)
    resp = client.post("/api/v1/agreements", headers=world.auth("bob"),
                       json={"provider": "ONGB", "recipient": "ONGA", "purpose": "Cash for rent 2023",
                             "signed_on": long_ago.isoformat(),
                             "valid_until": (long_ago + timedelta(days=365)).isoformat()})
    assert resp.status_code == 201
    expired = alice_sees_b()
    assert not any(expired.values()), expired


def test_reading_a_household_leaves_an_audit_event_and_the_chain_intact(
        client: TestClient, world: World, engine: sa.Engine) -> None:
    code = world.a_codes[0]
    resp = client.get(f"/api/v1/households/{code}", headers=world.auth("alice"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["organisation"] == "ONGA" and body["phone"] == "22376123456"
    assert [m["given_name"] for m in body["members"]] == ["Aminata", "Moussa", "Kadidia"]
    assert body["members"][0]["phone"] == "22366554433"
    assert {c["purpose"] for c in body["consents"]} == {"registration", "data_sharing", "referral", "contact", "tracing"}
    assert body["movements"][0]["from_pcode"] == f.DOUENTZA
    assert resp.headers["etag"] == '"1"'
    with session_scope(engine) as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "household.read")
                          .order_by(AuditEvent.id.desc())).first()
        assert event is not None
        assert (event.actor, event.entity_id, event.ip) == ("alice", code, CLIENT_IP)
        assert verify_chain(s).ok


def test_an_edit_keeps_the_previous_value_and_a_stale_version_is_refused(
        client: TestClient, world: World) -> None:
    code, alice = world.a_codes[0], world.auth("alice")
    resp = client.patch(f"/api/v1/households/{code}", headers={**alice, "If-Match": '"1"'},
                        json={"monthly_rent_xof": 30000, "intention": "return"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2 and resp.headers["etag"] == '"2"'

    history = client.get(f"/api/v1/households/{code}/history", headers=alice).json()
    assert len(history) == 1
    changes = {c["field"]: (c["before"], c["after"]) for c in history[0]["changes"]}
    assert changes["monthly_rent_xof"] == (25000, 30000)
    assert changes["intention"] == ("stay", "return")
    assert history[0]["changed_by"] == "alice"
    assert "phone_sealed" not in history[0]["before"]

    stale = client.patch(f"/api/v1/households/{code}", headers={**alice, "If-Match": '"1"'},
                         json={"monthly_rent_xof": 1})
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"]
    assert client.patch(f"/api/v1/households/{code}", headers=alice,
                        json={"version": 1, "monthly_rent_xof": 1}).status_code == 409

    bad = client.patch(f"/api/v1/households/{code}", headers=alice, json={"current_pcode": "ML999"})
    assert bad.status_code == 422 and "current_pcode" in bad.json()["detail"]
    unknown = client.patch(f"/api/v1/households/{code}", headers=alice, json={"code": "HH-X"})
    assert unknown.status_code == 422 and "code" in unknown.json()["detail"]
    assert client.get(f"/api/v1/households/{code}", headers=alice).json()["monthly_rent_xof"] == 30000

    # Another organisation may not edit it, even with an agreement to read it.
    bob = world.auth("bob")
    assert client.patch(f"/api/v1/households/{code}", headers=bob, json={"intention": "stay"}).status_code == 404


def test_a_deleted_household_is_hidden_then_erased_after_retention(
        client: TestClient, world: World, engine: sa.Engine) -> None:
    code, alice = world.a_codes[0], world.auth("alice")
    assert client.delete(f"/api/v1/households/{code}", headers=alice).status_code == 422  # no reason
    resp = client.delete(f"/api/v1/households/{code}", params={"reason": "Registered twice"}, headers=alice)
    assert resp.status_code == 200, resp.text
    purge_after = date.fromisoformat(resp.json()["purge_after"])
    assert purge_after > date.today()
    assert client.get(f"/api/v1/households/{code}", headers=alice).status_code == 404
    assert code not in _codes(client.get("/api/v1/households", headers=alice))

    with session_scope(engine) as s:
        assert service.purge_expired(session=s, actor=SYSTEM, today=purge_after) == 0
        assert service.purge_expired(session=s, actor=SYSTEM, today=purge_after + timedelta(days=1)) == 1
    with session_scope(engine) as s:
        assert s.scalar(sa.select(Household.id).where(Household.code == code)) is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)
                        .where(Person.given_name == "Aminata")) == 1  # the other household's head
        assert verify_chain(s).ok


def test_a_household_posted_as_json_is_registered(client: TestClient, world: World) -> None:
    alice = world.auth("alice")
    resp = client.post("/api/v1/households", headers=alice, json=f.household_body())
    assert resp.status_code == 201, resp.text
    code = resp.json()["code"]
    assert resp.headers["location"] == f"/api/v1/households/{code}"
    detail = client.get(f"/api/v1/households/{code}", headers=alice).json()
    assert detail["member_count"] == 2 and detail["head_sex"] == "m"
    assert detail["current_admin1"] == "ML09"
    assert detail["members"][1]["wg_seeing"] == 4 and detail["members"][1]["age_estimated"] is True
    assert detail["separated_relatives"][0]["whereabouts"] == "Parti vers Gao en 2023"
    assert {(c["purpose"], c["given"]) for c in detail["consents"]} >= {("referral", False)}
    assert detail["movements"][0]["kind"] == "displaced"  # inferred from the origin, as on import
    assert detail["priority_needs"] == ["shelter", "food"]


def _count_households(engine: sa.Engine) -> int:
    with session_scope(engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Household)) or 0


def test_a_posted_household_with_problems_is_refused_whole(
        client: TestClient, world: World, engine: sa.Engine) -> None:
    alice = world.auth("alice")
    before = _count_households(engine)

    resp = client.post("/api/v1/households", headers=alice, json=f.household_body(current_pcode="ML999999"))
    assert resp.status_code == 422
    problems = resp.json()["problems"]
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in problems] == \
        [("request", 1, "current_pcode", "ML999999")]
    assert "Unknown P-code" in problems[0]["message"]

    twelve = (date.today() - timedelta(days=12 * 365 + 30)).isoformat()
    child_head = f.household_body(members=[
        {"given_name": "Sali", "family_name": "Diallo", "sex": "f", "relationship": "head", "birth_date": twelve},
        {"given_name": "Ami", "family_name": "Diallo", "sex": "f", "relationship": "sibling", "age": 8},
    ])
    resp = client.post("/api/v1/households", headers=alice, json=child_head)
    assert resp.status_code == 422
    [problem] = resp.json()["problems"]
    assert (problem["sheet"], problem["row"], problem["column"]) == ("members", 1, "specific_needs")
    assert "SC-CH" in problem["message"] and "12 years" in problem["message"]

    child_head["members"][0]["specific_needs"] = ["SC-CH"]  # type: ignore[index]
    no_consent = {**child_head, "consents": {"registration": False}}
    resp = client.post("/api/v1/households", headers=alice, json=no_consent)
    assert resp.status_code == 422
    assert [p["column"] for p in resp.json()["problems"]] == ["consents.registration"]
    assert _count_households(engine) == before

    assert client.post("/api/v1/households", headers=alice, json=child_head).status_code == 201
    assert _count_households(engine) == before + 1


def _partner_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def _person(key: str, given: str, relationship: str, age: str, pcode: str = f.MOPTI_COMMUNE) -> dict[str, str]:
    return {"household_key": key, "given_name": given, "family_name": "Sangaré", "sex": "f",
            "relationship": relationship, "age": age, "population_group": "idp", "current_pcode": pcode,
            "living_arrangement": "host_family_free", "consent_registration": "yes",
            "enumerator": "Équipe Mopti"}


def test_an_uploaded_list_is_imported_all_or_nothing(client: TestClient, world: World, engine: sa.Engine) -> None:
    alice = world.auth("alice")
    good = _partner_csv([_person("K1", "Awa", "head", "40"), _person("K1", "Sira", "child", "10"),
                         _person("K2", "Nana", "head", "55")])
    resp = client.post("/api/v1/imports", headers=alice, files={"files": ("liste.csv", good, "text/csv")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["households_written"], body["people_written"]) == ("committed", 2, 3)

    again = client.post("/api/v1/imports", headers=alice, files={"files": ("liste.csv", good, "text/csv")})
    assert again.json()["households_skipped"] == 2 and again.json()["households_written"] == 0

    before = _count_households(engine)
    bad = _partner_csv([_person("K3", "Awa", "head", "40"), _person("K4", "Sira", "head", "30", pcode="ML0000")])
    resp = client.post("/api/v1/imports", headers=alice, files={"files": ("bad.csv", bad, "text/csv")})
    assert resp.status_code == 422
    [problem] = resp.json()["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (3, "current_pcode", "ML0000")
    assert _count_households(engine) == before

    resp = client.post("/api/v1/imports", headers=alice, data={"partial": "true"},
                       files={"files": ("bad.csv", bad, "text/csv")})
    assert resp.status_code == 200 and resp.json()["households_written"] == 1
    assert resp.json()["status"] == "partial"


def test_an_upload_over_the_limit_is_refused_with_413(engine: sa.Engine, world: World) -> None:
    with TestClient(create_app(max_upload_bytes=1024 * 1024, max_body_bytes=1024 * 1024)) as small:
        resp = small.post("/api/v1/imports", headers={**world.auth("alice"), "Accept-Language": "en"},
                          files={"files": ("big.csv", b"x" * (1024 * 1024 + 1), "text/csv")})
        assert resp.status_code == 413
        assert resp.json()["detail"] == "The request is too large: at most 1 MB is accepted."
        # A body sent in chunks, without Content-Length, is counted as it arrives.
        chunks = (b"x" * 65536 for _ in range(20))
        resp = small.post("/api/v1/households", headers={**world.auth("alice"), "Content-Type": "application/json"},
                          content=chunks)
        assert resp.status_code == 413


def test_places_by_level_and_parent_with_geometry_on_request(
        client: TestClient, world: World, engine: sa.Engine) -> None:
    square = {"type": "Polygon", "coordinates": [[[-8, 12], [-7.9, 12], [-7.9, 12.1], [-8, 12]]]}
    with session_scope(engine) as s:
        upsert_units(session=s, rows=[UnitRow("ML090104", "Commune IV", 3, "ML0901", "ML", geometry=square)])
    alice = world.auth("alice")
    regions = client.get("/api/v1/places", params={"level": 1}, headers=alice).json()
    assert regions["total"] == 9 and "ML09" in {u["pcode"] for u in regions["items"]}
    communes = client.get("/api/v1/places", params={"parent": "ML0901"}, headers=alice).json()
    assert {u["pcode"] for u in communes["items"]} >= {"ML090104"}
    assert all(u["geometry"] is None for u in communes["items"])
    unit = client.get("/api/v1/places/ml090104", headers=alice).json()
    assert [a["pcode"] for a in unit["ancestors"]] == ["ML", "ML09", "ML0901"]
    assert unit["geometry"] is None
    with_geo = client.get("/api/v1/places/ML090104", params={"geometry": 1}, headers=alice).json()
    assert with_geo["geometry"] == square
    assert client.get("/api/v1/places/XX99", headers=alice).status_code == 404


def test_accept_language_picks_a_language_jatigi_speaks() -> None:
    assert preferred_language("en-GB,en;q=0.9,fr;q=0.8") == "en"
    assert preferred_language("de-DE, fr;q=0.5, en;q=0.7") == "en"
    assert preferred_language("de") == "fr"
    assert preferred_language(None) == "fr"


def test_messages_come_in_the_users_language_or_the_one_the_client_asks_for(
        client: TestClient, world: World, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from jatigi.core import i18n

    french = {"Invalid or expired API token.": "Jeton d'API invalide ou expiré.",
              "No household {code} that you may see.": "Aucun ménage {code} que vous puissiez voir."}
    monkeypatch.setattr(i18n, "catalogue", lambda lang: french if lang == "fr" else {})
    bad = {"Authorization": "Bearer nope"}
    assert client.get("/api/v1/me", headers=bad).json()["detail"] == "Jeton d'API invalide ou expiré."
    assert client.get("/api/v1/me", headers={**bad, "Accept-Language": "en-GB,en"}).json()["detail"] == \
        "Invalid or expired API token."

    with session_scope(engine) as s:
        f.user(s, "awa", "ONGA", language="fr")
        token = f.token(s, "awa")
    resp = client.get("/api/v1/households/HH-NONE", headers={"Authorization": f"Bearer {token}",
                                                             "Accept-Language": "en"})
    assert resp.json()["detail"] == "Aucun ménage HH-NONE que vous puissiez voir."
    resp = client.get("/api/v1/households/HH-NONE", headers=world.auth("alice"))
    assert resp.json()["detail"] == "No household HH-NONE that you may see."
