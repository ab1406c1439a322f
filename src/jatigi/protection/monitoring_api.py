"""The JSON API of protection monitoring: record a report, list the organisation's own reports
(with their descriptions; the read is audited), and the protection analysis (all organisations
pooled). Bad input answers 422 with each field and its reason.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from jatigi.core.authz import Actor, Permission
from jatigi.places.service import names_of
from jatigi.protection import monitoring as mon
from jatigi.protection import statistics as st
from jatigi.protection.statistics_api import refused
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection monitoring"])

Writer = Annotated[Actor, Depends(require(Permission.PROTECTION_MONITORING_WRITE))]
Reader = Annotated[Actor, Depends(require(Permission.PROTECTION_STATISTICS_READ))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reported_on: date | None = Field(None, description="Default: today.")
    incident_month: str = Field(max_length=10, description="YYYY-MM.")
    area: str = Field(max_length=20, description="A P-code (region, cercle, commune or quartier).")
    incident_type: str = Field(max_length=30, description="One of the monitoring types (see docs/PROTECTION.md).")
    population_group: str | None = Field(None, max_length=30, description="idp, idp_returned, host, ….")
    people_affected: int = Field(ge=0, le=mon.MAX_PEOPLE)
    women_and_girls: int | None = Field(None, ge=0, le=mon.MAX_PEOPLE)
    children: int | None = Field(None, ge=0, le=mon.MAX_PEOPLE)
    source: str = Field(max_length=20, description="key_informant, focus_group, observation, household_visit, "
                                                   "hotline, partner.")
    description: str | None = Field(None, max_length=mon.MAX_DESCRIPTION, description="Short, without any name "
                                                                                      "(sealed).")


class ReportOut(BaseModel):
    id: int
    reported_on: date
    incident_month: str
    area: str
    area_name: str
    incident_type: str
    population_group: str | None
    people_affected: int
    women_and_girls: int | None
    children: int | None
    source: str
    description: str | None


class ReportPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReportOut]


class LineOut(BaseModel):
    code: str
    label: str
    reports: int
    people_affected: int
    women_and_girls: int
    children: int


class AnalysisOut(BaseModel):
    start: str
    end: str
    area: str | None
    level: str
    total: LineOut
    by_area: list[LineOut]
    by_type: list[LineOut]
    by_month: list[LineOut]


def _out(row: mon.ReportRow) -> ReportOut:
    r = row.report
    return ReportOut(id=r.id, reported_on=r.reported_on, incident_month=r.incident_month.strftime("%Y-%m"),
                     area=r.area_pcode, area_name=row.area_name, incident_type=r.incident_type,
                     population_group=r.population_group, people_affected=r.people_affected,
                     women_and_girls=r.women_and_girls, children=r.children, source=r.source,
                     description=row.description)


def _line(line: mon.Line) -> LineOut:
    return LineOut(code=line.code, label=line.label, reports=line.reports, people_affected=line.people,
                   women_and_girls=line.women_and_girls, children=line.children)


@router.post("/protection/monitoring/reports", response_model=ReportOut, status_code=status.HTTP_201_CREATED,
             responses=REFUSED)
def create_report(body: ReportIn, session: SessionDep, actor: Writer) -> ReportOut | JSONResponse:
    """Record a monitoring report of your organisation: no names, no personal data."""
    values = body.model_dump()
    new = mon.NewReport(**{k: ("" if v is None else v) for k, v in values.items()})
    try:
        report = mon.record(session, actor, new)
    except mon.ReportInvalid as exc:
        session.rollback()
        return refused(exc.problems, {k: "" if v is None else str(v) for k, v in values.items()})
    name = names_of(session=session, pcodes=[report.area_pcode]).get(report.area_pcode, report.area_pcode)
    return _out(mon.ReportRow(report, name, body.description or None))


@router.get("/protection/monitoring/reports", response_model=ReportPage)
def list_reports(session: SessionDep, actor: Writer, limit: int = Query(mon.PAGE_SIZE, ge=1, le=500),
                 offset: int = Query(0, ge=0, le=2**62)) -> ReportPage:
    """Your organisation's reports, the latest first, with their descriptions (the read is audited)."""
    total, rows = mon.own_reports(session, actor, offset=offset, limit=limit)
    return ReportPage(total=total, limit=limit, offset=offset, items=[_out(r) for r in rows])


@router.get("/protection/monitoring/analysis", response_model=AnalysisOut, responses=REFUSED)
def get_analysis(session: SessionDep, actor: Reader,
                 start: str = Query("", max_length=10, description="First month, YYYY-MM."),
                 end: str = Query("", max_length=10, description="Last month, YYYY-MM (default: this month)."),
                 area: str = Query("", max_length=20, description="A region's or cercle's P-code."),
                 level: str = Query("", max_length=10, description="region or cercle.")) -> AnalysisOut | JSONResponse:
    """Reports and people affected by area, type and month, all organisations pooled."""
    filters, problems = st.parse_filters(session, start, end, area, level)
    if problems:
        return refused(problems, {"start": start, "end": end, "area": area, "level": level})
    a = mon.analysis(session, actor, filters)
    return AnalysisOut(start=filters.start.strftime("%Y-%m"), end=filters.end.strftime("%Y-%m"), area=filters.area,
                       level=filters.level, total=_line(a.total), by_area=[_line(x) for x in a.by_area],
                       by_type=[_line(x) for x in a.by_type], by_month=[_line(x) for x in a.by_month])
