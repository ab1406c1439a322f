"""The `jatigi` command."""

from __future__ import annotations

import typer

from jatigi.cli import audit as audit_cli
from jatigi.cli import db as db_cli
from jatigi.cli import demo as demo_cli
from jatigi.cli import export as export_cli
from jatigi.cli import places as places_cli
from jatigi.cli import registry as registry_cli
from jatigi.cli import registry_import
from jatigi.cli import serve as serve_cli
from jatigi.cli import users as users_cli
from jatigi.cli import xlsform as xlsform_cli
from jatigi.core.i18n import set_language

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  help="Jatigi: registry, protection and assistance for displaced people and hosts.")


@app.callback()
def main(lang: str = typer.Option(None, "--lang", envvar="JATIGI_LANG",
                                  help="Language of messages: fr (default) or en.")) -> None:
    set_language(lang)


app.add_typer(db_cli.app, name="db", help="Database schema.")
app.add_typer(users_cli.app, name="users", help="Users, organisations, tokens, agreements.")
app.add_typer(audit_cli.app, name="audit", help="The audit trail.")
app.command("import")(registry_import.import_command)
app.add_typer(places_cli.app, name="places", help="Admin units: COD-AB import, gazetteer, list.")
app.add_typer(xlsform_cli.app, name="xlsform", help="The registration XLSForm for Kobo / ODK.")
app.add_typer(demo_cli.app, name="demo", help="The synthetic Mali demo: database or Kobo export.")
app.add_typer(registry_cli.app, name="registry", help="Households: summary, search, show, delete, history.")
app.add_typer(export_cli.app, name="export", help="Minimised exports: CSV, XLSX, HXL.")
app.command("serve")(serve_cli.serve)
