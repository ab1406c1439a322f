"""Organisations, users, roles, API tokens and data-sharing agreements."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session, aliased

from jatigi.accounts.models import (
    ApiToken,
    DataSharingAgreement,
    Organisation,
    OrgKind,
    Role,
    RolePermission,
    User,
    UserRole,
)
from jatigi.accounts.sessions import close_sessions_of
from jatigi.accounts.totp import needs_second_factor
from jatigi.core import audit
from jatigi.core.authz import DEFAULT_ROLE_PERMISSIONS, Actor, Permission
from jatigi.core.cache import cached, database
from jatigi.core.db import after_reading, utcnow
from jatigi.core.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from jatigi.core.i18n import _

MAX_FAILED_LOGINS = 6
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


def sync_roles(*, session: Session) -> None:
    """Create the default roles; give them their default permissions if they have none yet."""
    for name, perms in DEFAULT_ROLE_PERMISSIONS.items():
        role = session.scalar(sa.select(Role).where(Role.name == name))
        if role is None:
            role = Role(name=name)
            session.add(role)
            session.flush()
        have = set(session.scalars(sa.select(RolePermission.permission).where(RolePermission.role_id == role.id)))
        if name == "admin":
            missing = {str(p) for p in perms} - have
        else:
            missing = set() if have else {str(p) for p in perms}
        for p in sorted(missing):
            session.add(RolePermission(role_id=role.id, permission=p))
    session.flush()


def create_organisation(*, session: Session, actor: Actor, acronym: str, name: str, kind: str) -> Organisation:
    actor.require(Permission.ACCOUNTS_ORGANISATION_WRITE)
    if kind not in {k.value for k in OrgKind}:
        raise ValidationFailed(
            _("Unknown organisation type {value}; accepted: {accepted}.", value=kind,
              accepted=", ".join(k.value for k in OrgKind))
        )
    acronym = acronym.strip()
    if not acronym:
        raise ValidationFailed(_("An organisation needs an acronym."))
    if session.scalar(sa.select(Organisation.id).where(Organisation.acronym == acronym)):
        raise ValidationFailed(_("The organisation {acronym} already exists.", acronym=acronym))
    org = Organisation(acronym=acronym, name=name.strip() or acronym, kind=kind)
    session.add(org)
    session.flush()
    audit.record(session, actor, "organisation.create", "organisation", org.id, {"acronym": acronym})
    return org


def organisation_by_acronym(*, session: Session, acronym: str) -> Organisation:
    org = session.scalar(sa.select(Organisation).where(Organisation.acronym == acronym))
    if org is None:
        known = ", ".join(session.scalars(sa.select(Organisation.acronym).order_by(Organisation.acronym)))
        raise NotFound(_("No organisation {acronym}; known: {known}.", acronym=acronym, known=known or "—"))
    return org


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("A password needs at least {n} characters.", n=MIN_PASSWORD_LENGTH)
        )
    return _hasher.hash(password)


def create_user(*, session: Session, actor: Actor, username: str, full_name: str, org_acronym: str,
                password: str, roles: list[str], email: str | None = None, language: str = "fr") -> User:
    actor.require(Permission.ACCOUNTS_USER_WRITE)
    username = username.strip().lower()
    if not username:
        raise ValidationFailed(_("A user needs a user name."))
    if session.scalar(sa.select(User.id).where(User.username == username)):
        raise ValidationFailed(_("The user {username} already exists.", username=username))
    org = organisation_by_acronym(session=session, acronym=org_acronym)
    role_rows = []
    for name in roles:
        role = session.scalar(sa.select(Role).where(Role.name == name))
        if role is None:
            known = ", ".join(session.scalars(sa.select(Role.name).order_by(Role.name)))
            raise ValidationFailed(_("Unknown role {role}; accepted: {accepted}.", role=name, accepted=known))
        role_rows.append(role)
    _check_may_grant(session=session, actor=actor, org_id=org.id, role_ids=[r.id for r in role_rows])
    user = User(username=username, full_name=full_name.strip() or username, email=email, org_id=org.id,
                password_hash=hash_password(password), language=language)
    session.add(user)
    session.flush()
    for role in role_rows:
        session.add(UserRole(user_id=user.id, role_id=role.id))
    audit.record(session, actor, "user.create", "user", user.id,
                 {"username": username, "org": org.acronym, "roles": sorted(roles)})
    return user


def visible_org_ids(*, session: Session, org_id: int, on: date | None = None) -> frozenset[int]:
    """The actor's own organisation and every organisation sharing with it under a valid agreement."""
    on = on or date.today()
    DSA = DataSharingAgreement
    providers = session.scalars(
        sa.select(DSA.provider_org_id).where(
            DSA.recipient_org_id == org_id,
            DSA.revoked_at.is_(None),
            DSA.valid_from <= on,
            sa.or_(DSA.valid_until.is_(None), DSA.valid_until >= on),
        )
    )
    return frozenset({org_id, *providers})


def permissions_of(*, session: Session, user_id: int) -> frozenset[str]:
    rows = session.scalars(
        sa.select(RolePermission.permission)
        .join(UserRole, UserRole.role_id == RolePermission.role_id)
        .where(UserRole.user_id == user_id)
    )
    return frozenset(rows)


def actor_for(*, session: Session, user: User, ip: str | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        org_id=user.org_id,
        permissions=permissions_of(session=session, user_id=user.id),
        visible_org_ids=visible_org_ids(session=session, org_id=user.org_id),
        ip=ip,
        language=user.language,
    )


def user_by_name(*, session: Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(_("No user {username}.", username=username))
    return user


def authenticate(*, session: Session, username: str, password: str, ip: str | None = None) -> User:
    """Check a password; lock the account for a while after repeated failures."""
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    failure = Unauthorized(_("Wrong user name or password."))
    if user is None or not user.is_active:
        raise failure
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        raise Unauthorized(_("This account is locked after too many failed log-ins; try again later."))
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        anon = Actor(user_id=user.id, username=user.username, org_id=user.org_id, ip=ip)
        audit.record(session, anon, "user.login_failed", "user", user.id)
        raise failure from None
    user.locked_until = None
    # Who still owes a code keeps the count of failures until the code is right (accounts.totp):
    # a right password must not wipe out wrong codes.
    if not needs_second_factor(permissions_of(session=session, user_id=user.id)):
        user.failed_logins = 0
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# A token that does case work was made with its user's code; it lasts at most this long.
SECOND_FACTOR_TOKEN_LIFETIME = timedelta(hours=12)


def create_token(*, session: Session, actor: Actor, user: User, name: str, days: int = 365,
                 totp_code: str | None = None, ip: str | None = None) -> str:
    """Create an API token for `user` and return it; only its hash is stored (see `issue_token`)."""
    return issue_token(session=session, actor=actor, user=user, name=name, days=days, totp_code=totp_code,
                       ip=ip)[0]


def issue_token(*, session: Session, actor: Actor, user: User, name: str, days: int = 365,
                totp_code: str | None = None, ip: str | None = None) -> tuple[str, ApiToken]:
    """Create an API token for `user`: the token (shown once) and its row.

    A user who works on protection cases gets one only with the present code of their own
    authenticator app, whoever asks for it (an administrator too); the code is checked like at
    sign-in (once only, wrong codes count towards the lock-out). Such a token does case work
    (`second_factor_at`) and lasts at most `SECOND_FACTOR_TOKEN_LIFETIME`; a token made without
    a code never does case work, even if its user is given case work later (`web.deps`).
    """
    from jatigi.accounts import totp

    if actor.user_id != user.id:
        actor.require(Permission.ACCOUNTS_USER_WRITE)
    if not 1 <= days <= 3650:
        raise ValidationFailed(_("A token lasts from 1 to 3650 days; not {days}.", days=days))
    now = utcnow()
    expires = now + timedelta(days=days)
    second_factor_at = None
    if totp_code or needs_second_factor(permissions_of(session=session, user_id=user.id)):
        if not totp.is_enrolled(user):
            raise Unauthorized(_("{username} works on protection cases but has not set up two-factor sign-in: they "
                                 "log in to the web application once to set it up.", username=user.username))
        if not totp_code:
            raise Unauthorized(_("{username} works on protection cases: a token for them needs the present code "
                                 "of their authenticator app (API: totp_code; command line: --code).",
                                 username=user.username))
        totp.verify_code(session=session, user=user, code=totp_code, ip=ip or actor.ip)
        second_factor_at = now
        expires = min(expires, now + SECOND_FACTOR_TOKEN_LIFETIME)
    token = "jtg_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_digest(token), prefix=token[:10],
                   expires_at=expires, second_factor_at=second_factor_at)
    session.add(row)
    session.flush()
    audit.record(session, actor, "token.create", "user", user.id,
                 {"name": name, "second_factor": second_factor_at is not None})
    return token, row


def token_in_use(*, session: Session, token: str) -> tuple[ApiToken, User]:
    """The live token and its active user (its last use noted); Unauthorized otherwise."""
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now):
        raise Unauthorized(_("Invalid or expired API token."))
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(_("Invalid or expired API token."))
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row_id = row.id
        after_reading(session, lambda s: s.execute(
            sa.update(ApiToken).where(ApiToken.id == row_id).values(last_used_at=now)))
    return row, user


def user_for_token(*, session: Session, token: str) -> User:
    return token_in_use(session=session, token=token)[1]


def create_agreement(*, session: Session, actor: Actor, provider: str, recipient: str, purpose: str,
                     signed_on: date, valid_from: date | None = None, valid_until: date | None = None,
                     reference: str | None = None) -> DataSharingAgreement:
    actor.require(Permission.ACCOUNTS_AGREEMENT_WRITE)
    prov = organisation_by_acronym(session=session, acronym=provider)
    rec = organisation_by_acronym(session=session, acronym=recipient)
    if not actor.acts_for(prov.id):
        raise ValidationFailed(_("Only the providing organisation may record an agreement to share its data."))
    if prov.id == rec.id:
        raise ValidationFailed(_("An organisation cannot share with itself."))
    if not purpose.strip():
        raise ValidationFailed(_("An agreement needs a stated purpose."))
    valid_from = valid_from or signed_on
    if valid_until and valid_until < valid_from:
        raise ValidationFailed(_("The agreement ends before it starts."))
    dsa = DataSharingAgreement(provider_org_id=prov.id, recipient_org_id=rec.id, purpose=purpose.strip(),
                               signed_on=signed_on, valid_from=valid_from, valid_until=valid_until,
                               reference=reference, created_by=actor.user_id)
    session.add(dsa)
    session.flush()
    audit.record(session, actor, "agreement.create", "agreement", dsa.id,
                 {"provider": provider, "recipient": recipient, "purpose": purpose})
    return dsa


def revoke_agreement(*, session: Session, actor: Actor, agreement_id: int) -> DataSharingAgreement:
    actor.require(Permission.ACCOUNTS_AGREEMENT_WRITE)
    dsa = session.get(DataSharingAgreement, agreement_id)
    if dsa is None:
        raise NotFound(_("No agreement {id}.", id=agreement_id))
    if not actor.acts_for(dsa.provider_org_id):
        raise ValidationFailed(_("Only the providing organisation may revoke its agreement."))
    if dsa.revoked_at is not None:
        return dsa  # already revoked: keep the date it ended
    dsa.revoked_at = utcnow()
    audit.record(session, actor, "agreement.revoke", "agreement", dsa.id)
    return dsa


# ---- administration: listing, (de)activating, roles, agreements ------------------------------


def _check_may_grant(*, session: Session, actor: Actor, org_id: int, role_ids: list[int]) -> None:
    """Outside the system administrators, a user manages only their own organisation's users and
    gives no role with a permission they lack themselves."""
    if actor.sees_all:
        return
    if org_id != actor.org_id:
        raise Forbidden(_("You may manage only the users of your own organisation."))
    granted = set(session.scalars(sa.select(RolePermission.permission)
                                  .where(RolePermission.role_id.in_(role_ids)))) if role_ids else set()
    beyond = sorted(granted - set(actor.permissions))
    if beyond:
        raise Forbidden(_("You may not give a role with permissions you do not hold yourself: {permissions}.",
                          permissions=", ".join(beyond)))


def organisations(*, session: Session) -> list[Organisation]:
    """Every organisation, by acronym: their names are not confidential, and forms choose among them."""
    return list(session.scalars(sa.select(Organisation).order_by(Organisation.acronym)))


@dataclass(frozen=True)
class UserRow:
    user: User
    organisation: str
    roles: tuple[str, ...]


def list_users(*, session: Session, actor: Actor) -> list[UserRow]:
    """The users the actor may see: all for a system administrator, else their organisation's."""
    actor.require(Permission.ACCOUNTS_USER_READ)
    q = (sa.select(User, Organisation.acronym).join(Organisation, Organisation.id == User.org_id)
         .order_by(Organisation.acronym, User.username))
    if not actor.sees_all:
        q = q.where(User.org_id == (actor.org_id if actor.org_id is not None else -1))
    rows = session.execute(q).all()
    roles: dict[int, list[str]] = {}
    ids = [user.id for user, _acronym in rows]
    if ids:
        for user_id, name in session.execute(
                sa.select(UserRole.user_id, Role.name).join(Role, Role.id == UserRole.role_id)
                .where(UserRole.user_id.in_(ids)).order_by(Role.name)):
            roles.setdefault(user_id, []).append(name)
    return [UserRow(user, acronym, tuple(roles.get(user.id, ()))) for user, acronym in rows]


def set_user_active(*, session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate a user (their sessions end at once; tokens stop working) or reactivate them."""
    actor.require(Permission.ACCOUNTS_USER_WRITE)
    user = session.get(User, user_id)
    if user is None or not actor.acts_for(user.org_id):
        raise NotFound(_("No user {id}.", id=user_id))
    if not active and user.id == actor.user_id:
        raise ValidationFailed(_("You cannot deactivate your own account."))
    if user.is_active == active:
        return user
    if not active:
        _keep_an_administrator(session=session, user=user)
    user.is_active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    else:
        close_sessions_of(session=session, user_id=user.id)
    audit.record(session, actor, "user.reactivate" if active else "user.deactivate", "user", user.id,
                 {"username": user.username})
    return user


def role_permissions(*, session: Session, actor: Actor) -> dict[str, list[str]]:
    """Each role with its permissions, as the role_permissions table holds them."""
    actor.require(Permission.ACCOUNTS_USER_READ)
    found: dict[str, list[str]] = {name: [] for name in session.scalars(sa.select(Role.name).order_by(Role.name))}
    for name, permission in session.execute(
            sa.select(Role.name, RolePermission.permission).join(RolePermission, RolePermission.role_id == Role.id)
            .order_by(Role.name, RolePermission.permission)):
        found[name].append(permission)
    return found


ADMIN_ROLE = "admin"


def _roles_named(session: Session, names: list[str]) -> list[Role]:
    found = {role.name: role for role in session.scalars(sa.select(Role).where(Role.name.in_(names)))}
    unknown = sorted(set(names) - set(found))
    if unknown:
        known = ", ".join(session.scalars(sa.select(Role.name).order_by(Role.name)))
        raise ValidationFailed(_("Unknown role {role}; accepted: {accepted}.", role=", ".join(unknown),
                                 accepted=known))
    return [found[name] for name in sorted(found)]


def _keep_an_administrator(*, session: Session, user: User) -> None:
    """Refuse to leave the system without an active user holding the administrator role.

    The role's row is locked first (PostgreSQL), so that two administrators removing each
    other at the same moment cannot both pass; SQLite transactions already run one at a time.
    """
    admin = session.scalar(sa.select(Role).where(Role.name == ADMIN_ROLE).with_for_update())
    if admin is None:
        return
    if not session.scalar(sa.select(UserRole.user_id).where(UserRole.user_id == user.id,
                                                            UserRole.role_id == admin.id)):
        return
    others = session.scalar(
        sa.select(sa.func.count()).select_from(UserRole).join(User, User.id == UserRole.user_id)
        .where(UserRole.role_id == admin.id, User.is_active.is_(True), User.id != user.id))
    if not others:
        raise ValidationFailed(_("{username} is the last active system administrator: give the role to another "
                                 "active user first.", username=user.username))


def user_roles(*, session: Session, actor: Actor, user_id: int) -> tuple[User, list[str]]:
    """A user the actor may manage, with the names of their roles."""
    actor.require(Permission.ACCOUNTS_USER_WRITE)
    user = session.get(User, user_id)
    if user is None or not actor.acts_for(user.org_id):
        raise NotFound(_("No user {id}.", id=user_id))
    names = session.scalars(sa.select(Role.name).join(UserRole, UserRole.role_id == Role.id)
                            .where(UserRole.user_id == user.id).order_by(Role.name))
    return user, list(names)


def set_user_roles(*, session: Session, actor: Actor, user_id: int, roles: list[str]) -> User:
    """Give a user exactly these roles. Their sessions stay open: the permissions of a session
    are read from these tables on each request, so the next page they open follows the change."""
    user, before = user_roles(session=session, actor=actor, user_id=user_id)
    wanted = _roles_named(session, sorted(set(roles)))
    if not wanted:
        raise ValidationFailed(_("Choose at least one role; to stop someone from logging in, deactivate them."))
    after = [role.name for role in wanted]
    if after == before:
        return user
    if ADMIN_ROLE in before and ADMIN_ROLE not in after:
        if user.id == actor.user_id:
            raise ValidationFailed(_("You cannot remove your own administrator role: ask another administrator."))
        if user.is_active:
            _keep_an_administrator(session=session, user=user)
    added = [role for role in wanted if role.name not in before]
    _check_may_grant(session=session, actor=actor, org_id=user.org_id, role_ids=[r.id for r in added])
    removed = _roles_named(session, [name for name in before if name not in after])
    if not actor.sees_all and removed:
        beyond = sorted(set(session.scalars(sa.select(RolePermission.permission).where(
            RolePermission.role_id.in_([r.id for r in removed])))) - set(actor.permissions))
        if beyond:
            raise Forbidden(_("You may not take away a role with permissions you do not hold yourself: "
                              "{permissions}.", permissions=", ".join(beyond)))
    if removed:
        session.execute(sa.delete(UserRole).where(UserRole.user_id == user.id,
                                                  UserRole.role_id.in_([r.id for r in removed])))
    for role in added:
        session.add(UserRole(user_id=user.id, role_id=role.id))
    session.flush()
    audit.record(session, actor, "user.roles_change", "user", user.id,
                 {"username": user.username, "before": before, "after": after})
    return user


def set_role_permissions(*, session: Session, actor: Actor, role: str, permissions: list[str]) -> bool:
    """Make a role grant exactly these permissions; True if anything changed.

    Roles are shared by every organisation, so only a system administrator changes them, and
    only with permissions they hold. The administrator role keeps every permission: it is
    how the system stays administrable."""
    actor.require(Permission.ACCOUNTS_USER_WRITE)
    if not actor.sees_all:
        raise Forbidden(_("Only a system administrator may change what a role grants."))
    row = session.scalar(sa.select(Role).where(Role.name == role))
    if row is None:
        raise NotFound(_("No role {role}.", role=role))
    if row.name == ADMIN_ROLE:
        raise ValidationFailed(_("The system administrator role always grants every permission."))
    before = sorted(session.scalars(sa.select(RolePermission.permission).where(RolePermission.role_id == row.id)))
    known = {str(p) for p in Permission}
    # A permission the code no longer knows may be kept, never given anew.
    unknown = sorted(set(permissions) - known - set(before))
    if unknown:
        raise ValidationFailed(_("Unknown permission {permission}.", permission=", ".join(unknown)))
    after = sorted(set(permissions))
    if after == before:
        return False
    if not after:
        # An empty role would also get its default permissions back at the next migration.
        raise ValidationFailed(_("The role {role} must grant at least one permission; to take everything from "
                                 "the people holding it, change their roles instead.", role=row.name))
    beyond = sorted(set(after) - set(before) - set(actor.permissions))
    if beyond:
        raise Forbidden(_("You may not give a role with permissions you do not hold yourself: {permissions}.",
                          permissions=", ".join(beyond)))
    session.execute(sa.delete(RolePermission).where(RolePermission.role_id == row.id,
                                                    RolePermission.permission.not_in(after)))
    for permission in sorted(set(after) - set(before)):
        session.add(RolePermission(role_id=row.id, permission=permission))
    session.flush()
    audit.record(session, actor, "role.permissions_change", "role", row.id,
                 {"role": row.name, "before": before, "after": after})
    return True


@dataclass(frozen=True)
class AgreementRow:
    agreement: DataSharingAgreement
    provider: str
    recipient: str
    status: str  # active, revoked, expired, pending


def _agreement_status(dsa: DataSharingAgreement, today: date) -> str:
    if dsa.revoked_at is not None:
        return "revoked"
    if dsa.valid_until is not None and dsa.valid_until < today:
        return "expired"
    if dsa.valid_from > today:
        return "pending"
    return "active"


def list_agreements(*, session: Session, actor: Actor) -> list[AgreementRow]:
    """The agreements the actor's organisation is party to (all of them for a system administrator)."""
    actor.require(Permission.ACCOUNTS_USER_READ)
    DSA = DataSharingAgreement
    provider = aliased(Organisation)
    recipient = aliased(Organisation)
    q = (sa.select(DSA, provider.acronym, recipient.acronym)
         .join(provider, provider.id == DSA.provider_org_id)
         .join(recipient, recipient.id == DSA.recipient_org_id)
         .order_by(DSA.signed_on.desc(), DSA.id.desc()))
    if not actor.sees_all:
        org = actor.org_id if actor.org_id is not None else -1
        q = q.where(sa.or_(DSA.provider_org_id == org, DSA.recipient_org_id == org))
    today = date.today()
    return [AgreementRow(dsa, prov, rec, _agreement_status(dsa, today))
            for dsa, prov, rec in session.execute(q).all()]


@dataclass(frozen=True)
class OrgName:
    acronym: str
    name: str


def organisation_names(*, session: Session) -> dict[int, OrgName]:
    """Every organisation's acronym and name, read once per change of the accounts."""
    return cached(session, ("organisation-names", database(session)), lambda: {
        row.id: OrgName(row.acronym, row.name)
        for row in session.execute(sa.select(Organisation.id, Organisation.acronym, Organisation.name))},
        domains=("accounts",))
