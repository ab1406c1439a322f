"""The JSON API of complaints and feedback: list (with counts) and record complaints, read one with
its history, and move it: assign, resolve, close, reopen.

Thin: assistance.complaints checks permissions, keeps sensitive complaints to protection focal
points (for anybody else they are not listed, not counted, and "not found") and audits. Bad input
answers 422 with each field and its reason, in the shape of every other refused request.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.assistance import complaints as cmp
from jatigi.assistance.models import Complaint
from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["complaints"])

Handler = Annotated[Actor, Depends(require(Permission.ASSISTANCE_COMPLAINT_WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}
MAX_OFFSET = 2**62


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=20, description="hotline, help_desk, sms, community_meeting, suggestion_box, "
                                                    "visit.")
    category: str = Field(max_length=24, description="One of the complaint categories (see docs/ASSISTANCE.md).")
    priority: str = Field("medium", max_length=8, description="high, medium or low.")
    received_on: date
    respond_by: date | None = Field(None, description="Default: received_on plus the days of the priority.")
    description: str = Field(max_length=cmp.MAX_DESCRIPTION, description="What the person said (sealed).")
    name: str | None = Field(None, max_length=cmp.MAX_NAME, description="The complainant's name (sealed).")
    contact: str | None = Field(None, max_length=cmp.MAX_CONTACT, description="How to reach them (sealed).")
    programme: str | None = Field(None, max_length=16, description="A programme's code, PRG-0001.")
    household: str | None = Field(None, max_length=16, description="A household's code.")
    payment: str | None = Field(None, max_length=40, description="A payment's reference.")
    sensitive: bool = Field(False, description="Send it confidentially to the protection focal point.")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["assign", "resolve", "close", "reopen"]
    assignee: str | None = Field(None, max_length=80, description="For assign: the user name.")
    resolution: str | None = Field(None, max_length=cmp.MAX_RESOLUTION, description="For resolve (sealed).")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="The version read; refused (409) if it "
                                                                     "changed meanwhile.")


class ComplaintSummary(BaseModel):
    code: str
    state: str
    channel: str
    category: str
    priority: str
    sensitive: bool
    received_on: date
    respond_by: date
    overdue: bool
    resolved_on: date | None
    programme: str | None
    household: str | None
    payment: str | None
    assignee: str | None
    admin1: str | None
    version: int


class TransitionOut(BaseModel):
    at: datetime
    by: str
    from_state: str | None
    to_state: str
    detail: dict[str, Any] | None


class ComplaintOut(ComplaintSummary):
    description: str
    name: str | None
    contact: str | None
    resolution: str | None
    recorded_by: str | None
    history: list[TransitionOut]


class CountsOut(BaseModel):
    total: int
    overdue: int
    by_state: dict[str, int]
    by_category: dict[str, int]


class ComplaintPage(BaseModel):
    total: int
    limit: int
    offset: int
    counts: CountsOut
    items: list[ComplaintSummary]


class RecordedOut(BaseModel):
    code: str
    confidential: bool = Field(description="True when it went to the protection focal point and you may not "
                                           "see it: `complaint` is then empty.")
    message: str
    complaint: ComplaintOut | None


def refused(problems: list[tuple[str, str]], values: dict[str, Any]) -> JSONResponse:
    shown = [{"sheet": "request", "row": 1, "column": name,
              "value": "" if values.get(name) is None else str(values.get(name))[:80], "message": message}
             for name, message in problems]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(shown)),
                         "problem_count": len(shown), "problems": shown}, status_code=422)


def _summary(c: Complaint, programme: str | None, household: str | None, payment: str | None,
             assignee: str | None, overdue: bool) -> dict[str, Any]:
    return {"code": c.code, "state": c.state, "channel": c.channel, "category": c.category, "priority": c.priority,
            "sensitive": c.sensitive, "received_on": c.received_on, "respond_by": c.respond_by, "overdue": overdue,
            "resolved_on": c.resolved_on, "programme": programme, "household": household, "payment": payment,
            "assignee": assignee, "admin1": c.admin1, "version": c.version}


def _out(d: cmp.Details) -> ComplaintOut:
    return ComplaintOut(**_summary(d.complaint, d.programme, d.household, d.payment, d.assignee, d.overdue),
                        description=d.description, name=d.name, contact=d.contact, resolution=d.resolution,
                        recorded_by=d.recorded_by,
                        history=[TransitionOut(at=t.at, by=t.by_name, from_state=t.from_state, to_state=t.to_state,
                                               detail=t.detail) for t in d.history])


@router.get("/complaints", response_model=ComplaintPage, responses=REFUSED)
def list_complaints(session: SessionDep, actor: Handler,
                    state: str = Query("", max_length=12), category: str = Query("", max_length=24),
                    channel: str = Query("", max_length=20), programme: str = Query("", max_length=16),
                    overdue: bool = False, q: str = Query("", max_length=cmp.MAX_SEARCH),
                    limit: int = Query(cmp.PAGE_SIZE, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                    ) -> ComplaintPage | JSONResponse:
    """The complaints you may see, the most urgent first, with counts by state and category."""
    filters = cmp.Filters(state=state, category=category, channel=channel, programme=programme, overdue=overdue, q=q)
    problems = filters.problems()
    if problems:
        return refused(problems, {"state": state, "category": category, "channel": channel, "q": q})
    today = date.today()
    total, rows = cmp.queue(session, actor, filters, limit=limit, offset=offset, today=today)
    counts = cmp.counts(session, actor, today)
    return ComplaintPage(total=total, limit=limit, offset=offset,
                         counts=CountsOut(total=counts.total, overdue=counts.overdue, by_state=counts.by_state,
                                          by_category=counts.by_category),
                         items=[ComplaintSummary(**_summary(r.complaint, r.programme, r.household, r.payment,
                                                            r.assignee, r.overdue)) for r in rows])


@router.post("/complaints", response_model=RecordedOut, status_code=status.HTTP_201_CREATED, responses=REFUSED)
def create_complaint(body: ComplaintIn, session: SessionDep, actor: Handler) -> RecordedOut | JSONResponse:
    """Record a complaint. A sensitive one goes to the protection focal point: unless you are one,
    the answer gives its code and nothing else."""
    values = body.model_dump()
    new = cmp.NewComplaint(channel=body.channel, category=body.category, priority=body.priority,
                           received_on=body.received_on, respond_by=body.respond_by, description=body.description,
                           name=body.name or "", contact=body.contact or "", programme=body.programme or "",
                           household=body.household or "", payment=body.payment or "", sensitive=body.sensitive)
    try:
        complaint = cmp.record(session, actor, new)
    except cmp.ComplaintInvalid as exc:
        return refused(exc.problems, values)
    if not cmp.may_see(actor, complaint):
        return RecordedOut(code=complaint.code, confidential=True, complaint=None, message=_(
            "The complaint {code} is recorded. It went confidentially to the protection focal point, who will "
            "handle it; it does not appear in the general queue.", code=complaint.code))
    return RecordedOut(code=complaint.code, confidential=False, message=_("The complaint {code} is recorded.",
                                                                          code=complaint.code),
                       complaint=_out(cmp.details(session, actor, complaint.code)))


@router.get("/complaints/{code}", response_model=ComplaintOut)
def get_complaint(code: str, session: SessionDep, actor: Handler) -> ComplaintOut:
    """One complaint with what was said, who said it, the resolution and its history; the read is audited."""
    return _out(cmp.details(session, actor, code))


@router.post("/complaints/{code}/transition", response_model=ComplaintOut, responses=REFUSED)
def move_complaint(code: str, body: TransitionIn, session: SessionDep, actor: Handler) -> ComplaintOut | JSONResponse:
    """Assign (an open complaint is then in progress), resolve, close or reopen a complaint."""
    try:
        if body.action == "assign":
            cmp.assign(session, actor, code, body.assignee or "", version=body.version)
        elif body.action == "resolve":
            cmp.resolve(session, actor, code, body.resolution or "", version=body.version)
        elif body.action == "close":
            cmp.close(session, actor, code, version=body.version)
        else:
            cmp.reopen(session, actor, code, version=body.version)
    except cmp.ComplaintInvalid as exc:
        return refused(exc.problems, body.model_dump())
    return _out(cmp.details(session, actor, code))
