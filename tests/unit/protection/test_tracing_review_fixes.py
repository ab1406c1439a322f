"""Fixes from the review of family tracing: a person sought without a birth year is still proposed
when the names agree exactly (and the page says why), never a different name; dates written
DD/MM/YYYY are accepted as on the case forms."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from jatigi.protection import tracing, tracing_match
from tests import protection_factories as pf
from tests.unit.protection.test_tracing_matching import _new, registry


def test_exact_names_without_birth_year_are_proposed(session: Session) -> None:
    team = pf.team(session)
    registry(session)
    request = tracing.create_request(session, team.caseworker, _new(sought_given_name="Mamadou",
                                                                    sought_birth_year=""))
    detail = tracing.request_detail(session, team.caseworker, request.code)
    people = [c for c in detail.candidates if c.kind == "person"]
    assert [(c.given_name, c.family_name) for c in people] == [("Mamadou", "Traore")]
    assert people[0].probability < tracing.DEFAULT_THRESHOLD  # the names rule proposed it, not the score
    assert people[0].by_name_rule and people[0].state == "proposed"
    # Mohamed is not Mahmoud, even without a birth year; nor is a woman of the same names.
    other = tracing.create_request(session, team.caseworker, _new(sought_given_name="Mohamed", sought_birth_year="",
                                                                  inquirer_given_name="Sali"))
    assert [c for c in tracing.request_detail(session, team.caseworker, other.code).candidates
            if c.kind == "person"] == []
    woman = tracing.create_request(session, team.caseworker, _new(sought_given_name="Mamadou", sought_sex="f",
                                                                  sought_birth_year="", inquirer_given_name="Sali"))
    assert [c for c in tracing.request_detail(session, team.caseworker, woman.code).candidates
            if c.kind == "person"] == []


def test_the_names_rule_needs_an_unknown_birth_year() -> None:
    sought = {"given_name": "Mamadou", "family_name": "Traoré", "sex": "m"}
    found = {"given_name": "Mahamadou", "family_name": "Trawore", "sex": None, "birth_year": 1988}
    assert tracing_match.proposed_by_names(sought, found)
    assert not tracing_match.proposed_by_names({**sought, "birth_year": 1990}, found)
    assert not tracing_match.proposed_by_names({**sought, "age": 30}, found)
    assert not tracing_match.proposed_by_names(sought, {**found, "given_name": "Mahmoud"})
    assert not tracing_match.proposed_by_names({"given_name": "Mamadou", "sex": "m"}, found)


def test_dates_as_on_the_case_forms(session: Session) -> None:
    team = pf.team(session)
    request = tracing.create_request(session, team.caseworker, _new(separated_on="01/02/2024",
                                                                    last_seen_on="15/01/2024"))
    assert request.separated_on == date(2024, 2, 1)
    detail = tracing.request_detail(session, team.caseworker, request.code)
    assert detail.sought["last_seen_on"] == date(2024, 1, 15)
    try:
        tracing.create_request(session, team.caseworker, _new(separated_on="31/02/2024", sought_sex="M"))
    except tracing.TracingInvalid as exc:
        assert [name for name, _m in exc.problems] == ["separated_on"]
        assert "DD/MM/YYYY" in exc.problems[0][1]
    else:
        raise AssertionError("an impossible date was accepted")
