"""Text keys for search: lower case, no accents, single spaces."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+")


def _fold_table() -> dict[int, str]:
    """Latin letters with diacritics mapped to their base letters, built once."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii():
            table[code] = base
    return table


_FOLD = _fold_table()


def name_key(value: str | None) -> str:
    """`Keïta` → `keita`, `N'Diaye` → `n diaye`: what name search compares. Letters of other
    scripts (Arabic, Tifinagh) are kept, lower-cased where the script has case."""
    if not value:
        return ""
    folded = value.translate(_FOLD)
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    lowered = folded.lower()
    if lowered.isalnum():
        return lowered
    return _NON_WORD.sub(" ", lowered).strip()
