"""`jatigi db`: schema migrations."""

from __future__ import annotations

import typer

from jatigi.cli.common import console, friendly_errors
from jatigi.core import migrate
from jatigi.core.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("upgrade", help=_("Create or upgrade the database schema."))
@friendly_errors
def upgrade(revision: str = typer.Argument("head", help=_("Revision to reach (default: the latest)."))) -> None:
    """Create or upgrade the database schema."""
    migrate.upgrade(revision=revision)
    console.print(_("Database at revision {rev}.", rev=migrate.current_revision()))


@app.command("current", help=_("Show the schema revision of the database."))
@friendly_errors
def current() -> None:
    """Show the schema revision of the database."""
    console.print(migrate.current_revision() or _("No schema yet: run `jatigi db upgrade`."))
