"""`jatigi --help` speaks French by default and English with `--lang en` or JATIGI_LANG=en.

Help texts are translated when the command is loaded, so these tests run the real command in a
fresh process, as a person at a terminal does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).parent / "jatigi"


def _run(*args: str, lang: str | None = None, code: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "JATIGI_LANG"}
    if lang is not None:
        env["JATIGI_LANG"] = lang
    env["COLUMNS"] = "200"  # no wrapping in the middle of the phrases looked for
    if code is not None:
        command = [sys.executable, "-c", code, *args]
    elif _SCRIPT.exists():
        command = [str(_SCRIPT), *args]
    else:
        command = [sys.executable, "-c", "from jatigi.cli.main import app; app(prog_name='jatigi')", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


FRENCH = ("Importer des ménages", "Langue des messages", "Schéma de la base de données")
ENGLISH = ("Import households", "Language of messages", "Database schema")


def test_the_help_is_in_french_by_default() -> None:
    out = _run("--help")
    assert all(text in out for text in FRENCH), out
    assert not any(text in out for text in ENGLISH), out


@pytest.mark.parametrize("args,lang", [(("--lang", "en"), None), (("--lang=en",), None), ((), "en")])
def test_the_help_is_in_english_with_lang_en_or_jatigi_lang(args: tuple[str, ...], lang: str | None) -> None:
    out = _run(*args, "--help", lang=lang)
    assert all(text in out for text in ENGLISH), out
    assert not any(text in out for text in FRENCH), out


def test_lang_on_the_command_line_wins_over_jatigi_lang() -> None:
    assert "Importer des ménages" in _run("--lang", "fr", "--help", lang="en")


def test_a_command_help_and_its_options_follow_the_language() -> None:
    fr = _run("import", "--help")
    assert "Importer des ménages ; par défaut" in fr
    assert "Écrire les ménages valides, signaler les autres." in fr
    assert "Agir en tant que cet utilisateur" in fr
    en = _run("--lang", "en", "import", "--help")
    assert "Import households; by default a file with any problem writes nothing." in en
    assert "Write the valid households, report the others." in en


# Every command, group, argument and option of `jatigi`, with its help text, as JSON.
_HELP_TEXTS = """
import json
import typer.main
from jatigi.cli.main import app

def walk(cmd, path):
    out = {path: cmd.help or ""}
    assert getattr(cmd, "rich_markup_mode", None) is None, path
    for param in cmd.params:
        out[f"{path} {param.name}"] = getattr(param, "help", None) or ""
    for name, sub in getattr(cmd, "commands", {}).items():
        out.update(walk(sub, f"{path} {name}"))
    return out

print(json.dumps(walk(typer.main.get_command(app), "jatigi")))
"""

# Help texts that read the same in both languages: lists of codes.
_SAME_IN_BOTH = {"jatigi users add role"}


def test_every_help_text_is_given_and_translated() -> None:
    fr = json.loads(_run(code=_HELP_TEXTS))
    en = json.loads(_run("--lang", "en", code=_HELP_TEXTS))
    assert fr.keys() == en.keys() and len(fr) > 60
    assert not [where for where, text in en.items() if not text], "help texts missing"
    untranslated = sorted(where for where in en if fr[where] == en[where] and where not in _SAME_IN_BOTH)
    assert not untranslated, untranslated
    assert fr["jatigi import"].startswith("Importer des ménages")
    assert en["jatigi import"].startswith("Import households")
