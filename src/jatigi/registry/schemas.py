"""The registry's API bodies: what a client sends and what it gets back.

Incoming values are kept loose (text, numbers, lists) on purpose: the importer's rules in
`validate.check_submission` judge them, so a household typed into the API meets exactly the
same checks, and the same messages, as one imported from a file.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Value = str | int | float | bool | None
Many = list[str] | str | None


class ConsentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration: bool | str | None = None
    data_sharing: bool | str | None = None
    referral: bool | str | None = None
    tracing: bool | str | None = None
    contact: bool | str | None = None


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: Value = None
    family_name: Value = None
    sex: Value = None
    relationship: Value = None
    birth_date: Value = None
    age: Value = None
    wg_seeing: Value = None
    wg_hearing: Value = None
    wg_walking: Value = None
    wg_cognition: Value = None
    wg_selfcare: Value = None
    wg_communication: Value = None
    school_attendance: Value = None
    specific_needs: Many = None
    documents: Many = None
    phone: Value = Field(None, description="Phone number of the member.")


class RelativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Value = None
    relationship: Value = None
    sex: Value = None
    age: Value = None
    last_known_pcode: Value = None
    whereabouts: Value = None
    separated_on: Value = None


class MovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Value = None
    moved_on: Value = None
    from_pcode: Value = None
    to_pcode: Value = None


class HouseholdIn(BaseModel):
    """A household as the registration form collects it."""

    model_config = ConfigDict(extra="forbid")

    org: str | None = Field(None, description="Acronym of the registering organisation "
                                              "(default: the user's own).")
    registered_on: Value = Field(None, description="Date of registration (default: today).")
    enumerator: Value = None
    consents: ConsentsIn = Field(default_factory=ConsentsIn)
    population_group: Value = None
    current_pcode: Value = None
    address: Value = None
    origin_pcode: Value = None
    displacement_date: Value = None
    arrival_date: Value = None
    living_arrangement: Value = None
    households_in_dwelling: Value = None
    monthly_rent_xof: Value = None
    rent_arrears_xof: Value = None
    intention: Value = None
    priority_needs: Many = None
    phone: Value = None
    members: list[MemberIn] = Field(default_factory=list)
    separated_relatives: list[RelativeIn] = Field(default_factory=list)
    movements: list[MovementIn] = Field(default_factory=list)


class HouseholdPatch(BaseModel):
    """Fields to change; `version` (or an If-Match header) guards against overwriting an edit."""

    model_config = ConfigDict(extra="allow")

    version: int | None = None


class ProblemOut(BaseModel):
    sheet: str
    row: int
    column: str
    value: str
    message: str


class ProblemsOut(BaseModel):
    detail: str
    problems: list[ProblemOut]
    problem_count: int


class CreatedOut(BaseModel):
    code: str
    version: int


class SearchHitOut(BaseModel):
    code: str
    population_group: str
    current_pcode: str
    current_name: str | None
    head_name: str | None
    member_count: int
    org_id: int


class HouseholdPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SearchHitOut]


class HouseholdOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    org_id: int
    population_group: str
    current_pcode: str
    current_admin1: str | None
    address: str | None
    origin_pcode: str | None
    displacement_date: date | None
    arrival_date: date | None
    living_arrangement: str
    households_in_dwelling: int | None
    monthly_rent_xof: int | None
    rent_arrears_xof: int | None
    intention: str | None
    priority_needs: list[str] | None
    member_count: int
    head_sex: str | None
    registered_on: date
    enumerator: str | None
    departed_on: date | None = None  # left the place where it is registered: programmes hold its payments
    version: int
    created_at: datetime
    updated_at: datetime


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    given_name: str
    family_name: str
    sex: str
    birth_date: date | None
    age_estimated: bool
    relationship: str
    wg_seeing: int | None
    wg_hearing: int | None
    wg_walking: int | None
    wg_cognition: int | None
    wg_selfcare: int | None
    wg_communication: int | None
    school_attendance: str | None
    specific_needs: list[str] | None
    documents: list[str] | None
    deceased_on: date | None = None
    phone: str | None = None


class RelativeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    relationship: str
    sex: str | None
    age: int | None
    last_known_pcode: str | None
    separated_on: date | None
    whereabouts: str | None = None


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    moved_on: date | None
    from_pcode: str | None
    to_pcode: str | None


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    purpose: str
    given: bool
    lawful_basis: str
    recorded_on: date
    taken_by: str
    withdrawn_on: date | None


class HouseholdDetailOut(HouseholdOut):
    organisation: str
    phone: str | None
    members: list[MemberOut]
    separated_relatives: list[RelativeOut]
    movements: list[MovementOut]
    consents: list[ConsentOut]


class DeletedOut(BaseModel):
    code: str
    deleted_at: datetime
    purge_after: date


class ChangeOut(BaseModel):
    field: str
    before: Any
    after: Any


class HistoryEntryOut(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str | None
    changes: list[ChangeOut]
    before: dict[str, Any]


class ImportOut(BaseModel):
    status: str
    batch_id: int | None
    submissions: int
    households_written: int
    people_written: int
    households_skipped: int
    households_rejected: int
    problem_count: int
    problems: list[ProblemOut]
    duplicate_check: str | None = Field(None, description="What the check of the new people against the "
                                                          "registry found (possible duplicates), or why not.")


class SummaryRowOut(BaseModel):
    admin1_pcode: str | None
    admin1_name: str | None
    population_group: str
    households: int
    people: int
    female_headed: int


class SummaryTotalOut(BaseModel):
    households: int
    people: int
    female_headed: int


class SummaryOut(BaseModel):
    rows: list[SummaryRowOut]
    total: SummaryTotalOut
