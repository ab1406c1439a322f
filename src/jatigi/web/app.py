"""The web application: the JSON API under /api/v1 (HTML pages come later).

No Swagger or ReDoc pages: they load scripts from a CDN, and Jatigi runs offline. The OpenAPI
document is at /api/v1/openapi.json for integrations.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jatigi.core.errors import JatigiError, Unauthorized
from jatigi.core.i18n import LANGUAGES, _, normalise_language, use_language
from jatigi.web.deps import access_rules, include_api_router, public

API_PREFIX = "/api/v1"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # imports: a large Kobo export fits
MAX_BODY_BYTES = 5 * 1024 * 1024  # any other request


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("jatigi")
    except Exception:  # not installed as a distribution
        return "0"


def preferred_language(header: str | None) -> str:
    """The first language of Accept-Language that Jatigi speaks, by quality; else French."""
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower()[:2]
        if lang in LANGUAGES and q > 0:
            choices.append((-q, i, lang))
    return min(choices)[2] if choices else normalise_language(None)


class LanguageMiddleware:
    """Messages in the language the client asks for, until a signed-in user's own applies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"accept-language", b"").decode("latin-1")
        with use_language(preferred_language(header)):
            await self.app(scope, receive, send)


class BodyTooLarge(StarletteHTTPException):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over a limit: uploads to /imports get more room than the rest.

    Checked against Content-Length before reading, and counted while reading for a body that
    comes without one.
    """

    def __init__(self, app: ASGIApp, upload_limit: int, body_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.body_limit = body_limit

    def _too_large(self, limit: int) -> BodyTooLarge:
        return BodyTooLarge(413, _("The request is too large: at most {mb} MB is accepted.",
                                   mb=f"{limit / (1024 * 1024):g}"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.upload_limit if path.rstrip("/") == API_PREFIX + "/imports" else self.body_limit
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            exc = self._too_large(limit)
            await JSONResponse({"detail": exc.detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._too_large(limit)
            return message

        await self.app(scope, counted, send)


def _jatigi_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JatigiError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


def create_app(*, max_upload_bytes: int = MAX_UPLOAD_BYTES, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    from jatigi.accounts.api import router as accounts_router
    from jatigi.places.api import router as places_router
    from jatigi.registry.api import router as registry_router

    app = FastAPI(
        title="Jatigi",
        version=_version(),
        summary="Registry, protection and assistance for displaced people and their hosts.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(JatigiError, _jatigi_error)

    @app.get("/", include_in_schema=False, dependencies=[Depends(public)])
    def root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/", status_code=307)

    @app.get(f"{API_PREFIX}/", tags=["index"], dependencies=[Depends(public)])
    def index() -> dict[str, Any]:
        return {
            "name": "Jatigi",
            "version": app.version,
            "description": _("Registry, protection and assistance for displaced people and their hosts."),
            "links": {
                "openapi": f"{API_PREFIX}/openapi.json",
                "token": f"{API_PREFIX}/tokens",
                "me": f"{API_PREFIX}/me",
                "households": f"{API_PREFIX}/households",
                "imports": f"{API_PREFIX}/imports",
                "summary": f"{API_PREFIX}/registry/summary",
                "places": f"{API_PREFIX}/places",
                "agreements": f"{API_PREFIX}/agreements",
            },
        }

    for router in (accounts_router, registry_router, places_router):
        include_api_router(app, router, API_PREFIX)

    # Middleware added last runs first: the body limit needs the language for its message.
    app.add_middleware(BodyLimitMiddleware, upload_limit=max_upload_bytes, body_limit=max_body_bytes)
    app.add_middleware(LanguageMiddleware)
    access_rules(app)  # fails now, not in production, if a route declares no access rule
    return app
