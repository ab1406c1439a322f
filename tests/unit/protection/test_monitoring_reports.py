"""Protection monitoring reports: every value checked, the description sealed, files imported all
or nothing, and the analysis pooling every organisation by area, type and month."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor
from jatigi.core.errors import Forbidden
from jatigi.protection import monitoring as mon
from jatigi.protection import statistics as st
from jatigi.protection.models import MonitoringReport
from tests import factories as f
from tests import protection_factories as pf

TODAY = date(2026, 6, 15)
PCODES = {"ML09": 1, "ML0901": 2, "ML090104": 3, "ML": 0}


def _new(**overrides: object) -> mon.NewReport:
    values: dict[str, object] = {"reported_on": "2026-06-10", "incident_month": "2026-05", "area": "ml090104",
                                 "incident_type": "survival_sex", "population_group": "idp", "people_affected": "4",
                                 "women_and_girls": "4", "children": "1", "source": "key_informant",
                                 "description": "Trois jeunes filles au site de Faladié"}
    values.update(overrides)
    return mon.NewReport(**values)


def test_a_good_report_is_cleaned() -> None:
    clean, problems = mon.check(_new(), PCODES, TODAY)
    assert problems == []
    assert clean["area"] == "ML090104" and clean["incident_month"] == date(2026, 5, 1)
    assert clean["people_affected"] == 4 and clean["women_and_girls"] == 4 and clean["children"] == 1
    clean, problems = mon.check(_new(reported_on="", incident_month="15/05/2026", population_group="",
                                     women_and_girls="", children=""), PCODES, TODAY)
    assert problems == [] and clean["reported_on"] == TODAY and clean["incident_month"] == date(2026, 5, 1)
    assert clean["population_group"] is None and clean["children"] is None


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"reported_on": "2026-07-01"}, "reported_on", "A date in the future is not accepted."),
    ({"incident_month": "2026-13"}, "incident_month", "Not a month; accepted: YYYY-MM, e.g. 2026-03."),
    ({"incident_month": "2026-07"}, "incident_month", "After the day it was reported"),
    ({"incident_month": ""}, "incident_month", "This value is required."),
    ({"area": "ML"}, "area", "Unknown P-code"),
    ({"area": "ML77"}, "area", "Unknown P-code"),
    ({"incident_type": "theft"}, "incident_type", "Unknown choice; accepted: gbv_rape"),
    ({"population_group": "nomad"}, "population_group", "Unknown choice; accepted: idp"),
    ({"source": ""}, "source", "This value is required."),
    ({"people_affected": "0"}, "people_affected", "At least 1"),
    ({"people_affected": "-3"}, "people_affected", "Not a number of people"),
    ({"people_affected": "200000"}, "people_affected", "Not a number of people"),
    ({"children": "5"}, "children", "More than the people affected (4)."),
    ({"description": "x" * 1001}, "description", "At most 1000 characters."),
])
def test_bad_values_are_refused_with_their_field(overrides: dict[str, str], field: str, message: str) -> None:
    _clean, problems = mon.check(_new(**overrides), PCODES, TODAY)
    assert [p for p in problems if p[0] == field and p[1].startswith(message)], problems


def _team(session: Session) -> tuple[Actor, Actor, Actor]:
    t = pf.team(session)
    f.user(session, "im", "PA", role="im_officer")
    return t.caseworker, t.outsider, f.actor(session, "im")


def test_record_seals_the_description_and_only_the_organisation_lists_it(session: Session) -> None:
    mine, other, im = _team(session)
    report = mon.record(session, mine, _new(), today=TODAY)
    assert "Faladié" not in (report.description_sealed or "")
    total, rows = mon.own_reports(session, mine)
    assert total == 1 and rows[0].description == "Trois jeunes filles au site de Faladié"
    assert rows[0].area_name == "Commune IV"
    assert mon.own_reports(session, other) == (0, [])
    with pytest.raises(Forbidden):
        mon.own_reports(session, im)
    with pytest.raises(Forbidden):
        mon.record(session, im, _new(), today=TODAY)
    with pytest.raises(mon.ReportInvalid) as refused:
        mon.record(session, mine, _new(area="", source="tv"), today=TODAY)
    assert [name for name, _m in refused.value.problems] == ["area", "source"]
    assert session.scalar(sa.select(sa.func.count()).select_from(MonitoringReport)) == 1


def test_a_file_is_imported_all_or_nothing(session: Session, tmp_path: Path) -> None:
    mine, _other, _im = _team(session)
    path = tmp_path / "reports.csv"
    path.write_text("Incident_Month;PCODE;Type;People_Affected;Source;Children\n"
                    "2026-05;ML0506;child_recruitment;3;hotline;3\n"
                    "2026-05;ML0506;child_recruitment;3;hotline;4\n"
                    "2026-05;ML0999;child_recruitment;3;hotline;\n", encoding="utf-8")
    with pytest.raises(mon.ImportInvalid) as refused:
        mon.import_file(session, mine, path, today=TODAY)
    assert [(p.row, p.column, p.value) for p in refused.value.problems] == [(3, "Children", "4"), (4, "PCODE", "ML0999")]
    assert session.scalar(sa.select(sa.func.count()).select_from(MonitoringReport)) == 0
    path.write_text("incident_month,area,incident_type,people_affected,source\n2026-05,ML0506,child_labour,3,hotline\n",
                    encoding="utf-8")
    assert mon.import_file(session, mine, path, today=TODAY).added == 1
    missing = tmp_path / "missing.csv"
    missing.write_text("incident_month,area\n2026-05,ML0506\n", encoding="utf-8")
    with pytest.raises(mon.ValidationFailed, match="no column for incident_type, people_affected, source"):
        mon.import_file(session, mine, missing, today=TODAY)


def test_the_analysis_pools_every_organisation(session: Session) -> None:
    mine, other, im = _team(session)
    mon.record(session, mine, _new(), today=TODAY)
    mon.record(session, other, _new(area="ML0506", people_affected="10", women_and_girls="6", children="0",
                                     incident_type="forced_eviction", incident_month="2026-06"), today=TODAY)
    mon.record(session, other, _new(area="ML0501", incident_month="2024-01", reported_on="2024-02-01"), today=TODAY)
    filters, _p = st.parse_filters(session, today=TODAY)
    result = mon.analysis(session, im, filters)
    assert (result.total.reports, result.total.people, result.total.women_and_girls, result.total.children) == \
        (2, 14, 10, 1)
    assert [(x.code, x.people) for x in result.by_area] == [("ML05", 10), ("ML09", 4)]
    assert [(x.code, x.label) for x in result.by_type] == [("forced_eviction", "Forced eviction"),
                                                          ("survival_sex", "Sex for survival")]
    by_month = {x.code: x.reports for x in result.by_month}
    assert by_month["2026-05"] == 1 and by_month["2026-06"] == 1 and len(by_month) == 12
    cercles, _p = st.parse_filters(session, area="ML05", level="cercle", today=TODAY)
    assert [x.code for x in mon.analysis(session, im, cercles).by_area] == ["ML0506"]


def test_an_xlsx_file_with_dates_as_cells(session: Session, tmp_path: Path) -> None:
    from openpyxl import Workbook

    mine, _other, _im = _team(session)
    book = Workbook()
    sheet = book.active
    sheet.append(["reported_on", "incident_month", "area", "incident_type", "people_affected", "source"])
    sheet.append([date(2026, 6, 2), date(2026, 5, 20), "ML0506", "explosive_hazard", 7, "observation"])
    path = tmp_path / "reports.xlsx"
    book.save(path)
    assert mon.import_file(session, mine, path, today=TODAY).added == 1
    stored = session.scalar(sa.select(MonitoringReport))
    assert stored is not None and stored.incident_month == date(2026, 5, 1) and stored.people_affected == 7
