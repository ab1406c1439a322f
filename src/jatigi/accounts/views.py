"""Log-in (a password, then for case work a code from an authenticator app), log-out and the
language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jatigi.accounts import service, totp
from jatigi.accounts.models import User
from jatigi.accounts.sessions import (
    IDLE,
    IDLE_SECOND_FACTOR,
    LIFETIME,
    close_session,
    find_session,
    give_second_factor,
    open_session,
)
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.db import after_reading
from jatigi.core.errors import Unauthorized
from jatigi.core.i18n import normalise_language, set_language
from jatigi.web.deps import SessionDep, client_ip, public
from jatigi.web.pages import (
    CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    anonymous_csrf,
    check_csrf,
    page_authenticated,
    set_cookie,
    verify_csrf,
)
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never send a user elsewhere after log-in (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(request: Request, next_url: str, error: str | None = None, username: str = "",
                status_code: int = 200) -> HTMLResponse:
    token = anonymous_csrf(request)
    response = render(request, "accounts/login.html", status_code=status_code, next_url=next_url, error=error,
                      username=username, idle_hours=int(IDLE.total_seconds() // 3600))
    set_cookie(response, request, CSRF_COOKIE, token)
    return response


@router.get("/login", dependencies=[Depends(public)])
def login_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    if find_session(session=session, token=request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)  # already signed in
    return _login_page(request, safe_next(next))


@router.post("/login", dependencies=[Depends(public)])
def login(request: Request, session: SessionDep, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/",
          csrf_token: Annotated[str, Form()] = "") -> Response:
    # Before log-in there is no session: the form's token must match the CSRF cookie.
    verify_csrf(csrf_token, request.cookies.get(CSRF_COOKIE, ""))
    try:
        user = service.authenticate(session=session, username=username, password=password, ip=client_ip(request))
    except Unauthorized as exc:
        # The failed attempt is counted and audited even though the page is shown again.
        session.commit()
        return _login_page(request, safe_next(next), error=exc.message, username=username, status_code=401)
    opened = open_session(session=session, user=user, ip=client_ip(request))
    permissions = service.permissions_of(session=session, user_id=user.id)
    target = safe_next(next)
    if target == "/" and Permission.REGISTRY_SUMMARY_READ not in permissions and (
            Permission.PROTECTION_CASE_WRITE in permissions):
        target = "/protection"  # the dashboard is the registry's: a caseworker starts from her cases
    if totp.needs_second_factor(permissions):
        # The session is open with a password only: case work waits for the code.
        if totp.is_enrolled(user):
            target = "/login/totp?next=" + quote(target, safe="/")
        else:
            totp.pending_secret(session=session, user=user)
            target = "/login/totp/setup?next=" + quote(target, safe="/")
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, opened.token, max_age=int(LIFETIME.total_seconds()))
    set_cookie(response, request, LANG_COOKIE, user.language, max_age=365 * 86400)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


# ---- the second factor -------------------------------------------------------------------------


def _pending_user(request: Request, session: SessionDep, actor: Actor) -> User | None:
    """The signed-in user if this session still owes its second factor, else None."""
    if not getattr(request.state, "pending_second_factor", False):
        return None
    return session.get(User, actor.user_id)


def _code_page(request: Request, next_url: str, *, error: str | None = None, status_code: int = 200,
               secret: str | None = None, username: str = "") -> HTMLResponse:
    minutes = int(IDLE_SECOND_FACTOR.total_seconds() // 60)
    if secret is None:
        return render(request, "accounts/login_totp.html", status_code=status_code, next_url=next_url, error=error,
                      idle_minutes=minutes)
    uri = totp.provisioning_uri(secret, username)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/login_totp_setup.html", status_code=status_code, next_url=next_url,
                  error=error, secret=grouped, qr=totp.qr_data_uri(uri), idle_minutes=minutes)


@router.get("/login/totp")
def totp_form(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(page_authenticated)],
              next: str | None = None) -> Response:
    user = _pending_user(request, session, actor)
    if user is None:
        return RedirectResponse(safe_next(next), status_code=303)
    if not totp.is_enrolled(user):
        return RedirectResponse("/login/totp/setup?next=" + quote(safe_next(next), safe="/"), status_code=303)
    return _code_page(request, safe_next(next))


@router.post("/login/totp", dependencies=[Depends(check_csrf)])
def totp_answer(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(page_authenticated)],
                code: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    user = _pending_user(request, session, actor)
    if user is None:
        return RedirectResponse(safe_next(next), status_code=303)
    if not totp.is_enrolled(user):
        return RedirectResponse("/login/totp/setup?next=" + quote(safe_next(next), safe="/"), status_code=303)
    try:
        totp.verify_code(session=session, user=user, code=code, ip=client_ip(request))
    except Unauthorized as exc:
        session.commit()  # the failure counts towards the lock-out
        return _code_page(request, safe_next(next), error=exc.message, status_code=401)
    give_second_factor(session=session, token=request.cookies.get(SESSION_COOKIE))
    audit.record(session, actor, "user.login_second_factor", "user", user.id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/login/totp/setup")
def totp_setup_form(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(page_authenticated)],
                    next: str | None = None) -> Response:
    user = _pending_user(request, session, actor)
    if user is None:
        return RedirectResponse(safe_next(next), status_code=303)
    if totp.is_enrolled(user):
        return RedirectResponse("/login/totp?next=" + quote(safe_next(next), safe="/"), status_code=303)
    secret = totp.secret_of(user)
    if secret is None:
        # Roles changed since the log-in: make the secret now (a reading request writes after its reads).
        secret = totp.new_secret()
        sealed, user_id = keyring().seal(secret), user.id
        after_reading(session, lambda s: s.execute(
            sa.update(User).where(User.id == user_id, User.totp_sealed.is_(None)).values(totp_sealed=sealed)))
    return _code_page(request, safe_next(next), secret=secret, username=user.username)


@router.post("/login/totp/setup", dependencies=[Depends(check_csrf)])
def totp_setup_answer(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(page_authenticated)],
                      code: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    user = _pending_user(request, session, actor)
    if user is None:
        return RedirectResponse(safe_next(next), status_code=303)
    if totp.is_enrolled(user):
        return RedirectResponse("/login/totp?next=" + quote(safe_next(next), safe="/"), status_code=303)
    try:
        totp.confirm(session=session, user=user, code=code, ip=client_ip(request))
    except Unauthorized as exc:
        session.commit()
        secret = totp.secret_of(user) or ""
        return _code_page(request, safe_next(next), error=exc.message, status_code=401, secret=secret,
                          username=user.username)
    give_second_factor(session=session, token=request.cookies.get(SESSION_COOKIE))
    audit.record(session, actor, "user.login_second_factor", "user", user.id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: SessionDep, actor: Annotated[Actor, Depends(page_authenticated)]) -> Response:
    close_session(session=session, token=request.cookies.get(SESSION_COOKIE), actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", dependencies=[Depends(public), Depends(check_csrf)])
def switch_language(request: Request, session: SessionDep, lang: Annotated[str, Form()] = "fr",
                    next: Annotated[str, Form()] = "/") -> Response:
    """Remembered for the signed-in user, and in a cookie for the browser."""
    chosen = normalise_language(lang)
    found = find_session(session=session, token=request.cookies.get(SESSION_COOKIE))
    if found is not None:
        found[1].language = chosen
    set_language(chosen)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, LANG_COOKIE, chosen, max_age=365 * 86400)
    return response
