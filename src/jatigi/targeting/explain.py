"""Why a household scored what it did: each criterion's contribution, on the data as they are now.

The household is scored alone with the same SELECT as a run (so the explanation cannot drift from
the scores), and the values of the fields the model reads are shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.registry.models import Household
from jatigi.registry.service import get_visible
from jatigi.targeting import params as params_
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.model import Criterion, Exclusion
from jatigi.targeting.model_score import contribution_column, needed_columns, not_assessed_column
from jatigi.targeting.runs import Loaded, score_query
from jatigi.targeting.scope import Scope


@dataclass(frozen=True)
class Line:
    criterion: Criterion
    points: float
    met: bool | None  # None: not assessed (a value it reads is missing)


@dataclass(frozen=True)
class Explanation:
    household: Household
    loaded: Loaded
    lines: list[Line]
    score: float
    category: str | None
    exclusion: Exclusion | None
    values: dict[str, Any]  # field name -> value, for the household, assessment and indicator fields read


def explain(*, session: Session, actor: Actor, code: str, loaded: Loaded,
            params: IndicatorParams | None = None) -> Explanation:
    actor.require(Permission.TARGETING_RUN_READ)
    hh = get_visible(session, actor, code)
    model = loaded.model
    names, _ = needed_columns(model, registry_catalogue())
    query = score_query(model, Scope(actor, household_ids=(hh.id,)), params or params_.registry_params(),
                        extra=tuple(names))
    row = session.execute(query).mappings().one()
    lines = []
    for criterion in model.criteria:
        points = float(row[contribution_column(criterion)])
        unknown = bool(row[not_assessed_column(criterion)])
        lines.append(Line(criterion, points, None if unknown else _met(criterion, points)))
    exclusion = next((e for e in model.exclusions if e.id == row["exclusion"]), None)
    audit.record(session, actor, "targeting.explain", "household", hh.code,
                 {"model": f"{model.id}@{model.version}"})
    return Explanation(hh, loaded, lines, float(row["score"]), row["category"], exclusion,
                       {name: row[name] for name in names})


def _met(criterion: Criterion, points: float) -> bool:
    """A condition is met when it gave points; a score with no condition always applies."""
    return points != 0 or criterion.when is None
