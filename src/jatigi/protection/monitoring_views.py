"""Protection monitoring in the pages: the protection analysis (reports and people affected by
area, type and month, all organisations pooled), the form to record a report, the organisation's
own reports with their descriptions, and the import of a file of reports.

Thin: protection.monitoring checks every value, seals the description, keeps the list of
reports to the organisation that recorded them and audits.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.assistance import pages as ap
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number
from jatigi.protection import monitoring as mon
from jatigi.protection import statistics as st
from jatigi.protection import vocab
from jatigi.protection.statistics_views import area_choices
from jatigi.registry import vocab as registry_vocab
from jatigi.registry.problems import Problem
from jatigi.registry.views import Csrf, FormProblems, Posted
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.PROTECTION_STATISTICS_READ))]
Writer = Annotated[Actor, Depends(page_require(Permission.PROTECTION_MONITORING_WRITE))]


def _choices(codes: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, _(text)) for code, text in codes.items()]


@router.get("/protection/monitoring", response_class=HTMLResponse)
def analysis_page(request: Request, session: SessionDep, actor: Reader, start: str = "", end: str = "",
                  area: str = "", level: str = "") -> HTMLResponse:
    filters, found = st.parse_filters(session, start[:10], end[:10], area[:20], level[:10])
    problems = FormProblems.of(found, st.label)
    values = {"start": start.strip()[:10] or filters.start.strftime("%Y-%m"),
              "end": end.strip()[:10] or filters.end.strftime("%Y-%m"), "area": area.strip().upper()[:20],
              "level": level.strip()[:10] or filters.level}
    result = None if problems else mon.analysis(session, actor, filters)
    return render(request, "protection/monitoring_analysis.html", status_code=422 if problems else 200,
                  analysis=result, values=values, errors=problems.by_field, problems=problems.summary,
                  areas=area_choices(session), levels=_choices(st.AREA_LEVELS), month_label=st.month_label,
                  may_record=actor.can(Permission.PROTECTION_MONITORING_WRITE),
                  types=vocab.MONITORING_TYPES)


def _form(request: Request, session: Session, values: dict[str, Any], problems: FormProblems | None = None,
          status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    return render(request, "protection/monitoring_form.html", status_code=status_code, values=values,
                  errors=problems.by_field, problems=problems.summary,
                  type_choices=_choices(vocab.MONITORING_TYPES), source_choices=_choices(vocab.MONITORING_SOURCES),
                  group_choices=_choices(registry_vocab.POPULATION_GROUPS), max_description=mon.MAX_DESCRIPTION)


@router.get("/protection/monitoring/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: Writer) -> HTMLResponse:
    values: dict[str, Any] = dict.fromkeys(mon.FIELDS, "") | {"reported_on": date.today().isoformat(),
                                                             "people_affected": "1"}
    return _form(request, session, values)


@router.post("/protection/monitoring/new", response_class=HTMLResponse)
def record(request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    values = {name: str(form.get(name) or "") for name in mon.FIELDS}
    try:
        mon.record(session, actor, mon.NewReport(**values))
    except mon.ReportInvalid as exc:
        session.rollback()
        return _form(request, session, values, FormProblems.of(exc.problems, mon.label), status_code=422)
    return RedirectResponse("/protection/monitoring/reports?done=recorded", status_code=303)


def _reports(request: Request, session: Session, actor: Actor, page: str = "1", notice: str | None = None,
             problems: FormProblems | None = None, refused: list[Problem] | None = None,
             status_code: int = 200) -> HTMLResponse:
    number = page_number(page)
    total, rows = mon.own_reports(session, actor, offset=(number - 1) * mon.PAGE_SIZE)
    pages = max(1, -(-total // mon.PAGE_SIZE))

    def page_url(n: int) -> str | None:
        return f"/protection/monitoring/reports?{urlencode({'page': n})}" if 1 <= n <= pages else None

    problems = problems or FormProblems()
    return render(request, "protection/monitoring_reports.html", status_code=status_code, rows=rows, total=total,
                  page=number, pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1),
                  notice=notice, errors=problems.by_field, problems=problems.summary, refused=refused or [],
                  types=vocab.MONITORING_TYPES, sources=vocab.MONITORING_SOURCES,
                  groups=registry_vocab.POPULATION_GROUPS, month_label=st.month_label, columns=mon.FIELDS)


@router.get("/protection/monitoring/reports", response_class=HTMLResponse)
def reports_page(request: Request, session: SessionDep, actor: Writer, page: str = "1", done: str = "",
                 rows: str = "") -> HTMLResponse:
    notice = None
    if done == "recorded":
        notice = _("The report is recorded.")
    elif done == "imported" and (imported := whole_number(rows, 6)) is not None:
        notice = _("Reports imported: {n}.", n=imported)
    return _reports(request, session, actor, page, notice)


@router.post("/protection/monitoring/import", response_class=HTMLResponse)
def import_reports(request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    label = _("File of reports")
    upload = form.get("file")
    if not ap.is_upload(upload):
        return _reports(request, session, actor, problems=ap.one_problem(
            "file", label, _("Choose the file of reports (CSV or XLSX).")), status_code=422)
    try:
        with ap.saved_upload(upload, "reports.csv") as path:
            result = mon.import_file(session, actor, path)
    except mon.ImportInvalid as exc:
        session.rollback()
        return _reports(request, session, actor, problems=ap.one_problem("file", label, exc.message),
                        refused=exc.problems, status_code=422)
    except ValidationFailed as exc:
        session.rollback()
        return _reports(request, session, actor, problems=ap.one_problem("file", label, exc.message),
                        status_code=422)
    return RedirectResponse(f"/protection/monitoring/reports?done=imported&rows={result.added}", status_code=303)
