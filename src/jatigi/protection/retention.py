"""Retention: closed cases and tracing requests are anonymised once their retention period is over.

Anonymising destroys the record's data key (crypto-shredding: even a backup's sealed fields can
no longer be opened once every copy of the key is gone) and empties its sealed columns — the
case's person, contact and summary, its entries, GBV incidents' accounts and perpetrators, the
reasons of its transitions and shares, its referrals' shared summaries and answers (and their
own data keys) — and unlinks it from the registry's household and person. What stays is what
statistics count, in clear: type, state, dates, area, sex, age group, the GBVIMS classification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit, envelope
from jatigi.core.authz import Actor, Permission
from jatigi.core.config import get_settings
from jatigi.core.db import utcnow
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.protection.models import (
    CaseEntry,
    CaseShare,
    CaseTransition,
    GbvIncident,
    ProtectionCase,
    Referral,
    TracingMatch,
    TracingRequest,
)

TRACING_ENDED = ("reunified", "closed")


@dataclass(frozen=True)
class Purged:
    cases: int
    referrals: int
    tracing_requests: int
    older_than_days: int
    dry_run: bool = False


def _due_cases(cutoff: date) -> sa.Select[int, int | None]:
    return sa.select(ProtectionCase.id, ProtectionCase.data_key_id).where(
        ProtectionCase.state == "closed", ProtectionCase.closed_on.is_not(None), ProtectionCase.closed_on < cutoff,
        ProtectionCase.anonymised_at.is_(None))


def _due_tracing(cutoff: date) -> sa.Select[int, int | None]:
    # Anonymised requests keep no data key and no sealed field: nothing left to do for them.
    return sa.select(TracingRequest.id, TracingRequest.data_key_id).where(
        TracingRequest.state.in_(TRACING_ENDED), TracingRequest.closed_at.is_not(None),
        TracingRequest.closed_at < datetime.combine(cutoff, time.min),
        sa.or_(TracingRequest.data_key_id.is_not(None), TracingRequest.sought_sealed.is_not(None),
               TracingRequest.inquirer_sealed.is_not(None)))


def purge_closed_cases(session: Session, actor: Actor, older_than_days: int | None = None, *,
                       dry_run: bool = False, today: date | None = None) -> Purged:
    """Anonymise the cases closed, and tracing requests ended, more than `older_than_days` ago
    (default: JATIGI_PROTECTION_RETENTION_DAYS). With `dry_run`, only count them."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_PURGE)
    days = get_settings().protection_retention_days if older_than_days is None else older_than_days
    if days < 1:
        raise ValidationFailed(_("The retention period is at least one day, not {days}.", days=days))
    cutoff = (today or date.today()) - timedelta(days=days)
    cases = session.execute(_due_cases(cutoff)).all()
    tracing = session.execute(_due_tracing(cutoff)).all()
    case_ids = [row.id for row in cases]
    referrals = session.execute(sa.select(Referral.id, Referral.data_key_id).where(
        Referral.case_id.in_(case_ids), Referral.data_key_id.is_not(None))).all() if case_ids else []
    if dry_run:
        return Purged(len(cases), len(referrals), len(tracing), days, dry_run=True)
    now = utcnow()
    for start in range(0, len(case_ids), 500):
        _anonymise_cases(session, case_ids[start:start + 500], now)
    tracing_ids = [row.id for row in tracing]
    for start in range(0, len(tracing_ids), 500):
        _anonymise_tracing(session, tracing_ids[start:start + 500])
    # The keys last: the rows no longer point at them.
    for row in (*cases, *referrals, *tracing):
        if row.data_key_id is not None:
            envelope.destroy_record_key(session, row.data_key_id)
    result = Purged(len(cases), len(referrals), len(tracing), days)
    audit.record(session, actor, "protection.retention.run", "protection_retention", None,
                 {"cases": result.cases, "referrals": result.referrals, "tracing_requests": result.tracing_requests,
                  "older_than_days": days})
    if case_ids:
        audit.record_many(session, actor, (audit.Entry("protection.case.anonymise", "protection_case", str(i),
                                                       {"older_than_days": days}) for i in case_ids))
    return result


def _anonymise_cases(session: Session, ids: list[int], now: datetime) -> None:
    session.execute(sa.update(ProtectionCase).where(ProtectionCase.id.in_(ids)).values(
        data_key_id=None, person_sealed=None, contact_sealed=None, summary_sealed=None, household_id=None,
        person_id=None, anonymised_at=now, updated_at=now, version=ProtectionCase.version + 1))
    session.execute(sa.update(CaseEntry).where(CaseEntry.case_id.in_(ids)).values(text_sealed=None))
    session.execute(sa.update(GbvIncident).where(GbvIncident.case_id.in_(ids)).values(
        account_sealed=None, perpetrator_sealed=None))
    # Reasons were sealed under the case's key: unreadable now, and emptied.
    session.execute(sa.update(CaseTransition).where(CaseTransition.case_id.in_(ids)).values(reason=None))
    session.execute(sa.update(CaseShare).where(CaseShare.case_id.in_(ids)).values(reason=""))
    session.execute(sa.update(Referral).where(Referral.case_id.in_(ids)).values(
        data_key_id=None, shared_sealed=None, response_sealed=None, override_reason_sealed=None))


def _anonymise_tracing(session: Session, ids: list[int]) -> None:
    session.execute(sa.update(TracingRequest).where(TracingRequest.id.in_(ids)).values(
        data_key_id=None, sought_sealed=None, inquirer_sealed=None))
    # A match names a person of the registry or another request: it goes with what was sought.
    session.execute(sa.delete(TracingMatch).where(TracingMatch.request_id.in_(ids)))
