"""Users, passwords, lockout, tokens and data-sharing agreements."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from jatigi.accounts import service
from jatigi.accounts.models import User
from jatigi.core.authz import SYSTEM, Permission
from jatigi.core.errors import Forbidden, Unauthorized, ValidationFailed

PASSWORD = "mot-de-passe-solide"


@pytest.fixture
def orgs(session):  # type: ignore[no-untyped-def]
    a = service.create_organisation(session=session, actor=SYSTEM, acronym="UNHCR", name="UNHCR", kind="un_agency")
    b = service.create_organisation(session=session, actor=SYSTEM, acronym="AMSS", name="AMSS", kind="nngo")
    return a, b


def test_password_is_hashed_with_argon2_and_checked(session, orgs) -> None:
    user = service.create_user(session=session, actor=SYSTEM, username="Awa.Traore", full_name="Awa Traoré",
                               org_acronym="UNHCR", password=PASSWORD, roles=["im_officer"])
    assert user.username == "awa.traore"
    assert user.password_hash.startswith("$argon2") and PASSWORD not in user.password_hash
    assert service.authenticate(session=session, username="AWA.TRAORE", password=PASSWORD).id == user.id
    with pytest.raises(Unauthorized):
        service.authenticate(session=session, username="awa.traore", password="wrong-password")


def test_six_failures_lock_the_account_even_for_the_right_password(session, orgs) -> None:
    service.create_user(session=session, actor=SYSTEM, username="moussa", full_name="Moussa",
                        org_acronym="AMSS", password=PASSWORD, roles=["viewer"])
    for _ in range(6):
        with pytest.raises(Unauthorized):
            service.authenticate(session=session, username="moussa", password="nope-nope-nope")
    with pytest.raises(Unauthorized, match="locked"):
        service.authenticate(session=session, username="moussa", password=PASSWORD)


def test_short_password_unknown_role_and_unknown_org_are_refused(session, orgs) -> None:
    with pytest.raises(ValidationFailed, match="10 characters"):
        service.create_user(session=session, actor=SYSTEM, username="x", full_name="x", org_acronym="AMSS",
                            password="short", roles=["viewer"])
    with pytest.raises(ValidationFailed, match="Unknown role"):
        service.create_user(session=session, actor=SYSTEM, username="x", full_name="x", org_acronym="AMSS",
                            password=PASSWORD, roles=["king"])
    with pytest.raises(Exception, match="No organisation"):
        service.create_user(session=session, actor=SYSTEM, username="x", full_name="x", org_acronym="NOPE",
                            password=PASSWORD, roles=["viewer"])


def test_viewer_cannot_add_users(session, orgs) -> None:
    viewer = service.create_user(session=session, actor=SYSTEM, username="v", full_name="V", org_acronym="AMSS",
                                 password=PASSWORD, roles=["viewer"])
    actor = service.actor_for(session=session, user=viewer)
    assert not actor.can(Permission.ACCOUNTS_USER_WRITE)
    with pytest.raises(Forbidden):
        service.create_user(session=session, actor=actor, username="w", full_name="W", org_acronym="AMSS",
                            password=PASSWORD, roles=["admin"])


def test_token_is_shown_once_and_only_its_hash_is_kept(session, orgs) -> None:
    user = service.create_user(session=session, actor=SYSTEM, username="t", full_name="T", org_acronym="AMSS",
                               password=PASSWORD, roles=["viewer"])
    token = service.create_token(session=session, actor=SYSTEM, user=user, name="laptop")
    assert service.user_for_token(session=session, token=token).id == user.id
    stored = session.execute(sa.text("SELECT token_hash FROM api_tokens")).scalar()
    assert token not in stored
    with pytest.raises(Unauthorized):
        service.user_for_token(session=session, token=token + "x")


def test_agreement_opens_the_providers_households_for_its_period(session, orgs) -> None:
    unhcr, amss = orgs
    assert service.visible_org_ids(session=session, org_id=unhcr.id) == {unhcr.id}
    dsa = service.create_agreement(session=session, actor=SYSTEM, provider="AMSS", recipient="UNHCR",
                                   purpose="Cash assistance 2014", signed_on=date(2014, 1, 10),
                                   valid_until=date.today() + timedelta(days=30))
    assert service.visible_org_ids(session=session, org_id=unhcr.id) == {unhcr.id, amss.id}
    # One way only: the provider does not see the recipient's households.
    assert service.visible_org_ids(session=session, org_id=amss.id) == {amss.id}
    assert service.visible_org_ids(session=session, org_id=unhcr.id,
                                   on=date.today() + timedelta(days=31)) == {unhcr.id}
    service.revoke_agreement(session=session, actor=SYSTEM, agreement_id=dsa.id)
    assert service.visible_org_ids(session=session, org_id=unhcr.id) == {unhcr.id}


def test_user_table_has_no_plaintext_password(session, orgs) -> None:
    service.create_user(session=session, actor=SYSTEM, username="p", full_name="P", org_acronym="AMSS",
                        password=PASSWORD, roles=["viewer"])
    assert all(PASSWORD not in (u.password_hash or "") for u in session.scalars(sa.select(User)))
