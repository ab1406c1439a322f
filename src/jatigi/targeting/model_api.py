"""The JSON API of vulnerability models: list, read a version, check a text, save a new version.

Thin: the store checks permissions, refuses a wrong text with its problems and audits saves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.targeting import store
from jatigi.targeting.model import Labels, ModelError, Problem
from jatigi.web.deps import SessionDep, require

router = APIRouter(prefix="/targeting/models", tags=["targeting"])

Reader = Annotated[Actor, Depends(require(Permission.TARGETING_RUN_READ))]
Writer = Annotated[Actor, Depends(require(Permission.TARGETING_MODEL_WRITE))]


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The model as TOML; its [model] id names it, its version must be above the "
                                  "last one saved.")
    note: str | None = Field(None, description="Why this version: what changed.")


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class LabelsOut(BaseModel):
    fr: str
    en: str


class ProblemOut(BaseModel):
    line: int
    column: int | None
    key: str
    reason: str


class CheckOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]


class SummaryOut(BaseModel):
    name: str
    version: int
    title: str
    criteria: int
    uses_displacement_status: bool
    saved_at: datetime
    saved_by: str | None = Field(description="Who saved it; null for the models shipped with Jatigi.")


class CriterionOut(BaseModel):
    id: str
    label: LabelsOut
    when: str | None
    points: float | None
    score: str | None
    cap: float | None


class ExclusionOut(BaseModel):
    id: str
    label: LabelsOut
    when: str


class CategoryOut(BaseModel):
    name: str
    label: LabelsOut
    min_score: float


class VersionOut(BaseModel):
    version: int
    saved_at: datetime
    saved_by: str | None
    note: str | None
    sha256: str


class ModelOut(BaseModel):
    name: str
    version: int
    latest_version: int
    title: LabelsOut
    description: LabelsOut | None
    uses_displacement_status: bool
    status_fields: list[str]
    sha256: str
    text: str
    criteria: list[CriterionOut]
    exclusions: list[ExclusionOut]
    categories: list[CategoryOut]
    versions: list[VersionOut]


def _labels(labels: Labels) -> LabelsOut:
    return LabelsOut(fr=labels.fr, en=labels.en)


def _problems(problems: list[Problem]) -> list[ProblemOut]:
    return [ProblemOut(line=p.line, column=p.column, key=p.key, reason=p.reason) for p in problems]


def _model(loaded: store.Loaded) -> ModelOut:
    m = loaded.model
    return ModelOut(
        name=loaded.name, version=loaded.version, latest_version=loaded.latest, title=_labels(m.title),
        description=_labels(m.description) if m.description else None,
        uses_displacement_status=m.uses_displacement_status, status_fields=list(m.status_fields),
        sha256=loaded.sha256, text=loaded.text,
        criteria=[CriterionOut(id=c.id, label=_labels(c.label), when=c.when.text if c.when else None, points=c.points,
                               score=c.score.text if c.score else None, cap=c.cap) for c in m.criteria],
        exclusions=[ExclusionOut(id=e.id, label=_labels(e.label), when=e.when.text) for e in m.exclusions],
        categories=[CategoryOut(name=c.name, label=_labels(c.label), min_score=c.min_score) for c in m.categories],
        versions=[VersionOut(**v.__dict__) for v in loaded.versions])


@router.get("", response_model=list[SummaryOut])
def list_models(session: SessionDep, actor: Reader) -> list[SummaryOut]:
    return [SummaryOut(**m.__dict__) for m in store.list_models(session=session, actor=actor)]


@router.post("/check", response_model=CheckOut)
def check_model(body: TextIn, session: SessionDep, actor: Reader) -> CheckOut:
    """Every problem saving this text would meet, with its line; nothing is saved."""
    problems = store.check(session=session, actor=actor, text=body.text)
    return CheckOut(ok=not problems, problems=_problems(problems))


@router.get("/{name}", response_model=ModelOut)
def get_model(name: str, session: SessionDep, actor: Reader,
              version: int | None = Query(None, ge=1, description="Which version (default: the latest).")) -> ModelOut:
    return _model(store.get_model(session=session, actor=actor, name=name, version=version))


@router.post("", response_model=ModelOut, status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "The text has problems: each with its line, key and reason."}})
def save_model(body: ModelIn, session: SessionDep, actor: Writer) -> ModelOut | JSONResponse:
    try:
        with session.begin_nested():  # a refused text writes nothing
            row = store.save(session=session, actor=actor, text=body.text, note=body.note)
    except ModelError as exc:
        problems = [p.model_dump() for p in _problems(exc.problems)]
        return JSONResponse({"detail": _("The model was not saved: {n} problems.", n=len(problems)),
                             "problem_count": len(problems), "problems": problems}, status_code=422)
    return _model(store.get_model(session=session, actor=actor, name=row.name, version=row.version))
