"""Changing a household's members, consents and movements from its page, over HTTP, as field
staff do: each form is read from the page, filled and sent back as a browser sends it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from jatigi.accounts import service as accounts
from jatigi.accounts.models import Role, RolePermission, UserRole
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM, Permission
from jatigi.core.db import session_scope
from jatigi.registry import export, members, service
from jatigi.registry.models import Consent, Household, Movement, Person, RecordVersion
from jatigi.registry.records import PersonRecord
from jatigi.web.app import create_app
from tests import factories as f
from tests.integration.test_registry_pages import (
    Browser,
    assert_problem_beside,
    codes_listed,
    filled,
    message_of,
    tag_with_id,
)


@dataclass
class World:
    maiga: str  # ONGA: Aminata Maïga (head), her sister Mariam, Moussa and Kadidia; consents to everything
    cisse: str  # ONGB: no agreement with ONGA


MEMBERS = [
    PersonRecord(1, "Aminata", "Maïga", "f", "head", date(1985, 3, 1), phone="66 55 44 33"),
    PersonRecord(2, "Moussa", "Maïga", "m", "child", date(2015, 6, 10), wg={"walking": 3}),
    PersonRecord(3, "Kadidia", "Maïga", "f", "child", date(2018, 1, 15)),
    PersonRecord(4, "Mariam", "Maïga", "f", "sibling", date(1990, 8, 8)),
]


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA")
        f.user(s, "ada", "ONGA", role="admin")
        f.user(s, "rita", "ONGA", role="registration_officer")
        f.user(s, "vera", "ONGA", role="viewer")
        reader = f.user(s, "rhea", "ONGA", role="viewer")
        role = Role(name="household_reader")
        s.add(role)
        s.flush()
        s.add_all([RolePermission(role_id=role.id, permission=str(Permission.REGISTRY_HOUSEHOLD_READ)),
                   UserRole(user_id=reader.id, role_id=role.id)])
        f.user(s, "bob", "ONGB")
        maiga = f.household(s, f.actor(s, "alice"), members=list(MEMBERS))
        cisse = f.household(s, f.actor(s, "bob"), current_pcode=f.MOPTI_COMMUNE, members=[
            PersonRecord(1, "Boubacar", "Cissé", "m", "head", date(1970, 1, 1))])
    return World(maiga, cisse)


@pytest.fixture
def browse(engine: sa.Engine) -> Iterator[Callable[[str], Browser]]:
    with ExitStack() as stack:
        def open_as(username: str) -> Browser:
            return Browser(stack.enter_context(TestClient(create_app())), username)

        yield open_as


def agreement(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        accounts.create_agreement(session=s, actor=f.actor(s, "alice"), provider="ONGA", recipient="ONGB",
                                  purpose="Cash for rent", signed_on=date(2024, 1, 1))


def household_row(engine: sa.Engine, code: str) -> tuple[int, int, str | None, bool]:
    """The household's version, member count, sex of the head and consent to sharing."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(Household.version, Household.member_count, Household.head_sex,
                                     Household.sharing_consent).where(Household.code == code)).one()
        return row[0], row[1], row[2], row[3]


def people(engine: sa.Engine, code: str) -> dict[str, tuple[str, int, bool]]:
    """Given name -> (relationship, version, removed)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Person.given_name, Person.relationship, Person.version, Person.deleted_at)
                            .join(Household, Household.id == Person.household_id).where(Household.code == code))
        return {r.given_name: (r.relationship, r.version, r.deleted_at is not None) for r in rows}


def consent_id(engine: sa.Engine, code: str, purpose: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(Consent.id)).join(Household, Household.id == Consent.household_id)
                            .where(Household.code == code, Consent.purpose == purpose)).scalar_one()


def send(browser: Browser, url: str, data: Mapping[str, str | list[str]]) -> Response:
    """A post as a browser sends it, without following the answer's redirect."""
    return browser.client.post(url, data=dict(data), follow_redirects=False)


def history_of(page: str) -> str:
    return page.split("History of changes", 1)[1].split("</section>", 1)[0]


def trail_of(browser: Browser, code: str) -> str:
    return browser.get(f"/households/{code}").text.split("Audit trail", 1)[1]


NEW_MEMBER: dict[str, str | list[str]] = {"given_name": "Fanta", "family_name": "Maïga", "sex": "f", "relationship": "other_relative",
              "age": "30", "specific_needs": ["WR-LC"], "documents": ["nina"]}


# ---- members ----------------------------------------------------------------------------------


def test_adding_a_member_counts_them_everywhere_and_shows_in_the_history(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    page = alice.get(f"/households/{world.maiga}").text
    assert f'href="/households/{world.maiga}/members/new"' in page and "Members (4)" in page
    url = f"/households/{world.maiga}/members/new"
    form = alice.get(url).text
    assert 'name="version" value="1"' in form
    # Aminata is the head: the form asks what she becomes only if the new member were the head.
    assert "what Aminata Maïga, the head now, becomes" in form
    resp = alice.post(url, filled(form, url, NEW_MEMBER))
    assert resp.status_code == 303 and resp.headers["location"] == f"/households/{world.maiga}"
    page = alice.get(resp.headers["location"]).text
    assert "Members (5)" in page and "Fanta Maïga" in page and "30 years (estimated)" in page
    assert household_row(engine, world.maiga)[:3] == (2, 5, "f")
    assert people(engine, world.maiga)["Fanta"] == ("other_relative", 1, False)
    # Her age is shown as it was given; saving the form unchanged keeps her estimated date of birth.
    edit_url = f"/households/{world.maiga}/members/edit?line=5"
    form = alice.get(edit_url).text
    assert 'value="30"' in tag_with_id(form, "f-age") and 'value=""' in tag_with_id(form, "f-birth_date")
    assert alice.post(edit_url, filled(form, edit_url)).status_code == 303
    assert people(engine, world.maiga)["Fanta"] == ("other_relative", 1, False)
    # Found by her name, counted in the export.
    assert codes_listed(alice.get("/households?q=fanta").text) == [world.maiga]
    with session_scope(engine) as s:
        row = next(r for r in export.rows(session=s, actor=f.actor(s, "alice")) if r[0] == world.maiga)
        assert row[16] == 5 and row[17] == 4  # members, of whom women and girls
    history = history_of(page)
    assert re.search(r"Member Fanta Maïga added on .+? by alice", history)
    assert re.search(r"Relationship to the head of household</th>\s*<td>—</td>\s*<td>Other relative</td>", history)
    assert "Lactating woman" in history and "NINA card" in history
    assert re.search(r"<td>alice</td>\s*<td>Member added</td>\s*<td class=\"small\">member: 5</td>",
                     trail_of(browse("ada"), world.maiga))


def test_a_member_form_with_problems_comes_back_with_messages_beside_the_fields(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    url = f"/households/{world.maiga}/members/new"
    form = alice.get(url).text
    future = (date.today() + timedelta(days=3)).isoformat()
    resp = alice.post(url, filled(form, url, {"given_name": "", "family_name": "Maïga", "sex": "f",
                                              "relationship": "spouse", "birth_date": future}))
    assert resp.status_code == 422
    assert "Not saved: 2 problems." in resp.text
    assert_problem_beside(resp.text, "f-given_name", "This value is required.")
    assert_problem_beside(resp.text, "f-birth_date", "A date in the future is not accepted.")
    resp = alice.post(url, filled(form, url, {**NEW_MEMBER, "age": ""}))
    assert_problem_beside(resp.text, "f-age", "Give a date of birth or an age.")
    assert 'value="Maïga"' in tag_with_id(resp.text, "f-family_name")
    # A second head needs to say what the head now becomes; a child head needs SC-CH.
    resp = alice.post(url, filled(form, url, {**NEW_MEMBER, "relationship": "head", "age": "12"}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-former_head_relationship",
                          "Aminata Maïga is the head now: say what Aminata Maïga becomes")
    assert_problem_beside(resp.text, "f-specific_needs", "The head is 12 years old")
    assert household_row(engine, world.maiga)[:2] == (1, 4)
    assert len(people(engine, world.maiga)) == 4


def test_changing_a_member_keeps_the_previous_values(world: World, browse: Callable[[str], Browser],
                                                     engine: sa.Engine) -> None:
    alice = browse("alice")
    page = alice.get(f"/households/{world.maiga}").text
    assert f'href="/households/{world.maiga}/members/edit?line=3"' in page
    url = f"/households/{world.maiga}/members/edit?line=3"
    form = alice.get(url).text
    assert 'value="Kadidia"' in tag_with_id(form, "f-given_name")
    assert 'value="2018-01-15"' in tag_with_id(form, "f-birth_date")
    resp = alice.post(url, filled(form, url, {"birth_date": "2017-01-15", "school_attendance": "yes"}))
    assert resp.status_code == 303, resp.text[:3000]
    assert people(engine, world.maiga)["Kadidia"] == ("child", 2, False)
    assert household_row(engine, world.maiga)[0] == 2
    history = history_of(alice.get(f"/households/{world.maiga}").text)
    assert re.search(r"Member Kadidia Maïga changed on .+? by alice", history)
    assert re.search(r"Date of birth</th>\s*<td>Jan 15, 2018</td>\s*<td>Jan 15, 2017</td>", history)
    assert re.search(r"School attendance</th>\s*<td>—</td>\s*<td>Attends school</td>", history)
    # The member's phone was never touched: it did not change. An unchanged form makes no version.
    form = alice.get(f"/households/{world.maiga}/members/edit?line=1").text
    assert 'value="+223 66 55 44 33"' in tag_with_id(form, "f-member_phone")
    resp = alice.post(f"/households/{world.maiga}/members/edit?line=1",
                      filled(form, f"/households/{world.maiga}/members/edit?line=1"))
    assert resp.status_code == 303 and people(engine, world.maiga)["Aminata"][1] == 1
    assert household_row(engine, world.maiga)[0] == 2
    assert alice.get(f"/households/{world.maiga}/members/edit?line=9").status_code == 404


def test_the_head_is_removed_only_after_another_member_is_made_head(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    code = world.maiga
    head_url = f"/households/{code}/members/edit?line=1"
    form = alice.get(head_url).text
    refusal = "Aminata Maïga is the head of the household: make another member the head first, then remove"
    assert refusal in form and f'action="/households/{code}/members/remove"' not in form
    # Posting the removal anyway is refused, beside the removal section.
    resp = alice.post(f"/households/{code}/members/remove", {"csrf_token": alice.csrf(), "version": "1", "line": "1"})
    assert resp.status_code == 422 and refusal in resp.text and 'role="alert"' in resp.text
    # The head cannot simply stop being head.
    resp = alice.post(head_url, filled(form, head_url, {"relationship": "sibling"}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-relationship", "make another member the head")

    # Mariam becomes head; Aminata becomes her sister.
    url = f"/households/{code}/members/edit?line=4"
    form = alice.get(url).text
    resp = alice.post(url, filled(form, url, {"relationship": "head", "former_head_relationship": "sibling"}))
    assert resp.status_code == 303, resp.text[:2000]
    assert people(engine, code)["Mariam"] == ("head", 2, False)
    assert people(engine, code)["Aminata"] == ("sibling", 2, False)

    # Now Aminata can be removed: gone from the page, the counts and the searches; kept in the history.
    form = alice.get(head_url).text
    resp = alice.post(f"/households/{code}/members/remove", filled(form, f"/households/{code}/members/remove"))
    assert resp.status_code == 303
    assert people(engine, code)["Aminata"] == ("sibling", 3, True)
    assert household_row(engine, code)[:3] == (3, 3, "f")
    page = alice.get(f"/households/{code}").text
    members_table = page.split("members-title", 1)[1].split("</section>", 1)[0]
    assert "Aminata" not in members_table and "Members (3)" in page
    assert codes_listed(alice.get("/households?q=aminata").text) == []
    assert codes_listed(alice.get("/households", params={"phone": "66 55 44 33"}).text) == []
    listing = alice.get("/households?q=maiga").text  # the head shown is Mariam now
    assert re.search(r"<td>Mariam Maïga</td>\s*<td class=\"num\">3</td>", listing) and "Aminata" not in listing
    history = history_of(page)
    assert re.search(r"Member Aminata Maïga removed from the household on .+? by alice", history)
    assert "No longer a member: not counted, listed or exported." in history
    assert re.search(r"Member Mariam Maïga changed .+?Relationship to the head of household</th>\s*"
                     r"<td>Brother or sister</td>\s*<td>Head of household</td>", history, re.S)
    assert alice.get(head_url).status_code == 404
    with engine.connect() as conn:
        kept = conn.scalars(sa.select(RecordVersion.data).where(RecordVersion.entity_type == "person")).all()
    assert any(d.get("given_name") == "Aminata" and d.get("deleted_at") is None for d in kept)


def test_a_household_of_one_keeps_its_member(world: World, engine: sa.Engine) -> None:
    with session_scope(engine) as s, pytest.raises(members.Refused, match="head of the household"):
        members.remove_member(session=s, actor=f.actor(s, "bob"), code=world.cisse, line=1)
    assert household_row(engine, world.cisse)[:2] == (1, 1)


# ---- consents ---------------------------------------------------------------------------------


def test_withdrawing_consent_to_sharing_hides_the_household_from_partners(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    agreement(engine)
    alice, bob = browse("alice"), browse("bob")
    assert codes_listed(bob.get("/households?q=maiga").text) == [world.maiga]
    sharing = consent_id(engine, world.maiga, "data_sharing")
    page = alice.get(f"/households/{world.maiga}").text
    url = f"/households/{world.maiga}/consents/withdraw?consent={sharing}"
    assert f'href="{url}"' in page
    form = alice.get(url).text
    assert "Partner organisations stop seeing this household at once." in form
    assert f'value="{date.today().isoformat()}"' in tag_with_id(form, "f-withdrawn_on")
    # A date before the consent was recorded, or in the future, is refused beside the field.
    resp = alice.post(url, filled(form, url, {"withdrawn_on": "2020-01-01"}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-withdrawn_on", "it cannot be withdrawn before")
    assert household_row(engine, world.maiga)[3] is True
    resp = alice.post(url, filled(form, url))
    assert resp.status_code == 303
    assert household_row(engine, world.maiga)[3] is False
    # The partner no longer finds or opens it.
    assert codes_listed(bob.get("/households?q=maiga").text) == []
    assert bob.get(f"/households/{world.maiga}").status_code == 404
    page = alice.get(f"/households/{world.maiga}").text
    assert re.search(r"Sharing with named partner organisations</th>\s*<td>Withdrawn on .+? \(recorded by alice\)",
                     page)
    assert re.search(r"Consent withdrawn \(Sharing with named partner organisations\) on .+? by alice",
                     history_of(page))
    assert f'href="{url}"' not in page
    # A new consent to sharing opens it again.
    new_url = f"/households/{world.maiga}/consents/new"
    form = alice.get(new_url).text
    assert 'value="Alice"' in tag_with_id(form, "f-taken_by")
    resp = alice.post(new_url, filled(form, new_url, {"purpose": "data_sharing", "given": "yes"}))
    assert resp.status_code == 303
    assert codes_listed(bob.get("/households?q=maiga").text) == [world.maiga]
    page = alice.get(f"/households/{world.maiga}").text
    assert "(replaced by a later record)" in page
    assert re.search(r"Consent recorded \(Sharing with named partner organisations\) on .+? by alice",
                     history_of(page))
    trail = trail_of(browse("ada"), world.maiga)
    assert re.search(r"<td>alice</td>\s*<td>Consent withdrawn</td>\s*<td class=\"small\">purpose: data_sharing</td>",
                     trail)


def test_withdrawing_consent_to_contact_stops_phones_opening(world: World, browse: Callable[[str], Browser],
                                                               engine: sa.Engine) -> None:
    alice = browse("alice")
    assert "+223 76 12 34 56" in alice.get(f"/households/{world.maiga}").text
    url = f"/households/{world.maiga}/consents/withdraw?consent={consent_id(engine, world.maiga, 'contact')}"
    resp = alice.post(url, filled(alice.get(url).text, url))
    assert resp.status_code == 303
    page = alice.get(f"/households/{world.maiga}").text
    assert "76 12 34 56" not in page
    assert "Hidden: the household did not consent to be contacted by phone." in page
    form = alice.get(f"/households/{world.maiga}/members/edit?line=1").text
    assert "66 55 44 33" not in form and "recorded but hidden from you" in form
    # Withdrawn once is withdrawn: a second try says so.
    page = alice.get(url).text
    assert "This consent was already withdrawn on" in page and 'action="' + url not in page


def test_consent_to_registration_is_not_withdrawn_but_the_household_deleted(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    registration = consent_id(engine, world.maiga, "registration")
    url = f"/households/{world.maiga}/consents/withdraw?consent={registration}"
    assert f'href="{url}"' not in alice.get(f"/households/{world.maiga}").text
    assert "delete the household instead" in alice.get(url).text
    resp = alice.post(url, {"csrf_token": alice.csrf(), "version": "1", "withdrawn_on": date.today().isoformat()})
    assert resp.status_code == 422 and "delete the household instead" in resp.text
    new_url = f"/households/{world.maiga}/consents/new"
    form = alice.get(new_url).text
    resp = alice.post(new_url, filled(form, new_url, {"purpose": "registration", "given": "no", "taken_by": ""}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-given", "delete the household instead")
    assert_problem_beside(resp.text, "f-taken_by", "This value is required.")
    resp = alice.post(new_url, filled(form, new_url, {"purpose": "", "given": "yes"}))
    assert_problem_beside(resp.text, "f-purpose", "This value is required; accepted: registration")
    assert household_row(engine, world.maiga)[0] == 1


# ---- movements --------------------------------------------------------------------------------


def test_adding_and_correcting_a_movement(world: World, browse: Callable[[str], Browser],
                                          engine: sa.Engine) -> None:
    alice = browse("alice")
    url = f"/households/{world.maiga}/movements/new"
    assert f'href="{url}"' in alice.get(f"/households/{world.maiga}").text
    form = alice.get(url).text
    resp = alice.post(url, filled(form, url, {"movement_kind": "returned", "movement_date": "2024-06-01",
                                              "movement_from": "ML9999", "movement_to": "ML9999"}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-movement_from", "Unknown P-code")
    resp = alice.post(url, filled(form, url, {"movement_kind": "", "movement_from": f.DOUENTZA,
                                              "movement_to": f.DOUENTZA}))
    assert_problem_beside(resp.text, "f-movement_kind", "This value is required")
    assert_problem_beside(resp.text, "f-movement_to", "From and to are the same place.")
    resp = alice.post(url, filled(form, url, {"movement_kind": "returned", "movement_date": "2024-06-01",
                                              "movement_from": f.BAMAKO_COMMUNE_IV, "movement_to": f.DOUENTZA}))
    assert resp.status_code == 303
    page = alice.get(f"/households/{world.maiga}").text
    assert re.search(r"Returned</th>\s*<td>Jun 1, 2024</td>", page)
    with engine.connect() as conn:
        moved = conn.scalar(sa.select(sa.func.max(Movement.id)))
    edit_url = f"/households/{world.maiga}/movements/edit?movement={moved}"
    assert f'href="{edit_url}"' in page
    form = alice.get(edit_url).text
    assert 'value="2024-06-01"' in tag_with_id(form, "f-movement_date")
    resp = alice.post(edit_url, filled(form, edit_url, {"movement_date": "2024-06-03"}))
    assert resp.status_code == 303
    history = history_of(alice.get(f"/households/{world.maiga}").text)
    assert re.search(r"Movement added \(Returned\) on .+? by alice", history)
    assert re.search(r"Movement corrected \(Returned\) on .+? by alice.+?Date of the movement</th>\s*"
                     r"<td>Jun 1, 2024</td>\s*<td>Jun 3, 2024</td>", history, re.S)
    assert "Douentza" in history
    assert household_row(engine, world.maiga)[0] == 3


# ---- versions, organisations, roles ------------------------------------------------------------


def test_a_form_read_before_another_change_asks_to_reload(world: World, browse: Callable[[str], Browser],
                                                          engine: sa.Engine) -> None:
    alice, rita = browse("alice"), browse("rita")
    url = f"/households/{world.maiga}/members/new"
    alices_form = alice.get(url).text
    edit_url = f"/households/{world.maiga}/edit"
    household_form = alice.get(edit_url).text
    movement_url = f"/households/{world.maiga}/movements/new"
    resp = rita.post(movement_url, filled(rita.get(movement_url).text, movement_url, {"movement_kind": "relocated"}))
    assert resp.status_code == 303
    resp = alice.post(url, filled(alices_form, url, NEW_MEMBER))
    assert resp.status_code == 409
    assert "This household was changed by someone else (version 2); reload it." in resp.text
    assert 'value="Fanta"' in tag_with_id(resp.text, "f-given_name")
    assert "Fanta" not in people(engine, world.maiga)
    # The household's own form is stale too: the household is versioned as a whole.
    resp = alice.post(edit_url, filled(household_form, edit_url, {"monthly_rent_xof": "30000"}))
    assert resp.status_code == 409


def test_other_organisations_and_roles_without_write_may_not_change_anything(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    agreement(engine)
    code = world.maiga
    sharing = consent_id(engine, code, "data_sharing")
    with engine.connect() as conn:
        moved = conn.scalar(sa.select(sa.func.max(Movement.id)))
    forms = [f"/households/{code}/members/new", f"/households/{code}/members/edit?line=2",
             f"/households/{code}/consents/new", f"/households/{code}/consents/withdraw?consent={sharing}",
             f"/households/{code}/movements/new", f"/households/{code}/movements/edit?movement={moved}"]
    posts: dict[str, dict[str, str | list[str]]] = {url: {"version": "1", **NEW_MEMBER, "purpose": "tracing", "given": "no", "recorded_on": "2024-06-01",
                   "taken_by": "X", "withdrawn_on": "2024-06-01", "movement_kind": "returned"} for url in forms}
    posts[f"/households/{code}/members/remove"] = {"version": "1", "line": "2"}
    # Bob's organisation sees the household under the agreement, but did not register it.
    bob = browse("bob")
    page = bob.get(f"/households/{code}").text
    assert "/members/" not in page and "/consents/" not in page and "/movements/" not in page
    for url in forms:
        resp = bob.get(url)
        assert resp.status_code == 403, url
        assert "Only the organisation that registered this household may change it." in resp.text
    token = bob.csrf()
    for url, data in posts.items():
        resp = send(bob, url, {**data, "csrf_token": token})
        assert resp.status_code == 403 and "Only the organisation that registered" in resp.text, url
    # Without an agreement (Alice and Cissé's household): not found at all.
    alice = browse("alice")
    for url in (f"/households/{world.cisse}/members/new", f"/households/{world.cisse}/members/edit?line=1"):
        assert alice.get(url).status_code == 404
    resp = send(alice, f"/households/{world.cisse}/members/new", {**NEW_MEMBER, "version": "1",
                                                                  "csrf_token": alice.csrf()})
    assert resp.status_code == 404
    # A role that may read but not write sees no links and is refused the forms and the posts.
    for username in ("rhea", "vera"):
        reader = browse(username)
        if username == "rhea":
            page = reader.get(f"/households/{code}").text
            assert "Aminata Maïga" in page and "/members/" not in page and "/consents/" not in page
        for url in forms:
            resp = reader.get(url)
            assert resp.status_code == 403 and "registry:household:write" in resp.text, (username, url)
        csrf = re.search(r'data-csrf="([^"]+)"', reader.get("/").text)
        for url, data in posts.items():
            resp = send(reader, url, {**data, "csrf_token": csrf.group(1) if csrf else ""})
            assert resp.status_code == 403 and "registry:household:write" in resp.text, (username, url)
    assert household_row(engine, code) == (1, 4, "f", True)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(RecordVersion)) == 0


def test_every_post_needs_the_sessions_csrf_token(world: World, browse: Callable[[str], Browser],
                                                 engine: sa.Engine) -> None:
    alice = browse("alice")
    code = world.maiga
    posts: dict[str, dict[str, str | list[str]]] = {
        f"/households/{code}/members/new": {"version": "1", **NEW_MEMBER},
        f"/households/{code}/members/remove": {"version": "1", "line": "3"},
        f"/households/{code}/movements/new": {"version": "1", "movement_kind": "returned"}}
    for url, data in posts.items():
        resp = send(alice, url, {**data, "csrf_token": "forged"})
        assert resp.status_code == 403 and "This form has expired" in resp.text
    assert household_row(engine, code)[:2] == (1, 4)


def test_every_form_field_has_a_label(world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    code = world.maiga
    for url in (f"/households/{code}/members/new", f"/households/{code}/members/edit?line=2",
                f"/households/{code}/consents/new",
                f"/households/{code}/consents/withdraw?consent={consent_id(engine, code, 'tracing')}",
                f"/households/{code}/movements/new"):
        page = alice.get(url).text
        main = page.split('<main id="main">', 1)[1]
        labelled = set(re.findall(r'<label for="([^"]+)"', main))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", main):
            if 'type="hidden"' in tag:
                continue
            ident = re.search(r'\bid="([^"]+)"', tag)
            assert ident and ident.group(1) in labelled, (url, tag)
        assert 'style="' not in page and "<script>" not in page, url
        assert message_of(page, "f-given_name") == ""


# ---- what the services keep -------------------------------------------------------------------


def test_purging_a_household_erases_the_earlier_states_of_its_members(world: World, engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")
        members.remove_member(session=s, actor=alice, code=world.maiga, line=3)
        members.add_movement(session=s, actor=alice, code=world.maiga, values={"movement_kind": "returned"})
        service.delete_household(session=s, actor=alice, code=world.maiga, reason="Registered twice")
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordVersion)) == 2
        assert service.purge_expired(session=s, actor=SYSTEM, today=date.today() + timedelta(days=4000)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordVersion)) == 0
        assert s.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "household.member_remove")) == 1
