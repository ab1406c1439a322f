"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from jatigi.core.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


# Integer primary keys that autoincrement on both SQLite and PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def code_string(length: int) -> sa.types.TypeEngine[str]:
    """Text compared byte by byte: codes and search keys.

    SQLite compares text bytewise already; PostgreSQL follows the database's collation (often
    a language's, where "di" + anything is not a range of prefixes), so it gets collation "C".
    """
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not the sqlite3 module, open transactions, so that SAVEPOINTs work.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def _serialise_transactions(engine: sa.Engine, wait: float = 120.0) -> None:
    """One transaction at a time on a SQLite database, queued in this process.

    Nearly every transaction writes (each read of a household is audited), and SQLite has one
    writer at a time. A transaction that reads first and writes later cannot wait for the lock
    and fails with "database is locked"; and SQLite's own waiting polls with growing sleeps,
    which leaves some requests waiting seconds under load. So each transaction takes a lock of
    this process, then a lock shared with the other processes (a lock file beside the database,
    polled every millisecond: the web server's other workers, a command-line import), then
    SQLite's write lock (BEGIN IMMEDIATE), and gives them back at commit or rollback.
    """
    lock = threading.Lock()
    between = _ProcessLock(engine.url.database) if engine.url.database not in (None, "", ":memory:") else None

    def begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot to read; no lock, no waiting for writers
            return
        deadline = time.monotonic() + wait
        if not lock.acquire(timeout=wait):
            raise TimeoutError(f"no database transaction could start within {wait:.0f} s")
        conn.info["jatigi_tx_lock"] = True
        try:
            if between is not None:
                between.acquire(deadline)
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            end(conn)
            raise

    def end(conn: sa.Connection) -> None:
        if conn.info.pop("jatigi_tx_lock", False):
            if between is not None:
                between.release()
            lock.release()

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)


class _ProcessLock:
    """An exclusive lock on `<database>.lock` held by one process at a time (`flock`), asked for
    without blocking every millisecond or so, so that a waiting process starts as soon as the
    other one is done — SQLite's own waiting sleeps longer and longer. Used under the process's
    own lock, so one thread at a time holds it."""

    def __init__(self, database: str) -> None:
        self.path = f"{database}.lock"
        self.fd: int | None = None
        self.held = False

    def acquire(self, deadline: float) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        pause = 0.0002
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("no database transaction could start: another process holds the database") \
                        from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def release(self) -> None:
        if self.held and self.fd is not None:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)


READ_ONLY = "jatigi_read_only"
_WRITES = ("insert", "update", "delete", "replace", "create", "drop", "alter")


def _refuse_writes(conn: sa.Connection, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
    if conn.get_execution_options().get(READ_ONLY) and statement.lstrip()[:7].lower().startswith(_WRITES):
        raise ReadOnlyWrite("a read-only session tried to write; use core.db.after_reading: "
                            + statement.lstrip()[:60])


class ReadOnlyWrite(RuntimeError):
    """Code running in a read-only session (a web GET) wrote instead of deferring the write."""


def make_engine(url: str) -> sa.Engine:
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        _serialise_transactions(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    event.listen(engine, "before_cursor_execute", _refuse_writes)
    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    return make_engine(url)


def get_engine() -> sa.Engine:
    return engine_for(get_settings().database_url)


def session_factory(engine: sa.Engine | None = None) -> sessionmaker[Session]:
    return _factory(engine or get_engine())


# A sessionmaker makes a Session subclass, whose events SQLAlchemy sets up anew: made once per
# engine, not once per request (it cost about a tenth of a page).
@lru_cache(maxsize=16)
def _factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@lru_cache(maxsize=16)
def _read_only(engine: sa.Engine) -> sa.Engine:
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls everything back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_session_scope(engine: sa.Engine | None = None) -> Iterator[Session]:
    """A session for a request that only reads, with the few writes it needs done after.

    Its reads share one snapshot and take no lock: on SQLite they do not queue behind writers
    (see `_serialise_transactions`). What it must still write — the audit event of what was
    read, a session's last activity — is handed to `after_reading` and written on success, in a
    short transaction of its own, before the caller answers. Any other write is refused
    (`ReadOnlyWrite`) rather than risk SQLite's "database is locked" under load.
    """
    bound = engine or get_engine()
    session = session_factory(_read_only(bound))()
    session.info[READ_ONLY] = []
    try:
        yield session
        writes: list[Callable[[Session], object]] = session.info[READ_ONLY]
        if session.new or session.dirty or session.deleted:
            raise ReadOnlyWrite("a read-only session has unsaved changes; use core.db.after_reading")
        session.commit()  # ends the snapshot (nothing was written; cheaper than a rollback's expiry)
        if writes:
            with session_scope(bound) as writer:
                for write in writes:
                    write(writer)
    finally:
        session.close()


def after_reading(session: Session, write: Callable[[Session], object]) -> None:
    """Write now, or, in a read-only session, just after its reads (see `read_session_scope`)."""
    pending: list[Callable[[Session], object]] | None = session.info.get(READ_ONLY)
    if pending is None:
        write(session)
    else:
        pending.append(write)


def is_postgres(session_or_engine: Session | sa.Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def refresh_statistics(session: Session, tables: tuple[str, ...]) -> None:
    """Update the query planner's statistics after a bulk load, so searches use their indexes.

    Without them SQLite guesses that the organisation filter is selective and scans every
    household of a large registry for a P-code or phone search.
    """
    for table in tables:
        session.execute(sa.text(f'ANALYZE "{table}"'))
