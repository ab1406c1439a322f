"""`jatigi assistance coverage …`: who was assisted, which needs no programme covered, and whose
assistance ends while still vulnerable."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import typer
from rich.table import Table

from jatigi.assistance import coverage as coverage_
from jatigi.assistance.policies import get_programme
from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core import audit
from jatigi.core.i18n import _, money, number
from jatigi.registry import vocab as registry_vocab

coverage_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def _share(part: int, whole: int) -> str:
    return f"{number(part)} ({part * 100 / whole:.0f} %)" if whole else number(part)


@coverage_app.command("gaps", help=_("Households assisted, months, amounts and needs left uncovered, per area and "
                                     "population group."))
@friendly_errors
def gaps(since: str = typer.Option(..., "--since", help=_("First month, YYYY-MM.")),
         until: str = typer.Option(None, "--until", help=_("Last month, YYYY-MM (default: the first).")),
         level: int = typer.Option(1, "--level", help=_("1: regions, 2: cercles.")),
         place: str = typer.Option(None, "--place", help=_("Only under this P-code.")),
         as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        result = coverage_.coverage(session=session, actor=actor, since=since, until=until, level=level, place=place)
        table = Table(_("Area"), _("Population group"), _("Households"), _("Enrolled"), _("Assisted"),
                      _("Months per assisted household"), _("Amount paid"),
                      *(_("{need}: uncovered of in need", need=_(coverage_.NEED_LABELS[n])) for n in coverage_.NEEDS),
                      title=_("Coverage from {since} to {until}", since=result.since.isoformat(),
                              until=result.until.isoformat()))
        for row in [*result.rows, result.total]:
            months = row.months_per_assisted
            table.add_row(row.area, _(registry_vocab.POPULATION_GROUPS.get(row.population_group, row.population_group))
                          if row.population_group else "", number(row.households), number(row.enrolled),
                          _share(row.assisted, row.households), f"{months:.1f}" if months is not None else "—",
                          money(row.amount_paid),
                          *(f"{number(row.needs[n].uncovered)} / {number(row.needs[n].households)}"
                            for n in coverage_.NEEDS))
        console.print(table)


@coverage_app.command("continuity", help=_("Programmes ending soon and how many of their households are still "
                                           "vulnerable; --out writes those households' codes."))
@friendly_errors
def continuity(within: int = typer.Option(2, "--within", help=_("Months ahead (0: programmes already at their "
                                                                  "end).")),
               programme: str = typer.Option(None, "--programme", help=_("With --out: the programme whose "
                                                                         "households to list.")),
               out: Path = typer.Option(None, "--out", help=_("CSV of the still vulnerable households' codes "
                                                              "(household_code), ready for enrolment.")),
               as_user: str = AS_USER) -> None:
    with db_session() as session:
        actor = acting_user(session, as_user)
        found = coverage_.continuity(session=session, actor=actor, within_months=within)
        table = Table(_("Programme"), _("Name"), _("Ends"), _("Enrolled"), _("Scored again"), _("Still vulnerable"),
                      _("Latest run"))
        for c in found:
            table.add_row(c.code, c.name, c.ends_on.isoformat(), number(c.enrolled), number(c.rescored),
                          number(c.still_vulnerable), f"{c.model} #{c.run_id}" if c.run_id else "—")
        console.print(table if found else _("No active programme of yours ends within {n} months.", n=within))
        if out is None:
            return
        if programme is None:
            raise typer.BadParameter(_("Say with --programme whose households to write."))
        chosen = get_programme(session, actor, programme)
        figures, codes = coverage_.still_vulnerable(session=session, actor=actor, programme=chosen)
        target = sys.stdout if str(out) == "-" else out.open("w", newline="", encoding="utf-8")
        try:
            writer = csv.writer(target)
            writer.writerow(["household_code"])
            writer.writerows([c] for c in codes)
        finally:
            if target is not sys.stdout:
                target.close()
        audit.record(session, actor, "assistance.still_vulnerable.export", "programme", chosen.id,
                     {"code": chosen.code, "run": figures.run_id, "rows": len(codes), "file": str(out)})
        if str(out) != "-":
            console.print(_("Wrote {n} household codes to {file}.", n=number(len(codes)), file=str(out)))
