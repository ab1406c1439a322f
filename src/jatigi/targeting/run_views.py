"""Scoring runs in the pages: the list and the "Score households" form, one run with its
simulation, fairness report and households, and the target list as CSV.

Thin: runs, simulate and fairness check permissions, count in the database and audit. A
simulation is a GET (its inputs in the address, so it can be bookmarked and shared); inputs with
problems come back with each message beside its field, and nothing is computed.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _, money
from jatigi.places import service as places_service
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.targeting import params as params_
from jatigi.targeting import run_page as rp
from jatigi.targeting import runs, store
from jatigi.targeting import simulate as sim_
from jatigi.targeting.fairness import fairness
from jatigi.targeting.scope import Scope
from jatigi.targeting.tables import Run
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.TARGETING_RUN_READ))]
Runner = Annotated[Actor, Depends(page_require(Permission.TARGETING_RUN))]
RUN_FIELDS = ("model", "place", "meb", "smeb")
TARGET_COLUMNS = ["rank", "household_code", "score", "category", "admin1", "pcode", "population_group", "members",
                  "head_sex", "run_id", "model", "model_version", "uses_displacement_status"]


def _run_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) < 12):
        raise NotFound(_("No scoring run {id} that you may see.", id=text[:20]))
    return int(text)


def _runs_page(request: Request, session: Session, actor: Actor, values: dict[str, str],
               problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    models = store.list_models(session=session, actor=actor) if actor.can(Permission.TARGETING_RUN) else []
    return render(request, "targeting/runs.html", status_code=status_code, runs=runs.list_runs(session, actor),
                  models=models, values=values, errors=problems.by_field, problems=problems.summary, when=when)


@router.get("/targeting/runs", response_class=HTMLResponse)
def runs_list(request: Request, session: SessionDep, actor: Reader) -> HTMLResponse:
    return _runs_page(request, session, actor, dict.fromkeys(RUN_FIELDS, "") | {"model": "food_security"})


def _checked_run_form(session: Session, actor: Actor,
                     values: dict[str, str]) -> tuple[FormProblems, params_.IndicatorParams | None]:
    problems = FormProblems()
    if values["model"] not in {m.name for m in store.list_models(session=session, actor=actor)}:
        problems.add("model", _("Model"), _("Choose a model."))
    place_problem = rp.place_problem(session, values["place"])
    if place_problem:
        problems.add("place", _("Place"), place_problem)
    amounts: dict[str, int] = {}
    for name, label in (("meb", _("MEB per person per month (FCFA)")),
                        ("smeb", _("Survival MEB per person per month (FCFA)"))):
        if values[name]:
            value, problem = rp.amount(values[name], 1)
            if problem:
                problems.add(name, label, problem)
            elif value is not None:
                amounts[name] = value
    if problems:
        return problems, None
    try:
        return problems, params_.registry_params(amounts.get("meb"), amounts.get("smeb"))
    except ValidationFailed as exc:  # the MEB without the survival MEB, or the other way round
        problems.add("meb", _("MEB per person per month (FCFA)"), exc.message)
        return problems, None


@router.post("/targeting/runs", response_class=HTMLResponse)
def runs_create(request: Request, session: SessionDep, actor: Runner, _csrf: Csrf, form: Posted) -> Response:
    values = {name: str(form.get(name) or "").strip() for name in RUN_FIELDS}
    problems, params = _checked_run_form(session, actor, values)
    if problems or params is None:
        return _runs_page(request, session, actor, values, problems, status_code=422)
    loaded = runs.model_by_name(session, actor, values["model"])
    run = runs.score(session=session, actor=actor, loaded=loaded,
                     scope=Scope(actor, values["place"].upper() or None), params=params)
    return RedirectResponse(f"/targeting/runs/{run.id}", status_code=303)


def _simulations(session: Session, actor: Actor, run: Run, asked: rp.SimulationInput) -> dict[str, Any]:
    if asked.budget is None:
        return {}
    sims = [sim_.simulate(session=session, actor=actor, run_id=run.id, budget=asked.budget,
                          categories=asked.categories)]
    if asked.compare is not None:
        _other, other_loaded = runs.get_run(session, actor, asked.compare)
        sims.append(sim_.simulate(session=session, actor=actor, run_id=asked.compare, budget=asked.budget,
                                  categories=rp.categories_of(other_loaded.model, asked.categories)))
    places = rp.places_of(session, [g for s in sims for g in s.by.values()])
    return {"sims": sims, "places": places, "overlap": sim_.overlap(session, sims[0], sims[1]) if len(sims) == 2
            else None}


def _query(**params: Any) -> str:
    return urlencode([(k, v) for k, value in params.items() for v in (value if isinstance(value, list) else [value])
                      if v not in ("", None)])


@router.get("/targeting/runs/{run_id}", response_class=HTMLResponse)
def run_detail(run_id: str, request: Request, session: SessionDep, actor: Reader, budget: str = "",
               transfer_value: str = "", months: str = "", categories: Annotated[list[str] | None, Query()] = None,
               compare: str = "", fairness_report: Annotated[str, Query(alias="fairness")] = "",
               page: str = "1") -> HTMLResponse:
    run, loaded = runs.get_run(session, actor, _run_id(run_id))
    model = loaded.model
    asked_for = bool(budget or transfer_value or months)
    asked = rp.read_simulation(session, actor, run, model, budget, transfer_value, months, categories or [],
                               compare) if asked_for else None
    simulated = _simulations(session, actor, run, asked) if asked else {}
    inputs = {"budget": budget, "transfer_value": transfer_value, "months": months,
              "categories": list(asked.categories) if asked else list(sim_.vulnerable_categories(model))}
    report = None
    if fairness_report == "1":
        report = fairness(session=session, actor=actor, run_id=run.id, budget=asked.budget if asked else None,
                          categories=asked.categories if asked and asked.budget else None)
    number_ = int(page) if page.isascii() and page.isdigit() and 0 < len(page) < 7 else 1
    total, rows = rp.score_page(session, actor, run, offset=(max(number_, 1) - 1) * rp.PAGE_SIZE)
    pages = max(1, -(-total // rp.PAGE_SIZE))
    here = {**inputs, "compare": compare, "fairness": fairness_report}

    def page_url(n: int) -> str | None:
        return f"/targeting/runs/{run.id}?{_query(**here, page=n)}#households-title" if 1 <= n <= pages else None

    others = [(r, m) for r, m in runs.list_runs(session, actor) if r.id != run.id]
    place = (run.scope or {}).get("place")
    return render(
        request, "targeting/run.html", status_code=422 if asked and asked.errors else 200,
        run=run, loaded=loaded, model=model, counts=run.counts or {}, labels=rp.category_labels(model),
        exclusions=rp.exclusion_labels(model), params=(run.scope or {}).get("params") or {},
        place=places_service.names_of(session=session, pcodes=[place]).get(place, place) if place else None,
        data_changed=runs.registry_generation(session) != run.registry_generation,
        asked=asked, values=asked.values if asked else inputs, errors=asked.errors if asked else {},
        others=others, report=report, report_places=rp.places_of(session, [b.groups for b in report.breakdowns])
        if report else {}, rows=rows, total=total, page=number_, pages=pages, previous_url=page_url(number_ - 1),
        next_url=page_url(number_ + 1), targets_url=f"/targeting/runs/{run.id}/targets.csv?{_query(**inputs)}",
        fairness_url=f"/targeting/runs/{run.id}?{_query(**{**here, 'fairness': '1'})}#fairness-title",
        when=when, money=money, share=rp.share, group_label=rp.group_label, dimension_title=rp.dimension_title,
        **simulated)


@router.get("/targeting/runs/{run_id}/targets.csv")
def target_list(run_id: str, session: SessionDep, actor: Reader, budget: str = "", transfer_value: str = "",
                months: str = "", categories: Annotated[list[str] | None, Query()] = None) -> Response:
    """The households the budget would reach, in rank order: codes and groups only, no names nor phones."""
    run, loaded = runs.get_run(session, actor, _run_id(run_id))
    asked = rp.read_simulation(session, actor, run, loaded.model, budget, transfer_value, months, categories or [])
    if asked.budget is None:
        raise ValidationFailed(" ".join(m for messages in asked.errors.values() for m in messages))
    sim = sim_.simulate(session=session, actor=actor, run_id=run.id, budget=asked.budget,
                        categories=asked.categories, by=())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TARGET_COLUMNS)
    n = 0
    for row in sim_.selected_households(session, actor, sim):
        rank, code, score, *rest = tuple(row)
        writer.writerow([rank, code, f"{score:g}", *rest, run.id, loaded.model.id, loaded.model.version,
                         int(loaded.model.uses_displacement_status)])
        n += 1
    name = f"jatigi-target-list-run-{run.id}.csv"
    audit.record(session, actor, "targeting.target_list", "targeting_run", run.id,
                 {"rows": n, "budget": asked.budget.budget, "transfer_value": asked.budget.transfer_value,
                  "months": asked.budget.months, "file": name})
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
