"""`jatigi assistance providers …` and `jatigi assistance payments …`: financial service providers,
payment files and the reconciliation of the providers' reports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jatigi.assistance import payment_files, providers, reconcile, vocab
from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, money, number
from jatigi.registry.problems import Problem, write_report

providers_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
payments_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

SHOWN_PROBLEMS = 20


@providers_app.command("list", help=_("The payment providers and the format of their files."))
@friendly_errors
def list_providers(as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        providers.ensure_shipped(session)
        table = Table(_("Name"), _("Provider"), _("Kind"), _("Format"), _("Columns"))
        for p in providers.list_providers(session, actor):
            template = providers.template_of(p)
            table.add_row(p.name, p.label, _(vocab.PROVIDER_KINDS.get(p.kind, p.kind)), template.format,
                          ", ".join(template.header_of(c) for c in template.columns))
        console.print(table)


@providers_app.command("show", help=_("A provider's template: its payment file and the report it sends back."))
@friendly_errors
def show_provider(name: str = typer.Argument(..., help=_("The provider's name.")), as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        providers.ensure_shipped(session)
        providers.list_providers(session, actor)  # the permission to see them
        p = providers.get_provider(session, name)
        template = providers.template_of(p)
        console.print(_("{name}: {label} ({kind})", name=p.name, label=p.label,
                        kind=_(vocab.PROVIDER_KINDS.get(p.kind, p.kind))))
        data = template.data
        console.print(_("Payment file: {format}, delimiter {delimiter}, encoding {encoding}, amounts {decimal}, "
                        "phones {phones}.", format=data["format"], delimiter=repr(data["delimiter"]),
                        encoding=data["encoding"], decimal=data["decimal"], phones=data["phone_style"]))
        columns = Table(_("Column"), _("Field"), _("What it holds"))
        for c in template.columns:
            columns.add_row(template.header_of(c), c["field"], _(providers.FIELDS[c["field"]]))
        console.print(columns)
        report = template.report
        console.print(_("Report: columns {columns}; dates as {date_format}.", columns=", ".join(
            f"{key}={report[key]}" for key in providers.REPORT_COLUMNS if report.get(key)),
            date_format=report["date_format"]))
        statuses = Table(_("Status in the report"), _("Means"))
        for word, outcome in report["statuses"].items():
            statuses.add_row(word, outcome)
        console.print(statuses)


@providers_app.command("add", help=_("Add a payment provider from a TOML template (see the shipped ones). "
                                     "Administrators only: a provider is shared by every organisation."))
@friendly_errors
def add_provider(name: str = typer.Argument(..., help=_("The provider's name, used on the command line.")),
                 template: Path = typer.Option(..., "--template", help=_("The TOML template file.")),
                 label: str = typer.Option(None, "--label", help=_("The name people read (default: the template's).")),
                 replace: bool = typer.Option(False, "--replace", help=_("Replace the template of a provider.")),
                 as_user: str = AS_USER) -> None:
    text = template.read_text(encoding="utf-8")
    with db_session() as session:
        actor = acting_user(session, as_user)
        providers.ensure_shipped(session)
        p = providers.add_provider(session, actor, name, text, source=template.name, label=label, replace=replace)
        console.print(_("Payment provider {name} saved: {format} file with {n} columns.", name=p.name,
                        format=p.template["format"], n=len(p.template["columns"])))


@payments_app.command("export", help=_("Write a cycle's payment file for a provider; the first export marks the "
                                       "cycle and its payments sent."))
@friendly_errors
def export(cycle: int = typer.Option(..., "--cycle", help=_("The cycle's id.")),
           provider: str = typer.Option(..., "--provider", help=_("The provider's name (see: providers list).")),
           out: Path = typer.Option(..., "--out", help=_("The file to write.")),
           as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        result = payment_files.export_cycle(session, actor, cycle_id=cycle, provider_name=provider, out=out)
    console.print(_("{n} payments, {total}, written to {file}.", n=number(result.lines), total=money(result.total),
                    file=str(result.path)))
    for line in payment_files.cancelled_lines(result.cancelled):
        err_console.print(line, style="yellow")
    if result.first:
        console.print(_("Cycle {id} is now sent to {provider}.", id=result.cycle_id, provider=result.provider))
    else:
        console.print(_("Cycle {id} was sent already: the same payments were written again.", id=result.cycle_id))


@payments_app.command("reconcile", help=_("Apply a provider's report (CSV or XLSX) to a cycle: paid, failed, "
                                          "unclaimed; problems are reported, never applied."))
@friendly_errors
def reconcile_command(file: Path = typer.Argument(..., help=_("The provider's report.")),
                      cycle: int = typer.Option(..., "--cycle", help=_("The cycle's id.")),
                      provider: str = typer.Option(None, "--provider",
                                                   help=_("The provider (default: the one the file was exported for).")),
                      problems: Path = typer.Option(None, "--problems", help=_("Write every problem to this CSV.")),
                      as_user: str = AS_USER) -> None:
    try:
        with db_session() as session:
            actor = acting_user(session, as_user)
            result = reconcile.reconcile(session, actor, cycle_id=cycle, path=file, provider_name=provider)
    except reconcile.NothingApplied as exc:
        _show_problems(exc.problems, problems)
        raise
    counts = result.counts
    console.print(_("Reconciliation {id} of cycle {cycle}: {paid} paid, {failed} failed, {unclaimed} unclaimed, "
                    "{unchanged} unchanged; {problems} lines not applied.", id=result.reconciliation.id, cycle=cycle,
                    paid=number(counts["paid"]), failed=number(counts["failed"]),
                    unclaimed=number(counts["unclaimed"]), unchanged=number(counts["unchanged"]),
                    problems=number(counts["problems"])))
    _show_problems(result.problems, problems)


def _show_problems(found: list[Problem], path: Path | None) -> None:
    for p in found[:SHOWN_PROBLEMS]:
        err_console.print(p.line(), style="yellow")
    if len(found) > SHOWN_PROBLEMS:
        err_console.print(_("… and {n} more problems.", n=number(len(found) - SHOWN_PROBLEMS)), style="yellow")
    if path is not None:
        n = write_report(found, path)
        console.print(_("{n} problems written to {file}.", n=number(n), file=str(path)))
