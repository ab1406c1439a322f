"""The master key file: `jatigi keys check` and `rotate`, `jatigi serve` refusing a wrong or missing
file, and a clear 503 (never plaintext) when a page meets a key file that does not match."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.core import envelope
from jatigi.core.audit import AuditEvent
from jatigi.core.config import get_settings
from jatigi.core.db import session_scope
from jatigi.protection.models import ProtectionCase
from jatigi.protection.sealing import open_json, opened_key
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import login

JATIGI = str(Path(sys.executable).with_name("jatigi"))


def jatigi(*args: str, key_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JATIGI_KEY_FILE": str(key_file), "NO_COLOR": "1", "COLUMNS": "250"}
    env.pop("JATIGI_USER", None)
    return subprocess.run([JATIGI, "--lang", "en", *args], capture_output=True, text=True, env=env, timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def case_code(engine: sa.Engine) -> str:
    with session_scope(engine) as s:
        team = pf.team(s)
        return pf.case(s, team.caseworker, team.supervisor, name="Mariam Kanouté").code


@pytest.fixture
def own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "own.key"
    shutil.copyfile(get_settings().key_file, copy)
    monkeypatch.setenv("JATIGI_KEY_FILE", str(copy))
    envelope.forget_verified()
    return copy


def test_keys_check_accepts_the_right_file(case_code: str, own_key: Path) -> None:
    proc = jatigi("keys", "check", key_file=own_key)
    assert proc.returncode == 0, proc.stderr
    assert "matches this database: master keys 1" in proc.stdout and "Master key 1: 1 data keys" in proc.stdout


def test_a_wrong_key_file_stops_check_and_serve(case_code: str, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.key"
    wrong.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    check = jatigi("keys", "check", key_file=wrong)
    assert check.returncode == 1 and "does not hold the master key this database was sealed with" in check.stderr
    serve = jatigi("serve", "--port", str(_free_port()), key_file=wrong)
    assert serve.returncode == 1 and "does not hold the master key" in serve.stderr
    assert "Traceback" not in serve.stderr


def test_a_missing_key_file_stops_check_and_serve(case_code: str, tmp_path: Path) -> None:
    missing = tmp_path / "gone.key"
    check = jatigi("keys", "check", key_file=missing)
    assert check.returncode == 1 and "is missing" in check.stderr
    serve = jatigi("serve", "--port", str(_free_port()), key_file=missing)
    assert serve.returncode == 1 and "is missing" in serve.stderr
    assert not missing.exists()  # never a silently new key


def test_keys_rotate_rewraps_under_key_2_and_cases_still_open(engine: sa.Engine, case_code: str,
                                                               own_key: Path) -> None:
    with session_scope(engine) as s:
        assert envelope.master_ring(s).current == 1  # this process knows key 1 only, as a server would
    proc = jatigi("keys", "rotate", key_file=own_key)
    assert proc.returncode == 0, proc.stderr
    assert "Master key 2 added; 1 data keys re-wrapped" in proc.stdout
    assert set(envelope.read_key_file(own_key)) == {1, 2}
    check = jatigi("keys", "check", key_file=own_key)
    assert "master keys 1, 2" in check.stdout and "Master key 2: 1 data keys" in check.stdout
    with session_scope(engine) as s:  # the running process reads the key file again by itself
        assert set(s.scalars(sa.select(envelope.DataKey.master_key_id))) == {2}
        case = s.scalar(sa.select(ProtectionCase).where(ProtectionCase.code == case_code))
        assert case is not None
        assert open_json(opened_key(s, case), "person_sealed", case.person_sealed)["name"] == "Mariam Kanouté"
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "keys.rotate"))
        assert event is not None and event.actor == "system" and event.detail == {"rewrapped": 1}


def test_a_page_meeting_a_wrong_key_file_answers_503_without_plaintext(
        engine: sa.Engine, case_code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as s:
        token = f.token(s, "cw.a")
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        login(client, "cw.a")
        wrong = tmp_path / "wrong.key"
        envelope.write_key_file(wrong, {1: secrets.token_bytes(32)})
        monkeypatch.setenv("JATIGI_KEY_FILE", str(wrong))
        envelope.forget_verified()
        page = client.get(f"/protection/cases/{case_code}")
        assert page.status_code == 503
        assert "does not hold the master key" in page.text and "Mariam" not in page.text
        api = client.get(f"/api/v1/protection/cases/{case_code}", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 503
        assert "does not hold the master key" in api.json()["detail"] and "Mariam" not in api.text
    envelope.forget_verified()
