"""A counter of changes per domain, so that cached figures know when they are stale.

Services that write call `bump(session, domain)`; the counter is raised in the database in
the same transaction, when it commits, so every process sees the change with the data — another
worker of the web server, or the server after a command-line import. Caches key their results
by `generations(session)`: one small query.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from jatigi.core.db import Base

DOMAINS = ("registry", "places", "dedup")


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    domain: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)


_PENDING = "jatigi_changed_domains"


def bump(session: Session, domain: str) -> None:
    """Mark `domain` changed by this session's transaction; counted when it commits."""
    session.info.setdefault(_PENDING, set()).add(domain)


@event.listens_for(Session, "before_commit")
def _count(session: Session) -> None:
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


def pending(session: Session) -> bool:
    """Whether this session has changes not yet committed (and not yet counted)."""
    return bool(session.info.get(_PENDING))


def generations(session: Session) -> tuple[tuple[str, int], ...]:
    """Every domain's counter as committed: equal values mean nothing changed in between."""
    return tuple(session.execute(sa.select(ChangeCounter.domain, ChangeCounter.generation)
                                 .order_by(ChangeCounter.domain)).tuples())
