"""`jatigi import`: households from Kobo/ODK exports, partner lists and HXL files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _
from jatigi.registry.importer import FORMATS, ImportOptions, import_files
from jatigi.registry.problems import write_report

SHOWN_PROBLEMS = 20


@friendly_errors
def import_command(
    files: list[Path] = typer.Argument(
        ..., help=_("The file to import; a Kobo CSV export with its repeat-group files.")),
    format: str = typer.Option("auto", "--format", help=_("kobo, csv, xlsx, hxl (default: guessed).")),
    mapping: Path = typer.Option(None, "--mapping", help=_("TOML column mapping for a partner list.")),
    org: str = typer.Option(None, "--org", help=_("Acronym of the organisation that registered them.")),
    partial: bool = typer.Option(False, "--partial", help=_("Write the valid households, report the others.")),
    errors: Path = typer.Option(None, "--errors", help=_("Write every problem found to this CSV file.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
    as_user: str = AS_USER,
) -> None:
    """Import households; by default a file with any problem writes nothing."""
    if format not in FORMATS:
        err_console.print(_("Unknown format {format}; accepted: {accepted}.", format=format,
                            accepted=", ".join(FORMATS)))
        raise typer.Exit(2)
    options = ImportOptions(format=format, mapping=mapping, org=org, partial=partial, delimiter=delimiter)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        task = progress.add_task(_("Importing"), total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        with db_session() as session:
            actor = acting_user(session, as_user)
            result = import_files(session=session, actor=actor, paths=files, options=options,
                                  on_progress=on_progress)
    if errors and result.problems:
        write_report(result.problems, errors)
    for p in result.problems[:SHOWN_PROBLEMS]:
        err_console.print(p.line(), highlight=False, markup=False)
    if result.problem_count > SHOWN_PROBLEMS:
        err_console.print(_("… and {n} more problems.", n=result.problem_count - SHOWN_PROBLEMS))
    if result.status == "rejected":
        err_console.print(_("Nothing was written: {n} problems in {households} households. "
                            "Correct the file, or use --partial to write the valid households.",
                            n=result.problem_count, households=result.households_rejected))
        raise typer.Exit(1)
    console.print(_("{written} households ({people} people) written, {skipped} already imported, "
                    "{rejected} rejected.", written=result.households_written, people=result.people_written,
                    skipped=result.households_skipped, rejected=result.households_rejected))
    if result.duplicates is not None:
        console.print(result.duplicates.message)
