"""The JSON API of scoring runs: list and create runs, read one's counts and scores, simulate a
budget, the fairness report, and one household's explanation.

Thin: runs, simulate, fairness and explain check permissions and audit. Bad input answers 422
with the field and the reason, in the shape of every other refused request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.targeting import params as params_
from jatigi.targeting import run_page as rp
from jatigi.targeting import runs
from jatigi.targeting import simulate as sim_
from jatigi.targeting.explain import explain
from jatigi.targeting.fairness import fairness
from jatigi.targeting.run_schemas import (
    ExplanationOut,
    FairnessOut,
    PictureOut,
    RunOut,
    ScoreOut,
    ScorePage,
    explanation_out,
    fairness_out,
    picture_out,
    run_out,
)
from jatigi.targeting.scope import Scope
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["targeting"])

Reader = Annotated[Actor, Depends(require(Permission.TARGETING_RUN_READ))]
Runner = Annotated[Actor, Depends(require(Permission.TARGETING_RUN))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}
# Runs and model versions have 32-bit integer keys; an offset is at most what the databases accept.
MAX_ID = 2**31 - 1
MAX_OFFSET = 2**63 - 1
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=60, description="A model's name: food_security, economic, "
                                                                 "protection or one saved.")
    version: int | None = Field(None, ge=1, le=MAX_ID, description="The model's version (default: the latest).")
    place: str | None = Field(None, max_length=20, description="Only households under this P-code.")
    meb: float | None = Field(None, gt=0, description="Minimum Expenditure Basket per person per month, FCFA.")
    smeb: float | None = Field(None, gt=0, description="Survival MEB per person per month, FCFA.")


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget: int = Field(ge=0, le=rp.MAX_AMOUNT, description="The budget, in FCFA.")
    transfer_value: int = Field(gt=0, le=rp.MAX_AMOUNT, description="The transfer per household per month, FCFA.")
    months: int = Field(gt=0, le=1200, description="How many monthly transfers.")
    categories: list[str] | None = Field(None, max_length=20, description="Categories counted as vulnerable "
                                                                          "(default: all but the lowest).")
    by: list[str] | None = Field(None, max_length=4, description="Breakdowns: population_group, head_sex, "
                                                                 "region, commune.")
    compare_run: int | None = Field(None, ge=1, le=MAX_ID, description="A second run, simulated side by side.")


def refused(field: str, message: str, value: Any = "") -> JSONResponse:
    problems = [{"sheet": "request", "row": 1, "column": field, "value": "" if value is None else str(value)[:80],
                 "message": message}]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=1), "problem_count": 1,
                         "problems": problems}, status_code=422)


@router.get("/targeting/runs", response_model=list[RunOut])
def list_runs(session: SessionDep, actor: Reader, limit: int = Query(50, ge=1, le=500)) -> list[RunOut]:
    return [run_out(run, row.name, row.version, rp.model_of(row.text)) for run, row in runs.list_runs(session, actor, limit)]


@router.post("/targeting/runs", response_model=RunOut, status_code=status.HTTP_201_CREATED, responses=REFUSED)
def create_run(body: RunIn, session: SessionDep, actor: Runner) -> RunOut | JSONResponse:
    place = (body.place or "").strip().upper() or None
    place_problem = rp.place_problem(session, body.place)
    if place_problem:
        return refused("place", place_problem, body.place)
    try:
        params = params_.registry_params(body.meb, body.smeb)
    except ValidationFailed as exc:  # the MEB without the survival MEB, or the other way round
        return refused("meb", exc.message, body.meb)
    try:
        loaded = runs.model_by_name(session, actor, body.model, body.version)
    except NotFound as exc:
        return refused("version" if body.version is not None else "model", exc.message, body.model)
    run = runs.score(session=session, actor=actor, loaded=loaded, scope=Scope(actor, place), params=params)
    return run_out(run, loaded.row.name, loaded.row.version, loaded.model)


@router.get("/targeting/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RunId, session: SessionDep, actor: Reader) -> RunOut:
    run, loaded = runs.get_run(session, actor, run_id)
    return run_out(run, loaded.row.name, loaded.row.version, loaded.model)


@router.get("/targeting/runs/{run_id}/scores", response_model=ScorePage)
def run_scores(run_id: RunId, session: SessionDep, actor: Reader, limit: int = Query(rp.PAGE_SIZE, ge=1, le=1000),
               offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> ScorePage:
    run, _loaded = runs.get_run(session, actor, run_id)
    total, rows = rp.score_page(session, actor, run, limit=limit, offset=offset)
    return ScorePage(total=total, limit=limit, offset=offset,
                     items=[ScoreOut(household_code=r.code, score=r.score, category=r.category,
                                     excluded=r.excluded, exclusion=r.exclusion, not_assessed=r.not_assessed)
                            for r in rows])


def _unknown_breakdown(by: list[str]) -> JSONResponse | None:
    unknown = [d for d in by if d not in sim_.DIMENSIONS]
    if not unknown:
        return None
    return refused("by", _("Unknown breakdown {unknown}: use {known}.", unknown=", ".join(unknown),
                           known=", ".join(sim_.DIMENSIONS)), ",".join(unknown))


def _simulate(session: Session, actor: Actor, run_id: int, budget: sim_.Budget, categories: list[str] | None,
              by: list[str], field: str) -> sim_.Simulation | JSONResponse:
    try:
        return sim_.simulate(session=session, actor=actor, run_id=run_id, budget=budget, categories=categories,
                             by=by)
    except ValidationFailed as exc:
        return refused(field, exc.message)


@router.post("/targeting/runs/{run_id}/simulate", response_model=PictureOut, responses=REFUSED)
def simulate(run_id: RunId, body: SimulationIn, session: SessionDep, actor: Reader) -> PictureOut | JSONResponse:
    """Who the budget would reach: selected, vulnerable, coverage, cost, left out, by group. Nothing is recorded."""
    runs.get_run(session, actor, run_id)
    try:
        budget = sim_.Budget(body.budget, body.transfer_value, body.months)
    except ValidationFailed as exc:
        return refused("budget", exc.message, body.budget)
    by = body.by if body.by is not None else list(sim_.DEFAULT_BY)
    wrong = _unknown_breakdown(by)
    if wrong is not None:
        return wrong
    first = _simulate(session, actor, run_id, budget, body.categories, by, "categories")
    if isinstance(first, JSONResponse):
        return first
    sims = [first]
    if body.compare_run is not None:
        try:
            _other, other_loaded = runs.get_run(session, actor, body.compare_run)
        except NotFound as exc:
            return refused("compare_run", exc.message, body.compare_run)
        chosen = rp.categories_of(other_loaded.model, body.categories)
        second = _simulate(session, actor, body.compare_run, budget, chosen, by, "compare_run")
        if isinstance(second, JSONResponse):
            return second
        sims.append(second)
    places = rp.places_of(session, [g for s in sims for g in s.by.values()])
    overlap = sim_.overlap(session, sims[0], sims[1]) if len(sims) == 2 else None
    return picture_out(sims[0], places, sims[1] if len(sims) == 2 else None, overlap)


@router.get("/targeting/runs/{run_id}/fairness", response_model=FairnessOut, responses=REFUSED)
def fairness_report(run_id: RunId, session: SessionDep, actor: Reader,
                    budget: int | None = Query(None, ge=0, le=rp.MAX_AMOUNT),
                    transfer_value: int | None = Query(None, gt=0, le=rp.MAX_AMOUNT),
                    months: int | None = Query(None, gt=0, le=1200),
                    categories: Annotated[list[str] | None, Query()] = None,
                    by: Annotated[list[str] | None, Query()] = None) -> FairnessOut | JSONResponse:
    """Each group's share among the scored, assessed, vulnerable (and selected, given a budget), and the
    criteria with the largest gap in average points between groups."""
    runs.get_run(session, actor, run_id)
    money = None
    if budget is not None or transfer_value is not None or months is not None:
        try:
            money = sim_.Budget(budget or 0, transfer_value or 0, months or 0)
        except ValidationFailed as exc:
            return refused("budget", exc.message, budget)
    wrong = _unknown_breakdown(by or [])
    if wrong is not None:
        return wrong
    try:
        report = fairness(session=session, actor=actor, run_id=run_id, budget=money, categories=categories or None,
                          by=by or sim_.DEFAULT_BY)
    except ValidationFailed as exc:
        return refused("categories", exc.message, ",".join(categories or []))
    places = rp.places_of(session, [b.groups for b in report.breakdowns])
    return fairness_out(report, places, money is not None)


@router.get("/households/{code}/explain", response_model=ExplanationOut, responses=REFUSED)
def explain_household(code: str, session: SessionDep, actor: Reader,
                      model: str | None = Query(None, min_length=1, max_length=60, description="The model's name."),
                      version: int | None = Query(None, ge=1, le=MAX_ID),
                      run: int | None = Query(None, ge=1, le=MAX_ID, description="Instead of model: explain as this run "
                                                                      "scored, its model version and parameters."),
                      ) -> ExplanationOut | JSONResponse:
    """Each criterion's contribution to the household's score, on today's data."""
    if run is None and not model:
        return refused("model", _("This value is required."))
    if run is not None:
        found, loaded = runs.get_run(session, actor, run)
        params = rp.run_params(found)
    else:
        loaded = runs.model_by_name(session, actor, model or "", version)
        params = None
    return explanation_out(explain(session=session, actor=actor, code=code, loaded=loaded, params=params))

