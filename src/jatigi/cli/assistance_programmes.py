"""`jatigi assistance programmes …` and `jatigi assistance cycles …`: programmes, their households,
entitlement formulas, and the monthly cycles prepared by one person and approved by another."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import typer
from rich.table import Table
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.assistance import cycles as cycles_
from jatigi.assistance import enrolment, programmes, states, vocab
from jatigi.assistance.entitlement import explain
from jatigi.assistance.formula import Formula, FormulaError, load_formula, shipped_formulas
from jatigi.assistance.models import Cycle, PaymentProvider, Programme
from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, day, money, number
from jatigi.targeting.simulate import Budget

programmes_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
cycles_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

PROGRAMME = typer.Argument(..., help=_("The programme's code, such as PRG-0001."))
CYCLE = typer.Argument(..., help=_("The cycle: its number as listed (ID), or the programme's code and the cycle's "
                                   "number, such as PRG-0001/2."))
FILE_KEYS = ("name", "donor", "sector", "objective", "modality", "start_month", "planned_months", "area", "provider",
             "formula")


# --- Helpers ---------------------------------------------------------------------------------------

def formula_text(value: str, folder: Path | None = None) -> str:
    """A formula's text from a shipped formula's name or a TOML file (relative to `folder` when given)."""
    shipped = shipped_formulas()
    if value in shipped:
        return shipped[value].read_text(encoding="utf-8")
    path = Path(value)
    if folder is not None and not path.is_absolute():
        path = folder / path
    if path.is_file():
        return path.read_text(encoding="utf-8")
    raise ValidationFailed(_("No formula {name}: give a TOML file or one of: {names}.", name=value,
                             names=", ".join(shipped)))


def _read_file(path: Path) -> dict[str, Any]:
    """The [programme] table of a programme file, with its formula's text."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(_("{file}: this is not valid TOML: {detail}.", file=path.name, detail=str(exc))) \
            from None
    table = data.get("programme")
    if not isinstance(table, dict):
        raise ValidationFailed(_("{file}: a [programme] table is required.", file=path.name))
    unknown = sorted(set(table) - set(FILE_KEYS))
    if unknown:
        raise ValidationFailed(_("{file}: unknown keys {keys}; the keys are: {accepted}.", file=path.name,
                                 keys=", ".join(unknown), accepted=", ".join(FILE_KEYS)))
    values = {("area_pcode" if key == "area" else key): value for key, value in table.items()}
    if isinstance(values.get("formula"), str):
        values["formula"] = formula_text(values["formula"], path.parent)
    return values


def _org(session: Session, org_id: int) -> str:
    return session.scalar(sa.select(Organisation.acronym).where(Organisation.id == org_id)) or "—"


def _provider(session: Session, provider_id: int | None) -> str:
    if provider_id is None:
        return "—"
    return session.scalar(sa.select(PaymentProvider.name).where(PaymentProvider.id == provider_id)) or "—"


def _state(entity: str, state: str) -> str:
    return states.state_label(entity, state)


def _months(programme: Programme) -> str:
    last = programmes.add_months(programme.start_month, programme.planned_months - 1)
    return _("{first} to {last} ({n} months)", first=programme.start_month.strftime("%Y-%m"),
             last=last.strftime("%Y-%m"), n=programme.planned_months)


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _formula_lines(formula: Formula) -> list[str]:
    """What a formula gives, in words."""
    out = [_("Formula: {title} ({id}, version {version})", title=formula.title.get(), id=formula.id,
             version=formula.version)]
    if formula.amount is not None:
        out.append("  " + _("Amount: {expression}", expression=formula.amount.text))
    else:
        out.append("  " + _("Base: {amount} per household", amount=money(formula.base or 0)))
        if formula.per_member and formula.max_members:
            out.append("  " + _("Per member: {amount}, {n} members at most", amount=money(formula.per_member),
                                n=formula.max_members))
        elif formula.per_member:
            out.append("  " + _("Per member: {amount}", amount=money(formula.per_member)))
    for name, value in formula.values.items():
        out.append("  " + f"{name} = {value:g}")
    for top_up in formula.top_ups:
        amount = top_up.amount.text if top_up.amount is not None else money(top_up.fixed or 0)
        if top_up.when is not None:
            out.append("  " + _("Top-up {label}: {amount} when {condition}", label=top_up.label.get(), amount=amount,
                                condition=top_up.when.text))
        else:
            out.append("  " + _("Top-up {label}: {amount}", label=top_up.label.get(), amount=amount))
    if formula.cap is not None:
        out.append("  " + _("At most: {amount}", amount=money(formula.cap)))
    if formula.round_to:
        out.append("  " + _("Rounded to the nearest {amount}", amount=money(formula.round_to)))
    return out


# --- Programmes ------------------------------------------------------------------------------------

@programmes_app.command("list", help=_("The programmes you may see, with their households and cycles."))
@friendly_errors
def list_programmes(state: str = typer.Option(None, "--state", help=_("Only programmes in this state: draft, "
                                                                      "active, closed, cancelled.")),
                    as_user: str = AS_USER) -> None:
    with db_session() as session:
        found = programmes.list_programmes(session=session, actor=acting_user(session, as_user), state=state)
        table = Table(_("Code"), _("Name"), _("Organisation"), _("Sector"), _("Modality"), _("Months"), _("State"),
                      _("Households"), _("Cycles"), _("Paid"))
        table.columns[0].no_wrap = True
        for f in found:
            p = f.programme
            table.add_row(p.code, p.name, _org(session, p.org_id), _(vocab.SECTORS[p.sector]),
                          _(vocab.MODALITIES[p.modality]), _months(p), _state("programme", p.state),
                          number(f.enrolled), number(f.cycles), money(f.paid))
    if not found:
        console.print(_("No programme that you may see."))
        return
    console.print(table)


@programmes_app.command("show", help=_("A programme: what it is, its formula, its households and its cycles."))
@friendly_errors
def show(code: str = PROGRAMME, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        f = programmes.read_programme(session=session, actor=actor, ref=code)
        p = f.programme
        console.print(f"{p.code} — {p.name} ({_state('programme', p.state)})")
        rows = [(_("Organisation"), _org(session, p.org_id)), (_("Donor"), p.donor or "—"),
                (_("Sector"), _(vocab.SECTORS[p.sector])), (_("Modality"), _(vocab.MODALITIES[p.modality])),
                (_("Months"), _months(p)), (_("Area"), p.area_pcode or _("anywhere")),
                (_("Payment provider"), _provider(session, p.provider_id)),
                (_("Households"), _("{n} enrolled, {gone} left", n=number(f.enrolled), gone=number(f.exited))),
                (_("Paid"), money(f.paid))]
        if p.objective:
            rows.insert(4, (_("Objective"), p.objective))
        for label, value in rows:
            console.print(f"{label}: {value}")
        for line in _formula_lines(programmes.formula_of(p)):
            console.print(line)
        _cycles_table(programmes.cycles_of(session, p))


def _create_values(file: Path | None, options: dict[str, Any]) -> dict[str, Any]:
    values = _read_file(file) if file is not None else {}
    for key, value in options.items():
        if value is not None:
            values[key] = formula_text(value) if key == "formula" else value
    return values


NAME = typer.Option(None, "--name", help=_("The programme's name."))
DONOR = typer.Option(None, "--donor", help=_("The donor."))
SECTOR = typer.Option(None, "--sector", help=_("The purpose of the assistance: {codes}.",
                                               codes=", ".join(vocab.SECTORS)))
OBJECTIVE = typer.Option(None, "--objective", help=_("The objective, in a sentence."))
MODALITY = typer.Option(None, "--modality", help=_("How it is paid: {codes}.", codes=", ".join(vocab.MODALITIES)))
START = typer.Option(None, "--start", help=_("The first month assisted, YYYY-MM."))
MONTHS = typer.Option(None, "--months", help=_("Planned duration in months (1 to 36)."))
AREA = typer.Option(None, "--area", help=_("Where it works (a P-code); households living elsewhere are held."))
PROVIDER = typer.Option(None, "--provider", help=_("The payment provider's name (see jatigi assistance providers "
                                                   "list)."))
FORMULA = typer.Option(None, "--formula", help=_("The entitlement formula: a TOML file or a shipped one ({names}).",
                                                 names=", ".join(shipped_formulas())))


@programmes_app.command("create", help=_("Create a programme (a draft) from options or a TOML file with a "
                                         "[programme] table; options override the file."))
@friendly_errors
def create(file: Path = typer.Option(None, "--file", help=_("A TOML file with a [programme] table.")),
           name: str = NAME, donor: str = DONOR, sector: str = SECTOR, objective: str = OBJECTIVE,
           modality: str = MODALITY, start: str = START, months: int = MONTHS, area: str = AREA,
           provider: str = PROVIDER, formula: str = FORMULA, as_user: str = AS_USER) -> None:
    values = _create_values(file, {"name": name, "donor": donor, "sector": sector, "objective": objective,
                                   "modality": modality, "start_month": start, "planned_months": months,
                                   "area_pcode": area, "provider": provider, "formula": formula})
    missing = [option for option, key in (("--name", "name"), ("--sector", "sector"), ("--modality", "modality"),
                                          ("--start", "start_month"), ("--months", "planned_months"),
                                          ("--formula", "formula")) if values.get(key) in (None, "")]
    if missing:
        raise ValidationFailed(_("Give {options} (or a --file with them).", options=", ".join(missing)))
    with db_session() as session:
        p = programmes.create_programme(session=session, actor=acting_user(session, as_user), **values)
        console.print(_("Programme {code} created (draft): {name}. Enrol its households, then activate it.",
                        code=p.code, name=p.name))


@programmes_app.command("update", help=_("Change a draft programme (only the options given)."))
@friendly_errors
def update(code: str = PROGRAMME, name: str = NAME, donor: str = DONOR, sector: str = SECTOR,
           objective: str = OBJECTIVE, modality: str = MODALITY, start: str = START, months: int = MONTHS,
           area: str = AREA, provider: str = PROVIDER, formula: str = FORMULA, as_user: str = AS_USER) -> None:
    changes = _create_values(None, {"name": name, "donor": donor, "sector": sector, "objective": objective,
                                    "modality": modality, "start_month": start, "planned_months": months,
                                    "area_pcode": area, "provider": provider, "formula": formula})
    if not changes:
        raise ValidationFailed(_("Give at least one option to change."))
    with db_session() as session:
        p = programmes.update_programme(session=session, actor=acting_user(session, as_user), ref=code,
                                        changes=changes)
        console.print(_("Programme {code} saved (version {version}).", code=p.code, version=p.version))


@programmes_app.command("activate", help=_("Start a draft programme: its cycles can then be prepared."))
@friendly_errors
def activate(code: str = PROGRAMME, as_user: str = AS_USER) -> None:
    with db_session() as session:
        p = programmes.activate(session=session, actor=acting_user(session, as_user), ref=code)
        console.print(_("Programme {code} is active.", code=p.code))


@programmes_app.command("close", help=_("Close a programme whose cycles are done."))
@friendly_errors
def close(code: str = PROGRAMME, reason: str = typer.Option(None, "--reason", help=_("Why (optional)."))
          , as_user: str = AS_USER) -> None:
    with db_session() as session:
        p = programmes.close(session=session, actor=acting_user(session, as_user), ref=code, reason=reason)
        console.print(_("Programme {code} is closed.", code=p.code))


@programmes_app.command("cancel", help=_("Cancel a programme; its cycles not yet approved are cancelled with it."))
@friendly_errors
def cancel(code: str = PROGRAMME, reason: str = typer.Option(..., "--reason", help=_("Why the programme is "
                                                                                       "cancelled.")),
           as_user: str = AS_USER) -> None:
    with db_session() as session:
        p = programmes.cancel(session=session, actor=acting_user(session, as_user), ref=code, reason=reason)
        console.print(_("Programme {code} is cancelled.", code=p.code))


@programmes_app.command("enrol", help=_("Enrol households: from a scoring run (by category or within a budget), "
                                        "from a CSV or XLSX list of household codes, or one household."))
@friendly_errors
def enrol(code: str = PROGRAMME,
          run: int = typer.Option(None, "--run", help=_("A scoring run: its households in the chosen categories.")),
          categories: str = typer.Option(None, "--categories", help=_("With --run: the categories enrolled (default: "
                                                                      "all but the lowest), comma-separated.")),
          budget: int = typer.Option(None, "--budget", help=_("With --run: enrol those this budget reaches, in "
                                                              "FCFA (highest scores first).")),
          transfer_value: int = typer.Option(None, "--transfer-value", help=_("With --budget: the transfer per "
                                                                              "household per month, in FCFA.")),
          months: int = typer.Option(None, "--months", help=_("With --budget: how many monthly transfers.")),
          list_file: Path = typer.Option(None, "--list", help=_("A CSV or XLSX list with a household_code column; "
                                                                "one bad row and nobody is enrolled.")),
          household: str = typer.Option(None, "--household", help=_("One household's code.")),
          as_user: str = AS_USER) -> None:
    sources = [name for name, value in (("--run", run), ("--list", list_file), ("--household", household))
               if value is not None]
    if len(sources) != 1:
        raise ValidationFailed(_("Give one of --run, --list or --household."))
    money_ = {"--budget": budget, "--transfer-value": transfer_value, "--months": months}
    given = [name for name, value in money_.items() if value is not None]
    if given and run is None:
        raise ValidationFailed(_("{options} go with --run.", options=", ".join(given)))
    if given and len(given) < len(money_):
        raise ValidationFailed(_("The budget is incomplete: give {missing} too.",
                                 missing=", ".join(n for n in money_ if n not in given)))
    with db_session() as session:
        actor = acting_user(session, as_user)
        if run is not None:
            chosen = _split(categories) or None
            limit = Budget(budget, transfer_value, months) if given else None
            done = enrolment.enrol_from_run(session=session, actor=actor, ref=code, run_id=run, categories=chosen,
                                            budget=limit)
        elif list_file is not None:
            done = enrolment.enrol_from_list(session=session, actor=actor, ref=code, path=list_file)
        else:
            done = enrolment.enrol_household(session=session, actor=actor, ref=code, code=household)
        console.print(_("{code}: {enrolled} households enrolled, {skipped} already enrolled (of {found}).",
                        code=done.programme.code, enrolled=number(done.enrolled), skipped=number(done.skipped),
                        found=number(done.found)))


@programmes_app.command("exit", help=_("Take a household out of a programme, with the reason."))
@friendly_errors
def exit_household(code: str = PROGRAMME, household: str = typer.Argument(..., help=_("The household's code.")),
                   reason: str = typer.Option(..., "--reason", help=_("Why the household leaves the programme.")),
                   as_user: str = AS_USER) -> None:
    with db_session() as session:
        enrolment.exit_household(session=session, actor=acting_user(session, as_user), ref=code, code=household,
                                 reason=reason)
        console.print(_("Household {household} has left programme {code}.", household=household.strip().upper(),
                        code=code.strip().upper()))


@programmes_app.command("formulas", help=_("The entitlement formulas shipped with Jatigi, to copy and adapt."))
@friendly_errors
def formulas() -> None:
    table = Table(_("Name"), _("Title"), _("Top-ups"), _("File"))
    for name, path in shipped_formulas().items():
        formula = load_formula(path.read_text(encoding="utf-8"))
        table.add_row(name, formula.title.get(), ", ".join(t.label.get() for t in formula.top_ups) or "—", str(path))
    console.print(table)


@programmes_app.command("check-formula", help=_("Check an entitlement formula file: every problem with its line "
                                                "and column."))
@friendly_errors
def check_formula(file: Path = typer.Argument(..., help=_("The formula file (TOML)."))) -> None:
    text = formula_text(str(file))
    try:
        formula = load_formula(text)
    except FormulaError as exc:
        for problem in exc.problems:
            err_console.print(f"{file}: {problem}")
        err_console.print(_("{n} problems.", n=number(len(exc.problems))), style="red")
        raise typer.Exit(1) from None
    console.print(_("{file}: no problem.", file=str(file)))
    for line in _formula_lines(formula):
        console.print(line)


@programmes_app.command("explain", help=_("How a household's monthly amount is made up, from its data as they "
                                          "are now."))
@friendly_errors
def explain_amount(code: str = PROGRAMME, household: str = typer.Argument(..., help=_("The household's code.")),
                   as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        p = programmes.get_programme(session, actor, code)
        e = explain(session=session, actor=actor, formula=programmes.formula_of(p), code=household)
        console.print(_("{household} in {code}: {title}", household=e.household.code, code=p.code,
                        title=e.formula.title.get()))
        table = Table(_("Component"), _("Condition"), _("Applies"), _("Amount"))
        for c in e.entitlement.components:
            applies = _("cannot be told") if c.applies is None else (_("yes") if c.applies else _("no"))
            amount = _("not assessed") if c.amount is None else money(round(c.amount, 2))
            table.add_row(c.label, c.detail, applies, amount)
        console.print(table)
        if e.entitlement.capped:
            console.print(_("Capped at {amount}.", amount=money(e.formula.cap)))
        console.print(_("Monthly amount: {amount}.", amount=money(e.entitlement.amount)))
        values = Table(_("Field"), _("Value"), title=_("Values read"))
        for name, value in sorted(e.values.items()):
            values.add_row(name, "—" if value is None else str(value))
        console.print(values)


# --- Cycles ----------------------------------------------------------------------------------------

def _cycles_table(found: list[Cycle]) -> None:
    if not found:
        console.print(_("No cycle yet."))
        return
    table = Table(_("ID"), _("Cycle"), _("Month"), _("State"), _("Households"), _("Due"), _("Held"), _("Re-issued"),
                  _("Total due"))
    for c in found:
        counts = c.counts or {}
        table.add_row(str(c.id), str(c.number), cycles_.period_label(c), _state("cycle", c.state),
                      number(counts.get("households", 0)), number(counts.get("due", 0)),
                      number(counts.get("held_total", 0)), number(counts.get("reissued", 0)), money(c.total_due))
    console.print(table)


@cycles_app.command("list", help=_("A programme's cycles."))
@friendly_errors
def list_cycles(code: str = PROGRAMME, as_user: str = AS_USER) -> None:
    with db_session() as session:
        _programme, found = cycles_.list_cycles(session=session, actor=acting_user(session, as_user), ref=code)
        _cycles_table(found)


@cycles_app.command("create", help=_("Create a programme's next cycle (the next month of its planned duration)."))
@friendly_errors
def create_cycle(code: str = PROGRAMME, as_user: str = AS_USER) -> None:
    with db_session() as session:
        c = cycles_.create_cycle(session=session, actor=acting_user(session, as_user), ref=code)
        console.print(_("Cycle {number} of {code} created (ID {id}) for {month}: prepare it next.", number=c.number,
                        code=code.strip().upper(), id=c.id, month=cycles_.period_label(c)))


def _summary(session: Session, view: cycles_.CycleView) -> None:
    c, p = view.cycle, view.programme
    console.print(_("Cycle {number} of {code} (ID {id}), {month}: {state}", number=c.number, code=p.code, id=c.id,
                    month=cycles_.period_label(c), state=_state("cycle", c.state)))
    if c.prepared_at is not None:
        console.print(_("Prepared by {who} on {day}.", who=view.prepared_by or "system", day=day(c.prepared_at)))
    if c.approved_at is not None:
        console.print(_("Approved by {who} on {day}.", who=view.approved_by or "system", day=day(c.approved_at)))
    if c.closed_at is not None:
        console.print(_("Closed on {day}.", day=day(c.closed_at)))
    counts = c.counts
    if not counts:
        return
    table = Table(_("Lines"), _("Households"), title=_("As prepared"))
    table.add_row(_("Enrolled households"), number(counts.get("households", 0)))
    table.add_row(_("Due"), number(counts.get("due", 0)))
    for reason, n in (counts.get("held") or {}).items():
        table.add_row(_("Held: {reason}", reason=_(vocab.HOLD_REASONS.get(reason, reason))), number(n))
    table.add_row(_("Re-issued from earlier cycles"), number(counts.get("reissued", 0)))
    console.print(table)
    console.print(_("Total due: {amount} ({reissued} of it re-issued).", amount=money(c.total_due),
                    reissued=money(counts.get("reissued_amount", 0))))
    if set(view.payments) - {"due", "held"}:
        now = Table(_("State"), _("Payments"), _("Amount"), title=_("Payments now"))
        for state in vocab.PAYMENT_STATES:
            if state in view.payments:
                n, amount = view.payments[state]
                now.add_row(_state("payment", state), number(n), money(amount))
        console.print(now)


@cycles_app.command("show", help=_("A cycle: its households due and held by reason, its totals and who did what."))
@friendly_errors
def show_cycle(cycle: str = CYCLE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        _summary(session, cycles_.read_cycle(session=session, actor=acting_user(session, as_user), ref=cycle))


@cycles_app.command("prepare", help=_("Prepare a cycle: one line per enrolled household, due with its amount or "
                                      "held with the reason, and the re-issues of failed payments."))
@friendly_errors
def prepare(cycle: str = CYCLE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        c = cycles_.prepare(session=session, actor=actor, ref=cycle)
        console.print(_("Prepared: another person must now approve it."))
        _summary(session, cycles_.read_cycle(session=session, actor=actor, ref=c.id))


@cycles_app.command("approve", help=_("Approve a prepared cycle (not one you prepared); it is then locked."))
@friendly_errors
def approve(cycle: str = CYCLE, as_user: str = AS_USER) -> None:
    with db_session() as session:
        c = cycles_.approve(session=session, actor=acting_user(session, as_user), ref=cycle)
        console.print(_("Cycle {number} approved: {due} payments due, {amount}. It is locked.", number=c.number,
                        due=number((c.counts or {}).get("due", 0) + (c.counts or {}).get("reissued", 0)),
                        amount=money(c.total_due)))


@cycles_app.command("reject", help=_("Send a prepared cycle back, or an approved one not yet sent (not one you "
                                     "prepared), with the reason; it can be prepared again."))
@friendly_errors
def reject(cycle: str = CYCLE, reason: str = typer.Option(..., "--reason", help=_("What must be corrected.")),
           as_user: str = AS_USER) -> None:
    with db_session() as session:
        c = cycles_.reject(session=session, actor=acting_user(session, as_user), ref=cycle, reason=reason)
        console.print(_("Cycle {number} rejected: prepare it again once corrected.", number=c.number))


@cycles_app.command("cancel", help=_("Cancel a cycle not yet sent, with the reason."))
@friendly_errors
def cancel_cycle(cycle: str = CYCLE, reason: str = typer.Option(..., "--reason", help=_("Why the cycle is "
                                                                                          "cancelled.")),
                 as_user: str = AS_USER) -> None:
    with db_session() as session:
        c = cycles_.cancel(session=session, actor=acting_user(session, as_user), ref=cycle, reason=reason)
        console.print(_("Cycle {number} cancelled.", number=c.number))


@cycles_app.command("close", help=_("Close a reconciled cycle once the provider will send no more report."))
@friendly_errors
def close_cycle(cycle: str = CYCLE, note: str = typer.Option(None, "--note", help=_("A note kept in the cycle's "
                                                                                     "history (optional).")),
                as_user: str = AS_USER) -> None:
    with db_session() as session:
        c = cycles_.close(session=session, actor=acting_user(session, as_user), ref=cycle, note=note)
        console.print(_("Cycle {number} closed: no report can be applied to it any more.", number=c.number))
