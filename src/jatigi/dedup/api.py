"""The review queue's JSON API: list pairs, read one with its explanation, decide, list runs.

A run over the whole registry is long: it is started from the command line (`jatigi dedup run`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from jatigi.core.authz import Actor, Permission
from jatigi.dedup import service
from jatigi.dedup.schemas import (
    DecisionIn,
    DecisionOut,
    FieldWeightOut,
    PairDetailOut,
    PairOut,
    PairPage,
    PersonBriefOut,
    RecordOut,
    RunOut,
)
from jatigi.web.deps import SessionDep, require

router = APIRouter(prefix="/dedup", tags=["dedup"])

Reviewer = Annotated[Actor, Depends(require(Permission.DEDUP_REVIEW))]


def _brief(p: service.PersonBrief) -> PersonBriefOut:
    return PersonBriefOut(person_id=p.person_id, name=p.name, sex=p.sex, birth_date=p.birth_date,
                          household_code=p.household_code, organisation=p.org)


@router.get("/pairs", response_model=PairPage)
def list_pairs(session: SessionDep, actor: Reviewer,
               status: str | None = Query("pending", description="pending, confirmed, rejected, merged, unmerged; "
                                                                  "empty for all."),
               kind: str | None = Query(None, description="registry or import."),
               band: str | None = Query(None, description="probable or possible."),
               org: str | None = Query(None, description="Acronym of either household's organisation."),
               limit: int = Query(service.PAGE_SIZE, ge=1, le=500), offset: int = Query(0, ge=0)) -> PairPage:
    filters = service.Filters(status=status or None, kind=kind or None, band=band or None, org=org or None)
    page = service.queue(session=session, actor=actor, filters=filters, limit=limit, offset=offset)
    return PairPage(total=page.total, limit=page.limit, offset=page.offset, items=[
        PairOut(id=r.id, status=r.status, kind=r.kind, band=r.band, match_probability=r.probability,
                a=_brief(r.a), b=_brief(r.b)) for r in page.rows])


def _record(side: service.Side) -> RecordOut:
    p, hh = side.person, side.household
    return RecordOut(person_id=p.id, given_name=p.given_name, family_name=p.family_name, sex=p.sex,
                     birth_date=p.birth_date, age_estimated=bool(p.age_estimated), relationship=p.relationship,
                     phone=side.phone, phone_note=side.phone_note, household_code=hh.code, organisation=side.org,
                     place=side.place, registered_on=hh.registered_on, merged_with=side.linked)


def _detail(d: service.PairDetail) -> PairDetailOut:
    pair = d.pair
    return PairDetailOut(
        id=pair.id, status=pair.status, kind=pair.kind, band=pair.band, match_probability=pair.match_probability,
        match_weight=pair.match_weight, prior_weight=d.prior, a=_record(d.a), b=_record(d.b),
        explanation=[FieldWeightOut(field=f.field, level=f.level, weight=f.weight) for f in d.fields],
        allowed_decisions=d.allowed, household_pair_id=d.household_pair_id,
        history=[DecisionOut(**h.__dict__) for h in d.history])


@router.get("/pairs/{pair_id}", response_model=PairDetailOut)
def get_pair(pair_id: int, session: SessionDep, actor: Reviewer) -> PairDetailOut:
    return _detail(service.get_pair(session=session, actor=actor, pair_id=pair_id))


@router.post("/pairs/{pair_id}/decision", response_model=PairDetailOut)
def decide(pair_id: int, body: DecisionIn, session: SessionDep, actor: Reviewer) -> PairDetailOut:
    service.decide(session=session, actor=actor, pair_id=pair_id, action=body.decision, note=body.note)
    return _detail(service.get_pair(session=session, actor=actor, pair_id=pair_id))


@router.get("/runs", response_model=list[RunOut])
def list_runs(session: SessionDep, actor: Reviewer, limit: int = Query(20, ge=1, le=200)) -> list[RunOut]:
    return [RunOut.model_validate(r) for r in service.runs(session=session, actor=actor, limit=limit)]
