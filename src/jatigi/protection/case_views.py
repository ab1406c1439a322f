"""The pages of protection cases: /protection (the cases one needs to know), the intake form, a
case file with its contact safety, consents, incidents, case plan and history, and one form per
action (POST with the CSRF token, problems beside the fields, redirect after success).

Thin: protection.cases, case_work and incidents check need to know and permissions and audit. A
case one may not see answers the 404 page with the message of `policies.not_found`, whether it
exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Conflict, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.core.numbers import whole_number
from jatigi.places.models import AdminUnit
from jatigi.protection import case_work, cases, consent, incidents, policies, referrals, vocab
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)
Worker = Annotated[Actor, Depends(page_require(Permission.PROTECTION_CASE_WRITE))]

step_label = case_work.step_label
step_value = case_work.step_value


def _choices_of(codes: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, _(text)) for code, text in codes.items()]


INTAKE_FIELDS = ("case_type", "given_name", "family_name", "sex", "birth_date", "age", "phone", "address",
                 "may_call", "call_when", "ask_for", "contact_notes", "summary", "risk_level", "area_pcode",
                 "household", "supervisor", "opened_on")
VOCAB: dict[str, Any] = {"case_types": vocab.CASE_TYPES, "case_states": vocab.CASE_STATES,
                         "case_stages": vocab.CASE_STAGES, "risk_levels": vocab.RISK_LEVELS,
                         "closure_reasons": vocab.CLOSURE_REASONS, "sexes": vocab.SEXES,
                         "age_groups": vocab.AGE_GROUPS, "gbv_types": vocab.GBV_TYPES,
                         "consent_purposes": vocab.CONSENT_PURPOSES, "lawful_bases": vocab.LAWFUL_BASES,
                         "consent_givers": vocab.CONSENT_GIVERS, "entry_kinds": vocab.ENTRY_KINDS,
                         "entry_statuses": vocab.ENTRY_STATUSES, "service_types": vocab.SERVICE_TYPES,
                         "may_call_choices": cases.MAY_CALL, "yes_no": incidents.YES_NO,
                         "incident_codes": incidents.CODED, "choices": _choices_of, "labels_of": cases.label,
                         "step_label": step_label, "step_value": step_value}
NOTICES = {
    "opened": N_("The case is open. You are its caseworker."),
    "stage": N_("The stage was changed."),
    "risk": N_("The risk level was changed."),
    "entry": N_("The entry was added."),
    "entry_done": N_("The action is marked done."),
    "incident": N_("The incident was recorded."),
    "consent": N_("The consent was recorded."),
    "withdrawn": N_("The consent was withdrawn: from now on its purpose is not allowed."),
    "closure_requested": N_("Closure requested: the supervisor will approve it or send it back."),
    "closed": N_("The case is closed."),
    "sent_back": N_("The closure was sent back: the case is open."),
    "reopened": N_("The case is open again."),
    "reassigned": N_("The case was given to another caseworker."),
    "handed_over": N_("The supervision of the case was handed over."),
    "shared": N_("The case is shared: the colleague may read it."),
    "revoked": N_("The share was ended: the colleague no longer sees the case."),
}


# ---- the list ------------------------------------------------------------------------------------


@router.get("/protection", response_class=HTMLResponse)
def list_page(request: Request, session: SessionDep, actor: Worker, case_type: str = "", state: str = "",
              risk_level: str = "", stage: str = "", q: str = "", page: str = "1") -> HTMLResponse:
    filters = cases.Filters(case_type=case_type[:30], state=state[:30], risk_level=risk_level[:30],
                            stage=stage[:30], q=q[:60])
    problems = FormProblems.of(filters.problems(), cases.label)
    number = page_number(page)
    total, rows = (0, []) if problems else cases.list_cases(session, actor, filters,
                                                            offset=(number - 1) * cases.PAGE_SIZE)
    pages = max(1, -(-total // cases.PAGE_SIZE))
    query = filters.query()

    def page_url(n: int) -> str | None:
        return f"/protection?{urlencode({**query, 'page': n})}#cases-title" if 1 <= n <= pages else None

    return render(request, "protection/case_list.html", status_code=422 if problems else 200, rows=rows,
                  total=total, filters=filters, errors=problems.by_field, problems=problems.summary, page=number,
                  pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1), **VOCAB)


# ---- intake --------------------------------------------------------------------------------------


def _intake(request: Request, session: Session, actor: Actor, values: dict[str, str],
            problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    return render(request, "protection/case_new.html", status_code=status_code, values=values,
                  errors=problems.by_field, problems=problems.summary,
                  supervisors=cases.supervisors(session, actor), **VOCAB)


@router.get("/protection/cases/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: Worker) -> HTMLResponse:
    values = dict.fromkeys(INTAKE_FIELDS, "") | {"risk_level": "medium", "opened_on": date.today().isoformat()}
    return _intake(request, session, actor, values)


@router.post("/protection/cases/new", response_class=HTMLResponse)
def open_case(request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    values = {name: str(form.get(name) or "") for name in INTAKE_FIELDS}
    try:
        case = cases.open_case(session, actor, cases.NewCase(**values))
    except cases.CaseInvalid as exc:
        return _intake(request, session, actor, values, FormProblems.of(exc.problems, cases.label), status_code=422)
    return RedirectResponse(f"/protection/cases/{case.code}?done=opened", status_code=303)


# ---- the case file -------------------------------------------------------------------------------


def _area(session: Session, pcode: str | None) -> str:
    if not pcode:
        return "—"
    unit = session.get(AdminUnit, pcode)
    return f"{unit.name} ({pcode})" if unit else pcode


def _detail(request: Request, session: Session, actor: Actor, code: str, *, reveal: bool = False,
            problems: FormProblems | None = None, values: dict[str, str] | None = None,
            status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    view = cases.view_case(session, actor, code, reveal_name=reveal)
    case = view.case
    done = request.query_params.get("done", "")
    return render(request, "protection/case_detail.html", status_code=status_code, v=view, c=case,
                  area=_area(session, case.area_pcode), consents=consent.consents_of(session, case.id),
                  org_names=dict(case_work.organisations(session)), org_acronyms=case_work.organisation_acronyms(session),
                  incidents=incidents.incidents(session, case), entries=case_work.entries(session, case),
                  steps=case_work.transitions(session, case), is_caseworker=policies.is_caseworker(actor, case),
                  open_items=case_work.open_items(session, case) if case.state != "closed" else [],
                  requested_by_me=case.state == "closure_requested"
                  and case_work.closure_requester(session, case) == actor.user_id,
                  caseworkers=case_work.caseworkers(session, case) if view.is_supervisor else [],
                  other_supervisors=[s for s in case_work.supervisors_of(session, case)
                                     if s[0] not in (case.supervisor_id, case.caseworker_id)]
                  if view.is_supervisor else [],
                  notice=_(NOTICES[done]) if done in NOTICES and not problems else None,
                  errors=problems.by_field, problems=problems.summary, values=values or {}, when=when,
                  today=date.today().isoformat(), referral_rows=referrals.referrals_of_case(session, actor, case),
                  may_refer=view.may_write and case.state != "closed" and not view.anonymised,
                  may_trace=view.may_write and actor.can(Permission.PROTECTION_TRACING_WRITE), **VOCAB)


@router.get("/protection/cases/{code}", response_class=HTMLResponse)
def detail(code: str, request: Request, session: SessionDep, actor: Worker, show: str = "") -> HTMLResponse:
    return _detail(request, session, actor, code, reveal=show == "name")


def _act(request: Request, session: Session, actor: Actor, code: str, form: Any, done: str,
         action: Callable[[dict[str, str]], object], anchor: str = "", fields: dict[str, str] | None = None,
         ) -> Response:
    """Do the action; on bad input show the case again with the problems beside the fields (`fields`
    renames a service's field to the form's, where two forms of the page ask the same thing)."""
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        action(values)
    except cases.CaseInvalid as exc:
        renamed = [((fields or {}).get(name, name), message) for name, message in exc.problems]
        return _detail(request, session, actor, code, problems=FormProblems.of(renamed, cases.label), values=values,
                       status_code=422)
    except (Conflict, ValidationFailed) as exc:
        return _detail(request, session, actor, code, problems=FormProblems.general(exc.message), values=values,
                       status_code=exc.status_code)
    target = policies.normal_code(code) or code
    return RedirectResponse(f"/protection/cases/{target}?done={done}{anchor}", status_code=303)


def _ticked(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "on", "yes", "true")


def _id(text: str) -> int:
    return whole_number(text, 11) or 0


@router.post("/protection/cases/{code}/stage", response_class=HTMLResponse)
def stage(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "stage",
                lambda v: case_work.change_stage(session, actor, code, v.get("stage", "")))


@router.post("/protection/cases/{code}/risk", response_class=HTMLResponse)
def risk(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "risk",
                lambda v: case_work.change_risk(session, actor, code, v.get("risk_level", "")))


@router.post("/protection/cases/{code}/entries", response_class=HTMLResponse)
def add_entry(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "entry",
                lambda v: case_work.add_entry(session, actor, code, v.get("kind", ""), v.get("text", ""),
                                              service_type=v.get("service_type", ""), due_on=v.get("due_on")),
                "#entries-title")


@router.post("/protection/cases/{code}/entries/{entry_id}/done", response_class=HTMLResponse)
def entry_done(code: str, entry_id: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
               form: Posted) -> Response:
    return _act(request, session, actor, code, form, "entry_done",
                lambda v: case_work.complete_entry(session, actor, code, _id(entry_id)), "#entries-title")


@router.post("/protection/cases/{code}/consents", response_class=HTMLResponse)
def give_consent(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                 form: Posted) -> Response:
    return _act(request, session, actor, code, form, "consent",
                lambda v: case_work.give_consent(session, actor, code, purpose=v.get("purpose", ""),
                                                 granted=v.get("granted", "yes") != "no",
                                                 lawful_basis=v.get("lawful_basis", ""),
                                                 given_by=v.get("given_by", ""), given_on=v.get("given_on"),
                                                 organisation=v.get("organisation", "")), "#consents-title")


@router.post("/protection/cases/{code}/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def withdraw_consent(code: str, consent_id: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                     form: Posted) -> Response:
    return _act(request, session, actor, code, form, "withdrawn",
                lambda v: case_work.withdraw_consent(session, actor, code, _id(consent_id)), "#consents-title")


@router.post("/protection/cases/{code}/closure-request", response_class=HTMLResponse)
def closure_request(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                    form: Posted) -> Response:
    return _act(request, session, actor, code, form, "closure_requested",
                lambda v: case_work.request_closure(session, actor, code, v.get("closure_reason", ""),
                                                    confirm_open_items=_ticked(v.get("confirm_open_items"))))


@router.post("/protection/cases/{code}/closure-approve", response_class=HTMLResponse)
def closure_approve(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                    form: Posted) -> Response:
    return _act(request, session, actor, code, form, "closed",
                lambda v: case_work.approve_closure(session, actor, code, v.get("reason", "")))


@router.post("/protection/cases/{code}/closure-reject", response_class=HTMLResponse)
def closure_reject(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                   form: Posted) -> Response:
    return _act(request, session, actor, code, form, "sent_back",
                lambda v: case_work.reject_closure(session, actor, code, v.get("reason", "")))


@router.post("/protection/cases/{code}/reopen", response_class=HTMLResponse)
def reopen(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "reopened",
                lambda v: case_work.reopen(session, actor, code, v.get("reason", "")))


@router.post("/protection/cases/{code}/hand-over", response_class=HTMLResponse)
def hand_over(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "handed_over",
                lambda v: case_work.hand_over(session, actor, code, v.get("supervisor", ""), v.get("reason", "")))


@router.post("/protection/cases/{code}/reassign", response_class=HTMLResponse)
def reassign(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "reassigned",
                lambda v: case_work.reassign(session, actor, code, v.get("caseworker", ""), v.get("reason", "")))


@router.post("/protection/cases/{code}/shares", response_class=HTMLResponse)
def share(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "shared",
                lambda v: case_work.share(session, actor, code, v.get("colleague", ""), v.get("share_reason", "")),
                fields={"reason": "share_reason"})


@router.post("/protection/cases/{code}/shares/revoke", response_class=HTMLResponse)
def revoke(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "revoked",
                lambda v: case_work.revoke_share(session, actor, code, v.get("colleague", "")))


# ---- the GBV incident form -----------------------------------------------------------------------

INCIDENT_FIELDS = tuple(incidents.NewIncident.__dataclass_fields__)


def _incident_form(request: Request, session: Session, actor: Actor, code: str, values: dict[str, str],
                   problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    case = cases.read_case(session, actor, code)
    if case.case_type != "gbv":
        raise Conflict(_("Case {code} is not a GBV case: GBV incidents are recorded on GBV cases only.",
                         code=case.code))
    return render(request, "protection/case_incident.html", status_code=status_code, c=case, values=values,
                  errors=problems.by_field, problems=problems.summary, **VOCAB)


@router.get("/protection/cases/{code}/incident", response_class=HTMLResponse)
def incident_form(code: str, request: Request, session: SessionDep, actor: Worker) -> HTMLResponse:
    values = dict.fromkeys(INCIDENT_FIELDS, "") | {"report_date": date.today().isoformat()}
    return _incident_form(request, session, actor, code, values)


@router.post("/protection/cases/{code}/incident", response_class=HTMLResponse)
def record_incident(code: str, request: Request, session: SessionDep, actor: Worker, _csrf: Csrf,
                    form: Posted) -> Response:
    values = {name: str(form.get(name) or "") for name in INCIDENT_FIELDS}
    try:
        incidents.record_incident(session, actor, code, incidents.NewIncident(**values))
    except cases.CaseInvalid as exc:
        return _incident_form(request, session, actor, code, values, FormProblems.of(exc.problems, cases.label),
                              status_code=422)
    except Conflict as exc:
        return _incident_form(request, session, actor, code, values, FormProblems.general(exc.message),
                              status_code=409)
    target = policies.normal_code(code) or code
    return RedirectResponse(f"/protection/cases/{target}?done=incident#incidents-title", status_code=303)
