"""`jatigi protection monitoring add|import|list|analysis` and `jatigi protection statistics`:
protection monitoring reports and the protection analysis; GBVIMS statistics.

The same rules as the pages: the list of reports with their descriptions is the organisation's
own (the read is audited); the analysis and the statistics pool every organisation and name none;
statistics count consented cases only and hide small counts with their complements.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, day, number
from jatigi.protection import monitoring as mon
from jatigi.protection import statistics as st
from jatigi.protection import vocab
from jatigi.registry.problems import write_report

monitoring_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
statistics_app = typer.Typer(rich_markup_mode=None)
SHOWN_PROBLEMS = 20
START = typer.Option("", "--from", help=_("First month, YYYY-MM (default: 11 months before the last)."))
END = typer.Option("", "--to", help=_("Last month, YYYY-MM (default: this month)."))
AREA = typer.Option("", "--area", help=_("Only this region or cercle (P-code), e.g. ML05."))
LEVEL = typer.Option("region", "--level", help=_("Areas by region or cercle."))


def _filters(session: Session, start: str, end: str, area: str, level: str) -> st.Filters:
    filters, problems = st.parse_filters(session, start, end, area, level)
    if problems:
        raise ValidationFailed(" ".join(_("{field}: {message}", field=st.label(n), message=m) for n, m in problems))
    return filters


@monitoring_app.command("add", help=_("Record a monitoring report of your organisation: no names."))
@friendly_errors
def add(
    month: str = typer.Option(..., "--month", help=_("Month of the incident, YYYY-MM.")),
    area: str = typer.Option(..., "--area", help=_("Where: a P-code, e.g. ML090104.")),
    incident_type: str = typer.Option(..., "--type", help=_("Type: {codes}.", codes=", ".join(vocab.MONITORING_TYPES))),
    people: str = typer.Option(..., "--people", help=_("How many people were affected.")),
    source: str = typer.Option(..., "--source", help=_("Source: {codes}.", codes=", ".join(vocab.MONITORING_SOURCES))),
    women: str = typer.Option("", "--women-and-girls", help=_("Of whom women and girls.")),
    children: str = typer.Option("", "--children", help=_("Of whom children.")),
    group: str = typer.Option("", "--group", help=_("Population group: idp, idp_returned, host, …")),
    reported: str = typer.Option("", "--reported", help=_("The day it was reported (default: today).")),
    description: str = typer.Option("", "--description", help=_("A short description, without any name (kept "
                                                                 "encrypted).")),
    as_user: str = AS_USER,
) -> None:
    new = mon.NewReport(reported_on=reported, incident_month=month, area=area, incident_type=incident_type,
                        population_group=group, people_affected=people, women_and_girls=women, children=children,
                        source=source, description=description)
    with db_session() as session:
        actor = acting_user(session, as_user)
        report = mon.record(session, actor, new)
        console.print(_("The report is recorded: {type} in {area}, {month}.", area=report.area_pcode,
                        type=_(vocab.MONITORING_TYPES[report.incident_type]),
                        month=st.month_label(report.incident_month)))


@monitoring_app.command("import", help=_("Import a CSV or XLSX file of reports; a file with any problem writes "
                                         "nothing."))
@friendly_errors
def import_command(
    file: Path = typer.Argument(..., help=_("One row per report, with the columns {columns}.",
                                            columns=", ".join(mon.FIELDS))),
    errors: Path = typer.Option(None, "--errors", help=_("Write every problem found to this CSV file.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
    as_user: str = AS_USER,
) -> None:
    try:
        with db_session() as session:
            actor = acting_user(session, as_user)
            result = mon.import_file(session, actor, file, delimiter=delimiter)
    except mon.ImportInvalid as exc:
        if errors:
            write_report(exc.problems, errors)
        for p in exc.problems[:SHOWN_PROBLEMS]:
            err_console.print(p.line())
        if len(exc.problems) > SHOWN_PROBLEMS:
            err_console.print(_("… and {n} more problems.", n=len(exc.problems) - SHOWN_PROBLEMS))
        raise
    console.print(_("Reports imported: {n}.", n=number(result.added)))


@monitoring_app.command("list", help=_("Your organisation's reports, the latest first, with their descriptions."))
@friendly_errors
def list_reports(limit: int = typer.Option(50, "--limit", min=1, help=_("At most this many lines.")),
                 as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        total, rows = mon.own_reports(session, actor, limit=limit)
        table = Table(_("Reported on"), _("Month of the incident"), _("Area"), _("Type of incident"),
                      _("People affected"), _("Source"), _("Short description"))
        for row in rows:
            r = row.report
            table.add_row(day(r.reported_on), st.month_label(r.incident_month), f"{row.area_name} ({r.area_pcode})",
                          _(vocab.MONITORING_TYPES.get(r.incident_type, r.incident_type)), number(r.people_affected),
                          _(vocab.MONITORING_SOURCES.get(r.source, r.source)), row.description or "—")
    if rows:
        console.print(table)
    console.print(_("Reports: {n}", n=number(total)))


@monitoring_app.command("analysis", help=_("Reports and people affected by area, type and month, all "
                                           "organisations pooled."))
@friendly_errors
def analysis(start: str = START, end: str = END, area: str = AREA, level: str = LEVEL,
             as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        result = mon.analysis(session, actor, _filters(session, start, end, area, level))
    for title, lines in ((_("By area"), result.by_area), (_("By type of incident"), result.by_type),
                         (_("By month of the incident"), result.by_month)):
        table = Table(title, _("Reports"), _("People affected"), _("Women and girls"), _("Children"), title=title)
        for line in lines:
            table.add_row(line.label, number(line.reports), number(line.people), number(line.women_and_girls),
                          number(line.children))
        t = result.total
        table.add_row(_("Total"), number(t.reports), number(t.people), number(t.women_and_girls), number(t.children))
        console.print(table)


@statistics_app.callback(invoke_without_command=True, help=_(
    "GBV incidents of consented cases by type and month, type and area, age group and sex; all organisations "
    "pooled; small counts hidden (x)."))
@friendly_errors
def statistics(
    by: str = typer.Option("", "--by", help=_("Tables: type,month type,area age,sex (separated by spaces or ;); "
                                              "default all.")),
    year: str = typer.Option("", "--year", help=_("The calendar year, e.g. 2025 (default: this year). Statistics "
                                                  "are published by whole year for all of Mali only.")),
    level: str = LEVEL,
    csv_file: Path = typer.Option(None, "--csv", help=_("Write the tables to this CSV file.")),
    hxl: bool = typer.Option(False, "--hxl", help=_("Add a row of HXL hashtags under the CSV header.")),
    as_user: str = AS_USER,
) -> None:
    wanted, problem = st.parse_by(by)
    if problem:
        raise ValidationFailed(problem)
    with db_session() as session:
        actor = acting_user(session, as_user)
        filters, problems = st.parse_year(year, level)
        if problems:
            raise ValidationFailed(" ".join(_("{field}: {message}", field=st.label(n), message=m)
                                            for n, m in problems))
        stats = st.compute(session, actor, filters, wanted)
    if csv_file is not None:
        part = csv_file.with_name(csv_file.name + ".part")
        with part.open("w", encoding="utf-8", newline="") as fh:
            st.write_csv(stats, fh, hxl=hxl)
        part.replace(csv_file)
        console.print(_("Tables written to {file}.", file=str(csv_file)))
        return
    console.print(st.counted_statement())
    for t in stats.tables:
        table = Table("", *[label for _code, label in t.cols], _("Total"), title=t.title)
        for (_code, label), values, total in zip(t.rows, t.cells, t.row_totals, strict=True):
            table.add_row(label, *[st.cell_text(v) for v in values], st.cell_text(total))
        table.add_row(_("Total"), *[st.cell_text(v) for v in t.col_totals], st.cell_text(t.total))
        console.print(table)
    console.print(_("Year {year}, all of Mali", year=stats.filters.start.year) + f". ({date.today().isoformat()})")
