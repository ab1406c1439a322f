"""`jatigi export`: minimised exports of the registry (CSV, XLSX, HXL)."""

from __future__ import annotations

from pathlib import Path

import typer

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _
from jatigi.registry.export import FORMATS, export_households

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("households",
             help=_("One row per household you may see: places, group, shelter, counts — no names or phones."))
@friendly_errors
def households(
    format: str = typer.Option("csv", "--format", help=_("csv, xlsx or hxl.")),
    out: Path = typer.Option(..., "--out", help=_("The file to write.")),
    as_user: str = AS_USER,
) -> None:
    """One row per household you may see: places, group, shelter, counts — no names or phones."""
    if format not in FORMATS:
        err_console.print(_("Unknown format {format}; accepted: {accepted}.", format=format,
                            accepted=", ".join(FORMATS)))
        raise typer.Exit(2)
    with db_session() as session:
        actor = acting_user(session, as_user)
        n = export_households(session=session, actor=actor, fmt=format, out=out)
    console.print(_("{n} households written to {file}.", n=n, file=str(out)), highlight=False)
