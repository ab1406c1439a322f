"""Targeting's pages: the hub, the vulnerability models, one model, its editor.

Thin: the store checks permissions, refuses a wrong text with its problems and audits saves. A
refused text comes back in the editor exactly as typed, under the list of its problems.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import number
from jatigi.registry.views import when
from jatigi.targeting import store
from jatigi.targeting.model import ModelError, Problem
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.TARGETING_RUN_READ))]
Writer = Annotated[Actor, Depends(page_require(Permission.TARGETING_MODEL_WRITE))]
Csrf = Annotated[None, Depends(check_csrf)]
Text = Annotated[str, Form()]
ACTIONS = ("check", "save")


def _version(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else None


def points(value: float | None) -> str:
    return "—" if value is None else number(int(value) if float(value).is_integer() else value)


@router.get("/targeting", response_class=HTMLResponse)
def hub(request: Request, session: SessionDep, actor: Reader) -> HTMLResponse:
    return render(request, "targeting/hub.html", models=store.list_models(session=session, actor=actor))


@router.get("/targeting/models", response_class=HTMLResponse)
def models_page(request: Request, session: SessionDep, actor: Reader) -> HTMLResponse:
    return render(request, "targeting/models.html", models=store.list_models(session=session, actor=actor),
                  when=when)


def _editor(request: Request, session: Session, actor: Actor, *, text: str, note: str = "", name: str | None,
            source: str | None = None, problems: list[Problem] | None = None, checked: bool = False,
            status_code: int = 200) -> HTMLResponse:
    """The editor: of a model (`name`), or of a new one (`name` None) copied from `source`."""
    models = store.list_models(session=session, actor=actor)
    action = f"/targeting/models/{name}/edit" if name else "/targeting/models/new"
    return render(request, "targeting/edit.html", status_code=status_code, name=name, source=source, text=text,
                  note=note, problems=problems or [], checked=checked and not problems, action=action,
                  models=models)


@router.get("/targeting/models/new", response_class=HTMLResponse)
def new_page(request: Request, session: SessionDep, actor: Writer, source: str = "") -> HTMLResponse:
    names = [m.name for m in store.list_models(session=session, actor=actor)]
    chosen = source if source in names else names[0]
    loaded = store.get_model(session=session, actor=actor, name=chosen)
    copy = f"{chosen[:35]}_copy"
    return _editor(request, session, actor, name=None, source=chosen,
                   text=store.with_head(loaded.text, ident=copy, version=1))


def _submit(request: Request, session: Session, actor: Actor, *, name: str | None, text: str, note: str,
            action: str) -> Response:
    text = text.replace("\r\n", "\n")
    if action not in ACTIONS:
        action = "check"
    new = name is None
    problems = store.check(session=session, actor=actor, text=text, new=new, name=name)
    if problems or action == "check":
        return _editor(request, session, actor, name=name, text=text, note=note, problems=problems, checked=True,
                       status_code=422 if problems else 200)
    try:
        with session.begin_nested():  # a refused text writes nothing
            row = store.save(session=session, actor=actor, text=text, note=note, new=new, name=name)
    except ModelError as exc:
        return _editor(request, session, actor, name=name, text=text, note=note, problems=exc.problems,
                       checked=True, status_code=422)
    except ValidationFailed as exc:
        return _editor(request, session, actor, name=name, text=text, note=note, status_code=422,
                       problems=[Problem(0, "note", exc.message)], checked=True)
    return RedirectResponse(f"/targeting/models/{row.name}?saved={row.version}", status_code=303)


@router.post("/targeting/models/new", response_class=HTMLResponse)
def new_submit(request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, text: Text = "",
               note: Text = "", action: Text = "check") -> Response:
    return _submit(request, session, actor, name=None, text=text, note=note, action=action)


@router.get("/targeting/models/{name}", response_class=HTMLResponse)
def model_page(name: str, request: Request, session: SessionDep, actor: Reader, version: str = "",
               saved: str = "") -> HTMLResponse:
    loaded = store.get_model(session=session, actor=actor, name=name, version=_version(version))
    return render(request, "targeting/model.html", loaded=loaded, model=loaded.model, when=when, points=points,
                  saved=_version(saved) if saved else None)


@router.get("/targeting/models/{name}/edit", response_class=HTMLResponse)
def edit_page(name: str, request: Request, session: SessionDep, actor: Writer, version: str = "") -> HTMLResponse:
    loaded = store.get_model(session=session, actor=actor, name=name, version=_version(version))
    return _editor(request, session, actor, name=name, text=store.with_head(loaded.text, version=loaded.latest + 1))


@router.post("/targeting/models/{name}/edit", response_class=HTMLResponse)
def edit_submit(name: str, request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, text: Text = "",
                note: Text = "", action: Text = "check") -> Response:
    store.get_model(session=session, actor=actor, name=name)  # 404 for a model that does not exist
    return _submit(request, session, actor, name=name, text=text, note=note, action=action)
