"""Protection and GBV case management: cases, GBV incidents, consent, case work, referrals, the
service directory, family tracing and protection monitoring.

Every case, referral and tracing request has its own data key (`core.envelope`): the columns
ending in `_sealed` hold AES-GCM ciphertext under that key, never plaintext. What stays in clear
is what statistics and need-to-know filtering are computed from in SQL — the case type, state,
risk level, the GBVIMS classification, the area (a P-code), age group and sex — never a name, a
date of birth, a phone, an address, a narrative or a perpetrator's identity.

Who may see a case is decided by `protection.policies` (need to know), never by the role alone.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, BigId, code_string, utcnow


class ProtectionCase(Base):
    __tablename__ = "protection_cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A random code (CAS-7KQ4MX): sequential numbers would reveal how many cases an agency holds.
    code: Mapped[str] = mapped_column(code_string(16), unique=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    case_type: Mapped[str] = mapped_column(sa.String(20))  # vocab.CASE_TYPES
    state: Mapped[str] = mapped_column(sa.String(20), default="open")  # vocab.CASE_STATES
    stage: Mapped[str] = mapped_column(sa.String(20), default="intake")  # vocab.CASE_STAGES
    risk_level: Mapped[str] = mapped_column(sa.String(10), default="medium")  # vocab.RISK_LEVELS
    caseworker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Shown instead of the name on GBV cases (SV-K4Q9): random, not derived from the person.
    survivor_code: Mapped[str] = mapped_column(code_string(16), unique=True)
    data_key_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("data_keys.id", ondelete="SET NULL"))
    # The person, sealed as JSON: names, sex, birth date, phone, address, and the contact safety the
    # survivor chose (may we call? when? which name to ask for? a safe word?).
    person_sealed: Mapped[str | None] = mapped_column(sa.Text)
    contact_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # What brought the case, in the words of the intake (sealed).
    summary_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # Non-identifying facts for need-to-know lists and statistics.
    sex: Mapped[str | None] = mapped_column(sa.String(8))  # vocab.SEXES
    age_group: Mapped[str | None] = mapped_column(sa.String(8))  # vocab.AGE_GROUPS, at intake
    area_pcode: Mapped[str | None] = mapped_column(code_string(32), sa.ForeignKey("admin_units.pcode"))
    # Registry links, optional. The registry's pages never show that a case exists.
    household_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="SET NULL"))
    opened_on: Mapped[date] = mapped_column(sa.Date)
    closure_requested_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closure_reason: Mapped[str | None] = mapped_column(sa.String(30))  # vocab.CLOSURE_REASONS
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    reopened_count: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    # Set by the retention job: the sealed fields and data key are gone, the clear facts remain.
    anonymised_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_protection_cases_org_state", "org_id", "state"),)


class CaseShare(Base):
    """A case shared with one more person of the organisation, who needs to know it."""

    __tablename__ = "protection_case_shares"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(300))
    granted_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class GbvIncident(Base):
    """A GBV incident, with the GBVIMS incident recorder's fields. Classification in clear (for
    statistics); the account of what happened and anything identifying the perpetrator sealed."""

    __tablename__ = "gbv_incidents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    incident_type: Mapped[str] = mapped_column(sa.String(24))  # vocab.GBV_TYPES (the six core types)
    incident_date: Mapped[date | None] = mapped_column(sa.Date)
    incident_month: Mapped[date] = mapped_column(sa.Date)  # first day of the month, for statistics
    report_date: Mapped[date] = mapped_column(sa.Date)
    area_pcode: Mapped[str | None] = mapped_column(code_string(32), sa.ForeignKey("admin_units.pcode"))
    place_type: Mapped[str | None] = mapped_column(sa.String(20))  # vocab.PLACE_TYPES
    time_of_day: Mapped[str | None] = mapped_column(sa.String(16))  # vocab.TIMES_OF_DAY
    displacement_at_incident: Mapped[str | None] = mapped_column(sa.String(20))  # vocab.DISPLACEMENT_STAGES
    displacement_at_report: Mapped[str | None] = mapped_column(sa.String(24))  # registry population groups
    survivor_age_group: Mapped[str | None] = mapped_column(sa.String(8))  # at the incident
    survivor_sex: Mapped[str | None] = mapped_column(sa.String(8))
    marital_status: Mapped[str | None] = mapped_column(sa.String(12))  # vocab.MARITAL_STATUSES
    disability: Mapped[bool | None] = mapped_column(sa.Boolean)
    unaccompanied_or_separated: Mapped[bool | None] = mapped_column(sa.Boolean)
    previous_incidents: Mapped[bool | None] = mapped_column(sa.Boolean)
    perpetrator_count: Mapped[str | None] = mapped_column(sa.String(8))  # "1", "2", "3", "more", "unknown"
    perpetrator_sex: Mapped[str | None] = mapped_column(sa.String(8))
    perpetrator_age_group: Mapped[str | None] = mapped_column(sa.String(8))
    perpetrator_relationship: Mapped[str | None] = mapped_column(sa.String(24))  # vocab.PERPETRATOR_RELATIONSHIPS
    perpetrator_occupation: Mapped[str | None] = mapped_column(sa.String(24))  # vocab.PERPETRATOR_OCCUPATIONS
    referred_by: Mapped[str | None] = mapped_column(sa.String(24))  # vocab.REFERRAL_SOURCES
    # Sealed: the survivor's account and what identifies the perpetrator(s).
    account_sealed: Mapped[str | None] = mapped_column(sa.Text)
    perpetrator_sealed: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Consent(Base):
    """Consent for one purpose, given (or refused) on a date, recorded by someone, on a lawful
    basis. Withdrawn consent stays, marked withdrawn: it stops any future use."""

    __tablename__ = "protection_consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(12))  # vocab.CONSENT_PURPOSES
    # For a referral: the organisation named in the consent (None: any for that purpose is not allowed).
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    granted: Mapped[bool] = mapped_column(sa.Boolean)
    lawful_basis: Mapped[str] = mapped_column(sa.String(20))  # vocab.LAWFUL_BASES
    given_by: Mapped[str] = mapped_column(sa.String(12))  # vocab.CONSENT_GIVERS: survivor, caregiver
    given_on: Mapped[date] = mapped_column(sa.Date)
    recorded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CaseEntry(Base):
    """A step of case work: an assessment, an action of the case plan, a service given, a
    follow-up, a note. Its text is sealed under the case's data key."""

    __tablename__ = "protection_case_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))  # vocab.ENTRY_KINDS
    service_type: Mapped[str | None] = mapped_column(sa.String(20))  # vocab.SERVICE_TYPES, for plan actions/services
    status: Mapped[str] = mapped_column(sa.String(12), default="open")  # vocab.ENTRY_STATUSES
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    done_on: Mapped[date | None] = mapped_column(sa.Date)
    text_sealed: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class CaseTransition(Base):
    """Every change of a case's state, stage, owner or risk: who, when, why."""

    __tablename__ = "protection_case_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(sa.String(20))  # state, stage, risk_level, caseworker, supervisor
    from_value: Mapped[str | None] = mapped_column(sa.String(40))
    to_value: Mapped[str] = mapped_column(sa.String(40))
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Service(Base):
    """A service of the referral pathway: who offers what, where, how to reach them, when open."""

    __tablename__ = "protection_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    service_type: Mapped[str] = mapped_column(sa.String(20), index=True)  # vocab.SERVICE_TYPES
    # The organisation that provides it, if it uses Jatigi (referrals then reach it here).
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    provider_name: Mapped[str] = mapped_column(sa.String(200))
    area_pcode: Mapped[str] = mapped_column(code_string(32), sa.ForeignKey("admin_units.pcode"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    opening_hours: Mapped[str | None] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.String(500))  # languages spoken, women staff, cost…
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Referral(Base):
    """A case referred to a service of another (or the same) organisation.

    Sent only with the survivor's consent to refer to that organisation, or with an override (a
    reason and a supervisor, audited). What the receiving organisation may read is the shared
    summary, sealed under the referral's own data key — never the case file.
    """

    __tablename__ = "protection_referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(code_string(16), unique=True)  # REF-…, random
    case_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="CASCADE"), index=True)
    from_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    to_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("protection_services.id"))
    service_type: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(12), default="sent")  # vocab.REFERRAL_STATES
    urgent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    consent_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("protection_consents.id"))
    override_reason_sealed: Mapped[str | None] = mapped_column(sa.Text)  # why it went without consent
    override_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # the supervisor
    data_key_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("data_keys.id", ondelete="SET NULL"))
    shared_sealed: Mapped[str | None] = mapped_column(sa.Text)  # what the receiver may read (JSON)
    response_sealed: Mapped[str | None] = mapped_column(sa.Text)  # the receiver's answer and outcome
    sent_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    sent_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    responded_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    responded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # vocab.REFERRAL_OUTCOMES


class TracingRequest(Base):
    """A request to find a missing relative, matched against the registry and other requests."""

    __tablename__ = "tracing_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(code_string(16), unique=True)  # TR-…, random
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("protection_cases.id", ondelete="SET NULL"))
    caseworker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(12), default="open")  # vocab.TRACING_STATES
    data_key_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("data_keys.id", ondelete="SET NULL"))
    # The person sought (names, sex, birth year, last seen where and when) and who is looking.
    sought_sealed: Mapped[str | None] = mapped_column(sa.Text)
    inquirer_sealed: Mapped[str | None] = mapped_column(sa.Text)
    relationship: Mapped[str | None] = mapped_column(sa.String(20))  # of the sought person to the inquirer
    separated_on: Mapped[date | None] = mapped_column(sa.Date)
    last_seen_pcode: Mapped[str | None] = mapped_column(code_string(32), sa.ForeignKey("admin_units.pcode"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class TracingMatch(Base):
    """A possible match for a tracing request: a person of the registry or another request."""

    __tablename__ = "tracing_matches"
    __table_args__ = (sa.UniqueConstraint("request_id", "person_id", "other_request_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tracing_requests.id", ondelete="CASCADE"),
                                            index=True)
    person_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="CASCADE"))
    other_request_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tracing_requests.id",
                                                                                ondelete="CASCADE"))
    match_probability: Mapped[float] = mapped_column(sa.Float)
    state: Mapped[str] = mapped_column(sa.String(12), default="proposed")  # vocab.MATCH_STATES
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class MonitoringReport(Base):
    """A protection monitoring report: an incident seen or reported in an area, by type, with how
    many people were affected — no names, no personal data (the description is sealed, in case)."""

    __tablename__ = "protection_monitoring_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    reported_on: Mapped[date] = mapped_column(sa.Date)
    incident_month: Mapped[date] = mapped_column(sa.Date)
    area_pcode: Mapped[str] = mapped_column(code_string(32), sa.ForeignKey("admin_units.pcode"), index=True)
    incident_type: Mapped[str] = mapped_column(sa.String(30))  # vocab.MONITORING_TYPES
    population_group: Mapped[str | None] = mapped_column(sa.String(20))
    people_affected: Mapped[int] = mapped_column(sa.Integer, default=1)
    women_and_girls: Mapped[int | None] = mapped_column(sa.Integer)
    children: Mapped[int | None] = mapped_column(sa.Integer)
    source: Mapped[str] = mapped_column(sa.String(20))  # vocab.MONITORING_SOURCES
    description_sealed: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
