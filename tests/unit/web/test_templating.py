"""Templates translate their literal strings when compiled, per language, exactly as at render time."""

from __future__ import annotations

import pytest

from jatigi.core import i18n
from jatigi.web.templating import environment

SOURCE = ('{{ _("Households") }}|{{ _("No user {username}.", username=name) }}|{{ _(label) }}|'
          '{{ _("Log out") ~ "!" }}|{{ _ ("Log out") }}|{{ "_" }}|{% set _x = 1 %}{{ _x }}')


@pytest.mark.parametrize("lang, expected", [
    ("fr", "Ménages|Aucun utilisateur &lt;b&gt;.|Tableau de bord|Se déconnecter!|Se déconnecter|_|1"),
    ("en", "Households|No user &lt;b&gt;.|Dashboard|Log out!|Log out|_|1"),
], ids=["fr", "en"])
def test_literals_are_translated_at_compile_time_like_at_render_time(lang: str, expected: str) -> None:
    # Literals, calls with placeholders, calls on a variable, and what only looks like a call.
    with i18n.use_language(lang):
        assert environment().from_string(SOURCE).render(name="<b>", label="Dashboard") == expected


def test_each_language_compiles_its_own_text() -> None:
    with i18n.use_language("fr"):
        fr = environment().from_string('{{ _("Households") }}').render()
    with i18n.use_language("en"):
        en = environment().from_string('{{ _("Households") }}').render()
    assert (fr, en) == ("Ménages", "Households")
