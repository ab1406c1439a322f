"""Two-factor sign-in for case work: the code's step, its set-up, no case work before it, the
short idle period, API tokens only with a code, an administrator's reset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.accounts.models import WebSession
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.db import session_scope, utcnow
from jatigi.web.app import create_app
from tests import factories as f
from tests import protection_factories as pf
from tests.web import csrf_of, login, totp_code

JATIGI = str(Path(sys.executable).with_name("jatigi"))
REVIEW = "/protection/audit"  # needs PROTECTION_CASE_SUPERVISE, a case work permission


@pytest.fixture
def team(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        pf.team(s)
        f.user(s, "im.a", "PA", role="im_officer")


def _password(client: TestClient, username: str, next_url: str = "/") -> str:
    page = client.get("/login")
    resp = client.post("/login", data={"username": username, "password": f.PASSWORD, "next": next_url,
                                       "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert resp.status_code == 303
    return resp.headers["location"]


def test_a_supervisor_gives_a_code_before_any_case_work(engine: sa.Engine, team: None) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        assert _password(client, "sup.a", REVIEW) == "/login/totp?next=/protection/audit"
        # With a password alone, case work pages lead to the code's page, not a refusal.
        resp = client.get(REVIEW, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/login/totp?next=/protection/audit"
        page = client.get("/login/totp?next=/protection/audit")
        assert "authenticator app" in page.text
        wrong = client.post("/login/totp", data={"code": "12345", "next": REVIEW, "csrf_token": csrf_of(page.text)})
        assert wrong.status_code == 401 and "Wrong or expired code" in wrong.text
        resp = client.post("/login/totp", data={"code": totp_code("sup.a"), "next": REVIEW,
                                                "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == REVIEW
        assert client.get(REVIEW).status_code == 200
    with session_scope(engine) as s:
        actions = list(s.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == "sup.a")
                                 .order_by(AuditEvent.id)))
    assert actions[:3] == ["user.login", "user.totp_failed", "user.login_second_factor"]


def test_a_code_is_never_accepted_twice(engine: sa.Engine, team: None) -> None:
    code = totp_code("sup.a")
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as first:
        _password(first, "sup.a")
        page = first.get("/login/totp")
        assert first.post("/login/totp", data={"code": code, "csrf_token": csrf_of(page.text)},
                          follow_redirects=False).status_code == 303
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as second:
        _password(second, "sup.a")
        page = second.get("/login/totp")
        again = second.post("/login/totp", data={"code": code, "csrf_token": csrf_of(page.text)})
        assert again.status_code == 401
        assert second.get(REVIEW, follow_redirects=False).headers["location"].startswith("/login/totp")


def test_the_first_log_in_sets_up_the_authenticator(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        totp.reset(session=s, actor=SYSTEM, user=accounts.user_by_name(session=s, username="cw.a"))
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        assert _password(client, "cw.a").startswith("/login/totp/setup")
        page = client.get("/login/totp")  # not enrolled: sent to the set-up
        assert page.url.path == "/login/totp/setup"
        assert re.search(r'<img class="totp-qr" src="data:image/svg\+xml', page.text)
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")  # type: ignore[union-attr]
        bad = client.post("/login/totp/setup", data={"code": "000000" if totp.code_at(secret, totp.current_step())
                                                     != "000000" else "111111", "csrf_token": csrf_of(page.text)})
        assert bad.status_code == 401 and secret[:4] in bad.text  # the same key shown again
        ok = client.post("/login/totp/setup", data={"code": totp.code_at(secret, totp.current_step()),
                                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert ok.status_code == 303
    with session_scope(engine) as s:
        user = accounts.user_by_name(session=s, username="cw.a")
        assert totp.is_enrolled(user) and secret not in (user.totp_sealed or "")


def test_login_helper_signs_in_the_same_user_many_times(engine: sa.Engine, team: None) -> None:
    for _ in range(5):
        with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
            login(client, "sup.a")
            assert client.get(REVIEW).status_code == 200


def test_case_work_sessions_end_after_15_idle_minutes(engine: sa.Engine, team: None) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as worker, \
            TestClient(create_app(), headers={"Accept-Language": "en"}) as officer:
        login(worker, "sup.a")
        login(officer, "im.a")
        with session_scope(engine) as s:
            s.execute(sa.update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=16)))
        resp = worker.get(REVIEW, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")
        assert officer.get("/", follow_redirects=False).status_code == 200


def test_an_api_token_for_case_work_needs_a_code(engine: sa.Engine, team: None) -> None:
    with TestClient(create_app(), headers={"Accept-Language": "en"}) as client:
        body = {"username": "cw.a", "password": f.PASSWORD}
        refused = client.post("/api/v1/tokens", json=body)
        assert refused.status_code == 401 and "totp_code" in refused.json()["detail"]
        wrong = client.post("/api/v1/tokens", json={**body, "totp_code": "12345"})
        assert wrong.status_code == 401 and "Wrong or expired code" in wrong.json()["detail"]
        made = client.post("/api/v1/tokens", json={**body, "totp_code": totp_code("cw.a")})
        assert made.status_code == 201
        plain = client.post("/api/v1/tokens", json={"username": "im.a", "password": f.PASSWORD})
        assert plain.status_code == 201


def test_an_administrator_resets_the_second_factor_from_the_command_line(engine: sa.Engine, team: None) -> None:
    with session_scope(engine) as s:
        f.user(s, "root", "PA", role="admin")
    env = {**os.environ, "JATIGI_USER": "root", "NO_COLOR": "1"}
    proc = subprocess.run([JATIGI, "--lang", "en", "users", "reset-totp", "cw.a"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "cw.a" in proc.stdout and "reset" in proc.stdout
    with session_scope(engine) as s:
        assert not totp.is_enrolled(accounts.user_by_name(session=s, username="cw.a"))
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.totp_reset"))
        assert event is not None and event.actor == "root"
