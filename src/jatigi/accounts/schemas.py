"""The accounts API bodies: log-in for a token, the current user, data-sharing agreements."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1000)
    name: str = Field("api", max_length=80, description="What the token is for.")
    days: int = Field(30, ge=1, le=365, description="Days before the token expires.")
    totp_code: str | None = Field(None, max_length=12, description=(
        "The code of the authenticator app: required from users who work on protection cases."))


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_in_days: int = Field(description="Days asked for; a token for case work lasts at most 12 hours.")
    expires_at: datetime = Field(description="When the token stops working (UTC).")
    second_factor: bool = Field(False, description="Made with the code of the authenticator app: may do case work.")


class MeOut(BaseModel):
    username: str
    full_name: str
    organisation: str | None
    language: str
    permissions: list[str]
    visible_organisations: list[str]


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="Acronym of the organisation that shares its households.")
    recipient: str = Field(description="Acronym of the organisation that receives them.")
    purpose: str
    signed_on: date | None = Field(None, description="Default: today.")
    valid_from: date | None = None
    valid_until: date | None = None
    reference: str | None = Field(None, max_length=120)


class AgreementOut(BaseModel):
    id: int
    provider: str
    recipient: str
    purpose: str
    reference: str | None
    signed_on: date
    valid_from: date
    valid_until: date | None
    revoked_at: datetime | None
