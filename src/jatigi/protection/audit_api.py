"""The supervisor's access review in JSON: GET /api/v1/protection/audit (as the page /protection/audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from jatigi.assistance.schemas import refused
from jatigi.core.authz import Actor, Permission
from jatigi.protection import access_review as ar
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection audit"])

Supervisor = Annotated[Actor, Depends(require(Permission.PROTECTION_CASE_SUPERVISE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad filter: each problem with its field."}}


class AccessOut(BaseModel):
    at: datetime
    user: str
    action: str
    case: str
    ip: str | None


class AccessesOut(BaseModel):
    total: int
    offset: int
    accesses: list[AccessOut]


@router.get("/protection/audit", response_model=AccessesOut, responses=REFUSED)
def review(session: SessionDep, actor: Supervisor, case: str = Query("", max_length=40),
           user: str = Query("", max_length=100), start: str = Query("", max_length=20, description="YYYY-MM-DD"),
           end: str = Query("", max_length=20, description="YYYY-MM-DD"), offset: int = Query(0, ge=0, le=10**7),
           limit: int = Query(ar.PAGE_SIZE, ge=1, le=500)) -> AccessesOut | JSONResponse:
    """Audited accesses to the cases the caller supervises, newest first; the reading is audited."""
    filters = ar.Filters(case=case.strip(), user=user.strip(), start=start.strip(), end=end.strip())
    problems = filters.problems()
    if problems:
        return refused(problems, {"case": case, "user": user, "start": start, "end": end})
    found = ar.review(session, actor, filters, offset=offset, limit=limit)
    return AccessesOut(total=found.total, offset=offset, accesses=[
        AccessOut(at=r.at, user=r.username, action=r.action, case=r.case_code, ip=r.ip) for r in found.rows])
