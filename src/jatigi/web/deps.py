"""What every API route shares: the database session, the acting user, the permission it needs.

Each route declares its access with exactly one of `require(Permission.X)`, `authenticated`
or `public`; `access_rules(app)` reads these declarations back from the routes, so the table
of routes × permissions that the tests walk is the one the code enforces, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from jatigi.accounts import service as accounts
from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, Actor, Permission
from jatigi.core.db import read_session_scope, session_scope
from jatigi.core.errors import Unauthorized
from jatigi.core.i18n import _, set_language

PUBLIC = "public"
AUTHENTICATED = "authenticated"
_ACCESS_ATTR = "__jatigi_access__"


READING_METHODS = frozenset({"GET", "HEAD"})


def _session(request: Request) -> Iterator[Session]:
    # One session per request; it commits when the route returns and rolls back on any error.
    # A GET only reads: its reads wait for no writer, and its audit events are written just
    # after them (core.db.read_session_scope).
    scope = read_session_scope if request.method in READING_METHODS else session_scope
    with scope() as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is not reported
# to the client as a success.
SessionDep = Annotated[Session, Depends(_session, scope="function")]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_("Give an API token in the header Authorization: Bearer <token>."))
    return token.strip()


def _actor(request: Request, session: SessionDep) -> Actor:
    row, user = accounts.token_in_use(session=session, token=bearer_token(request))
    actor = accounts.actor_for(session=session, user=user, ip=client_ip(request))
    if row.second_factor_at is None:
        # Rights come from the user's roles today, but case work needs the code given when the
        # token was made (accounts.service.issue_token): a token made without it does none.
        actor = replace(actor, permissions=actor.permissions - {str(p) for p in SECOND_FACTOR_PERMISSIONS})
    return actor


async def current_actor(actor: Annotated[Actor, Depends(_actor)]) -> Actor:
    # Async on purpose: a context variable set here is seen by the route (which runs in a
    # worker thread with a copy of this context), so messages come in the user's language.
    set_language(actor.language)
    return actor


def _mark(fn: Callable[..., Any], access: Permission | str) -> Callable[..., Any]:
    setattr(fn, _ACCESS_ATTR, access)
    return fn


async def _authenticated(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    return actor


async def _public() -> None:
    return None


mark_access = _mark  # for the page dependencies of jatigi.web.pages
authenticated = _mark(_authenticated, AUTHENTICATED)
public = _mark(_public, PUBLIC)


@cache
def require(permission: Permission) -> Callable[..., Any]:
    """A dependency that returns the acting user if they hold `permission`, else answers 403."""

    async def dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        actor.require(permission)
        return actor

    dependency.__name__ = f"require_{permission.name.lower()}"
    return _mark(dependency, permission)


@dataclass(frozen=True)
class AccessRule:
    method: str
    path: str
    access: Permission | str  # a Permission, AUTHENTICATED or PUBLIC

    @property
    def permission(self) -> Permission | None:
        return self.access if isinstance(self.access, Permission) else None


def _declared(dependant: Dependant) -> list[Permission | str]:
    found: list[Permission | str] = []
    for dep in dependant.dependencies:
        access = getattr(dep.call, _ACCESS_ATTR, None)
        if access is not None:
            found.append(access)
        found.extend(_declared(dep))
    return found


def access_rules(app: FastAPI) -> list[AccessRule]:
    """Every API route with the access it declares; raises if a route declares none or several.

    Reads the app's own routes and those of the routers it included with `include_api_router`
    (each with its prefix), through public attributes only.
    """
    candidates: list[tuple[str, BaseRoute]] = [("", r) for r in app.router.routes]
    for prefix, router in getattr(app.state, "api_routers", []):
        candidates.extend((prefix, r) for r in router.routes)
    rules: list[AccessRule] = []
    for prefix, route in candidates:
        if not isinstance(route, APIRoute):
            continue
        methods = sorted(route.methods or ())
        declared = set(_declared(route.dependant))
        if len(declared) != 1:
            raise RuntimeError(
                f"Route {methods} {route.path} must declare exactly one of "
                f"require(...), authenticated or public; it declares {sorted(map(str, declared))}."
            )
        access = declared.pop()
        for method in methods:
            rules.append(AccessRule(method, prefix + route.path, access))
    return rules


def include_api_router(app: FastAPI, router: APIRouter, prefix: str) -> None:
    """Include a domain's router and remember it, so that `access_rules` can list its routes."""
    app.include_router(router, prefix=prefix)
    if not hasattr(app.state, "api_routers"):
        app.state.api_routers = []
    app.state.api_routers.append((prefix, router))
