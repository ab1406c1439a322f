"""The GBV statistics publish only fixed slices that do not overlap — one calendar year, all of Mali —
so that no two requests the interface allows can be subtracted to give back a hidden count."""

from __future__ import annotations

import inspect
from datetime import date
from itertools import combinations

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from jatigi.core.errors import ValidationFailed
from jatigi.protection import statistics as st
from jatigi.protection import statistics_api, statistics_views
from jatigi.protection.consent import record_consent
from jatigi.protection.models import GbvIncident
from tests import factories as f
from tests import protection_factories as pf

TODAY = date(2014, 3, 10)


def _incident(session: Session, team: pf.Team, month: date, kind: str = "rape", area: str = f.BAMAKO_COMMUNE_IV) -> None:
    case = pf.case(session, team.caseworker, team.supervisor, area_pcode=area)
    session.add(GbvIncident(case_id=case.id, incident_type=kind, incident_month=month, report_date=month,
                            area_pcode=area))
    session.flush()
    record_consent(session=session, actor=team.caseworker, case=case, purpose="reporting", granted=True)


def test_the_only_choices_are_a_year_and_the_level_of_the_area_table() -> None:
    filters, problems = st.parse_year(today=TODAY)
    assert filters == st.year_filters(2014) and not problems
    filters, problems = st.parse_year("2013", "cercle", today=TODAY)
    assert (filters.start, filters.end, filters.area, filters.level) == (date(2013, 1, 1), date(2013, 12, 1),
                                                                         None, "cercle")
    for bad in ("2013-04", "13", "2015", "1999"):
        _f, problems = st.parse_year(bad, today=TODAY)
        assert [name for name, _m in problems] == ["year"], bad
    # What the pages, the CSV and the API accept: nothing else can choose what is counted.
    pages = {route.path: set(inspect.signature(route.endpoint).parameters)
             for route in statistics_views.router.routes if isinstance(route, APIRoute)}
    api = {route.path: set(inspect.signature(route.endpoint).parameters)
           for route in statistics_api.router.routes if isinstance(route, APIRoute)}
    assert pages["/protection/statistics"] - {"request", "session", "actor"} == {"year", "level"}
    assert pages["/protection/statistics.csv"] - {"session", "actor"} == {"year", "level", "by", "hxl"}
    assert api == {"/protection/statistics": {"session", "actor", "year", "level", "by"}}


def test_a_free_period_or_area_is_refused(session: Session) -> None:
    team = pf.team(session)
    for filters in (st.Filters(date(2013, 4, 1), date(2013, 5, 1)), st.Filters(date(2013, 5, 1), date(2013, 5, 1)),
                    st.Filters(date(2013, 1, 1), date(2013, 12, 1), area="ML09")):
        with pytest.raises(ValidationFailed):
            st.compute(session, team.caseworker, filters)


def _published(session: Session, actor: object, year: int, level: str, wanted: list[str]) -> dict[tuple, int | None]:
    """Every number a request shows, by (table, row, column), totals included."""
    stats = st.compute(session, actor, st.year_filters(year, level), wanted)  # type: ignore[arg-type]
    out: dict[tuple, int | None] = {}
    for t in stats.tables:
        name = t.name if t.name != "type_area" else f"type_{level}"
        for (row, _rl), cells, row_total in zip(t.rows, t.cells, t.row_totals, strict=True):
            out |= {(name, row, col): v for (col, _cl), v in zip(t.cols, cells, strict=True)}
            out[(name, row, "total")] = row_total
        out |= {(name, "total", col): v for (col, _cl), v in zip(t.cols, t.col_totals, strict=True)}
        out[(name, "total", "total")] = t.total
    return out


def test_no_two_allowed_requests_can_be_subtracted_to_find_a_hidden_count(session: Session) -> None:
    team = pf.team(session)
    # April 2013: 6 rapes; May 2013: 2 (a small count) — the old free period let 04..05 minus 05..05 give May back.
    for month, n in ((date(2013, 4, 1), 6), (date(2013, 5, 1), 2), (date(2014, 1, 1), 7), (date(2014, 2, 1), 1)):
        for _i in range(n):
            _incident(session, team, month)
    _incident(session, team, date(2013, 6, 1), kind="sexual_assault", area=f.DOUENTZA)

    choices = [(year, level, wanted) for year in (2013, 2014) for level in st.AREA_LEVELS
               for wanted in (list(st.TABLES), ["type_month"], ["type_area"], ["age_sex"])]
    by_year: dict[int, dict[tuple, int | None]] = {}
    for year, level, wanted in choices:
        seen = _published(session, team.caseworker, year, level, wanted)
        known = by_year.setdefault(year, {})
        for cell, value in seen.items():
            # Every request of a year shows the same number for the same cell: re-asking teaches nothing.
            assert known.setdefault(cell, value) == value, (year, level, wanted, cell)
    may = by_year[2013][("type_month", "rape", "2013-05")]
    assert may is None and by_year[2013][("type_month", "rape", "2013-04")] is None  # its complement hides too
    # Two years are disjoint slices: no incident counts in both, so one cannot be subtracted from the other.
    for a, b in combinations((2013, 2014), 2):
        in_a = st.counted_incidents(session, st.year_filters(a))
        in_b = st.counted_incidents(session, st.year_filters(b))
        assert {i.month.year for i in in_a} == {a} and {i.month.year for i in in_b} == {b}
    assert len(st.counted_incidents(session, st.year_filters(2013))) == 9
