"""Browser tests: the real app served by uvicorn, driven by Debian's Chromium through Playwright.

Fixtures (each test gets a fresh, migrated SQLite database from tests/conftest.py):

- `base_url`: the app (`jatigi.web.app:create_app`) served by uvicorn in a thread on a free
  127.0.0.1 port, against this test's database; "http://127.0.0.1:PORT", no trailing slash.
- `browser`: Chromium (/usr/bin/chromium), launched once per session (once per xdist worker).
- `context`, `page`: a fresh browser context and page per test, on the app (relative URLs work:
  `page.goto("/login")`), in French, Bamako time, with 10 s timeouts. When the test fails, the page's screenshot, HTML and console are kept in
  test-artifacts/browser/<module>.<test name>.png|.html|.log.
- `browser_context_args`: override in a test module to change the context's options.

`login(page, base_url, username, password)` signs in through the log-in form.

Without Chromium the tests are skipped, and without the playwright package not collected; with
JATIGI_REQUIRE_BROWSER=1 (CI) either is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import pytest
import uvicorn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-gpu"]
TIMEOUT_MS = 10_000
SERVER_START_S = 20.0

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()

# Test modules import playwright: without it they are not collected, and CI refuses to run.
if importlib.util.find_spec("playwright") is None:
    if os.environ.get("JATIGI_REQUIRE_BROWSER") == "1":
        raise ImportError("JATIGI_REQUIRE_BROWSER=1 but the playwright Python package is not installed")
    collect_ignore_glob = ["test_*.py"]

    def pytest_terminal_summary(terminalreporter: Any) -> None:
        terminalreporter.write_line("tests/browser not collected: the playwright Python package is not installed")


# ---- the database: SQLite only ----------------------------------------------------------------

@pytest.fixture(params=["sqlite"])
def db_url(db_url: str) -> str:
    """The database of tests/conftest.py, on SQLite only: one backend is enough for journeys."""
    return db_url


# ---- the app ----------------------------------------------------------------------------------

def _listening_socket() -> socket.socket:
    """A socket bound to a free loopback port, handed to uvicorn: no race for the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def base_url(db_url: str) -> Iterator[str]:
    """The real app over HTTP on 127.0.0.1, reading this test's database (JATIGI_DATABASE_URL)."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config("jatigi.web.app:create_app", factory=True, host="127.0.0.1", port=port,
                            log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            pytest.fail(f"the app did not start on 127.0.0.1:{port} (see the captured log above)")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    if thread.is_alive():
        raise RuntimeError(f"the app on 127.0.0.1:{port} did not stop within 10 s")


# ---- the browser ------------------------------------------------------------------------------

def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("JATIGI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"JATIGI_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched once per session (per xdist worker)."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")
    from playwright.sync_api import Error, sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Error as exc:
        playwright.stop()
        pytest.fail(f"{CHROMIUM} is there but did not start: {exc}", pytrace=False)
    yield launched
    launched.close()
    playwright.stop()


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """Options of each test's browser context; a module can override this fixture."""
    return {"locale": "fr-FR", "timezone_id": "Africa/Bamako", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def context(browser: Browser, base_url: str, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """A fresh context whose relative URLs go to the app (`page.goto("/login")`); closed before the app stops."""
    ctx = browser.new_context(base_url=base_url, **browser_context_args)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; if the test fails, its screenshot, HTML and console go to test-artifacts/browser/."""
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda msg: console.append(f"console.{msg.type}: {msg.text}"))
    pg.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    pg.on("requestfailed", lambda req: console.append(f"requestfailed: {req.method} {req.url} {req.failure}"))
    yield pg
    reports = request.node.stash.get(_REPORTS, {})
    if any(report.failed for report in reports.values()):
        _keep_artifacts(request, pg, console)
    pg.close()


def _keep_artifacts(request: pytest.FixtureRequest, pg: Page, console: list[str]) -> None:
    folder = request.config.rootpath / "test-artifacts" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    module = Path(str(request.node.path)).stem
    stem = re.sub(r"[^\w.\[\]-]+", "_", f"{module}.{request.node.name}")
    kept = []
    try:
        pg.screenshot(path=str(folder / f"{stem}.png"), full_page=True)
        kept.append(f"{stem}.png")
        (folder / f"{stem}.html").write_text(f"<!-- {pg.url} -->\n{pg.content()}", encoding="utf-8")
        kept.append(f"{stem}.html")
    except Exception as exc:  # the page may be gone: keep what could be kept, never hide the failure
        console.append(f"artifacts: could not save everything: {exc}")
    (folder / f"{stem}.log").write_text(f"url: {pg.url}\n" + "".join(f"{line}\n" for line in console),
                                        encoding="utf-8")
    kept.append(f"{stem}.log")
    print(f"\nbrowser artifacts in {folder}: {', '.join(kept)}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, for the page fixture to see a failure at teardown."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


# ---- helpers for journeys ---------------------------------------------------------------------

def answer_second_factor(page: Page, username: str) -> None:
    """Case work signs in with a code after the password: give it, if the log-in asks for one
    (tests/factories.py enrols such users with a known secret)."""
    from tests.web import totp_code

    try:
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")
    except Exception:
        return  # still on the log-in form (a wrong password): the caller reports it
    if urlsplit(page.url).path != "/login/totp":
        return
    form = page.locator("form[action='/login/totp']")
    form.locator("input[name=code]").fill(totp_code(username))
    form.get_by_role("button").click()
    page.wait_for_load_state()


def login(page: Page, base_url: str, username: str, password: str, *, dashboard_path: str = "/") -> None:
    """Sign in through the form at /login and wait for the dashboard (at `dashboard_path`)."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form[action='/login'] button[type=submit]").click()
    answer_second_factor(page, username)
    try:
        page.wait_for_url(lambda url: urlsplit(url).path == dashboard_path)
    except Exception as exc:
        raise AssertionError(f"log-in as {username!r} did not reach {dashboard_path}; the page is {page.url}") from exc
    page.wait_for_load_state()
