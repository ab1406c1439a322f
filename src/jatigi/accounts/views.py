"""Log-in, log-out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jatigi.accounts import service
from jatigi.accounts.sessions import IDLE, LIFETIME, close_session, find_session, open_session
from jatigi.core.authz import Actor
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
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, opened.token, max_age=int(LIFETIME.total_seconds()))
    set_cookie(response, request, LANG_COOKIE, user.language, max_age=365 * 86400)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


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
