"""Cash assistance: programmes, the households they enrol, monthly cycles, payments, reconciliations,
post-distribution monitoring, and complaints and feedback.

A programme enrols households (from a targeting run or a list) and says how much each is entitled
to (a formula in the targeting expression language). Each cycle — usually a month — gets one
payment line per enrolled household: due, or held with the reason (a possible duplicate, a deceased
recipient, moved away, already assisted for the same purpose and period). A cycle is prepared by one
person and approved by another, then locked; its due payments go to a provider in a file made from
the provider's template, and come back in the provider's report, reconciled line by line. Every
change of state is kept in `assistance_transitions` with who and why, besides the audit log.

Amounts are whole FCFA (XOF) in BIGINT columns; no floating point for money.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, BigId, code_string, utcnow


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(code_string(16), unique=True)  # PRG-0001
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    donor: Mapped[str | None] = mapped_column(sa.String(200))
    sector: Mapped[str] = mapped_column(sa.String(20))  # vocab.SECTORS: the purpose a household is assisted for
    objective: Mapped[str | None] = mapped_column(sa.Text)
    modality: Mapped[str] = mapped_column(sa.String(20))  # vocab.MODALITIES
    currency: Mapped[str] = mapped_column(sa.String(3), default="XOF")
    start_month: Mapped[date] = mapped_column(sa.Date)  # the first day of the first month assisted
    planned_months: Mapped[int] = mapped_column(sa.SmallInteger)
    # Where the programme works (a P-code: households registered elsewhere are "moved away").
    area_pcode: Mapped[str | None] = mapped_column(sa.ForeignKey("admin_units.pcode"))
    # The entitlement formula (TOML, in the targeting expression language; see assistance.formula).
    formula: Mapped[str] = mapped_column(sa.Text)
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_providers.id"))
    targeting_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("targeting_runs.id"))
    state: Mapped[str] = mapped_column(sa.String(12), default="draft")  # vocab.PROGRAMME_STATES
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Enrolment(Base):
    """A household enrolled in a programme, until it exits."""

    __tablename__ = "programme_enrolments"
    __table_args__ = (sa.UniqueConstraint("programme_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    # A purged household leaves the programme; its payments stay, without it.
    household_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10))  # vocab.ENROLMENT_SOURCES
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("targeting_runs.id"))
    score: Mapped[float | None] = mapped_column(sa.Float)  # the household's score in that run
    enrolled_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    enrolled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    exited_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    exit_reason: Mapped[str | None] = mapped_column(sa.String(300))


class Cycle(Base):
    """One period of assistance (usually a month) of a programme."""

    __tablename__ = "assistance_cycles"
    __table_args__ = (sa.UniqueConstraint("programme_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(sa.SmallInteger)  # 1, 2, … within the programme
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)  # inclusive
    state: Mapped[str] = mapped_column(sa.String(12), default="draft")  # vocab.CYCLE_STATES
    prepared_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    prepared_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    approved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The provider the cycle was first exported to: the only one it may be exported to again or reconciled with.
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_providers.id"))
    reconciled_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # households, due, held by reason, total due — as prepared
    counts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    total_due: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Payment(Base):
    """One enrolled household's line in a cycle: due (with its amount) or held (with the reason)."""

    __tablename__ = "assistance_payments"
    __table_args__ = (
        # One line per household and cycle, besides the re-issues of its failed payments.
        sa.Index("uq_assistance_payments_cycle_household", "cycle_id", "household_id", unique=True,
                 sqlite_where=sa.text("reissue_of IS NULL"), postgresql_where=sa.text("reissue_of IS NULL")),
        sa.Index("ix_assistance_payments_cycle_state", "cycle_id", "state"),
        sa.Index("ix_assistance_payments_household_state", "household_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_cycles.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    # NULL once the household is purged from the registry: the payment's amount and state stay, for the accounts.
    household_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="SET NULL"))
    # What the provider and the household see: unique, unguessable enough not to be made up.
    reference: Mapped[str] = mapped_column(code_string(40), unique=True)
    state: Mapped[str] = mapped_column(sa.String(12))  # vocab.PAYMENT_STATES
    hold_reason: Mapped[str | None] = mapped_column(sa.String(24))  # vocab.HOLD_REASONS
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # the entitlement, FCFA
    recipient_person_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="SET NULL"),
                                                            index=True)
    # The household's phone as it was when the cycle was prepared (sealed): what the approver approved is
    # what the file pays, even if the registry's phone changes after approval.
    phone_sealed: Mapped[str | None] = mapped_column(sa.String(200))
    amount_paid: Mapped[int | None] = mapped_column(sa.BigInteger)
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    provider_status: Mapped[str | None] = mapped_column(sa.String(40))  # as the provider's report said
    reconciliation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_reconciliations.id"))
    # A failed or unclaimed payment paid again in a later cycle points to the one it replaces.
    # A payment is re-issued at most once.
    reissue_of: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("assistance_payments.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class PaymentProvider(Base):
    """A financial service provider and the template of the files it takes (columns, format)."""

    __tablename__ = "payment_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(code_string(40), unique=True)  # used on the command line
    label: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))  # vocab.PROVIDER_KINDS
    # {"format": "csv"|"xlsx"|"pdf", "delimiter": ",", "columns": [{"header": "MSISDN", "field": "msisdn"}, …],
    #  "report": {"reference": "Reference", "status": "Status", "amount": "Amount", …, "statuses": {…}}}
    template: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class Reconciliation(Base):
    """A provider's report applied to a cycle; the same file is never applied twice."""

    __tablename__ = "payment_reconciliations"
    __table_args__ = (sa.UniqueConstraint("cycle_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_cycles.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_providers.id"))
    filename: Mapped[str] = mapped_column(sa.String(400))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    lines: Mapped[int] = mapped_column(sa.Integer, default=0)
    # paid / failed / unclaimed applied, and the lines reported but not applied, by problem
    counts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)  # the first few, with line numbers
    applied_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    applied_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Transition(Base):
    """A change of state of a programme, a cycle, a payment or a complaint: who, when and why.

    A reconciliation that moves thousands of payments records one transition per payment state it
    reached, on the cycle, naming the reconciliation; single payments moved by hand get their own."""

    __tablename__ = "assistance_transitions"
    __table_args__ = (sa.Index("ix_assistance_transitions_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(12))  # programme, cycle, payment, complaint
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    from_state: Mapped[str | None] = mapped_column(sa.String(12))
    to_state: Mapped[str] = mapped_column(sa.String(12))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    by_name: Mapped[str] = mapped_column(sa.String(120))


class PdmResponse(Base):
    """One post-distribution monitoring interview about a payment."""

    __tablename__ = "pdm_responses"
    __table_args__ = (sa.UniqueConstraint("org_id", "source_uuid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("assistance_cycles.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("assistance_payments.id"))
    household_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="SET NULL"),
                                                     index=True)
    source_uuid: Mapped[str | None] = mapped_column(sa.String(64))
    surveyed_on: Mapped[date] = mapped_column(sa.Date)
    enumerator: Mapped[str | None] = mapped_column(sa.String(120))
    received: Mapped[bool | None] = mapped_column(sa.Boolean)
    full_amount: Mapped[bool | None] = mapped_column(sa.Boolean)
    amount_received: Mapped[int | None] = mapped_column(sa.BigInteger)
    on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    spent_on: Mapped[list[str] | None] = mapped_column(sa.JSON)  # vocab.PDM_SPENDING
    felt_safe: Mapped[bool | None] = mapped_column(sa.Boolean)
    paid_to_get: Mapped[bool | None] = mapped_column(sa.Boolean)  # asked for money or a favour to receive it
    satisfied: Mapped[bool | None] = mapped_column(sa.Boolean)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Complaint(Base):
    """A complaint or a piece of feedback. What the person said and who they are are sealed; a
    sensitive complaint is seen only by protection focal points."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(code_string(16), unique=True)  # CMP-000001
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    programme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programmes.id"))
    household_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="SET NULL"),
                                                     index=True)
    payment_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("assistance_payments.id"))
    channel: Mapped[str] = mapped_column(sa.String(20))  # vocab.CHANNELS
    category: Mapped[str] = mapped_column(sa.String(24))  # vocab.COMPLAINT_CATEGORIES
    priority: Mapped[str] = mapped_column(sa.String(8))  # vocab.PRIORITIES
    sensitive: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="open")  # vocab.COMPLAINT_STATES
    received_on: Mapped[date] = mapped_column(sa.Date)
    respond_by: Mapped[date] = mapped_column(sa.Date)
    admin1: Mapped[str | None] = mapped_column(code_string(32))  # where, for counts without names
    description_sealed: Mapped[str] = mapped_column(sa.Text)
    complainant_sealed: Mapped[str | None] = mapped_column(sa.Text)  # name and how to reach them
    resolution_sealed: Mapped[str | None] = mapped_column(sa.Text)
    assigned_to: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
