"""The JSON API of family tracing: list and record requests, read one with its matches, search
now, confirm or reject a match, end a request (reunified or closed, with a note).

Thin: protection.tracing checks need to know, consent and permissions, and audits. A request one
may not see answers 404 with the same message whether it exists or not. Bad input answers 422
with each field and its reason.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.protection import tracing
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection"])

Tracer = Annotated[Actor, Depends(require(Permission.PROTECTION_TRACING_WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}
MAX_OFFSET = 2**62


class PersonSought(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(max_length=tracing.MAX_NAME)
    family_name: str | None = Field(None, max_length=tracing.MAX_NAME)
    sex: str | None = Field(None, max_length=8, description="f, m or unknown.")
    birth_year: int | None = Field(None, ge=1900, le=2100)
    age: int | None = Field(None, ge=0, le=120, description="When the birth year is not known.")
    last_seen_place: str | None = Field(None, max_length=tracing.MAX_TEXT, description="Sealed.")
    last_seen_on: date | None = None


class Inquirer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(max_length=tracing.MAX_NAME)
    family_name: str | None = Field(None, max_length=tracing.MAX_NAME)
    sex: str | None = Field(None, max_length=8)
    contact: str | None = Field(None, max_length=tracing.MAX_TEXT, description="How to reach them (sealed).")


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sought: PersonSought
    inquirer: Inquirer
    relationship: str = Field(max_length=20, description="Of the person sought to the inquirer: child, parent, "
                                                         "spouse, sibling, grandparent, other_relative.")
    separated_on: date | None = None
    last_seen_pcode: str | None = Field(None, max_length=32)
    case: str | None = Field(None, max_length=20, description="A case you may see (CAS-…); its consent to tracing "
                                                              "is then required to search.")
    inquirer_consented: bool = Field(False, description="Without a case: the inquirer consented to tracing.")


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(tracing.DEFAULT_THRESHOLD, gt=0, lt=1)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "reject"]


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["reunified", "closed"]
    note: str = Field(max_length=tracing.MAX_NOTE, description="What happened (sealed).")


class RequestSummary(BaseModel):
    code: str
    state: str
    relationship: str | None
    separated_on: date | None
    last_seen_pcode: str | None
    case: str | None
    proposed_matches: int
    created_at: datetime


class RequestPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RequestSummary]


class MatchOut(BaseModel):
    id: int
    kind: str = Field(description="person (of the registry) or request (another tracing request).")
    role: str | None = Field(None, description="For a request: whose person matched, sought or inquirer.")
    match_probability: float
    state: str
    given_name: str
    family_name: str
    sex: str | None
    birth_year: int | None
    area_pcode: str | None
    organisation: str = Field(description="The organisation to contact.")
    other_request: str | None = Field(None, description="The other request's code, when of your organisation.")
    why: list[dict[str, str]]


class RequestOut(BaseModel):
    code: str
    state: str
    relationship: str | None
    separated_on: date | None
    last_seen_pcode: str | None
    case: str | None
    consented: bool
    sought: dict[str, Any]
    inquirer: dict[str, Any]
    outcome: dict[str, Any]
    matches: list[MatchOut]


class SearchOut(BaseModel):
    code: str
    model: str = Field(description="trained (the registry's model from `jatigi dedup run`) or default.")
    compared: int = Field(description="People of the registry compared after blocking by name.")
    new: int
    proposed: int
    threshold: float


def refused(problems: list[tuple[str, str]], values: dict[str, Any]) -> JSONResponse:
    shown = [{"sheet": "request", "row": 1, "column": name,
              "value": "" if values.get(name) is None else str(values.get(name))[:80], "message": message}
             for name, message in problems]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(shown)),
                         "problem_count": len(shown), "problems": shown}, status_code=422)


def _out(d: tracing.Detail) -> RequestOut:
    r = d.request
    return RequestOut(
        code=r.code, state=r.state, relationship=r.relationship, separated_on=r.separated_on,
        last_seen_pcode=r.last_seen_pcode, case=d.case_code, consented=d.consented, sought=d.sought,
        inquirer=d.inquirer, outcome=d.outcome,
        matches=[MatchOut(id=c.match_id, kind=c.kind, role=c.role, match_probability=c.probability, state=c.state,
                          given_name=c.given_name, family_name=c.family_name, sex=c.sex, birth_year=c.birth_year,
                          area_pcode=c.area_pcode, organisation=c.organisation, other_request=c.other_code,
                          why=[{"field": f, "level": _(level)} for f, level in c.why]) for c in d.candidates])


@router.get("/protection/tracing", response_model=RequestPage, responses=REFUSED)
def list_requests(session: SessionDep, actor: Tracer, state: str = Query("", max_length=12),
                  limit: int = Query(tracing.PAGE_SIZE, ge=1, le=500),
                  offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> RequestPage | JSONResponse:
    """The tracing requests you need to know, newest first, with their matches to check."""
    try:
        total, rows = tracing.list_requests(session, actor, state=state, offset=offset, limit=limit)
    except tracing.TracingInvalid as exc:
        return refused(exc.problems, {"state": state})
    return RequestPage(total=total, limit=limit, offset=offset, items=[
        RequestSummary(code=r.code, state=r.state, relationship=r.relationship, separated_on=r.separated_on,
                       last_seen_pcode=r.last_seen_pcode, case=r.case_code, proposed_matches=r.proposed,
                       created_at=r.created_at) for r in rows])


@router.post("/protection/tracing", response_model=RequestOut, status_code=status.HTTP_201_CREATED,
             responses=REFUSED)
def create_request(body: RequestIn, session: SessionDep, actor: Tracer) -> RequestOut | JSONResponse:
    """Record a tracing request (sealed) and, with consent to tracing, search for matches at once."""
    s, i = body.sought, body.inquirer
    new = tracing.NewRequest(
        sought_given_name=s.given_name, sought_family_name=s.family_name or "", sought_sex=s.sex or "",
        sought_birth_year=str(s.birth_year or ""), sought_age="" if s.age is None else str(s.age),
        last_seen_place=s.last_seen_place or "", last_seen_on=s.last_seen_on.isoformat() if s.last_seen_on else "",
        last_seen_pcode=body.last_seen_pcode or "", relationship=body.relationship,
        separated_on=body.separated_on.isoformat() if body.separated_on else "", inquirer_given_name=i.given_name,
        inquirer_family_name=i.family_name or "", inquirer_sex=i.sex or "", inquirer_contact=i.contact or "",
        case=body.case or "", inquirer_consented=body.inquirer_consented)
    try:
        created = tracing.create_request(session, actor, new)
    except tracing.TracingInvalid as exc:
        return refused(exc.problems, {"relationship": body.relationship, "last_seen_pcode": body.last_seen_pcode,
                                      "case": body.case})
    return _out(tracing.request_detail(session, actor, created.code))


@router.get("/protection/tracing/{code}", response_model=RequestOut)
def get_request(code: str, session: SessionDep, actor: Tracer) -> RequestOut:
    """One request opened, with its matches side by side and why they matched; the read is audited."""
    return _out(tracing.request_detail(session, actor, code))


@router.post("/protection/tracing/{code}/search", response_model=SearchOut, responses=REFUSED)
def search(code: str, body: SearchIn, session: SessionDep, actor: Tracer) -> SearchOut:
    """Search the registry and the other requests now; matches at or above the threshold are kept to check."""
    done = tracing.match_request(session, actor, code, threshold=body.threshold)
    return SearchOut(code=done.request.code, model=done.model, compared=done.compared, new=done.new,
                     proposed=done.proposed, threshold=done.threshold)


@router.post("/protection/tracing/{code}/matches/{match_id}", response_model=RequestOut)
def decide(code: str, body: DecisionIn, session: SessionDep, actor: Tracer,
           match_id: int = Path(ge=1, le=MAX_OFFSET)) -> RequestOut:
    """Confirm a match (the request is then matched) or reject it."""
    tracing.decide_match(session, actor, code, match_id, body.decision)
    return _out(tracing.request_detail(session, actor, code))


@router.post("/protection/tracing/{code}/close", response_model=RequestOut, responses=REFUSED)
def close(code: str, body: CloseIn, session: SessionDep, actor: Tracer) -> RequestOut | JSONResponse:
    """End a request: reunified (after a confirmed match) or closed, with a note."""
    try:
        tracing.close_request(session, actor, code, body.outcome, body.note)
    except tracing.TracingInvalid as exc:
        return refused(exc.problems, {"outcome": body.outcome})
    return _out(tracing.request_detail(session, actor, code))
