"""Pages for a household's assessments: record one, correct one, delete one.

Thin: the service checks the household is visible and writable by the user's organisation, the
values and the version the form was read at, and audits. A form with problems comes back with
the user's input and each message beside its field; nothing is written.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound
from jatigi.core.i18n import N_, _
from jatigi.registry.models import Household
from jatigi.registry.service import VersionConflict
from jatigi.registry.views import Csrf, FormProblems, Posted
from jatigi.targeting import assessments as service
from jatigi.targeting.assessment_page import form_modules
from jatigi.targeting.assessments import STORED
from jatigi.targeting.tables import Assessment
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

WriteActor = Annotated[Actor, Depends(page_require(Permission.TARGETING_ASSESSMENT_WRITE))]
FIELDS = ("assessed_on", "enumerator", *STORED)
_LABELS = {"assessed_on": N_("Date of the assessment"), "enumerator": N_("Enumerator")}


def _label(name: str) -> str:
    if name in STORED:
        return _(STORED[name].label)
    return _(_LABELS.get(name, N_("Assessment")))


def _problems(exc: service.AssessmentRefused) -> FormProblems:
    out = FormProblems()
    for p in exc.problems:
        out.add(p.column if p.column in FIELDS else None, _label(p.column), p.message)
    return out


def _read(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in FIELDS}


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def _page(request: Request, hh: Household, values: dict[str, str], *, a: Assessment | None = None,
          version: int = 0, errors: FormProblems | None = None, conflict: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    problems = errors or FormProblems()
    if a is None:
        title = _("Record an assessment of household {code}", code=hh.code)
        action, submit = f"/households/{hh.code}/assessments/new", _("Record the assessment")
    else:
        title = _("Correct an assessment of household {code}", code=hh.code)
        action, submit = f"/households/{hh.code}/assessments/edit?assessment={a.id}", _("Save the correction")
    return render(request, "targeting/assessment_form.html", status_code=status_code, hh=hh, values=values,
                  title=title, action=action, submit=submit, version=version, modules=form_modules(),
                  errors=problems.by_field, problems=problems.summary, conflict=conflict)


def _answers(values: dict[str, str]) -> dict[str, Any]:
    return {name: values[name] for name in STORED}


@router.get("/households/{code}/assessments/new", response_class=HTMLResponse)
def new_form(code: str, request: Request, session: SessionDep, actor: WriteActor) -> HTMLResponse:
    hh = service.writable_household(session, actor, code)
    user = getattr(request.state, "user", None)
    values = dict.fromkeys(FIELDS, "") | {"assessed_on": date.today().isoformat(),
                                          "enumerator": user.full_name if user is not None else actor.username}
    return _page(request, hh, values)


@router.post("/households/{code}/assessments/new", response_class=HTMLResponse)
def new(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted) -> Response:
    hh = service.writable_household(session, actor, code)
    values = _read(form)
    try:
        service.record_assessment(session=session, actor=actor, code=hh.code, answers=_answers(values),
                                  assessed_on=values["assessed_on"], enumerator=values["enumerator"])
    except service.AssessmentRefused as exc:
        return _page(request, hh, values, errors=_problems(exc), status_code=422)
    return RedirectResponse(f"/households/{hh.code}#assessments-title", status_code=303)


def _to_change(session: SessionDep, actor: Actor, code: str, assessment: str) -> tuple[Household, Assessment]:
    n = _number(assessment)
    if n is None:
        raise NotFound(_("Household {code} has no assessment {id}.", code=code, id=assessment[:12] or "—"))
    return service.assessment_to_change(session=session, actor=actor, code=code, assessment_id=n)


@router.get("/households/{code}/assessments/edit", response_class=HTMLResponse)
def edit_form(code: str, request: Request, session: SessionDep, actor: WriteActor,
              assessment: str = "") -> HTMLResponse:
    hh, a = _to_change(session, actor, code, assessment)
    values = {name: "" if getattr(a, name) is None else str(getattr(a, name)) for name in STORED}
    values |= {"assessed_on": a.assessed_on.isoformat(), "enumerator": a.enumerator or ""}
    return _page(request, hh, values, a=a, version=a.version)


@router.post("/households/{code}/assessments/edit", response_class=HTMLResponse)
def edit(code: str, request: Request, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted,
         assessment: str = "") -> Response:
    hh, a = _to_change(session, actor, code, assessment)
    values = _read(form)
    version = _number(str(form.get("version") or "")) or 0
    try:
        service.correct_assessment(session=session, actor=actor, code=hh.code, assessment_id=a.id,
                                   answers=_answers(values), assessed_on=values["assessed_on"],
                                   enumerator=values["enumerator"], expected_version=version)
    except VersionConflict as exc:
        return _page(request, hh, values, a=a, version=version, conflict=exc.message, status_code=409)
    except service.AssessmentRefused as exc:
        return _page(request, hh, values, a=a, version=version, errors=_problems(exc), status_code=422)
    return RedirectResponse(f"/households/{hh.code}#assessments-title", status_code=303)


@router.post("/households/{code}/assessments/delete", response_class=HTMLResponse)
def delete(code: str, session: SessionDep, actor: WriteActor, _csrf: Csrf, form: Posted) -> Response:
    hh, a = _to_change(session, actor, code, str(form.get("assessment") or ""))
    service.delete_assessment(session=session, actor=actor, code=hh.code, assessment_id=a.id,
                              expected_version=_number(str(form.get("version") or "")))
    return RedirectResponse(f"/households/{hh.code}#assessments-title", status_code=303)
