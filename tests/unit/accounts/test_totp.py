"""Two-factor codes: RFC 6238, the accepted window, no code twice, failures lock the account."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.accounts.service import MAX_FAILED_LOGINS
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM, Permission
from jatigi.core.errors import Unauthorized
from tests import factories as f

# RFC 6238, appendix B: the SHA-1 secret "12345678901234567890", 8 digits; our codes are their last 6.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("at", "eight_digits"), [(59, "94287082"), (1111111109, "07081804"),
                                                   (1234567890, "89005924"), (2000000000, "69279037")])
def test_codes_follow_rfc_6238(at: int, eight_digits: str) -> None:
    assert totp.code_at(RFC_SECRET, at // 30) == eight_digits[-6:]


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    now = 1_700_000_000.0
    step = totp.current_step(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(f.TOTP_SECRET, totp.code_at(f.TOTP_SECRET, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(f.TOTP_SECRET, totp.code_at(f.TOTP_SECRET, step + offset), now) is None
    assert totp.matching_step(f.TOTP_SECRET, "12345", now) is None
    assert totp.matching_step(f.TOTP_SECRET, "abcdef", now) is None


def test_the_provisioning_uri_and_qr_code() -> None:
    uri = totp.provisioning_uri(f.TOTP_SECRET, "cw.a")
    assert uri.startswith("otpauth://totp/Jatigi:cw.a?") and "issuer=Jatigi" in uri and "period=30" in uri
    assert f"secret={f.TOTP_SECRET}" in uri
    assert totp.qr_data_uri(uri).startswith("data:image/svg+xml")


def test_case_work_needs_the_second_factor_and_other_roles_do_not() -> None:
    assert totp.needs_second_factor({str(Permission.PROTECTION_CASE_WRITE)})
    assert totp.needs_second_factor({str(Permission.PROTECTION_TRACING_WRITE), "x"})
    assert not totp.needs_second_factor({str(Permission.PROTECTION_SERVICE_READ),
                                         str(Permission.REGISTRY_HOUSEHOLD_READ)})


def test_the_secret_is_sealed_and_a_code_works_once(session: Session) -> None:
    f.org(session, "PA")
    user = f.user(session, "cw.a", "PA", role="caseworker")
    assert totp.is_enrolled(user) and f.TOTP_SECRET not in (user.totp_sealed or "")
    code = totp.code_at(f.TOTP_SECRET, totp.current_step())
    totp.verify_code(session=session, user=user, code=code)
    with pytest.raises(Unauthorized, match="Wrong or expired code"):
        totp.verify_code(session=session, user=user, code=code)
    # An earlier step than one used is refused too.
    with pytest.raises(Unauthorized):
        totp.verify_code(session=session, user=user, code=totp.code_at(f.TOTP_SECRET, totp.current_step() - 1))


def test_wrong_codes_lock_the_account_even_between_right_passwords(session: Session) -> None:
    f.org(session, "PA")
    user = f.user(session, "cw.a", "PA", role="caseworker")
    for _ in range(MAX_FAILED_LOGINS):
        accounts.authenticate(session=session, username="cw.a", password=f.PASSWORD)
        with pytest.raises(Unauthorized):
            totp.verify_code(session=session, user=user, code=totp.code_at(f.TOTP_SECRET, totp.current_step() + 5))
    with pytest.raises(Unauthorized, match="locked"):
        accounts.authenticate(session=session, username="cw.a", password=f.PASSWORD)
    failed = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "user.totp_failed"))
    assert failed == MAX_FAILED_LOGINS


def test_enrolment_needs_a_right_first_code(session: Session) -> None:
    f.org(session, "PA")
    user = f.user(session, "viewer.a", "PA", role="viewer")
    assert not totp.is_enrolled(user)
    secret = totp.pending_secret(session=session, user=user)
    assert totp.pending_secret(session=session, user=user) == secret  # the same until confirmed
    with pytest.raises(Unauthorized):
        totp.confirm(session=session, user=user, code="000000")
    assert not totp.is_enrolled(user)
    totp.confirm(session=session, user=user, code=totp.code_at(secret, totp.current_step()))
    assert totp.is_enrolled(user)


def test_an_administrator_resets_a_lost_second_factor(session: Session) -> None:
    f.org(session, "PA")
    user = f.user(session, "cw.a", "PA", role="caseworker")
    totp.reset(session=session, actor=SYSTEM, user=user)
    assert not totp.is_enrolled(user) and user.totp_sealed is None
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "user.totp_reset"))
