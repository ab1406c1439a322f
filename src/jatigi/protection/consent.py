"""Consent per purpose: services, referral to a named organisation, reporting, tracing.

Each consent is recorded with its date, who gave it (the survivor, or a caregiver for a child),
who recorded it and the lawful basis. A purpose is allowed while its latest consent is granted
and not withdrawn; a withdrawal stops every future use (a referral, a count in the statistics, a
tracing match), and is itself kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, ValidationFailed
from jatigi.core.i18n import _
from jatigi.protection import vocab
from jatigi.protection.models import Consent, ProtectionCase
from jatigi.protection.policies import require_case_writer


def _accepted(codes: dict[str, str]) -> str:
    return ", ".join(codes)


def record_consent(*, session: Session, actor: Actor, case: ProtectionCase, purpose: str, granted: bool,
                   lawful_basis: str = "consent", given_by: str = "survivor", given_on: date | None = None,
                   organisation_id: int | None = None) -> Consent:
    """Record consent (or its refusal) for one purpose of a case."""
    require_case_writer(actor, case)
    if purpose not in vocab.CONSENT_PURPOSES:
        raise ValidationFailed(_("Unknown consent purpose {value}; accepted: {accepted}.", value=purpose,
                                 accepted=_accepted(vocab.CONSENT_PURPOSES)))
    if lawful_basis not in vocab.LAWFUL_BASES:
        raise ValidationFailed(_("Unknown lawful basis {value}; accepted: {accepted}.", value=lawful_basis,
                                 accepted=_accepted(vocab.LAWFUL_BASES)))
    if given_by not in vocab.CONSENT_GIVERS:
        raise ValidationFailed(_("Unknown giver of consent {value}; accepted: {accepted}.", value=given_by,
                                 accepted=_accepted(vocab.CONSENT_GIVERS)))
    given_on = given_on or date.today()
    if given_on > date.today():
        raise ValidationFailed(_("Consent cannot be dated in the future ({value}).", value=given_on.isoformat()))
    if purpose == "referral":
        if organisation_id is None or session.get(Organisation, organisation_id) is None:
            raise ValidationFailed(_("Consent to a referral names the organisation it allows."))
    else:
        organisation_id = None
    consent = Consent(case_id=case.id, purpose=purpose, organisation_id=organisation_id, granted=granted,
                      lawful_basis=lawful_basis, given_by=given_by, given_on=given_on, recorded_by=actor.user_id,
                      recorded_at=utcnow())
    session.add(consent)
    session.flush()
    audit.record(session, actor, "protection.consent.record", "protection_case", case.id,
                 {"purpose": purpose, "granted": granted, "organisation_id": organisation_id,
                  "lawful_basis": lawful_basis, "consent_id": consent.id})
    return consent


def withdraw_consent(*, session: Session, actor: Actor, case: ProtectionCase, consent_id: int) -> Consent:
    """Withdraw a consent: from now on, its purpose is not allowed."""
    require_case_writer(actor, case)
    consent = session.scalar(sa.select(Consent).where(Consent.id == consent_id, Consent.case_id == case.id))
    if consent is None:
        raise ValidationFailed(_("Case {code} has no consent {n}.", code=case.code, n=consent_id))
    if consent.withdrawn_at is not None:
        raise Conflict(_("This consent was already withdrawn."))
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by = actor.user_id
    session.flush()
    audit.record(session, actor, "protection.consent.withdraw", "protection_case", case.id,
                 {"purpose": consent.purpose, "consent_id": consent.id, "organisation_id": consent.organisation_id})
    return consent


def active_consent(session: Session, case_id: int, purpose: str, organisation_id: int | None = None) -> Consent | None:
    """The consent that allows `purpose` now (for a referral: to that organisation), or None.

    The latest consent recorded for the purpose (and organisation) decides: a refusal or a
    withdrawal recorded after a consent ends it.
    """
    query = sa.select(Consent).where(Consent.case_id == case_id, Consent.purpose == purpose)
    if purpose == "referral":
        query = query.where(Consent.organisation_id == organisation_id)
    latest = session.scalar(query.order_by(Consent.recorded_at.desc(), Consent.id.desc()).limit(1))
    if latest is None or not latest.granted or latest.withdrawn_at is not None:
        return None
    return latest


def consenting_to_reporting() -> sa.ColumnElement[bool]:
    """SQL: the case (ProtectionCase in the query) counts in statistics — its latest reporting
    consent is granted and not withdrawn."""
    # An alias, correlated to the case: the subquery must not correlate to the consent of the EXISTS.
    other = sa.orm.aliased(Consent)
    latest = (sa.select(other.id).where(other.case_id == ProtectionCase.id, other.purpose == "reporting")
              .order_by(other.recorded_at.desc(), other.id.desc()).limit(1).correlate(ProtectionCase)
              .scalar_subquery())
    return sa.exists(sa.select(Consent.id).where(Consent.id == latest, Consent.granted.is_(True),
                                                 Consent.withdrawn_at.is_(None)))


def consents_of(session: Session, case_id: int) -> Sequence[Consent]:
    return session.scalars(sa.select(Consent).where(Consent.case_id == case_id)
                           .order_by(Consent.recorded_at, Consent.id)).all()
