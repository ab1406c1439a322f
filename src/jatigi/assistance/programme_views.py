"""Programmes in the pages: the list (filter by state), the form for a new programme or to change a
draft (formula chosen among the shipped ones or pasted, its mistakes with their line and column),
a programme's page with its enrolment, cycles and history, and the changes of state.

Thin: assistance.programmes checks permissions and values, audits and keeps the transitions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.assistance import enrolment, programmes, states
from jatigi.assistance import pages as ap
from jatigi.assistance.formula import Formula, FormulaError, load_formula, shipped_formulas
from jatigi.assistance.models import PaymentProvider, Programme
from jatigi.assistance.policies import get_programme, require_change
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _, money
from jatigi.core.numbers import whole_number
from jatigi.places import service as places_service
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.targeting import run_page as rp
from jatigi.targeting import runs as runs_
from jatigi.targeting import simulate as sim_
from jatigi.web.deps import SessionDep
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = ap.router  # one router for every assistance page (see views.py)

FORM_FIELDS = ("name", "donor", "sector", "objective", "modality", "start_month", "planned_months", "area_pcode",
               "provider", "formula_source", "formula")
PASTE = "paste"
LABELS = {**programmes.FIELD_LABELS, "formula_source": N_("Formula"), "state": N_("State"),
          "reason": N_("Reason"), "action": N_("Action")}


@lru_cache(maxsize=16)
def _shipped(path: Path) -> Formula:
    return load_formula(path.read_text(encoding="utf-8"))


def formula_choices() -> list[tuple[str, str]]:
    """(value, label) of the formula choice: each shipped formula, then pasting one."""
    return [*((name, _shipped(path).title.get()) for name, path in shipped_formulas().items()),
            (PASTE, _("Paste a formula (TOML) below"))]


def formula_title(text: str) -> str | None:
    try:
        return load_formula(text).title.get()
    except FormulaError:
        return None


# ---- the list -------------------------------------------------------------------------------------

@router.get("/assistance", response_class=RedirectResponse)
def home(actor: ap.Reader) -> RedirectResponse:
    return RedirectResponse("/assistance/programmes", status_code=303)


@router.get("/assistance/programmes", response_class=HTMLResponse)
def programme_list(request: Request, session: SessionDep, actor: ap.Reader, state: str = "") -> HTMLResponse:
    problems = FormProblems()
    found: list[programmes.ProgrammeFigures] = []
    try:
        found = programmes.list_programmes(session=session, actor=actor, state=state.strip() or None)
    except ValidationFailed as exc:
        problems.add("state", _("State"), exc.message)
    orgs = dict(session.execute(sa.select(Organisation.id, Organisation.acronym).where(
        Organisation.id.in_({f.programme.org_id for f in found}))).all()) if found else {}
    return render(request, "assistance/programmes.html", status_code=422 if problems else 200, rows=found,
                  orgs=orgs, state=state.strip(), errors=problems.by_field, problems=problems.summary,
                  last_month=lambda p: programmes.add_months(p.start_month, p.planned_months - 1), **ap.VOCAB)


# ---- the form: new, or changes to a draft -----------------------------------------------------------

def _form(request: Request, session: Session, values: dict[str, str], *, programme: Programme | None = None,
          problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    return render(request, "assistance/programme_form.html", status_code=status_code, values=values,
                  programme=programme, errors=problems.by_field, problems=problems.summary,
                  formulas=formula_choices(), providers=ap.provider_choices(session), paste=PASTE,
                  max_months=programmes.MAX_MONTHS, **ap.VOCAB)


def _posted_values(form: Any) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in FORM_FIELDS}


def _fields(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's arguments from the form, with the formula chosen or pasted, and what the
    form alone can tell is wrong about the formula."""
    more: dict[str, str] = {}
    shipped = shipped_formulas()
    source = values["formula_source"]
    formula = ""
    if source in shipped:
        formula = shipped[source].read_text(encoding="utf-8")
    elif source == PASTE:
        formula = values["formula"]
        if not formula.strip():
            more["formula"] = _("Paste the formula, or choose a shipped one.")
    else:
        more["formula_source"] = _("Choose a formula.")
    fields: dict[str, Any] = {name: values[name].strip() for name in FORM_FIELDS
                              if name not in ("formula_source", "formula", "objective")}
    fields["formula"] = formula
    fields["objective"] = values["objective"]
    return fields, more


def _invalid(exc: programmes.ProgrammeInvalid, more: dict[str, str]) -> FormProblems:
    found = dict(exc.problems)
    if more:
        found.pop("formula", None)  # the service's word on an empty formula: the form's is plainer
        found.update(more)
    return ap.problems_of({name: found[name] for name in FORM_FIELDS if name in found}, LABELS)


@router.get("/assistance/programmes/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: ap.Writer) -> HTMLResponse:
    values = dict.fromkeys(FORM_FIELDS, "") | {"sector": "multipurpose", "modality": "mobile_money",
                                               "planned_months": "3", "formula_source": "household_size"}
    return _form(request, session, values)


@router.post("/assistance/programmes/new", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf, form: Posted) -> Response:
    values = _posted_values(form)
    fields, more = _fields(values)
    try:
        programme = programmes.create_programme(session=session, actor=actor, **fields)
    except programmes.ProgrammeInvalid as exc:
        session.rollback()
        return _form(request, session, values, problems=_invalid(exc, more), status_code=422)
    except ValidationFailed as exc:
        session.rollback()
        return _form(request, session, values, problems=ap.one_problem(None, _("Programme"), exc.message),
                     status_code=422)
    return RedirectResponse(f"/assistance/programmes/{programme.code}?done=created", status_code=303)


def _values_of(session: Session, programme: Programme) -> dict[str, str]:
    provider = session.get(PaymentProvider, programme.provider_id) if programme.provider_id else None
    return {"name": programme.name, "donor": programme.donor or "", "sector": programme.sector,
            "objective": programme.objective or "", "modality": programme.modality,
            "start_month": programme.start_month.strftime("%Y-%m"), "planned_months": str(programme.planned_months),
            "area_pcode": programme.area_pcode or "", "provider": provider.name if provider else "",
            "formula_source": PASTE, "formula": programme.formula, "version": str(programme.version)}


def _editable(session: Session, actor: Actor, code: str) -> Programme:
    programme = get_programme(session, actor, code)
    require_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    return programme


@router.get("/assistance/programmes/{code}/edit", response_class=HTMLResponse)
def edit_form(code: str, request: Request, session: SessionDep, actor: ap.Writer) -> HTMLResponse:
    programme = _editable(session, actor, code)
    if programme.state != "draft":
        raise Conflict(_("Programme {code} is {state}: only a draft programme can be changed.", code=programme.code,
                         state=states.state_label("programme", programme.state).lower()))
    return _form(request, session, _values_of(session, programme), programme=programme)


@router.post("/assistance/programmes/{code}/edit", response_class=HTMLResponse)
def edit(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf, form: Posted) -> Response:
    programme = _editable(session, actor, code)
    values = _posted_values(form) | {"version": str(form.get("version") or "")}
    fields, more = _fields(values)
    try:
        programmes.update_programme(session=session, actor=actor, ref=programme.code, changes=fields,
                                    expected_version=whole_number(values["version"], 9))
    except programmes.ProgrammeInvalid as exc:
        session.rollback()
        return _form(request, session, values, programme=get_programme(session, actor, code),
                     problems=_invalid(exc, more), status_code=422)
    except Conflict as exc:  # changed by someone else meanwhile: what was typed comes back with the reason
        session.rollback()
        current = get_programme(session, actor, code)
        return _form(request, session, values | {"version": str(current.version)}, programme=current,
                     problems=ap.one_problem(None, _("Programme"), exc.message), status_code=409)
    return RedirectResponse(f"/assistance/programmes/{programme.code}?done=saved", status_code=303)


# ---- a programme's page ---------------------------------------------------------------------------

def run_choice(session: Session, actor: Actor, run_ref: str, problems: FormProblems) -> dict[str, Any]:
    """The runs the actor sees, and the categories of the one chosen (by ?run=ID) to enrol from."""
    if not actor.can(Permission.TARGETING_RUN_READ):
        return {"runs": []}
    out: dict[str, Any] = {"runs": runs_.list_runs(session, actor), "run": None}
    ref = run_ref.strip()
    if ref:
        try:
            run_id = whole_number(ref, 11)
            if run_id is None:
                raise NotFound(_("No scoring run {id} that you may see.", id=ref[:20]))
            run, loaded = runs_.get_run(session, actor, run_id)
        except NotFound as exc:
            problems.add("run", _("Scoring run"), exc.message)
        else:
            out.update(run=run, model=loaded.model, categories=rp.category_labels(loaded.model),
                       default_categories=list(sim_.vulnerable_categories(loaded.model)))
    return out


def programme_page(request: Request, session: Session, actor: Actor, code: str, *,
                   problems: FormProblems | None = None, values: dict[str, Any] | None = None,
                   status_code: int = 200, run_ref: str = "", page: str = "1") -> HTMLResponse:
    problems = problems or FormProblems()
    figures = programmes.read_programme(session=session, actor=actor, ref=code)
    programme = figures.programme
    values = values or {}
    number_ = page_number(page)
    total, households = 0, list[enrolment.EnrolledHousehold]()
    if actor.can(Permission.REGISTRY_HOUSEHOLD_READ):
        total, households = enrolment.enrolled_households(session=session, actor=actor, ref=programme.code,
                                                          limit=ap.PAGE_SIZE, offset=(number_ - 1) * ap.PAGE_SIZE)
    pages = ap.pages_of(total)

    def page_url(n: int) -> str | None:
        return f"/assistance/programmes/{programme.code}?page={n}#enrolled-title" if 1 <= n <= pages else None

    cycles = programmes.cycles_of(session, programme)
    org = session.get(Organisation, programme.org_id)
    provider = session.get(PaymentProvider, programme.provider_id) if programme.provider_id else None
    area = places_service.names_of(session=session, pcodes=[programme.area_pcode]) if programme.area_pcode else {}
    can_write = ap.may_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    enrols = can_write and programme.state in ("draft", "active") and actor.can(Permission.REGISTRY_HOUSEHOLD_READ)
    choice = run_choice(session, actor, run_ref or str(values.get("run") or ""), problems) if enrols else {}
    return render(
        request, "assistance/programme.html", status_code=status_code, p=programme, figures=figures,
        org=org, provider=provider, area=area.get(programme.area_pcode or "", programme.area_pcode),
        last_month=programmes.add_months(programme.start_month, programme.planned_months - 1),
        formula_title=formula_title(programme.formula), cycles=cycles, history=ap.history(session, "programme",
                                                                                         programme.id),
        households=households, total=total, page=number_, pages=pages, previous_url=page_url(number_ - 1),
        next_url=page_url(number_ + 1), can_write=can_write, enrols=enrols,
        can_prepare=ap.may_change(actor, programme, Permission.ASSISTANCE_CYCLE_PREPARE),
        more_cycles=len(cycles) < programme.planned_months, choice=choice, values=values,
        errors=problems.by_field, problems=problems.summary, notice=ap.notice(request.query_params),
        when=when, money=money, **ap.VOCAB)


@router.get("/assistance/programmes/{code}", response_class=HTMLResponse)
def programme_detail(code: str, request: Request, session: SessionDep, actor: ap.Reader, run: str = "",
                     page: str = "1") -> HTMLResponse:
    return programme_page(request, session, actor, code, run_ref=run, page=page)


def _move(request: Request, session: Session, actor: Actor, code: str, form: Any, to: str) -> Response:
    reason = str(form.get("reason") or "").strip()
    try:
        if to == "active":
            done = programmes.activate(session=session, actor=actor, ref=code)
        elif to == "closed":
            done = programmes.close(session=session, actor=actor, ref=code, reason=reason)
        else:
            done = programmes.cancel(session=session, actor=actor, ref=code, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        field = f"{to}_reason" if to != "active" else "action"
        return programme_page(request, session, actor, code, problems=ap.one_problem(field, _(LABELS["reason"])
                              if to != "active" else _(LABELS["action"]), exc.message),
                              values={f"{to}_reason": reason}, status_code=exc.status_code)
    return RedirectResponse(f"/assistance/programmes/{done.code}?done={'activated' if to == 'active' else to}",
                            status_code=303)


@router.post("/assistance/programmes/{code}/activate", response_class=HTMLResponse)
def activate(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf,
             form: Posted) -> Response:
    return _move(request, session, actor, code, form, "active")


@router.post("/assistance/programmes/{code}/close", response_class=HTMLResponse)
def close(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf, form: Posted) -> Response:
    return _move(request, session, actor, code, form, "closed")


@router.post("/assistance/programmes/{code}/cancel", response_class=HTMLResponse)
def cancel(code: str, request: Request, session: SessionDep, actor: ap.Writer, _csrf: Csrf, form: Posted) -> Response:
    return _move(request, session, actor, code, form, "cancelled")
