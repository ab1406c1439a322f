"""The journeys of issue 3, in Chromium against the real app: each test builds its data through
the services in the test database, then drives the pages as a person would.

Every test also watches the whole visit (`Watch`): no request may leave 127.0.0.1 (the app must
work with no internet), the browser may report no Content Security Policy violation, and the
app may answer no request with a server error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from jatigi.core.i18n import _, use_language
from jatigi.places.service import UnitRow, upsert_units
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests import kobo_files

COMMUNE_III = "ML090103"
NBSP = "\u00a0"


# ---- watching every page of a journey ---------------------------------------------------------

@dataclass
class Watch:
    """What the page asked for, what failed and what the browser complained about, for the whole
    journey."""

    page: Page
    pages: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self._complaint(str(exc)))
        self.page.on("framenavigated", lambda frame: self.pages.append(frame.url)
                     if frame == self.page.main_frame else None)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        self._complaint(f"console.{message.type}: {message.text}")

    def _complaint(self, text: str) -> None:
        if "Content Security Policy" in text or "Refused to" in text:
            self.csp.append(f"{self.page.url}: {text}")

    def check(self) -> None:
        assert self.requests, "the browser recorded no request"
        outside = [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]
        assert outside == [], f"requests to other hosts while visiting {self.pages}: {outside}"
        assert self.csp == [], "Content Security Policy violations:\n" + "\n".join(self.csp)
        assert self.server_errors == [], f"the app failed: {self.server_errors}"


@pytest.fixture
def watch(page: Page) -> Watch:
    return Watch(page)


# ---- data and steps ---------------------------------------------------------------------------

def household(s: Session, username: str, name: str, head: str = "Aminata", sex: str = "f",
              **overrides: object) -> str:
    """A household of the family `name` (a head and a child) registered by `username`; otherwise
    the factories' household: displaced, renting in Bamako Commune IV, phone 76 12 34 56."""
    members = [PersonRecord(1, head, name, sex, "head", date(1984, 2, 3)),
               PersonRecord(2, "Moussa", name, "m", "child", date(2014, 9, 1))]
    return f.household(s, f.actor(s, username), members=members, **overrides)


def french(msgid: str) -> str:
    """A message as the French catalogue has it (the English text while it is not translated)."""
    with use_language("fr"):
        return _(msgid)


def language_of(engine: sa.Engine, username: str) -> str:
    with session_scope(engine) as s:
        return accounts.user_by_name(session=s, username=username).language


def login(page: Page, base_url: str, username: str, start: str = "/") -> None:
    """Open `start`, get sent to the log-in form, sign in and come back to `start`.

    The form's own button is used: the language switch in the header is a submit button too,
    and comes first on the page (so `button[type=submit]` would switch the language)."""
    page.goto(start)
    if start != "/login":
        page.wait_for_url(re.compile(r"/login\?next="))
    form = page.locator("form[action='/login']")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(f.PASSWORD)
    form.get_by_role("button").click()
    page.wait_for_url(f"{base_url}{'/' if start == '/login' else start}")
    if urlsplit(page.url).path == "/":
        dashboard_loaded(page)


def dashboard_loaded(page: Page) -> None:
    """The parts the dashboard fetches once it shows have arrived: people figures and map."""
    expect(page.locator("#fig-disability")).to_be_attached()
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^\d+$"))


def logout(page: Page, label: str = "Log out") -> None:
    page.get_by_role("button", name=label).click()
    page.wait_for_url(re.compile(r"/login$"))


def square(lat: float, lon: float, half: float) -> dict[str, object]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


# ---- 1. log in and out, in French --------------------------------------------------------------

def test_log_in_in_french_and_log_out(page: Page, base_url: str, engine: sa.Engine, watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="fr")
        household(s, "awa", "Traoré")

    page.goto("/login")
    # French by default: the page, its labels and its title; the switch offers English.
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title(re.compile(re.escape(french("Log in"))))
    expect(page.get_by_label("Mot de passe")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(french("Log in to Jatigi"))

    page.locator("#username").fill("awa")
    page.get_by_label("Mot de passe").fill(f.PASSWORD)
    page.get_by_role("button", name=french("Log in"), exact=True).click()

    page.wait_for_url(f"{base_url}/")
    dashboard_loaded(page)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(french("Dashboard"))
    expect(page.locator("#fig-households")).to_have_text("1")
    expect(page.get_by_text("Ménages", exact=True).first).to_be_visible()
    expect(page.get_by_text("Awa", exact=True)).to_be_visible()  # the signed-in user, in the header

    logout(page, french("Log out"))
    expect(page.get_by_label("Mot de passe")).to_be_visible()
    # Signed out for real: the dashboard sends the browser back to the log-in page.
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    watch.check()


# ---- 2. switch language, remembered per user ---------------------------------------------------

def test_switch_to_english_is_remembered_for_the_user(page: Page, base_url: str, engine: sa.Engine,
                                                      watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="fr")
        household(s, "awa", "Maïga")

    login(page, base_url, "awa", start="/households")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ménages")

    page.get_by_role("button", name="English").click()
    # The same page comes back, in English; the switch now offers French.
    page.wait_for_url(f"{base_url}/households")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Households")
    expect(page.get_by_role("button", name="Français")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert language_of(engine, "awa") == "en"

    logout(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")  # this browser remembers too
    # The browser forgets everything (another computer): the log-in page is French again...
    page.context.clear_cookies()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # ...and the user's choice comes back with the user, on the dashboard.
    login(page, base_url, "awa", start="/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("button", name="Français")).to_be_visible()
    watch.check()


# ---- 3. filter the dashboard: figures and map change in place ----------------------------------

def test_dashboard_filters_update_figures_and_map_in_place(page: Page, base_url: str, engine: sa.Engine,
                                                           watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        # Bamako's boundary (a small square around the city): the map colours it as an area.
        upsert_units(session=s, rows=[UnitRow("ML09", "Bamako", 1, "ML", "ML", 12.60921, -7.98004,
                                              geometry=square(12.62, -7.98, 0.1))])
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="en")
        for name in ("Traoré", "Keïta", "Diakité"):
            household(s, "awa", name)
        household(s, "awa", "Coulibaly", head="Mariam", population_group="host", current_pcode=COMMUNE_III,
                  origin_pcode=None, displacement_date=None, arrival_date=None, movements=[], intention=None)
        # Mopti has no boundary loaded: a circle on its centre.
        for name in ("Maïga", "Cissé"):
            household(s, "awa", name, current_pcode=f.MOPTI_COMMUNE)

    with page.expect_response(re.compile(r"/dashboard/map\.geojson")) as first_map:
        login(page, base_url, "awa")
    # Every region is drawn: Bamako as its area, the others (Mopti among them) as circles.
    drawn = {feat["properties"]["pcode"]: feat for feat in first_map.value.json()["features"]}
    assert drawn["ML09"]["properties"]["kind"] == "area"
    assert drawn["ML09"]["properties"]["households"] == 4
    assert drawn["ML05"]["properties"]["kind"] == "point"
    assert drawn["ML05"]["properties"]["households"] == 2
    assert {feat["properties"]["kind"] for code, feat in drawn.items() if code != "ML09"} == {"point"}
    figures = page.locator("#fig-households")
    expect(figures).to_have_text("6")
    expect(page.locator("#fig-disability")).to_be_attached()  # the people figures arrived
    mali_map = page.locator("#map")
    expect(mali_map).to_have_attribute("data-features", str(len(drawn)))
    expect(mali_map.locator("path.leaflet-interactive")).to_have_count(len(drawn))

    # A marker on the window survives only if the page is not loaded again.
    page.evaluate("window.__journeyMarker = 'still here'")

    page.get_by_label("Place", exact=True).select_option("ML09")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("place") == ["ML09"])
    expect(figures).to_have_text("4")
    expect(page.locator("#by-place")).to_contain_text("Bamako")
    expect(page.locator("#by-place")).not_to_contain_text("Mopti")
    bamako_map = page.locator("#map")
    expect(bamako_map).to_have_attribute("data-drawn", re.compile(r"place=ML09"))
    expect(bamako_map).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))
    expect(bamako_map.locator("path.leaflet-interactive").first).to_be_visible()

    page.get_by_label("Population group").select_option(label="Host community / non-displaced")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("group") == ["host"])
    expect(figures).to_have_text("1")
    expect(page.locator("#map")).to_have_attribute("data-drawn", re.compile(r"group=host"))
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))
    # One household left: the legend has one class, "1", not empty or backward ranges ("2–1").
    expect(page.locator("#map .legend > div")).to_have_text(["1"])
    expect(page.locator("#fig-disability")).to_be_attached()
    query = parse_qs(urlsplit(page.url).query)
    assert query["place"] == ["ML09"] and query["group"] == ["host"]

    assert page.evaluate("window.__journeyMarker") == "still here", "the page was loaded again"
    # Each swap replaces the #map Leaflet had styled: htmx must not copy its style attribute over
    # (settling "style" is an inline style, refused by the CSP), hence attributesToSettle in base.html.
    watch.check()


def test_dashboard_parts_load_on_every_visit(page: Page, base_url: str, engine: sa.Engine, watch: Watch) -> None:
    """A coordinator opens the dashboard ten times in a row: each time its people figures and its
    map arrive, and the app answers every request. (The two parts are fetched together; on SQLite,
    transactions that read before writing once failed with "database is locked" here.)"""
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="en")
        household(s, "awa", "Traoré")
    login(page, base_url, "awa", start="/households")
    for visit in range(1, 11):
        with page.expect_response(re.compile(r"/dashboard/people\?")) as people, \
                page.expect_response(re.compile(r"/dashboard/map\.geojson\?")) as shapes:
            page.goto("/")
        answers = {r.url: r.status for r in (people.value, shapes.value)}
        assert set(answers.values()) == {200}, f"visit {visit}: {answers}"
        dashboard_loaded(page)
    expect(page.locator("#map")).to_have_attribute("data-features", re.compile(r"^[1-9]\d*$"))
    watch.check()


# ---- 4. search with a misspelt name, open the household ----------------------------------------

def test_search_a_household_by_a_misspelt_name(page: Page, base_url: str, engine: sa.Engine,
                                               watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="en")
        traore = household(s, "awa", "Traoré", head="Bakary", sex="m")
        maiga = household(s, "awa", "Maïga", head="Aminata")
        household(s, "awa", "Coulibaly", head="Fatoumata")
        household(s, "awa", "Diarra", head="Oumar", sex="m")

    login(page, base_url, "awa", start="/households")
    results = page.locator("#results")
    expect(results.get_by_role("row")).to_have_count(5)  # the header and four households
    page.evaluate("window.__journeyMarker = 'still here'")

    name = page.get_by_label("Name", exact=True)
    # Without its accent: the results change as one types.
    name.fill("traore")
    expect(results.get_by_role("row")).to_have_count(2)
    expect(results).to_contain_text("Bakary Traoré")
    expect(results.get_by_role("link", name=traore)).to_be_visible()
    expect(page.locator("#result-count")).to_have_text("Households 1 to 1 of 1")

    # Misspelt: nothing matches "maigha", so names beginning like it are shown, with a notice.
    name.fill("maigha")
    expect(results).to_contain_text("Aminata Maïga")
    expect(results).to_contain_text("No exact match")
    expect(results.get_by_role("row")).to_have_count(2)
    assert parse_qs(urlsplit(page.url).query).get("q") == ["maigha"]
    assert page.evaluate("window.__journeyMarker") == "still here", "the search loaded the page again"

    results.get_by_role("link", name=maiga).click()
    page.wait_for_url(f"{base_url}/households/{maiga}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Household {maiga}")
    expect(page.locator("section", has=page.locator("#members-title"))).to_contain_text("Aminata Maïga")
    watch.check()


# ---- 5. edit a household and see the change in its history ------------------------------------

def test_edit_a_household_and_see_the_change_in_its_history(page: Page, base_url: str, engine: sa.Engine,
                                                            watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="en")
        code = household(s, "awa", "Traoré", head="Bakary", sex="m", monthly_rent_xof=25_000)

    login(page, base_url, "awa", start=f"/households/{code}")
    history = page.locator("section", has=page.locator("#history-title"))
    expect(history).to_contain_text("No change since registration.")

    page.get_by_role("link", name="Edit", exact=True).click()
    page.wait_for_url(f"{base_url}/households/{code}/edit")
    rent = page.get_by_label("Monthly rent (FCFA)")
    expect(rent).to_have_value("25000")
    rent.fill("35000")
    page.get_by_role("button", name="Save the changes").click()

    page.wait_for_url(f"{base_url}/households/{code}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"35,000{NBSP}FCFA")
    expect(facts.locator("dt:has-text('Version') + dd")).to_have_text("2")
    # The history says which version was changed, when and by whom, and the field before and after.
    expect(history.locator("caption")).to_have_text(re.compile(r"^Version 1 changed on .+ UTC by awa$"))
    change = history.get_by_role("row").filter(has_text="Monthly rent")
    expect(change).to_have_count(1)
    expect(change.get_by_role("rowheader")).to_have_text("Monthly rent (FCFA)")
    expect(change.get_by_role("cell")).to_have_text([f"25,000{NBSP}FCFA", f"35,000{NBSP}FCFA"])
    watch.check()


# ---- 6. upload a bad file and read its problems -----------------------------------------------

def test_upload_a_bad_file_and_read_the_errors(page: Page, base_url: str, engine: sa.Engine, tmp_path: Path,
                                               watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.user(s, "awa", "AMSS", language="en")
    main, members = kobo_files.export(tmp_path, n=3)
    rows = [kobo_files.household(1), kobo_files.household(2, **{"household/current_pcode": "ML099999"}),
            kobo_files.household(3)]  # the second household lives at a P-code that does not exist
    kobo_files.write(main, kobo_files.MAIN_HEADERS, rows)

    login(page, base_url, "awa", start="/imports")
    page.get_by_label("Files").set_input_files([main, members])
    page.get_by_role("button", name="Import", exact=True).click()

    outcome = page.locator("#import-outcome")
    expect(outcome.get_by_role("heading", name="Nothing was written")).to_be_visible()
    table = outcome.locator("table.problems")
    expect(table.locator("thead th")).to_have_text(["Sheet", "Row", "Column", "Value", "Problem"])
    bad = table.locator("tbody tr").filter(has_text="ML099999")
    expect(bad).to_have_count(1)
    cells = bad.locator("td")
    expect(cells.nth(1)).to_have_text(re.compile(r"^\d+$"))
    expect(cells.nth(2)).to_have_text(re.compile(r"current_pcode"))
    expect(cells.nth(3)).to_have_text("ML099999")
    expect(cells.nth(4)).not_to_be_empty()
    assert page.url == f"{base_url}/imports"  # shown in place, by htmx

    link = outcome.get_by_role("link", name="Download every problem as CSV")
    expect(link).to_have_attribute("href", re.compile(r"^/imports/report/[A-Za-z0-9_-]{32}$"))
    with page.expect_download() as download:
        link.click()
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "ML099999" in report and "current_pcode" in report
    with session_scope(engine) as s:
        assert s.scalar(sa.text("SELECT count(*) FROM households")) == 0, "a rejected import wrote households"
    watch.check()


# ---- 7. another organisation without an agreement sees nothing --------------------------------

def test_other_organisation_cannot_see_the_household(page: Page, base_url: str, engine: sa.Engine,
                                                     browser: Browser, watch: Watch) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "AMSS")
        f.org(s, "IRC", kind="ingo")
        f.user(s, "awa", "AMSS", language="en")
        f.user(s, "john", "IRC", language="en")
        hidden = household(s, "awa", "Traoré", head="Bakary", sex="m")
        own = household(s, "john", "Diarra", head="Oumar", sex="m", phone="66 00 00 01")
        owner_token = accounts.create_token(session=s, actor=SYSTEM, name="journey", days=1,
                                            user=accounts.user_by_name(session=s, username="awa"))
        other_token = accounts.create_token(session=s, actor=SYSTEM, name="journey", days=1,
                                            user=accounts.user_by_name(session=s, username="john"))

    login(page, base_url, "john")
    expect(page.locator("#fig-households")).to_have_text("1")  # only IRC's own household counts

    # The list: IRC's own household, not AMSS's.
    page.goto("/households")
    results = page.locator("#results")
    expect(results.get_by_role("link", name=own)).to_be_visible()
    expect(results.get_by_role("link", name=hidden)).to_have_count(0)
    expect(results).not_to_contain_text("Traoré")

    # Search: by name, with or without accents, by its phone, by its P-code.
    for box, text, found in (("Name", "Traoré", "No household found."),
                             ("Name", "traore", "No household found."),
                             ("Phone number", "76 12 34 56", "No household found."),
                             ("P-code", f.BAMAKO_COMMUNE_IV, "Households 1 to 1 of 1")):  # IRC's own
        page.goto("/households")
        page.get_by_label(box, exact=True).fill(text)
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_url(re.compile(r"/households\?"))
        expect(page.locator("#result-count")).to_have_text(found)
        expect(results).not_to_contain_text("Traoré")
        expect(results.get_by_role("link", name=hidden)).to_have_count(0)

    # Its URL, and its edit form: not found, saying nothing about it.
    response = page.goto(f"/households/{hidden}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_have_text(f"No household {hidden} that you may see.")
    expect(page.locator("main")).not_to_contain_text("Traoré")
    response = page.goto(f"/households/{hidden}/edit")
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text("Traoré")

    # The API with IRC's token (and no cookie): not found, and not in a search; AMSS's own token
    # does find it, so the address is right.
    api = browser.new_context(base_url=base_url)
    try:
        irc = {"Authorization": f"Bearer {other_token}"}
        denied = api.request.get(f"/api/v1/households/{hidden}", headers=irc)
        assert denied.status == 404, denied.text()
        assert "Traoré" not in denied.text()
        listed = api.request.get("/api/v1/households", params={"q": "traore"}, headers=irc)
        assert listed.ok, listed.text()
        assert listed.json()["total"] == 0
        assert hidden not in json.dumps(listed.json())
        allowed = api.request.get(f"/api/v1/households/{hidden}", headers={"Authorization": f"Bearer {owner_token}"})
        assert allowed.status == 200, allowed.text()
        assert allowed.json()["code"] == hidden
    finally:
        api.close()
    watch.check()
