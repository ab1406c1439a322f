"""The `jatigi registry`, `jatigi export` and `jatigi serve` commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.core.db import session_scope
from jatigi.registry import service
from jatigi.registry.models import Household
from jatigi.registry.records import PersonRecord
from tests import factories as f

JATIGI = str(Path(sys.executable).parent / "jatigi")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # wide enough that tables do not wrap codes
    proc = subprocess.run([JATIGI, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"jatigi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Data:
    a_codes: list[str]
    b_code: str


@pytest.fixture
def data(engine: sa.Engine) -> Data:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA")
        f.user(s, "bob", "ONGB")
        f.user(s, "vera", "ONGA", "viewer")
        alice = f.actor(s, "alice")
        a_codes = [
            f.household(s, alice),
            f.household(s, alice, population_group="host", origin_pcode=None, movements=[], intention=None),
            f.household(s, alice, current_pcode=f.MOPTI_COMMUNE, members=[
                PersonRecord(1, "Seydou", "Kanté", "m", "head", date(1960, 1, 1)),
                PersonRecord(2, "Mariam", "Kanté", "f", "spouse", date(1965, 1, 1))]),
        ]
        b_code = f.household(s, f.actor(s, "bob"), current_pcode=f.MOPTI_COMMUNE, members=[
            PersonRecord(1, "Boubacar", "Cissé", "m", "head", date(1970, 1, 1))])
    return Data(a_codes, b_code)


def test_summary_json_gives_the_numbers_of_what_the_user_may_see(data: Data) -> None:
    doc = json.loads(run("registry", "summary", "--json", "--as", "alice").stdout)
    cells = {(r["admin1_pcode"], r["population_group"]): (r["households"], r["people"], r["female_headed"])
             for r in doc["rows"]}
    assert cells == {("ML09", "idp"): (1, 3, 1), ("ML09", "host"): (1, 3, 1), ("ML05", "idp"): (1, 2, 0)}
    assert doc["total"] == {"households": 3, "people": 8, "female_headed": 2}
    assert {r["admin1_name"] for r in doc["rows"]} == {"Bamako", "Mopti"}

    everything = json.loads(run("registry", "summary", "--json").stdout)  # the system account
    assert everything["total"] == {"households": 4, "people": 9, "female_headed": 2}

    table = run("registry", "summary", "--as", "bob").stdout
    assert "ML05 Mopti" in table and "Total" in table and "Bamako" not in table


def test_search_and_show_within_what_the_user_may_see(data: Data) -> None:
    code = data.a_codes[0]
    found = run("registry", "search", "--name", "maiga", "--as", "alice").stdout
    assert code in found and "Aminata Maïga" in found and "2 of 2 households shown" in found
    assert data.b_code not in run("registry", "search", "--pcode", "ML05", "--as", "alice").stdout

    shown = run("registry", "show", code, "--as", "alice").stdout
    for expected in ("Aminata Maïga", "Moussa Maïga", "Renting", "22376123456", "Registration and assistance",
                     "Displaced"):
        assert expected in shown, expected
    refused = run("registry", "show", code, "--as", "bob", check=False)
    assert refused.returncode == 1 and f"No household {code} that you may see." in refused.stderr


def test_history_shows_each_change_from_what_to_what(data: Data, engine: sa.Engine) -> None:
    code = data.a_codes[0]
    with session_scope(engine) as s:
        service.update_household(session=s, actor=f.actor(s, "alice"), code=code,
                                 changes={"monthly_rent_xof": "32000"}, expected_version=1)
    history = run("registry", "history", code, "--as", "alice").stdout
    assert "monthly_rent_xof" in history and "25000" in history and "32000" in history and "alice" in history


def test_delete_hides_and_purge_erases_after_retention(data: Data, engine: sa.Engine) -> None:
    code = data.a_codes[0]
    deleted = run("registry", "delete", code, "--reason", "Registered twice", "--as", "alice").stdout
    assert f"Household {code} deleted" in deleted
    assert run("registry", "show", code, "--as", "alice", check=False).returncode == 1
    assert "0 deleted households erased." in run("registry", "purge").stdout

    with session_scope(engine) as s:  # the retention period runs out
        s.execute(sa.update(Household).where(Household.code == code)
                  .values(purge_after=date.today() - timedelta(days=1)))
    assert "1 deleted households erased." in run("registry", "purge").stdout
    with session_scope(engine) as s:
        assert s.scalar(sa.select(Household.id).where(Household.code == code)) is None
    assert "Audit trail intact" in run("audit", "verify").stdout


def test_export_command_writes_only_what_the_user_may_see(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "menages.hxl.csv"
    done = run("export", "households", "--format", "hxl", "--out", str(out), "--as", "alice").stdout
    assert "3 households written" in done
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("#meta+id,#org+code,#group+code,#adm1+code,#adm1+name")
    assert len(lines) == 2 + 3 and data.b_code not in out.read_text(encoding="utf-8")

    refused = run("export", "households", "--out", str(tmp_path / "v.csv"), "--as", "vera", check=False)
    assert refused.returncode == 1 and "registry:export:run" in refused.stderr
    bad = run("export", "households", "--format", "pdf", "--out", str(tmp_path / "v.pdf"), check=False)
    assert bad.returncode == 2 and "csv, xlsx, hxl" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_on_the_api_index(engine: sa.Engine, workers: str) -> None:
    port = _free_port()
    proc = subprocess.Popen([JATIGI, "--lang", "en", "serve", "--port", str(port), "--workers", workers],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=2) as resp:
                    index = json.loads(resp.read())
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert index["name"] == "Jatigi"
        if workers == "2":  # the port is taken: a second server says so instead of sharing it
            second = run("serve", "--port", str(port), "--workers", "2", check=False)
            assert second.returncode == 1 and f"Cannot listen on 127.0.0.1:{port}" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    with socket.socket() as again:  # every process stopped: nothing listens on the port any more
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_the_dashboard_counts_a_change_made_from_the_command_line_at_once(data: Data) -> None:
    """Figures are cached; a change made by another process (here the CLI) must not wait for
    the cache to expire: the counters of changes are in the database."""
    from fastapi.testclient import TestClient

    from jatigi.web.app import create_app
    from tests.web import login

    with TestClient(create_app(), base_url="http://testserver") as client:
        login(client, "alice")
        figure = re.compile(r'id="fig-households">(\d+)<')
        before = int(figure.search(client.get("/").text).group(1))  # type: ignore[union-attr]
        assert before == 3
        run("registry", "delete", data.a_codes[0], "--reason", "Registered twice", "--as", "alice")
        after = int(figure.search(client.get("/").text).group(1))  # type: ignore[union-attr]
        assert after == 2
