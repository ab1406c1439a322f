"""A hash-chained audit trail of every write and every read of a person's record.

Each event stores the hash of the previous one; changing, inserting or deleting a past event
breaks the chain, which `verify_chain` (CLI: `jatigi audit verify`) reports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from jatigi.core.authz import Actor
from jatigi.core.bulk import bulk_insert
from jatigi.core.db import READ_ONLY, Base, BigId, after_reading, is_postgres, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 4_815_162_342


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer)
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id", "id"),)


@dataclass(frozen=True)
class Entry:
    action: str
    entity_type: str
    entity_id: str | None = None
    detail: dict[str, Any] | None = None


def _digest(prev: str, at: datetime, actor_id: int | None, actor: str, e: Entry, ip: str | None) -> str:
    payload = json.dumps(
        [prev, at.isoformat(timespec="microseconds"), actor_id, actor, e.action, e.entity_type,
         e.entity_id, e.detail, ip],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _last_hash(session: Session) -> str:
    if is_postgres(session):
        # Serialise writers so two transactions cannot fork the chain.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(
        sa.select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    return last or GENESIS


_QUEUED = "jatigi_audit_queued"


def record(session: Session, actor: Actor, action: str, entity_type: str,
           entity_id: object = None, detail: dict[str, Any] | None = None) -> None:
    """Audit one event: in this transaction, or, for a read-only session, just after its reads
    (the events of one request then written together, in the order they were recorded)."""
    entry = Entry(action, entity_type, None if entity_id is None else str(entity_id), detail)
    if READ_ONLY not in session.info:
        record_many(session, actor, [entry])
        return
    queued: list[tuple[Actor, Entry]] | None = session.info.get(_QUEUED)
    if queued is None:
        queued = session.info[_QUEUED] = []
        after_reading(session, lambda writer: _write_queued(writer, queued))
    queued.append((actor, entry))


def _write_queued(session: Session, queued: list[tuple[Actor, Entry]]) -> None:
    start = 0
    for i in range(1, len(queued) + 1):  # consecutive events of the same actor in one go
        if i == len(queued) or queued[i][0] != queued[start][0]:
            record_many(session, queued[start][0], [entry for _actor, entry in queued[start:i]])
            start = i


def record_many(session: Session, actor: Actor, entries: Iterable[Entry], batch: int = 20_000) -> int:
    """Append events in bulk, in order, continuing the chain. Returns how many were written."""
    prev = _last_hash(session)
    at = utcnow()
    rows: list[dict[str, Any]] = []
    n = 0
    for e in entries:
        h = _digest(prev, at, actor.user_id, actor.username, e, actor.ip)
        rows.append({"at": at, "actor_id": actor.user_id, "actor": actor.username,
                     "action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id,
                     "detail": e.detail, "ip": actor.ip, "prev_hash": prev, "hash": h})
        prev = h
        n += 1
        if len(rows) >= batch:
            bulk_insert(session.connection(), AuditEvent.__table__, rows)
            rows = []
    if rows:
        bulk_insert(session.connection(), AuditEvent.__table__, rows)
    return n


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify_chain(session: Session, chunk: int = 50_000) -> ChainReport:
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows: Sequence[AuditEvent] = session.execute(
            sa.select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(chunk)
        ).scalars().all()
        if not rows:
            return ChainReport(checked, None, None)
        for ev in rows:
            if ev.prev_hash != prev:
                return ChainReport(checked, ev.id, "prev_hash")
            entry = Entry(ev.action, ev.entity_type, ev.entity_id, ev.detail)
            if _digest(prev, ev.at, ev.actor_id, ev.actor, entry, ev.ip) != ev.hash:
                return ChainReport(checked, ev.id, "hash")
            prev = ev.hash
            checked += 1
            last_id = ev.id
        session.expunge_all()
