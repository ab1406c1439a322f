"""Organisations, users, roles and the agreements under which organisations share data."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core import changes
from jatigi.core.db import Base, utcnow
from jatigi.core.i18n import N_


class OrgKind(StrEnum):
    UN_AGENCY = "un_agency"
    INGO = "ingo"
    NNGO = "nngo"
    GOVERNMENT = "government"
    DONOR = "donor"


ORG_KIND_LABELS = {
    OrgKind.UN_AGENCY: N_("UN agency"),
    OrgKind.INGO: N_("International NGO"),
    OrgKind.NNGO: N_("National NGO"),
    OrgKind.GOVERNMENT: N_("Government"),
    OrgKind.DONOR: N_("Donor"),
}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    acronym: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)


class RolePermission(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[int] = mapped_column(sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(sa.String(80), primary_key=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(5), default="fr")
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The TOTP secret (sealed) and when its first code was confirmed: a second factor at sign-in.
    totp_sealed: Mapped[str | None] = mapped_column(sa.String(200))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(sa.ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    # Only a SHA-256 of the token is kept; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # When the user's authenticator code was given for this token; without it the token does
    # no case work (core.authz.SECOND_FACTOR_PERMISSIONS), whatever the user's roles.
    second_factor_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class DataSharingAgreement(Base):
    """The provider shares the households it registered with the recipient, for a purpose."""

    __tablename__ = "data_sharing_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    recipient_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(120))
    signed_on: Mapped[date] = mapped_column(sa.Date)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept here."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    # When the second factor was given in this session (None: password only).
    second_factor_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


# Signed-in pages reuse who a user is until one of these tables changes (accounts.signin).
changes.watch("accounts", ("organisations", "roles", "role_permissions", "users", "user_roles",
                           "data_sharing_agreements", "web_sessions"))
