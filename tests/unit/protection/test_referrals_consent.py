"""Referrals go only where the survivor consented: no consent, consent to another organisation, a
withdrawn consent — refused, naming the organisation; an override only by the case's supervisor,
with a reason, audited. The receiving organisation reads the shared summary, never the case; a
third organisation sees nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Conflict, Forbidden, NotFound
from jatigi.protection import consent, policies
from jatigi.protection import referrals as ref
from jatigi.protection import services as svc
from jatigi.protection.models import ProtectionCase, Referral, Service
from tests import factories as f
from tests import protection_factories as pf


def _org_id(session: Session, acronym: str) -> int:
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == acronym))
    assert org_id is not None
    return org_id


def _clinic(session: Session, team: pf.Team, org: str = "PB") -> Service:
    return svc.add_service(session=session, actor=SYSTEM, data=svc.ServiceIn.of(
        {"name": f"Clinique {org}", "service_type": "medical", "organisation": org,
         "area_pcode": f.BAMAKO_COMMUNE_IV}))


def _consent(session: Session, team: pf.Team, case: ProtectionCase, org: str, granted: bool = True) -> int:
    return consent.record_consent(session=session, actor=team.caseworker, case=case, purpose="referral",
                                  granted=granted, organisation_id=_org_id(session, org)).id


def _count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Referral)) or 0


@pytest.fixture
def setup(session: Session) -> tuple[pf.Team, ProtectionCase, Service]:
    team = pf.team(session)
    f.org(session, "PC")
    f.user(session, "cw.c", "PC", role="caseworker")
    case = pf.case(session, team.caseworker, team.supervisor)
    return team, case, _clinic(session, team)


def test_no_consent_refused_naming_the_organisation(session: Session, setup: tuple) -> None:
    team, case, clinic = setup
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    (field, message), = caught.value.problems
    assert field == "service"
    assert message.startswith("No consent of the survivor to a referral to PB (Organisation PB)")
    assert _count(session) == 0


def test_consent_for_another_organisation_refused(session: Session, setup: tuple) -> None:
    team, case, clinic = setup
    _consent(session, team, case, "PC")
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    assert "referral to PB (Organisation PB)" in caught.value.problems[0][1]
    # By organisation and type of service, the same rule.
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(organisation="PB", service_type="legal"))
    assert caught.value.problems[0][0] == "organisation"
    assert _count(session) == 0


def test_withdrawn_consent_refused(session: Session, setup: tuple) -> None:
    team, case, clinic = setup
    consent_id = _consent(session, team, case, "PB")
    first = ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    assert first.consent_id == consent_id and first.override_reason_sealed is None
    consent.withdraw_consent(session=session, actor=team.caseworker, case=case, consent_id=consent_id)
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    assert "The survivor withdrew the consent to a referral to PB (Organisation PB)" in caught.value.problems[0][1]
    assert _count(session) == 1
    # The referral already sent stays; the case's list says its consent no longer holds.
    (row,) = ref.referrals_of_case(session, team.caseworker, case)
    assert row.referral.code == first.code and row.consent_withdrawn


def test_override_only_by_the_case_supervisor_with_a_reason(session: Session, setup: tuple) -> None:
    team, case, clinic = setup
    reason = "Urgence médicale: moins de 72 heures."
    with pytest.raises(Forbidden):
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id,
                                                                           override_reason=reason))
    # A supervisor of another case of the organisation is not this case's supervisor.
    other = pf.case(session, team.caseworker, team.colleague)
    with pytest.raises(Forbidden):
        ref.send_referral(session, team.supervisor, other, ref.NewReferral(service_id=clinic.id,
                                                                            override_reason=reason))
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.supervisor, case, ref.NewReferral(service_id=clinic.id,
                                                                           override_reason="urgent"))
    assert caught.value.problems == [("override_reason", "Say why it cannot wait for consent, in at least 15 "
                                                          "characters.")]
    with pytest.raises(ref.ReferralInvalid) as caught:  # the name needs the consent itself
        ref.send_referral(session, team.supervisor, case, ref.NewReferral(service_id=clinic.id,
                                                                           override_reason=reason,
                                                                           share_identity=True))
    assert caught.value.problems[0][0] == "share_identity"
    assert _count(session) == 0

    sent = ref.send_referral(session, team.supervisor, case, ref.NewReferral(service_id=clinic.id, urgent=True,
                                                                              override_reason=reason))
    assert sent.consent_id is None and reason not in (sent.override_reason_sealed or "")  # sealed
    assert sent.override_by == team.supervisor.user_id
    events = session.execute(sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.detail).where(
        AuditEvent.action.like("protection.referral.%"))).all()
    actions = {a: (eid, d) for a, eid, d in events}
    assert set(actions) == {"protection.referral.send", "protection.referral.override"}
    assert actions["protection.referral.override"][0] == str(case.id)
    assert reason not in json.dumps([d for _a, _e, d in events])  # the reason stays out of the audit log
    assert ref.view_referral(session, team.supervisor, sent.code).override_reason == reason


def test_receiver_reads_the_summary_never_the_case_and_a_third_org_sees_nothing(session: Session,
                                                                                setup: tuple) -> None:
    team, case, clinic = setup
    _consent(session, team, case, "PB")
    sent = ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id, urgent=True,
                                                                              note="Vue au CSCOM le 3."))
    assert "Aminata" not in (sent.shared_sealed or "") and "SV-" not in (sent.shared_sealed or "")

    receiver = team.outsider  # cw.b of PB
    view = ref.view_referral(session, receiver, sent.code)
    assert view.receiver and not view.sender and view.case_code is None
    assert view.shared == {} and view.referral.urgent and not view.identity_shared and view.may_accept
    with pytest.raises(NotFound) as no_case:
        policies.get_case(session, receiver, case.code)
    with pytest.raises(NotFound) as no_such_case:
        policies.get_case(session, receiver, "CAS-ZZZZZZ")
    assert no_case.value.message.replace(case.code, "X") == no_such_case.value.message.replace("CAS-ZZZZZZ", "X")

    third = f.actor(session, "cw.c")
    with pytest.raises(NotFound) as hidden:
        ref.view_referral(session, third, sent.code)
    with pytest.raises(NotFound) as missing:
        ref.view_referral(session, third, "REF-ZZZZZZ")
    assert hidden.value.message.replace(sent.code, "X") == missing.value.message.replace("REF-ZZZZZZ", "X")
    assert ref.received_referrals(session, third) == (0, [])
    assert ref.sent_referrals(session, third) == (0, [])
    with pytest.raises(NotFound):
        ref.accept_referral(session, third, sent.code)

    # The receiving side answers; the sending side sees the state and the outcome.
    with pytest.raises(Forbidden):
        ref.accept_referral(session, team.caseworker, sent.code)  # the sender does not answer for PB
    ref.accept_referral(session, receiver, sent.code, "Rendez-vous demain 9h.")
    mine = ref.view_referral(session, receiver, sent.code)  # the named receiver reads the shared summary
    assert mine.shared["survivor_code"] == case.survivor_code and mine.shared["urgent"] is True
    assert mine.shared["note"] == "Vue au CSCOM le 3." and mine.shared["contact"]["safe_name"] == "Tantie"
    assert "name" not in mine.shared and "phone" not in mine.shared
    ref.complete_referral(session, receiver, sent.code, "service_given", "Soins donnés.")
    with pytest.raises(Conflict):
        ref.decline_referral(session, receiver, sent.code, "Trop tard.")
    (row,) = ref.referrals_of_case(session, team.caseworker, case)
    assert row.referral.state == "completed" and row.referral.outcome == "service_given"
    own = ref.view_referral(session, team.caseworker, sent.code)
    assert own.sender and own.case_code == case.code
    assert own.response["accepted"]["note"] == "Rendez-vous demain 9h."
    actions = list(session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "protection_case", AuditEvent.entity_id == str(case.id),
        AuditEvent.action.like("protection.referral.%")).order_by(AuditEvent.id)))
    assert actions == ["protection.referral.send", "protection.referral.read", "protection.referral.accept",
                       "protection.referral.read", "protection.referral.complete", "protection.referral.read"]


def test_identity_shared_with_consent_and_withdrawal_hides_the_summary(session: Session, setup: tuple) -> None:
    team, case, clinic = setup
    _consent(session, team, case, "PB")
    sent = ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id,
                                                                              share_identity=True))
    view = ref.view_referral(session, team.outsider, sent.code)
    assert view.shared == {} and view.identity_shared
    ref.accept_referral(session, team.outsider, sent.code)
    view = ref.view_referral(session, team.outsider, sent.code)
    assert view.shared["name"] == "Aminata Traoré" and view.shared["phone"] == "+22376543210"
    with pytest.raises(Forbidden):
        ref.withdraw_referral(session, team.outsider, sent.code)
    ref.withdraw_referral(session, team.caseworker, sent.code, "La survivante a changé d'avis.")
    gone = ref.view_referral(session, team.outsider, sent.code)
    assert gone.referral.state == "withdrawn" and gone.shared == {} and not gone.may_accept


def test_closed_case_and_provider_outside_jatigi(session: Session, setup: tuple) -> None:
    team, case, _clinic_pb = setup
    outside = svc.add_service(session=session, actor=SYSTEM, data=svc.ServiceIn.of(
        {"name": "Juriste", "service_type": "legal", "provider_name": "Clinique juridique DEME SO",
         "phone": "+223 20 21 00 00", "area_pcode": "ML09"}))
    with pytest.raises(ref.ReferralInvalid) as caught:
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=outside.id))
    assert "does not use Jatigi: contact it directly (+223 20 21 00 00)" in caught.value.problems[0][1]
    case.state = "closed"
    with pytest.raises(Conflict):
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=outside.id))
    # A colleague the case is not shared with cannot even find it to refer it.
    with pytest.raises(Forbidden):
        ref.send_referral(session, team.colleague, case, ref.NewReferral(service_id=outside.id))
