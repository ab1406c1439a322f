"""Case work: stage and risk kept as transitions; entries sealed; plan actions done; GBV incidents with
the month derived and the account sealed; consent through protection.consent; closure approved by
the supervisor only (never by the caseworker), sent back or reopened with a reason; reassignment."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Conflict, Forbidden
from jatigi.protection import case_work, cases, consent, incidents
from jatigi.protection.models import CaseEntry, CaseTransition, GbvIncident, ProtectionCase
from tests import factories as f
from tests import protection_factories as pf

TODAY = date.today()


@pytest.fixture
def team(session: Session) -> pf.Team:
    return pf.team(session)


@pytest.fixture
def gbv(session: Session, team: pf.Team) -> ProtectionCase:
    return pf.case(session, team.caseworker, team.supervisor)


def _actions(session: Session, case: ProtectionCase) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "protection_case",
                                                                   AuditEvent.entity_id == str(case.id))
                                .order_by(AuditEvent.id)))


def test_stage_and_risk_are_transitions(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    case_work.change_stage(session, team.caseworker, gbv.code, "assessment")
    case_work.change_risk(session, team.supervisor, gbv.code, "critical")
    assert (gbv.stage, gbv.risk_level) == ("assessment", "critical")
    steps = case_work.transitions(session, gbv)
    assert [(s.field, s.from_value, s.to_value, s.by) for s in steps] == [
        ("stage", "intake", "assessment", "Cw.A"), ("risk_level", "medium", "critical", "Sup.A")]
    assert _actions(session, gbv) == ["protection.case.stage", "protection.case.risk"]
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.change_stage(session, team.caseworker, gbv.code, "done")
    assert "done" in caught.value.message and "follow_up" in caught.value.message


def test_entries_sealed_and_plan_actions_done(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    case_work.add_entry(session, team.caseworker, gbv.code, "assessment", "Besoin de soins et d'écoute.")
    plan = case_work.add_entry(session, team.caseworker, gbv.code, "plan", "Orienter vers le CSCom.",
                               service_type="medical", due_on=TODAY.isoformat())
    assert plan.status == "open" and plan.due_on == TODAY
    raw = session.execute(sa.text("SELECT text_sealed FROM protection_case_entries")).scalars().all()
    assert all("CSCom" not in str(t) and "écoute" not in str(t) for t in raw)
    case_work.complete_entry(session, team.caseworker, gbv.code, plan.id)
    assert plan.status == "done" and plan.done_on == TODAY
    with pytest.raises(Conflict):
        case_work.complete_entry(session, team.caseworker, gbv.code, plan.id)
    assert [(e.kind, text) for e, text in case_work.entries(session, gbv)] == [
        ("assessment", "Besoin de soins et d'écoute."), ("plan", "Orienter vers le CSCom.")]
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.add_entry(session, team.caseworker, gbv.code, "plan", "", service_type="taxi", due_on="demain")
    found = dict(caught.value.problems)
    assert found["text"] == "Required." and "taxi" in found["service_type"] and "demain" in found["due_on"]
    assert session.scalar(sa.select(sa.func.count()).select_from(CaseEntry)) == 2


def test_gbv_incident(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    new = incidents.NewIncident(incident_type="rape", incident_date="2026-03-14", place_type="water_point",
                                time_of_day="evening_night", displacement_at_report="idp_settled_elsewhere",
                                perpetrator_count="2", perpetrator_relationship="stranger",
                                disability="no", account="Deux hommes au puits.", perpetrator_identity="Un boucher")
    incident = incidents.record_incident(session, team.caseworker, gbv.code, new)
    assert incident.incident_month == date(2026, 3, 1) and incident.disability is False
    assert (incident.survivor_sex, incident.survivor_age_group, incident.area_pcode) == ("f", "18-59",
                                                                                         f.BAMAKO_COMMUNE_IV)
    raw = session.execute(sa.text("SELECT account_sealed, perpetrator_sealed FROM gbv_incidents")).one()
    assert "puits" not in str(raw) and "boucher" not in str(raw)
    (view,) = incidents.incidents(session, gbv)
    assert (view.account, view.perpetrator_identity) == ("Deux hommes au puits.", "Un boucher")
    with pytest.raises(cases.CaseInvalid) as caught:
        incidents.record_incident(session, team.caseworker, gbv.code,
                                  incidents.NewIncident(incident_type="theft", place_type="moon"))
    found = dict(caught.value.problems)
    assert "theft" in found["incident_type"] and "rape" in found["incident_type"]
    assert "moon" in found["place_type"] and "month" in found["incident_date"]
    assert session.scalar(sa.select(sa.func.count()).select_from(GbvIncident)) == 1
    child = pf.case(session, team.caseworker, team.supervisor, case_type="child_protection")
    with pytest.raises(Conflict, match="not a GBV case"):
        incidents.record_incident(session, team.caseworker, child.code, new)


def test_consent_given_and_withdrawn(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    given = case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="pb")
    assert consent.active_consent(session, gbv.id, "referral", given.organisation_id) is not None
    case_work.withdraw_consent(session, team.caseworker, gbv.code, given.id)
    assert consent.active_consent(session, gbv.id, "referral", given.organisation_id) is None
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.give_consent(session, team.caseworker, gbv.code, purpose="referral", organisation="XYZ")
    assert "XYZ" in caught.value.message and "PA, PB" in caught.value.message


def test_closure_approved_by_the_supervisor_only(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    case_work.request_closure(session, team.caseworker, gbv.code, "goals_met")
    assert gbv.state == "closure_requested" and gbv.closure_reason == "goals_met"
    with pytest.raises(Forbidden, match="Only the supervisor"):
        case_work.approve_closure(session, team.caseworker, gbv.code)
    case_work.reject_closure(session, team.supervisor, gbv.code, "Le suivi médical n'est pas fini.")
    assert gbv.state == "open" and gbv.closure_reason is None
    case_work.request_closure(session, team.caseworker, gbv.code, "survivor_request")
    case_work.approve_closure(session, team.supervisor, gbv.code)
    assert gbv.state == "closed" and gbv.closed_on == TODAY
    with pytest.raises(Conflict, match="closed"):
        case_work.add_entry(session, team.caseworker, gbv.code, "note", "encore")
    case_work.reopen(session, team.caseworker, gbv.code, "Nouvel incident signalé.")
    assert gbv.state == "open" and gbv.reopened_count == 1 and gbv.closed_on is None
    steps = [(s.from_value, s.to_value, s.reason) for s in case_work.transitions(session, gbv)]
    assert steps == [("open", "closure_requested", "Case plan goals met"),
                     ("closure_requested", "open", "Le suivi médical n'est pas fini."),
                     ("open", "closure_requested", "At the survivor's request"),
                     ("closure_requested", "closed", None), ("closed", "open", "Nouvel incident signalé.")]
    stored = session.scalars(sa.select(CaseTransition.reason)).all()
    assert not any("médical" in str(r) or "incident" in str(r) for r in stored)
    assert _actions(session, gbv) == ["protection.case.closure_request", "protection.case.closure_reject",
                                      "protection.case.closure_request", "protection.case.closure_approve",
                                      "protection.case.reopen"]


def test_closure_bad_input(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.request_closure(session, team.caseworker, gbv.code, "bored")
    assert "bored" in caught.value.message and "goals_met" in caught.value.message
    with pytest.raises(Conflict):
        case_work.approve_closure(session, team.supervisor, gbv.code)
    case_work.request_closure(session, team.caseworker, gbv.code, "moved")
    with pytest.raises(cases.CaseInvalid):
        case_work.reject_closure(session, team.supervisor, gbv.code, "")
    assert gbv.state == "closure_requested"


def test_the_caseworker_never_approves_their_own_closure(session: Session, team: pf.Team) -> None:
    f.user(session, "sup2.a", "PA", role="protection_supervisor")
    sup2 = f.actor(session, "sup2.a")
    own = cases.open_case(session, team.supervisor, cases.NewCase(case_type="general", sex="m", summary="Menacé.",
                                                                  area_pcode=f.MOPTI_COMMUNE, may_call="yes",
                                                                  supervisor="sup2.a"))
    case_work.request_closure(session, team.supervisor, own.code, "goals_met")
    with pytest.raises(Forbidden):
        case_work.approve_closure(session, team.supervisor, own.code)
    case_work.approve_closure(session, sup2, own.code)
    assert own.state == "closed"


def test_reassign(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    with pytest.raises(Forbidden):
        case_work.reassign(session, team.caseworker, gbv.code, "cw2.a")
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.reassign(session, team.supervisor, gbv.code, "cw.b")
    assert "cw.b" in caught.value.message
    case_work.reassign(session, team.supervisor, gbv.code, "cw2.a", "Congé")
    assert gbv.caseworker_id == team.colleague.user_id
    assert cases.list_cases(session, team.colleague)[0] == 1
    assert cases.list_cases(session, team.caseworker)[0] == 0
    (step,) = case_work.transitions(session, gbv)
    assert (step.field, step.from_value, step.to_value, step.reason) == ("caseworker", "Cw.A", "Cw2.A", "Congé")
