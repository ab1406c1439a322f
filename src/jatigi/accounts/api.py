"""The accounts JSON API: tokens, the current user, data-sharing agreements."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, status

from jatigi.accounts import service, totp
from jatigi.accounts.models import DataSharingAgreement, Organisation, User
from jatigi.accounts.schemas import AgreementIn, AgreementOut, MeOut, TokenOut, TokenRequest
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Unauthorized
from jatigi.core.i18n import _
from jatigi.web.deps import SessionDep, authenticated, client_ip, public, require

router = APIRouter(tags=["accounts"])
AgreementActor = Annotated[Actor, Depends(require(Permission.ACCOUNTS_AGREEMENT_WRITE))]


@router.post("/tokens", response_model=TokenOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(public)])
def create_token(body: TokenRequest, request: Request, session: SessionDep) -> TokenOut:
    """Exchange a user name and password for an API token (shown once)."""
    ip = client_ip(request)
    try:
        user = service.authenticate(session=session, username=body.username, password=body.password, ip=ip)
    except Unauthorized:
        # Keep the failed attempt (counter, lock-out, audit event) although the request fails.
        session.commit()
        raise
    actor = service.actor_for(session=session, user=user, ip=ip)
    if totp.needs_second_factor(actor.permissions):
        _second_factor_given(session, user, body.totp_code)
    try:
        token, row = service.issue_token(session=session, actor=actor, user=user, name=body.name, days=body.days,
                                         totp_code=body.totp_code, ip=ip)
    except Unauthorized:
        session.commit()  # a wrong code counts towards the lock-out
        raise
    assert row.expires_at is not None
    return TokenOut(token=token, expires_in_days=body.days, expires_at=row.expires_at,
                    second_factor=row.second_factor_at is not None)


def _second_factor_given(session: SessionDep, user: User, code: str | None) -> None:
    """Case work: a token only with a valid code of the user's authenticator app (checked by the service)."""
    if not totp.is_enrolled(user):
        session.commit()
        raise Unauthorized(_("This account works on protection cases and needs two-factor sign-in: log in to the "
                             "web application once to set it up, then ask for a token with totp_code."))
    if not code:
        session.commit()
        raise Unauthorized(_("This account works on protection cases: give the code of your authenticator app "
                             "in totp_code."))


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, actor: Annotated[Actor, Depends(authenticated)]) -> MeOut:
    user = session.get(User, actor.user_id)
    assert user is not None
    acronyms = dict(session.execute(sa.select(Organisation.id, Organisation.acronym)
                                    .where(Organisation.id.in_(actor.visible_org_ids | {user.org_id}))).all())
    return MeOut(username=user.username, full_name=user.full_name, organisation=acronyms.get(user.org_id),
                 language=user.language, permissions=sorted(actor.permissions),
                 visible_organisations=sorted(acronyms[i] for i in actor.visible_org_ids if i in acronyms))


def _agreement_out(session: SessionDep, dsa: DataSharingAgreement) -> AgreementOut:
    names = dict(session.execute(sa.select(Organisation.id, Organisation.acronym).where(
        Organisation.id.in_([dsa.provider_org_id, dsa.recipient_org_id]))).all())
    return AgreementOut(id=dsa.id, provider=names[dsa.provider_org_id], recipient=names[dsa.recipient_org_id],
                        purpose=dsa.purpose, reference=dsa.reference, signed_on=dsa.signed_on,
                        valid_from=dsa.valid_from, valid_until=dsa.valid_until, revoked_at=dsa.revoked_at)


@router.post("/agreements", response_model=AgreementOut, status_code=status.HTTP_201_CREATED)
def create_agreement(body: AgreementIn, session: SessionDep, actor: AgreementActor) -> AgreementOut:
    """Record a data-sharing agreement: the recipient then sees the provider's households."""
    dsa = service.create_agreement(
        session=session, actor=actor, provider=body.provider, recipient=body.recipient, purpose=body.purpose,
        signed_on=body.signed_on or date.today(), valid_from=body.valid_from, valid_until=body.valid_until,
        reference=body.reference)
    return _agreement_out(session, dsa)


@router.delete("/agreements/{agreement_id}", response_model=AgreementOut)
def revoke_agreement(agreement_id: int, session: SessionDep, actor: AgreementActor) -> AgreementOut:
    """Revoke an agreement: the recipient no longer sees the provider's households."""
    dsa = service.revoke_agreement(session=session, actor=actor, agreement_id=agreement_id)
    return _agreement_out(session, dsa)
