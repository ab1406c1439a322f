"""What the GBVIMS statistics count: incidents of consented cases only (latest reporting consent,
granted, not withdrawn), every organisation pooled, by region or cercle; the filters as typed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from jatigi.core.errors import Forbidden
from jatigi.protection import statistics as st
from jatigi.protection.consent import record_consent, withdraw_consent
from jatigi.protection.models import GbvIncident
from tests import factories as f
from tests import protection_factories as pf

TODAY = date(2026, 6, 15)
JUNE = date(2026, 6, 1)


def _case_with_incident(session: Session, team: pf.Team, kind: str = "rape", month: date = JUNE,
                        area: str | None = f.BAMAKO_COMMUNE_IV, outsider: bool = False) -> object:
    by, sup = (team.outsider, team.outsider_supervisor) if outsider else (team.caseworker, team.supervisor)
    case = pf.case(session, by, sup, area_pcode=f.MOPTI_COMMUNE)
    session.add(GbvIncident(case_id=case.id, incident_type=kind, incident_month=month, report_date=month,
                            area_pcode=area, survivor_age_group="12-17", survivor_sex=None))
    session.flush()
    return case


def _counted(session: Session, **filters: str) -> list[st.Incident]:
    found, problems = st.parse_filters(session, today=TODAY, **filters)
    assert not problems
    return st.counted_incidents(session, found)


def test_only_consented_cases_count_and_organisations_are_pooled(session: Session) -> None:
    t = pf.team(session)
    never = _case_with_incident(session, t)
    granted = _case_with_incident(session, t)
    record_consent(session=session, actor=t.caseworker, case=granted, purpose="reporting", granted=True)
    other_org = _case_with_incident(session, t, kind="sexual_assault", outsider=True)
    record_consent(session=session, actor=t.outsider, case=other_org, purpose="reporting", granted=True)
    withdrawn = _case_with_incident(session, t, kind="physical_assault")
    given = record_consent(session=session, actor=t.caseworker, case=withdrawn, purpose="reporting", granted=True)
    withdraw_consent(session=session, actor=t.caseworker, case=withdrawn, consent_id=given.id)
    refused_later = _case_with_incident(session, t, kind="forced_marriage")
    record_consent(session=session, actor=t.caseworker, case=refused_later, purpose="reporting", granted=True)
    record_consent(session=session, actor=t.caseworker, case=refused_later, purpose="reporting", granted=False)
    services_only = _case_with_incident(session, t, kind="psychological_abuse")
    record_consent(session=session, actor=t.caseworker, case=services_only, purpose="services", granted=True)
    assert never is not None

    found = _counted(session)
    assert sorted(i.type for i in found) == ["rape", "sexual_assault"]
    rape = next(i for i in found if i.type == "rape")
    # The incident's own area and age; the case's sex when the incident has none.
    assert (rape.region, rape.cercle, rape.age, rape.sex) == ("ML09", "ML0901", "12-17", "f")


def test_consent_given_again_after_a_withdrawal_counts_again(session: Session) -> None:
    t = pf.team(session)
    case = _case_with_incident(session, t)
    given = record_consent(session=session, actor=t.caseworker, case=case, purpose="reporting", granted=True)
    withdraw_consent(session=session, actor=t.caseworker, case=case, consent_id=given.id)
    assert _counted(session) == []
    record_consent(session=session, actor=t.caseworker, case=case, purpose="reporting", granted=True)
    assert len(_counted(session)) == 1


def test_period_and_area_filters(session: Session) -> None:
    t = pf.team(session)
    for month, area in ((JUNE, f.BAMAKO_COMMUNE_IV), (date(2025, 1, 1), f.BAMAKO_COMMUNE_IV),
                        (JUNE, f.DOUENTZA), (JUNE, None)):
        case = _case_with_incident(session, t, month=month, area=area)
        record_consent(session=session, actor=t.caseworker, case=case, purpose="reporting", granted=True)
    assert len(_counted(session)) == 3  # the last 12 months: not January 2025
    # Without an area, the incident takes its case's (Mopti).
    assert sorted(i.cercle for i in _counted(session, area="ML05")) == ["ML0501", "ML0506"]
    assert len(_counted(session, area="ML0506")) == 1
    assert len(_counted(session, start="2025-01", end="2025-01")) == 1


def test_filters_as_typed(session: Session) -> None:
    f.places(session)
    filters, problems = st.parse_filters(session, today=TODAY)
    assert (filters.start, filters.end, filters.level) == (date(2025, 7, 1), JUNE, "region") and not problems
    filters, problems = st.parse_filters(session, area="ml0506", today=TODAY)
    assert filters.area == "ML0506" and filters.level == "cercle"
    _f, problems = st.parse_filters(session, start="2026-07", end="2026-07", area="ML090104", level="commune",
                                    today=TODAY)
    assert dict(problems).keys() == {"start", "end", "area", "level"}
    _f, problems = st.parse_filters(session, start="2023-01", end="2026-06", today=TODAY)
    assert problems == [("start", "At most 36 months at a time.")]
    _f, problems = st.parse_filters(session, start="2026-05", end="2026-04", today=TODAY)
    assert problems == [("start", "The first month comes after the last one.")]


def test_tables_chosen_by_their_dimensions() -> None:
    assert st.parse_by("") == (list(st.TABLES), None)
    assert st.parse_by("month,type age,sex") == (["type_month", "age_sex"], None)
    assert st.parse_by("type,area;type,area") == (["type_area"], None)
    names, problem = st.parse_by("type,perpetrator")
    assert names == [] and problem is not None and "type,perpetrator" in problem


def test_small_counts_are_hidden_the_same_way_in_every_table(session: Session) -> None:
    t = pf.team(session)
    for kind, n in (("rape", 6), ("sexual_assault", 3)):
        for _i in range(n):
            case = _case_with_incident(session, t, kind=kind)
            record_consent(session=session, actor=t.caseworker, case=case, purpose="reporting", granted=True)
    filters, _p = st.parse_year("2026", today=TODAY)
    stats = st.compute(session, t.caseworker, filters)
    by_name = {x.name: x for x in stats.tables}
    types = [code for code, _l in by_name["type_month"].rows]
    for name in ("type_month", "type_area"):
        totals = dict(zip(types, by_name[name].row_totals, strict=True))
        assert totals["sexual_assault"] is None and totals["rape"] is None and totals["physical_assault"] == 0
        assert by_name[name].total == 9
    assert by_name["age_sex"].total == 9


def test_a_viewer_may_not_read_statistics(session: Session) -> None:
    f.places(session)
    f.org(session, "PA")
    f.user(session, "view", "PA", role="viewer")
    filters, _p = st.parse_year(today=TODAY)
    with pytest.raises(Forbidden):
        st.compute(session, f.actor(session, "view"), filters)
