"""What every HTML page shares: the signed-in user from the session cookie, the permission the
page needs, CSRF protection of forms, security headers.

Pages declare their access like API routes (`page_require(Permission.X)`, `page_authenticated`
or `public`), so the same table of routes × permissions covers them.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jatigi.accounts.sessions import find_session
from jatigi.accounts.signin import signed_in
from jatigi.core.authz import SECOND_FACTOR_PERMISSIONS, Actor, Permission
from jatigi.core.errors import Forbidden
from jatigi.core.i18n import _, set_language
from jatigi.web.deps import AUTHENTICATED, SessionDep, client_ip, mark_access

SESSION_COOKIE = "jatigi_session"
CSRF_COOKIE = "jatigi_csrf"
LANG_COOKIE = "jatigi_lang"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class PageUser:
    username: str
    full_name: str


class LoginRequired(Exception):
    """A page needs a signed-in user: the handler sends the browser to the log-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url

    @property
    def target(self) -> str:
        return login_url(self.next_url)


class SecondFactorRequired(LoginRequired):
    """A page needs a permission its user holds only once the second factor is given: the
    handler sends the browser to the code's page, then back."""

    @property
    def target(self) -> str:
        return "/login/totp?next=" + quote(self.next_url, safe="/")


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _page_actor(request: Request, session: SessionDep) -> Actor:
    found = signed_in(session=session, token=request.cookies.get(SESSION_COOKIE), ip=client_ip(request))
    if found is None:
        raise LoginRequired(_here(request))
    actor = found.actor
    # Plain values, not the ORM object: an error page renders after the session rolled back.
    request.state.user = PageUser(actor.username, found.full_name)
    request.state.actor = actor
    request.state.csrf_token = found.csrf_token
    request.state.pending_second_factor = found.pending_second_factor
    return actor


async def page_actor(actor: Annotated[Actor, Depends(_page_actor)]) -> Actor:
    # Async so that the language set here is the one the page renders in.
    set_language(actor.language)
    return actor


async def _page_authenticated(actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    return actor


page_authenticated = mark_access(_page_authenticated, AUTHENTICATED)


@cache
def page_require(permission: Permission) -> Any:
    """A page dependency: the signed-in user if they hold `permission`, else a 403 page — or, for
    case work whose second factor is not given yet in this session, the code's page."""

    async def dependency(request: Request, actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
        if not actor.can(permission):
            if permission in SECOND_FACTOR_PERMISSIONS and getattr(request.state, "pending_second_factor", False):
                raise SecondFactorRequired(_here(request))
            raise Forbidden(_("You do not have the permission {permission}.", permission=str(permission)))
        return actor

    dependency.__name__ = f"page_require_{permission.name.lower()}"
    return mark_access(dependency, permission)


def _expected_csrf(request: Request, session: SessionDep) -> str:
    if getattr(request.state, "csrf_token", ""):
        return str(request.state.csrf_token)
    found = find_session(session=session, token=request.cookies.get(SESSION_COOKIE))
    if found is not None:
        return found[0].csrf_token
    return request.cookies.get(CSRF_COOKIE, "")


async def check_csrf(request: Request, expected: Annotated[str, Depends(_expected_csrf)]) -> None:
    """Every form post carries the session's CSRF token (or, before log-in, the CSRF cookie's)."""
    form = await request.form()
    verify_csrf(str(form.get("csrf_token") or request.headers.get("x-csrf-token") or ""), expected)


def verify_csrf(sent: str, expected: str) -> None:
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden(_("This form has expired or did not come from Jatigi; reload the page and try again."))


def anonymous_csrf(request: Request) -> str:
    """The CSRF token of a visitor not yet signed in (double-submit cookie)."""
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_token = token
    request.state.new_csrf_cookie = token != request.cookies.get(CSRF_COOKIE)
    return token


def set_cookie(response: Any, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


class SecurityHeadersMiddleware:
    """Headers on every response: no framing, no sniffing, a strict content security policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if not scope.get("path", "").startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
