"""Need to know: a case is listed, found and read by its caseworker, its supervisor and the
colleague it is shared with — nobody else, whatever their role; GBV names hidden by default and
showing one audited; every read audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import Actor
from jatigi.core.errors import Forbidden, NotFound
from jatigi.protection import case_work, cases
from jatigi.protection.models import ProtectionCase
from tests import factories as f
from tests import protection_factories as pf


@pytest.fixture
def team(session: Session) -> pf.Team:
    return pf.team(session)


@pytest.fixture
def gbv(session: Session, team: pf.Team) -> ProtectionCase:
    return pf.case(session, team.caseworker, team.supervisor, name="Aminata Traoré")


def _codes(session: Session, actor: Actor, **filters: str) -> list[str]:
    return [r.case.code for r in cases.list_cases(session, actor, cases.Filters(**filters))[1]]


def test_caseworker_and_supervisor_see_the_case(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    for actor in (team.caseworker, team.supervisor):
        assert _codes(session, actor) == [gbv.code]
        assert _codes(session, actor, q=gbv.survivor_code.lower()) == [gbv.code]
        assert cases.read_case(session, actor, gbv.code).id == gbv.id


@pytest.mark.parametrize("who", ["colleague", "outsider", "outsider_supervisor", "admin", "im_officer",
                                 "focal_point"])
def test_nobody_else_lists_searches_or_reads_it(session: Session, team: pf.Team, gbv: ProtectionCase,
                                                who: str) -> None:
    f.user(session, "admin.a", "PA", role="admin")
    f.user(session, "im.a", "PA", role="im_officer")
    f.user(session, "pfp.a", "PA", role="protection_focal_point")
    actor = {"colleague": team.colleague, "outsider": team.outsider, "outsider_supervisor": team.outsider_supervisor,
             "admin": f.actor(session, "admin.a"), "im_officer": f.actor(session, "im.a"),
             "focal_point": f.actor(session, "pfp.a")}[who]
    assert _codes(session, actor) == []
    assert _codes(session, actor, q=gbv.code) == []
    assert _codes(session, actor, q=gbv.survivor_code) == []
    with pytest.raises(NotFound) as existing:
        cases.view_case(session, actor, gbv.code)
    with pytest.raises(NotFound) as made_up:
        cases.view_case(session, actor, "CAS-ZZZZZZ")
    assert existing.value.message == f"No case {gbv.code} that you may see."
    assert made_up.value.message == "No case CAS-ZZZZZZ that you may see."


def test_shared_colleague_reads_but_does_not_write(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    case_work.share(session, team.supervisor, gbv.code, "cw2.a", "Relais pendant le congé de cw.a")
    assert _codes(session, team.colleague) == [gbv.code]
    view = cases.view_case(session, team.colleague, gbv.code)
    assert not view.may_write and not view.may_reveal and view.person == {}
    with pytest.raises(Forbidden, match="shared with you to read"):
        case_work.add_entry(session, team.colleague, gbv.code, "note", "Appel fait.")
    with pytest.raises(Forbidden):
        cases.view_case(session, team.colleague, gbv.code, reveal_name=True)
    case_work.revoke_share(session, team.supervisor, gbv.code, "cw2.a")
    assert _codes(session, team.colleague) == []
    with pytest.raises(NotFound):
        cases.read_case(session, team.colleague, gbv.code)


def test_only_the_supervisor_shares(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    with pytest.raises(Forbidden, match="Only the supervisor"):
        case_work.share(session, team.caseworker, gbv.code, "cw2.a", "pour aider")
    with pytest.raises(NotFound):
        case_work.share(session, team.outsider_supervisor, gbv.code, "cw2.a", "pour aider")
    with pytest.raises(cases.CaseInvalid) as caught:
        case_work.share(session, team.supervisor, gbv.code, "cw.b", "")
    found = dict(caught.value.problems)
    assert "cw.b" in found["colleague"] and "cw2.a" in found["colleague"] and found["reason"] == "Required."


def test_gbv_name_hidden_by_default_and_reveal_audited(session: Session, team: pf.Team,
                                                       gbv: ProtectionCase) -> None:
    total, rows = cases.list_cases(session, team.caseworker)
    assert rows[0].shown_as == gbv.survivor_code
    hidden = cases.view_case(session, team.caseworker, gbv.code)
    assert not hidden.name_shown and hidden.display_name == gbv.survivor_code and "name" not in hidden.person
    assert hidden.contact["safe_name"] == "Tantie"
    shown = cases.view_case(session, team.caseworker, gbv.code, reveal_name=True)
    assert shown.name_shown and shown.person["name"] == "Aminata Traoré"
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_id == str(gbv.id),
                                                             AuditEvent.entity_type == "protection_case")
                             .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["protection.case.read", "protection.case.read",
                                          "protection.case.reveal_name"]
    assert all(e.entity_type == "protection_case" and e.actor == "cw.a" for e in events)
    assert "Aminata" not in str([e.detail for e in events])


def test_non_gbv_cases_show_names(session: Session, team: pf.Team) -> None:
    child = pf.case(session, team.caseworker, team.supervisor, case_type="child_protection", name="Moussa Diallo")
    assert cases.list_cases(session, team.caseworker)[1][0].shown_as == "Moussa Diallo"
    assert cases.view_case(session, team.caseworker, child.code).name_shown


def test_filters_and_search_only_by_code(session: Session, team: pf.Team, gbv: ProtectionCase) -> None:
    child = pf.case(session, team.caseworker, team.supervisor, case_type="child_protection")
    assert _codes(session, team.caseworker, case_type="child_protection") == [child.code]
    assert _codes(session, team.caseworker, state="closed") == []
    with pytest.raises(cases.CaseInvalid) as caught:
        cases.list_cases(session, team.caseworker, cases.Filters(q="Aminata", state="lost"))
    found = dict(caught.value.problems)
    assert "Names are encrypted and cannot be searched" in found["q"]
    assert "lost" in found["state"] and "closure_requested" in found["state"]
    listed = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "protection.case.list")).all()
    assert listed and all("Aminata" not in str(e.detail) for e in listed)
