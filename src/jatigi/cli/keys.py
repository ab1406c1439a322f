"""`jatigi keys`: the master key file of the protection records — check it, rotate it."""

from __future__ import annotations

import sqlalchemy as sa
import typer

from jatigi.cli.common import console, db_session, friendly_errors
from jatigi.core import audit, envelope
from jatigi.core.authz import SYSTEM
from jatigi.core.config import get_settings
from jatigi.core.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("check", help=_("Compare the master key file with the database; exit 1 if they do not match."))
@friendly_errors
def check() -> None:
    """Compare the master key file with the database; exit 1 if they do not match."""
    with db_session() as session:
        found = envelope.check_key_file(session)
        counts = dict(session.execute(sa.select(envelope.DataKey.master_key_id, sa.func.count())
                                      .group_by(envelope.DataKey.master_key_id)).all())
    if not found.known:
        console.print(_("This database has no master key yet: the key file {path} is recorded at first use.",
                        path=str(found.path)))
        return
    console.print(_("The key file {path} matches this database: master keys {keys}.", path=str(found.path),
                    keys=", ".join(str(k) for k in found.known)))
    for ident in found.known:
        console.print(_("Master key {n}: {count} data keys.", n=ident, count=counts.get(ident, 0)))
    if found.ignored:
        console.print(_("Keys of the file unknown to this database, never used: {keys}.",
                        keys=", ".join(str(k) for k in found.ignored)))


@app.command("rotate", help=_("Add a master key to the key file and re-wrap every data key under it."))
@friendly_errors
def rotate() -> None:
    """Add a master key to the key file and re-wrap every data key under it."""
    with db_session() as session:
        done = envelope.rotate(session)
        audit.record(session, SYSTEM, "keys.rotate", "master_key", done.new_master_id,
                     {"rewrapped": done.rewrapped})
    console.print(_("Master key {n} added; {count} data keys re-wrapped under it. Keep a copy of the key file "
                    "{path} in a safe place: without it nothing sealed can be opened.", n=done.new_master_id,
                    count=done.rewrapped, path=str(get_settings().key_file)))
