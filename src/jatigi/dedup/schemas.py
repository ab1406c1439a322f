"""The review queue's API bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PersonBriefOut(BaseModel):
    person_id: int
    name: str
    sex: str
    birth_date: date | None
    household_code: str
    organisation: str


class PairOut(BaseModel):
    id: int
    status: str
    kind: str
    band: str = Field(description="probable (above the link threshold) or possible.")
    match_probability: float
    a: PersonBriefOut
    b: PersonBriefOut


class PairPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PairOut]


class RecordOut(BaseModel):
    person_id: int
    given_name: str
    family_name: str
    sex: str
    birth_date: date | None
    age_estimated: bool
    relationship: str
    phone: str | None = Field(None, description="Only for those who may open it; else see phone_note.")
    phone_note: str | None
    household_code: str
    organisation: str
    place: str
    registered_on: date
    merged_with: list[int] = Field(description="Other person records linked to the same person.")


class FieldWeightOut(BaseModel):
    field: str
    level: str = Field(description="What the model found, e.g. 'same root (related names)'.")
    weight: float = Field(description="Match weight the field added (positive) or removed (negative), in bits.")


class DecisionOut(BaseModel):
    action: str
    status_before: str
    status_after: str
    username: str
    at: datetime
    note: str | None


class PairDetailOut(BaseModel):
    id: int
    status: str
    kind: str
    band: str
    match_probability: float
    match_weight: float
    prior_weight: float | None
    a: RecordOut
    b: RecordOut
    explanation: list[FieldWeightOut]
    allowed_decisions: list[str]
    history: list[DecisionOut]
    household_pair_id: int | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "reject", "merge", "unmerge"]
    note: str | None = Field(None, max_length=500)


class RunOut(BaseModel):
    id: int
    kind: str
    status: str
    engine: str
    model_id: int | None
    review_threshold: float
    link_threshold: float
    batch_id: int | None
    username: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any] | None
    error: str | None

    model_config = ConfigDict(from_attributes=True)
