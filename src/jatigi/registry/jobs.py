"""Imports run in the background of the web server, as jobs kept in the table import_jobs.

The request that uploads the files saves them, creates the job and returns. One worker thread
per server process runs the jobs in the order they came (two imports at once would only queue
for the database's write lock). The importer's progress callback — the one behind the command
line's progress bar — updates the job's live state in this process's memory.

The import writes in one transaction. While it is open:

- on PostgreSQL a thread copies the live state to the table, in short transactions of its own,
  at most every PERSIST_EVERY_S and at least every HEARTBEAT_EVERY (the heartbeat);
- on SQLite the import holds the database's only write lock, and this process's transaction
  lock (core.db): a progress write would wait for the import that waits for it. So the table
  gets the phase when the import starts and the result when it ends; the same thread writes the
  live state to a small file instead (`_live_file`), which the other processes of the server
  (`jatigi serve --workers N`) read while the process that wrote it is alive.

Pages read jobs, and who asks, through `peek_engine`, which never waits for that lock. A job
that has not ended, is not running in this process and whose heartbeat is older than
STALE_AFTER is interrupted: the server stopped while it ran, and its transaction was rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from jatigi.accounts.models import Organisation, User
from jatigi.core.authz import Actor
from jatigi.core.db import session_scope, utcnow
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _, use_language
from jatigi.registry.importer import ImportOptions, ImportResult, import_files
from jatigi.registry.models import ImportJob

log = logging.getLogger(__name__)

QUEUED, CHECKING, WRITING, DONE, FAILED, INTERRUPTED = (
    "queued", "checking", "writing", "done", "failed", "interrupted")
RUNNING = (QUEUED, CHECKING, WRITING)
ENDED = frozenset({DONE, FAILED, INTERRUPTED})
PERSIST_EVERY_S = 0.5
HEARTBEAT_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=60)
LISTED_FOR = timedelta(days=1)


# ---- live state, in this process ---------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    phase: str
    done: int = 0
    total: int = 0  # 0: not known beforehand


_live: dict[tuple[str, int], Progress] = {}
_live_lock = threading.Lock()


def _key(engine: sa.Engine, job_id: int) -> tuple[str, int]:
    return str(engine.url), job_id  # the same id may be a job of another database (tests)


def _set(key: tuple[str, int], progress: Progress) -> None:
    with _live_lock:
        _live[key] = progress


def _get(key: tuple[str, int]) -> Progress | None:
    with _live_lock:
        mine = _live.get(key)
    return mine if mine is not None else _read_live_file(_live_file(key))


def _forget(key: tuple[str, int]) -> None:
    with _live_lock:
        _live.pop(key, None)
    _live_file(key).unlink(missing_ok=True)


# The live state of SQLite jobs, for the server's other processes: one small file per job.

def _live_folder(url: str) -> Path:
    # Per user, so that another account of the machine cannot plant or read these files.
    return (Path(tempfile.gettempdir()) / f"jatigi-import-jobs-{os.getuid()}"
            / hashlib.sha256(url.encode()).hexdigest()[:16])


def _live_file(key: tuple[str, int]) -> Path:
    return _live_folder(key[0]) / f"{key[1]}.json"


def _write_live_file(key: tuple[str, int], progress: Progress) -> None:
    path = _live_file(key)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.parent.stat().st_uid != os.getuid():
        raise PermissionError(f"{path.parent.parent} belongs to another user")
    partial = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"phase": progress.phase, "done": progress.done, "total": progress.total,
                                   "pid": os.getpid(), "at": time.time()}), encoding="utf-8")
    os.replace(partial, path)  # readers see the old state or the new one, never half a file


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_live_file(path: Path) -> Progress | None:
    """The state another process wrote, if that process still runs and wrote it lately."""
    try:
        owner = path.stat().st_uid
        data = json.loads(path.read_text(encoding="utf-8"))
        pid, at = int(data["pid"]), float(data["at"])
        progress = Progress(str(data["phase"]), int(data["done"]), int(data["total"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: as if no other process ran it
    if owner != os.getuid() or not _alive(pid) or time.time() - at > STALE_AFTER.total_seconds():
        return None
    return progress


# ---- reading jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    """A job as shown: its row, and its phase and counts, live where this process runs it."""

    job: ImportJob
    owner: str
    organisation: str
    phase: str
    done: int
    total: int

    @property
    def ended(self) -> bool:
        return self.phase in ENDED


def _view(job: ImportJob, owner: str, organisation: str, live: Progress | None) -> JobView:
    if job.phase in ENDED:
        return JobView(job, owner, organisation, job.phase, job.rows_done, job.rows_total)
    if live is not None:
        return JobView(job, owner, organisation, live.phase, live.done, live.total)
    phase = INTERRUPTED if utcnow() - job.heartbeat_at > STALE_AFTER else job.phase
    return JobView(job, owner, organisation, phase, job.rows_done, job.rows_total)


def _select() -> sa.Select[ImportJob, str, str]:
    return (sa.select(ImportJob, User.username, Organisation.acronym)
            .join(User, User.id == ImportJob.user_id)
            .join(Organisation, Organisation.id == ImportJob.org_id))


def find(*, session: Session, engine: sa.Engine, job_id: int) -> JobView | None:
    """The job, or None. `engine` is the application's, whose jobs this process runs."""
    # Memory before the row: a job that ends in between is then read ended, never interrupted.
    live = _get(_key(engine, job_id))
    row = session.execute(_select().where(ImportJob.id == job_id)).first()
    return None if row is None else _view(row[0], row[1], row[2], live)


def running(*, session: Session, engine: sa.Engine, actor: Actor, limit: int = 20) -> list[JobView]:
    """Jobs of the last day that have not ended (or were interrupted), newest first: those of the
    actor's organisation, or of any for a system administrator."""
    lives = _lives(engine)  # before the rows, as in `find`
    q = (_select().where(ImportJob.phase.in_(RUNNING), ImportJob.created_at > utcnow() - LISTED_FOR)
         .order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit))
    if not actor.sees_all:
        q = q.where(ImportJob.org_id == (actor.org_id if actor.org_id is not None else -1))
    return [_view(job, owner, org, lives.get(job.id)) for job, owner, org in session.execute(q).all()]


def _lives(engine: sa.Engine) -> dict[int, Progress]:
    url = str(engine.url)
    found: dict[int, Progress] = {}
    for path in _live_folder(url).glob("*.json"):
        progress = _read_live_file(path)
        if progress is not None and path.stem.isdigit():
            found[int(path.stem)] = progress
    with _live_lock:
        found.update({job_id: progress for (of, job_id), progress in _live.items() if of == url})
    return found


def peek_engine(engine: sa.Engine) -> sa.Engine:
    """An engine to read jobs, and who asks, while an import holds the write lock.

    PostgreSQL's readers never wait for writers. On SQLite: connections of their own, read-only
    and outside any transaction, so outside this process's transaction queue (core.db); each
    statement reads what is committed, which the write-ahead log allows while another
    connection writes.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return _sqlite_reader(engine.url.render_as_string(hide_password=False))


@lru_cache(maxsize=8)
def _sqlite_reader(url: str) -> sa.Engine:
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _read_only)
    return engine


def _read_only(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # no BEGIN: every statement reads the latest committed state
    dbapi_conn.execute("PRAGMA query_only=ON")


# ---- creating and running jobs -----------------------------------------------------------------


def create(*, session: Session, actor: Actor, org_id: int, filenames: list[str], format: str,
           partial: bool) -> ImportJob:
    now = utcnow()
    job = ImportJob(user_id=actor.user_id, org_id=org_id, filenames=", ".join(filenames)[:400], format=format,
                    partial=partial, phase=QUEUED, created_at=now, heartbeat_at=now)
    session.add(job)
    session.flush()
    return job


@dataclass(frozen=True)
class Task:
    engine: sa.Engine
    job_id: int
    actor: Actor
    paths: list[Path]
    options: ImportOptions
    folder: Path  # the saved upload, removed when the job ends
    # Keeps the problems for the job's page and the report; returns the report's token.
    keep_problems: Callable[[ImportResult], str]


_tasks: queue.Queue[Task] = queue.Queue()
_engines: dict[str, sa.Engine] = {}  # of the live jobs, by URL (under _live_lock)
_threads: dict[str, threading.Thread] = {}
_threads_lock = threading.Lock()


def submit(task: Task) -> None:
    """Queue a job (its row committed) for this process's worker thread."""
    key = _key(task.engine, task.job_id)
    with _live_lock:
        _engines[key[0]] = task.engine
        _live[key] = Progress(QUEUED)
    _tasks.put(task)
    with _threads_lock:
        for name, target in (("jatigi-import-jobs", _work), ("jatigi-import-beat", _beat)):
            if name not in _threads or not _threads[name].is_alive():
                _threads[name] = threading.Thread(target=target, name=name, daemon=True)
                _threads[name].start()


def _work() -> None:
    while True:
        task = _tasks.get()
        try:
            run(task)
        except BaseException:  # never let one job stop the worker
            log.exception("import job %s", task.job_id)


def run(task: Task) -> None:
    """Run one job to its end: done or failed, its live state forgotten, its files removed."""
    key = _key(task.engine, task.job_id)
    try:
        with use_language(task.actor.language):
            _run(task, key)
    finally:
        _forget(key)
        shutil.rmtree(task.folder, ignore_errors=True)


def _run(task: Task, key: tuple[str, int]) -> None:
    engine, job_id = task.engine, task.job_id

    def on_progress(done: int, total: int) -> None:
        _set(key, Progress(CHECKING, done, max(total, done) if total else 0))

    try:
        _update(engine, job_id, phase=CHECKING, started_at=utcnow())
        _set(key, Progress(CHECKING))
        with session_scope(engine) as session:
            result = import_files(session=session, actor=task.actor, paths=task.paths, options=task.options,
                                  on_progress=on_progress)
            # Every row read: what remains is the commit.
            _set(key, Progress(WRITING, result.submissions, result.submissions))
        token = task.keep_problems(result) if result.problems else None
        _update(engine, job_id, **_result_values(result, token))
    except JatigiError as exc:
        _fail(engine, job_id, exc.message)
    except Exception:
        log.exception("import job %s failed", job_id)
        _fail(engine, job_id, _("The import stopped on an unexpected error; nothing was written. "
                                "Try again, or ask an administrator to look at the server's log."))


def _result_values(result: ImportResult, token: str | None) -> dict[str, Any]:
    return {"phase": DONE if result.ok else FAILED, "outcome": result.status, "rows_done": result.submissions,
            "rows_total": result.submissions, "households_written": result.households_written,
            "people_written": result.people_written, "households_skipped": result.households_skipped,
            "households_rejected": result.households_rejected, "problem_count": result.problem_count,
            "report_token": token, "batch_id": result.batch_id, "finished_at": utcnow()}


def _fail(engine: sa.Engine, job_id: int, message: str) -> None:
    try:
        _update(engine, job_id, phase=FAILED, error=message[:2000], finished_at=utcnow())
    except Exception:  # the job stays unended: its stale heartbeat will show it interrupted
        log.exception("import job %s: the failure could not be recorded", job_id)


def _update(engine: sa.Engine, job_id: int, *where: sa.ColumnElement[bool], **values: Any) -> None:
    """Write to the job's row in a short transaction of its own, with a heartbeat."""
    with engine.begin() as conn:
        conn.execute(sa.update(ImportJob).where(ImportJob.id == job_id, *where)
                     .values(heartbeat_at=utcnow(), **values))


def _beat() -> None:
    """Copy this process's live jobs to the table (PostgreSQL) or to their files (SQLite): a job's
    state when it changed, at most every PERSIST_EVERY_S, else a heartbeat every HEARTBEAT_EVERY,
    queued jobs included."""
    written: dict[tuple[str, int], tuple[Progress, datetime]] = {}
    while True:
        time.sleep(PERSIST_EVERY_S)
        with _live_lock:
            current = dict(_live)
            engines = {url: _engines[url] for url, _job in current if url in _engines}
            for url in set(_engines) - set(engines):
                del _engines[url]
        written = {key: last for key, last in written.items() if key in current}
        for key, state in current.items():
            engine = engines.get(key[0])
            last = written.get(key)
            if engine is None or (last is not None and last[0] == state and utcnow() - last[1] < HEARTBEAT_EVERY):
                continue
            try:
                if engine.dialect.name == "sqlite":
                    _write_live_file(key, state)  # the table waits for the import: see the module's notes
                    written[key] = (state, utcnow())
                    continue
                # Never over a job that has ended meanwhile.
                _update(engine, key[1], ImportJob.phase.in_(RUNNING), phase=state.phase, rows_done=state.done,
                        rows_total=state.total)
            except Exception:  # a missed beat is no reason to stop
                log.warning("import job %s: progress not written", key[1], exc_info=True)
                continue
            written[key] = (state, utcnow())
