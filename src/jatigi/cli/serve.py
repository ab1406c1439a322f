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

    console.print(_("Jatigi at http://{host}:{port}/api/v1/ — stop with Ctrl+C.", host=host, port=port),
                  highlight=False)
    run(host, port, workers)
