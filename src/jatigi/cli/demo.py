"""`jatigi demo`: the synthetic Mali registry, in the database or as a Kobo export."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.authz import ROLE_LABELS
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.demo import generator, kobo_export, service

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


@app.command("build",
             help=_("Load places, demo organisations, users and agreements, and a synthetic registry."))
@friendly_errors
def build(households: int = typer.Option(2000, "--households", "-n", min=0,
                                         help=_("How many households to generate.")),
          seed: int = typer.Option(2013, "--seed", help=_("Seed of the generator: same seed, same data.")),
          reset: bool = typer.Option(False, "--reset", help=_("Delete the previous demo households first.")),
          cod_dir: Path = typer.Option(None, "--cod-dir",
                                       help=_("Folder of OCHA COD-AB files for Mali (default: "
                                              "$JATIGI_COD_DIR, else ../shared/data/mali if present).")),
          no_cod: bool = typer.Option(False, "--no-cod", help=_("Load only the built-in gazetteer.")),
          as_user: str = AS_USER) -> None:
    """Load places, demo organisations, users and agreements, and a synthetic registry."""
    with db_session() as session, _progress() as progress:
        actor = acting_user(session, as_user)
        task = progress.add_task(_("Households"), total=households)
        status = progress.add_task(_("Preparing…"), total=None)

        def step(text: str) -> None:
            progress.update(status, description=text)

        result = service.build(session=session, actor=actor, households=households, seed=seed,
                               reset=reset, cod_dir=cod_dir, use_cod=not no_cod,
                               on_progress=lambda n: progress.advance(task, n), on_step=step)
        progress.remove_task(status)
    _summary(result)


def _summary(result: service.BuildResult) -> None:
    places = result.places
    if places.cod_dir:
        console.print(_("Places: {n} COD-AB admin units from {folder}.", n=places.cod_units,
                        folder=str(places.cod_dir)), highlight=False)
    console.print(_("Places: the {n} admin units of the built-in gazetteer are present.",
                    n=places.units), highlight=False)
    if places.note:
        console.print(places.note, style="yellow")
    acc = result.accounts
    console.print(_("Created {orgs} organisations, {users} users and {agreements} data-sharing "
                    "agreements (existing ones kept).", orgs=acc.organisations, users=acc.users,
                    agreements=acc.agreements), highlight=False)
    if result.deleted:
        console.print(_("Deleted {n} previous demo households.", n=result.deleted), highlight=False)
    if result.skipped_existing:
        note = _("The registry already holds {n} demo households; add --reset to rebuild it.",
                 n=result.skipped_existing)
        console.print(note, style="yellow")
    else:
        table = Table(_("Organisation"), _("Households"))
        for acr, n in sorted(result.by_org.items(), key=lambda kv: -kv[1]):
            table.add_row(acr, number(n))
        console.print(table)
        households, people = number(result.households), number(result.people)
        console.print(_("Wrote {households} households, {people} people.",
                        households=households, people=people), highlight=False)
        console.print(_("Wrote {n} household assessments.", n=number(result.assessments)), highlight=False)
        cash = result.assistance
        if cash is not None:
            console.print(_("Cash programme {code}: {enrolled} households enrolled, {cycles} monthly cycles "
                            "(paid and reconciled, sent, prepared), {paid} payments made, {interviews} "
                            "monitoring interviews, {complaints} complaints.", code=cash.programme,
                            enrolled=number(cash.enrolled), cycles=cash.cycles, paid=number(cash.paid),
                            interviews=number(cash.interviews), complaints=cash.complaints), highlight=False)
        care = result.protection
        if care is not None and care.cases:
            console.print(_("Protection: {cases} fictional cases ({closed} closed), {referrals} referrals, {services} "
                            "services in the directory, {tracing} tracing requests, {reports} monitoring reports. "
                            "Caseworkers and supervisors set up an authenticator app (TOTP) at their first log-in.",
                            cases=care.cases, closed=care.closed, referrals=care.referrals, services=care.services,
                            tracing=care.tracing, reports=care.reports), highlight=False)
    logins = Table(_("User"), _("Organisation"), _("Role"), title=_("Demo log-ins"))
    for user in generator.DEMO_USERS:
        logins.add_row(user.username, user.org, _(ROLE_LABELS[user.role]))
    console.print(logins)
    console.print(_("Password for every demo user: {password}", password=generator.DEMO_PASSWORD),
                  highlight=False)
    console.print(_("Start the web application with `jatigi serve`, then open {url}.",
                    url=service.DEMO_URL), highlight=False)


@app.command("kobo-export",
             help=_("Write synthetic households as a KoboToolbox export of the registration form."))
@friendly_errors
def kobo_export_cmd(households: int = typer.Option(..., "--households", "-n", min=0,
                                                   help=_("How many households to generate.")),
                    out: Path = typer.Option(..., "--out", "-o", help=_("Folder to write into.")),
                    seed: int = typer.Option(2013, "--seed", help=_("Seed of the generator.")),
                    fmt: str = typer.Option("csv", "--format", help=_("csv or xlsx.")),
                    labels: str = typer.Option("xml", "--labels",
                                               help=_("Headers and values as xml names, or as "
                                                      "labels in fr or en.")),
                    delimiter: str = typer.Option(";", "--delimiter", help=_("CSV delimiter."))) -> None:
    """Write synthetic households as a KoboToolbox export of the registration form."""
    if out.exists() and not out.is_dir():
        raise ValidationFailed(_("{file} is not a folder.", file=str(out)))
    with _progress() as progress:
        task = progress.add_task(_("Households"), total=households)
        result = kobo_export.export_households(
            generator.generate(households, seed=seed), out, fmt=fmt, labels=labels,
            delimiter=delimiter, on_progress=lambda n: progress.advance(task, n))
    table = Table(_("Table"), _("Rows"))
    for name, n in result.rows.items():
        table.add_row(name, number(n))
    console.print(table)
    for path in result.files:
        console.print(_("Written: {path}", path=str(path)), highlight=False)
