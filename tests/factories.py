"""Test data built through the services, as the application itself would build it.

Places come from the built-in Mali gazetteer; organisations and users are created by the
system account; households go through `registry.service.create_household`, so they are
sealed, counted and audited like real ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.accounts.models import Organisation, User
from jatigi.core.authz import SYSTEM, Actor
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.places.service import load_gazetteer
from jatigi.registry import service as registry
from jatigi.registry.records import ConsentRecord, HouseholdRecord, MovementRecord, PersonRecord

# The real Argon2 parameters are meant to slow an attacker down, not a test suite: a cheap
# hasher keeps each user at a millisecond. Verification reads the parameters from the hash.
accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "correct horse battery"
ROLES = ("admin", "im_officer", "registration_officer", "cash_officer", "protection_focal_point", "caseworker",
         "protection_supervisor", "viewer")
BAMAKO_COMMUNE_IV = "ML090104"
MOPTI_COMMUNE = "ML050109"
DOUENTZA = "ML050606"


def places(session: Session) -> None:
    load_gazetteer(session=session)


def org(session: Session, acronym: str, kind: str = "nngo") -> Organisation:
    return accounts.create_organisation(session=session, actor=SYSTEM, acronym=acronym,
                                        name=f"Organisation {acronym}", kind=kind)


# Users whose roles need a second factor (case work) are enrolled with this TOTP secret, already
# confirmed: tests/web.py `login()` answers the code step with it.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def user(session: Session, username: str, org_acronym: str, role: str = "im_officer",
         language: str = "en") -> User:
    created = accounts.create_user(session=session, actor=SYSTEM, username=username, full_name=username.title(),
                                   org_acronym=org_acronym, password=PASSWORD, roles=[role], language=language)
    if totp.needs_second_factor(accounts.permissions_of(session=session, user_id=created.id)):
        enrol_totp(session, created)
    return created


def enrol_totp(session: Session, user: User, secret: str = TOTP_SECRET) -> None:
    """Enrol a user in two-factor sign-in with a known secret, as if they had confirmed it."""
    user.totp_sealed = keyring().seal(secret)
    user.totp_confirmed_at = utcnow()
    user.totp_last_step = None
    session.flush()


def actor(session: Session, username: str, ip: str | None = "127.0.0.1") -> Actor:
    return accounts.actor_for(session=session, user=accounts.user_by_name(session=session, username=username),
                              ip=ip)


def token(session: Session, username: str) -> str:
    """An API token; for case work made with the user's code, as the service requires."""
    u = accounts.user_by_name(session=session, username=username)
    code = None
    if totp.needs_second_factor(accounts.permissions_of(session=session, user_id=u.id)) and totp.is_enrolled(u):
        code = totp_code_now(session, u)
    return accounts.create_token(session=session, actor=SYSTEM, user=u, name="test", days=1, totp_code=code)


def totp_code_now(session: Session, user: User) -> str:
    """A code the app accepts now for an enrolled user (the next step if the present one was used;
    if both were used, the last step used is forgotten — a shortcut of the tests alone)."""
    secret = totp.secret_of(user)
    assert secret, f"{user.username} has no TOTP secret"
    present = totp.current_step()
    step = present if user.totp_last_step is None else max(present, user.totp_last_step + 1)
    if step > present + totp.WINDOW:
        user.totp_last_step = present - 1
        step = present
    return totp.code_at(secret, step)


def household_record(**overrides: object) -> HouseholdRecord:
    """A displaced, female-headed household of three in Bamako: a mother and two children,
    one of whom has a lot of difficulty walking."""
    record = HouseholdRecord(
        population_group="idp",
        current_pcode=BAMAKO_COMMUNE_IV,
        living_arrangement="renting",
        registered_on=date(2024, 5, 2),
        address="Près du marché de Lafiabougou",
        origin_pcode=DOUENTZA,
        displacement_date=date(2023, 11, 20),
        arrival_date=date(2023, 12, 5),
        households_in_dwelling=3,
        monthly_rent_xof=25_000,
        rent_arrears_xof=50_000,
        intention="stay",
        priority_needs=["shelter", "food"],
        phone="76 12 34 56",
        enumerator="Fatoumata Coulibaly",
        consents=[ConsentRecord("registration", True), ConsentRecord("data_sharing", True),
                  ConsentRecord("referral", True), ConsentRecord("contact", True),
                  ConsentRecord("tracing", True)],
        members=[
            PersonRecord(1, "Aminata", "Maïga", "f", "head", date(1985, 3, 1), phone="66 55 44 33"),
            PersonRecord(2, "Moussa", "Maïga", "m", "child", date(2015, 6, 10), wg={"walking": 3}),
            PersonRecord(3, "Kadidia", "Maïga", "f", "child", date(2018, 1, 15)),
        ],
        movements=[MovementRecord("displaced", date(2023, 11, 20), DOUENTZA, BAMAKO_COMMUNE_IV)],
    )
    return replace(record, **overrides)  # type: ignore[arg-type]


def household(session: Session, by: Actor, **overrides: object) -> str:
    return registry.create_household(session=session, actor=by, record=household_record(**overrides))


def household_body(**overrides: object) -> dict[str, object]:
    """The JSON body of POST /api/v1/households for a valid household."""
    body: dict[str, object] = {
        "enumerator": "Fatoumata Coulibaly",
        "consents": {"registration": True, "data_sharing": True, "referral": False, "contact": True,
                     "tracing": True},
        "population_group": "idp",
        "current_pcode": BAMAKO_COMMUNE_IV,
        "origin_pcode": DOUENTZA,
        "displacement_date": "2023-11-20",
        "living_arrangement": "renting",
        "monthly_rent_xof": 20000,
        "priority_needs": ["shelter", "food"],
        "phone": "76 00 11 22",
        "members": [
            {"given_name": "Oumar", "family_name": "Touré", "sex": "m", "relationship": "head",
             "birth_date": "1980-02-01"},
            {"given_name": "Fanta", "family_name": "Touré", "sex": "f", "relationship": "spouse", "age": 35,
             "wg_seeing": 4},
        ],
        "separated_relatives": [
            {"name": "Ibrahim Touré", "relationship": "child", "sex": "m", "age": 16,
             "last_known_pcode": DOUENTZA, "whereabouts": "Parti vers Gao en 2023"},
        ],
    }
    body.update(overrides)
    return body
