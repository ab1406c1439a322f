"""The `jatigi` command."""

from __future__ import annotations

import os
import sys

import typer

from jatigi.core.i18n import _, set_language


def language_from_args(args: list[str]) -> str | None:
    """The value of `--lang X` or `--lang=X` among the command's arguments, if given."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


# Help texts are translated when the command modules are imported: the language must be known
# first. `--lang`, else JATIGI_LANG, else French; the `--lang` option below then sets it again.
set_language(language_from_args(sys.argv[1:]) or os.environ.get("JATIGI_LANG"))

from jatigi.cli import assistance as assistance_cli  # noqa: E402
from jatigi.cli import audit as audit_cli  # noqa: E402
from jatigi.cli import db as db_cli  # noqa: E402
from jatigi.cli import dedup as dedup_cli  # noqa: E402
from jatigi.cli import demo as demo_cli  # noqa: E402
from jatigi.cli import export as export_cli  # noqa: E402
from jatigi.cli import keys as keys_cli  # noqa: E402
from jatigi.cli import places as places_cli  # noqa: E402
from jatigi.cli import protection as protection_cli  # noqa: E402
from jatigi.cli import registry as registry_cli  # noqa: E402
from jatigi.cli import registry_import  # noqa: E402
from jatigi.cli import serve as serve_cli  # noqa: E402
from jatigi.cli import targeting as targeting_cli  # noqa: E402
from jatigi.cli import users as users_cli  # noqa: E402
from jatigi.cli import xlsform as xlsform_cli  # noqa: E402

# No Rich markup in help texts: a text such as "[x]" is shown as it is, in any language.
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                  rich_markup_mode=None,
                  help=_("Jatigi: registry, protection and assistance for displaced people and hosts."))


@app.callback()
def main(lang: str = typer.Option(None, "--lang", envvar="JATIGI_LANG",
                                  help=_("Language of messages: fr (default) or en."))) -> None:
    set_language(lang)


app.add_typer(db_cli.app, name="db", help=_("Database schema."))
app.add_typer(users_cli.app, name="users", help=_("Users, organisations, tokens, agreements."))
app.add_typer(audit_cli.app, name="audit", help=_("The audit trail."))
app.add_typer(keys_cli.app, name="keys", help=_("The master key file of protection records: check, rotate."))
app.command("import", help=_("Import households; by default a file with any problem writes nothing."))(
    registry_import.import_command)
app.add_typer(places_cli.app, name="places", help=_("Admin units: COD-AB import, gazetteer, list."))
app.add_typer(xlsform_cli.app, name="xlsform", help=_("The registration XLSForm for Kobo / ODK."))
app.add_typer(demo_cli.app, name="demo", help=_("The synthetic Mali demo: database or Kobo export."))
app.add_typer(registry_cli.app, name="registry", help=_("Households: summary, search, show, delete, history."))
app.add_typer(export_cli.app, name="export", help=_("Minimised exports: CSV, XLSX, HXL."))
app.add_typer(dedup_cli.app, name="dedup", help=_("Duplicate people: in any list, in the registry, across agencies."))
app.add_typer(targeting_cli.app, name="targeting",
              help=_("Targeting by vulnerability: assessment indicators, models, scoring."))
app.add_typer(assistance_cli.app, name="assistance",
              help=_("Cash assistance: programmes, cycles, payments, complaints and monitoring."))
app.add_typer(protection_cli.app, name="protection", help=_("Protection and GBV cases, referrals and the service "
                                                                 "directory, family tracing, monitoring, statistics."))
app.command("serve", help=_("Serve the web application and the JSON API (/api/v1)."))(serve_cli.serve)
