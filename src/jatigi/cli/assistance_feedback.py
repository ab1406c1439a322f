"""`jatigi assistance complaints add|list|show|assign|resolve|close|reopen` and
`jatigi assistance pdm import|show`: complaints and feedback, post-distribution monitoring.

The same rules as the pages: sensitive complaints exist only for protection focal points, what
people said and who they are is printed only by `show`, and that read is audited.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from jatigi.assistance import complaints as cmp
from jatigi.assistance import pdm, states, vocab
from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, day, money, number
from jatigi.registry.problems import write_report

complaints_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
pdm_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
SHOWN_PROBLEMS = 20
CODE = typer.Argument(..., help=_("The complaint's code, e.g. CMP-7KQ2M9XA."))
VERSION = typer.Option(None, "--version", help=_("The version you read (from show); refused if it changed since."))


def _label(codes: dict[str, str], code: str) -> str:
    return _(codes.get(code, code))


@complaints_app.command("add", help=_("Record a complaint or feedback."))
@friendly_errors
def add(
    channel: str = typer.Option(..., "--channel", help=_("How it came: {codes}.", codes=", ".join(vocab.CHANNELS))),
    category: str = typer.Option(..., "--category", help=_("What it is about: {codes}.",
                                                           codes=", ".join(vocab.COMPLAINT_CATEGORIES))),
    description: str = typer.Option(..., "--description", help=_("What the person said; - to read it from the "
                                                                  "standard input.")),
    priority: str = typer.Option("medium", "--priority", help=_("high, medium or low.")),
    received: str = typer.Option(None, "--received", help=_("The day it was received (default: today).")),
    respond_by: str = typer.Option(None, "--respond-by", help=_("The day the answer is due (default: from the "
                                                                "priority).")),
    programme: str = typer.Option("", "--programme", help=_("The programme's code, e.g. PRG-0001.")),
    household: str = typer.Option("", "--household", help=_("The household's code.")),
    payment: str = typer.Option("", "--payment", help=_("The payment's reference.")),
    name: str = typer.Option("", "--name", help=_("The complainant's name (kept encrypted).")),
    contact: str = typer.Option("", "--contact", help=_("How to reach them (kept encrypted).")),
    sensitive: bool = typer.Option(False, "--sensitive", help=_("Send it confidentially to the protection focal "
                                                                "point.")),
    as_user: str = AS_USER,
) -> None:
    text = sys.stdin.read() if description == "-" else description
    new = cmp.NewComplaint(channel=channel, category=category, priority=priority,
                           received_on=received or date.today(), respond_by=respond_by, description=text, name=name,
                           contact=contact, programme=programme, household=household, payment=payment,
                           sensitive=sensitive)
    with db_session() as session:
        actor = acting_user(session, as_user)
        complaint = cmp.record(session, actor, new)
        if not cmp.may_see(actor, complaint):
            console.print(_("The complaint {code} is recorded. It went confidentially to the protection focal "
                            "point, who will handle it; it does not appear in the general queue.",
                            code=complaint.code))
            return
        console.print(_("The complaint {code} is recorded; the answer is due by {day}.", code=complaint.code,
                        day=day(complaint.respond_by)))


@complaints_app.command("list", help=_("The complaints you may see, the most urgent first, with counts."))
@friendly_errors
def list_complaints(
    state: str = typer.Option("", "--state", help=_("Only this state: {codes}.",
                                                    codes=", ".join(vocab.COMPLAINT_STATES))),
    category: str = typer.Option("", "--category", help=_("Only this category.")),
    channel: str = typer.Option("", "--channel", help=_("Only this channel.")),
    programme: str = typer.Option("", "--programme", help=_("Only this programme's.")),
    overdue: bool = typer.Option(False, "--overdue", help=_("Only those whose answer is overdue.")),
    search: str = typer.Option("", "--search", help=_("A complaint's code, a household's code or a payment's "
                                                      "reference.")),
    limit: int = typer.Option(100, "--limit", min=1, help=_("At most this many lines on the screen.")),
    csv_file: Path = typer.Option(None, "--csv", help=_("Write the whole list to this CSV file (without what was "
                                                        "said nor who said it).")),
    as_user: str = AS_USER,
) -> None:
    filters = cmp.Filters(state=state, category=category, channel=channel, programme=programme, overdue=overdue,
                          q=search)
    today = date.today()
    with db_session() as session:
        actor = acting_user(session, as_user)
        if csv_file is not None:
            part = csv_file.with_name(csv_file.name + ".part")
            with part.open("w", encoding="utf-8", newline="") as fh:
                n = cmp.write_csv(session, actor, fh, filters, today)
            part.replace(csv_file)
            console.print(_("{n} complaints written to {file}.", n=number(n), file=str(csv_file)))
            return
        total, rows = cmp.queue(session, actor, filters, limit=limit, today=today)
        counts = cmp.counts(session, actor, today)
    table = Table(_("Complaint"), _("Received on"), _("Category"), _("Channel"), _("Priority"), _("State"),
                  _("Respond by"), _("Programme"), _("Household"), _("Assigned to"))
    for r in rows:
        c = r.complaint
        table.add_row(c.code + (" *" if c.sensitive else ""), day(c.received_on), _label(vocab.COMPLAINT_CATEGORIES,
                                                                                         c.category),
                      _label(vocab.CHANNELS, c.channel), _label(vocab.PRIORITIES, c.priority),
                      states.state_label("complaint", c.state),
                      day(c.respond_by) + (" — " + _("Overdue") if r.overdue else ""), r.programme or "—",
                      r.household or "—", r.assignee or "—")
    if rows:
        console.print(table)
    if total > len(rows):
        console.print(_("{shown} of {total} shown; narrow the list or raise --limit.", shown=number(len(rows)),
                        total=number(total)))
    if any(r.complaint.sensitive for r in rows):
        console.print(_("* confidential: for protection focal points only."))
    by_state = ", ".join(f"{states.state_label('complaint', s).lower()} {number(counts.by_state.get(s, 0))}"
                         for s in vocab.COMPLAINT_STATES)
    console.print(_("{n} complaints that match; of all you may see: {states}; overdue {overdue}.",
                    n=number(total), states=by_state, overdue=number(counts.overdue)))


@complaints_app.command("show", help=_("One complaint: what was said, by whom, its resolution and history (the "
                                       "read is recorded)."))
@friendly_errors
def show(code: str = CODE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        d = cmp.details(session, actor, code)
        c = d.complaint
        facts = Table(show_header=False, box=None)
        for label, value in (
                (_("Complaint"), c.code + (" — " + _("Confidential") if c.sensitive else "")),
                (_("State"), states.state_label("complaint", c.state)),
                (_("Category"), _label(vocab.COMPLAINT_CATEGORIES, c.category)),
                (_("Channel"), _label(vocab.CHANNELS, c.channel)),
                (_("Priority"), _label(vocab.PRIORITIES, c.priority)),
                (_("Received on"), day(c.received_on)),
                (_("Respond by"), day(c.respond_by) + (" — " + _("Overdue") if d.overdue else "")),
                (_("Resolved on"), day(c.resolved_on)),
                (_("Programme"), d.programme or "—"), (_("Household"), d.household or "—"),
                (_("Payment reference"), d.payment or "—"), (_("Assigned to"), d.assignee or "—"),
                (_("Recorded by"), d.recorded_by or "—"), (_("Version"), str(c.version)),
                (_("What the person said"), d.description), (_("Complainant's name"), d.name or _("Anonymous")),
                (_("How to reach them"), d.contact or "—"), (_("Resolution"), d.resolution or "—")):
            facts.add_row(label, value)
        console.print(facts)
        history = Table(_("When"), _("By"), _("From"), _("To"), title=_("History"))
        for t in d.history:
            history.add_row(f"{t.at:%Y-%m-%d %H:%M}", t.by_name,
                            states.state_label("complaint", t.from_state) if t.from_state else "—",
                            states.state_label("complaint", t.to_state))
        console.print(history)


def _moved(code: str, to: str) -> None:
    console.print(_("{code} is now {state}.", code=code, state=states.state_label("complaint", to).lower()))


@complaints_app.command("assign", help=_("Give a complaint to someone who may handle it."))
@friendly_errors
def assign(code: str = CODE, to: str = typer.Option(..., "--to", help=_("The user name.")), version: int = VERSION,
           as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = cmp.assign(session, actor, code, to, version=version)
        console.print(_("{code} is assigned to {username}.", code=done.code, username=to.strip().lower()))


@complaints_app.command("resolve", help=_("Record how a complaint was resolved."))
@friendly_errors
def resolve(code: str = CODE,
            resolution: str = typer.Option(..., "--resolution", help=_("What was done and what the complainant was "
                                                                       "told; - to read it from the standard input.")),
            version: int = VERSION, as_user: str = AS_USER) -> None:
    text = sys.stdin.read() if resolution == "-" else resolution
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = cmp.resolve(session, actor, code, text, version=version)
        _moved(done.code, done.state)


@complaints_app.command("close", help=_("Close a resolved complaint."))
@friendly_errors
def close(code: str = CODE, version: int = VERSION, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = cmp.close(session, actor, code, version=version)
        _moved(done.code, done.state)


@complaints_app.command("reopen", help=_("Reopen a resolved complaint: the complainant is not satisfied."))
@friendly_errors
def reopen(code: str = CODE, version: int = VERSION, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        done = cmp.reopen(session, actor, code, version=version)
        _moved(done.code, done.state)


# ---- post-distribution monitoring ----------------------------------------------------------------

CYCLE = typer.Option(..., "--cycle", help=_("The cycle: its id, or the programme's code and the cycle's number "
                                            "(PRG-0001/2)."))


@pdm_app.command("import", help=_("Import post-distribution monitoring interviews (Kobo, CSV or XLSX export) "
                                  "into a cycle; a file with any problem writes nothing."))
@friendly_errors
def import_command(
    file: Path = typer.Argument(..., help=_("The export: one row per interview, the payment's reference or the "
                                            "household's code, the date, and the answers.")),
    cycle: str = CYCLE,
    errors: Path = typer.Option(None, "--errors", help=_("Write every problem found to this CSV file.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
    as_user: str = AS_USER,
) -> None:
    try:
        with db_session() as session:
            actor = acting_user(session, as_user)
            result = pdm.import_file(session=session, actor=actor, cycle=cycle, path=file, delimiter=delimiter)
    except pdm.PdmInvalid as exc:
        if errors:
            write_report(exc.problems, errors)
        for p in exc.problems[:SHOWN_PROBLEMS]:
            err_console.print(p.line())
        if len(exc.problems) > SHOWN_PROBLEMS:
            err_console.print(_("… and {n} more problems.", n=len(exc.problems) - SHOWN_PROBLEMS))
        raise
    console.print(_("{added} interviews added, {already} already there ({rows} rows read).",
                    added=number(result.added), already=number(result.already), rows=number(result.rows)))


@pdm_app.command("show", help=_("The monitoring indicators of a cycle."))
@friendly_errors
def show_indicators(cycle: str = CYCLE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        ind = pdm.indicators(session, actor, cycle)
    console.print(_("{programme}, cycle {number}: {n} interviews.", programme=ind.programme,
                    number=ind.cycle_number, n=number(ind.interviews)))
    if ind.interviews == 0:
        return
    if ind.small:
        console.print(_("Under {n} answers, counts are given instead of percentages.", n=pdm.MIN_FOR_PERCENT))
    table = Table(_("The households interviewed"), _("Share"))
    for name, label, rate in ind.rates():
        flag = " — " + _("Red flag: follow it up") if name == "paid_to_get" and rate.yes else ""
        table.add_row(_(label) + flag, pdm.shown(rate))
    console.print(table)
    spent = Table(_("Spent on"), _("Share of those who said"))
    for _code, label, rate in ind.spending_lines():
        if rate.yes:
            spent.add_row(_(label), pdm.shown(rate))
    console.print(spent)
    console.print(_("Amount the interviewed said they received: {amount}.", amount=money(ind.amount_received)))
