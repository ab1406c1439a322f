"""Every string a person reads has a French translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

import jatigi
from jatigi.core.i18n import _, catalogue, use_language

SRC = Path(jatigi.__file__).parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _msgids() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(SRC), method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")],
        keywords={"_": None, "N_": None},
    ):
        if isinstance(message, str) and message:
            found.add(message)
    return found


def test_every_message_has_a_french_translation_with_the_same_placeholders() -> None:
    fr = catalogue("fr")
    ids = _msgids()
    assert len(ids) > 100
    missing = sorted(m for m in ids if not fr.get(m))
    assert not missing, f"{len(missing)} messages lack French: {missing[:10]}"
    wrong = sorted(m for m in ids if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(fr[m])))
    assert not wrong, f"placeholders differ: {wrong[:5]}"


def test_french_is_the_default_and_english_the_other() -> None:
    with use_language(None):
        assert _("Wrong user name or password.") == "Nom d'utilisateur ou mot de passe incorrect."
    with use_language("en"):
        assert _("Wrong user name or password.") == "Wrong user name or password."
    with use_language("fr"):
        assert _("No file {file}.", file="x.csv") == "Aucun fichier x.csv."
