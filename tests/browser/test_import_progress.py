"""An import's progress in Chromium: the upload returns at once, a progress bar follows the import
as it runs, then the problems of the file replace it, on the import page and on the job's own page."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from jatigi.core.db import session_scope
from jatigi.registry import jobs
from tests import factories as f
from tests import kobo_files
from tests.browser.test_journeys import Watch, login


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The app's imports (run in this process) tell of 1,200 rows out of 5,000, then wait for the
    event before they go on: a large import, seen in the middle."""
    release = threading.Event()
    real = jobs.import_files

    def held_import(**kw: Any) -> Any:
        kw["session"].connection()  # the import's transaction is open, as when it writes
        kw["on_progress"](1200, 5000)
        assert release.wait(30), "the test never released the import"
        return real(**kw)

    monkeypatch.setattr(jobs, "import_files", held_import)
    yield release
    release.set()


def test_upload_a_bad_file_follow_its_progress_then_read_the_errors(
        page: Page, base_url: str, engine: sa.Engine, tmp_path: Path, held: threading.Event) -> None:
    watch = Watch(page)
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

    # The import runs: a progress bar, and the count of rows, on the import page itself.
    outcome = page.locator("#import-outcome")
    expect(outcome.get_by_role("heading", name="Checking the rows")).to_be_visible()
    bar = outcome.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "1200")
    expect(bar).to_have_attribute("max", "5000")
    expect(outcome).to_contain_text("1,200 / 5,000 rows")
    assert page.url == f"{base_url}/imports"
    # The list of recent imports shows it running too.
    running = page.locator("#import-batches tr.import-running")
    expect(running).to_contain_text("Checking the rows: 1,200 / 5,000 rows")

    # Its own page follows it too.
    outcome.get_by_role("link", name="This import's page").click()
    page.wait_for_url(re.compile(r"/imports/jobs/\d+$"))
    job_path = page.url.removeprefix(base_url)
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "1200")
    expect(page.get_by_text("1,200 / 5,000 rows")).to_be_visible()

    held.set()
    # The bar gives way to the problems, in place.
    expect(page.get_by_role("heading", name="Nothing was written")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_count(0)
    table = page.locator("table.problems")
    expect(table.locator("thead th")).to_have_text(["Sheet", "Row", "Column", "Value", "Problem"])
    bad = table.locator("tbody tr").filter(has_text="ML099999")
    expect(bad).to_have_count(1)
    cells = bad.locator("td")
    expect(cells.nth(1)).to_have_text(re.compile(r"^\d+$"))
    expect(cells.nth(2)).to_have_text(re.compile(r"current_pcode"))
    expect(cells.nth(4)).not_to_be_empty()
    assert page.url == f"{base_url}{job_path}"

    # Once the import ended, the page stops asking.
    asked = [url for url in watch.requests if url.endswith(f"{job_path}/progress")]
    time.sleep(2.5)
    assert [url for url in watch.requests if url.endswith(f"{job_path}/progress")] == asked

    link = page.get_by_role("link", name="Download every problem as CSV")
    with page.expect_download() as download:
        link.click()
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "ML099999" in report and "current_pcode" in report
    with session_scope(engine) as s:
        assert s.scalar(sa.text("SELECT count(*) FROM households")) == 0, "a rejected import wrote households"
    watch.check()
