"""What every command shares: language, database session, the acting user, error display."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from jatigi.core.authz import SYSTEM, Actor
from jatigi.core.db import session_scope
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _

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
    with session_scope() as session:
        yield session


def acting_user(session: Session, username: str | None) -> Actor:
    """The user a command acts as: `--as USER`, else `JATIGI_USER`, else the system account.

    The system account exists for an operator at the machine (set-up, migrations, demo). Every
    act is audited under whoever is named.
    """
    from jatigi.accounts.service import actor_for, user_by_name

    name = username or os.environ.get("JATIGI_USER")
    if not name:
        return SYSTEM
    return actor_for(session=session, user=user_by_name(session=session, username=name))


AS_USER = typer.Option(None, "--as", help=_("Act as this user (default: JATIGI_USER, else system)."))
