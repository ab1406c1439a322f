"""Pydantic shapes of the protection case API (/api/v1/protection/cases).

What comes in is checked field by field by the case services (protection.cases, case_work,
incidents), which name the field, the value and what is accepted; here only lengths and types.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from jatigi.protection import case_work, cases, incidents


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_type: str = Field(max_length=20, description="gbv, child_protection, tracing or general.")
    sex: str = Field(max_length=8, description="f, m or unknown.")
    summary: str = Field(max_length=cases.MAX_SUMMARY, description="What brings the person (sealed).")
    area_pcode: str = Field(max_length=32, description="The P-code of the area, e.g. ML090104.")
    may_call: str = Field(max_length=3, description="yes or no: the survivor's choice.")
    given_name: str = Field("", max_length=cases.MAX_NAME, description="Sealed.")
    family_name: str = Field("", max_length=cases.MAX_NAME, description="Sealed.")
    birth_date: date | None = Field(None, description="Sealed; or give the age.")
    age: int | None = Field(None, ge=0, le=cases.MAX_AGE, description="Years; gives the age group.")
    phone: str = Field("", max_length=cases.MAX_PHONE, description="Sealed.")
    address: str = Field("", max_length=cases.MAX_ADDRESS, description="Sealed.")
    call_when: str = Field("", max_length=cases.MAX_CONTACT_TEXT, description="When one may call (sealed).")
    ask_for: str = Field("", max_length=cases.MAX_NAME, description="The name to ask for (sealed).")
    contact_notes: str = Field("", max_length=cases.MAX_CONTACT_TEXT, description="Other safety instructions.")
    risk_level: str = Field("medium", max_length=10, description="low, medium, high or critical.")
    household: str = Field("", max_length=16, description="A registry household's code you may see.")
    supervisor: str = Field("", max_length=80, description="A supervisor's user name; default: the only one.")
    opened_on: date | None = Field(None, description="Default: today.")


class ContactOut(BaseModel):
    may_call: bool
    call_when: str | None
    ask_for: str | None
    notes: str | None


class PersonOut(BaseModel):
    name: str | None
    given_name: str | None
    family_name: str | None
    birth_date: str | None
    age: int | None
    phone: str | None
    address: str | None


class CaseSummary(BaseModel):
    code: str
    survivor_code: str
    shown_as: str = Field(description="The name (non-GBV cases) or the survivor code (GBV cases).")
    case_type: str
    state: str
    stage: str
    risk_level: str
    sex: str | None
    age_group: str | None
    area_pcode: str | None
    opened_on: date
    closed_on: date | None
    caseworker: str
    your_role: str


class CasePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CaseSummary]


class ConsentOut(BaseModel):
    id: int
    purpose: str
    organisation: str | None
    granted: bool
    lawful_basis: str
    given_by: str
    given_on: date
    withdrawn: bool


class EntryOut(BaseModel):
    id: int
    kind: str
    service_type: str | None
    status: str
    due_on: date | None
    done_on: date | None
    text: str | None
    created_at: datetime


class IncidentOut(BaseModel):
    id: int
    incident_type: str
    incident_date: date | None
    incident_month: str
    report_date: date
    area_pcode: str | None
    classification: dict[str, str | bool | None] = Field(description="The recorder's coded fields.")
    account: str | None
    perpetrator_identity: str | None


class StepOut(BaseModel):
    at: datetime
    by: str
    field: str
    from_value: str | None
    to_value: str
    reason: str | None


class CaseOut(BaseModel):
    code: str
    survivor_code: str
    case_type: str
    state: str
    stage: str
    risk_level: str
    sex: str | None
    age_group: str | None
    area_pcode: str | None
    household: str | None
    opened_on: date
    closure_reason: str | None
    closed_on: date | None
    reopened_count: int
    caseworker: str
    supervisor: str
    name_shown: bool
    person: PersonOut | None = Field(description="Null while a GBV survivor's name is hidden (ask show_name=true).")
    contact: ContactOut
    summary: str | None
    shared_with: list[str]
    may_write: bool
    consents: list[ConsentOut]
    incidents: list[IncidentOut]
    entries: list[EntryOut]
    history: list[StepOut]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=12, description="assessment, plan, service, follow_up or note.")
    text: str = Field(max_length=case_work.MAX_ENTRY, description="Sealed.")
    service_type: str = Field("", max_length=20, description="For plan and service: a service type.")
    due_on: date | None = Field(None, description="For plan: when it is due.")


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_type: str = Field(max_length=24, description="One of the six GBVIMS core types.")
    incident_date: date | None = None
    incident_month: str = Field("", max_length=7, description="YYYY-MM, when the day is not known.")
    report_date: date | None = None
    area_pcode: str = Field("", max_length=32)
    place_type: str = Field("", max_length=24)
    time_of_day: str = Field("", max_length=16)
    displacement_at_incident: str = Field("", max_length=24)
    displacement_at_report: str = Field("", max_length=24)
    survivor_age_group: str = Field("", max_length=8)
    survivor_sex: str = Field("", max_length=8)
    marital_status: str = Field("", max_length=12)
    disability: str = Field("", max_length=8, description="yes, no or unknown.")
    unaccompanied_or_separated: str = Field("", max_length=8)
    previous_incidents: str = Field("", max_length=8)
    perpetrator_count: str = Field("", max_length=8)
    perpetrator_sex: str = Field("", max_length=8)
    perpetrator_age_group: str = Field("", max_length=8)
    perpetrator_relationship: str = Field("", max_length=24)
    perpetrator_occupation: str = Field("", max_length=24)
    referred_by: str = Field("", max_length=24)
    account: str = Field("", max_length=incidents.MAX_ACCOUNT, description="Sealed.")
    perpetrator_identity: str = Field("", max_length=incidents.MAX_PERPETRATOR, description="Sealed.")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=12, description="services, referral, reporting or tracing.")
    granted: bool = True
    lawful_basis: str = Field("consent", max_length=20)
    given_by: str = Field("survivor", max_length=12)
    given_on: date | None = None
    organisation: str = Field("", max_length=40, description="For referral: the organisation's acronym.")


class ClosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closure_reason: str = Field(max_length=30, description="One of the closure reasons.")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=case_work.MAX_REASON, description="Why (sealed).")


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colleague: str = Field(max_length=80, description="The colleague's user name.")
    reason: str = Field("", max_length=case_work.MAX_REASON, description="Why they need to know (sealed).")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colleague: str = Field(max_length=80)


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field("", max_length=20, description="A new stage, or empty.")
    risk_level: str = Field("", max_length=10, description="A new risk level, or empty.")
    caseworker: str = Field("", max_length=80, description="Supervisor only: give the case to this user.")
    supervisor: str = Field("", max_length=80, description="Supervisor only: hand the supervision to this user.")
    reason: str = Field("", max_length=case_work.MAX_REASON, description="For a reassignment (sealed).")
