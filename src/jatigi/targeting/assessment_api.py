"""Household assessments in the JSON API: list them with their indicators, record one, delete one.

Thin: the service (`targeting.assessments`) checks who may see and write, checks the values and
audits. A refused assessment answers 422 with every problem: field, value and what is accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.registry.api import _if_match
from jatigi.registry.schemas import ProblemOut, ProblemsOut
from jatigi.targeting import assessments as service
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["targeting"])

ReadActor = Annotated[Actor, Depends(require(Permission.REGISTRY_HOUSEHOLD_READ))]
WriteActor = Annotated[Actor, Depends(require(Permission.TARGETING_ASSESSMENT_WRITE))]
# Assessments have 64-bit keys: a larger id is refused with a message, not sent to the database.
AssessmentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The assessment's id.")]


class AssessmentIn(BaseModel):
    """The date, the enumerator, and the answers under WFP's variable names (FCSStap, rCSIBorrow…)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "assessed_on": "2024-03-05", "enumerator": "Awa Traoré", "FCSStap": 7, "FCSPulse": 3, "FCSDairy": 1,
        "FCSPr": 2, "FCSVeg": 5, "FCSFruit": 1, "FCSFat": 7, "FCSSugar": 7, "FCSCond": 7}})

    assessed_on: str | None = Field(None, description="YYYY-MM-DD or DD/MM/YYYY.")
    enumerator: str | None = None


class AssessmentOut(BaseModel):
    id: int
    assessed_on: date
    source: str
    enumerator: str | None
    version: int
    created_at: datetime
    household_size_from_registry: bool = Field(
        description="HHSize was not asked: the household's number of members was used.")
    answers: dict[str, int | None]
    indicators: dict[str, float | int | str | None] = Field(
        description="Computed now from the answers; null where a module was not assessed.")


class AssessmentCreatedOut(BaseModel):
    id: int
    version: int


class AssessmentDeletedOut(BaseModel):
    id: int
    deleted_at: datetime


def _out(row: service.AssessmentRow) -> AssessmentOut:
    return AssessmentOut(id=row.id, assessed_on=row.assessed_on, source=row.source, enumerator=row.enumerator,
                         version=row.version, created_at=row.created_at,
                         household_size_from_registry=row.size_from_registry, answers=row.answers,
                         indicators=row.indicators)


@router.get("/households/{code}/assessments", response_model=list[AssessmentOut])
def list_assessments(code: str, session: SessionDep, actor: ReadActor) -> list[AssessmentOut]:
    return [_out(r) for r in service.assessments_of(session=session, actor=actor, code=code)]


@router.post("/households/{code}/assessments", status_code=status.HTTP_201_CREATED,
             response_model=AssessmentCreatedOut, responses={422: {"model": ProblemsOut}})
def record_assessment(code: str, body: AssessmentIn, session: SessionDep, actor: WriteActor,
                      response: Response) -> Any:
    try:
        a = service.record_assessment(session=session, actor=actor, code=code, answers=dict(body.model_extra or {}),
                                      assessed_on=body.assessed_on, enumerator=body.enumerator, source="api")
    except service.AssessmentRefused as exc:
        problems = [ProblemOut(**{**p.__dict__, "sheet": "request"}) for p in exc.problems]
        out = ProblemsOut(detail=_("The assessment was not recorded: {n} problems.", n=len(problems)),
                          problems=problems, problem_count=len(problems))
        return JSONResponse(out.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    response.headers["Location"] = f"/api/v1/households/{code.strip().upper()}/assessments"
    return AssessmentCreatedOut(id=a.id, version=a.version)


@router.delete("/households/{code}/assessments/{assessment_id}", response_model=AssessmentDeletedOut,
               responses={409: {"description": "The assessment was changed since that version."}})
def delete_assessment(code: str, assessment_id: AssessmentId, session: SessionDep, actor: WriteActor,
                      if_match: Annotated[str | None, Header()] = None) -> AssessmentDeletedOut:
    a = service.delete_assessment(session=session, actor=actor, code=code, assessment_id=assessment_id,
                                  expected_version=_if_match(if_match))
    assert a.deleted_at is not None
    return AssessmentDeletedOut(id=a.id, deleted_at=a.deleted_at)
