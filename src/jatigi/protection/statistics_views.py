"""GBVIMS statistics in the pages: the tables by type and month, type and area, age group and sex,
of one calendar year for all of Mali, and their CSV. What is counted is stated on the page.

Thin: protection.statistics counts consented cases only, pools every organisation, suppresses small
counts with their complements and audits the read. The year is in the address (a GET form); there is
no free period nor area filter, so that two pages cannot be subtracted to find a hidden count.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.places.service import units
from jatigi.protection import statistics as st
from jatigi.registry.views import FormProblems
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.PROTECTION_STATISTICS_READ))]


def area_choices(session: Session) -> list[tuple[str, str]]:
    """Regions, each followed by its cercles: (P-code, label)."""
    regions = list(units(session=session, level=1))
    cercles = list(units(session=session, level=2))
    out: list[tuple[str, str]] = []
    for region in sorted(regions, key=lambda u: u.name):
        out.append((region.pcode, f"{region.name} ({region.pcode})"))
        out += [(c.pcode, f"— {c.name} ({c.pcode})") for c in sorted(cercles, key=lambda u: u.name)
                if c.parent_pcode == region.pcode]
    return out


def _query(filters: st.Filters) -> dict[str, str]:
    return {"year": str(filters.start.year), "level": filters.level}


@router.get("/protection/statistics", response_class=HTMLResponse)
def statistics_page(request: Request, session: SessionDep, actor: Reader, year: str = "",
                    level: str = "") -> HTMLResponse:
    filters, found = st.parse_year(year[:10], level[:10])
    problems = FormProblems.of(found, st.label)
    values = {"year": year.strip()[:10] or str(filters.start.year), "level": level.strip()[:10] or filters.level}
    stats = None if problems else st.compute(session, actor, filters)
    csv_url = "/protection/statistics.csv?" + urlencode(_query(filters))
    return render(request, "protection/statistics_page.html", status_code=422 if problems else 200,
                  stats=stats, values=values, errors=problems.by_field, problems=problems.summary,
                  years=st.years(), levels=[(k, _(v)) for k, v in st.AREA_LEVELS.items()],
                  csv_url=csv_url, hxl_url=csv_url + "&hxl=1", counted=st.counted_statement(), hidden=st.HIDDEN,
                  month_label=st.month_label)


@router.get("/protection/statistics.csv")
def statistics_csv(session: SessionDep, actor: Reader, year: str = "", level: str = "", by: str = "",
                   hxl: str = "") -> Response:
    """The suppressed tables of one calendar year as CSV: one line per number, x where hidden."""
    filters, found = st.parse_year(year[:10], level[:10])
    wanted, by_problem = st.parse_by(by[:60])
    if by_problem:
        found.append(("by", by_problem))
    if found:
        text = " ".join(_("{field}: {message}", field=st.label(n), message=m) for n, m in found)
        return Response(text, status_code=422, media_type="text/plain; charset=utf-8")
    out = io.StringIO()
    st.write_csv(st.compute(session, actor, filters, wanted), out, hxl=hxl == "1")
    name = f"jatigi-gbv-statistics-{filters.start.year}-{filters.level}-{date.today().isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
