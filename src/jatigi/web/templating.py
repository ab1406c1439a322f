"""Server-rendered pages: one Jinja2 environment over the templates of every domain.

Templates live in `<domain>/templates/<domain>/…` (and the layout in `web/templates/`); strings
go through the same `_()` as the code, so they share the French catalogue.

Each language has its own environment, in which `_("a literal")` is translated once, when the
template is compiled, instead of on every page: a page calls it a hundred times or more. Calls
with placeholders or a variable still translate as the page renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from jatigi.core import i18n
from jatigi.core.authz import Actor, Permission

_SRC = Path(__file__).resolve().parent.parent
DOMAINS = ("web", "accounts", "analytics", "registry", "places", "dedup", "targeting", "assistance", "protection")


_CALL = (("name", "_"), ("lparen", None), ("string", None), ("rparen", None))


def _starts_call(tokens: list[Token]) -> bool:
    """Whether these tokens begin `_("literal")`."""
    return len(tokens) <= len(_CALL) and all(
        t.type == kind and (value is None or t.value == value) for t, (kind, value) in zip(tokens, _CALL, strict=False))


class TranslateLiterals(Extension):
    """Replaces `_("text")` by the text in the environment's language, at compile time."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        lang = self.environment.jatigi_language  # type: ignore[attr-defined]
        pending: list[Token] = []
        for token in stream:
            pending.append(token)
            if _starts_call(pending):
                if len(pending) == len(_CALL):
                    with i18n.use_language(lang):
                        text = i18n.gettext(pending[2].value)
                    yield Token(pending[0].lineno, "string", text)
                    pending = []
                continue
            *done, last = pending
            yield from done
            pending = [last] if _starts_call([last]) else []
            if not pending:
                yield last
        yield from pending


def environment(lang: str | None = None) -> Environment:
    return _environment(i18n.normalise_language(lang or i18n.current_language()))


@lru_cache(maxsize=4)
def _environment(lang: str) -> Environment:
    dirs = [str(_SRC / d / "templates") for d in DOMAINS if (_SRC / d / "templates").is_dir()]
    # auto_reload off: templates are read once per process, not checked on disk at every page.
    env = Environment(loader=FileSystemLoader(dirs), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False, extensions=[TranslateLiterals])
    env.jatigi_language = lang  # type: ignore[attr-defined]
    env.globals.update(_=i18n.gettext, number=i18n.number, day=i18n.day, money=i18n.money,
                       Permission=Permission)
    return env


def nav_items(actor: Actor | None) -> list[tuple[str, str, str]]:
    """(path, label, permission) of the main menu, limited to what the user may open."""
    items = [
        ("/", i18n.N_("Dashboard"), Permission.REGISTRY_SUMMARY_READ),
        ("/households", i18n.N_("Households"), Permission.REGISTRY_HOUSEHOLD_READ),
        ("/imports", i18n.N_("Import"), Permission.REGISTRY_IMPORT_RUN),
        ("/dedup", i18n.N_("Duplicates"), Permission.DEDUP_REVIEW),
        ("/targeting", i18n.N_("Targeting"), Permission.TARGETING_RUN_READ),
        ("/assistance", i18n.N_("Assistance"), Permission.ASSISTANCE_PROGRAMME_READ),
        ("/complaints", i18n.N_("Complaints"), Permission.ASSISTANCE_COMPLAINT_WRITE),
        ("/protection", i18n.N_("Protection"), Permission.PROTECTION_CASE_WRITE),
        ("/protection/referrals", i18n.N_("Referrals"), Permission.PROTECTION_REFERRAL_RECEIVE),
        ("/protection/tracing", i18n.N_("Tracing"), Permission.PROTECTION_TRACING_WRITE),
        ("/protection/audit", i18n.N_("Access review"), Permission.PROTECTION_CASE_SUPERVISE),
        ("/protection/services", i18n.N_("Services"), Permission.PROTECTION_SERVICE_READ),
        ("/protection/statistics", i18n.N_("Protection statistics"), Permission.PROTECTION_STATISTICS_READ),
        ("/admin", i18n.N_("Administration"), Permission.ACCOUNTS_USER_READ),
    ]
    if actor is None:
        return []
    return [(path, label, str(perm)) for path, label, perm in items if actor.can(perm)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    actor: Actor | None = getattr(request.state, "actor", None)
    base = {
        "request": request,
        "lang": i18n.current_language(),
        "languages": i18n.LANGUAGES,
        "actor": actor,
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": nav_items(actor),
        "path": request.url.path,
    }
    html = environment().get_template(template).render(**base, **context)
    return HTMLResponse(html, status_code=status_code)
