"""`jatigi dedup file | explain`: duplicates in any list of people, with no registry at all.

An agency checking a partner's distribution list runs
`jatigi dedup file list.xlsx --id-column ID --map given_name=Prénom,family_name=Nom --out pairs.csv`.
A list the engine cannot use stops with one clear message and exit code 2.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import typer

from jatigi.cli.common import console, err_console
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _, number
from jatigi.dedup.backends import ENGINES, EngineFailed, EngineOptions, with_memory
from jatigi.dedup.blocking import RulePlan
from jatigi.dedup.engine import Explanation, Linkage
from jatigi.dedup.labels import field_label
from jatigi.dedup.listfile import ListError, PeopleList, parse_map, read_people
from jatigi.dedup.model import Model

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

BAD_INPUT = 2
SHOWN_PROBLEMS = 10
DEFAULT_THRESHOLD = 0.9
F = TypeVar("F", bound=Callable[..., Any])

ID_COLUMN = typer.Option(..., "--id-column", help=_("The column that identifies each person (unique)."))
MAP = typer.Option(None, "--map", help=_("Which column holds each field: given_name=…,family_name=…,full_name=…,"
                                         "birth_date=…,age=…,sex=…,phone=…,place=…,id_number=…,address=…,"
                                         "household=… (household: the registration or household number; "
                                         "default: columns named like the fields)."))
ENGINE = typer.Option("duckdb", "--engine", help=_("duckdb (default) or spark."))
MEMORY = typer.Option(None, "--memory", help=_("Memory the engine may use, e.g. 6GB (default: DuckDB 5GB, "
                                               "Spark 4GB)."))
DELIMITER = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed)."))
AGES_ON = typer.Option(None, "--ages-on", help=_("The day the list was made (YYYY-MM-DD), from which ages are "
                                                 "counted back (default: today)."))


def bad_input_exits(fn: F) -> F:
    """A list or an option the engine cannot use: one clear line and exit code 2, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JatigiError as exc:
            err_console.print(_("Error: {message}", message=exc.message), style="red")
            raise typer.Exit(1 if isinstance(exc, EngineFailed) else BAD_INPUT) from None
        except OSError as exc:
            err_console.print(_("Error: cannot use the file {file} ({reason}).",
                                file=exc.filename or "—", reason=exc.strerror or type(exc).__name__), style="red")
            raise typer.Exit(BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def _options(engine: str, memory: str | None, threshold: float | None = None) -> EngineOptions:
    if engine not in ENGINES:
        raise ListError(_("Unknown engine {engine}; accepted: {accepted}.", engine=engine, accepted=", ".join(ENGINES)))
    if threshold is not None and not 0 < threshold < 1:
        raise ListError(_("--threshold is a match probability between 0 and 1 (both excluded), not {value}.",
                          value=threshold))
    return with_memory(EngineOptions(engine=engine), memory)


@contextmanager
def _engine_running(options: EngineOptions) -> Iterator[None]:
    """An engine that runs out of memory says so, with what to try, instead of a Java or DuckDB trace."""
    try:
        yield
    except JatigiError:
        raise
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        if "OutOfMemory" in text or "Out of Memory" in text or "out of memory" in text:
            memory = options.memory_limit if options.engine == "duckdb" else options.spark_driver_memory
            raise EngineFailed(_("The {engine} engine ran out of memory ({memory}); give it more with --memory, "
                                 "e.g. --memory 8GB.", engine=options.engine, memory=memory)) from None
        raise


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ListError(_("--ages-on: {value} is not a date written YYYY-MM-DD.", value=text)) from None


def _read(path: Path, id_column: str, mapping: list[str] | None, delimiter: str | None, ages_on: str | None,
          keep: tuple[str, ...] = ()) -> PeopleList:
    people = read_people(path, id_column=id_column, mapping=parse_map(mapping) if mapping else {},
                         delimiter=delimiter, keep=keep, reference=_day(ages_on))
    for p in people.problems[:SHOWN_PROBLEMS]:
        err_console.print(_("Row {row}, {field}: {message} The value is left empty.", row=p.row, field=p.field,
                            message=p.message))
    if len(people.problems) > SHOWN_PROBLEMS:
        err_console.print(_("… and {n} more values that could not be read.", n=len(people.problems) - SHOWN_PROBLEMS))
    return people


def _labels(path: Path | None) -> list[tuple[str, str]]:
    if path is None:
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"id_a", "id_b"} <= set(reader.fieldnames):
            raise ListError(_("{file}: a file of confirmed pairs needs the columns id_a and id_b.", file=path.name))
        return [(row["id_a"].strip(), row["id_b"].strip()) for row in reader if row["id_a"] and row["id_b"]]


def _write_csv(table: pa.Table, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(table.column_names)
        for batch in table.to_batches(max_chunksize=50_000):
            columns = [c.to_pylist() for c in batch.columns]
            out.writerows(zip(*columns, strict=True))


@app.command("file", help=_("Find the people listed more than once in a CSV or XLSX list."))
@bad_input_exits
def file_command(
    path: Path = typer.Argument(..., help=_("The list: a CSV or XLSX file, one person per row.")),
    id_column: str = ID_COLUMN,
    mapping: list[str] = MAP,
    out: Path = typer.Option(..., "--out", help=_("Write the pairs found here (CSV: id_a, id_b, match_probability).")),
    clusters: Path = typer.Option(None, "--clusters", help=_("Also write every person's group here (CSV: id, "
                                                             "cluster_id).")),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold",
                                    help=_("Keep pairs with at least this match probability (default 0.9).")),
    engine: str = ENGINE,
    model_path: Path = typer.Option(None, "--model", help=_("Score with this saved model instead of training one.")),
    save_model: Path = typer.Option(None, "--save-model", help=_("Save the model used to this JSON file.")),
    labels: Path = typer.Option(None, "--labels", help=_("Confirmed pairs (CSV: id_a, id_b) to train the model "
                                                         "with.")),
    explain: bool = typer.Option(False, "--explain", help=_("Add to each pair its match weight and the weight "
                                                            "each field added (mw_<field>).")),
    delimiter: str = DELIMITER,
    ages_on: str = AGES_ON,
    memory: str = MEMORY,
) -> None:
    """Find the people listed more than once in a CSV or XLSX list."""
    options = _options(engine, memory, threshold)
    model = Model.load(model_path) if model_path else None
    confirmed = _labels(labels)
    started = time.perf_counter()
    err_console.print(_("Reading {file}…", file=path.name))
    people = _read(path, id_column, mapping, delimiter, ages_on)
    console.print(_("{n} people read from {file}.", n=number(people.size), file=path.name))
    with _engine_running(options), Linkage(people.table, options) as linkage:
        if model is None:
            err_console.print(_("Training a model on {n} people…", n=number(people.size)))
            model = linkage.train(labels=confirmed)
        err_console.print(_("Counting the comparisons each blocking rule makes…"))
        plans = linkage.plan()
        _report_blocking(plans)
        err_console.print(_("Scoring pairs…"))
        found = linkage.predict(model, threshold=threshold, weights=explain, plans=plans)
        pairs = found.pairs(weights=explain)
        _write_csv(pairs, out)
        if clusters:
            err_console.print(_("Grouping the pairs…"))
            groups = found.clusters(threshold)
            _write_csv(groups, clusters)
    if save_model:
        model.save(save_model)
        console.print(_("Model saved to {file}.", file=str(save_model)))
    if pairs.num_rows:
        console.print(_("{n} pairs with a match probability of at least {threshold} written to {file}.",
                        n=number(pairs.num_rows), threshold=threshold, file=str(out)))
    else:
        console.print(_("No pair reaches a match probability of {threshold}: {file} has only its header.",
                        threshold=threshold, file=str(out)))
    if clusters:
        sizes: dict[Any, int] = {}
        for cid in groups.column("cluster_id").to_pylist():
            sizes[cid] = sizes.get(cid, 0) + 1
        console.print(_("{groups} groups of people listed more than once ({people} records) written to {file}.",
                        groups=number(sum(1 for s in sizes.values() if s > 1)),
                        people=number(sum(s for s in sizes.values() if s > 1)), file=str(clusters)))
    err_console.print(_("Done in {seconds} s.", seconds=number(round(time.perf_counter() - started, 1))))


def _report_blocking(plans: list[RulePlan]) -> None:
    """Say which blocking rules were tightened or left out, and why."""
    for plan in plans:
        first = plan.first_stats
        if plan.tightened and first is not None:
            console.print(_("Blocking on {rule}: the largest group ({keys}) has {n} people; {added} added.",
                            rule=plan.original.name, keys=" / ".join(first.largest_keys), n=number(first.largest_records),
                            added=" + ".join(plan.added)))
        if plan.over_cap and plan.rule is not None and plan.stats is not None:
            console.print(_("Blocking on {rule} would still make {pairs} comparisons (largest group: {n} people): "
                            "left out.", rule=plan.rule.name, pairs=number(plan.stats.pairs),
                            n=number(plan.stats.largest_records)))


@app.command("explain", help=_("Show why two records of a list match or not: the weight each field added."))
@bad_input_exits
def explain_command(
    id_a: str = typer.Argument(..., help=_("The first record's id.")),
    id_b: str = typer.Argument(..., help=_("The second record's id.")),
    path: Path = typer.Option(..., "--file", help=_("The list holding both records (CSV or XLSX).")),
    id_column: str = ID_COLUMN,
    mapping: list[str] = MAP,
    model_path: Path = typer.Option(None, "--model", help=_("The model to explain (default: train one on the list).")),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold",
                                    help=_("The threshold of the run to explain (default 0.9): the other pairs of "
                                           "two registrations that reach it add weight.")),
    engine: str = ENGINE,
    delimiter: str = DELIMITER,
    ages_on: str = AGES_ON,
    memory: str = MEMORY,
) -> None:
    """Show why two records of a list match or not: the weight each field added."""
    options = _options(engine, memory, threshold)
    model = Model.load(model_path) if model_path else None
    people = _read(path, id_column, mapping, delimiter, ages_on, keep=(id_a, id_b))
    for uid in (id_a, id_b):
        if uid not in people.raw:
            raise ListError(_("{file} has no record with the id {id}.", file=path.name, id=uid))
    with _engine_running(options), Linkage(people.table, options) as linkage:
        if model is None:
            console.print(_("No --model given: training one on the list."))
            model = linkage.train()
        explanation = linkage.explain(model, id_a, id_b, threshold=threshold)
    _print_explanation(explanation, people)


def _print_explanation(ex: Explanation, people: PeopleList) -> None:
    headers = (_("Field"), ex.id_a, ex.id_b, _("Agreement"), _("Weight"))
    rows = [(field_label(r.field), _cell(r.value_a), _cell(r.value_b), _(r.level) if r.level else "",
             f"{r.weight:+.2f}") for r in ex.rows]
    rows.append((_("Total"), "", "", _("match probability {p}", p=f"{ex.match_probability:.4f}"),
                 f"{ex.match_weight:+.2f}"))
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
    for row in (headers, *rows):
        console.print("  ".join(str(v).rjust(w) if i == 4 else str(v).ljust(w)
                                for i, (v, w) in enumerate(zip(row, widths, strict=True))).rstrip(),
                      soft_wrap=True)
    raw_a, raw_b = people.raw.get(ex.id_a, {}), people.raw.get(ex.id_b, {})
    console.print(_("As written in the file:"))
    for name in raw_a:
        console.print(f"  {name}: {_raw(raw_a.get(name))} | {_raw(raw_b.get(name))}")


def _cell(value: str, width: int = 40) -> str:
    """A compared value in the explanation's table: long ones (a household's members) cut short, so that
    each field stays on one line; the file's own values follow in full."""
    if not value:
        return "—"
    return value if len(value) <= width else value[:width - 1] + "…"


def _raw(value: Any) -> str:
    return "—" if value is None or str(value).strip() == "" else str(value)


# The registry's commands (run, queue, show, decide) and privacy-preserving linkage (pprl …).
from jatigi.cli import dedup_registry  # noqa: E402
from jatigi.cli.dedup_pprl import app as pprl_app  # noqa: E402

dedup_registry.add_commands(app)
app.add_typer(pprl_app, name="pprl", help=_("Privacy-preserving linkage: encode a list, match encodings."))
