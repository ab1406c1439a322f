"""Two-factor sign-in with time-based one-time codes (RFC 6238: 30 s, 6 digits, SHA-1).

Who holds case work permissions (`core.authz.SECOND_FACTOR_PERMISSIONS`) signs in with a password
and then a code from an authenticator app. The secret is sealed with the registry's key ring
(`users.totp_sealed`) and confirmed by a first code (`users.totp_confirmed_at`). A code is
accepted one step before or after the present one, never twice: the last accepted step is kept
(`users.totp_last_step`). Wrong codes count towards the same lock-out as wrong passwords.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterable

import segno
import sqlalchemy as sa
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy.orm import Session

from jatigi.accounts.models import ApiToken, User
from jatigi.core import audit
from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, Actor
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.core.errors import Unauthorized, ValidationFailed
from jatigi.core.i18n import _

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted before and after the present one
ISSUER = "Jatigi"


def needs_second_factor(permissions: Iterable[str]) -> bool:
    """Whether holding these permissions requires a second factor at sign-in."""
    held = set(permissions)
    return any(str(p) in held for p in SECOND_FACTOR_PERMISSIONS)


def is_enrolled(user: User) -> bool:
    return user.totp_sealed is not None and user.totp_confirmed_at is not None


def new_secret() -> str:
    """A random 160-bit secret, in base32 as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _totp(secret_b32: str) -> TOTP:
    padded = secret_b32 + "=" * (-len(secret_b32) % 8)
    return TOTP(base64.b32decode(padded), DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=False)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def code_at(secret_b32: str, step: int) -> str:
    """The code of a time step (for tests and the set-up page's check)."""
    return _totp(secret_b32).generate(step * STEP_SECONDS).decode("ascii")


def matching_step(secret_b32: str, code: str, now: float | None = None) -> int | None:
    """The time step (present ±1) whose code this is, or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    present = current_step(now)
    totp = _totp(secret_b32)
    for step in range(present - WINDOW, present + WINDOW + 1):
        try:
            totp.verify(code.encode("ascii"), step * STEP_SECONDS)
        except Exception:  # InvalidToken
            continue
        return step
    return None


def provisioning_uri(secret_b32: str, username: str) -> str:
    return _totp(secret_b32).get_provisioning_uri(username, ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code: an SVG data URI for an <img> (the CSP allows img-src data:)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff"))


def secret_of(user: User) -> str | None:
    return keyring().open(user.totp_sealed) if user.totp_sealed else None


def pending_secret(*, session: Session, user: User) -> str:
    """The secret being set up for a user not yet enrolled; made (and sealed) if there is none."""
    if is_enrolled(user):
        raise ValidationFailed(_("Two-factor sign-in is already set up for this account."))
    secret = secret_of(user)
    if secret is None:
        secret = new_secret()
        user.totp_sealed = keyring().seal(secret)
        user.totp_last_step = None
        session.flush()
    return secret


def _fail(session: Session, user: User, ip: str | None) -> Unauthorized:
    from jatigi.accounts.service import LOCKOUT, MAX_FAILED_LOGINS

    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = utcnow() + LOCKOUT
        user.failed_logins = 0
    actor = Actor(user_id=user.id, username=user.username, org_id=user.org_id, ip=ip)
    audit.record(session, actor, "user.totp_failed", "user", user.id)
    return Unauthorized(_("Wrong or expired code: give the code your authenticator app shows now."))


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def verify_code(*, session: Session, user: User, code: str, ip: str | None = None) -> None:
    """Accept a code of an enrolled user once; count a wrong one towards the lock-out."""
    if _locked(user):
        raise Unauthorized(_("This account is locked after too many failed log-ins; try again later."))
    secret = secret_of(user)
    if secret is None or not is_enrolled(user):
        raise Unauthorized(_("Two-factor sign-in is not set up for this account yet."))
    step = matching_step(secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise _fail(session, user, ip)
    user.totp_last_step = step
    user.failed_logins = 0
    session.flush()


def confirm(*, session: Session, user: User, code: str, ip: str | None = None) -> None:
    """Finish the set-up with a first code from the app: from now on the user is enrolled."""
    if _locked(user):
        raise Unauthorized(_("This account is locked after too many failed log-ins; try again later."))
    secret = pending_secret(session=session, user=user)
    step = matching_step(secret, code)
    if step is None:
        raise _fail(session, user, ip)
    user.totp_confirmed_at = utcnow()
    user.totp_last_step = step
    user.failed_logins = 0
    actor = Actor(user_id=user.id, username=user.username, org_id=user.org_id, ip=ip)
    audit.record(session, actor, "user.totp_enrol", "user", user.id)
    session.flush()


def reset(*, session: Session, actor: Actor, user: User) -> None:
    """Forget a user's second factor (a lost phone): they set it up again at their next log-in.
    Their open sessions end and their API tokens are revoked (a token made with the lost phone's
    code would otherwise keep its case work)."""
    from jatigi.accounts.sessions import close_sessions_of
    from jatigi.core.authz import Permission

    actor.require(Permission.ACCOUNTS_USER_WRITE)
    if not actor.acts_for(user.org_id):
        raise ValidationFailed(_("You may manage only the users of your own organisation."))
    user.totp_sealed = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    close_sessions_of(session=session, user_id=user.id)
    live = list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for token in live:
        token.revoked_at = utcnow()
    revoked = len(live)
    audit.record(session, actor, "user.totp_reset", "user", user.id, {"username": user.username,
                                                                      "tokens_revoked": revoked})
    session.flush()
