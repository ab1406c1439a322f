"""Cycles in the pages: create the next one from the programme's page; a cycle's counts, payment
lines (filtered, a page at a time), monitoring indicators and history, with the actions its state
and the reader's permissions allow — prepare, approve (never by who prepared it), reject (a prepared
cycle, or an approved one not yet sent, then never by who prepared it), cancel, close once reconciled
(those who reconcile) — and why one household is due what it is due.

Thin: assistance.cycles checks permissions, states and four eyes, writes set-wise and audits.
Exporting and reconciling are in payment_views, importing monitoring interviews in pdm_views.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.accounts.models import User
from jatigi.assistance import cycles, payment_lines, pdm, vocab
from jatigi.assistance import pages as ap
from jatigi.assistance.entitlement import explain as explain_amount
from jatigi.assistance.models import Payment, Reconciliation
from jatigi.assistance.policies import get_cycle
from jatigi.assistance.programme_views import programme_page
from jatigi.assistance.programmes import formula_of
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _, money
from jatigi.core.numbers import whole_number
from jatigi.registry.models import Household
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.web.deps import SessionDep
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = ap.router  # one router for every assistance page (see views.py)

SHOWN_PROBLEMS = 200  # problems of a refused report shown on the page


def _reconciliations(session: Session, cycle_id: int) -> list[tuple[Reconciliation, str | None]]:
    return [(row[0], row[1]) for row in session.execute(
        sa.select(Reconciliation, User.username).outerjoin(User, User.id == Reconciliation.applied_by)
        .where(Reconciliation.cycle_id == cycle_id).order_by(Reconciliation.id.desc()))]


def cycle_page(request: Request, session: Session, actor: Actor, code: str, *, problems: FormProblems | None = None,
               values: dict[str, Any] | None = None, status_code: int = 200, state: str = "", reason: str = "",
               page: str = "1", shown: str = "", refused: list[Any] | None = None,
               pdm_refused: list[Any] | None = None) -> HTMLResponse:
    problems = problems or FormProblems()
    view = cycles.read_cycle(session=session, actor=actor, ref=code)
    cycle, programme = view.cycle, view.programme
    state, reason = state.strip(), reason.strip()
    if state and state not in vocab.PAYMENT_STATES:
        problems.add("state", _("State"), _("{value} is not accepted; accepted: {accepted}.", value=state,
                                            accepted=", ".join(vocab.PAYMENT_STATES)))
    if reason and reason not in vocab.HOLD_REASONS:
        problems.add("reason", _("Hold reason"), _("{value} is not accepted; accepted: {accepted}.", value=reason,
                                                   accepted=", ".join(vocab.HOLD_REASONS)))
    if problems and status_code == 200:
        status_code = 422
    number_ = page_number(page)
    total, lines = 0, list[payment_lines.Line]()
    if actor.can(Permission.REGISTRY_HOUSEHOLD_READ) and not (problems.by_field.keys() & {"state", "reason"}):
        _c, _p, total, lines = payment_lines.payment_lines(session=session, actor=actor, ref=cycle.id, state=state,
                                                           hold_reason=reason, limit=ap.PAGE_SIZE,
                                                           offset=(number_ - 1) * ap.PAGE_SIZE)
    pages = ap.pages_of(total)

    def page_url(n: int) -> str | None:
        query = urlencode([(k, v) for k, v in (("state", state), ("reason", reason), ("page", n)) if v])
        return f"/assistance/cycles/{cycle.id}?{query}#lines-title" if 1 <= n <= pages else None

    mine = actor.acts_for(programme.org_id)
    four_eyes = cycle.prepared_by is not None and cycle.prepared_by == actor.user_id
    done = _reconciliations(session, cycle.id)
    wanted = whole_number(shown, 11)
    choices = ap.provider_choices(session)
    notice = ap.notice(request.query_params)
    pdm_notice = notice if request.query_params.get("done") == "pdm" else None  # shown beside the indicators
    return render(
        request, "assistance/cycle.html", status_code=status_code, view=view, c=cycle, p=programme,
        counts=cycle.counts or {}, lines=lines, total=total, page=number_, pages=pages,
        previous_url=page_url(number_ - 1), next_url=page_url(number_ + 1), filters={"state": state, "reason": reason},
        period=cycles.period_label(cycle),
        can_prepare=mine and actor.can(Permission.ASSISTANCE_CYCLE_PREPARE) and cycle.state in ("draft", "rejected"),
        can_approve=mine and actor.can(Permission.ASSISTANCE_CYCLE_APPROVE) and cycle.state == "prepared",
        can_reject=mine and actor.can(Permission.ASSISTANCE_CYCLE_APPROVE)
        and (cycle.state == "prepared" or (cycle.state == "approved" and not four_eyes)),
        four_eyes=four_eyes,
        can_cancel=mine and actor.can(Permission.ASSISTANCE_CYCLE_PREPARE) and cycle.state in (*cycles.OPEN, "approved"),
        can_export=mine and actor.can(Permission.ASSISTANCE_PAYMENT_EXPORT) and cycle.state in ("approved", "sent"),
        can_reconcile=mine and actor.can(Permission.ASSISTANCE_PAYMENT_RECONCILE)
        and cycle.state in ("sent", "reconciled"),
        can_close=mine and actor.can(Permission.ASSISTANCE_PAYMENT_RECONCILE) and cycle.state == "reconciled",
        providers=choices, default_provider=ap.default_provider(session, programme, choices),
        reconciliations=done, shown=next((r for r, _by in done if r.id == wanted), None),
        refused=(refused or [])[:SHOWN_PROBLEMS], refused_count=len(refused or []),
        can_monitor=mine and actor.can(Permission.ASSISTANCE_MONITORING_WRITE) and cycle.state in pdm.IMPORTABLE_STATES,
        pdm_refused=(pdm_refused or [])[:SHOWN_PROBLEMS], pdm_refused_count=len(pdm_refused or []),
        pdm_notice=pdm_notice, indicators=pdm.indicators(session, actor, cycle.id), values=values or {},
        errors=problems.by_field, problems=problems.summary, notice=None if pdm_notice else notice, when=when,
        money=money, **ap.VOCAB)


@router.get("/assistance/cycles/{code}", response_class=HTMLResponse)
def cycle_detail(code: str, request: Request, session: SessionDep, actor: ap.Reader, state: str = "",
                 reason: str = "", page: str = "1", reconciliation: str = "") -> HTMLResponse:
    return cycle_page(request, session, actor, code, state=state, reason=reason, page=page, shown=reconciliation)


@router.post("/assistance/programmes/{code}/cycles", response_class=HTMLResponse)
def create_cycle(code: str, request: Request, session: SessionDep, actor: ap.Preparer, _csrf: Csrf) -> Response:
    try:
        cycle = cycles.create_cycle(session=session, actor=actor, ref=code)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return programme_page(request, session, actor, code, problems=ap.one_problem("cycle", _("Cycles"),
                                                                                     exc.message),
                              status_code=exc.status_code)
    return RedirectResponse(f"/assistance/cycles/{cycle.id}?done=cycle", status_code=303)


def _act(request: Request, session: Session, actor: Actor, code: str, form: Any, action: str) -> Response:
    reason = str(form.get("reason") or "").strip()
    try:
        if action == "prepare":
            cycle = cycles.prepare(session=session, actor=actor, ref=code)
        elif action == "approve":
            cycle = cycles.approve(session=session, actor=actor, ref=code)
        elif action == "reject":
            cycle = cycles.reject(session=session, actor=actor, ref=code, reason=reason)
        elif action == "close":
            cycle = cycles.close(session=session, actor=actor, ref=code, note=reason)
        else:
            cycle = cycles.cancel(session=session, actor=actor, ref=code, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        field = f"{action}_reason" if action in ("reject", "cancel") else "action"
        return cycle_page(request, session, actor, code, problems=ap.one_problem(
            field, _("Reason") if action in ("reject", "cancel") else _("Action"), exc.message),
            values={field: reason}, status_code=exc.status_code)
    done = {"prepare": "prepared", "approve": "approved", "reject": "rejected", "cancel": "cycle_cancelled",
            "close": "cycle_closed"}[action]
    return RedirectResponse(f"/assistance/cycles/{cycle.id}?done={done}", status_code=303)


@router.post("/assistance/cycles/{code}/prepare", response_class=HTMLResponse)
def prepare(code: str, request: Request, session: SessionDep, actor: ap.Preparer, _csrf: Csrf,
            form: Posted) -> Response:
    return _act(request, session, actor, code, form, "prepare")


@router.post("/assistance/cycles/{code}/approve", response_class=HTMLResponse)
def approve(code: str, request: Request, session: SessionDep, actor: ap.Approver, _csrf: Csrf,
            form: Posted) -> Response:
    return _act(request, session, actor, code, form, "approve")


@router.post("/assistance/cycles/{code}/reject", response_class=HTMLResponse)
def reject(code: str, request: Request, session: SessionDep, actor: ap.Approver, _csrf: Csrf,
           form: Posted) -> Response:
    return _act(request, session, actor, code, form, "reject")


@router.post("/assistance/cycles/{code}/cancel", response_class=HTMLResponse)
def cancel(code: str, request: Request, session: SessionDep, actor: ap.Preparer, _csrf: Csrf,
           form: Posted) -> Response:
    return _act(request, session, actor, code, form, "cancel")


@router.post("/assistance/cycles/{code}/close", response_class=HTMLResponse)
def close(code: str, request: Request, session: SessionDep, actor: ap.Reconciler, _csrf: Csrf,
          form: Posted) -> Response:
    return _act(request, session, actor, code, form, "close")


@router.get("/assistance/cycles/{code}/explain", response_class=HTMLResponse)
def explain(code: str, request: Request, session: SessionDep, actor: ap.Reader, household: str = "") -> HTMLResponse:
    """Why one household is due what it is: each part of the programme's formula, from its values now."""
    cycle, programme = get_cycle(session, actor, code)
    wanted = household.strip().upper()[:40]
    problems = FormProblems()
    found = line = None
    if not wanted:
        problems.add("household", _("Household code"), _("This value is required."))
    else:
        try:
            found = explain_amount(session=session, actor=actor, formula=formula_of(programme), code=wanted)
        except NotFound as exc:
            problems.add("household", _("Household code"), exc.message)
        else:
            line = session.execute(sa.select(Payment.reference, Payment.amount, Payment.state, Payment.hold_reason)
                                   .join(Household, Household.id == Payment.household_id)
                                   .where(Payment.cycle_id == cycle.id, Household.code == wanted,
                                          Payment.reissue_of.is_(None))).first()
    return render(request, "assistance/cycle_explain.html", status_code=422 if problems and wanted else 200,
                  c=cycle, p=programme, period=cycles.period_label(cycle), household=wanted, found=found, line=line,
                  errors=problems.by_field if wanted else {}, problems=problems.summary if wanted else [],
                  money=money, **ap.VOCAB)
