"""Who a run favours: each group's share among the scored, the assessed, the vulnerable and the
selected, and the criteria behind any gap.

Shares come from the run's stored scores. The criteria are compared on the data as they are now
(each of the run's households scored again, in one SELECT): for each criterion, the average points it gives each
group; the criteria whose averages differ most between groups are the ones driving a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.model import Criterion
from jatigi.targeting.model_score import contribution_column
from jatigi.targeting.runs import get_run, registry_generation, score_query
from jatigi.targeting.scope import Scope
from jatigi.targeting.simulate import (
    DEFAULT_BY,
    DIMENSIONS,
    Budget,
    Group,
    breakdowns,
    selection,
    vulnerable_categories,
)
from jatigi.targeting.tables import Run

# The household field behind each breakdown, as the scope names it.
FIELDS = {"population_group": "population_group", "head_sex": "head_sex", "region": "current_admin1",
          "commune": "current_pcode"}


@dataclass(frozen=True)
class Driver:
    criterion: Criterion
    means: dict[str | None, float]  # group value -> average points
    gap: float  # largest minus smallest average


@dataclass
class Breakdown:
    dimension: str
    groups: list[Group]
    drivers: list[Driver]


@dataclass
class Fairness:
    run: Run
    total: Group
    breakdowns: list[Breakdown] = field(default_factory=list)
    data_changed: bool = False  # the registry changed since the run: drivers are on today's data


def fairness(*, session: Session, actor: Actor, run_id: int, budget: Budget | None = None,
             categories: Sequence[str] | None = None, by: Sequence[str] = DEFAULT_BY, drivers: int = 3) -> Fairness:
    run, loaded = get_run(session, actor, run_id)
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValidationFailed(_("Unknown breakdown {unknown}: use {known}.", unknown=", ".join(unknown),
                                 known=", ".join(DIMENSIONS)))
    chosen = vulnerable_categories(loaded.model, categories)
    if budget is not None:
        vulnerable, selected, _cut = selection(session, run.id, chosen, budget)
    else:
        vulnerable, selected, _cut = selection(session, run.id, chosen, Budget(1, 1, 1))
        selected = sa.false()
    total, found = breakdowns(session, run.id, len(loaded.model.criteria), vulnerable, selected, by)
    report = Fairness(run, total, data_changed=registry_generation(session) != run.registry_generation)
    means = _means(session, actor, run, loaded.model.criteria, loaded, [FIELDS[d] for d in by])
    for dimension in by:
        by_criterion = means[FIELDS[dimension]]
        ranked = sorted((Driver(c, by_criterion[c.id], _gap(by_criterion[c.id])) for c in loaded.model.criteria),
                        key=lambda d: -d.gap)
        report.breakdowns.append(Breakdown(dimension, found[dimension], [d for d in ranked[:drivers] if d.gap > 0]))
    audit.record(session, actor, "targeting.fairness", "targeting_run", run.id, {"by": list(by)})
    return report


def _gap(means: dict[str | None, float]) -> float:
    return max(means.values()) - min(means.values()) if means else 0.0


def _means(session: Session, actor: Actor, run: Run, criteria: Sequence[Criterion], loaded: Any,
           fields: list[str]) -> dict[str, dict[str, dict[str | None, float]]]:
    """field -> criterion id -> group value -> average points, scoring today's data once."""
    recorded = run.scope.get("params") or {}
    params = IndicatorParams(fcs_thresholds=tuple(recorded.get("fcs_thresholds") or (28.0, 42.0)),  # type: ignore[arg-type]
                             meb_per_person=recorded.get("meb_per_person"),
                             smeb_per_person=recorded.get("smeb_per_person"))
    # The run's households only (those the reader may see among them), not every household the reader sees.
    scope = Scope(actor, place=run.scope.get("place"), run_id=run.id)
    scored = score_query(loaded.model, scope, params,
                         extra=tuple(fields)).subquery("scored")
    keys = [scored.c[name] for name in fields]
    rows = session.execute(sa.select(*keys, sa.func.count(),
                                     *[sa.func.sum(scored.c[contribution_column(c)]) for c in criteria])
                           .group_by(*keys)).all()
    # One grouped query over every breakdown at once; each breakdown's averages are added up from it.
    result: dict[str, dict[str, dict[str | None, float]]] = {}
    for i, name in enumerate(fields):
        counts: dict[str | None, int] = {}
        sums: dict[str, dict[str | None, float]] = {c.id: {} for c in criteria}
        for row in rows:
            value, n = row[i], int(row[len(fields)])
            counts[value] = counts.get(value, 0) + n
            for j, c in enumerate(criteria):
                sums[c.id][value] = sums[c.id].get(value, 0.0) + float(row[len(fields) + 1 + j] or 0.0)
        result[name] = {cid: {v: total / counts[v] for v, total in by_value.items() if counts[v]}
                        for cid, by_value in sums.items()}
    return result
