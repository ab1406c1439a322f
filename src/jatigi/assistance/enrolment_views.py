"""Enrolling households from the programme's page — from a scoring run (its categories, or as many
as a budget pays), from an uploaded list of household codes, or one code — and taking one out.

Thin: assistance.enrolment checks permissions and visibility, enrols set-wise and audits. A list
with a bad row enrols nobody; every bad row is named beside the file field.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.assistance import enrolment
from jatigi.assistance import pages as ap
from jatigi.assistance.policies import get_programme
from jatigi.assistance.programme_views import programme_page
from jatigi.core.authz import Actor
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number
from jatigi.registry.views import Csrf, FormProblems, Posted
from jatigi.targeting import run_page as rp
from jatigi.targeting import runs as runs_
from jatigi.targeting import simulate as sim_
from jatigi.web.deps import SessionDep

router = ap.router  # one router for every assistance page (see views.py)

BUDGET_FIELDS = (("budget", 0), ("transfer_value", 1), ("months", 1))


def _enrolled(code: str, done: enrolment.Enrolled) -> RedirectResponse:
    return RedirectResponse(f"/assistance/programmes/{code}?done=enrolled&found={done.found}"
                            f"&enrolled={done.enrolled}&skipped={done.skipped}#enrolment-title", status_code=303)


def _again(request: Request, session: Session, actor: Actor, code: str, problems: FormProblems,
           values: dict[str, Any], status_code: int) -> HTMLResponse:
    session.rollback()
    return programme_page(request, session, actor, code, problems=problems, values=values, status_code=status_code)


def _budget(values: dict[str, Any], problems: FormProblems) -> sim_.Budget | None:
    """A budget when any of its three fields is filled (then all three must be right), else None."""
    if not any(values[name] for name, _minimum in BUDGET_FIELDS):
        return None
    labels = {"budget": _("Budget (FCFA)"), "transfer_value": _("Transfer per household per month (FCFA)"),
              "months": _("Months")}
    numbers: dict[str, int] = {}
    for name, minimum in BUDGET_FIELDS:
        value, problem = rp.amount(values[name], minimum)
        if problem:
            problems.add(name, labels[name], problem)
        elif value is not None:
            numbers[name] = value
    if len(numbers) < len(BUDGET_FIELDS):
        return None
    try:
        return sim_.Budget(numbers["budget"], numbers["transfer_value"], numbers["months"])
    except ValidationFailed as exc:
        problems.add("budget", labels["budget"], exc.message)
        return None


@router.post("/assistance/programmes/{code}/enrol/run", response_class=HTMLResponse)
def enrol_run(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf,
              form: Posted) -> Response:
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in ("run", "budget", "transfer_value",
                                                                                  "months")}
    values["categories"] = [str(c) for c in form.getlist("categories") if str(c)]
    problems = FormProblems()
    run_id = whole_number(values["run"], 11)
    if run_id is None:
        problems.add("run", _("Scoring run"), _("Choose a scoring run."))
        return _again(request, session, actor, code, problems, values, 422)
    try:
        _run, loaded = runs_.get_run(session, actor, run_id)
    except NotFound as exc:
        problems.add("run", _("Scoring run"), exc.message)
        return _again(request, session, actor, code, problems, values, 422)
    if not values["categories"]:
        problems.add("categories", _("Categories"), _("Choose at least one category."))
    else:
        try:
            sim_.vulnerable_categories(loaded.model, values["categories"])
        except ValidationFailed as exc:
            problems.add("categories", _("Categories"), exc.message)
    budget = _budget(values, problems)
    if problems:
        return _again(request, session, actor, code, problems, values, 422)
    try:
        done = enrolment.enrol_from_run(session=session, actor=actor, ref=code, run_id=run_id,
                                        categories=values["categories"], budget=budget)
    except (ValidationFailed, Conflict) as exc:
        return _again(request, session, actor, code, ap.one_problem("run", _("Scoring run"), exc.message), values,
                      exc.status_code)
    return _enrolled(done.programme.code, done)


@router.post("/assistance/programmes/{code}/enrol/list", response_class=HTMLResponse)
def enrol_list(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf,
               form: Posted) -> Response:
    upload = form.get("file")
    if not ap.is_upload(upload):
        return _again(request, session, actor, code, ap.one_problem("list_file", _("List of households"),
                                                                    _("Choose a CSV or XLSX file.")), {}, 422)
    try:
        with ap.saved_upload(upload, "households.csv") as path:
            done = enrolment.enrol_from_list(session=session, actor=actor, ref=code, path=path)
    except (ValidationFailed, Conflict) as exc:
        problems = ap.problems_of({"list_file": exc.message}, {"list_file": _("List of households")})
        return _again(request, session, actor, code, problems, {}, exc.status_code)
    return _enrolled(done.programme.code, done)


@router.post("/assistance/programmes/{code}/enrol/household", response_class=HTMLResponse)
def enrol_one(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf,
              form: Posted) -> Response:
    programme = get_programme(session, actor, code)  # not found: a 404 page
    household = str(form.get("household") or "").strip()
    if not household:
        return _again(request, session, actor, code, ap.one_problem("household", _("Household code"),
                                                                    _("This value is required.")),
                      {"household": household}, 422)
    try:
        done = enrolment.enrol_household(session=session, actor=actor, ref=programme.code, code=household[:40])
    except (ValidationFailed, Conflict) as exc:
        return _again(request, session, actor, code, ap.one_problem("household", _("Household code"), exc.message),
                      {"household": household}, exc.status_code)
    except NotFound as exc:  # the programme was found above: the household was not
        return _again(request, session, actor, code, ap.one_problem("household", _("Household code"), exc.message),
                      {"household": household}, 422)
    return _enrolled(done.programme.code, done)


@router.post("/assistance/programmes/{code}/exit", response_class=HTMLResponse)
def exit_household(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf,
                   form: Posted) -> Response:
    programme = get_programme(session, actor, code)  # not found: a 404 page
    values = {"exit_household": str(form.get("household") or "").strip(),
              "exit_reason": str(form.get("reason") or "").strip()}
    problems = FormProblems()
    if not values["exit_household"]:
        problems.add("exit_household", _("Household code"), _("This value is required."))
    if not values["exit_reason"]:
        problems.add("exit_reason", _("Reason"), _("Say why the household leaves the programme."))
    if problems:
        return _again(request, session, actor, code, problems, values, 422)
    try:
        enrolment.exit_household(session=session, actor=actor, ref=programme.code, code=values["exit_household"][:40],
                                 reason=values["exit_reason"])
    except (ValidationFailed, Conflict) as exc:
        return _again(request, session, actor, code, ap.one_problem("exit_household", _("Household code"),
                                                                    exc.message), values, exc.status_code)
    except NotFound as exc:  # the programme was found above: the household was not
        return _again(request, session, actor, code, ap.one_problem("exit_household", _("Household code"),
                                                                    exc.message), values, 422)
    return RedirectResponse(f"/assistance/programmes/{programme.code}?done=exited#enrolment-title",
                            status_code=303)
