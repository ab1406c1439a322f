"""Fixes from the review of case work: only the caseworker requests closure and nobody approves a
closure they requested; open plan actions and open referrals are listed and must be confirmed; the
same consent submitted twice is refused; intake codes accepted whatever their case, oui/non too."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Conflict, Forbidden
from jatigi.protection import case_work, cases, incidents, referrals
from jatigi.protection.models import Consent, ProtectionCase
from tests import factories as f
from tests import protection_factories as pf

TODAY = date.today()


@pytest.fixture
def team(session: Session) -> pf.Team:
    return pf.team(session)


@pytest.fixture
def gbv(session: Session, team: pf.Team) -> ProtectionCase:
    return pf.case(session, team.caseworker, team.supervisor)


def test_only_the_caseworker_requests_closure(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    with pytest.raises(Forbidden, match="Only the caseworker"):
        case_work.request_closure(session, team.supervisor, gbv.code, "goals_met")
    assert gbv.state == "open"
    case_work.request_closure(session, team.caseworker, gbv.code, "goals_met")
    case_work.approve_closure(session, team.supervisor, gbv.code)
    assert gbv.state == "closed"


def test_nobody_approves_a_closure_they_requested(session: Session, team: pf.Team) -> None:
    f.user(session, "sup2.a", "PA", role="protection_supervisor")
    sup2 = f.actor(session, "sup2.a")
    own = cases.open_case(session, sup2, cases.NewCase(case_type="general", sex="m", summary="Menacé.",
                                                       area_pcode=f.MOPTI_COMMUNE, may_call="yes",
                                                       supervisor="sup.a"))
    case_work.request_closure(session, sup2, own.code, "goals_met")
    # The case changes hands while the request waits: sup2 now supervises it.
    case_work.reassign(session, team.supervisor, own.code, "cw.a")
    own.supervisor_id = sup2.user_id
    session.flush()
    with pytest.raises(Forbidden, match="You requested the closure"):
        case_work.approve_closure(session, sup2, own.code)
    assert own.state == "closure_requested"


def test_open_items_are_listed_and_must_be_confirmed(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    plan = case_work.add_entry(session, team.caseworker, gbv.code, "plan", "Accompagner au CSRéf.",
                               service_type="medical", due_on=TODAY.isoformat())
    case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="PB")
    referral = referrals.send_referral(session, team.caseworker, gbv,
                                       referrals.NewReferral(organisation="PB", service_type="legal"))
    items = case_work.open_items(session, gbv)
    assert [(i.kind, i.ref) for i in items] == [("plan", str(plan.id)), ("referral", referral.code)]
    assert "Accompagner" not in " ".join(i.description for i in items)
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.request_closure(session, team.caseworker, gbv.code, "goals_met")
    ((field, message),) = caught.value.problems
    assert field == "confirm_open_items"
    assert "2 items are still open" in message and "Medical" in message and referral.code in message
    assert "PB: sent, waiting for an answer" in message
    assert gbv.state == "open"
    case_work.complete_entry(session, team.caseworker, gbv.code, plan.id)
    assert [i.kind for i in case_work.open_items(session, gbv)] == ["referral"]
    case_work.request_closure(session, team.caseworker, gbv.code, "goals_met", confirm_open_items=True)
    assert gbv.state == "closure_requested"
    detail = session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "protection.case.closure_request"))
    assert detail is not None and detail["open_items"] == 1


def test_no_open_items_needs_no_confirmation(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    assert case_work.open_items(session, gbv) == []
    case_work.request_closure(session, team.caseworker, gbv.code, "moved")
    assert gbv.state == "closure_requested"


def test_the_same_consent_twice_is_refused(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    first = case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="PB")
    with pytest.raises(Conflict, match="already recorded"):
        case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="pb")
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 1
    # Another organisation, another giver, or after a withdrawal: recorded.
    case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="PA")
    case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="PB",
                           given_by="caregiver")
    case_work.withdraw_consent(session, team.caseworker, gbv.code, first.id)
    case_work.give_consent(session, team.caseworker, gbv.code, purpose="services")
    with pytest.raises(Conflict):
        case_work.give_consent(session, team.caseworker, gbv.code, purpose="services")
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 4


def test_codes_whatever_their_case_and_oui_non(session: Session, team: pf.Team) -> None:
    case = cases.open_case(session, team.caseworker, cases.NewCase(
        case_type="GBV", sex="F", summary="Menacée.", area_pcode=f.MOPTI_COMMUNE, may_call="oui", risk_level="High",
        supervisor="sup.a"))
    assert (case.case_type, case.sex, case.risk_level) == ("gbv", "f", "high")
    assert cases.view_case(session, team.caseworker, case.code).contact["may_call"] is True
    other = cases.open_case(session, team.caseworker, cases.NewCase(
        case_type="general", sex="M", summary="Menacé.", area_pcode=f.MOPTI_COMMUNE, may_call="NON"))
    assert cases.view_case(session, team.caseworker, other.code).contact["may_call"] is False
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.open_case(session, team.caseworker, cases.NewCase(
            case_type="gbv", sex="x", summary="Menacée.", area_pcode=f.MOPTI_COMMUNE, may_call="peut-être"))
    assert {name for name, _m in caught.value.problems} == {"sex", "may_call"}
    incident = incidents.record_incident(session, team.caseworker, case.code, incidents.NewIncident(
        incident_type="Rape", incident_month=TODAY.isoformat()[:7], disability="Oui"))
    assert incident.incident_type == "rape" and incident.disability is True
    given = case_work.give_consent(session, team.caseworker, case.code, purpose="Services", given_by="Survivor")
    assert (given.purpose, given.given_by) == ("services", "survivor")
