"""A counter of changes per domain, so that cached figures know when they are stale.

Services that write call `bump(session, domain)`; the counter is raised in the database in
the same transaction, when it commits, so every process sees the change with the data — another
worker of the web server, or the server after a command-line import. Caches key their results
by `generations(session)`: one small query, made once per read-only session (its snapshot).

A domain can also be counted by its tables (`watch`): any ORM change or statement through a
session that writes one of them bumps it, so no write path can forget (used for accounts, whose
cached sign-ins must end the moment a session is closed or a user's rights change).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from jatigi.core.db import READ_ONLY, Base

DOMAINS = ("registry", "places", "dedup", "accounts")


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    domain: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)


_PENDING = "jatigi_changed_domains"
_SEEN = "jatigi_generations"
_WATCHED: dict[str, str] = {}  # table name -> domain


def watch(domain: str, tables: tuple[str, ...]) -> None:
    """Bump `domain` whenever a session writes one of `tables`."""
    for table in tables:
        _WATCHED[table] = domain


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: object) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in _WATCHED:
            bump(session, _WATCHED[table])


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name in _WATCHED:
            bump(state.session, _WATCHED[name])


def bump(session: Session, domain: str) -> None:
    """Mark `domain` changed by this session's transaction; counted when it commits."""
    session.info.setdefault(_PENDING, set()).add(domain)


@event.listens_for(Session, "before_commit")
def _count(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # so that changes to watched tables are seen before counting
    domains = sorted(session.info.pop(_PENDING, ()))
    for domain in domains:
        raised = session.execute(sa.update(ChangeCounter).where(ChangeCounter.domain == domain)
                                 .values(generation=ChangeCounter.generation + 1))
        if raised.rowcount == 0:  # type: ignore[attr-defined]
            session.add(ChangeCounter(domain=domain, generation=1))
    if domains:
        session.flush()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _new_snapshot(session: Session, _transaction: object) -> None:
    session.info.pop(_SEEN, None)


def pending(session: Session) -> bool:
    """Whether this session has changes not yet committed (and not yet counted)."""
    return bool(session.info.get(_PENDING))


def generations(session: Session) -> tuple[tuple[str, int], ...]:
    """Every domain's counter as committed: equal values mean nothing changed in between.

    A read-only session reads one snapshot, so its counters are read once and remembered until
    its transaction ends."""
    seen: tuple[tuple[str, int], ...] | None = session.info.get(_SEEN)
    if seen is not None:
        return seen
    seen = tuple(session.execute(sa.select(ChangeCounter.domain, ChangeCounter.generation)
                                 .order_by(ChangeCounter.domain)).all())  # type: ignore[arg-type]
    if READ_ONLY in session.info:
        session.info[_SEEN] = seen
    return seen
