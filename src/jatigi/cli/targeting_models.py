"""`jatigi targeting models`: the saved vulnerability models — list, show, check, save a new version."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, day, number
from jatigi.targeting import store
from jatigi.targeting.model import ModelError, Problem

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def when(at: datetime) -> str:
    return f"{day(at)} {at:%H:%M} UTC"


def _read(file: Path) -> str:
    with file.open(encoding="utf-8") as fh:  # an unreadable file is told by friendly_errors
        return fh.read()


def _print_problems(file: Path, problems: list[Problem]) -> None:
    for problem in problems:
        err_console.print(f"{file}: {problem}")
    err_console.print(_("{n} problems: nothing was saved.", n=number(len(problems))), style="red")


@app.command("list", help=_("List the vulnerability models: the latest version of each."))
@friendly_errors
def list_models(as_user: str = AS_USER) -> None:
    with db_session() as session:
        models = store.list_models(session=session, actor=acting_user(session, as_user))
    table = Table(_("Name"), _("Version"), _("Title"), _("Criteria"), _("Displacement status"), _("Saved"), _("By"))
    table.columns[0].no_wrap = True
    for m in models:
        table.add_row(m.name, str(m.version), m.title, number(m.criteria),
                      _("used") if m.uses_displacement_status else _("not used"), when(m.saved_at),
                      m.saved_by or _("shipped with Jatigi"))
    console.print(table)


@app.command("show", help=_("Print a model's text (TOML): its latest version or the one asked for."))
@friendly_errors
def show(name: str = typer.Argument(..., help=_("The model's name (its [model] id).")),
         version: int = typer.Option(None, "--version", min=1, help=_("Which version (default: the latest).")),
         as_user: str = AS_USER) -> None:
    with db_session() as session:
        loaded = store.get_model(session=session, actor=acting_user(session, as_user), name=name, version=version)
    sys.stdout.write(loaded.text if loaded.text.endswith("\n") else loaded.text + "\n")
    if loaded.version != loaded.latest:
        err_console.print(_("This is version {version}; the latest is version {latest}.", version=loaded.version,
                            latest=loaded.latest))


@app.command("check", help=_("Check a model file without saving it: every problem with its line."))
@friendly_errors
def check(file: Path = typer.Argument(..., help=_("The model file (TOML).")), as_user: str = AS_USER) -> None:
    text = _read(file)
    with db_session() as session:
        problems = store.check(session=session, actor=acting_user(session, as_user), text=text)
    if problems:
        for problem in problems:
            err_console.print(f"{file}: {problem}")
        err_console.print(_("{n} problems.", n=number(len(problems))), style="red")
        raise typer.Exit(1)
    console.print(_("{file}: no problem; it can be saved.", file=str(file)))


@app.command("save", help=_("Save a model file as a new version (its [model] version must be above the last "
                            "one saved)."))
@friendly_errors
def save(file: Path = typer.Argument(..., help=_("The model file (TOML).")),
         note: str = typer.Option(None, "--note", help=_("Why this version: what changed (optional).")),
         as_user: str = AS_USER) -> None:
    text = _read(file)
    try:
        with db_session() as session:
            row = store.save(session=session, actor=acting_user(session, as_user), text=text, note=note)
            name, version = row.name, row.version
    except ModelError as exc:
        _print_problems(file, exc.problems)
        raise typer.Exit(1) from None
    console.print(_("Saved: {name} version {version}.", name=name, version=version))
