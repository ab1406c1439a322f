"""Signed-in browsers: sessions kept server-side, with idle and absolute expiry.

The browser holds a random token in an HttpOnly cookie; the database keeps its SHA-256, the
user, a CSRF token for the forms of that session, and when it expires. Logging out, an idle
period or the absolute lifetime ends it. Who needs a second factor (case work) is logged out
after a shorter idle period (`IDLE_SECOND_FACTOR`); their session records when the second factor
was given (`second_factor_at`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import RolePermission, User, UserRole, WebSession
from jatigi.core import audit
from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, Actor
from jatigi.core.db import after_reading, utcnow

IDLE = timedelta(hours=2)
IDLE_SECOND_FACTOR = timedelta(minutes=15)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def idle_for(needs_second_factor: bool) -> timedelta:
    """How long a session may stay unused: shorter for those who work on protection cases."""
    return IDLE_SECOND_FACTOR if needs_second_factor else IDLE


def user_needs_second_factor(session: Session, user_id: int) -> bool:
    """Whether the user's roles grant a permission that needs a second factor at sign-in."""
    found = session.scalar(
        sa.select(RolePermission.permission).join(UserRole, UserRole.role_id == RolePermission.role_id)
        .where(UserRole.user_id == user_id,
               RolePermission.permission.in_([str(p) for p in SECOND_FACTOR_PERMISSIONS])).limit(1))
    return found is not None


@dataclass(frozen=True)
class Opened:
    token: str
    csrf_token: str


def open_session(*, session: Session, user: User, ip: str | None) -> Opened:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(token_hash=digest(token), user_id=user.id, csrf_token=csrf, created_at=now,
                           last_seen_at=now, expires_at=now + LIFETIME, ip=ip))
    session.flush()
    actor = Actor(user_id=user.id, username=user.username, org_id=user.org_id, ip=ip)
    audit.record(session, actor, "user.login", "user", user.id)
    return Opened(token, csrf)


def find_session(*, session: Session, token: str | None) -> tuple[WebSession, User] | None:
    """The live session of this cookie token, touched; None if unknown, idle too long or expired."""
    if not token:
        return None
    row = session.scalar(sa.select(WebSession).where(WebSession.token_hash == digest(token)))
    now = utcnow()
    if row is None:
        return None
    row_id = row.id
    user = session.get(User, row.user_id)
    idle = idle_for(user is not None and user_needs_second_factor(session, user.id))
    if row.expires_at <= now or now - row.last_seen_at > idle:
        after_reading(session, lambda s: s.execute(sa.delete(WebSession).where(WebSession.id == row_id)))
        return None
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        after_reading(session, lambda s: s.execute(
            sa.update(WebSession).where(WebSession.id == row_id).values(last_seen_at=now)))
    return row, user


def give_second_factor(*, session: Session, token: str | None) -> None:
    """Mark the browser's session as having given its second factor."""
    if token:
        session.execute(sa.update(WebSession).where(WebSession.token_hash == digest(token))
                        .values(second_factor_at=utcnow()))


def close_session(*, session: Session, token: str | None, actor: Actor) -> None:
    if not token:
        return
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == digest(token)))
    audit.record(session, actor, "user.logout", "user", actor.user_id)


def close_sessions_of(*, session: Session, user_id: int) -> None:
    """End every session of a user (deactivated, password changed)."""
    session.execute(sa.delete(WebSession).where(WebSession.user_id == user_id))
