"""`jatigi targeting assess FILE`: household assessments from a CSV, XLSX or Kobo export."""

from __future__ import annotations

from pathlib import Path

import typer

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.i18n import _, number
from jatigi.registry.problems import write_report
from jatigi.targeting.assessment_import import AssessmentsInvalid, import_assessments

SHOWN_PROBLEMS = 20


@friendly_errors
def assess_command(
    file: Path = typer.Argument(..., help=_("The file: one row per assessment, a household_code column, the date "
                                            "(assessed_on) and WFP variable names.")),
    errors: Path = typer.Option(None, "--errors", help=_("Write every problem found to this CSV file.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
    as_user: str = AS_USER,
) -> None:
    """Import household assessments; a file with any problem writes nothing."""
    try:
        with db_session() as session:
            actor = acting_user(session, as_user)
            result = import_assessments(session=session, actor=actor, path=file, delimiter=delimiter)
    except AssessmentsInvalid as exc:
        if errors:
            write_report(exc.problems, errors)
        for p in exc.problems[:SHOWN_PROBLEMS]:
            err_console.print(p.line())
        if len(exc.problems) > SHOWN_PROBLEMS:
            err_console.print(_("… and {n} more problems.", n=len(exc.problems) - SHOWN_PROBLEMS))
        raise
    if result.ignored:
        console.print(_("Columns not kept in assessments: {columns}.", columns=", ".join(result.ignored)))
    console.print(_("{added} assessments added, {already} already there ({rows} rows read).",
                    added=number(result.added), already=number(result.already), rows=number(result.rows)))
