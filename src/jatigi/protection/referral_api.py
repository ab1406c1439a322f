"""The JSON API of referrals: the referrals sent (of one's cases) and received (by one's
organisation), send one, read one, and answer it — accept, decline, complete — or withdraw it.

Thin: protection.referrals checks consent, need to know and permissions, and audits. A referral
or a case one may not see answers 404 with the same message as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.assistance.schemas import refused
from jatigi.core.authz import Actor, Permission
from jatigi.protection import policies
from jatigi.protection import referrals as ref
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection referrals"])

Receiver = Annotated[Actor, Depends(require(Permission.PROTECTION_REFERRAL_RECEIVE))]
Writer = Annotated[Actor, Depends(require(Permission.PROTECTION_CASE_WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."},
                                            404: {"description": "No such referral or case that you may see."}}


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case: str = Field(max_length=20, description="The case's code, CAS-….")
    service_id: int | None = Field(None, ge=1, le=2**31 - 1, description="A service of the directory; or give "
                                                                          "organisation and service_type.")
    organisation: str | None = Field(None, max_length=40, description="The receiving organisation's acronym.")
    service_type: str | None = Field(None, max_length=24)
    urgent: bool = False
    note: str | None = Field(None, max_length=ref.MAX_NOTE, description="For the receiving organisation (sealed).")
    share_identity: bool = Field(False, description="Share the name and contact: needs the survivor's consent to a "
                                                    "referral to that organisation.")
    override_reason: str | None = Field(None, max_length=ref.MAX_OVERRIDE,
                                        description="The case's supervisor only: send without consent, saying why "
                                                    "(at least 15 characters); audited.")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=ref.MAX_NOTE, description="Sealed; required to decline.")
    outcome: str | None = Field(None, max_length=20, description="To complete: one of the referral outcomes.")


class ReferralSummary(BaseModel):
    code: str
    case: str | None = Field(description="The case's code: only for the sending side.")
    from_organisation: str
    to_organisation: str
    service_type: str
    service: str | None
    urgent: bool
    state: str
    outcome: str | None
    sent_at: datetime
    responded_at: datetime | None
    consent_withdrawn: bool


class ReferralOut(ReferralSummary):
    with_consent: bool | None = Field(description="Sending side: sent with consent (false: an override).")
    consent_active: bool | None = Field(description="Sending side: the consent still holds.")
    override_reason: str | None
    area: str | None = Field(description="Where the case is: what the receiving side needs to decide.")
    identity_shared: bool = Field(description="Whether the name and contact are shared with the receiver.")
    accepted_by: str | None = Field(description="The named receiver, who alone of the receiving side reads "
                                                "what was shared.")
    shared: dict[str, Any] = Field(description="What was shared: only for the case's caseworker and supervisor and "
                                               "the named receiver once accepted; empty otherwise.")
    shared_hidden: str | None = Field(description="Why `shared` is empty.")
    response: dict[str, Any]
    may: list[str] = Field(description="What you may do now: accept, decline, complete, withdraw.")


class ReferralPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReferralSummary]


def _summary(row: ref.ReferralRow) -> ReferralSummary:
    r = row.referral
    return ReferralSummary(code=r.code, case=row.case_code, from_organisation=row.from_org, to_organisation=row.to_org,
                           service_type=r.service_type, service=row.service_name, urgent=r.urgent, state=r.state,
                           outcome=r.outcome, sent_at=r.sent_at, responded_at=r.responded_at,
                           consent_withdrawn=row.consent_withdrawn)


def _out(v: ref.ReferralView) -> ReferralOut:
    r = v.referral
    may = [name for name, ok in (("accept", v.may_accept), ("decline", v.may_decline), ("complete", v.may_complete),
                                 ("withdraw", v.may_withdraw)) if ok]
    return ReferralOut(code=r.code, case=v.case_code, from_organisation=v.from_org, to_organisation=v.to_org,
                       service_type=r.service_type, service=v.service.name if v.service else None, urgent=r.urgent,
                       state=r.state, outcome=r.outcome, sent_at=r.sent_at, responded_at=r.responded_at,
                       consent_withdrawn=v.sender and v.consent_active is False and r.state in ref.OPEN_STATES,
                       with_consent=(r.consent_id is not None) if v.sender else None, consent_active=v.consent_active,
                       override_reason=v.override_reason if v.sender else None, area=v.area_name,
                       identity_shared=v.identity_shared, accepted_by=v.accepted_by, shared=v.shared,
                       shared_hidden=v.hidden_note, response=v.response, may=may)


@router.get("/protection/referrals", response_model=ReferralPage, responses=REFUSED)
def list_referrals(session: SessionDep, actor: Receiver, box: Literal["received", "sent"] = "received",
                   state: str = Query("", max_length=12), limit: int = Query(ref.PAGE_SIZE, ge=1, le=500),
                   offset: int = Query(0, ge=0, le=2**62)) -> ReferralPage | JSONResponse:
    """Referrals received by your organisation (box=received), or sent for the cases you need to know (box=sent)."""
    lister = ref.sent_referrals if box == "sent" else ref.received_referrals
    try:
        total, rows = lister(session, actor, state=state, limit=limit, offset=offset)
    except ref.ReferralInvalid as exc:
        return refused(exc.problems, {"state": state})
    return ReferralPage(total=total, limit=limit, offset=offset, items=[_summary(r) for r in rows])


@router.post("/protection/referrals", response_model=ReferralOut, status_code=status.HTTP_201_CREATED,
             responses=REFUSED)
def send_referral(body: ReferralIn, session: SessionDep, actor: Writer) -> ReferralOut | JSONResponse:
    """Refer a case: only with the survivor's consent to a referral to the receiving organisation, or by the case's
    supervisor without it, with the reason (audited)."""
    case = policies.get_case(session, actor, body.case)
    new = ref.NewReferral(service_id=body.service_id, organisation=body.organisation or "",
                          service_type=body.service_type or "", urgent=body.urgent, note=body.note or "",
                          share_identity=body.share_identity, override_reason=body.override_reason or "")
    try:
        referral = ref.send_referral(session, actor, case, new)
    except ref.ReferralInvalid as exc:
        return refused(exc.problems, body.model_dump())
    return _out(ref.view_referral(session, actor, referral.code))


@router.get("/protection/referrals/{code}", response_model=ReferralOut, responses=REFUSED)
def get_referral(code: str, session: SessionDep, actor: Receiver) -> ReferralOut:
    """One referral: the receiving side never reads the case; before accepting, only what is needed to decide;
    once accepted, the named receiver reads the shared summary. The read is audited."""
    return _out(ref.view_referral(session, actor, code))


def _answered(session: SessionDep, actor: Actor, code: str, body: AnswerIn, action: str) -> ReferralOut | JSONResponse:
    try:
        if action == "accept":
            ref.accept_referral(session, actor, code, body.note or "")
        elif action == "decline":
            ref.decline_referral(session, actor, code, body.note or "")
        elif action == "complete":
            ref.complete_referral(session, actor, code, body.outcome or "", body.note or "")
        else:
            ref.withdraw_referral(session, actor, code, body.note or "")
    except ref.ReferralInvalid as exc:
        return refused(exc.problems, body.model_dump())
    return _out(ref.view_referral(session, actor, code))


@router.post("/protection/referrals/{code}/accept", response_model=ReferralOut, responses=REFUSED)
def accept(code: str, body: AnswerIn, session: SessionDep, actor: Receiver) -> ReferralOut | JSONResponse:
    """The receiving organisation takes the referral."""
    return _answered(session, actor, code, body, "accept")


@router.post("/protection/referrals/{code}/decline", response_model=ReferralOut, responses=REFUSED)
def decline(code: str, body: AnswerIn, session: SessionDep, actor: Receiver) -> ReferralOut | JSONResponse:
    """The receiving organisation cannot take it; the note says why."""
    return _answered(session, actor, code, body, "decline")


@router.post("/protection/referrals/{code}/complete", response_model=ReferralOut, responses=REFUSED)
def complete(code: str, body: AnswerIn, session: SessionDep, actor: Receiver) -> ReferralOut | JSONResponse:
    """The receiving organisation records the outcome of an accepted referral."""
    return _answered(session, actor, code, body, "complete")


@router.post("/protection/referrals/{code}/withdraw", response_model=ReferralOut, responses=REFUSED)
def withdraw(code: str, body: AnswerIn, session: SessionDep, actor: Writer) -> ReferralOut | JSONResponse:
    """The case's caseworker or supervisor takes the referral back."""
    return _answered(session, actor, code, body, "withdraw")
