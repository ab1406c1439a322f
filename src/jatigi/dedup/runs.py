"""The registry's two ways into deduplication: a run over the whole registry, and the check of an
import's new people against it.

A run reads the people in one short transaction, trains or reuses the active model and scores
outside any transaction (the engine works on its own copy), then writes the pairs in another:
the registry stays open to everyone else meanwhile. Pairs between the review and the link
threshold go to the queue as possible duplicates, those above the link threshold as probable
(still reviewable); those below the review threshold are dropped.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from splink import Linker
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import get_engine, session_scope, utcnow
from jatigi.core.errors import JatigiError, ValidationFailed
from jatigi.core.i18n import _
from jatigi.dedup import service
from jatigi.dedup.backends import ENGINES, EngineOptions
from jatigi.dedup.blocking import rules_in_use
from jatigi.dedup.components import Components
from jatigi.dedup.engine import Linkage, Prediction, tf_weight_column
from jatigi.dedup.model import Model
from jatigi.dedup.models import DedupRun, LinkageModel
from jatigi.dedup.registry_people import RegistryPeople, concat, read_people
from jatigi.dedup.store import Scored, StoreCounts, derive_household_pairs, store_pairs
from jatigi.registry.models import Household

log = logging.getLogger(__name__)

REVIEW_FROM = 0.5
LINK_FROM = 0.95


# ---- the stored models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredModel:
    id: int
    version: int
    model: Model
    labels: int


def active_model(session: Session) -> StoredModel | None:
    row = session.scalar(sa.select(LinkageModel).where(LinkageModel.active.is_(True))
                         .order_by(LinkageModel.version.desc()).limit(1))
    if row is None:
        return None
    return StoredModel(row.id, row.version, Model.from_dict(json.loads(row.document)), row.labels)


def save_model(session: Session, *, actor: Actor, model: Model, engine: str, training_size: int,
               labels: int) -> LinkageModel:
    """Store a newly trained model as the next version and make it the active one."""
    version = (session.scalar(sa.select(sa.func.max(LinkageModel.version))) or 0) + 1
    session.execute(sa.update(LinkageModel).where(LinkageModel.active.is_(True)).values(active=False))
    row = LinkageModel(version=version, engine=engine, document=json.dumps(model.to_dict(), ensure_ascii=False),
                       trained_at=utcnow(), trained_by=actor.user_id, trained_by_name=actor.username,
                       training_size=training_size, labels=labels, active=True)
    session.add(row)
    session.flush()
    audit.record(session, actor, "dedup.model.train", "dedup_model", row.version,
                 {"engine": engine, "people": training_size, "labels": labels})
    return row


# ---- from the engine's predictions to pairs with their explanation --------------------------------


def _prior_weight(model: Model) -> float:
    return math.log2(model.prior / (1 - model.prior))


def scored_pairs(prediction: Prediction, model: Model) -> list[Scored]:
    """Each predicted pair with the weight every field added and the level it reached (labels,
    never values)."""
    linker = prediction.linker
    comparisons = []
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        labels = {lv.comparison_vector_value: lv.label_for_charts for lv in comparison.comparison_levels}
        comparisons.append((name, labels, tf_weight_column(name)))
    prior = {"field": "prior", "level": "", "weight": round(_prior_weight(model), 4)}
    table: pa.Table = prediction.frame.as_pyarrow_table()
    out: list[Scored] = []
    for batch in table.to_batches(max_chunksize=50_000):
        for row in batch.to_pylist():
            fields: list[dict[str, Any]] = [prior]
            for name, labels, tf in comparisons:
                weight = float(row.get(f"mw_{name}") or 0.0) + float(row.get(tf) or 0.0)
                fields.append({"field": name, "level": labels.get(row.get(f"gamma_{name}"), ""),
                               "weight": round(weight, 4)})
            a, b = sorted((int(row["unique_id_l"]), int(row["unique_id_r"])))
            out.append(Scored(a, b, float(row["match_probability"]), float(row["match_weight"]), fields))
    return out


def across_households(scored: list[Scored], household_of: dict[int, int]) -> list[Scored]:
    """The pairs of people of two different households. The members of one registration are
    different people by construction (the enumerator lists each once), and they share the
    household's phone, address and place, which would make brothers look like one person."""
    return [s for s in scored if household_of[s.a] != household_of[s.b]]


def cluster_count(scored: list[Scored], link_from: float) -> int:
    """Groups of two people or more joined, directly or through others, by pairs at or above the
    link threshold."""
    return len(Components((s.a, s.b) for s in scored if s.probability >= link_from).groups())


# ---- way 1: the registry ----------------------------------------------------------------------------


@dataclass
class RunOptions:
    engine: str = "duckdb"
    retrain: bool = False
    review_from: float = REVIEW_FROM
    link_from: float = LINK_FROM

    def check(self) -> None:
        if self.engine not in ENGINES:
            raise ValidationFailed(_("Unknown engine {engine}; accepted: {accepted}.", engine=self.engine,
                                     accepted=", ".join(ENGINES)))
        if not 0 < self.review_from < 1 or not 0 < self.link_from < 1:
            raise ValidationFailed(_("Thresholds are match probabilities between 0 and 1 (excluded)."))
        if self.review_from > self.link_from:
            raise ValidationFailed(_("The review threshold ({review}) is above the link threshold ({link}).",
                                     review=self.review_from, link=self.link_from))


@dataclass
class RunSummary:
    run_id: int
    model_version: int
    trained: bool
    people: int
    labels: int  # decisions the model learnt from (when trained), or could learn from (when reused)
    new_labels: int  # decisions made since the active model was trained
    pairs: StoreCounts
    clusters: int
    household_pairs: int
    seconds: float
    counts: dict[str, Any] = field(default_factory=dict)


def _confirmed(session: Session, people: RegistryPeople) -> list[tuple[str, str]]:
    """Pairs reviewers decided are the same person, for the model to learn from. (Splink learns m
    from matching pairs only; rejections shape the queue, not the m values.)"""
    present = people.household_of
    return [(str(a), str(b)) for a, b, same in service.labels(session) if same and a in present and b in present]


def run_registry(*, actor: Actor, options: RunOptions | None = None, engine: sa.Engine | None = None,
                 on_step: Callable[[str], None] | None = None) -> RunSummary:
    """Score the whole registry and fill the review queue; see the module docstring."""
    actor.require(Permission.DEDUP_RUN)
    options = options or RunOptions()
    options.check()
    db = engine or get_engine()
    step = on_step or (lambda _text: None)
    started = time.perf_counter()
    with session_scope(db) as session:
        run = DedupRun(kind="registry", engine=options.engine, review_threshold=options.review_from,
                       link_threshold=options.link_from, user_id=actor.user_id, username=actor.username,
                       started_at=utcnow(), status="running")
        session.add(run)
        session.flush()
        run_id = run.id
        audit.record(session, actor, "dedup.run.start", "dedup_run", run_id,
                     {"engine": options.engine, "retrain": options.retrain, "review_from": options.review_from,
                      "link_from": options.link_from})
    try:
        summary = _run(db, actor, options, run_id, step, started)
    except BaseException as exc:
        message = exc.message if isinstance(exc, JatigiError) else f"{type(exc).__name__}: {exc}"
        with session_scope(db) as session:
            session.execute(sa.update(DedupRun).where(DedupRun.id == run_id).values(
                status="failed", error=message[:2000], finished_at=utcnow()))
            audit.record(session, actor, "dedup.run.failed", "dedup_run", run_id, {"error": message[:500]})
        raise
    return summary


def _run(db: sa.Engine, actor: Actor, options: RunOptions, run_id: int, step: Callable[[str], None],
         started: float) -> RunSummary:
    step(_("Reading the registry's people…"))
    with session_scope(db) as session:
        people = read_people(session)
        try:
            stored = active_model(session)
        except JatigiError as exc:  # a model of an earlier version of the settings: --retrain replaces it
            if not options.retrain:
                raise ValidationFailed(_("{reason} Run again with --retrain.", reason=exc.message)) from None
            stored = None
        confirmed = _confirmed(session, people)
        audit.record(session, actor, "dedup.run.read", "dedup_run", run_id, {"people": people.count})
    if people.count < 2:
        raise ValidationFailed(_("The registry has {n} person: at least two are needed to look for duplicates.",
                                 n=people.count))
    train = options.retrain or stored is None
    with Linkage(people.table, EngineOptions(engine=options.engine)) as linkage:
        if train:
            step(_("Training the model on {n} people ({labels} reviewers' decisions)…", n=people.count,
                   labels=len(confirmed)))
            model = linkage.train(labels=confirmed)
        else:
            assert stored is not None
            model = stored.model
        step(_("Scoring pairs…"))
        found = linkage.predict(model, threshold=options.review_from, weights=True)
        scored = across_households(scored_pairs(found, model), people.household_of)
    step(_("Grouping people…"))
    clusters = cluster_count(scored, options.link_from)
    step(_("Writing the review queue…"))
    with session_scope(db) as session:
        if train:
            row = save_model(session, actor=actor, model=model, engine=options.engine, training_size=people.count,
                             labels=len(confirmed))
            model_id, version = row.id, row.version
        else:
            assert stored is not None
            model_id, version = stored.id, stored.version
        counts = store_pairs(session, run_id=run_id, kind="registry", scored=scored,
                             household_of=people.household_of, link_from=options.link_from)
        households = derive_household_pairs(session, run_id=run_id)
        seconds = round(time.perf_counter() - started, 2)
        totals = {"people": people.count, "pairs": counts.found, "new": counts.new, "updated": counts.updated,
                  "kept": counts.kept, "probable": counts.probable, "possible": counts.possible,
                  "clusters": clusters, "household_pairs": households, "trained": train,
                  "labels": len(confirmed), "seconds": seconds}
        session.execute(sa.update(DedupRun).where(DedupRun.id == run_id).values(
            status="done", model_id=model_id, counts=totals, finished_at=utcnow()))
        audit.record(session, actor, "dedup.run", "dedup_run", run_id, {"model": version, **totals})
        bump(session, "dedup")
    new_labels = 0 if train else max(0, len(confirmed) - (stored.labels if stored else 0))
    return RunSummary(run_id, version, train, people.count, len(confirmed), new_labels, counts, clusters,
                      households, seconds, totals)


# ---- way 2: an import's new people ---------------------------------------------------------------------


@dataclass
class ImportCheck:
    status: str  # checked, no_model, failed
    run_id: int | None = None
    people: int = 0  # new people checked
    pairs: int = 0
    households: int = 0  # new households flagged as possible duplicates
    seconds: float = 0.0
    message: str = ""


def _thresholds(session: Session) -> tuple[float, float]:
    last = session.execute(sa.select(DedupRun.review_threshold, DedupRun.link_threshold)
                           .where(DedupRun.kind == "registry", DedupRun.status == "done")
                           .order_by(DedupRun.id.desc()).limit(1)).first()
    return (float(last[0]), float(last[1])) if last else (REVIEW_FROM, LINK_FROM)


def check_import(*, session: Session, actor: Actor, batch_id: int) -> ImportCheck:
    """Check the people an import has just written against the rest of the registry, in the
    import's own transaction; their households with a pair go to the queue as possible duplicates.
    Never raises for the linkage itself: a check that cannot run says why in its result."""
    started = time.perf_counter()
    review_from, link_from = _thresholds(session)
    unusable: str | None = None
    try:
        stored = active_model(session)
    except JatigiError as exc:  # a model of an earlier version of the settings
        stored, unusable = None, exc.message
    run = DedupRun(kind="import", engine="duckdb", review_threshold=review_from, link_threshold=link_from,
                   batch_id=batch_id, user_id=actor.user_id, username=actor.username, started_at=utcnow(),
                   status="running", model_id=stored.id if stored else None)
    session.add(run)
    session.flush()
    result = ImportCheck(status="checked", run_id=run.id)
    if unusable is not None:
        result.status, run.error = "failed", unusable[:2000]
    elif stored is None:
        result.status = "no_model"
    else:
        try:
            with session.begin_nested():
                _check(session, stored, batch_id, run.id, link_from, review_from, result)
        except Exception as exc:
            if not isinstance(exc, JatigiError):
                log.exception("duplicate check of import batch %s", batch_id)
            result.status = "failed"
            run.error = (exc.message if isinstance(exc, JatigiError) else type(exc).__name__)[:2000]
    result.seconds = round(time.perf_counter() - started, 2)
    run.status = "done" if result.status == "checked" else result.status
    run.counts = {"people": result.people, "pairs": result.pairs, "households": result.households,
                  "seconds": result.seconds}
    run.finished_at = utcnow()
    result.message = service.check_note(run)
    audit.record(session, actor, "dedup.import_check", "dedup_run", run.id,
                 {"batch": batch_id, "status": result.status, **run.counts})
    bump(session, "dedup")
    return result


def _check(session: Session, stored: StoredModel, batch_id: int, run_id: int, link_from: float,
           review_from: float, result: ImportCheck) -> None:
    new = read_people(session, Household.import_batch_id == batch_id)
    result.people = new.count
    if not new.count:
        return
    existing = read_people(session, sa.or_(Household.import_batch_id.is_(None), Household.import_batch_id != batch_id))
    if not existing.count:
        return
    both = concat(existing, new)
    with Linkage(both.table) as linkage:
        in_use = rules_in_use(linkage.plan())
        linker = Linker(linkage.input, stored.model.settings_for(linkage.dialect, in_use, retain=True),
                        log_level=logging.ERROR)
        for comparison in linker._settings_obj.comparisons:
            for level in comparison.comparison_levels:
                if level._has_tf_adjustments:
                    linker.table_management.compute_tf_table(level._tf_adjustment_input_column.unquote().name)
        frame = linker.inference.predict_between(linkage.backend.register(new.table, "new"),
                                                 linkage.backend.register(existing.table, "existing"),
                                                 threshold_match_probability=review_from)
        scored = scored_pairs(Prediction(linkage, linker, frame, review_from, []), stored.model)
    counts = store_pairs(session, run_id=run_id, kind="import", scored=scored, household_of=both.household_of,
                         link_from=link_from)
    new_households = set(new.household_of.values())
    derive_household_pairs(session, run_id=run_id, households=new_households)
    result.pairs = counts.new + counts.updated
    result.households = len(service.possible_duplicates(session, sorted(new_households)))
