"""The web application: HTML pages for people, the JSON API under /api/v1 for integrations.

No Swagger or ReDoc pages: they load scripts from a CDN, and Jatigi runs offline. The OpenAPI
document is at /api/v1/openapi.json for integrations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jatigi.core.errors import JatigiError, Unauthorized
from jatigi.core.i18n import LANGUAGES, N_, _, normalise_language, use_language
from jatigi.web.admission import ADMITTED, AdmissionMiddleware
from jatigi.web.deps import access_rules, include_api_router, public
from jatigi.web.pages import LoginRequired, SecurityHeadersMiddleware

STATIC = Path(__file__).resolve().parent / "static"

API_PREFIX = "/api/v1"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # imports: a large Kobo export fits
MAX_BODY_BYTES = 5 * 1024 * 1024  # any other request
UPLOAD_PATHS = frozenset({API_PREFIX + "/imports", "/imports", "/admin/places"})
# Uploads under a record's path: a provider's report, monitoring interviews, a list of households to enrol.
# Pages (the cycle's "reconcile" and "import monitoring interviews" forms, the programme's "enrol from a
# list" form) and the API alike.
UPLOAD_PATTERN = re.compile("(?:" + re.escape(API_PREFIX) + r")?/assistance/(cycles/[^/]+/(?:reconcile|pdm)|"
                            r"programmes/[^/]+/enrolments/upload|programmes/[^/]+/enrol/list)")


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
        headers = dict(scope.get("headers") or [])
        chosen = _cookie(headers.get(b"cookie", b"").decode("latin-1"), "jatigi_lang")
        header = headers.get(b"accept-language", b"").decode("latin-1")
        lang = chosen if chosen in LANGUAGES else preferred_language(header)
        with use_language(lang):
            await self.app(scope, receive, send)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None


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
        path = scope.get("path", "").rstrip("/")
        limit = self.upload_limit if path in UPLOAD_PATHS or UPLOAD_PATTERN.fullmatch(path) else self.body_limit
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            exc = self._too_large(limit)
            if path.startswith(API_PREFIX):
                await JSONResponse({"detail": exc.detail}, status_code=413)(scope, receive, send)
            else:
                await _error_page(Request(scope), 413, str(exc.detail))(scope, receive, send)
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


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


_GENERIC_TITLE = N_("Something went wrong")
_ERROR_TITLES = {401: N_("Log-in needed"), 403: N_("Not allowed"), 404: N_("Not found"),
                 409: N_("Changed meanwhile"), 413: N_("Too large"), 422: N_("Not accepted")}


def _error_page(request: Request, status_code: int, message: str) -> Response:
    from jatigi.web.templating import render

    title = _(_ERROR_TITLES.get(status_code, _GENERIC_TITLE))
    # An htmx request gets the message alone, swapped where the answer was expected.
    template = "error_fragment.html" if request.headers.get("hx-request") else "error.html"
    return render(request, template, status_code=status_code, title=title, message=message)


def _jatigi_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JatigiError)
    if not _is_api(request):
        return _error_page(request, exc.status_code, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)


def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = exc.target  # the log-in page, or the second factor's (SecondFactorRequired)
    if request.headers.get("hx-request"):
        # htmx follows this header with a full page load, not a swap of a fragment.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_api(request) or request.url.path.startswith("/static/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    message = _("There is no such page.") if exc.status_code == 404 else str(exc.detail)
    return _error_page(request, exc.status_code, message)


# ---- request validation: Pydantic's errors as the app's own problems, in the user's language --

_WHERE = ("body", "query", "path", "header", "cookie")
_SHOWN_VALUE = 80

# Pydantic error type → the kind of value that was expected (translated where shown).
_KINDS: dict[str, str] = {
    **dict.fromkeys(("string_type", "string_unicode", "string_sub_type"), N_("string")),
    **dict.fromkeys(("int_type", "int_parsing", "int_parsing_size", "int_from_float"), N_("integer")),
    **dict.fromkeys(("float_type", "float_parsing", "decimal_type", "decimal_parsing", "finite_number"),
                    N_("number")),
    **dict.fromkeys(("bool_type", "bool_parsing"), N_("boolean")),
    **dict.fromkeys(("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact",
                     "date_past", "date_future"), N_("date")),
    **dict.fromkeys(("datetime_type", "datetime_parsing", "datetime_object_invalid",
                     "datetime_from_date_parsing"), N_("date and time")),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"), N_("list")),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "dataclass_type",
                     "mapping_type"), N_("object")),
}


def _place(error: Mapping[str, Any], body: Any) -> tuple[str, str | None]:
    """Where an error is: the dotted place in the request without where it came from (body,
    query…), and the place of the union whose member failed, if one did.

    Pydantic adds the member of a union it tried (`str`, `int`, `list[str]`…) to the location;
    those are dropped by following the location through the body that was sent.
    """
    loc = list(error.get("loc") or ())
    if not loc or loc[0] not in _WHERE:
        return ".".join(str(part) for part in loc), None
    where, rest = loc[0], loc[1:]
    if where != "body":
        return ".".join(str(part) for part in rest), None
    parts: list[str] = []
    union: str | None = None
    current = body
    for i, part in enumerate(rest):
        if isinstance(current, Mapping) and isinstance(part, str) and part in current:
            current = current[part]
        elif (isinstance(current, Sequence) and not isinstance(current, str | bytes)
              and isinstance(part, int) and 0 <= part < len(current)):
            current = current[part]
        elif not (i == len(rest) - 1 and error.get("type") == "missing"):
            # A union member's tag, or a position in a body that is not JSON.
            if union is None and isinstance(part, str):
                union = ".".join(parts)
            continue
        parts.append(str(part))
    return ".".join(parts), union


def _shown_value(error: Mapping[str, Any], column: str) -> str:
    if error.get("type") in ("missing", "json_invalid") or "password" in column.rpartition(".")[2]:
        return ""  # nothing was given, or a secret
    value = error.get("input")
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= _SHOWN_VALUE else text[:_SHOWN_VALUE] + "…"


def _accepted(expected: Any) -> str:
    """Pydantic's "'a', 'b' or 'c'" as "'a', 'b', 'c'": the "or" would stay English."""
    text = str(expected)
    head, sep, last = text.rpartition(" or ")
    return f"{head}, {last}" if sep else text


def _message(error: Mapping[str, Any]) -> str | None:
    """The translated message for an error other than a wrong type; None for a wrong type."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This value is required.")
    if kind in _KINDS:
        return None
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind == "json_invalid":
        loc = error.get("loc") or ()
        position = loc[-1] if loc and isinstance(loc[-1], int) else 0
        return _("The request body is not valid JSON (at character {position}).", position=position)
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return _("Unknown choice; accepted: {accepted}.", accepted=_accepted(ctx["expected"]))
    if kind == "string_too_long" and "max_length" in ctx:
        return _("At most {n} characters.", n=ctx["max_length"])
    if kind == "string_too_short" and "min_length" in ctx:
        return _("At least {n} characters.", n=ctx["min_length"])
    if kind == "too_long" and "max_length" in ctx:
        return _("At most {n} items.", n=ctx["max_length"])
    if kind == "too_short" and "min_length" in ctx:
        return _("At least {n} items.", n=ctx["min_length"])
    if kind == "greater_than" and "gt" in ctx:
        return _("Must be greater than {limit}.", limit=ctx["gt"])
    if kind == "greater_than_equal" and "ge" in ctx:
        return _("Must be at least {limit}.", limit=ctx["ge"])
    if kind == "less_than" and "lt" in ctx:
        return _("Must be less than {limit}.", limit=ctx["lt"])
    if kind == "less_than_equal" and "le" in ctx:
        return _("Must be at most {limit}.", limit=ctx["le"])
    return _("Not accepted here.")


def _wrong_kind(kinds: list[str]) -> str:
    names = [_(k) for k in dict.fromkeys(kinds)]
    shown = names[0] if len(names) == 1 else _("{first} or {last}", first=", ".join(names[:-1]), last=names[-1])
    return _("Not a valid {kind}.", kind=shown)


def validation_problems(errors: Sequence[Mapping[str, Any]], body: Any = None) -> list[dict[str, Any]]:
    """Pydantic's errors as problems {sheet, row, column, value, message}, one per place.

    A value that matches no member of a union gives an error per member. Where the value had the
    shape of a member and failed inside it (a list with a number among its texts), only that is
    told; otherwise the errors make one problem: a missing value, a broken rule, else the kinds
    of value accepted.
    """
    placed = [(error, *_place(error, body)) for error in errors]
    failed_inside = {union for _e, column, union in placed if union is not None and column != union}
    grouped: dict[str, list[tuple[Mapping[str, Any], str | None]]] = {}
    for error, column, union in placed:
        if union in failed_inside and column == union and error.get("type") in _KINDS:
            continue
        grouped.setdefault(column, []).append((error, _message(error)))
    problems = []
    for column, group in grouped.items():
        told = [(error, message) for error, message in group if message is not None]
        if told:
            error, message = told[0]
        else:
            error, message = group[0][0], _wrong_kind([_KINDS[str(e["type"])] for e, _m in group])
        problems.append({"sheet": "request", "row": 1, "column": column, "value": _shown_value(error, column),
                         "message": message})
    return problems


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    # Runs where the route would have: in the language of the signed-in user, else the client's.
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc.errors(), exc.body)
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(problems)),
                         "problem_count": len(problems), "problems": problems}, status_code=422)


def _page_routers() -> list[APIRouter]:
    from jatigi.accounts.admin_views import router as admin_pages
    from jatigi.accounts.views import router as accounts_pages
    from jatigi.analytics.views import router as dashboard_pages
    from jatigi.assistance.complaint_views import router as complaint_pages
    from jatigi.assistance.views import router as assistance_pages
    from jatigi.dedup.views import router as dedup_pages
    from jatigi.places.views import router as places_pages
    from jatigi.protection.views import routers as protection_pages
    from jatigi.registry.import_views import router as import_pages
    from jatigi.registry.member_views import router as member_pages
    from jatigi.registry.views import router as registry_pages
    from jatigi.targeting.assessment_views import router as assessment_pages
    from jatigi.targeting.explain_views import router as explain_pages
    from jatigi.targeting.model_views import router as targeting_model_pages
    from jatigi.targeting.run_views import router as run_pages

    return [accounts_pages, dashboard_pages, registry_pages, member_pages, import_pages, admin_pages, places_pages,
            dedup_pages, targeting_model_pages, assessment_pages, run_pages, explain_pages, complaint_pages,
            assistance_pages, *protection_pages]


def create_app(*, max_upload_bytes: int = MAX_UPLOAD_BYTES, max_body_bytes: int = MAX_BODY_BYTES,
               admit: int = ADMITTED) -> FastAPI:
    from jatigi.accounts.api import router as accounts_router
    from jatigi.assistance.api import routers as assistance_routers
    from jatigi.assistance.complaint_api import router as complaints_router
    from jatigi.dedup.api import router as dedup_router
    from jatigi.places.api import router as places_router
    from jatigi.protection.api import routers as protection_routers
    from jatigi.registry.api import router as registry_router
    from jatigi.targeting.assessment_api import router as assessment_router
    from jatigi.targeting.model_api import router as targeting_models_router
    from jatigi.targeting.run_api import router as targeting_runs_router

    app = FastAPI(
        title="Jatigi",
        version=_version(),
        summary="Registry, protection and assistance for displaced people and their hosts.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(JatigiError, _jatigi_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for pages in _page_routers():
        include_api_router(app, pages, "")  # recorded, so that access_rules walks pages too

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
                "duplicates": f"{API_PREFIX}/dedup/pairs",
                "targeting_models": f"{API_PREFIX}/targeting/models",
                "targeting_runs": f"{API_PREFIX}/targeting/runs",
                "complaints": f"{API_PREFIX}/complaints",
                "assistance_programmes": f"{API_PREFIX}/assistance/programmes",
                "assistance_providers": f"{API_PREFIX}/assistance/providers",
                "assistance_coverage": f"{API_PREFIX}/assistance/coverage",
                "protection_cases": f"{API_PREFIX}/protection/cases",
                "protection_referrals": f"{API_PREFIX}/protection/referrals",
                "protection_services": f"{API_PREFIX}/protection/services",
                "protection_tracing": f"{API_PREFIX}/protection/tracing",
                "protection_monitoring": f"{API_PREFIX}/protection/monitoring",
                "protection_statistics": f"{API_PREFIX}/protection/statistics",
            },
        }

    for router in (accounts_router, registry_router, places_router, dedup_router, targeting_models_router,
                   assessment_router, targeting_runs_router, complaints_router, *assistance_routers,
                   *protection_routers):
        include_api_router(app, router, API_PREFIX)

    # Middleware added last runs first: the body limit needs the language for its message.
    app.add_middleware(BodyLimitMiddleware, upload_limit=max_upload_bytes, body_limit=max_body_bytes)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    # Compressed answers: pages and the map's shapes travel over slow mobile links.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # Outermost: a request waits for its turn before anything else is done for it.
    app.add_middleware(AdmissionMiddleware, limit=admit)
    access_rules(app)  # fails now, not in production, if a route declares no access rule
    return app
