"""Signed-in browsers: sessions kept server-side, with idle and absolute expiry.

The browser holds a random token in an HttpOnly cookie; the database keeps its SHA-256, the
user, a CSRF token for the forms of that session, and when it expires. Logging out, an idle
period or the absolute lifetime ends it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import User, WebSession
from jatigi.core import audit
from jatigi.core.authz import Actor
from jatigi.core.db import after_reading, utcnow

IDLE = timedelta(hours=2)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    if row.expires_at <= now or now - row.last_seen_at > IDLE:
        after_reading(session, lambda s: s.execute(sa.delete(WebSession).where(WebSession.id == row_id)))
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        after_reading(session, lambda s: s.execute(
            sa.update(WebSession).where(WebSession.id == row_id).values(last_seen_at=now)))
    return row, user


def close_session(*, session: Session, token: str | None, actor: Actor) -> None:
    if not token:
        return
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == digest(token)))
    audit.record(session, actor, "user.logout", "user", actor.user_id)


def close_sessions_of(*, session: Session, user_id: int) -> None:
    """End every session of a user (deactivated, password changed)."""
    session.execute(sa.delete(WebSession).where(WebSession.user_id == user_id))
