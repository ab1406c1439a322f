"""The printable cash-in-hand distribution list: one section per distribution site, a line per
recipient with a column to sign or thumb-print, the total of each site and of the cycle.

Rendered from `templates/assistance/distribution_list.html` by WeasyPrint, with local fonts
(DejaVu) and no network: the URL fetcher refuses anything but local files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from jatigi.core import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS_FILE = TEMPLATES / "assistance" / "distribution_list.css"


@dataclass
class Group:
    """The lines of one distribution site."""

    site: str
    pcode: str
    rows: list[list[Any]] = field(default_factory=list)
    total: int = 0


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(_=i18n.gettext, number=i18n.number, money=i18n.money, day=i18n.day)
    return env


def html(context: dict[str, Any]) -> str:
    return _environment().get_template("assistance/distribution_list.html").render(
        lang=i18n.current_language(), **context)


def write(path: Path, *, columns: list[dict[str, str]], groups: list[Group], programme: Any, cycle: Any,
          period: str, provider: str, user: str, printed_on: date) -> None:
    """Render the list to a PDF file at `path`."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("file",))
    text = html({"columns": columns, "groups": groups, "programme": programme, "cycle": cycle, "period": period,
                 "provider": provider, "user": user, "printed_on": i18n.day(printed_on),
                 "lines": sum(len(g.rows) for g in groups), "total": sum(g.total for g in groups)})
    HTML(string=text, base_url=str(TEMPLATES), url_fetcher=fetcher).write_pdf(
        str(path), stylesheets=[CSS(filename=str(CSS_FILE), url_fetcher=fetcher)])
