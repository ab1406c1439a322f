"""`jatigi audit`: verify and read the audit trail."""

from __future__ import annotations

import sqlalchemy as sa
import typer
from rich.table import Table

from jatigi.cli.common import AS_USER, acting_user, console, db_session, err_console, friendly_errors
from jatigi.core.audit import AuditEvent, verify_chain
from jatigi.core.authz import Permission
from jatigi.core.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("verify",
             help=_("Check the hash chain of the audit trail; exit 1 if any event was altered or removed."))
@friendly_errors
def verify() -> None:
    """Check the hash chain of the audit trail; exit 1 if any event was altered or removed."""
    with db_session() as session:
        report = verify_chain(session)
    if report.ok:
        console.print(_("Audit trail intact: {n} events checked.", n=report.checked))
        return
    err_console.print(
        _("Audit trail broken at event {id} ({reason}) after {n} intact events.",
          id=report.broken_at, reason=report.reason, n=report.checked)
    )
    raise typer.Exit(1)


PROTECTED_ENTITIES = ("protection_case", "tracing_request")


@app.command("log", help=_("Show the most recent audit events."))
@friendly_errors
def log(limit: int = typer.Option(20, help=_("How many recent events.")),
        entity: str = typer.Option(None, help=_("Only events about this entity id.")),
        as_user: str = AS_USER) -> None:
    """Show the most recent audit events."""
    with db_session() as session:
        acting_user(session, as_user).require(Permission.CORE_AUDIT_READ)
        # Protection events say that a case exists and who works on it: need to know, not audit
        # reading. Supervisors review them at /protection/audit; `jatigi audit verify` checks them all.
        q = (sa.select(AuditEvent).where(AuditEvent.entity_type.not_in(PROTECTED_ENTITIES))
             .order_by(AuditEvent.id.desc()).limit(limit))
        if entity:
            q = q.where(AuditEvent.entity_id == entity)
        table = Table(_("When"), _("Who"), _("Action"), _("Record"))
        for ev in session.scalars(q):
            table.add_row(ev.at.isoformat(timespec="seconds"), ev.actor, ev.action,
                          f"{ev.entity_type} {ev.entity_id or ''}")
    console.print(table)
