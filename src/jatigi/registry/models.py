"""Households and people — displaced, returned and host alike — with movements and consent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, BigId, code_string, utcnow


class ImportBatch(Base):
    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(sa.String(400))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    format: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(12))  # committed, partial
    rows_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    households_written: Mapped[int] = mapped_column(sa.Integer, default=0)
    people_written: Mapped[int] = mapped_column(sa.Integer, default=0)
    households_skipped: Mapped[int] = mapped_column(sa.Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class ImportJob(Base):
    """An import run in the background of the web server: its phase, progress and result.

    `phase` is queued, checking, writing, done or failed; a job whose heartbeat stopped before
    it ended is shown as interrupted (see registry.jobs).
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)  # imported into
    filenames: Mapped[str] = mapped_column(sa.String(400))
    format: Mapped[str] = mapped_column(sa.String(10))
    partial: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    phase: Mapped[str] = mapped_column(sa.String(12), default="queued")
    outcome: Mapped[str | None] = mapped_column(sa.String(12))  # committed, partial, rejected
    rows_done: Mapped[int] = mapped_column(sa.Integer, default=0)
    rows_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    households_written: Mapped[int] = mapped_column(sa.Integer, default=0)
    people_written: Mapped[int] = mapped_column(sa.Integer, default=0)
    households_skipped: Mapped[int] = mapped_column(sa.Integer, default=0)
    households_rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    problem_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    report_token: Mapped[str | None] = mapped_column(sa.String(64))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class Household(Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    source_uuid: Mapped[str | None] = mapped_column(sa.String(64))

    population_group: Mapped[str] = mapped_column(sa.String(30))
    current_pcode: Mapped[str] = mapped_column(sa.ForeignKey("admin_units.pcode"))
    current_admin1: Mapped[str | None] = mapped_column(code_string(32))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    origin_pcode: Mapped[str | None] = mapped_column(sa.ForeignKey("admin_units.pcode"))
    displacement_date: Mapped[date | None] = mapped_column(sa.Date)
    arrival_date: Mapped[date | None] = mapped_column(sa.Date)
    living_arrangement: Mapped[str] = mapped_column(sa.String(30))
    households_in_dwelling: Mapped[int | None] = mapped_column(sa.SmallInteger)
    monthly_rent_xof: Mapped[int | None] = mapped_column(sa.Integer)
    rent_arrears_xof: Mapped[int | None] = mapped_column(sa.Integer)
    intention: Mapped[str | None] = mapped_column(sa.String(20))
    priority_needs: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # Contact phone: sealed, with a blind index for exact search.
    phone_sealed: Mapped[str | None] = mapped_column(sa.String(200))
    phone_index: Mapped[str | None] = mapped_column(code_string(32))
    # Consent to sharing with partner organisations: without it, no agreement opens the household.
    sharing_consent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # Kept in step with the members so that summaries read one table.
    member_count: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    head_sex: Mapped[str | None] = mapped_column(sa.String(1))
    registered_on: Mapped[date] = mapped_column(sa.Date)
    enumerator: Mapped[str | None] = mapped_column(sa.String(120))

    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    deleted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    delete_reason: Mapped[str | None] = mapped_column(sa.String(300))
    purge_after: Mapped[date | None] = mapped_column(sa.Date)
    # The household has left the place where it is registered (whereabouts unknown or elsewhere):
    # programmes hold its payments until it is found again.
    departed_on: Mapped[date | None] = mapped_column(sa.Date)

    __table_args__ = (
        sa.UniqueConstraint("org_id", "source_uuid", name="uq_households_org_source"),
        # Covers the registry summary: it is answered from the index alone.
        sa.Index("ix_households_summary", "deleted_at", "org_id", "current_admin1", "population_group",
                 "head_sex", "member_count", "sharing_consent"),
        sa.Index("ix_households_current_pcode", "current_pcode"),
        sa.Index("ix_households_phone_index", "phone_index"),
    )


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(sa.SmallInteger)
    given_name: Mapped[str] = mapped_column(sa.String(120))
    family_name: Mapped[str] = mapped_column(sa.String(120))
    # Lower-case, accent-free forms for search by name.
    given_key: Mapped[str] = mapped_column(code_string(120), index=True)
    family_key: Mapped[str] = mapped_column(code_string(120), index=True)
    sex: Mapped[str] = mapped_column(sa.String(1))
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    age_estimated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    relationship: Mapped[str] = mapped_column(sa.String(20))
    wg_seeing: Mapped[int | None] = mapped_column(sa.SmallInteger)
    wg_hearing: Mapped[int | None] = mapped_column(sa.SmallInteger)
    wg_walking: Mapped[int | None] = mapped_column(sa.SmallInteger)
    wg_cognition: Mapped[int | None] = mapped_column(sa.SmallInteger)
    wg_selfcare: Mapped[int | None] = mapped_column(sa.SmallInteger)
    wg_communication: Mapped[int | None] = mapped_column(sa.SmallInteger)
    school_attendance: Mapped[str | None] = mapped_column(sa.String(20))
    specific_needs: Mapped[list[str] | None] = mapped_column(sa.JSON)
    documents: Mapped[list[str] | None] = mapped_column(sa.JSON)
    phone_sealed: Mapped[str | None] = mapped_column(sa.String(200))
    phone_index: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    deceased_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class SeparatedRelative(Base):
    """A relative the household was separated from, for family tracing."""

    __tablename__ = "separated_relatives"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    relationship: Mapped[str] = mapped_column(sa.String(20))
    sex: Mapped[str | None] = mapped_column(sa.String(1))
    age: Mapped[int | None] = mapped_column(sa.SmallInteger)
    last_known_pcode: Mapped[str | None] = mapped_column(sa.ForeignKey("admin_units.pcode"))
    # Whereabouts in the person's words: sealed.
    whereabouts_sealed: Mapped[str | None] = mapped_column(sa.Text)
    separated_on: Mapped[date | None] = mapped_column(sa.Date)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(sa.String(20))
    given: Mapped[bool] = mapped_column(sa.Boolean)
    lawful_basis: Mapped[str] = mapped_column(sa.String(24), default="consent")
    recorded_on: Mapped[date] = mapped_column(sa.Date)
    taken_by: Mapped[str] = mapped_column(sa.String(120))
    withdrawn_on: Mapped[date | None] = mapped_column(sa.Date)


class Movement(Base):
    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    moved_on: Mapped[date | None] = mapped_column(sa.Date)
    from_pcode: Mapped[str | None] = mapped_column(sa.ForeignKey("admin_units.pcode"))
    to_pcode: Mapped[str | None] = mapped_column(sa.ForeignKey("admin_units.pcode"))


class RecordVersion(Base):
    """The state of a record before each change: edits keep their history."""

    __tablename__ = "record_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_type: Mapped[str] = mapped_column(sa.String(30))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    version: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    changed_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    changed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.Index("ix_record_versions_entity", "entity_type", "entity_id"),)
