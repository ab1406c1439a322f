"""`jatigi serve`: the web application and its JSON API."""

from __future__ import annotations

import typer

from jatigi.cli.common import console, friendly_errors
from jatigi.core.i18n import _


@friendly_errors
def serve(host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on.")),
          port: int = typer.Option(8000, "--port", help=_("Port to listen on.")),
          workers: int = typer.Option(1, "--workers", help=_("Worker processes."))) -> None:
    """Serve the web application and the JSON API (/api/v1)."""
    from jatigi.web.serving import serve as run

    _check_keys()
    console.print(_("Jatigi at http://{host}:{port}/api/v1/ — stop with Ctrl+C.", host=host, port=port),
                  highlight=False)
    run(host, port, workers)


def _check_keys() -> None:
    """Refuse to start when the key file does not match a database that has master keys: every
    protection page would fail, and a new key would never open what the old one sealed."""
    import sqlalchemy as sa

    from jatigi.cli.common import db_session
    from jatigi.core.envelope import check_key_file

    with db_session() as session:
        if not sa.inspect(session.connection()).has_table("master_keys"):
            return  # not migrated yet: the pages will say so
        check_key_file(session)  # MasterKeyError: shown by friendly_errors, exit 1
