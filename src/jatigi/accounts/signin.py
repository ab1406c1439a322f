"""Who is signed in on a page request, without a dozen queries on every page.

A page needs the browser's session (is it live, its CSRF token) and the user's rights (roles,
organisations sharing with theirs). These change rarely, so they are read once and reused while
the accounts' change counter stays the same (`core.changes`: any write to users, roles,
agreements or sessions — a log-out, a role change, a deactivation — raises it, in any process).
Expiry and idleness are still checked on every request against the clock.

Who needs a second factor (case work) and has given only a password in this session holds none
of `SECOND_FACTOR_PERMISSIONS` until the code is given (`pending_second_factor`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts.models import User, WebSession
from jatigi.accounts.sessions import TOUCH_EVERY, digest, idle_for
from jatigi.accounts.totp import needs_second_factor
from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, Actor
from jatigi.core.cache import cached, database
from jatigi.core.db import after_reading, utcnow


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    csrf_token: str
    expires_at: datetime
    last_seen_at: datetime
    full_name: str
    actor: Actor
    idle: timedelta
    # The user's permissions call for a second factor not yet given in this session.
    pending_second_factor: bool = False


def _load(session: Session, token_hash: str) -> SignedIn | None:
    row = session.scalar(sa.select(WebSession).where(WebSession.token_hash == token_hash))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    actor = accounts.actor_for(session=session, user=user)
    needs = needs_second_factor(actor.permissions)
    pending = needs and row.second_factor_at is None
    if pending:
        actor = replace(actor, permissions=actor.permissions - {str(p) for p in SECOND_FACTOR_PERMISSIONS})
    return SignedIn(row.id, row.csrf_token, row.expires_at, row.last_seen_at, user.full_name, actor,
                    idle_for(needs), pending)


def signed_in(*, session: Session, token: str | None, ip: str | None) -> SignedIn | None:
    """The live sign-in of this cookie token with its actor, touched; None if unknown, idle too
    long or expired (an ended session is deleted)."""
    if not token:
        return None
    token_hash = digest(token)
    found = cached(session, ("signed-in", database(session), token_hash, date.today()),
                   lambda: _load(session, token_hash), domains=("accounts",))
    if found is None:
        return None
    now = utcnow()
    session_id = found.session_id
    if found.expires_at <= now or now - found.last_seen_at > found.idle:
        after_reading(session, lambda s: s.execute(sa.delete(WebSession).where(WebSession.id == session_id)))
        return None
    if now - found.last_seen_at > TOUCH_EVERY:
        after_reading(session, lambda s: s.execute(
            sa.update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now)))
    return replace(found, actor=replace(found.actor, ip=ip))
