"""The registry's deduplication: linkage models, runs, candidate pairs, decisions and merges.

A candidate pair names two people by their ids, with the scores the model gave them; it copies
no name, phone or date: pages show the values of the live records, to those who may see them.
A merge keeps both person records and links them to one identity; an unmerge ends those links
and brings back the ones the merge had ended, so the earlier state returns and nothing is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, BigId, utcnow

PENDING, CONFIRMED, REJECTED, MERGED, UNMERGED = "pending", "confirmed", "rejected", "merged", "unmerged"
STATUSES = (PENDING, CONFIRMED, REJECTED, MERGED, UNMERGED)
KINDS = ("registry", "import")
PROBABLE, POSSIBLE = "probable", "possible"  # above the link threshold, or between review and link


class LinkageModel(Base):
    """A trained model as the engine saved it, with its version; one is active at a time."""

    __tablename__ = "dedup_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, unique=True)
    engine: Mapped[str] = mapped_column(sa.String(10))  # the engine that trained it: duckdb, spark
    document: Mapped[str] = mapped_column(sa.Text)  # the engine's JSON document
    trained_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    trained_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    trained_by_name: Mapped[str] = mapped_column(sa.String(120))
    training_size: Mapped[int] = mapped_column(sa.Integer, default=0)  # people it was trained on
    labels: Mapped[int] = mapped_column(sa.Integer, default=0)  # reviewers' decisions it learnt from
    active: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class DedupRun(Base):
    """One scoring of the registry (`registry`) or of an import's new people (`import`)."""

    __tablename__ = "dedup_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    model_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dedup_models.id"))
    engine: Mapped[str] = mapped_column(sa.String(10))
    review_threshold: Mapped[float] = mapped_column(sa.Float)
    link_threshold: Mapped[float] = mapped_column(sa.Float)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id", ondelete="SET NULL"),
                                                 index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(sa.String(120))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    status: Mapped[str] = mapped_column(sa.String(12), default="running")  # running, done, failed, no_model
    counts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)


class CandidatePair(Base):
    """Two people the model scored as possibly the same; person_a_id < person_b_id."""

    __tablename__ = "dedup_pairs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_a_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="CASCADE"))
    person_b_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    household_a_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"),
                                                index=True)
    household_b_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"),
                                                index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dedup_runs.id", ondelete="SET NULL"))  # found by
    last_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dedup_runs.id", ondelete="SET NULL"))
    match_probability: Mapped[float] = mapped_column(sa.Float)
    match_weight: Mapped[float] = mapped_column(sa.Float)
    band: Mapped[str] = mapped_column(sa.String(10))
    # [{"field": "given_name", "level": "same root (related names)", "weight": 2.3}, …]: no values.
    fields: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(10), default=PENDING)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("person_a_id", "person_b_id", name="uq_dedup_pairs_people"),
        sa.Index("ix_dedup_pairs_queue", "status", "match_probability"),
    )


class HouseholdPair(Base):
    """Two households that look like one, derived from the pairs of their members.

    `reasons`: "heads" (the heads are a pair), "members" (two members or more are pairs),
    "phone" (a shared phone and a member pair). Its status is read from its members' pairs.
    """

    __tablename__ = "dedup_household_pairs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_a_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"))
    household_b_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"),
                                                index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    reasons: Mapped[list[str]] = mapped_column(sa.JSON)
    people_pairs: Mapped[int] = mapped_column(sa.Integer)
    max_probability: Mapped[float] = mapped_column(sa.Float)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dedup_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("household_a_id", "household_b_id", name="uq_dedup_household_pairs"),)


class Decision(Base):
    """One decision on a pair, for its history: what it was, what it became, who, when, why."""

    __tablename__ = "dedup_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pair_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dedup_pairs.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(10))  # confirm, reject, merge, unmerge
    status_before: Mapped[str] = mapped_column(sa.String(10))
    status_after: Mapped[str] = mapped_column(sa.String(10))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(sa.String(120))
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(sa.String(500))


class Identity(Base):
    """One person as the registry knows them, whatever records they were registered under."""

    __tablename__ = "dedup_identities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)


class Merge(Base):
    __tablename__ = "dedup_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pair_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dedup_pairs.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dedup_identities.id"))
    merged_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    unmerged_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    unmerged_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class IdentityLink(Base):
    """A person record linked to an identity by a merge; current while `ended_at` is empty.

    Links are never changed back: an unmerge ends the links its merge made (`ended_by` is that
    merge, `end_reason` "unmerged") and adds again, as new links with their own merges, those the
    merge had ended (`end_reason` "merged": their people joined the merge's identity).
    """

    __tablename__ = "dedup_identity_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("people.id", ondelete="CASCADE"), index=True)
    identity_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dedup_identities.id"), index=True)
    merge_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dedup_merges.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    ended_by: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("dedup_merges.id", ondelete="CASCADE"))
    end_reason: Mapped[str | None] = mapped_column(sa.String(10))  # merged, unmerged
