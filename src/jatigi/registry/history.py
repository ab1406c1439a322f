"""A household's history as people read it: each change with the values before and after.

`service.history` returns the stored snapshots (the state before each change); here each
snapshot is compared with the state that followed it — the next snapshot, or the household
as it is now — so a reader sees which fields changed, from what, to what, by whom.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import User
from jatigi.core.authz import Actor
from jatigi.registry import service
from jatigi.registry.models import Household

# Bookkeeping and sealed columns: never shown, never compared.
HIDDEN = frozenset({"id", "version", "phone_sealed", "phone_index", "updated_at", "updated_by",
                    "created_at", "created_by", "import_batch_id", "source_uuid", "org_id"})


@dataclass
class Change:
    field: str
    before: Any
    after: Any


@dataclass
class HistoryEntry:
    version: int
    changed_at: datetime
    changed_by: str | None
    changes: list[Change] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def household_history(*, session: Session, actor: Actor, code: str) -> list[HistoryEntry]:
    versions = service.history(session=session, actor=actor, code=code)
    current = session.scalar(sa.select(Household).where(Household.code == code.strip().upper()))
    now = {c.key: _plain(getattr(current, c.key)) for c in Household.__table__.columns} if current else {}
    user_ids = {v.changed_by for v in versions if v.changed_by}
    names = dict(session.execute(sa.select(User.id, User.username).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    entries: list[HistoryEntry] = []
    for i, v in enumerate(versions):
        after = versions[i + 1].data if i + 1 < len(versions) else now
        before = {k: val for k, val in v.data.items() if k not in HIDDEN}
        changes = [Change(k, before.get(k), after.get(k)) for k in sorted(before)
                   if before.get(k) != after.get(k)]
        if v.data.get("phone_index") != after.get("phone_index"):
            changes.append(Change("phone", "…", "…"))  # sealed: say that it changed, not what
        who = names.get(v.changed_by) if v.changed_by is not None else None
        entries.append(HistoryEntry(v.version, v.changed_at, who, changes, before))
    return entries
