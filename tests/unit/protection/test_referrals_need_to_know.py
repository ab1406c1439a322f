"""Need to know on the receiving side: before a referral is accepted its receivers read only what they
need to decide; the one who accepts it is its named receiver, the only one of the receiving side who then
reads what was shared. A referral whose consent ended is answered with one message that tells nothing,
and an open referral cannot be sent twice."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core.errors import Conflict, Forbidden
from jatigi.protection import consent
from jatigi.protection import referrals as ref
from jatigi.protection import services as svc
from jatigi.protection.models import ProtectionCase, Service
from tests import factories as f
from tests import protection_factories as pf

ENDED = "This referral was withdrawn or its consent ended"


def _org_id(session: Session, acronym: str) -> int:
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == acronym))
    assert org_id is not None
    return org_id


def _consent(session: Session, team: pf.Team, case: ProtectionCase, org: str) -> int:
    return consent.record_consent(session=session, actor=team.caseworker, case=case, purpose="referral",
                                  granted=True, organisation_id=_org_id(session, org)).id


def _clinic(session: Session, actor: object, org: str) -> Service:
    return svc.add_service(session=session, actor=actor, data=svc.ServiceIn.of(  # type: ignore[arg-type]
        {"name": f"Clinique {org}", "service_type": "medical", "organisation": org,
         "area_pcode": f.BAMAKO_COMMUNE_IV}))


@pytest.fixture
def team(session: Session) -> pf.Team:
    return pf.team(session)


def test_only_the_receiver_who_accepts_reads_what_was_shared(session: Session, team: pf.Team) -> None:
    case = pf.case(session, team.caseworker, team.supervisor)
    _consent(session, team, case, "PB")
    sent = ref.send_referral(session, team.caseworker, case, ref.NewReferral(
        service_id=_clinic(session, team.outsider_supervisor, "PB").id, urgent=True, share_identity=True,
        note="Vue au CSCOM le 3."))
    for receiver in (team.outsider, team.outsider_supervisor):  # cw.b and sup.b of PB, both answer referrals
        before = ref.view_referral(session, receiver, sent.code)
        assert before.shared == {} and before.response == {} and before.may_accept
        assert before.identity_shared and before.referral.urgent and before.area_name == "Commune IV (ML090104)"
        assert "shown to the person who accepts the referral" in (before.hidden_note or "")
        assert before.case_code is None and before.override_reason is None
    ref.accept_referral(session, team.outsider, sent.code, "Rendez-vous demain.")
    named = ref.view_referral(session, team.outsider, sent.code)
    assert named.shared["name"] == "Aminata Traoré" and named.shared["note"] == "Vue au CSCOM le 3."
    assert named.may_complete and named.response["accepted"]["note"] == "Rendez-vous demain."
    other = ref.view_referral(session, team.outsider_supervisor, sent.code)  # sees its state only
    assert other.referral.state == "accepted" and other.shared == {} and other.response == {}
    assert not (other.may_accept or other.may_decline or other.may_complete)
    assert other.accepted_by is not None and other.accepted_by in (other.hidden_note or "")
    with pytest.raises(Forbidden) as refused:
        ref.complete_referral(session, team.outsider_supervisor, sent.code, "service_given")
    assert "who accepted referral" in refused.value.message
    # The case's caseworker and supervisor read it too.
    for sender in (team.caseworker, team.supervisor):
        assert ref.view_referral(session, sender, sent.code).shared["name"] == "Aminata Traoré"
    ref.complete_referral(session, team.outsider, sent.code, "service_given")
    assert ref.view_referral(session, team.outsider, sent.code).shared["name"] == "Aminata Traoré"
    assert ref.view_referral(session, team.outsider_supervisor, sent.code).shared == {}


def test_a_referral_within_the_same_organisation_follows_the_same_rule(session: Session, team: pf.Team) -> None:
    case = pf.case(session, team.caseworker, team.supervisor)
    _consent(session, team, case, "PA")
    sent = ref.send_referral(session, team.caseworker, case, ref.NewReferral(organisation="PA", service_type="legal"))
    colleague = team.colleague  # cw2.a of PA: receives PA's referrals, does not know the case
    before = ref.view_referral(session, colleague, sent.code)
    assert before.receiver and not before.sender and before.shared == {} and before.may_accept
    ref.accept_referral(session, colleague, sent.code)
    assert ref.view_referral(session, colleague, sent.code).shared["survivor_code"] == case.survivor_code


def test_consent_ended_after_sending_hides_the_summary_and_stops_the_answer(session: Session,
                                                                           team: pf.Team) -> None:
    case = pf.case(session, team.caseworker, team.supervisor)
    consent_id = _consent(session, team, case, "PB")
    clinic = _clinic(session, team.outsider_supervisor, "PB")
    accepted = ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    waiting = ref.send_referral(session, team.caseworker, case, ref.NewReferral(organisation="PB",
                                                                                service_type="legal"))
    ref.accept_referral(session, team.outsider, accepted.code)
    consent.withdraw_consent(session=session, actor=team.caseworker, case=case, consent_id=consent_id)
    for code in (accepted.code, waiting.code):
        seen = ref.view_referral(session, team.outsider, code)
        assert seen.shared == {} and seen.ended and ENDED in (seen.hidden_note or "")
        assert not seen.may_accept and not seen.may_complete
    with pytest.raises(Conflict) as no_accept:
        ref.accept_referral(session, team.outsider, waiting.code)
    with pytest.raises(Conflict) as no_complete:
        ref.complete_referral(session, team.outsider, accepted.code, "service_given")
    assert ENDED in no_accept.value.message and no_accept.value.message == no_complete.value.message
    assert "consent" in no_accept.value.message and accepted.code not in no_accept.value.message
    # The sending side sees that the consent no longer holds, and withdraws.
    own = ref.view_referral(session, team.caseworker, accepted.code)
    assert own.consent_active is False and own.may_withdraw and own.shared != {}
    ref.withdraw_referral(session, team.caseworker, accepted.code)
    gone = ref.view_referral(session, team.outsider, accepted.code)
    assert gone.hidden_note == ref.view_referral(session, team.outsider, waiting.code).hidden_note  # one message


def test_an_override_is_not_hidden_by_a_missing_consent(session: Session, team: pf.Team) -> None:
    case = pf.case(session, team.caseworker, team.supervisor)
    sent = ref.send_referral(session, team.supervisor, case, ref.NewReferral(
        organisation="PB", service_type="medical", override_reason="Danger immédiat, pas de consentement possible."))
    ref.accept_referral(session, team.outsider, sent.code)
    assert ref.view_referral(session, team.outsider, sent.code).shared["survivor_code"] == case.survivor_code


def test_an_open_referral_is_not_sent_twice(session: Session, team: pf.Team) -> None:
    case = pf.case(session, team.caseworker, team.supervisor)
    _consent(session, team, case, "PB")
    clinic = _clinic(session, team.outsider_supervisor, "PB")
    first = ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    for again in (ref.NewReferral(service_id=clinic.id), ref.NewReferral(organisation="pb", service_type="medical")):
        with pytest.raises(ref.ReferralInvalid) as caught:
            ref.send_referral(session, team.caseworker, case, again)
        (field, message), = caught.value.problems
        assert field in ("service", "organisation")
        assert f"Referral {first.code} of this case to PB (Organisation PB) for this type of service is still open" \
            in message
    ref.accept_referral(session, team.outsider, first.code)
    with pytest.raises(ref.ReferralInvalid):
        ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id))
    # Another type of service may go; once the first is over, a new one may be sent.
    ref.send_referral(session, team.caseworker, case, ref.NewReferral(organisation="PB", service_type="legal"))
    ref.complete_referral(session, team.outsider, first.code, "partly_given")
    assert ref.send_referral(session, team.caseworker, case, ref.NewReferral(service_id=clinic.id)).state == "sent"
