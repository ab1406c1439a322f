"""`jatigi targeting score|explain|simulate|fairness|runs`: vulnerability scoring on the registry."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core import audit
from jatigi.core.authz import Actor
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, day, number
from jatigi.places import service as places_service
from jatigi.targeting import params as params_
from jatigi.targeting import runs
from jatigi.targeting import simulate as sim_
from jatigi.targeting.explain import explain
from jatigi.targeting.fairness import fairness
from jatigi.targeting.run_page import DIMENSION_TITLES, categories_of, group_label, place_problem
from jatigi.targeting.scope import Scope

MODEL = typer.Option(..., "--model", help=_("A model's name (food_security, economic, protection or one saved) "
                                            "or a TOML file."))
VERSION = typer.Option(None, "--version", help=_("The model's version (default: the latest)."))
MEB = typer.Option(None, "--meb", help=_("Minimum Expenditure Basket per person per month, in FCFA."))
SMEB = typer.Option(None, "--smeb", help=_("Survival MEB per person per month, in FCFA."))
FCS = typer.Option(None, "--fcs-thresholds", help=_("FCS thresholds poor,borderline: 28,42 (Sahel) or 21,35."))
PLACE = typer.Option(None, "--place", help=_("Only households under this P-code (a region, cercle or commune)."))
BY = typer.Option("population_group,head_sex,region", "--by",
                  help=_("Breakdowns: population_group, head_sex, region, commune (comma-separated)."))
CATEGORIES = typer.Option(None, "--categories",
                          help=_("Categories counted as vulnerable (default: all but the lowest), comma-separated."))


def add_commands(app: typer.Typer) -> None:
    app.command("score", help=_("Score every household in scope with a vulnerability model; the run is recorded."))(
        score)
    app.command("explain", help=_("Each criterion's contribution to one household's score."))(explain_command)
    app.command("simulate", help=_("Who a budget would reach: selection, coverage and who is left out, by group."))(
        simulate)
    app.command("fairness", help=_("Each group's share among the scored, the vulnerable and the selected, and "
                                   "the criteria behind any gap."))(fairness_command)
    app.command("runs", help=_("The scoring runs you may see."))(list_runs)


def _model(session: Session, actor: Actor, model: str, version: int | None, *, save: bool = True) -> runs.Loaded:
    """A saved model by name, or a TOML file: saved as a new version through the store's rules
    (the same text saved already is reused), or only read when `save` is false (to explain)."""
    path = Path(model)
    if model.endswith(".toml") or path.is_file():
        text = path.read_text(encoding="utf-8")
        return runs.stored_version(session, actor, text) if save else runs.unsaved_version(text)
    return runs.model_by_name(session, actor, model, version)


def _place(session: Session, place: str | None) -> str | None:
    """The P-code to keep a run to, refused as the pages refuse it when no place has it."""
    problem = place_problem(session, place)
    if problem:
        raise ValidationFailed(problem)
    return (place or "").strip().upper() or None


def _budget(budget: int | None, transfer_value: int | None, months: int | None) -> sim_.Budget | None:
    """The budget to count the selected, None when none is given; refused when only part of it is."""
    given = {"--budget": budget, "--transfer-value": transfer_value, "--months": months}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) == len(given):
        return None
    if missing:
        raise ValidationFailed(_("The budget is incomplete: give {missing} too, to count the selected.",
                                 missing=", ".join(missing)))
    return sim_.Budget(budget or 0, transfer_value or 0, months or 0)


def _params(meb: float | None, smeb: float | None, fcs: str | None) -> params_.IndicatorParams:
    return params_.registry_params(meb, smeb, params_.thresholds(fcs, option=True) if fcs else None)


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _status_notice(loaded: runs.Loaded) -> None:
    if loaded.model.uses_displacement_status:
        err_console.print(_("This model uses displacement status as a criterion ({fields}): it says so on every "
                            "output.", fields=", ".join(loaded.model.status_fields)), style="yellow")


def _run_summary(run: runs.Run, loaded: runs.Loaded) -> Table:
    console.print(_("Run {id}: {title}, version {version}", id=run.id, title=loaded.model.title.get(),
                    version=loaded.model.version))
    table = Table(_("Category"), _("Households"))
    labels = {c.name: c.label.get() for c in loaded.model.categories}
    counts = run.counts or {}
    for category in loaded.model.categories:
        table.add_row(labels[category.name], number(counts.get("categories", {}).get(category.name, 0)))
    table.add_row(_("Below every category"), number(counts.get("categories", {}).get("", 0)))
    table.add_row(_("Excluded"), number(counts.get("excluded", 0)))
    table.add_row(_("Total"), number(counts.get("households", 0)))
    return table


@friendly_errors
def score(model: str = MODEL, version: int = VERSION, place: str = PLACE, meb: float = MEB, smeb: float = SMEB,
          fcs_thresholds: str = FCS,
          out: Path = typer.Option(None, "--out", help=_("Write each household's score to this CSV.")),
          as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        scope = Scope(actor, _place(session, place))
        loaded = _model(session, actor, model, version)
        run = runs.score(session=session, actor=actor, loaded=loaded, scope=scope,
                         params=_params(meb, smeb, fcs_thresholds))
        _status_notice(loaded)
        console.print(_run_summary(run, loaded))
        if out is not None:
            n = _write_scores(session, actor, run, loaded, out)
            console.print(_("{n} scores written to {file}.", n=number(n), file=str(out)))


def _write_scores(session: Session, actor: Actor, run: runs.Run, loaded: runs.Loaded, out: Path) -> int:
    rows = runs.scores_of(session, actor, run.id)
    part = out.with_name(out.name + ".part")
    n = 0
    with part.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["household_code", "score", "category", "excluded", "exclusion", "not_assessed", "run_id",
                         "model", "model_version", "uses_displacement_status"])
        for row in rows:
            code, score_, category, excluded, exclusion, not_assessed = tuple(row)
            writer.writerow([code, f"{score_:g}", category or "", int(bool(excluded)), exclusion or "", not_assessed,
                             run.id, loaded.model.id, loaded.model.version, int(run.uses_displacement_status)])
            n += 1
    part.replace(out)
    audit.record(session, actor, "targeting.export", "targeting_run", run.id, {"rows": n, "file": out.name})
    return n


@friendly_errors
def explain_command(household: str = typer.Argument(..., help=_("The household's code.")), model: str = MODEL,
                    version: int = VERSION, meb: float = MEB, smeb: float = SMEB, fcs_thresholds: str = FCS,
                    as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        loaded = _model(session, actor, model, version, save=False)
        e = explain(session=session, actor=actor, code=household, loaded=loaded,
                    params=_params(meb, smeb, fcs_thresholds))
        _status_notice(loaded)
        console.print(_("{code}: {title}, version {version}", code=e.household.code, title=loaded.model.title.get(),
                        version=loaded.model.version))
        table = Table(_("Criterion"), _("Condition"), _("Met"), _("Points"))
        for line in e.lines:
            met = _("not assessed") if line.met is None else (_("yes") if line.met else _("no"))
            condition = line.criterion.when.text if line.criterion.when else (
                line.criterion.score.text if line.criterion.score else "")
            table.add_row(line.criterion.label.get(), condition, met, f"{line.points:g}")
        console.print(table)
        labels = {c.name: c.label.get() for c in loaded.model.categories}
        console.print(_("Score: {score}; category: {category}.", score=f"{e.score:g}",
                        category=labels.get(e.category or "", _("none"))))
        if e.exclusion is not None:
            console.print(_("Excluded: {reason}.", reason=e.exclusion.label.get()))
        values = Table(_("Field"), _("Value"), title=_("Values read"))
        for name, value in sorted(e.values.items()):
            values.add_row(name, "—" if value is None else str(value))
        console.print(values)


@friendly_errors
def simulate(model: str = typer.Option(None, "--model", help=_("The model to score with (or give --run).")),
             version: int = VERSION,
             run: int = typer.Option(None, "--run", help=_("Use this scoring run instead of scoring again.")),
             budget: int = typer.Option(..., "--budget", help=_("The budget, in FCFA.")),
             transfer_value: int = typer.Option(..., "--transfer-value",
                                                help=_("The transfer per household per month, in FCFA.")),
             months: int = typer.Option(..., "--months", help=_("How many monthly transfers.")),
             compare: str = typer.Option(None, "--compare", help=_("A second model, simulated side by side.")),
             categories: str = CATEGORIES, by: str = BY, place: str = PLACE, meb: float = MEB, smeb: float = SMEB,
             fcs_thresholds: str = FCS,
             out: Path = typer.Option(None, "--out", help=_("Write the target list (selected households) to this CSV.")),
             as_user: str = AS_USER) -> None:
    money = sim_.Budget(budget, transfer_value, months)
    with db_session() as session:
        actor = acting_user(session, as_user)
        pcode = _place(session, place)
        params = _params(meb, smeb, fcs_thresholds)
        chosen = _split(categories) or None
        first = _run_for(session, actor, run, model, version, pcode, params)
        sims = [sim_.simulate(session=session, actor=actor, run_id=first, budget=money, categories=chosen,
                              by=_split(by))]
        if compare:
            other = _model(session, actor, compare, None)
            other_run = runs.score(session=session, actor=actor, loaded=other, scope=Scope(actor, pcode),
                                   params=params)
            # The second model's own categories: its names may differ from the first's.
            sims.append(sim_.simulate(session=session, actor=actor, run_id=other_run.id, budget=money,
                                      categories=categories_of(other.model, chosen), by=_split(by)))
        for s in sims:
            _status_notice(s.loaded)
            _print_simulation(s, _places(session, list(s.by.values())))
        if len(sims) == 2:
            both = sim_.overlap(session, sims[0], sims[1])
            console.print(_("Selected by both models: {both}; only by {a}: {only_a}; only by {b}: {only_b}.",
                            both=number(both["both"]), a=sims[0].loaded.model.id, only_a=number(both["only_a"]),
                            b=sims[1].loaded.model.id, only_b=number(both["only_b"])))
        if out is not None:
            n = _write_targets(session, actor, sims[0], out)
            console.print(_("Target list of {n} households written to {file}.", n=number(n), file=str(out)))


def _run_for(session: Session, actor: Actor, run: int | None, model: str | None, version: int | None,
             place: str | None, params: params_.IndicatorParams) -> int:
    if run is not None:
        return run
    if not model:
        raise typer.BadParameter(_("Give --model or --run."))
    return runs.score(session=session, actor=actor, loaded=_model(session, actor, model, version),
                      scope=Scope(actor, place), params=params).id


def _label(dimension: str, value: str | None, places: dict[str, str] | None = None) -> str:
    return group_label(dimension, value, places)


def _title(dimension: str) -> str:
    return _(DIMENSION_TITLES[dimension]) if dimension in DIMENSION_TITLES else dimension


def _places(session: Session, groups: list[list[sim_.Group]]) -> dict[str, str]:
    return places_service.names_of(session=session, pcodes=[g.value for found in groups for g in found])


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _print_simulation(s: sim_.Simulation, places: dict[str, str]) -> None:
    t = s.total
    console.print(_("{title} (run {run}): {selected} households selected of {vulnerable} vulnerable ({coverage}) "
                    "among {scored} scored; cost {cost} FCFA of {budget}; {left} vulnerable households left out.",
                    title=s.loaded.model.title.get(), run=s.run.id, selected=number(t.selected),
                    vulnerable=number(t.vulnerable), coverage=_share(t.selected, t.vulnerable), scored=number(t.scored),
                    cost=number(s.cost), budget=number(s.budget.budget), left=number(t.left_out)))
    for dimension, found in s.by.items():
        table = Table(_title(dimension), _("Scored"), _("Vulnerable"), _("Selected"),
                      _("Left out"), _("Share of the scored"), _("Share of the selected"))
        for g in found:
            table.add_row(_label(dimension, g.value, places), number(g.scored), number(g.vulnerable), number(g.selected),
                          number(g.left_out), _share(g.scored, t.scored), _share(g.selected, t.selected))
        console.print(table)


def _write_targets(session: Session, actor: Actor, s: sim_.Simulation, out: Path) -> int:
    part = out.with_name(out.name + ".part")
    n = 0
    with part.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rank", "household_code", "score", "category", "admin1", "pcode", "population_group",
                         "members", "head_sex", "run_id", "model", "model_version", "uses_displacement_status"])
        for row in sim_.selected_households(session, actor, s):
            writer.writerow([*row, s.run.id, s.loaded.model.id, s.loaded.model.version,
                             int(s.loaded.model.uses_displacement_status)])
            n += 1
    part.replace(out)
    audit.record(session, actor, "targeting.target_list", "targeting_run", s.run.id,
                 {"rows": n, "budget": s.budget.budget, "transfer_value": s.budget.transfer_value,
                  "months": s.budget.months, "file": out.name})
    return n


@friendly_errors
def fairness_command(run: int = typer.Option(..., "--run", help=_("The scoring run.")),
                     budget: int = typer.Option(None, "--budget", help=_("A budget, to count the selected too.")),
                     transfer_value: int = typer.Option(None, "--transfer-value", help=_("FCFA per month.")),
                     months: int = typer.Option(None, "--months", help=_("How many monthly transfers.")),
                     categories: str = CATEGORIES, by: str = BY, as_user: str = AS_USER) -> None:
    money = _budget(budget, transfer_value, months)
    with db_session() as session:
        actor = acting_user(session, as_user)
        report = fairness(session=session, actor=actor, run_id=run, budget=money,
                          categories=_split(categories) or None, by=_split(by))
        if report.data_changed:
            err_console.print(_("The registry changed since this run: the criteria are compared on today's data."),
                              style="yellow")
        t = report.total
        places = _places(session, [b.groups for b in report.breakdowns])
        for b in report.breakdowns:
            table = Table(_title(b.dimension), _("Share of the scored"),
                          _("Share of the assessed"), _("Share of the vulnerable"), _("Share of the selected"))
            for g in b.groups:
                table.add_row(_label(b.dimension, g.value, places), _share(g.scored, t.scored), _share(g.assessed, t.assessed),
                              _share(g.vulnerable, t.vulnerable),
                              _share(g.selected, t.selected) if money else "—")
            console.print(table)
            for d in b.drivers:
                means = "; ".join(f"{_label(b.dimension, v, places)} {m:.1f}" for v, m in sorted(
                    d.means.items(), key=lambda kv: -kv[1]))
                console.print(_("  {criterion}: average points {means} (gap {gap}).",
                                criterion=d.criterion.label.get(), means=means, gap=f"{d.gap:.1f}"))


@friendly_errors
def list_runs(as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        table = Table(_("Run"), _("Model"), _("Version"), _("Households"), _("By"), _("When"),
                      _("Uses displacement status"))
        for run, model in runs.list_runs(session, actor):
            table.add_row(str(run.id), model.name, str(model.version), number((run.counts or {}).get("households", 0)),
                          run.run_by_name, day(run.started_at.date()), _("yes") if run.uses_displacement_status else "")
        console.print(table)
