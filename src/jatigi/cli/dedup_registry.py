"""`jatigi dedup run | queue | show | decide`: the registry's duplicates, from the command line.

These commands join the `jatigi dedup` group (cli/dedup.py) through `add_commands`.
"""

from __future__ import annotations

import json

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, number
from jatigi.dedup import runs, service
from jatigi.dedup.backends import ENGINES
from jatigi.dedup.labels import field_label, level_label

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def add_commands(target: typer.Typer) -> None:
    """Add these commands to another Typer app (the `jatigi dedup` group)."""
    target.registered_commands.extend(app.registered_commands)


def _label(labels: dict[str, str], code: str | None) -> str:
    if not code:
        return "—"
    return _(labels[code]) if code in labels else code


@app.command("run", help=_("Score the registry's people, group them, and send possible duplicates to the "
                           "review queue."))
@friendly_errors
def run(engine: str = typer.Option("duckdb", "--engine", help=_("duckdb (default) or spark.")),
        retrain: bool = typer.Option(False, "--retrain", help=_("Train a new model (with reviewers' decisions) "
                                                               "instead of reusing the active one.")),
        review_from: float = typer.Option(runs.REVIEW_FROM, "--review-from",
                                          help=_("Pairs from this match probability go to the queue.")),
        link_from: float = typer.Option(runs.LINK_FROM, "--link-from",
                                        help=_("Pairs from this match probability are probable duplicates.")),
        as_json: bool = typer.Option(False, "--json", help=_("Print a JSON document.")),
        as_user: str = AS_USER) -> None:
    """Score the registry's people, group them, and send possible duplicates to the review queue."""
    if engine not in ENGINES:
        err_console.print(_("Unknown engine {engine}; accepted: {accepted}.", engine=engine,
                            accepted=", ".join(ENGINES)))
        raise typer.Exit(2)
    with db_session() as session:
        actor = acting_user(session, as_user)
    options = runs.RunOptions(engine=engine, retrain=retrain, review_from=review_from, link_from=link_from)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as progress:
        task = progress.add_task(_("Starting…"), total=None)
        summary = runs.run_registry(actor=actor, options=options,
                                    on_step=lambda text: progress.update(task, description=text))
    if as_json:
        typer.echo(json.dumps({"run": summary.run_id, "model_version": summary.model_version, **summary.counts},
                              ensure_ascii=False, indent=2))
        return
    model = (_("Model version {v} trained on {n} people and {labels} reviewers' decisions.",
               v=summary.model_version, n=number(summary.people), labels=number(summary.labels))
             if summary.trained else _("Model version {v} reused.", v=summary.model_version))
    console.print(model)
    pairs = summary.pairs
    console.print(_("{people} people scored: {found} pairs above the review threshold ({probable} probable, "
                    "{possible} possible), {clusters} groups of people.", people=number(summary.people),
                    found=number(pairs.found), probable=number(pairs.probable), possible=number(pairs.possible),
                    clusters=number(summary.clusters)))
    console.print(_("Queue: {new} new pairs, {updated} pending pairs scored again, {kept} decided pairs left as "
                    "decided; {households} pairs of households.", new=number(pairs.new),
                    updated=number(pairs.updated), kept=number(pairs.kept),
                    households=number(summary.household_pairs)))
    if summary.new_labels:
        console.print(_("{n} decisions were made since this model was trained: add --retrain to learn from them.",
                        n=number(summary.new_labels)), style="yellow")
    console.print(_("Run {id} done in {seconds} s.", id=summary.run_id, seconds=summary.seconds))


@app.command("queue", help=_("List the pairs of the review queue that you may see."))
@friendly_errors
def queue(status: str = typer.Option("pending", "--status",
                                     help=_("pending, confirmed, rejected, merged, unmerged, or all.")),
          kind: str = typer.Option(None, "--kind", help=_("registry or import.")),
          band: str = typer.Option(None, "--band", help=_("probable or possible.")),
          org: str = typer.Option(None, "--org", help=_("Acronym of either household's organisation.")),
          limit: int = typer.Option(service.PAGE_SIZE, "--limit", help=_("At most this many pairs.")),
          offset: int = typer.Option(0, "--offset", help=_("Skip this many pairs first.")),
          as_user: str = AS_USER) -> None:
    """List the pairs of the review queue that you may see."""
    filters = service.Filters(status=None if status == "all" else status, kind=kind, band=band, org=org)
    with db_session() as session:
        actor = acting_user(session, as_user)
        page = service.queue(session=session, actor=actor, filters=filters, limit=limit, offset=offset)
    table = Table(_("Pair"), _("First record"), _("Second record"), _("Probability"), _("Found by"), _("Status"))
    for r in page.rows:
        table.add_row(str(r.id), f"{r.a.name} ({r.a.household_code}, {r.a.org})",
                      f"{r.b.name} ({r.b.household_code}, {r.b.org})", f"{r.probability:.3f}",
                      _label(service.KIND_LABELS, r.kind), _label(service.STATUS_LABELS, r.status))
    console.print(table)
    console.print(_("{shown} of {total} pairs shown.", shown=len(page.rows), total=page.total))


@app.command("show", help=_("Show a pair side by side with the weight each field added, and its history."))
@friendly_errors
def show(pair_id: int = typer.Argument(..., help=_("Number of the pair.")), as_user: str = AS_USER) -> None:
    """Show a pair side by side with the weight each field added, and its history."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        d = service.get_pair(session=session, actor=actor, pair_id=pair_id)
        sides = Table("", _("First record"), _("Second record"), title=_("Pair {id}", id=d.pair.id),
                      title_justify="left")
        for name, value in (
            (_("Name"), lambda s: f"{s.person.given_name} {s.person.family_name}"),
            (_("Sex"), lambda s: s.person.sex),
            (_("Date of birth"), lambda s: (s.person.birth_date.isoformat() + (" ~" if s.person.age_estimated else "")
                                            if s.person.birth_date else "—")),
            (_("Phone"), lambda s: s.phone or s.phone_note or "—"),
            (_("Place"), lambda s: s.place),
            (_("Household"), lambda s: s.household.code),
            (_("Registered by"), lambda s: s.org),
        ):
            sides.add_row(name, value(d.a), value(d.b))
        status = _label(service.STATUS_LABELS, d.pair.status)
        probability = f"{d.pair.match_probability:.3f}"
    console.print(sides)
    console.print(_("Status: {status}; match probability {p}.", status=status, p=probability))
    weights = Table(_("Field"), _("What the model found"), _("Weight"), title=_("Why the model matched them"),
                    title_justify="left")
    if d.prior is not None:
        weights.add_row(field_label("prior"), "", f"{d.prior:+.1f}")
    for f in d.fields:
        weights.add_row(field_label(f.field), level_label(f.level), f"{f.weight:+.1f}")
    console.print(weights)
    for h in d.history:
        change = f"{_label(service.STATUS_LABELS, h.status_before)} → {_label(service.STATUS_LABELS, h.status_after)}"
        console.print(f"{h.at:%Y-%m-%d %H:%M} {h.username}: {change}" + (f" — {h.note}" if h.note else ""))


@app.command("decide", help=_("Confirm, reject, merge or unmerge a pair."))
@friendly_errors
def decide(pair_id: int = typer.Argument(..., help=_("Number of the pair.")),
           decision: str = typer.Argument(..., help=_("confirm, reject, merge or unmerge.")),
           note: str = typer.Option(None, "--note", help=_("Why you decide so.")),
           as_user: str = AS_USER) -> None:
    """Confirm, reject, merge or unmerge a pair."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        pair = service.decide(session=session, actor=actor, pair_id=pair_id, action=decision, note=note)
        status = _label(service.STATUS_LABELS, pair.status)
    console.print(_("Pair {id} is now {status}.", id=pair_id, status=status.lower()))
