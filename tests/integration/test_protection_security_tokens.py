"""Case work through an API token or the command line needs the user's own code, at the time:
a token made without it does no case work (even after a role change), an administrator cannot
mint one for a caseworker, and `--as`/JATIGI_USER alone does not open a case."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.accounts.models import ApiToken
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope, utcnow
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import totp_code

JATIGI = str(Path(sys.executable).with_name("jatigi"))
CASES = "/api/v1/protection/cases"


def second_factor_env(username: str) -> dict[str, str]:
    """JATIGI_TOTP_CODE for a command run as this user, if they work on protection cases."""
    with session_scope() as s:
        enrolled = totp.is_enrolled(accounts.user_by_name(session=s, username=username))
    return {"JATIGI_TOTP_CODE": totp_code(username)} if enrolled else {}


@pytest.fixture
def team(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "root", "PA", role="admin")
        f.user(s, "reg.a", "PA", role="registration_officer")


def _get(client: TestClient, token: str, path: str = CASES) -> int:
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_made_before_case_work_does_none(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        old = f.token(s, "reg.a")
        accounts.set_user_roles(session=s, actor=SYSTEM, user_id=accounts.user_by_name(session=s, username="reg.a").id,
                                roles=["caseworker"])
        f.enrol_totp(s, accounts.user_by_name(session=s, username="reg.a"))
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        assert _get(client, old) == 403  # a case work route refuses the old token
        assert _get(client, old, "/api/v1/me") == 200  # other work goes on
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).json()
        assert not any(p.startswith("protection:case") for p in me["permissions"])
        made = client.post("/api/v1/tokens", json={"username": "reg.a", "password": f.PASSWORD,
                                                   "totp_code": totp_code("reg.a")})
        assert made.status_code == 201 and made.json()["second_factor"] is True
        lasts = made.json()["expires_at"]
        assert _get(client, made.json()["token"]) == 200
    with session_scope(engine) as s:
        row = s.scalar(sa.select(ApiToken).where(ApiToken.prefix == made.json()["token"][:10]))
        assert row is not None and row.second_factor_at is not None and row.expires_at is not None
        assert row.expires_at <= utcnow() + timedelta(hours=12, minutes=1)  # asked 30 days, got 12 hours
        assert lasts.startswith(row.expires_at.isoformat()[:16])


def test_a_caseworkers_token_with_a_code_works(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        made = f.token(s, "cw.a")
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        assert _get(client, made) == 200


def _users_token(*args: str, user: str = "root") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JATIGI_USER": user, "NO_COLOR": "1", "COLUMNS": "250"}
    env.pop("JATIGI_TOTP_CODE", None)
    return subprocess.run([JATIGI, "--lang", "en", "users", "token", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_an_administrator_cannot_mint_a_caseworkers_token(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        cw = accounts.user_by_name(session=s, username="cw.a")
        with pytest.raises(Exception, match="needs the present code"):
            accounts.create_token(session=s, actor=f.actor(s, "root"), user=cw, name="x")
    refused = _users_token("cw.a")
    assert refused.returncode == 1
    assert "cw.a works on protection cases: a token for them needs the present code" in refused.stderr
    wrong = _users_token("cw.a", "--code", "000000" if totp_code("cw.a") != "000000" else "111111")
    assert wrong.returncode == 1 and "Wrong or expired code" in wrong.stderr
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
        assert accounts.user_by_name(session=s, username="cw.a").failed_logins == 1  # the wrong code counts
    made = _users_token("cw.a", "--code", totp_code("cw.a"))
    assert made.returncode == 0, made.stderr
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        assert _get(client, made.stdout.strip()) == 200
    plain = _users_token("reg.a")  # no case work: no code asked
    assert plain.returncode == 0, plain.stderr
    with session_scope(engine) as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "token.create")
                          .order_by(AuditEvent.id)).first()
        assert event is not None and event.actor == "root"


def _cases(*args: str, user: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JATIGI_USER": user, "NO_COLOR": "1", "COLUMNS": "250"}
    env.pop("JATIGI_TOTP_CODE", None)
    if code:
        env["JATIGI_TOTP_CODE"] = code
    return subprocess.run([JATIGI, "--lang", "en", "protection", "cases", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def _case_events(engine: sa.Engine) -> list[str]:
    with session_scope(engine) as s:
        return list(s.scalars(sa.select(AuditEvent.actor).where(AuditEvent.action.like("protection.case.%"))))


def test_acting_as_a_caseworker_needs_their_code(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        code = pf.case(s, f.actor(s, "cw.a"), f.actor(s, "sup.a")).code
    bare = _cases("show", code, user="cw.a")
    assert bare.returncode == 1
    assert "cw.a works on protection cases: without the code of their authenticator app" in bare.stderr
    assert "JATIGI_TOTP_CODE" in bare.stderr
    assert "Aminata" not in bare.stdout
    wrong = _cases("show", code, user="cw.a", code="12345")
    assert wrong.returncode == 1 and "Wrong or expired code" in wrong.stderr
    assert _case_events(engine) == []  # neither reached the case
    shown = _cases("show", code, "--show-name", user="cw.a", code=totp_code("cw.a"))
    assert shown.returncode == 0, shown.stderr
    assert code in shown.stdout and "Aminata" in shown.stdout
    assert set(_case_events(engine)) == {"cw.a"}
