"""`jatigi targeting models` as a user runs it: list, show, check a file, save a new version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.core.db import session_scope
from jatigi.targeting.tables import ModelVersion
from tests import factories as f
from tests.web import count_rows

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([JATIGI, "--lang", lang, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def people(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.user(s, "iris", "ONGA", "im_officer")
        f.user(s, "rose", "ONGA", "registration_officer")


def test_list_show_edit_check_and_save(people: None, engine: sa.Engine, tmp_path: Path) -> None:
    listed = jatigi("targeting", "models", "list", "--as", "rose")
    assert listed.returncode == 0, listed.stderr
    assert "food_security" in listed.stdout and "Protection vulnerability" in listed.stdout
    assert "shipped with Jatigi" in listed.stdout and "not used" in listed.stdout

    shown = jatigi("targeting", "models", "show", "protection")
    assert shown.returncode == 0 and shown.stdout.startswith("# Protection vulnerability")
    assert 'id = "protection"\nversion = 1\n' in shown.stdout

    model = tmp_path / "protection.toml"
    model.write_text(shown.stdout.replace("version = 1", "version = 2").replace("crowding >= 3", "crowdng >= 3"),
                     encoding="utf-8")
    checked = jatigi("targeting", "models", "check", str(model))
    assert checked.returncode == 1
    assert f"{model}: Line 76, column 9, criteria[11].when: " in checked.stderr and "crowdng" in checked.stderr
    refused = jatigi("targeting", "models", "save", str(model), "--as", "iris")
    assert refused.returncode == 1 and "1 problems: nothing was saved." in refused.stderr
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0

    model.write_text(model.read_text(encoding="utf-8").replace("crowdng", "crowding"), encoding="utf-8")
    assert jatigi("targeting", "models", "check", str(model)).stdout.strip().endswith("no problem; it can be saved.")
    saved = jatigi("targeting", "models", "save", str(model), "--note", "Reviewed in Mopti", "--as", "iris")
    assert saved.returncode == 0, saved.stderr
    assert "Saved: protection version 2." in saved.stdout
    again = jatigi("targeting", "models", "save", str(model), "--as", "iris")
    assert again.returncode == 1 and "set version = 3" in again.stderr

    first = jatigi("targeting", "models", "show", "protection", "--version", "1")
    assert "version = 1" in first.stdout and "This is version 1; the latest is version 2." in first.stderr
    assert "version = 2" in jatigi("targeting", "models", "show", "protection").stdout
    listed = jatigi("targeting", "models", "list")
    assert "iris" in listed.stdout


def test_a_reader_may_not_save_and_messages_come_in_french(people: None, engine: sa.Engine, tmp_path: Path) -> None:
    model = tmp_path / "m.toml"
    model.write_text(jatigi("targeting", "models", "show", "economic").stdout.replace("version = 1", "version = 2"),
                     encoding="utf-8")
    refused = jatigi("targeting", "models", "save", str(model), "--as", "rose")
    assert refused.returncode == 1 and "targeting:model:write" in refused.stderr
    unknown = jatigi("targeting", "models", "show", "nothing", lang="fr")
    assert unknown.returncode == 1 and "nothing" in unknown.stderr and "Error" not in unknown.stderr
    missing = jatigi("targeting", "models", "check", str(tmp_path / "absent.toml"))
    assert missing.returncode == 1 and "absent.toml" in missing.stderr
    helped = jatigi("targeting", "models", "--help", lang="fr")
    assert "Vérifier" in helped.stdout or "vérifier" in helped.stdout
    assert count_rows(engine, ModelVersion, ModelVersion.version == 2) == 0
