"""Targeting's tables: household assessments, saved vulnerability models, scoring runs and scores.

An assessment is dated and keeps the raw answers under WFP's variable names (one column each,
`targeting.inputs`); indicators are computed from them when needed, never stored, so a corrected
formula applies to every assessment at once. A model is kept as the TOML text users wrote, one
row per version. A run records which model version scored which households, on which data, for
whom, when — and each household's score, category and exclusion — so that any list can be shown
again exactly as it was decided.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from jatigi.core.db import Base, BigId, utcnow
from jatigi.targeting.inputs import INPUTS

# The answers an assessment stores: every input but the Washington Group questions, which the
# registry keeps per member.
STORED_INPUTS = tuple(v for v in INPUTS if v.module != "disability")
SOURCES = ("web", "import", "api")


def _input_column(kind: str, name: str) -> sa.Column[Any]:
    type_: sa.types.TypeEngine[Any] = sa.Integer() if kind != "money" else sa.BigInteger()
    return sa.Column(name, type_, nullable=True)


assessments = sa.Table(
    "assessments", Base.metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("household_id", BigId, sa.ForeignKey("households.id", ondelete="CASCADE"), nullable=False),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=False),
    sa.Column("assessed_on", sa.Date, nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("source_uuid", sa.String(64), nullable=True),
    sa.Column("enumerator", sa.String(120), nullable=True),
    *(_input_column(v.kind, v.name) for v in STORED_INPUTS),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.DateTime, nullable=False, default=utcnow),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=True),  # last correction
    sa.Column("deleted_at", sa.DateTime, nullable=True),
    sa.Index("ix_assessments_household_day", "household_id", "assessed_on"),
    sa.UniqueConstraint("org_id", "source_uuid", name="uq_assessments_org_id_source_uuid"),
)


class Assessment(Base):
    __table__ = assessments

    id: Mapped[int]
    household_id: Mapped[int]
    org_id: Mapped[int]
    assessed_on: Mapped[date]
    source: Mapped[str]
    source_uuid: Mapped[str | None]
    enumerator: Mapped[str | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    created_by: Mapped[int | None]
    updated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    def answers(self) -> dict[str, int | None]:
        return {v.name: getattr(self, v.name) for v in STORED_INPUTS}


class ModelVersion(Base):
    """One version of a vulnerability model, as its TOML text. `name` is the model's id."""

    __tablename__ = "targeting_models"
    __table_args__ = (sa.UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    version: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uses_displacement_status: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    saved_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    saved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.String(400))


class Run(Base):
    """A scoring of every household in scope with one model version."""

    __tablename__ = "targeting_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("targeting_models.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))  # whose view of the registry
    scope: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # visible organisations, place, parameters
    uses_displacement_status: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    data_as_of: Mapped[datetime] = mapped_column(sa.DateTime)
    registry_generation: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    run_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    run_by_name: Mapped[str] = mapped_column(sa.String(120))
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    counts: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class Score(Base):
    """One household's result in a run. `household_version` tells whether it changed since; the
    household's groups are kept as they were, so that a run's picture does not move."""

    __tablename__ = "targeting_scores"
    # A simulation counts a run's households by group and score from this index alone, without
    # sorting them: a million households in well under a second.
    # Purging a household deletes its scores: found by this index, not by reading every run's scores.
    __table_args__ = (sa.Index("ix_targeting_scores_groups", "run_id", "population_group", "head_sex", "admin1",
                               "score", "excluded", "category", "not_assessed", "household_id"),
                      sa.Index("ix_targeting_scores_household_id", "household_id"))

    run_id: Mapped[int] = mapped_column(sa.ForeignKey("targeting_runs.id", ondelete="CASCADE"), primary_key=True)
    household_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("households.id", ondelete="CASCADE"),
                                              primary_key=True)
    household_version: Mapped[int] = mapped_column(sa.Integer)
    assessment_id: Mapped[int | None] = mapped_column(BigId)
    score: Mapped[float] = mapped_column(sa.Float)
    category: Mapped[str | None] = mapped_column(sa.String(40))
    excluded: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    exclusion: Mapped[str | None] = mapped_column(sa.String(60))
    not_assessed: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    # The groups the household was in at the run, for the simulation and fairness counts.
    population_group: Mapped[str | None] = mapped_column(sa.String(30))
    head_sex: Mapped[str | None] = mapped_column(sa.String(1))
    admin1: Mapped[str | None] = mapped_column(sa.String(32))
    pcode: Mapped[str | None] = mapped_column(sa.String(32))
