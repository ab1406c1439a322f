"""`jatigi places …` run as a user runs it: a separate process on the test database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.accounts import service as accounts
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope
from tests.unit.places.cod_samples import BF_ADM0, MALI, MALI_MISSING, bf_folder, write_geojson


def jatigi(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("jatigi", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-c", "from jatigi.cli.main import app; app()"]
    # A wide terminal, so that Rich does not wrap the messages the tests read.
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([*command, "--lang", "en", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_import_a_folder_of_another_country_then_list_it(db_url: str, tmp_path: Path) -> None:
    folder = bf_folder(tmp_path / "bfa")

    done = jatigi("places", "import-dir", str(folder))

    assert done.returncode == 0, done.stderr
    assert "bfa: 8 admin units inserted, 0 updated." in done.stdout
    assert "bfa_admbnda_adm2_igb_20200323.geojson" in done.stdout

    listed = jatigi("places", "list", "--level", "2")
    assert listed.returncode == 0, listed.stderr
    for name in ("Kadiogo", "Houet", "Kenedougou", "Oudalan"):
        assert name in listed.stdout
    under = jatigi("places", "list", "--parent", "BF53")
    assert "Houet" in under.stdout and "Kadiogo" not in under.stdout

    again = jatigi("places", "import-dir", str(folder))
    assert "bfa: 0 admin units inserted, 8 updated." in again.stdout


@pytest.mark.skipif(not MALI.is_dir(), reason=MALI_MISSING)
def test_import_mali_regions_file_by_file(db_url: str) -> None:
    country = jatigi("places", "import", str(MALI / "mli_adm0.geojson"))
    regions = jatigi("places", "import", str(MALI / "mli_adm1.geojson"))

    assert country.returncode == 0 and regions.returncode == 0, country.stderr + regions.stderr
    assert "mli_adm1.geojson: 9 admin units inserted, 0 updated." in regions.stdout
    listed = jatigi("places", "list", "--level", "1")
    for name in ("Kayes", "Mopti", "Tombouctou", "Kidal", "Bamako"):
        assert name in listed.stdout
    assert "ML09" in listed.stdout


def test_a_bad_file_says_what_is_wrong_and_imports_nothing(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bfa_adm1.geojson"
    bad.write_text("<html>Session expired</html>", encoding="utf-8")

    done = jatigi("places", "import", str(bad))

    assert done.returncode == 1
    assert "Error:" in done.stderr and "bfa_adm1.geojson is not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr
    orphan = jatigi("places", "import", str(write_geojson(tmp_path / "regions.geojson", [
        {"type": "Feature", "properties": {"ADM1_PCODE": "BF13", "ADM1_FR": "Centre", "ADM0_PCODE": "BF"},
         "geometry": None}])))
    assert orphan.returncode == 1
    assert "regions.geojson, feature 1, column ADM0_PCODE" in orphan.stderr
    assert "the parent P-code 'BF'" in orphan.stderr
    # A value that looks like terminal markup is shown as it is, not interpreted.
    hostile = jatigi("places", "import", str(write_geojson(tmp_path / "x_adm1.geojson", [
        {"type": "Feature", "properties": {"ADM1_PCODE": "[/x]", "ADM1_FR": "[bold]A"}, "geometry": None}])))
    assert hostile.returncode == 1 and "Traceback" not in hostile.stderr
    assert "'[/x]' is not a P-code" in hostile.stderr
    assert "No admin units match." in jatigi("places", "list").stdout


def test_explicit_options_reach_the_importer(db_url: str, tmp_path: Path) -> None:
    country = jatigi("places", "import", str(write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0)))
    assert country.returncode == 0, country.stderr
    odd = write_geojson(tmp_path / "regions.geojson", [
        {"type": "Feature", "properties": {"CODE": "BF13", "NOM": "Centre [/b]"}, "geometry": None}])

    done = jatigi("places", "import", str(odd), "--level", "1", "--pcode-column", "CODE",
                  "--name-column", "NOM", "--country", "BF")

    assert done.returncode == 0, done.stderr
    assert "regions.geojson: 1 admin units inserted" in done.stdout
    # Names are shown as written, even what looks like terminal markup.
    assert "Centre [/b]" in jatigi("places", "list", "--parent", "BF").stdout


def test_gazetteer_loads_once(db_url: str) -> None:
    first = jatigi("places", "gazetteer")
    second = jatigi("places", "gazetteer")

    assert first.returncode == 0, first.stderr
    assert "Gazetteer loaded: 158 admin units, 158 of them new." in first.stdout
    assert "158 admin units, 0 of them new." in second.stdout
    assert "Bamako" in jatigi("places", "list", "--level", "1").stdout


def test_a_viewer_may_list_but_not_import(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        accounts.create_organisation(session=session, actor=SYSTEM, acronym="OCHA",
                                     name="OCHA Mali", kind="un_agency")
        accounts.create_user(session=session, actor=SYSTEM, username="awa", full_name="Awa Traoré",
                             org_acronym="OCHA", password="a long enough password",
                             roles=["viewer"])

    denied = jatigi("places", "import", str(write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0)),
                    "--as", "awa")
    listed = jatigi("places", "list", "--as", "awa")

    assert denied.returncode == 1
    assert "You do not have the permission places:admin_unit:write." in denied.stderr
    assert listed.returncode == 0 and "No admin units match." in listed.stdout
