"""What every command shares: language, database session, the acting user, error display."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, SYSTEM, Actor
from jatigi.core.db import session_scope
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _

if TYPE_CHECKING:
    from jatigi.accounts.models import User

# Markup off: values from files and databases (a name like "[/x]") are printed as they are.
console = Console(markup=False, highlight=False)
err_console = Console(stderr=True, markup=False, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Show a JatigiError as one readable line and exit 1, instead of a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JatigiError as exc:
            err_console.print(_("Error: {message}", message=exc.message), style="red")
            raise typer.Exit(1) from None
        except OSError as exc:
            # A file that cannot be read or written: say which, without a traceback.
            err_console.print(_("Error: cannot use the file {file} ({reason}).",
                                file=exc.filename or "—", reason=exc.strerror or type(exc).__name__), style="red")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def db_session() -> Iterator[Session]:
    from jatigi.core.envelope import verify_key_file

    with session_scope() as session:
        verify_key_file(session)  # a wrong or missing key file stops the command before it seals anything
        yield session


def acting_user(session: Session, username: str | None) -> Actor:
    """The user a command acts as: `--as USER`, else `JATIGI_USER`, else the system account.

    The system account exists for an operator at the machine (set-up, migrations, demo). Every
    act is audited under whoever is named. A user who works on protection cases does case work
    only with the present code of their authenticator app (`JATIGI_TOTP_CODE`, else asked on a
    terminal); without it the command runs without case work permissions.
    """
    from jatigi.accounts.service import actor_for, user_by_name
    from jatigi.accounts.totp import needs_second_factor

    name = username or os.environ.get("JATIGI_USER")
    if not name:
        return SYSTEM
    user = user_by_name(session=session, username=name)
    actor = actor_for(session=session, user=user)
    if needs_second_factor(actor.permissions):
        actor = _second_factor(session, user, actor)
    return actor


def _second_factor(session: Session, user: User, actor: Actor) -> Actor:
    """The actor if the user gives a good code; without a code, the actor without case work."""
    from jatigi.accounts import totp

    without = replace(actor, permissions=actor.permissions - {str(p) for p in SECOND_FACTOR_PERMISSIONS})
    if not totp.is_enrolled(user):
        err_console.print(_("{username} works on protection cases but has not set up two-factor sign-in: log in to "
                            "the web application once to set it up. Until then this command does no case work.",
                            username=user.username), style="yellow")
        return without
    code = os.environ.get("JATIGI_TOTP_CODE", "").strip()
    if not code and sys.stdin.isatty():
        code = str(typer.prompt(_("Code of the authenticator app of {username} (empty: no case work)",
                                  username=user.username), default="", show_default=False, err=True)).strip()
    if not code:
        err_console.print(_("{username} works on protection cases: without the code of their authenticator app this "
                            "command does no case work. Give the code the app shows now in JATIGI_TOTP_CODE (a new "
                            "code for each command), or type it when asked on a terminal.", username=user.username),
                          style="yellow")
        return without
    try:
        totp.verify_code(session=session, user=user, code=code)
    finally:
        # A wrong code counts towards the lock-out, as at sign-in; a good one is spent even if
        # the command then fails.
        session.commit()
    return actor


AS_USER = typer.Option(None, "--as", help=_("Act as this user (default: JATIGI_USER, else system)."))
