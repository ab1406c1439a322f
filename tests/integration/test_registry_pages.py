"""The registry's pages over HTTP, as field staff use them: log in through the form, search,
open a household, register one, correct it, delete it.

Forms are filled as a browser fills them: every field the page rendered is sent back, with the
user's changes on top.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from jatigi.accounts import service as accounts
from jatigi.core.db import session_scope
from jatigi.registry.models import Household
from jatigi.registry.records import ConsentRecord, PersonRecord, RelativeRecord
from jatigi.web.app import create_app
from tests import factories as f

# ---- a small browser: log in, read pages, fill forms ----------------------------------------------


class _Forms(HTMLParser):
    """The fields each form of a page would send, as a browser sends them (buttons aside)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._action: str | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._action = a.get("action") or ""
            self.forms.setdefault(self._action, [])
        elif self._action is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "file") or (kind in ("checkbox", "radio") and "checked" not in a):
                return
            self.forms[self._action].append((str(a["name"]), a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self._action is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _s in self._options[:1]]
            self.forms[self._action].extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "form":
            self._action = None


def filled(html: str, action: str, changes: dict[str, str | list[str]] | None = None) -> dict[str, list[str]]:
    parser = _Forms()
    parser.feed(html)
    assert action in parser.forms, f"no form posting to {action}: {sorted(parser.forms)}"
    fields: dict[str, list[str]] = {}
    for name, value in parser.forms[action]:
        fields.setdefault(name, []).append(value)
    for name, value in (changes or {}).items():
        fields[name] = value if isinstance(value, list) else [value]
    return fields


def tag_with_id(html: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|select|fieldset)\b[^>]*\bid="{re.escape(element_id)}"[^>]*>', html)
    assert match, f"no field {element_id}"
    return match.group(0)


def message_of(html: str, element_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(element_id)}-error"[^>]*>([^<]*)</p>', html)
    return html_module.unescape(match.group(1)) if match else ""


def assert_problem_beside(html: str, element_id: str, words: str) -> None:
    """The field is marked invalid and described by a message, next to it, saying `words`."""
    tag = tag_with_id(html, element_id)
    assert re.search(rf'aria-describedby="[^"]*\b{re.escape(element_id)}-error\b', tag), tag
    if not tag.startswith("<fieldset"):
        assert 'aria-invalid="true"' in tag, tag
    assert words in message_of(html, element_id), message_of(html, element_id)


def codes_listed(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/households/([A-Z0-9-]+)">', html)


class Browser:
    def __init__(self, client: TestClient, username: str) -> None:
        self.client = client
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        resp = client.post("/login", data={"username": username, "password": f.PASSWORD,
                                           "csrf_token": token.group(1)}, follow_redirects=False)
        assert resp.status_code == 303, resp.text

    def get(self, url: str, **kwargs: object) -> Response:
        return self.client.get(url, **kwargs)  # type: ignore[arg-type]

    def post(self, url: str, data: dict[str, list[str]] | dict[str, str]) -> Response:
        return self.client.post(url, data=data, follow_redirects=False)

    def csrf(self) -> str:
        match = re.search(r'data-csrf="([^"]+)"', self.get("/households").text)
        assert match
        return match.group(1)


@dataclass
class World:
    maiga: str  # ONGA: Aminata Maïga and her children, Bamako, phone 76 12 34 56, a son missing
    traore: str  # ONGA: Seydou Traoré, host community, Bamako; no consent to sharing or contact
    cisse: str  # ONGB: Boubacar Cissé, Mopti, phone 70 98 76 54 — no agreement with ONGA


@pytest.fixture
def world(engine: sa.Engine) -> World:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA")  # information-management officer
        f.user(s, "ada", "ONGA", role="admin")  # may read the audit trail
        f.user(s, "rita", "ONGA", role="registration_officer")  # writes, does not delete
        f.user(s, "vera", "ONGA", role="viewer")
        f.user(s, "bob", "ONGB")
        alice, bob = f.actor(s, "alice"), f.actor(s, "bob")
        maiga = f.household(s, alice, relatives=[RelativeRecord("Ibrahim Maïga", "child", "m", 16, f.DOUENTZA,
                                                                "Parti vers Gao en 2023", date(2023, 11, 20))])
        traore = f.household(s, alice, population_group="host", origin_pcode=None, movements=[], intention=None,
                             phone="65 00 00 01", consents=[ConsentRecord("registration", True)], members=[PersonRecord(1, "Seydou", "Traoré", "m", "head",
                                                                        date(1975, 1, 1))])
        cisse = f.household(s, bob, current_pcode=f.MOPTI_COMMUNE, phone="70 98 76 54", members=[
            PersonRecord(1, "Boubacar", "Cissé", "m", "head", date(1970, 1, 1))])
    return World(maiga, traore, cisse)


@pytest.fixture
def browse(engine: sa.Engine) -> Iterator[Callable[[str], Browser]]:
    with ExitStack() as stack:
        def open_as(username: str) -> Browser:
            return Browser(stack.enter_context(TestClient(create_app())), username)

        yield open_as


def household_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Household)) or 0


def rent_of(engine: sa.Engine, code: str) -> tuple[int | None, int]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(Household.monthly_rent_xof, Household.version)
                           .where(Household.code == code)).one()
        return row[0], row[1]


# ---- the list and search ------------------------------------------------------------------------


def test_the_list_shows_only_the_households_a_user_may_see(world: World, browse: Callable[[str], Browser]) -> None:
    alice, bob = browse("alice"), browse("bob")
    page = alice.get("/households")
    assert page.status_code == 200
    assert set(codes_listed(page.text)) == {world.maiga, world.traore}
    assert "Households 1 to 2 of 2" in page.text
    assert "Aminata Maïga" in page.text and "IDP in displacement" in page.text
    assert codes_listed(bob.get("/households").text) == [world.cisse]


def test_search_by_name_without_accents_by_phone_by_pcode_and_group(
        world: World, browse: Callable[[str], Browser]) -> None:
    alice, bob = browse("alice"), browse("bob")
    assert codes_listed(alice.get("/households?q=maiga").text) == [world.maiga]
    assert codes_listed(alice.get("/households?q=seydou+trao").text) == [world.traore]
    assert codes_listed(alice.get("/households", params={"phone": "76 12 34 56"}).text) == [world.maiga]
    assert set(codes_listed(alice.get("/households?pcode=ml0901").text)) == {world.maiga, world.traore}
    assert codes_listed(alice.get("/households?population_group=host").text) == [world.traore]
    # Another organisation's household is found by nothing, however it is looked for.
    for query in ("q=cisse", "pcode=ML05", "phone=70987654"):
        page = alice.get(f"/households?{query}")
        assert codes_listed(page.text) == [] and "No household found." in page.text
    assert codes_listed(bob.get("/households?q=CISSE").text) == [world.cisse]


def test_a_misspelt_name_falls_back_to_names_that_begin_alike(
        world: World, browse: Callable[[str], Browser]) -> None:
    alice = browse("alice")
    page = alice.get("/households?q=Maïgha")
    assert codes_listed(page.text) == [world.maiga]
    assert "No exact match; showing names that begin like maig…" in page.text
    # A spelling that differs at its start is not found: the page's help says so.
    page = alice.get("/households?q=Taroré")
    assert codes_listed(page.text) == [] and "No household found." in page.text
    assert "Koulibaly does not find Coulibaly" in page.text
    # An exact match needs no fallback.
    assert "No exact match" not in alice.get("/households?q=maiga").text


def test_a_bad_phone_is_told_beside_the_field_not_on_an_error_page(
        world: World, browse: Callable[[str], Browser]) -> None:
    page = browse("alice").get("/households?phone=not+a+phone")
    assert page.status_code == 200
    assert_problem_beside(page.text, "f-phone", "not a phone number")
    assert 'value="not a phone"' in page.text
    page = browse("alice").get("/households?population_group=martians")
    assert_problem_beside(page.text, "f-population_group", "Unknown choice")


def test_paging_shows_25_at_a_time_with_the_total(world: World, browse: Callable[[str], Browser],
                                                  engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        alice_actor = f.actor(s, "alice")
        for _ in range(26):
            f.household(s, alice_actor)
    alice = browse("alice")
    first = alice.get("/households").text
    assert len(codes_listed(first)) == 25 and "Households 1 to 25 of 28" in first
    assert "Page 1 of 2" in first and 'href="/households?page=2"' in first and "Previous page" not in first
    second = alice.get("/households?page=2").text
    assert len(codes_listed(second)) == 3 and "Households 26 to 28 of 28" in second
    assert 'href="/households"' in second and "Previous page" in second and "Next page" not in second
    assert not set(codes_listed(first)) & set(codes_listed(second))
    # A page past the end (an old link) says so and leads back to the last page.
    past = alice.get("/households?page=9").text
    assert "This page is past the last one: 28 households found." in past
    assert 'href="/households?page=2"' in past and codes_listed(past) == []
    assert alice.get("/households?page=%C2%B2").status_code == 200  # not a number: the first page
    # Paging keeps the search.
    searched = alice.get("/households?q=maiga").text
    assert "Households 1 to 25 of 27" in searched and 'href="/households?q=maiga&amp;page=2"' in searched


def test_an_htmx_search_returns_only_the_results(world: World, browse: Callable[[str], Browser]) -> None:
    alice = browse("alice")
    partial = alice.get("/households?q=maiga", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text and "<form" not in partial.text
    assert codes_listed(partial.text) == [world.maiga]
    assert 'id="result-count"' in partial.text and 'hx-swap-oob="true"' in partial.text
    assert partial.headers["vary"] == "HX-Request"
    # A bad phone in an htmx search: the message goes beside the field, out of band.
    partial = alice.get("/households?phone=abc", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "not a phone number" in message_of(partial.text, "f-phone")
    # The same address without htmx, or when htmx restores its history, is the whole page.
    for headers in ({}, {"HX-Request": "true", "HX-History-Restore-Request": "true"}):
        page = alice.get("/households?q=maiga", headers=headers)
        assert page.text.startswith("<!doctype html>") and 'hx-get="/households"' in page.text
        assert codes_listed(page.text) == [world.maiga]


# ---- who may open what ----------------------------------------------------------------------------


def test_a_viewer_may_not_open_the_registry(world: World, browse: Callable[[str], Browser]) -> None:
    vera = browse("vera")
    for url in ("/households", f"/households/{world.maiga}", "/households/new"):
        page = vera.get(url)
        assert page.status_code == 403 and "registry:household:" in page.text, url


def test_a_signed_out_visitor_is_sent_to_log_in(world: World, engine: sa.Engine) -> None:
    with TestClient(create_app()) as anonymous:
        resp = anonymous.get(f"/households/{world.maiga}", follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == f"/login?next=/households/{world.maiga}"


def test_another_organisation_without_agreement_gets_not_found(world: World,
                                                               browse: Callable[[str], Browser]) -> None:
    bob = browse("bob")
    for url in (f"/households/{world.maiga}", f"/households/{world.maiga}/edit"):
        page = bob.get(url)
        assert page.status_code == 404 and f"No household {world.maiga} that you may see." in page.text
        assert "Maïga" not in page.text


# ---- the household page ---------------------------------------------------------------------------


def test_the_household_page_shows_members_needs_movements_and_consent(
        world: World, browse: Callable[[str], Browser]) -> None:
    page = browse("alice").get(f"/households/{world.maiga}")
    assert page.status_code == 200
    text = page.text
    for seen in ("Aminata Maïga", "Moussa Maïga", "Kadidia Maïga", "Son or daughter", "Female",
                 "IDP in displacement", "Renting", "25,000\u00a0FCFA", "50,000\u00a0FCFA", "Integrate locally",
                 "Shelter and rent", "Food", "Douentza", "ML050606", "Près du marché de Lafiabougou",
                 "+223 76 12 34 56", "Displaced", "Nov 20, 2023",
                 "Registration and assistance", "Sharing with named partner organisations", "Fatoumata Coulibaly",
                 "No change since registration.", "Ibrahim Maïga", "Parti vers Gao en 2023"):
        assert seen in text, seen
    # Moussa has a lot of difficulty walking: a disability, told in words.
    assert re.search(r"Moussa Maïga</th>.*?Yes: <span class=\"small\">Difficulty walking", text, re.S)
    assert "Audit trail" not in text
    assert f'action="/households/{world.maiga}/delete"' in text and 'data-confirm="' in text
    assert f'href="/households/{world.maiga}/edit"' in text


def test_the_phone_is_hidden_from_staff_who_may_not_open_it(world: World,
                                                            browse: Callable[[str], Browser],
                                                            engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")
        no_contact = f.household(s, alice, consents=[ConsentRecord("registration", True)])
    page = browse("alice").get(f"/households/{no_contact}").text
    assert "76 12 34 56" not in page
    assert "Hidden: the household did not consent to be contacted by phone." in page


def test_the_audit_trail_shows_only_to_those_who_may_read_it(world: World,
                                                             browse: Callable[[str], Browser]) -> None:
    alice, ada, rita = browse("alice"), browse("ada"), browse("rita")
    assert "Audit trail" not in alice.get(f"/households/{world.maiga}").text
    rita_page = rita.get(f"/households/{world.maiga}").text
    assert "Audit trail" not in rita_page
    # A registration officer may edit but not delete.
    assert f'href="/households/{world.maiga}/edit"' in rita_page and "/delete" not in rita_page
    ada.get(f"/households/{world.maiga}")
    # The trail lists what was recorded before the page was read: ada's first reading shows on her second.
    page = ada.get(f"/households/{world.maiga}").text
    assert "Audit trail" in page
    trail = page.split("Audit trail", 1)[1]
    assert "Registered" in trail and "Opened" in trail
    assert re.search(r"<td>alice</td>\s*<td>Opened</td>", trail)
    assert re.search(r"<td>rita</td>\s*<td>Opened</td>", trail)
    # Newest first: ada's own reading of the page comes before alice's.
    assert trail.index("<td>ada</td>") < trail.index("<td>alice</td>")


# ---- create -----------------------------------------------------------------------------------


def _new_household(**changes: str | list[str]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        "consent_registration": "yes", "consent_data_sharing": "no", "consent_contact": "yes",
        "population_group": "idp", "current_pcode": f.BAMAKO_COMMUNE_IV, "origin_pcode": f.DOUENTZA,
        "living_arrangement": "host_family_free", "priority_needs": ["food", "health"],
        "phone": "76 00 11 22",
        "m-0-given_name": "Oumar", "m-0-family_name": "Touré", "m-0-sex": "m", "m-0-relationship": "head",
        "m-0-age": "40",
    }
    values.update(changes)
    return values


def test_a_form_with_problems_comes_back_with_each_message_beside_its_field(
        world: World, browse: Callable[[str], Browser], engine: sa.Engine) -> None:
    alice = browse("alice")
    form = alice.get("/households/new").text
    assert 'value="Alice"' in form  # the enumerator is the signed-in user by default
    before = household_count(engine)
    resp = alice.post("/households/new", filled(form, "/households/new", _new_household(
        current_pcode="ML9999", **{"m-0-age": "12", "save": "1"})))
    assert resp.status_code == 422
    page = resp.text
    assert 'role="alert"' in page and "The household was not registered: 2 problems." in page
    assert_problem_beside(page, "f-current_pcode", "Unknown P-code")
    assert_problem_beside(page, "f-m-0-specific_needs",
                          "The head is 12 years old: a child heading a household needs the specific-needs code SC-CH.")
    # The user's input is kept.
    assert 'value="ML9999"' in tag_with_id(page, "f-current_pcode")
    assert 'value="Oumar"' in tag_with_id(page, "f-m-0-given_name")
    assert re.search(r'<input type="checkbox" id="f-priority_needs-health"[^>]* checked', page)
    assert household_count(engine) == before

    # With SC-CH and a known P-code the same household is registered.
    resp = alice.post("/households/new", filled(page, "/households/new", {
        "current_pcode": f.BAMAKO_COMMUNE_IV, "m-0-specific_needs": ["SC-CH"], "save": "1"}))
    assert resp.status_code == 303
    assert household_count(engine) == before + 1


def test_registering_a_household_leads_to_its_page(world: World, browse: Callable[[str], Browser],
                                                   engine: sa.Engine) -> None:
    alice = browse("alice")
    form = alice.get("/households/new").text
    # "Add a member" shows one more block and keeps what was typed.
    resp = alice.post("/households/new", filled(form, "/households/new", {**_new_household(), "add_member": "1"}))
    assert resp.status_code == 200
    form = resp.text
    assert 'value="Oumar"' in tag_with_id(form, "f-m-0-given_name")
    assert 'value=""' in tag_with_id(form, "f-m-1-given_name")
    resp = alice.post("/households/new", filled(form, "/households/new", {
        "m-1-given_name": "Fanta", "m-1-family_name": "Touré", "m-1-sex": "f", "m-1-relationship": "spouse",
        "m-1-birth_date": "1990-04-01", "m-1-wg_seeing": "4", "save": "1"}))
    assert resp.status_code == 303, resp.text
    code = resp.headers["location"].rsplit("/", 1)[1]
    assert resp.headers["location"] == f"/households/{code}"
    page = alice.get(resp.headers["location"]).text
    for seen in ("Oumar Touré", "Fanta Touré", "40 years (estimated)", "Apr 1, 1990", "Spouse",
                 "With a host family, free of charge", "Food, Health care", "+223 76 00 11 22", "Alice"):
        assert seen in page, seen
    assert re.search(r"Registration and assistance</th>\s*<td>Yes</td>", page)
    assert re.search(r"Sharing with named partner organisations</th>\s*<td>No</td>", page)
    assert code in codes_listed(alice.get("/households?q=oumar").text)
    # Bob's organisation has no agreement with Alice's: he cannot open it.
    assert browse("bob").get(f"/households/{code}").status_code == 404


# ---- edit ---------------------------------------------------------------------------------------


def test_editing_the_rent_shows_in_the_history(world: World, browse: Callable[[str], Browser],
                                               engine: sa.Engine) -> None:
    alice = browse("alice")
    url = f"/households/{world.maiga}/edit"
    form = alice.get(url).text
    assert 'name="version" value="1"' in form
    assert 'value="+223 76 12 34 56"' in tag_with_id(form, "f-phone")
    resp = alice.post(url, filled(form, url, {"monthly_rent_xof": "30000"}))
    assert resp.status_code == 303 and resp.headers["location"] == f"/households/{world.maiga}"
    assert rent_of(engine, world.maiga) == (30000, 2)
    page = alice.get(resp.headers["location"]).text
    history = page.split("History of changes", 1)[1]
    assert re.search(r"Version 1 changed on .+? by alice", history)
    assert re.search(r"Monthly rent \(FCFA\)</th>\s*<td>25,000\u00a0FCFA</td>\s*<td>30,000\u00a0FCFA</td>",
                     history), history[:2000]
    # Nothing else changed: the untouched fields (phone, needs, dates) made no entry.
    assert history.count('<th scope="row">') == 1
    trail = browse("ada").get(resp.headers["location"]).text.split("Audit trail", 1)[1]
    assert re.search(r"<td>alice</td>\s*<td>Changed</td>\s*<td class=\"small\">fields: monthly_rent_xof</td>", trail)


def test_edit_problems_are_shown_beside_their_fields(world: World, browse: Callable[[str], Browser],
                                                     engine: sa.Engine) -> None:
    alice = browse("alice")
    url = f"/households/{world.maiga}/edit"
    form = alice.get(url).text
    resp = alice.post(url, filled(form, url, {"monthly_rent_xof": "a lot", "current_pcode": "ML77",
                                              "arrival_date": "2099-01-01"}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-monthly_rent_xof", "Not a whole number; accepted: 0 to 5000000.")
    assert_problem_beside(resp.text, "f-current_pcode", "Unknown P-code")
    assert_problem_beside(resp.text, "f-arrival_date", "A date in the future is not accepted.")
    assert "(value:" not in message_of(resp.text, "f-monthly_rent_xof")
    assert 'value="a lot"' in tag_with_id(resp.text, "f-monthly_rent_xof")
    assert rent_of(engine, world.maiga) == (25000, 1)

    # In French too: the messages are found back by field in the translated text.
    with session_scope(engine) as s:
        f.user(s, "fanta", "ONGA", language="fr")
    fanta = browse("fanta")
    form = fanta.get(url).text
    resp = fanta.post(url, filled(form, url, {"monthly_rent_xof": "beaucoup", "current_pcode": "ML77"}))
    assert resp.status_code == 422 and '<html lang="fr">' in resp.text
    assert_problem_beside(resp.text, "f-monthly_rent_xof",
                          "Ce n'est pas un nombre entier ; valeurs acceptées : de 0 à 5000000.")
    assert "valeur :" not in message_of(resp.text, "f-monthly_rent_xof")
    assert message_of(resp.text, "f-current_pcode").startswith("P-code inconnu")


def test_an_edit_from_a_stale_form_asks_to_reload(world: World, browse: Callable[[str], Browser],
                                                  engine: sa.Engine) -> None:
    alice, rita = browse("alice"), browse("rita")
    url = f"/households/{world.maiga}/edit"
    alices_form = alice.get(url).text
    ritas_form = rita.get(url).text
    assert rita.post(url, filled(ritas_form, url, {"monthly_rent_xof": "30000"})).status_code == 303
    resp = alice.post(url, filled(alices_form, url, {"monthly_rent_xof": "40000"}))
    assert resp.status_code == 409
    assert "This household was changed by someone else (version 2); reload it." in resp.text
    assert 'value="40000"' in tag_with_id(resp.text, "f-monthly_rent_xof")
    assert rent_of(engine, world.maiga) == (30000, 2)


def test_a_partner_reads_a_shared_household_but_cannot_change_it(world: World, browse: Callable[[str], Browser],
                                                                  engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        accounts.create_agreement(session=s, actor=f.actor(s, "alice"), provider="ONGA", recipient="ONGB",
                                  purpose="Cash for rent", signed_on=date(2024, 1, 1))
    bob = browse("bob")
    # Aminata Maïga's household consented to sharing; Seydou Traoré's did not.
    assert codes_listed(bob.get("/households?q=maiga").text) == [world.maiga]
    assert bob.get(f"/households/{world.traore}").status_code == 404
    page = bob.get(f"/households/{world.maiga}").text
    assert "Aminata Maïga" in page and "76 12 34 56" not in page
    assert "Ibrahim Maïga" in page and "Parti vers Gao" not in page
    assert "Hidden: only the organisation that registered the household may open it." in page
    assert "/edit" not in page and "/delete" not in page
    resp = bob.get(f"/households/{world.maiga}/edit")
    assert resp.status_code == 403 and "Only the organisation that registered this household may change it." in resp.text


# ---- delete -------------------------------------------------------------------------------------


def test_deleting_hides_the_household(world: World, browse: Callable[[str], Browser]) -> None:
    alice = browse("alice")
    url = f"/households/{world.maiga}"
    page = alice.get(url).text
    resp = alice.post(f"{url}/delete", filled(page, f"{url}/delete", {"reason": ""}))
    assert resp.status_code == 422
    assert_problem_beside(resp.text, "f-reason", "Say why the household is deleted.")
    resp = alice.post(f"{url}/delete", filled(page, f"{url}/delete", {"reason": "Registered twice"}))
    assert resp.status_code == 303 and resp.headers["location"] == f"/households?deleted={world.maiga}"
    listing = alice.get(resp.headers["location"]).text
    assert f"Household {world.maiga} was deleted" in listing
    assert codes_listed(listing) == [world.traore]
    assert codes_listed(alice.get("/households?q=maiga").text) == []
    assert alice.get(url).status_code == 404


# ---- CSRF -----------------------------------------------------------------------------------------


def test_every_form_post_needs_the_sessions_csrf_token(world: World, browse: Callable[[str], Browser],
                                                       engine: sa.Engine) -> None:
    alice = browse("alice")
    code = world.maiga
    posts = {
        "/households/new": _new_household(save="1"),
        f"/households/{code}/edit": {"version": "1", "monthly_rent_xof": "1"},
        f"/households/{code}/delete": {"reason": "test"},
    }
    before = household_count(engine)
    for url, data in posts.items():
        for token in (None, "forged-token"):
            sent = dict(data) if token is None else {**data, "csrf_token": token}
            resp = alice.client.post(url, data=sent, follow_redirects=False)
            assert resp.status_code == 403, (url, token)
            assert "This form has expired or did not come from Jatigi" in resp.text
    assert household_count(engine) == before
    assert rent_of(engine, code) == (25000, 1)
    assert codes_listed(alice.get("/households?q=maiga").text) == [code]
    # Another user's token is no better.
    bob_token = browse("bob").csrf()
    resp = alice.client.post(f"/households/{code}/delete", data={"reason": "x", "csrf_token": bob_token},
                             follow_redirects=False)
    assert resp.status_code == 403


# ---- accessibility --------------------------------------------------------------------------------


def test_every_field_has_a_label_and_every_table_its_headers(world: World, browse: Callable[[str], Browser]) -> None:
    ada = browse("ada")
    for url in ("/households", "/households/new", f"/households/{world.maiga}", f"/households/{world.maiga}/edit",
                "/households?phone=abc"):
        page = ada.get(url).text
        main = page.split('<main id="main">', 1)[1]
        labelled = set(re.findall(r'<label for="([^"]+)"', main))
        fields = re.findall(r"<(?:input|select|textarea)\b[^>]*>", main)
        for tag in fields:
            if 'type="hidden"' in tag:
                continue
            ident = re.search(r'\bid="([^"]+)"', tag)
            assert ident and ident.group(1) in labelled, (url, tag)
        assert '<th scope="col">' in main or "<table" not in main, url
        assert "<th>" not in main, url
        assert 'style="' not in page and "<script>" not in page, url
