"""`jatigi protection retention`: anonymise closed cases and ended tracing requests past their
retention period (JATIGI_PROTECTION_RETENTION_DAYS, 365 days by default)."""

from __future__ import annotations

import typer

from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.i18n import _

retention_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@retention_app.command("run", help=_("Anonymise the cases closed, and tracing requests ended, longer ago than the "
                                     "retention period: their data keys are destroyed, the counted facts stay."))
@friendly_errors
def run(dry_run: bool = typer.Option(False, "--dry-run", help=_("Only count what would be anonymised.")),
        days: int = typer.Option(None, "--days", help=_("Retention period in days (default: "
                                                        "JATIGI_PROTECTION_RETENTION_DAYS, else 365).")),
        as_user: str = AS_USER) -> None:
    """Anonymise the cases closed, and tracing requests ended, longer ago than the retention period."""
    from jatigi.protection.retention import purge_closed_cases

    with db_session() as session:
        actor = acting_user(session, as_user)
        done = purge_closed_cases(session, actor, days, dry_run=dry_run)
    counts = {"cases": done.cases, "referrals": done.referrals, "tracing": done.tracing_requests,
              "days": done.older_than_days}
    if dry_run:
        console.print(_("Would anonymise {cases} cases (with {referrals} referrals) and {tracing} tracing requests "
                        "closed more than {days} days ago. Nothing was changed.", **counts))
    else:
        console.print(_("Anonymised {cases} cases (with {referrals} referrals) and {tracing} tracing requests "
                        "closed more than {days} days ago.", **counts))
