"""The referrals of a case as the case page shows them (`referrals_of_case` and the macro
protection/referral_case_list.html): where each went, its state and outcome, and a warning when
the survivor withdrew consent after it was sent — in English and French."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core.errors import NotFound
from jatigi.core.i18n import use_language
from jatigi.protection import consent
from jatigi.protection import referrals as ref
from jatigi.web.templating import environment
from tests import protection_factories as pf


def _render(rows: list[ref.ReferralRow], code: str, lang: str) -> str:
    with use_language(lang):
        macro = environment(lang).get_template("protection/referral_case_list.html").module.case_referrals  # type: ignore[attr-defined]
        return str(macro(rows, code, True))


def test_case_page_list(session: Session) -> None:
    team = pf.team(session)
    case = pf.case(session, team.caseworker, team.supervisor)
    assert ref.referrals_of_case(session, team.caseworker, case) == []
    assert "No referral yet." in _render([], case.code, "en")
    pb = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == "PB"))
    given = consent.record_consent(session=session, actor=team.caseworker, case=case, purpose="referral",
                                   granted=True, organisation_id=pb)
    sent = ref.send_referral(session, team.caseworker, case, ref.NewReferral(organisation="PB",
                                                                              service_type="psychosocial"))
    consent.withdraw_consent(session=session, actor=team.caseworker, case=case, consent_id=given.id)
    rows = ref.referrals_of_case(session, team.supervisor, case)
    html = _render(rows, case.code, "en")
    assert sent.code in html and "PB (Organisation PB)" in html and "Psychosocial support" in html
    assert "Sent, waiting for an answer" in html and "Consent withdrawn since" in html
    assert f'href="/protection/cases/{case.code}/referrals/new"' in html
    french = _render(rows, case.code, "fr")
    assert "Consentement retiré depuis" in french and "Référer ce cas" in french
    with pytest.raises(NotFound):
        ref.referrals_of_case(session, team.outsider, case)  # not a case they need to know
