"""The supervisor's review of who opened or changed the cases they supervise, from the audit trail.

Every read and write of a case is an audit event with entity_type "protection_case" and the case's
id. A supervisor sees those of the cases whose supervisor they are — nobody else's, whatever their
role — filtered by case, user and dates. Reading the review is itself audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.protection.models import ProtectionCase
from jatigi.protection.policies import normal_code

PAGE_SIZE = 50
ENTITY = "protection_case"


@dataclass(frozen=True)
class Filters:
    case: str = ""
    user: str = ""
    start: str = ""  # YYYY-MM-DD
    end: str = ""

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.case and normal_code(self.case) is None:
            found.append(("case", _("A case code looks like CAS-7KQ4MX.")))
        if len(self.user) > 80:
            found.append(("user", _("A user name has at most {n} characters.", n=80)))
        for name, value in (("start", self.start), ("end", self.end)):
            if value and _day(value) is None:
                found.append((name, _("Give a date as YYYY-MM-DD, such as 2026-03-01.")))
        start, end = _day(self.start), _day(self.end)
        if start and end and end < start:
            found.append(("end", _("The end comes before the start.")))
        return found

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("case", self.case), ("user", self.user), ("start", self.start),
                                  ("end", self.end)) if v}


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Access:
    at: datetime
    username: str
    action: str
    case_code: str
    ip: str | None


@dataclass(frozen=True)
class Review:
    total: int
    rows: list[Access] = field(default_factory=list)


def review(session: Session, actor: Actor, filters: Filters, *, offset: int = 0, limit: int = PAGE_SIZE) -> Review:
    """The audit events of the cases the actor supervises, newest first; the reading is audited."""
    actor.require(Permission.PROTECTION_CASE_SUPERVISE)
    conditions: list[sa.ColumnElement[bool]] = [
        AuditEvent.entity_type == ENTITY,
        ProtectionCase.supervisor_id == (actor.user_id if actor.user_id is not None else -1),
    ]
    if filters.case:
        conditions.append(ProtectionCase.code == (normal_code(filters.case) or ""))
    if filters.user:
        conditions.append(AuditEvent.actor == filters.user.strip().lower())
    start, end = _day(filters.start), _day(filters.end)
    if start:
        conditions.append(AuditEvent.at >= datetime.combine(start, time.min))
    if end:
        conditions.append(AuditEvent.at < datetime.combine(end + timedelta(days=1), time.min))
    joined = sa.join(AuditEvent, ProtectionCase, AuditEvent.entity_id == sa.cast(ProtectionCase.id, sa.String))
    total = session.scalar(sa.select(sa.func.count()).select_from(joined).where(*conditions)) or 0
    rows = session.execute(
        sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, ProtectionCase.code, AuditEvent.ip)
        .select_from(joined).where(*conditions).order_by(AuditEvent.id.desc()).offset(offset).limit(limit)).all()
    audit.record(session, actor, "protection.access_review.read", "protection_review", None,
                 {**filters.query(), "offset": offset})
    return Review(total, [Access(*row) for row in rows])
