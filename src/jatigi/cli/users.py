"""`jatigi users`: organisations, users, API tokens and data-sharing agreements."""

from __future__ import annotations

import sys
from datetime import date

import sqlalchemy as sa
import typer
from rich.table import Table

from jatigi.accounts import service
from jatigi.accounts.models import DataSharingAgreement, Organisation, Role, User, UserRole
from jatigi.cli.common import AS_USER, acting_user, console, db_session, friendly_errors
from jatigi.core.authz import ROLE_LABELS, Permission
from jatigi.core.errors import Unauthorized
from jatigi.core.i18n import _

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("add-org", help=_("Add an organisation."))
@friendly_errors
def add_org(acronym: str = typer.Argument(..., help=_("Acronym of the organisation, such as ONGA.")),
            name: str = typer.Option(..., help=_("Full name.")),
            kind: str = typer.Option(..., help=_("un_agency, ingo, nngo, government or donor.")),
            as_user: str = AS_USER) -> None:
    """Add an organisation."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        service.create_organisation(session=session, actor=actor, acronym=acronym, name=name, kind=kind)
    console.print(_("Organisation {acronym} added.", acronym=acronym))


@app.command("add", help=_("Add a user to an organisation with one or more roles."))
@friendly_errors
def add(username: str = typer.Argument(..., help=_("User name to sign in with.")),
        org: str = typer.Option(..., "--org", help=_("Acronym of the user's organisation.")),
        role: list[str] = typer.Option(..., "--role", help=_("One of: {codes}.", codes=", ".join(ROLE_LABELS))),
        full_name: str = typer.Option("", "--name", help=_("Full name.")),
        email: str = typer.Option(None, help=_("Email address.")),
        language: str = typer.Option("fr", "--language", help=_("fr or en.")),
        password: str = typer.Option(..., prompt=_("Password"), hide_input=True, confirmation_prompt=True,
                                     envvar="JATIGI_NEW_PASSWORD",
                                     help=_("Password of the new user; asked for if not given.")),
        as_user: str = AS_USER) -> None:
    """Add a user to an organisation with one or more roles."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        service.create_user(session=session, actor=actor, username=username, full_name=full_name,
                            org_acronym=org, password=password, roles=role, email=email,
                            language=language)
    console.print(_("User {username} added.", username=username.lower()))


@app.command("list", help=_("List users with their organisation and roles."))
@friendly_errors
def list_users(as_user: str = AS_USER) -> None:
    """List users with their organisation and roles."""
    with db_session() as session:
        acting_user(session, as_user).require(Permission.ACCOUNTS_USER_READ)
        table = Table(_("User"), _("Name"), _("Organisation"), _("Roles"))
        rows = session.execute(
            sa.select(User.username, User.full_name, Organisation.acronym, sa.func.min(Role.name))
            .join(Organisation, Organisation.id == User.org_id)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .outerjoin(Role, Role.id == UserRole.role_id)
            .group_by(User.username, User.full_name, Organisation.acronym)
            .order_by(User.username)
        )
        for username, name, org, role in rows:
            table.add_row(username, name, org, role or "")
    console.print(table)


@app.command("token", help=_("Create an API token for a user. It is shown once; keep it safe. A user who works on "
                             "protection cases gets one only with the code their authenticator app shows now, and it "
                             "lasts at most 12 hours."))
@friendly_errors
def token(username: str = typer.Argument(..., help=_("The user the token is for.")),
          name: str = typer.Option("cli", help=_("What the token is for.")),
          days: int = typer.Option(365, help=_("Days before it expires.")),
          code: str = typer.Option(None, "--code", help=_("The code of the user's authenticator app (case work; "
                                                          "asked if not given).")),
          as_user: str = AS_USER) -> None:
    """Create an API token for a user. It is shown once; keep it safe."""
    from jatigi.accounts import totp

    with db_session() as session:
        actor = acting_user(session, as_user)
        user = service.user_by_name(session=session, username=username)
        if (not code and sys.stdin.isatty() and totp.is_enrolled(user)
                and totp.needs_second_factor(service.permissions_of(session=session, user_id=user.id))):
            code = typer.prompt(_("Code of the authenticator app of {username}", username=user.username), err=True)
        try:
            value = service.create_token(session=session, actor=actor, user=user, name=name, days=days,
                                         totp_code=code)
        except Unauthorized:
            session.commit()  # a wrong code counts towards the lock-out
            raise
    console.print(value, highlight=False)


@app.command("reset-totp",
             help=_("Forget a user's two-factor sign-in (a lost phone): they set it up again at their next log-in."))
@friendly_errors
def reset_totp(username: str = typer.Argument(..., help=_("The user whose second factor is reset.")),
               as_user: str = AS_USER) -> None:
    """Forget a user's two-factor sign-in (a lost phone): they set it up again at their next log-in."""
    from jatigi.accounts import totp

    with db_session() as session:
        actor = acting_user(session, as_user)
        user = service.user_by_name(session=session, username=username)
        totp.reset(session=session, actor=actor, user=user)
    console.print(_("Two-factor sign-in of {username} reset: they set it up again at their next log-in.",
                    username=user.username))


@app.command("share",
             help=_("Record a data-sharing agreement: the recipient then sees the provider's households."))
@friendly_errors
def share(provider: str = typer.Option(..., help=_("Acronym of the organisation that shares.")),
          recipient: str = typer.Option(..., help=_("Acronym of the organisation that receives.")),
          purpose: str = typer.Option(..., help=_("Purpose of the sharing.")),
          signed_on: str = typer.Option(None, help=_("Date signed, YYYY-MM-DD (default today).")),
          valid_until: str = typer.Option(None, help=_("Last day of validity, YYYY-MM-DD.")),
          reference: str = typer.Option(None, help=_("Reference of the signed agreement.")),
          as_user: str = AS_USER) -> None:
    """Record a data-sharing agreement: the recipient then sees the provider's households."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        dsa = service.create_agreement(
            session=session, actor=actor, provider=provider, recipient=recipient, purpose=purpose,
            signed_on=_parse_date(signed_on) or date.today(), valid_until=_parse_date(valid_until),
            reference=reference)
    console.print(_("Agreement {id} recorded: {provider} shares with {recipient}.", id=dsa.id,
                    provider=provider, recipient=recipient))


@app.command("revoke",
             help=_("Revoke a data-sharing agreement: the recipient no longer sees the provider's households."))
@friendly_errors
def revoke(agreement_id: int = typer.Argument(..., help=_("Number of the agreement, as `agreements` lists it.")),
           as_user: str = AS_USER) -> None:
    """Revoke a data-sharing agreement: the recipient no longer sees the provider's households."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        service.revoke_agreement(session=session, actor=actor, agreement_id=agreement_id)
    console.print(_("Agreement {id} revoked.", id=agreement_id))


@app.command("agreements", help=_("List the data-sharing agreements your organisation is party to."))
@friendly_errors
def agreements(as_user: str = AS_USER) -> None:
    """List the data-sharing agreements your organisation is party to."""
    with db_session() as session:
        actor = acting_user(session, as_user)
        actor.require(Permission.ACCOUNTS_USER_READ)
        prov = sa.orm.aliased(Organisation)
        rec = sa.orm.aliased(Organisation)
        table = Table("#", _("Provider"), _("Recipient"), _("Purpose"), _("Valid"), _("Revoked"))
        rows = session.execute(
            sa.select(DataSharingAgreement, prov.acronym, rec.acronym)
            .join(prov, prov.id == DataSharingAgreement.provider_org_id)
            .join(rec, rec.id == DataSharingAgreement.recipient_org_id)
            .where(sa.true() if actor.sees_all else sa.or_(
                DataSharingAgreement.provider_org_id == actor.org_id,
                DataSharingAgreement.recipient_org_id == actor.org_id))
            .order_by(DataSharingAgreement.id)
        )
        for dsa, p, r in rows:
            table.add_row(str(dsa.id), p, r, dsa.purpose,
                          f"{dsa.valid_from} → {dsa.valid_until or '…'}",
                          dsa.revoked_at.date().isoformat() if dsa.revoked_at else "")
    console.print(table)


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        from jatigi.core.errors import ValidationFailed

        raise ValidationFailed(_("{value} is not a date; write it as YYYY-MM-DD.", value=value)) from None
