"""`jatigi targeting`: indicators of any survey file; (later) vulnerability models, scoring, simulation."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from jatigi.cli.common import console, err_console, friendly_errors
from jatigi.core.i18n import _, number
from jatigi.targeting import indicators as ind
from jatigi.targeting import inputs as I  # noqa: N812
from jatigi.targeting import params as params_
from jatigi.targeting import survey

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("indicators", help=_("Compute the food security and economic indicators of a survey file with WFP "
                                  "variable names (CSV or XLSX)."))
@friendly_errors
def indicators(
    file: Path = typer.Argument(..., help=_("The survey file: one row per household, WFP variable names.")),
    out: Path = typer.Option(None, "--out", help=_("Where to write the CSV (default: the screen).")),
    meb: float = typer.Option(None, "--meb", help=_("Minimum Expenditure Basket per person per month, in FCFA.")),
    smeb: float = typer.Option(None, "--smeb", help=_("Survival MEB per person per month, in FCFA.")),
    fcs_thresholds: str = typer.Option("28,42", "--fcs-thresholds",
                                       help=_("FCS thresholds poor,borderline: 28,42 (Sahel, default) or 21,35.")),
    delimiter: str = typer.Option(None, "--delimiter", help=_("CSV delimiter (default: guessed).")),
) -> None:
    """Compute the indicators of a survey file; a file with any bad value writes nothing."""
    params = ind.IndicatorParams(fcs_thresholds=params_.thresholds(fcs_thresholds, option=True), meb_per_person=meb,
                                 smeb_per_person=smeb)
    target = out.with_name(out.name + ".part") if out else None
    try:
        if target is None:
            result = survey.indicators_file(file, sys.stdout, params, delimiter)
        else:
            with target.open("w", encoding="utf-8", newline="") as fh:
                result = survey.indicators_file(file, fh, params, delimiter)
            target.replace(out)
    except survey.SurveyInvalid as exc:
        for problem in exc.problems:
            err_console.print(problem.line())
        raise
    finally:
        if target is not None and target.exists():
            target.unlink()
    report = err_console if out is None else console
    for column in result.replaced:
        report.print(_("The file's column {column} is replaced by the computed indicator.", column=column))
    for module, lacking in result.not_assessed.items():
        what = ", ".join(lacking) if len(lacking) <= 4 else _("{columns} and {n} more", columns=", ".join(lacking[:3]),
                                                               n=len(lacking) - 3)
        report.print(_("{module}: not assessed, the file lacks {columns}.", module=_(I.MODULES[module]),
                       columns=what))
    if meb is None:
        report.print(_("Economic capacity: not assessed; give --meb and --smeb."))
    if out is not None:
        report.print(_("{n} households: indicators written to {file}.", n=number(result.rows), file=str(out)))

from jatigi.cli.targeting_models import app as models_app  # noqa: E402

app.add_typer(models_app, name="models", help=_("Vulnerability models: list, show, check, save a new version."))

from jatigi.cli.targeting_assess import assess_command  # noqa: E402

app.command("assess", help=_("Import household assessments from a CSV, XLSX or Kobo export (WFP variable names)."))(
    assess_command)

from jatigi.cli.targeting_runs import add_commands  # noqa: E402

add_commands(app)
