"""Referrals in the pages: the referrals sent (of one's cases) and received (by one's organisation),
the form to refer a case to a service of the directory, a referral with the forms to answer it
(accept, decline, mark the service given) or to withdraw it.

Thin: protection.referrals checks consent, need to know and permissions, and audits.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import N_, gettext
from jatigi.core.numbers import whole_number
from jatigi.protection import policies, vocab
from jatigi.protection import referrals as ref
from jatigi.protection import services as svc
from jatigi.protection.models import ProtectionCase
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Receiver = Annotated[Actor, Depends(page_require(Permission.PROTECTION_REFERRAL_RECEIVE))]
Writer = Annotated[Actor, Depends(page_require(Permission.PROTECTION_CASE_WRITE))]
VOCAB = {"service_types": vocab.SERVICE_TYPES, "referral_states": vocab.REFERRAL_STATES,
         "outcomes": vocab.REFERRAL_OUTCOMES}
NOTICES = {"sent": N_("The referral was sent."), "accepted": N_("The referral was accepted."),
           "declined": N_("The referral was declined."), "completed": N_("The outcome was recorded."),
           "withdrawn": N_("The referral was withdrawn.")}


@router.get("/protection/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, session: SessionDep, actor: Receiver, box: str = "received", state: str = "",
                   page: str = "1") -> HTMLResponse:
    box = "sent" if box == "sent" else "received"
    number = page_number(page)
    problems = FormProblems()
    total, rows = 0, list[ref.ReferralRow]()
    try:
        lister = ref.sent_referrals if box == "sent" else ref.received_referrals
        total, rows = lister(session, actor, state=state.strip()[:12], offset=(number - 1) * ref.PAGE_SIZE)
    except ref.ReferralInvalid as exc:
        problems = FormProblems.of(exc.problems, ref.label)
    pages = max(1, -(-total // ref.PAGE_SIZE))
    query = {k: v for k, v in {"box": box, "state": state}.items() if v}

    def page_url(n: int) -> str | None:
        return f"/protection/referrals?{urlencode({**query, 'page': n})}#list-title" if 1 <= n <= pages else None

    return render(request, "protection/referral_list.html", status_code=422 if problems else 200, box=box,
                  state=state, rows=rows, total=total, errors=problems.by_field, problems=problems.summary,
                  page=number, pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1),
                  when=when, **VOCAB)


def _form(request: Request, session: Session, actor: Actor, case: ProtectionCase, values: dict[str, Any],
          problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    choices = ref.service_choices(session, actor, case, values.get("filter_type", ""))
    return render(request, "protection/referral_form.html", status_code=status_code, case=case, values=values,
                  errors=problems.by_field, problems=problems.summary,
                  receiving=[c for c in choices if c.organisation], outside=[c for c in choices if not c.organisation],
                  consented=ref.consented_organisations(session, case), organisations=svc.organisations(session),
                  supervisor=policies.is_supervisor(actor, case), min_override=ref.MIN_OVERRIDE, **VOCAB)


def _case_for_referral(session: Session, actor: Actor, code: str) -> ProtectionCase:
    case = policies.get_case(session, actor, code)
    policies.require_case_writer(actor, case)
    return case


@router.get("/protection/cases/{code}/referrals/new", response_class=HTMLResponse)
def new_form(code: str, request: Request, session: SessionDep, actor: Writer, service_type: str = "") -> HTMLResponse:
    case = _case_for_referral(session, actor, code)
    audit.record(session, actor, "protection.case.read", ref.ENTITY, case.id, {"code": case.code,
                                                                               "page": "referral_form"})
    filter_type = service_type if service_type in vocab.SERVICE_TYPES else ""
    values = {"service": "", "organisation": "", "service_type": filter_type, "note": "", "urgent": False,
              "share_identity": False, "override_reason": "", "filter_type": filter_type}
    return _form(request, session, actor, case, values)


@router.post("/protection/cases/{code}/referrals/new", response_class=HTMLResponse)
def send(code: str, request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    case = _case_for_referral(session, actor, code)
    texts = {name: str(form.get(name) or "") for name in ("service", "organisation", "service_type", "note",
                                                          "override_reason", "filter_type")}
    values: dict[str, Any] = {**texts, "urgent": form.get("urgent") == "1",
                              "share_identity": form.get("share_identity") == "1"}
    service = texts["service"].strip()
    new = ref.NewReferral(service_id=whole_number(service, 9), organisation=texts["organisation"].strip(),
                          service_type=texts["service_type"].strip(), urgent=values["urgent"], note=texts["note"],
                          share_identity=values["share_identity"],
                          override_reason=texts["override_reason"] if policies.is_supervisor(actor, case) else "")
    try:
        referral = ref.send_referral(session, actor, case, new)
    except ref.ReferralInvalid as exc:
        return _form(request, session, actor, case, values, FormProblems.of(exc.problems, ref.label),
                     status_code=422)
    return RedirectResponse(f"/protection/referrals/{referral.code}?done=sent", status_code=303)


def _detail(request: Request, session: Session, actor: Actor, code: str, problems: FormProblems | None = None,
            values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    view = ref.view_referral(session, actor, code)
    done = request.query_params.get("done", "")
    notice = gettext(NOTICES[done]) if done in NOTICES else None
    return render(request, "protection/referral_detail.html", status_code=status_code, v=view, r=view.referral,
                  errors=problems.by_field, problems=problems.summary, values=values or {}, when=when,
                  notice=notice, **VOCAB)


@router.get("/protection/referrals/{code}", response_class=HTMLResponse)
def detail(code: str, request: Request, session: SessionDep, actor: Receiver) -> HTMLResponse:
    return _detail(request, session, actor, code)


def _answer(request: Request, session: Session, actor: Actor, code: str, form: Any, action: str) -> Response:
    values = {"note": str(form.get("note") or ""), "outcome": str(form.get("outcome") or ""), "action": action}
    try:
        if action == "accept":
            done = ref.accept_referral(session, actor, code, values["note"])
        elif action == "decline":
            done = ref.decline_referral(session, actor, code, values["note"])
        elif action == "complete":
            done = ref.complete_referral(session, actor, code, values["outcome"], values["note"])
        else:
            done = ref.withdraw_referral(session, actor, code, values["note"])
    except ref.ReferralInvalid as exc:
        problems = FormProblems.of(exc.problems, ref.label, prefix=f"{action}-")
        return _detail(request, session, actor, code, problems, values, status_code=422)
    return RedirectResponse(f"/protection/referrals/{done.code}?done={done.state}", status_code=303)


@router.post("/protection/referrals/{code}/accept", response_class=HTMLResponse)
def accept(code: str, request: Request, session: SessionDep, actor: Receiver, _csrf: Csrf, form: Posted) -> Response:
    return _answer(request, session, actor, code, form, "accept")


@router.post("/protection/referrals/{code}/decline", response_class=HTMLResponse)
def decline(code: str, request: Request, session: SessionDep, actor: Receiver, _csrf: Csrf, form: Posted) -> Response:
    return _answer(request, session, actor, code, form, "decline")


@router.post("/protection/referrals/{code}/complete", response_class=HTMLResponse)
def complete(code: str, request: Request, session: SessionDep, actor: Receiver, _csrf: Csrf,
             form: Posted) -> Response:
    return _answer(request, session, actor, code, form, "complete")


@router.post("/protection/referrals/{code}/withdraw", response_class=HTMLResponse)
def withdraw(code: str, request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    return _answer(request, session, actor, code, form, "withdraw")
