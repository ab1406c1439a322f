"""The import page and its jobs, over HTTP as a browser uses them: the upload returns at once, the
import runs in the background, its page shows the progress and then the result or the problems."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.db import session_scope, utcnow
from jatigi.registry import import_views, jobs
from jatigi.registry.models import Household, ImportBatch, ImportJob, Person
from jatigi.web.app import create_app
from tests import factories as f
from tests import kobo_files as kf
from tests.web import browsers, count_rows, upload_files

POLLING = 'hx-trigger="every 1s"'


@pytest.fixture
def world(engine: sa.Engine) -> None:
    """ONGA: alice (IM officer), alex (registration officer), awa (IM officer, in French).
    ONGB: bob, with one household. OCHA: root and rokia (in French), system administrators."""
    with session_scope(engine) as s:
        f.places(s)
        for acronym in ("ONGA", "ONGB", "OCHA"):
            f.org(s, acronym)
        f.user(s, "alice", "ONGA")
        f.user(s, "alex", "ONGA", "registration_officer")
        f.user(s, "awa", "ONGA", language="fr")
        f.user(s, "bob", "ONGB")
        f.user(s, "root", "OCHA", "admin")
        f.user(s, "rokia", "OCHA", "admin", language="fr")
        f.household(s, f.actor(s, "bob"), current_pcode=f.MOPTI_COMMUNE)


@pytest.fixture
def browser(engine: sa.Engine, world: None, system_tmp: Path) -> Iterator[Callable[..., tuple[TestClient, str]]]:
    """A fresh browser per user: `browser("alice")` gives a client logged in as alice and its CSRF token."""
    with browsers("/imports") as open_as:
        yield open_as


def _bad_export(folder: Path) -> list[Path]:
    """Three households: the second in a place that does not exist, the third displaced in the future."""
    mains = [kf.household(1), kf.household(2, **{"household/current_pcode": "ML999999"}),
             kf.household(3, **{"household/displacement_date": "2031-01-01"})]
    members = [kf.member(1, 1), kf.member(2, 2), kf.member(3, 3)]
    return [kf.write(folder / "registration.csv", kf.MAIN_HEADERS, mains),
            kf.write(folder / "members.csv", kf.MEMBER_HEADERS, members)]


def _text(html: str) -> str:
    """The page as read: tags dropped, spaces folded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _upload(client: TestClient, csrf: str, paths: list[Path], **data: str) -> str:
    """Upload without JavaScript: the answer sends the browser to the job's page; returns its path."""
    resp = client.post("/imports", data={"csrf_token": csrf, **data}, files=upload_files(paths), follow_redirects=False)
    assert resp.status_code == 303, resp.text[:500]
    location = resp.headers["location"]
    assert re.fullmatch(r"/imports/jobs/\d+", location)
    return location


def _finished(client: TestClient, job: str, timeout: float = 60) -> httpx.Response:
    """Ask for the job's progress as htmx does, until the answer stops asking again."""
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(f"{job}/progress", headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{job}"})
        assert resp.status_code == 200, resp.text[:500]
        if POLLING not in resp.text:
            return resp
        assert time.monotonic() < deadline, "the import did not end"
        time.sleep(0.05)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Imports stop once they have begun their transaction, taken the audit lock and told of
    1,200 rows out of 5,000, until the event is set: what a page sees in the middle of a large import."""
    release = threading.Event()
    real = jobs.import_files

    def held_import(**kw: Any) -> Any:
        audit.record(kw["session"], kw["actor"], "test.hold", "test")  # as the import's first households
        kw["on_progress"](1200, 5000)
        assert release.wait(30), "the test never released the import"
        return real(**kw)

    monkeypatch.setattr(jobs, "import_files", held_import)
    yield release
    release.set()


# ---- a good upload -----------------------------------------------------------------------------


def test_a_good_upload_returns_at_once_and_its_page_shows_the_counts(browser, engine: sa.Engine, tmp_path: Path,
                                                                     system_tmp: Path) -> None:
    client, csrf = browser("alice")
    page = client.get("/imports")
    assert page.status_code == 200
    assert 'hx-post="/imports"' in page.text and 'hx-indicator="#import-working"' in page.text
    assert "<script>" not in page.text and " style=" not in page.text  # nothing for the CSP to block
    assert 'id="import-org"' not in page.text  # an IM officer imports into their own organisation only

    job = _upload(client, csrf, kf.export(tmp_path, n=3))
    resp = _finished(client, job)
    shown = _text(resp.text)
    assert "Import finished" in shown and "Households written: 3. People written: 6." in shown
    assert re.search(r"Already imported, skipped\s+0", shown)
    assert "registration.csv, members.csv" in shown and "by alice" in shown
    assert "<progress" not in resp.text

    # The job's own page, opened again later: the same result, without a link to itself.
    again = client.get(job)
    assert again.status_code == 200 and POLLING not in again.text
    assert "Households written: 3. People written: 6." in _text(again.text)
    assert f'href="{job}"' not in again.text
    assert "<script>" not in again.text and " style=" not in again.text

    with session_scope(engine) as s:
        onga = s.scalar(sa.select(Organisation.id).where(Organisation.acronym == "ONGA"))
        assert s.scalar(sa.select(sa.func.count()).select_from(Household).where(Household.org_id == onga)) == 3
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 6 + 3  # bob's household has 3
        assert s.scalar(sa.select(ImportBatch.status)) == "committed"
        stored = s.scalars(sa.select(ImportJob)).one()
        assert (stored.phase, stored.outcome, stored.rows_done, stored.rows_total) == ("done", "committed", 3, 3)
        assert stored.batch_id == s.scalar(sa.select(ImportBatch.id))
        assert stored.started_at and stored.finished_at and stored.finished_at >= stored.started_at
        actions = list(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("import.%"))
                                 .order_by(AuditEvent.id)))
        assert actions == ["import.queue", "import.commit", "import.job_view"]
        assert verify_chain(s).ok
    assert not list(system_tmp.glob("jatigi-upload-*")), "uploaded files are kept"

    # Again, through htmx: every household is skipped as already there.
    resp = client.post("/imports", data={"csrf_token": csrf}, files=upload_files(kf.export(tmp_path, n=3)),
                       headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/imports"})
    assert resp.status_code == 200 and "<html" not in resp.text
    second = re.search(r'hx-get="(/imports/jobs/\d+)/progress"', resp.text)
    assert second and POLLING in resp.text and "<progress" in resp.text
    assert f'href="{second.group(1)}"' in resp.text  # the import page links to the job's own page
    # The list of recent imports comes out of band, with the new import running.
    batches = re.search(r'<section[^>]*id="import-batches"[^>]*hx-swap-oob="true".*?</section>', resp.text, re.S)
    assert batches and f'href="{second.group(1)}"' in batches.group(0)
    assert re.search(r"Waiting to start|Checking the rows|Saving the households", _text(batches.group(0)))
    # Asked for from the import page, the progress brings the list along, as it is now.
    polled = client.get(f"{second.group(1)}/progress",
                        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/imports"})
    assert re.search(r'<section[^>]*id="import-batches"[^>]*hx-swap-oob="true"', polled.text)
    assert re.search(r"Already imported, skipped\s+3", _text(_finished(client, second.group(1)).text))
    assert count_rows(engine, Household) == 4


# ---- a bad file --------------------------------------------------------------------------------


def test_a_bad_file_shows_its_problems_writes_nothing_and_only_the_uploader_gets_the_report(
        browser, engine: sa.Engine, tmp_path: Path) -> None:
    client, csrf = browser("alice")
    job = _upload(client, csrf, _bad_export(tmp_path))
    resp = _finished(client, job)
    shown = _text(resp.text)
    assert "Nothing was written: 2 problems in 2 households." in shown
    # The problem table: sheet, row, column, value, reason.
    assert re.search(r"registration 3 household/current_pcode ML999999 Unknown P-code", shown)
    assert re.search(r"registration 4 household/displacement_date 2031-01-01 [^<]*future", shown)
    assert count_rows(engine, Household) == 1 and count_rows(engine, ImportBatch) == 0  # only bob's household
    assert count_rows(engine, AuditEvent, AuditEvent.action == "import.rejected") == 1
    with session_scope(engine) as s:
        assert s.scalar(sa.select(ImportJob.phase)) == "failed"

    link = re.search(r'href="(/imports/report/[\w-]+)"', resp.text)
    assert link, "no link to the report"
    # Another user of the same organisation, who may import too, sees neither the job nor the report.
    other, _csrf = browser("alex")
    assert other.get(job).status_code == 404
    assert other.get(f"{job}/progress").status_code == 404
    assert "ML999999" not in other.get(job).text
    assert other.get(link.group(1)).status_code == 404
    # The system administrator sees the job and its problems, audited, but not the uploader's report.
    root, _csrf = browser("root")
    as_root = root.get(job)
    assert as_root.status_code == 200 and "ML999999" in as_root.text and "/imports/report/" not in as_root.text
    assert count_rows(engine, AuditEvent, AuditEvent.action == "import.job_view", AuditEvent.actor == "root") == 1

    report = client.get(link.group(1))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert rows[0] == ["Sheet", "Row", "Column", "Value", "Problem"]
    assert ["registration", "3", "household/current_pcode", "ML999999"] == rows[1][:4]
    assert len(rows) == 3
    assert count_rows(engine, AuditEvent, AuditEvent.action == "import.report_download") == 1
    # Downloaded once: it is gone, and the job's page no longer offers it, but still shows the problems.
    gone = client.get(link.group(1))
    assert gone.status_code == 404 and "no longer available" in gone.text
    page = client.get(job)
    assert "ML999999" in page.text and "/imports/report/" not in page.text


def test_a_file_the_importer_cannot_read_fails_with_its_reason(browser, engine: sa.Engine, tmp_path: Path) -> None:
    client, csrf = browser("alice")
    job = _upload(client, csrf, kf.export(tmp_path, n=2), format="csv")  # two files, but not as Kobo
    shown = _text(_finished(client, job).text)
    assert "The import did not run" in shown and "Only Kobo exports come in several files" in shown
    assert count_rows(engine, Household) == 1
    with session_scope(engine) as s:
        stored = s.scalars(sa.select(ImportJob)).one()
        assert stored.phase == "failed" and "Only Kobo exports" in (stored.error or "")


def test_a_partial_import_writes_the_valid_households_and_keeps_the_problems_an_hour(
        browser, engine: sa.Engine, tmp_path: Path, system_tmp: Path) -> None:
    client, csrf = browser("alice")
    job = _upload(client, csrf, _bad_export(tmp_path), partial="1")
    resp = _finished(client, job)
    shown = _text(resp.text)
    assert "Households written: 1. People written: 1." in shown and "ML999999" in shown
    assert re.search(r"Households with problems, left out\s+2", shown)
    assert count_rows(engine, Household) == 2 and count_rows(engine, Person) == 3 + 1
    # The report, and the problems the page shows, are kept an hour, no more.
    link = re.search(r'href="(/imports/report/[\w-]+)"', resp.text)
    assert link
    kept = list(system_tmp.glob("jatigi-import-reports-*/*/*"))
    assert {p.suffix for p in kept} == {".csv", ".json"}
    for path in kept:
        two_hours_ago = path.stat().st_mtime - 7200
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert client.get(link.group(1)).status_code == 404
    page = _text(client.get(job).text)
    assert "Households written: 1." in page and "ML999999" not in page
    assert "The problems of an import are kept for an hour" in page


# ---- progress while the import runs ------------------------------------------------------------


def test_the_progress_shows_while_the_import_holds_the_database(browser, engine: sa.Engine, tmp_path: Path,
                                                                 held: threading.Event) -> None:
    client, csrf = browser("alice")
    awa, _csrf = browser("awa")
    rokia, _csrf = browser("rokia")  # signed in before: signing in writes, and would wait for the import
    job = _upload(client, csrf, kf.export(tmp_path, n=3))
    deadline = time.monotonic() + 20
    while True:
        started = time.monotonic()
        resp = client.get(f"{job}/progress", headers={"HX-Request": "true"})
        # Answered at once, although the import's transaction is open (and on SQLite holds the write lock).
        assert resp.status_code == 200 and time.monotonic() - started < 5
        if "1,200 / 5,000 rows" in _text(resp.text):
            break
        assert time.monotonic() < deadline, resp.text
        time.sleep(0.05)
    assert POLLING in resp.text and f'hx-get="{job}/progress"' in resp.text
    assert re.search(r'<progress[^>]*value="1200" max="5000"', resp.text)
    assert "Checking the rows" in resp.text
    # On PostgreSQL the progress is written to the table as it goes, in transactions of its own;
    # on SQLite the import holds the only write lock, and the table keeps the phase.
    expected = (1200, 5000) if engine.dialect.name == "postgresql" else (0, 0)
    while True:
        with jobs.peek_engine(engine).connect() as conn:
            stored = conn.execute(sa.select(ImportJob.phase, ImportJob.rows_done, ImportJob.rows_total)).one()
        if tuple(stored) == ("checking", *expected):
            break
        assert time.monotonic() < deadline, stored
        time.sleep(0.1)
    # The whole page too, with its menu.
    page = client.get(job)
    assert page.status_code == 200 and POLLING in page.text and 'href="/imports"' in page.text
    assert "1,200 / 5,000 rows" in _text(page.text)
    assert awa.get(job).status_code == 404  # not her import
    # A system administrator may follow it; in French, with numbers as the French write them.
    assert "1\u202f200 / 5\u202f000 lignes" in rokia.get(job).text

    held.set()
    shown = _text(_finished(client, job).text)
    assert "Households written: 3." in shown
    assert count_rows(engine, Household) == 4


def test_a_job_whose_server_stopped_is_shown_interrupted(browser, engine: sa.Engine) -> None:
    client, _csrf = browser("alice")
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")
        stopped = jobs.create(session=s, actor=alice, org_id=alice.org_id, filenames=["big.csv"], format="auto",
                              partial=False)
        stopped.phase, stopped.rows_done, stopped.rows_total = "checking", 1200, 5000
        stopped.heartbeat_at = utcnow() - timedelta(minutes=10)
        # Another server process's import, which told of its progress a moment ago.
        elsewhere = jobs.create(session=s, actor=alice, org_id=alice.org_id, filenames=["other.csv"], format="auto",
                                partial=False)
        elsewhere.phase, elsewhere.rows_done, elsewhere.rows_total = "writing", 4000, 5000
        ids = stopped.id, elsewhere.id

    page = client.get(f"/imports/jobs/{ids[0]}")
    assert page.status_code == 200 and POLLING not in page.text and "<progress" not in page.text
    shown = _text(page.text)
    assert "Import interrupted" in shown and "nothing of it was written" in shown
    running = client.get(f"/imports/jobs/{ids[1]}/progress", headers={"HX-Request": "true"})
    assert POLLING in running.text and "Saving the households" in running.text
    assert "4,000 / 5,000 rows" in _text(running.text)
    # The import page lists both among the recent imports, each as it is.
    listed = _text(client.get("/imports").text)
    assert "big.csv alice Import interrupted" in listed
    assert "other.csv alice Saving the households: 4,000 / 5,000 rows" in listed


def test_on_sqlite_another_server_process_shows_the_live_progress_of_an_import(browser, engine: sa.Engine) -> None:
    """`jatigi serve --workers 2`: the page may be served by the process that does not run the
    import. On SQLite the table cannot be written during the import: the running process writes
    its progress to a file, read while that process lives."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps the live progress in the table (see the test above)")
    client, _csrf = browser("alice")
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")
        job = jobs.create(session=s, actor=alice, org_id=alice.org_id, filenames=["big.csv"], format="auto",
                          partial=False)
        job.phase, job.heartbeat_at = "checking", utcnow() - timedelta(minutes=10)
        job_id = job.id
    key = (str(engine.url), job_id)
    jobs._write_live_file(key, jobs.Progress("checking", 1200, 5000))  # as the other process would
    try:
        shown = _text(client.get(f"/imports/jobs/{job_id}/progress", headers={"HX-Request": "true"}).text)
        assert "1,200 / 5,000 rows" in shown and "interrupted" not in shown
        # The process that wrote it has stopped: the import is interrupted, whatever the file says.
        gone = subprocess.Popen(["true"])
        gone.wait()
        path = jobs._live_file(key)
        path.write_text(path.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {gone.pid}'))
        assert "Import interrupted" in _text(client.get(f"/imports/jobs/{job_id}").text)
    finally:
        jobs._live_file(key).unlink(missing_ok=True)


# ---- who may see a job -------------------------------------------------------------------------


def test_a_job_page_needs_a_signed_in_importer(browser, engine: sa.Engine, tmp_path: Path) -> None:
    client, csrf = browser("alice")
    job = _upload(client, csrf, kf.export(tmp_path, n=1))
    _finished(client, job)
    with TestClient(create_app(), base_url="http://testserver") as stranger:
        resp = stranger.get(f"{job}/progress", follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == f"/login?next={job}"
        resp = stranger.get(f"{job}/progress", headers={"HX-Request": "true"}, follow_redirects=False)
        assert resp.headers.get("HX-Redirect") == f"/login?next={job}"
    with session_scope(engine) as s:
        f.user(s, "vera", "ONGA", "viewer")
    viewer, _csrf = browser("vera", next_url="/")
    for path in (job, f"{job}/progress"):
        resp = viewer.get(path)
        assert resp.status_code == 403 and "registry:import:run" in resp.text
    assert client.get("/imports/jobs/999999").status_code == 404


# ---- before any job: a clear message -----------------------------------------------------------


def test_uploads_over_the_limit_and_forms_without_a_file_get_a_clear_message(
        browser, engine: sa.Engine, tmp_path: Path, system_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, csrf = browser("alice")
    resp = client.post("/imports", data={"csrf_token": csrf})
    assert resp.status_code == 422 and "Choose the file or files to import." in resp.text
    monkeypatch.setattr(import_views, "MAX_UPLOAD_BYTES", 1024 * 1024 // 4)
    big = kf.export(tmp_path, n=1200)
    resp = client.post("/imports", data={"csrf_token": csrf}, files=upload_files(big))
    assert resp.status_code == 422
    assert "The files are too large: at most 0.25 MB can be uploaded at once." in _text(resp.text)
    # Through htmx the message comes with 200, for htmx to show it.
    resp = client.post("/imports", data={"csrf_token": csrf}, files=upload_files(big), headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "The import did not run" in resp.text and "too large" in resp.text
    assert count_rows(engine, Household) == 1 and count_rows(engine, ImportJob) == 0
    assert not list(system_tmp.glob("jatigi-upload-*"))


def test_a_system_administrator_imports_for_another_organisation(browser, engine: sa.Engine,
                                                                 tmp_path: Path) -> None:
    client, csrf = browser("root")
    page = client.get("/imports")
    assert 'id="import-org"' in page.text and '<option value="ONGB"' in page.text
    job = _upload(client, csrf, kf.export(tmp_path, n=2), org="ONGB", format="kobo")
    assert "Households written: 2." in _text(_finished(client, job).text)
    # An unknown organisation is told, and nothing is queued.
    resp = client.post("/imports", data={"csrf_token": csrf, "org": "XYZ"}, files=upload_files(kf.export(tmp_path, n=1)))
    assert resp.status_code == 422 and "No organisation XYZ" in resp.text
    # An IM officer's choice of organisation is not theirs to make: the households stay theirs.
    alice, alice_csrf = browser("alice")
    other = tmp_path / "other"
    other.mkdir()
    job = _upload(alice, alice_csrf, kf.export(other, n=1), org="ONGB")
    _finished(alice, job)
    with session_scope(engine) as s:
        counts = {acronym: n for acronym, n in s.execute(
            sa.select(Organisation.acronym, sa.func.count(Household.id))
            .join(Household, Household.org_id == Organisation.id).group_by(Organisation.acronym))}
        assert counts == {"ONGA": 1, "ONGB": 3}
        orgs = list(s.scalars(sa.select(Organisation.acronym).join(ImportJob, ImportJob.org_id == Organisation.id)
                              .order_by(ImportJob.id)))
        assert orgs == ["ONGB", "ONGA"]


def test_a_job_page_still_answers_when_the_session_is_due_a_touch(browser, engine: sa.Engine) -> None:
    """The job's pages read through a connection that may not write (it must not wait for the
    import): a session whose last activity is due to be recorded must not break them."""
    from jatigi.accounts.models import WebSession

    client, _csrf = browser("alice")
    with session_scope(engine) as s:
        alice = f.actor(s, "alice")
        job = jobs.create(session=s, actor=alice, org_id=alice.org_id, filenames=["big.csv"], format="auto",
                          partial=False)
        job_id = job.id
        s.execute(sa.update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=5)))
    assert client.get(f"/imports/jobs/{job_id}/progress", headers={"HX-Request": "true"}).status_code == 200
    assert client.get(f"/imports/jobs/{job_id}").status_code == 200
