"""What the second review of protection found, each fixed: a reset second factor revokes API tokens;
no service in another organisation's name; a survivor's later refusal ends an override referral;
supervision handed over (by the supervisor, or for one who left by an operator); a colleague who
only reads a case cannot attach a tracing request to it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts import totp
from jatigi.accounts.models import ApiToken
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from jatigi.protection import case_work, consent, policies, referrals, services, tracing
from tests import factories as f
from tests import protection_factories as pf


def test_resetting_the_second_factor_revokes_the_users_tokens(session: Session) -> None:
    team = pf.team(session)
    f.user(session, "root", "PA", role="admin")
    user = accounts.user_by_name(session=session, username="cw.a")
    token = f.token(session, "cw.a")
    assert accounts.user_for_token(session=session, token=token).id == user.id
    totp.reset(session=session, actor=f.actor(session, "root"), user=user)
    assert session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == user.id)) is not None
    with pytest.raises(Unauthorized):  # the token no longer opens anything
        accounts.user_for_token(session=session, token=token)
    assert team.caseworker.user_id == user.id


def test_a_service_in_another_organisations_name_is_refused(session: Session) -> None:
    team = pf.team(session)
    data = services.ServiceIn.of({"name": "Abri", "service_type": "safe_shelter", "organisation": "PB",
                                  "provider_name": "Abri PB", "area_pcode": f.BAMAKO_COMMUNE_IV})
    with pytest.raises(Forbidden):
        services.add_service(session=session, actor=team.supervisor, data=data)  # sup.a is of PA
    assert services.add_service(session=session, actor=team.outsider_supervisor, data=data).organisation_id


def test_a_refusal_after_an_override_ends_the_referral(session: Session) -> None:
    team = pf.team(session)
    case = pf.case(session, team.caseworker, team.supervisor)
    sent = referrals.send_referral(session, team.supervisor, case, referrals.NewReferral(
        organisation="PB", service_type="legal", override_reason="Danger immédiat, survivante injoignable."))
    assert not referrals.consent_ended(session, sent)
    pb = team.outsider.org_id
    consent.record_consent(session=session, actor=team.caseworker, case=case, purpose="referral", granted=False,
                           organisation_id=pb)
    assert referrals.consent_ended(session, sent)
    with pytest.raises(Conflict):
        referrals.accept_referral(session, team.outsider, sent.code)


def test_supervision_is_handed_over_and_the_old_supervisor_loses_the_case(session: Session) -> None:
    team = pf.team(session)
    f.user(session, "sup2.a", "PA", role="protection_supervisor")
    second = f.actor(session, "sup2.a")
    case = pf.case(session, team.caseworker, team.supervisor)
    with pytest.raises(NotFound):
        policies.get_case(session, second, case.code)
    case_work.hand_over(session, team.supervisor, case.code, "sup2.a", "Congé de maternité.")
    assert policies.get_case(session, second, case.code).supervisor_id == second.user_id
    with pytest.raises(NotFound):
        policies.get_case(session, team.supervisor, case.code)
    history = case_work.transitions(session, case)
    assert history[-1].field == "supervisor" and history[-1].to_value == "Sup2.A"
    # One who left: an operator moves all their cases; a user cannot.
    with pytest.raises(Forbidden):
        case_work.hand_over_all(session, second, case.org_id, second.user_id, team.supervisor.user_id)
    assert case_work.hand_over_all(session, SYSTEM, case.org_id, second.user_id, team.supervisor.user_id) == 1
    assert policies.get_case(session, team.supervisor, case.code)


def test_a_colleague_who_only_reads_a_case_cannot_attach_a_tracing_request(session: Session) -> None:
    team = pf.team(session)
    case = pf.case(session, team.caseworker, team.supervisor, case_type="tracing")
    case_work.share(session, team.supervisor, case.code, "cw2.a", "Remplacement pendant un congé.")
    with pytest.raises(tracing.TracingInvalid) as caught:
        tracing.create_request(session, team.colleague, tracing.NewRequest(
            sought_given_name="Awa", sought_family_name="Traoré", sought_sex="f", relationship="child",
            inquirer_given_name="Moussa", inquirer_family_name="Traoré", case=case.code))
    assert caught.value.problems[0][0] == "case"
