"""The shapes of the scoring runs API (run_api.py), and how runs, simulations, fairness reports and
explanations become them. Labels are in the caller's language; codes stay as they are stored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from jatigi.core.i18n import _
from jatigi.targeting import run_page as rp
from jatigi.targeting import simulate as sim_
from jatigi.targeting.explain import Explanation
from jatigi.targeting.fairness import Fairness
from jatigi.targeting.model import Model
from jatigi.targeting.tables import Run


class CategoryCountOut(BaseModel):
    name: str = Field(description="The category; empty for households below every category.")
    label: str
    households: int


class RunOut(BaseModel):
    id: int
    model: str
    model_version: int
    uses_displacement_status: bool
    status_fields: list[str]
    run_by: str
    started_at: datetime
    finished_at: datetime | None
    data_as_of: datetime
    place: str | None
    params: dict[str, Any]
    households: int
    excluded: int
    categories: list[CategoryCountOut]


class ScoreOut(BaseModel):
    household_code: str
    score: float
    category: str | None
    excluded: bool
    exclusion: str | None
    not_assessed: int = Field(description="How many criteria could not be assessed for the household.")


class ScorePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ScoreOut]


class GroupOut(BaseModel):
    value: str | None
    label: str
    scored: int
    assessed: int
    vulnerable: int
    selected: int
    left_out: int


class SimulationOut(BaseModel):
    run_id: int
    model: str
    model_version: int
    uses_displacement_status: bool
    budget: int
    transfer_value: int
    months: int
    per_household: int
    households_paid: int = Field(description="How many households the budget pays for.")
    categories: list[str]
    cutoff: float | None = Field(description="The lowest score selected; null when every vulnerable household is.")
    total: GroupOut
    coverage: float | None = Field(description="Selected / vulnerable, from 0 to 1.")
    cost: int
    by: dict[str, list[GroupOut]]


class OverlapOut(BaseModel):
    both: int
    only_a: int
    only_b: int


class PictureOut(SimulationOut):
    compare: SimulationOut | None = None
    overlap: OverlapOut | None = None


class ShareOut(GroupOut):
    share_scored: float | None
    share_assessed: float | None
    share_vulnerable: float | None
    share_selected: float | None


class MeanOut(BaseModel):
    value: str | None
    label: str
    points: float


class DriverOut(BaseModel):
    criterion: str
    label: str
    gap: float
    means: list[MeanOut]


class BreakdownOut(BaseModel):
    dimension: str
    groups: list[ShareOut]
    drivers: list[DriverOut]


class FairnessOut(BaseModel):
    run_id: int
    data_changed: bool = Field(description="The registry changed since the run: criteria compared on today's data.")
    total: GroupOut
    breakdowns: list[BreakdownOut]


class ExclusionOut(BaseModel):
    id: str
    label: str


class LineOut(BaseModel):
    criterion: str
    label: str
    condition: str
    met: bool | None = Field(description="null: not assessed (a value it reads is missing).")
    points: float


class ExplanationOut(BaseModel):
    household_code: str
    model: str
    model_version: int
    uses_displacement_status: bool
    score: float
    category: str | None
    category_label: str | None
    exclusion: ExclusionOut | None
    criteria: list[LineOut]
    values: dict[str, Any]


def run_out(run: Run, name: str, version: int, model: Model) -> RunOut:
    counts = run.counts or {}
    labels = rp.category_labels(model)
    found = counts.get("categories", {})
    categories = [CategoryCountOut(name=c.name, label=labels[c.name], households=found.get(c.name, 0))
                  for c in model.categories]
    categories.append(CategoryCountOut(name="", label=_("Below every category"), households=found.get("", 0)))
    return RunOut(id=run.id, model=name, model_version=version, uses_displacement_status=run.uses_displacement_status,
                  status_fields=list(model.status_fields), run_by=run.run_by_name, started_at=run.started_at,
                  finished_at=run.finished_at, data_as_of=run.data_as_of, place=(run.scope or {}).get("place"),
                  params=(run.scope or {}).get("params") or {}, households=counts.get("households", 0),
                  excluded=counts.get("excluded", 0), categories=categories)


def group_out(dimension: str, g: sim_.Group, places: Mapping[str, str]) -> GroupOut:
    return GroupOut(value=g.value, label=rp.group_label(dimension, g.value, places) if dimension else "",
                    scored=g.scored, assessed=g.assessed, vulnerable=g.vulnerable, selected=g.selected,
                    left_out=g.left_out)


def simulation_out(s: sim_.Simulation, places: Mapping[str, str]) -> SimulationOut:
    m = s.loaded.model
    return SimulationOut(
        run_id=s.run.id, model=m.id, model_version=m.version, uses_displacement_status=m.uses_displacement_status,
        budget=s.budget.budget, transfer_value=s.budget.transfer_value, months=s.budget.months,
        per_household=s.budget.per_household, households_paid=s.budget.households, categories=list(s.categories),
        cutoff=s.cutoff, total=group_out("", s.total, places), coverage=s.coverage, cost=s.cost,
        by={d: [group_out(d, g, places) for g in found] for d, found in s.by.items()})


def picture_out(s: sim_.Simulation, places: Mapping[str, str], other: sim_.Simulation | None,
                overlap: dict[str, int] | None) -> PictureOut:
    return PictureOut(**simulation_out(s, places).model_dump(),
                      compare=simulation_out(other, places) if other is not None else None,
                      overlap=OverlapOut(**overlap) if overlap is not None else None)


def _fraction(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def fairness_out(report: Fairness, places: Mapping[str, str], with_budget: bool) -> FairnessOut:
    t = report.total
    breakdowns = []
    for b in report.breakdowns:
        groups = [ShareOut(**group_out(b.dimension, g, places).model_dump(), share_scored=_fraction(g.scored, t.scored),
                           share_assessed=_fraction(g.assessed, t.assessed),
                           share_vulnerable=_fraction(g.vulnerable, t.vulnerable),
                           share_selected=_fraction(g.selected, t.selected) if with_budget else None)
                  for g in b.groups]
        drivers = [DriverOut(criterion=d.criterion.id, label=d.criterion.label.get(), gap=round(d.gap, 4),
                             means=[MeanOut(value=v, label=rp.group_label(b.dimension, v, places), points=round(p, 4))
                                    for v, p in d.means.items()]) for d in b.drivers]
        breakdowns.append(BreakdownOut(dimension=b.dimension, groups=groups, drivers=drivers))
    return FairnessOut(run_id=report.run.id, data_changed=report.data_changed, total=group_out("", t, places),
                       breakdowns=breakdowns)


def explanation_out(e: Explanation) -> ExplanationOut:
    m = e.loaded.model
    lines = [LineOut(criterion=line.criterion.id, label=line.criterion.label.get(),
                     condition=(line.criterion.when or line.criterion.score).text  # type: ignore[union-attr]
                     if (line.criterion.when or line.criterion.score) else "", met=line.met, points=line.points)
             for line in e.lines]
    return ExplanationOut(
        household_code=e.household.code, model=m.id, model_version=m.version,
        uses_displacement_status=m.uses_displacement_status, score=e.score, category=e.category,
        category_label=rp.category_labels(m).get(e.category or "") if e.category else None,
        exclusion=ExclusionOut(id=e.exclusion.id, label=e.exclusion.label.get()) if e.exclusion else None,
        criteria=lines, values=dict(e.values))
