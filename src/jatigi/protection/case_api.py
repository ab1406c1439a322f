"""The JSON API of protection cases, under /api/v1/protection/cases: list, open, read (the read
audited; a GBV survivor's name only with show_name=true, which is audited too), entries, GBV
incidents, consent, closure (request, approve, send back), reopening, changes (stage, risk,
reassignment) and sharing.

A case one may not see answers 404 with the same message whether it exists or not. Bad input
answers 422 with each field and its reason, in the shape of every other refused request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.protection import case_work, cases, consent, incidents
from jatigi.protection import schemas as s
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection cases"])

Worker = Annotated[Actor, Depends(require(Permission.PROTECTION_CASE_WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."},
                                            404: {"description": "No case with this code that you may see."}}
MAX_OFFSET = 2**62


def refused(problems: list[tuple[str, str]], values: dict[str, Any]) -> JSONResponse:
    shown = [{"sheet": "request", "row": 1, "column": name,
              "value": "" if values.get(name) is None else str(values.get(name))[:80], "message": message}
             for name, message in problems]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(shown)),
                         "problem_count": len(shown), "problems": shown}, status_code=422)


def _case_out(session: Session, actor: Actor, code: str, show_name: bool = False) -> s.CaseOut:
    view = cases.view_case(session, actor, code, reveal_name=show_name)
    c = view.case
    acronyms = case_work.organisation_acronyms(session)
    person = None
    if view.name_shown:
        p = view.person
        person = s.PersonOut(name=cases.name_of(p) or None, given_name=p.get("given_name"),
                             family_name=p.get("family_name"), birth_date=p.get("birth_date"), age=p.get("age"),
                             phone=p.get("phone"), address=p.get("address"))
    return s.CaseOut(
        code=c.code, survivor_code=c.survivor_code, case_type=c.case_type, state=c.state, stage=c.stage,
        risk_level=c.risk_level, sex=c.sex, age_group=c.age_group, area_pcode=c.area_pcode, household=view.household,
        opened_on=c.opened_on, closure_reason=c.closure_reason, closed_on=c.closed_on,
        reopened_count=c.reopened_count, caseworker=view.caseworker, supervisor=view.supervisor,
        name_shown=view.name_shown, person=person,
        contact=s.ContactOut(may_call=bool(view.contact.get("may_call")), call_when=view.contact.get("call_when"),
                             ask_for=view.contact.get("ask_for") or view.contact.get("safe_name"),
                             notes=view.contact.get("notes")),
        summary=view.summary, shared_with=[name for _share, name, _reason in view.shares], may_write=view.may_write,
        consents=[s.ConsentOut(id=k.id, purpose=k.purpose, organisation=acronyms.get(k.organisation_id or 0),
                               granted=k.granted, lawful_basis=k.lawful_basis, given_by=k.given_by,
                               given_on=k.given_on, withdrawn=k.withdrawn_at is not None)
                  for k in consent.consents_of(session, c.id)],
        incidents=[s.IncidentOut(id=i.incident.id, incident_type=i.incident.incident_type,
                                 incident_date=i.incident.incident_date,
                                 incident_month=i.incident.incident_month.isoformat()[:7],
                                 report_date=i.incident.report_date, area_pcode=i.incident.area_pcode,
                                 classification={name: getattr(i.incident, name)
                                                 for name in (*incidents.CODED, *incidents.FLAGS)},
                                 account=i.account, perpetrator_identity=i.perpetrator_identity)
                   for i in incidents.incidents(session, c)],
        entries=[s.EntryOut(id=e.id, kind=e.kind, service_type=e.service_type, status=e.status, due_on=e.due_on,
                            done_on=e.done_on, text=text, created_at=e.created_at)
                 for e, text in case_work.entries(session, c)],
        history=[s.StepOut(at=t.at, by=t.by, field=t.field, from_value=t.from_value, to_value=t.to_value,
                           reason=t.reason) for t in case_work.transitions(session, c)])


@router.get("/protection/cases", response_model=s.CasePage, responses=REFUSED)
def list_cases(session: SessionDep, actor: Worker, case_type: str = Query("", max_length=20),
               state: str = Query("", max_length=20), risk_level: str = Query("", max_length=10),
               stage: str = Query("", max_length=20), q: str = Query("", max_length=20),
               limit: int = Query(cases.PAGE_SIZE, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_OFFSET),
               ) -> s.CasePage | JSONResponse:
    """The cases you need to know (caseworker, supervisor, shared with you), the most at risk first.
    GBV cases are shown by their survivor code. `q` is a case or survivor code: names cannot be searched."""
    filters = cases.Filters(case_type=case_type, state=state, risk_level=risk_level, stage=stage, q=q)
    try:
        total, rows = cases.list_cases(session, actor, filters, limit=limit, offset=offset)
    except cases.CaseInvalid as exc:
        return refused(exc.problems, filters.query())
    return s.CasePage(total=total, limit=limit, offset=offset, items=[
        s.CaseSummary(code=r.case.code, survivor_code=r.case.survivor_code, shown_as=r.shown_as,
                      case_type=r.case.case_type, state=r.case.state, stage=r.case.stage,
                      risk_level=r.case.risk_level, sex=r.case.sex, age_group=r.case.age_group,
                      area_pcode=r.case.area_pcode, opened_on=r.case.opened_on, closed_on=r.case.closed_on,
                      caseworker=r.caseworker, your_role=r.role) for r in rows])


@router.post("/protection/cases", response_model=s.CaseOut, status_code=status.HTTP_201_CREATED, responses=REFUSED)
def open_case(body: s.CaseIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Open a case at intake; you become its caseworker."""
    values = body.model_dump()
    try:
        case = cases.open_case(session, actor, cases.NewCase(**values))
    except cases.CaseInvalid as exc:
        return refused(exc.problems, values)
    return _case_out(session, actor, case.code)


@router.get("/protection/cases/{code}", response_model=s.CaseOut, responses=REFUSED)
def get_case(code: str, session: SessionDep, actor: Worker, show_name: bool = False) -> s.CaseOut:
    """A case file. The read is audited; show_name=true shows a GBV survivor's name (caseworker or
    supervisor only), which is audited as protection.case.reveal_name."""
    return _case_out(session, actor, code, show_name)


def _done(session: Session, actor: Actor, code: str, values: dict[str, Any], action: Any) -> s.CaseOut | JSONResponse:
    try:
        action()
    except cases.CaseInvalid as exc:
        return refused(exc.problems, values)
    return _case_out(session, actor, code)


@router.post("/protection/cases/{code}/entries", response_model=s.CaseOut, responses=REFUSED)
def add_entry(code: str, body: s.EntryIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Add an assessment, a case plan action, a service given, a follow-up or a note."""
    return _done(session, actor, code, body.model_dump(), lambda: case_work.add_entry(
        session, actor, code, body.kind, body.text, service_type=body.service_type, due_on=body.due_on))


@router.post("/protection/cases/{code}/entries/{entry_id}/done", response_model=s.CaseOut, responses=REFUSED)
def entry_done(code: str, entry_id: int, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Mark a case plan action done."""
    return _done(session, actor, code, {"entry": entry_id},
                 lambda: case_work.complete_entry(session, actor, code, entry_id))


@router.post("/protection/cases/{code}/incident", response_model=s.CaseOut, responses=REFUSED)
def record_incident(code: str, body: s.IncidentIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Record a GBV incident (GBVIMS incident recorder fields) on a GBV case."""
    values = body.model_dump()
    return _done(session, actor, code, values,
                 lambda: incidents.record_incident(session, actor, code, incidents.NewIncident(**values)))


@router.post("/protection/cases/{code}/consents", response_model=s.CaseOut, responses=REFUSED)
def give_consent(code: str, body: s.ConsentIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Record consent (or its refusal) for a purpose; a referral's names the organisation."""
    return _done(session, actor, code, body.model_dump(), lambda: case_work.give_consent(
        session, actor, code, purpose=body.purpose, granted=body.granted, lawful_basis=body.lawful_basis,
        given_by=body.given_by, given_on=body.given_on, organisation=body.organisation))


@router.post("/protection/cases/{code}/consents/{consent_id}/withdraw", response_model=s.CaseOut,
             responses=REFUSED)
def withdraw_consent(code: str, consent_id: int, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Withdraw a consent: its purpose is no longer allowed."""
    return _done(session, actor, code, {}, lambda: case_work.withdraw_consent(session, actor, code, consent_id))


class ClosureRequestIn(s.ClosureIn):
    confirm_open_items: bool = Field(False, description="Request closure even though case plan actions are still "
                                                        "to do or referrals are still open (sent or accepted).")


@router.post("/protection/cases/{code}/closure-request", response_model=s.CaseOut, responses=REFUSED)
def request_closure(code: str, body: ClosureRequestIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """The caseworker asks the supervisor to close the case, for one of the closure reasons. With
    open plan actions or open referrals, refused (422, listing them) unless confirm_open_items is true."""
    return _done(session, actor, code, body.model_dump(),
                 lambda: case_work.request_closure(session, actor, code, body.closure_reason,
                                                   confirm_open_items=body.confirm_open_items))


@router.post("/protection/cases/{code}/closure-approve", response_model=s.CaseOut, responses=REFUSED)
def approve_closure(code: str, body: s.ReasonIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """The supervisor approves the closure (never the case's own caseworker, nor who requested it)."""
    return _done(session, actor, code, body.model_dump(),
                 lambda: case_work.approve_closure(session, actor, code, body.reason))


@router.post("/protection/cases/{code}/closure-reject", response_model=s.CaseOut, responses=REFUSED)
def reject_closure(code: str, body: s.ReasonIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """The supervisor sends the closure back, saying why: the case is open again."""
    return _done(session, actor, code, body.model_dump(),
                 lambda: case_work.reject_closure(session, actor, code, body.reason))


@router.post("/protection/cases/{code}/reopen", response_model=s.CaseOut, responses=REFUSED)
def reopen(code: str, body: s.ReasonIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Reopen a closed case, saying why."""
    return _done(session, actor, code, body.model_dump(), lambda: case_work.reopen(session, actor, code, body.reason))


@router.post("/protection/cases/{code}/change", response_model=s.CaseOut, responses=REFUSED)
def change(code: str, body: s.ChangeIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """Change the stage or the risk level; a supervisor may give the case to another caseworker, or hand its
    supervision to another supervisor."""

    def apply() -> None:
        if body.stage:
            case_work.change_stage(session, actor, code, body.stage)
        if body.risk_level:
            case_work.change_risk(session, actor, code, body.risk_level)
        if body.caseworker:
            case_work.reassign(session, actor, code, body.caseworker, body.reason)
        if body.supervisor:
            case_work.hand_over(session, actor, code, body.supervisor, body.reason)

    return _done(session, actor, code, body.model_dump(), apply)


@router.post("/protection/cases/{code}/shares", response_model=s.CaseOut, responses=REFUSED)
def share(code: str, body: s.ShareIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """The supervisor shares the case with a named colleague (to read), saying why."""
    return _done(session, actor, code, body.model_dump(),
                 lambda: case_work.share(session, actor, code, body.colleague, body.reason))


@router.post("/protection/cases/{code}/shares/revoke", response_model=s.CaseOut, responses=REFUSED)
def revoke_share(code: str, body: s.RevokeIn, session: SessionDep, actor: Worker) -> s.CaseOut | JSONResponse:
    """The supervisor ends a share."""
    return _done(session, actor, code, body.model_dump(),
                 lambda: case_work.revoke_share(session, actor, code, body.colleague))
