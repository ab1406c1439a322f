"""Opening a case at intake: sealed person, contact safety and summary; random codes; the age group
from the age; the supervisor chosen or defaulted; the household linked only if one may see it;
every bad field named with its value and what is accepted, and nothing written."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Forbidden
from jatigi.protection import cases
from jatigi.protection.models import ProtectionCase
from tests import factories as f
from tests import protection_factories as pf

CODE = re.compile(r"CAS-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}")
SV = re.compile(r"SV-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}")
TODAY = date(2026, 11, 29)


def new_case(**overrides: object) -> cases.NewCase:
    values: dict[str, object] = {"case_type": "gbv", "sex": "f", "summary": "Agressée en allant au puits.",
                                 "area_pcode": f.BAMAKO_COMMUNE_IV, "given_name": "Mariam", "family_name": "Coulibaly",
                                 "age": "24", "phone": "+223 76 00 11 22", "address": "Sogoniko, rue 12",
                                 "may_call": "no", "call_when": "jamais le soir", "ask_for": "Tantie Awa"}
    values.update(overrides)
    return cases.NewCase(**values)  # type: ignore[arg-type]


@pytest.fixture
def team(session: Session) -> pf.Team:
    return pf.team(session)


def test_open_a_case_seals_the_person_and_derives_the_age_group(session: Session, team: pf.Team) -> None:
    case = cases.open_case(session, team.caseworker, new_case(), today=TODAY)
    assert CODE.fullmatch(case.code) and SV.fullmatch(case.survivor_code)
    assert (case.state, case.stage, case.risk_level, case.age_group, case.sex) == ("open", "intake", "medium",
                                                                                   "18-59", "f")
    assert case.caseworker_id == team.caseworker.user_id and case.supervisor_id == team.supervisor.user_id
    row = session.execute(sa.text("SELECT person_sealed, contact_sealed, summary_sealed FROM protection_cases "
                                  "WHERE id = :id"), {"id": case.id}).one()
    stored = " ".join(str(v) for v in row)
    for secret in ("Mariam", "Coulibaly", "76 00 11 22", "Sogoniko", "Tantie", "puits"):
        assert secret not in stored
    view = cases.view_case(session, team.caseworker, case.code, reveal_name=True)
    assert view.person["given_name"] == "Mariam" and view.person["age"] == 24
    assert view.contact == {"may_call": False, "call_when": "jamais le soir", "ask_for": "Tantie Awa", "notes": ""}
    assert view.summary == "Agressée en allant au puits."
    opened = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "protection.case.open")).one()
    assert opened.entity_type == "protection_case" and "Mariam" not in str(opened.detail)


@pytest.mark.parametrize(("age", "born", "group"), [("8", None, "0-11"), ("15", None, "12-17"), ("", "1950-01-01",
                                                                                                 "60+"),
                                                     ("", None, "unknown")])
def test_age_group(session: Session, team: pf.Team, age: str, born: str | None, group: str) -> None:
    case = cases.open_case(session, team.caseworker, new_case(age=age, birth_date=born), today=TODAY)
    assert case.age_group == group


def test_every_bad_field_is_named_with_its_value_and_nothing_is_written(session: Session, team: pf.Team) -> None:
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.open_case(session, team.caseworker, new_case(case_type="theft", sex="x", age="two hundred",
                                                           area_pcode="ML999999", may_call="", risk_level="urgent",
                                                           summary="", household="HH-NOPE", supervisor="cw2.a",
                                                           birth_date="31/02/2020"), today=TODAY)
    found = dict(caught.value.problems)
    assert "theft" in found["case_type"] and "gbv, child_protection, tracing, general" in found["case_type"]
    assert "x" in found["sex"] and "f, m, unknown" in found["sex"]
    assert "two hundred" in found["age"]
    assert "ML999999" in found["area_pcode"]
    assert "yes, no" in found["may_call"]
    assert "urgent" in found["risk_level"] and "critical" in found["risk_level"]
    assert found["summary"] == "Required."
    assert "HH-NOPE" in found["household"]
    assert "cw2.a" in found["supervisor"] and "sup.a" in found["supervisor"]
    assert "31/02/2020" in found["birth_date"]
    assert "Type of case" in caught.value.message
    assert session.scalar(sa.select(sa.func.count()).select_from(ProtectionCase)) == 0


def test_supervisor_default_and_choice(session: Session, team: pf.Team) -> None:
    f.user(session, "sup2.a", "PA", role="protection_supervisor")
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.open_case(session, team.caseworker, new_case(), today=TODAY)
    assert "Choose the supervisor" in dict(caught.value.problems)["supervisor"]
    case = cases.open_case(session, team.caseworker, new_case(supervisor="sup2.a"), today=TODAY)
    assert case.supervisor_id == f.actor(session, "sup2.a").user_id


def test_a_supervisor_does_not_supervise_their_own_case(session: Session, team: pf.Team) -> None:
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.open_case(session, team.supervisor, new_case(), today=TODAY)
    assert "no other protection supervisor" in dict(caught.value.problems)["supervisor"]


def test_only_case_workers_open_cases(session: Session, team: pf.Team) -> None:
    f.user(session, "admin.a", "PA", role="admin")
    with pytest.raises(Forbidden):
        cases.open_case(session, f.actor(session, "admin.a"), new_case(), today=TODAY)


def test_household_link_only_when_visible(session: Session, team: pf.Team) -> None:
    f.user(session, "reg.a", "PA", role="registration_officer")
    f.user(session, "reg.b", "PB", role="registration_officer")
    own = f.household(session, f.actor(session, "reg.a"))
    other = f.household(session, f.actor(session, "reg.b"))
    case = cases.open_case(session, team.caseworker, new_case(household=own.lower()), today=TODAY)
    assert case.household_id is not None
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.open_case(session, team.caseworker, new_case(household=other), today=TODAY)
    assert dict(caught.value.problems)["household"] == f"No household {other} that you may see."
