"""Why a household scored what it did, in a page: each criterion, its condition, whether it was
met, its points; the total, the category, an exclusion, and the values the model read.

`?run=ID` explains with the run's model version and parameters; `?model=NAME[&version=N]` with a
model as it is saved, on today's data. Without either, the page offers the models to choose from.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _, day, number
from jatigi.registry.service import get_visible
from jatigi.targeting import run_page as rp
from jatigi.targeting import runs, store
from jatigi.targeting.catalogue import registry_catalogue
from jatigi.targeting.explain import Line, explain
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.TARGETING_RUN_READ))]


def _digits(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 12 else None


def shown(value: Any) -> str:
    """A value the model read, as people write it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return number(round(value, 2))
    if isinstance(value, date):
        return day(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def condition(line: Line) -> str:
    c = line.criterion
    return c.when.text if c.when else (c.score.text if c.score else "")


def field_label(name: str) -> str:
    found = registry_catalogue().get(name)
    return _(found.label) if found is not None else name


@router.get("/targeting/explain/{code}", response_class=HTMLResponse)
def explain_page(code: str, request: Request, session: SessionDep, actor: Reader, model: str = "",
                 version: str = "", run: str = "") -> HTMLResponse:
    hh = get_visible(session, actor, code)
    models = store.list_models(session=session, actor=actor)
    found_run = None
    if run:
        found_run, loaded = runs.get_run(session, actor, _digits(run) or 0)
        params = rp.run_params(found_run)
    elif model:
        loaded = runs.model_by_name(session, actor, model, _digits(version))
        params = None
    else:
        return render(request, "targeting/explain.html", hh=hh, models=models, e=None, run=None, chosen="")
    e = explain(session=session, actor=actor, code=hh.code, loaded=loaded, params=params)
    return render(request, "targeting/explain.html", hh=hh, models=models, e=e, run=found_run,
                  chosen=loaded.model.id, labels=rp.category_labels(loaded.model), condition=condition,
                  shown=shown, field_label=field_label)
