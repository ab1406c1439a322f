"""`jatigi xlsform`: the registration form for KoboToolbox / ODK."""

from __future__ import annotations

from pathlib import Path

import typer

from jatigi.cli.common import console, friendly_errors
from jatigi.core.i18n import _
from jatigi.registry import form_spec
from jatigi.registry.xlsform import write_registration_form

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("registration", help=_("Write the household registration XLSForm, in French and English."))
@friendly_errors
def registration(out: Path = typer.Option(Path("registration.xlsx"), "--out", "-o",
                                          help=_("Where to write the XLSForm (.xlsx)."))) -> None:
    """Write the household registration XLSForm, in French and English."""
    path = write_registration_form(out)
    console.print(_("Registration form {form_id} version {version} written to {path}.",
                    form_id=form_spec.FORM_ID, version=form_spec.FORM_VERSION, path=str(path)),
                  highlight=False)
