"""The authorisation matrix of protection: every protection page and API route, for every role and
for people of two organisations, against a real case, referral and tracing request.

The rules walked:
- a role without the route's permission is refused (403), whatever the record;
- with the permission, a record one does not need to know is answered exactly like a record that
  does not exist (404, the same message once the reference is set aside) — by every method, and
  nothing of it changes;
- the people who need to know it read it (200).
Need to know: the case — its caseworker and its supervisor; the referral — the case's caseworker and
supervisor, and the receiving organisation's caseworkers and supervisor; the tracing request — its
caseworker and the organisation's supervisor. Nobody else: not an administrator, not a colleague of
the same organisation, not a cash officer, not a coordinator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core.authz import DEFAULT_ROLE_PERMISSIONS, Permission
from jatigi.core.db import session_scope
from jatigi.protection import case_work, cases, referrals, tracing
from jatigi.protection.models import CaseEntry, Consent, ProtectionCase, Referral, TracingRequest
from jatigi.web.app import create_app
from jatigi.web.deps import PUBLIC, AccessRule, access_rules
from tests import factories as f
from tests.web import login

# username → (organisation, role)
PEOPLE = {
    "cw.a": ("PA", "caseworker"), "cw2.a": ("PA", "caseworker"), "sup.a": ("PA", "protection_supervisor"),
    "cw.b": ("PB", "caseworker"), "sup.b": ("PB", "protection_supervisor"),
    "admin.a": ("PA", "admin"), "im.a": ("PA", "im_officer"), "reg.a": ("PA", "registration_officer"),
    "cash.a": ("PA", "cash_officer"), "pfp.a": ("PA", "protection_focal_point"), "viewer.a": ("PA", "viewer"),
}
KNOWS = {
    "case": {"cw.a", "sup.a"},
    "referral": {"cw.a", "sup.a", "cw.b", "sup.b"},
    "tracing": {"cw.a", "sup.a"},
}
# What a valid request of each route would send: refused requests must not be refused for their form.
FORM = {"kind": "note", "text": "Une note.", "purpose": "services", "granted": True, "reason": "Raison donnée ici.",
        "closure_reason": "goals_met", "note": "Une note assez longue.", "outcome": "service_given",
        "colleague": "cw2.a", "caseworker": "cw2.a", "incident_type": "rape", "incident_month": "2026-01",
        "decision": "confirm", "threshold": 0.5, "stage": "assessment", "risk_level": "high",
        "organisation": "PB", "service_type": "legal"}
FAKE = {"case": "CAS-ZZZZZZ", "referral": "REF-ZZZZZZ", "tracing": "TR-ZZZZZZZZ"}


@dataclass(frozen=True)
class World:
    case: str
    referral: str
    tracing: str
    household: str
    survivor_code: str
    entry_id: int
    consent_id: int


def _kind(path: str) -> str | None:
    for kind, prefix in (("case", "/protection/cases/{code}"), ("referral", "/protection/referrals/{code}"),
                         ("tracing", "/protection/tracing/{code}")):
        if prefix in path:
            return kind
    return None


def _url(rule: AccessRule, world: World, fake: bool) -> str:
    kind = _kind(rule.path)
    code = {"case": world.case, "referral": world.referral, "tracing": world.tracing}.get(kind or "", "")
    if fake and kind:
        code = FAKE[kind]
    values = {"code": code, "entry_id": str(world.entry_id), "consent_id": str(world.consent_id),
              "service_id": "999999", "match_id": "999999"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "999999"), rule.path)


def _api_fields() -> dict[tuple[str, str], set[str]]:
    """The fields each API route's JSON body accepts (from the OpenAPI document)."""
    doc = create_app().openapi()
    out: dict[tuple[str, str], set[str]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            ref = schema.get("$ref", "")
            if ref:
                schema = doc["components"]["schemas"][ref.rpartition("/")[2]]
            out[(method.upper(), path)] = set(schema.get("properties", {}))
    return out


def _rules() -> list[AccessRule]:
    return [r for r in access_rules(create_app()) if "/protection" in r.path and r.access != PUBLIC]


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        f.places(s)
        for org in ("PA", "PB"):
            f.org(s, org)
        for name, (org, role) in PEOPLE.items():
            f.user(s, name, org, role=role)
        household = f.household(s, f.actor(s, "reg.a"))
        cw = f.actor(s, "cw.a")
        case = cases.open_case(s, cw, cases.NewCase(
            case_type="gbv", sex="f", summary="Menacée par le propriétaire.", area_pcode=f.BAMAKO_COMMUNE_IV,
            given_name="Kadidia", family_name="Sidibé", age="27", phone="+22376000111", may_call="no",
            household=household, supervisor="sup.a"))
        consent = case_work.give_consent(s, cw, case.code, purpose="referral", organisation="PB")
        entry = case_work.add_entry(s, cw, case.code, "note", "Première écoute.")
        referral = referrals.send_referral(s, cw, case, referrals.NewReferral(organisation="PB", service_type="legal"))
        request = tracing.create_request(s, cw, tracing.NewRequest(
            sought_given_name="Alassane", sought_family_name="Sidibé", sought_sex="m", sought_birth_year="2003",
            relationship="child", inquirer_given_name="Kadidia", inquirer_family_name="Sidibé",
            inquirer_consented=True))
        return World(case.code, referral.code, request.code, household, case.survivor_code, entry.id, consent.id)


def _state(engine: sa.Engine) -> tuple[object, ...]:
    with session_scope(engine) as s:
        return (s.execute(sa.select(ProtectionCase.state, ProtectionCase.stage, ProtectionCase.risk_level,
                                    ProtectionCase.caseworker_id)).all(),
                s.scalar(sa.select(sa.func.count()).select_from(CaseEntry)),
                s.execute(sa.select(Consent.id, Consent.withdrawn_at)).all(),
                s.execute(sa.select(Referral.state)).all(), s.execute(sa.select(TracingRequest.state)).all())


def _same_message(a: str, b: str, world: World) -> bool:
    def plain(text: str) -> str:
        for real, fake in ((world.case, FAKE["case"]), (world.referral, FAKE["referral"]),
                           (world.tracing, FAKE["tracing"])):
            text = text.replace(real, "<ref>").replace(fake, "<ref>")
        return re.sub(r'name="csrf_token" value="[^"]*"', "", text)
    return plain(a) == plain(b)


def _walk(client: TestClient, username: str, rules: list[AccessRule], world: World, send: dict[str, object],
          api: bool) -> None:
    fields = _api_fields() if api else {}
    perms = DEFAULT_ROLE_PERMISSIONS[PEOPLE[username][1]]
    for rule in rules:
        kind = _kind(rule.path)
        allowed = Permission(rule.access) in perms if isinstance(rule.access, Permission) else True
        knows = kind is None or username in KNOWS[kind]
        if allowed and knows and rule.method != "GET":
            continue  # the people who need to know act in the other tests; here they only read
        if api and rule.method != "GET":
            accepted = fields.get((rule.method, rule.path), set())
            body = {**send, **({"outcome": "closed"} if rule.path.startswith("/api/v1/protection/tracing") else {})}
            kwargs: dict[str, object] = {"json": {k: v for k, v in body.items() if k in accepted}}
        else:
            kwargs = {"data": send} if rule.method != "GET" else {}
        resp = client.request(rule.method, _url(rule, world, fake=False), follow_redirects=False, **kwargs)
        where = f"{username} {rule.method} {rule.path}: {resp.status_code} {resp.text[:300]}"
        if not allowed:
            assert resp.status_code == 403, where
        elif not knows:
            assert resp.status_code == 404, where
            fake = client.request(rule.method, _url(rule, world, fake=True), follow_redirects=False, **kwargs)
            assert fake.status_code == 404, where
            assert _same_message(resp.text, fake.text, world), where
        elif kind is not None:
            assert resp.status_code == 200, where


def test_every_protection_page_and_route_follows_need_to_know(engine: sa.Engine, world: World) -> None:
    rules = _rules()
    assert len({r.path for r in rules}) >= 40
    pages = [r for r in rules if not r.path.startswith("/api/")]
    api = [r for r in rules if r.path.startswith("/api/")]
    before = _state(engine)
    for username in PEOPLE:
        with TestClient(create_app()) as client:
            csrf = login(client, username, next_url="/login")
            _walk(client, username, pages, world, {"csrf_token": csrf, **FORM}, api=False)
        with session_scope(engine) as s:
            token = f.token(s, username)
        with TestClient(create_app(), headers={"Authorization": f"Bearer {token}"}) as client:
            _walk(client, username, api, world, {**FORM, "case": world.case}, api=True)
    assert _state(engine) == before, "a refused request changed a record"


def test_the_registry_shows_nothing_of_a_case(engine: sa.Engine, world: World) -> None:
    for username in ("im.a", "reg.a", "admin.a", "cash.a"):
        with TestClient(create_app()) as client:
            login(client, username)
            page = client.get(f"/households/{world.household}")
            assert page.status_code == 200
            for trace in (world.case, world.survivor_code, "/protection/cases"):
                assert trace not in page.text, (username, trace)
        with session_scope(engine) as s:
            token = f.token(s, username)
        with TestClient(create_app(), headers={"Authorization": f"Bearer {token}"}) as client:
            body = client.get(f"/api/v1/households/{world.household}").text
            assert world.case not in body and world.survivor_code not in body, username
