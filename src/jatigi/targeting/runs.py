"""Scoring runs: every household in scope scored with one model version, recorded to be reproduced.

A run keeps the model version it used (its text, in `targeting_models`), the indicator parameters,
the scope, who ran it and when, and the registry's change counter at that moment; each household's
score, category and exclusion go to `targeting_scores` in one INSERT … SELECT, computed by the
database over the whole set. Scores are personal data: a run is visible to its organisation only
(and to those who see every household).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import ChangeCounter
from jatigi.core.db import READ_ONLY, utcnow
from jatigi.core.errors import NotFound
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.targeting import params as params_
from jatigi.targeting import store
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.model import Model, load_model
from jatigi.targeting.model_score import fenced, needed_columns, score_select
from jatigi.targeting.scope import CARRIED, Scope, members_select, scope_select
from jatigi.targeting.tables import ModelVersion, Run, Score

SCORES: sa.Table = Score.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Loaded:
    row: ModelVersion
    model: Model


def stored_version(session: Session, actor: Actor, text: str, note: str | None = None) -> Loaded:
    """The stored version of this model text: the same one if this very text is already saved
    (under its id and version), else a new version saved through the store's checks (reserved
    ids, size, a version above the last saved, shipped ones included); ModelError otherwise."""
    actor.require(Permission.TARGETING_RUN_READ)
    store.ensure_shipped(session)
    same = session.scalars(sa.select(ModelVersion).where(ModelVersion.sha256 == store.sha256(text)))
    row = next((r for r in same if r.text == text), None)
    if row is None:
        row = store.save(session=session, actor=actor, text=text, note=note)
    return Loaded(row, load_model(row.text, registry_catalogue()))


def unsaved_version(text: str) -> Loaded:
    """A model text loaded as a version that is not saved: to explain with a draft, which records
    no run. ModelError when the text has problems."""
    model = load_model(text, registry_catalogue())
    return Loaded(ModelVersion(name=model.id, version=model.version, title=model.title.en[:200], text=text,
                               sha256=store.sha256(text), uses_displacement_status=model.uses_displacement_status),
                  model)


def model_by_name(session: Session, actor: Actor, name: str, version: int | None = None) -> Loaded:
    """A saved model's latest (or given) version; the shipped models are saved the first time
    (in a read-only request, just after it)."""
    if READ_ONLY not in session.info:
        store.ensure_shipped(session)
    found = store.get_model(session=session, actor=actor, name=name, version=version)
    row = session.scalar(sa.select(ModelVersion).where(ModelVersion.name == found.name,
                                                       ModelVersion.version == found.version))
    if row is None:  # a shipped model a read-only request sees before it is saved
        row = ModelVersion(name=found.name, version=found.version, title=found.model.title.get("en"),
                           text=found.text, sha256=found.sha256,
                           uses_displacement_status=found.model.uses_displacement_status)
    return Loaded(row, found.model)


def registry_generation(session: Session) -> int:
    return session.scalar(sa.select(ChangeCounter.generation).where(ChangeCounter.domain == "registry")) or 0


def score(*, session: Session, actor: Actor, loaded: Loaded, scope: Scope,
          params: IndicatorParams | None = None) -> Run:
    """Score every household in scope with the model; the run and its scores are recorded."""
    actor.require(Permission.TARGETING_RUN)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    params = params or params_.registry_params()
    model = loaded.model
    started = utcnow()
    run = Run(model_id=loaded.row.id, org_id=actor.org_id, scope=_scope_record(scope, params),
              uses_displacement_status=model.uses_displacement_status, data_as_of=started,
              registry_generation=registry_generation(session), run_by=actor.user_id, run_by_name=actor.username,
              started_at=started)
    session.add(run)
    session.flush()
    groups = ("population_group", "head_sex", "current_admin1", "current_pcode")
    s = score_query(model, scope, params, extra=groups).subquery("scored")
    session.execute(sa.insert(SCORES).from_select(
        ["run_id", "household_id", "household_version", "assessment_id", "score", "category", "excluded",
         "exclusion", "not_assessed", "population_group", "head_sex", "admin1", "pcode"],
        sa.select(sa.literal(run.id), s.c.household_id, s.c.household_version, s.c.assessment_id, s.c.score,
                  s.c.category, s.c.excluded == 1, s.c.exclusion, s.c.not_assessed, *(s.c[g] for g in groups))))
    run.counts = _counts(session, run.id)
    run.finished_at = utcnow()
    audit.record(session, actor, "targeting.run", "targeting_run", run.id,
                 {"model": f"{model.id}@{model.version}", "households": run.counts["households"],
                  "uses_displacement_status": model.uses_displacement_status})
    return run


def score_query(model: Model, scope: Scope, params: IndicatorParams, extra: tuple[str, ...] = ()) -> sa.Select[Any]:
    """The scoring SELECT of `model` over `scope` (see model_score), carrying `extra` scope fields."""
    catalogue = registry_catalogue()
    names, member_names = needed_columns(model, catalogue)
    inner = fenced(scope_select(scope, [*names, *extra], params, catalogue)).subquery("scope")
    members = members_select().subquery("members") if member_names else None
    return score_select(model, inner, members, carry=(*CARRIED, *extra))


def _scope_record(scope: Scope, params: IndicatorParams) -> dict[str, Any]:
    return {"place": scope.place, "org_id": scope.actor.org_id, "sees_all": scope.actor.sees_all,
            "visible_org_ids": sorted(scope.actor.visible_org_ids), "params": params_.as_record(params)}


def _counts(session: Session, run_id: int) -> dict[str, Any]:
    rows = session.execute(sa.select(SCORES.c.category, SCORES.c.excluded, sa.func.count())
                           .where(SCORES.c.run_id == run_id)
                           .group_by(SCORES.c.category, SCORES.c.excluded)).all()
    by_category: dict[str, int] = {}
    excluded = 0
    for category, is_excluded, n in rows:
        if is_excluded:
            excluded += n
        else:
            by_category[category or ""] = by_category.get(category or "", 0) + n
    return {"households": sum(n for *_, n in rows), "excluded": excluded, "categories": by_category}


def get_run(session: Session, actor: Actor, run_id: int) -> tuple[Run, Loaded]:
    """A run the actor may see (their organisation's, or any for those who see every household)."""
    actor.require(Permission.TARGETING_RUN_READ)
    run = session.get(Run, run_id)
    if run is None or not (actor.sees_all or run.org_id == actor.org_id):
        raise NotFound(_("No scoring run {id} that you may see.", id=run_id))
    row = session.get(ModelVersion, run.model_id)
    assert row is not None
    return run, Loaded(row, load_model(row.text, registry_catalogue()))


def list_runs(session: Session, actor: Actor, limit: int = 50) -> list[tuple[Run, ModelVersion]]:
    actor.require(Permission.TARGETING_RUN_READ)
    query = sa.select(Run, ModelVersion).join(ModelVersion, ModelVersion.id == Run.model_id)
    if not actor.sees_all:
        query = query.where(Run.org_id == actor.org_id)
    return [(row[0], row[1]) for row in session.execute(query.order_by(Run.id.desc()).limit(limit))]


def scores_of(session: Session, actor: Actor, run_id: int) -> sa.Result[Any]:
    """Each visible household's result in a run, highest score first: code, score, category,
    excluded, exclusion, not assessed."""
    run, _loaded = get_run(session, actor, run_id)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    h = Household.__table__.c
    s = SCORES.c
    return session.execute(
        sa.select(h.code, s.score, s.category, s.excluded, s.exclusion, s.not_assessed)
        .select_from(SCORES.join(Household.__table__, h.id == s.household_id))
        .where(s.run_id == run.id, *visibility(actor)).order_by(s.score.desc(), s.household_id))
