"""Vulnerability models as versioned data: every saved text is kept, runs refer to a version.

The models shipped with Jatigi become version rows the first time anyone needs them
(`ensure_shipped`); a request that only reads shows them at once and writes them just after
its reads. A new version is saved only when its text loads without a problem and its
`[model] version` is above the last one saved under that `[model] id`.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jatigi.accounts.models import User
from jatigi.core import audit
from jatigi.core.authz import SYSTEM, Actor, Permission
from jatigi.core.db import after_reading, utcnow
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _, current_language
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.model import Model, ModelError, Problem, load_model, shipped_models
from jatigi.targeting.model_toml import Locator
from jatigi.targeting.tables import ModelVersion

MAX_TEXT_BYTES = 200 * 1024
MAX_CRITERIA = 200
MAX_NOTE = 400
RESERVED = frozenset({"new"})  # /targeting/models/new is the page for a new model


@dataclass(frozen=True)
class Summary:
    """The latest version of a model, as the list shows it."""

    name: str
    version: int
    title: str
    criteria: int
    uses_displacement_status: bool
    saved_at: datetime
    saved_by: str | None  # None: shipped with Jatigi


@dataclass(frozen=True)
class VersionInfo:
    version: int
    saved_at: datetime
    saved_by: str | None
    note: str | None
    sha256: str


@dataclass(frozen=True)
class Loaded:
    name: str
    version: int
    text: str
    sha256: str
    model: Model
    versions: list[VersionInfo]  # every version, newest first

    @property
    def latest(self) -> int:
        return self.versions[0].version


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parts(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}


def _title(text: str, lang: str | None = None) -> str:
    head = _parts(text).get("model", {})
    title = head.get("title") if isinstance(head, dict) else None
    if isinstance(title, dict):
        return str(title.get("en" if (lang or current_language()) == "en" else "fr") or "")
    return ""


@cache
def _shipped() -> tuple[dict[str, Any], ...]:
    out = []
    for path in shipped_models().values():
        text = path.read_text(encoding="utf-8")
        model = load_model(text, registry_catalogue())
        out.append({"name": model.id, "version": model.version, "title": model.title.en[:200], "text": text,
                    "sha256": sha256(text), "uses_displacement_status": model.uses_displacement_status})
    return tuple(out)


def _latest_saved(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(ModelVersion.name, sa.func.max(ModelVersion.version)).group_by(ModelVersion.name))
    return {name: version for name, version in rows}


def _missing_shipped(session: Session) -> list[dict[str, Any]]:
    saved = _latest_saved(session)
    return [row for row in _shipped() if saved.get(row["name"], 0) < row["version"]]


def ensure_shipped(session: Session) -> int:
    """Save the shipped models not saved yet; returns how many were. Two processes may race:
    the unique (name, version) makes the second insert nothing."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    done = 0
    for row in _missing_shipped(session):
        inserted = session.scalar(dialect.insert(ModelVersion).values(**row, saved_at=utcnow(), saved_by=None)
                                  .on_conflict_do_nothing(index_elements=["name", "version"])
                                  .returning(ModelVersion.id))
        if inserted is not None:
            done += 1
            audit.record(session, SYSTEM, "targeting.model.shipped", "targeting_model", row["name"],
                         {"name": row["name"], "before": None, "after": row["version"], "sha256": row["sha256"]})
    return done


def _rows(session: Session, name: str | None = None) -> list[ModelVersion]:
    """Saved versions (of one model, or all), with the shipped ones not saved yet — those are
    saved now, or just after the reads of a read-only request."""
    missing = _missing_shipped(session)
    if missing:
        after_reading(session, ensure_shipped)
    query = sa.select(ModelVersion).order_by(ModelVersion.name, ModelVersion.version.desc())
    if name is not None:
        query = query.where(ModelVersion.name == name)
    rows = list(session.scalars(query))
    seen = {(r.name, r.version) for r in rows}
    for row in missing:
        if (row["name"], row["version"]) not in seen and name in (None, row["name"]):
            rows.append(ModelVersion(**row, saved_at=utcnow(), saved_by=None, note=None))
    return sorted(rows, key=lambda r: (r.name, -r.version))


def _usernames(session: Session, rows: list[ModelVersion]) -> dict[int, str]:
    ids = {r.saved_by for r in rows if r.saved_by is not None}
    if not ids:
        return {}
    return {uid: name for uid, name in session.execute(sa.select(User.id, User.username).where(User.id.in_(ids)))}


def list_models(*, session: Session, actor: Actor) -> list[Summary]:
    actor.require(Permission.TARGETING_RUN_READ)
    latest: dict[str, ModelVersion] = {}
    for row in _rows(session):
        latest.setdefault(row.name, row)
    names = _usernames(session, list(latest.values()))
    out = []
    for row in latest.values():
        criteria = _parts(row.text).get("criteria", [])
        out.append(Summary(row.name, row.version, _title(row.text) or row.title,
                           len(criteria) if isinstance(criteria, list) else 0, row.uses_displacement_status,
                           row.saved_at, names.get(row.saved_by) if row.saved_by else None))
    return out


def get_model(*, session: Session, actor: Actor, name: str, version: int | None = None) -> Loaded:
    """A model's latest version (or the one asked for), its text, the loaded model and its versions."""
    actor.require(Permission.TARGETING_RUN_READ)
    rows = _rows(session, name)
    if not rows:
        raise NotFound(_("There is no model called {name}.", name=name))
    chosen = rows[0] if version is None else next((r for r in rows if r.version == version), None)
    if chosen is None:
        raise NotFound(_("The model {name} has no version {version}; its versions are: {versions}.", name=name,
                         version=version, versions=", ".join(str(r.version) for r in reversed(rows))))
    names = _usernames(session, rows)
    versions = [VersionInfo(r.version, r.saved_at, names.get(r.saved_by) if r.saved_by else None, r.note, r.sha256)
                for r in rows]
    return Loaded(name, chosen.version, chosen.text, chosen.sha256,
                  load_model(chosen.text, registry_catalogue()), versions)


def _load(text: str) -> Model:
    """The model, or ModelError: the text's problems, size and number of criteria included."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ModelError([Problem(1, "", _("The text is too long: at most {n} kB.", n=MAX_TEXT_BYTES // 1024))])
    criteria = _parts(text).get("criteria")
    if isinstance(criteria, list) and len(criteria) > MAX_CRITERIA:
        raise ModelError([Problem(Locator(text).section("criteria", MAX_CRITERIA)[0], "criteria", _(
            "A model has at most {n} criteria; this one has {count}.", n=MAX_CRITERIA, count=len(criteria)))])
    model = load_model(text, registry_catalogue())
    if model.id in RESERVED:
        raise ModelError([Problem(Locator(text).key("model", 0, "id")[0], "model.id",
                                  _("{name} is reserved; choose another id.", name=model.id))])
    return model


def _version_problem(text: str, model: Model, last: int | None, new: bool, name: str | None = None) -> Problem | None:
    if name is not None and model.id != name:
        return Problem(Locator(text).key("model", 0, "id")[0], "model.id", _(
            "This saves a version of {name}: keep id = \"{name}\" (to start another model, make a new one).",
            name=name))
    if last is None:
        return None
    if new:
        return Problem(Locator(text).key("model", 0, "id")[0], "model.id", _(
            "A model called {name} exists already: choose another id, or edit {name} to save a new version of it.",
            name=model.id))
    if model.version <= last:
        return Problem(Locator(text).key("model", 0, "version")[0], "model.version", _(
            "Version {last} of {name} is saved already: set version = {next} to save a new version.",
            last=last, name=model.id, next=last + 1))
    return None


def _last_version(session: Session, name: str) -> int | None:
    shipped = [r["version"] for r in _shipped() if r["name"] == name]
    saved = session.scalar(sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.name == name))
    found = [v for v in (*shipped, saved) if v is not None]
    return max(found) if found else None


def check(*, session: Session, actor: Actor, text: str, new: bool = False, name: str | None = None) -> list[Problem]:
    """Every problem saving this text would meet (the version included); writes nothing."""
    actor.require(Permission.TARGETING_RUN_READ)
    try:
        model = _load(text)
    except ModelError as exc:
        return exc.problems
    problem = _version_problem(text, model, _last_version(session, model.id), new, name)
    return [problem] if problem else []


def save(*, session: Session, actor: Actor, text: str, note: str | None = None, new: bool = False,
         name: str | None = None) -> ModelVersion:
    """Save the text as a new version of the model it names (of `name` only, when given): a new
    model when `new`. ModelError when it has problems."""
    actor.require(Permission.TARGETING_MODEL_WRITE)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed(_("The note is too long: at most {n} characters.", n=MAX_NOTE))
    model = _load(text)
    ensure_shipped(session)
    last = _last_version(session, model.id)
    problem = _version_problem(text, model, last, new, name)
    if problem:
        raise ModelError([problem])
    row = ModelVersion(name=model.id, version=model.version, title=model.title.en[:200], text=text,
                       sha256=sha256(text), uses_displacement_status=model.uses_displacement_status,
                       saved_at=utcnow(), saved_by=actor.user_id, note=note)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # saved meanwhile by someone else
        problem = _version_problem(text, model, _last_version(session, model.id), False)
        raise ModelError([problem or Problem(1, "model.version", _("This version was saved meanwhile."))]) from None
    audit.record(session, actor, "targeting.model.save", "targeting_model", model.id,
                 {"name": model.id, "before": last, "after": model.version, "sha256": row.sha256, "note": note})
    return row


def with_head(text: str, *, ident: str | None = None, version: int | None = None) -> str:
    """The text with `[model] id` and/or `version` set, the rest as written (for the editor)."""
    where = Locator(text)
    lines = text.splitlines(keepends=True)
    for key, value in (("id", f'"{ident}"' if ident else None), ("version", str(version) if version else None)):
        if value is None:
            continue
        line, column = where.key("model", 0, key)
        current = lines[line - 1] if line - 1 < len(lines) else ""
        if current.lstrip().startswith(key) and "=" in current and "#" not in current:
            ending = "\n" if current.endswith("\n") else ""
            lines[line - 1] = current[:column - 1] + value + ending
    return "".join(lines)
