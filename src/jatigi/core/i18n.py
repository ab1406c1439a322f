"""Translation: English message ids, French the default language.

Messages live in `locales/<lang>/LC_MESSAGES/messages.po`; they are read directly with Babel,
so there is no compile step. `_()` translates into the language of the current context
(`use_language`), which the CLI sets from `--lang`/`JATIGI_LANG` and the web from the user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
_LOCALES = Path(__file__).parent / "locales"
_current: ContextVar[str] = ContextVar("jatigi_language", default=DEFAULT_LANGUAGE)


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, str]:
    path = _LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string}


def normalise_language(lang: str | None) -> str:
    lang = (lang or DEFAULT_LANGUAGE).strip().lower()[:2]
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get()


def set_language(lang: str | None) -> None:
    _current.set(normalise_language(lang))


@contextmanager
def use_language(lang: str | None) -> Iterator[None]:
    token = _current.set(normalise_language(lang))
    try:
        yield
    finally:
        _current.reset(token)


def gettext(msgid: str, /, **values: object) -> str:
    """Translate `msgid` and fill its `{named}` placeholders."""
    lang = _current.get()
    text = msgid if lang == "en" else catalogue(lang).get(msgid, msgid)
    return text.format(**values) if values else text


_ = gettext


def N_(msgid: str) -> str:
    """Mark a string for translation where it is defined; translate it where it is shown."""
    return msgid


@lru_cache(maxsize=4)
def _locale(lang: str) -> Locale:
    # Parsed once: Babel would otherwise parse the locale name again for every number and date.
    return Locale.parse(lang)


def number(value: int | float) -> str:
    """A number as people of the current language write it: 12 345 in French, 12,345 in English."""
    return format_decimal(value, locale=_locale(_current.get()))


def day(value: object) -> str:
    """A date as people of the current language write it: 20 oct. 2013 / Oct 20, 2013."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    return format_date(value, format="medium", locale=_locale(_current.get()))


def money(value: int | float | None) -> str:
    """An amount in CFA francs, e.g. 25 000 FCFA."""
    if value is None:
        return "—"
    return f"{number(value)}\u00a0FCFA"
