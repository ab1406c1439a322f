"""The JSON API of GBVIMS statistics: the suppressed tables of one calendar year, all of Mali.

Consented cases only, every organisation pooled and none named, counts from 1 to 4 hidden with
their complements (null in `cells` and totals). Bad input answers 422 with each field and its reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import _
from jatigi.protection import statistics as st
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection statistics"])

Reader = Annotated[Actor, Depends(require(Permission.PROTECTION_STATISTICS_READ))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}


class Heading(BaseModel):
    code: str
    label: str


class TableOut(BaseModel):
    name: str
    title: str
    rows_by: str
    columns_by: str
    rows: list[Heading]
    columns: list[Heading]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None


class FiltersOut(BaseModel):
    year: int
    start: str
    end: str
    level: str


class StatisticsOut(BaseModel):
    filters: FiltersOut
    counted: str
    threshold: int
    tables: list[TableOut]


def refused(problems: list[tuple[str, str]], values: dict[str, str]) -> JSONResponse:
    shown = [{"sheet": "request", "row": 1, "column": name, "value": values.get(name, "")[:80], "message": message}
             for name, message in problems]
    return JSONResponse({"detail": _("The request was not accepted: {n} problems.", n=len(shown)),
                         "problem_count": len(shown), "problems": shown}, status_code=422)


@router.get("/protection/statistics", response_model=StatisticsOut, responses=REFUSED)
def get_statistics(session: SessionDep, actor: Reader,
                   year: str = Query("", max_length=10, description="The calendar year, e.g. 2025 (default: this "
                                                                    "year). Statistics are published by whole year "
                                                                    "for all of Mali only."),
                   level: str = Query("", max_length=10, description="Areas of the type x area table: region or "
                                                                      "cercle (both suppressed together)."),
                   by: str = Query("", max_length=60, description="Tables: type,month type,area age,sex "
                                                                  "(separated by spaces or ;); default all."),
                   ) -> StatisticsOut | JSONResponse:
    """GBV incidents of consented cases of one calendar year by type and month, type and area, age group and
    sex; null where a count is hidden."""
    filters, problems = st.parse_year(year, level)
    wanted, by_problem = st.parse_by(by)
    if by_problem:
        problems.append(("by", by_problem))
    if problems:
        return refused(problems, {"year": year, "level": level, "by": by})
    return StatisticsOut.model_validate(st.as_json(st.compute(session, actor, filters, wanted)))
