"""What the scoring pages and the API show of runs: labels, shares, the simulation form.

Shared by the pages (targeting/run_views.py, explain_views.py) and the API (run_api.py), so that
both read a form or a body the same way and label groups with the same words as the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import N_, _, number
from jatigi.places import service as places_service
from jatigi.registry import vocab
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.targeting import runs
from jatigi.targeting import simulate as sim_
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.model import Model, load_model
from jatigi.targeting.tables import Run

SHIPPED = ("food_security", "economic", "protection")
GROUP_LABELS = {"population_group": vocab.POPULATION_GROUPS, "head_sex": vocab.SEXES}
DIMENSION_TITLES = {"population_group": N_("Population group"), "head_sex": N_("Sex of the head of household"),
                    "region": N_("Region"), "commune": N_("Commune")}
MAX_AMOUNT = 10**15
PAGE_SIZE = 50


@lru_cache(maxsize=64)
def model_of(text: str) -> Model:
    """A stored model text, loaded once per process (a version never changes)."""
    return load_model(text, registry_catalogue())


def category_labels(model: Model) -> dict[str, str]:
    return {c.name: c.label.get() for c in model.categories}


def categories_of(model: Model, chosen: Sequence[str] | None) -> list[str] | None:
    """The chosen categories this model has, for a second model simulated side by side (its names
    may differ from the first's); None when it has none of them: its own default."""
    return [c for c in chosen or [] if c in category_labels(model)] or None


def exclusion_labels(model: Model) -> dict[str, str]:
    return {e.id: e.label.get() for e in model.exclusions}


def group_label(dimension: str, value: str | None, places: Mapping[str, str] | None = None) -> str:
    if value is None:
        return _("unknown")
    labels = GROUP_LABELS.get(dimension)
    if labels and value in labels:
        return _(labels[value])
    return (places or {}).get(value, value)


def dimension_title(dimension: str) -> str:
    return _(DIMENSION_TITLES.get(dimension, dimension))


def share(part: int, whole: int) -> str:
    return f"{number(round(100 * part / whole, 1))}\u00a0%" if whole else "—"


def places_of(session: Session, groups: Sequence[Sequence[sim_.Group]]) -> dict[str, str]:
    return places_service.names_of(session=session, pcodes=[g.value for found in groups for g in found])


def place_problem(session: Session, place: str | None) -> str | None:
    """Why a run cannot be kept to this place (no place with that P-code), or None when it can."""
    pcode = (place or "").strip().upper()
    if pcode and pcode not in places_service.names_of(session=session, pcodes=[pcode]):
        return _("No place with the P-code {pcode}.", pcode=(place or "").strip()[:20])
    return None


def run_params(run: Run) -> IndicatorParams:
    """The indicator parameters a run recorded, to explain a household as the run scored it."""
    recorded = (run.scope or {}).get("params") or {}
    low, high = recorded.get("fcs_thresholds") or (28.0, 42.0)
    return IndicatorParams(fcs_thresholds=(float(low), float(high)), meb_per_person=recorded.get("meb_per_person"),
                           smeb_per_person=recorded.get("smeb_per_person"))


# ---- reading the simulation's inputs: messages by field, as the form shows them ----------------


@dataclass
class SimulationInput:
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    budget: sim_.Budget | None = None
    categories: tuple[str, ...] = ()
    compare: int | None = None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def amount(text: str, minimum: int) -> tuple[int | None, str | None]:
    """A whole number typed by a person (spaces between thousands allowed), or the problem."""
    cleaned = "".join(str(text or "").split()).replace("\u202f", "")
    if not cleaned:
        return None, _("This value is required.")
    digits = cleaned[1:] if cleaned[:1] in "-+" else cleaned
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None, _("Not a valid {kind}.", kind=_("integer"))
    value = int(cleaned)
    if value < minimum:
        return None, _("Must be at least {limit}.", limit=minimum)
    if value > MAX_AMOUNT:
        return None, _("Must be at most {limit}.", limit=number(MAX_AMOUNT))
    return value, None


def read_simulation(session: Session, actor: Actor, run: Run, model: Model, budget: str, transfer_value: str,
                    months: str, categories: Sequence[str], compare: str = "") -> SimulationInput:
    """Check the simulation's inputs; `budget` is set only when every one is right."""
    out = SimulationInput({"budget": budget, "transfer_value": transfer_value, "months": months,
                           "categories": list(categories), "compare": compare})
    numbers: dict[str, int] = {}
    for name, text, minimum in (("budget", budget, 0), ("transfer_value", transfer_value, 1), ("months", months, 1)):
        value, problem = amount(text, minimum)
        if problem:
            out.add(name, problem)
        elif value is not None:
            numbers[name] = value
    if len(numbers) == 3:
        try:
            out.budget = sim_.Budget(numbers["budget"], numbers["transfer_value"], numbers["months"])
        except ValidationFailed as exc:
            out.add("budget", exc.message)
    try:
        out.categories = sim_.vulnerable_categories(model, [c for c in categories if c] or None)
    except ValidationFailed as exc:
        out.add("categories", exc.message)
    if compare:
        try:
            if not (compare.isascii() and compare.isdigit() and len(compare) < 12):
                raise NotFound(_("No scoring run {id} that you may see.", id=compare[:20]))
            other, _loaded = runs.get_run(session, actor, int(compare))
            if other.id == run.id:
                out.add("compare", _("Choose another run than this one."))
            out.compare = other.id
        except NotFound as exc:
            out.add("compare", exc.message)
    if out.errors:
        out.budget = None
    return out


# ---- a run's households, a page at a time --------------------------------------------------------


@dataclass(frozen=True)
class ScoreRow:
    code: str
    score: float
    category: str | None
    excluded: bool
    exclusion: str | None
    not_assessed: int


def score_page(session: Session, actor: Actor, run: Run, *, limit: int = PAGE_SIZE,
               offset: int = 0) -> tuple[int, list[ScoreRow]]:
    """(how many visible households the run scored, this page of them, highest score first)."""
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    h = Household.__table__.c
    s = runs.SCORES.c
    joined = runs.SCORES.join(Household.__table__, h.id == s.household_id)
    where = [s.run_id == run.id, *visibility(actor)]
    total = session.scalar(sa.select(sa.func.count()).select_from(joined).where(*where)) or 0
    rows = session.execute(sa.select(h.code, s.score, s.category, s.excluded, s.exclusion, s.not_assessed)
                           .select_from(joined).where(*where).order_by(s.score.desc(), s.household_id)
                           .limit(limit).offset(offset))
    found = [ScoreRow(code, float(score), category, bool(excluded), exclusion, int(not_assessed or 0))
             for code, score, category, excluded, exclusion, not_assessed in rows]
    audit.record(session, actor, "targeting.scores.read", "targeting_run", run.id,
                 {"offset": offset, "rows": len(found)})
    return total, found
