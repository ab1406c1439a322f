"""GBVIMS statistics: counts of GBV incidents by type, month, area, age group and sex that follow
the GBVIMS information-sharing rules.

- Only incidents of cases whose survivor consented to reporting count (the case's latest reporting
  consent granted and not withdrawn: `consent.consenting_to_reporting`).
- The incidents of every organisation are pooled; no agency is named, nor can be chosen as a filter.
- Counts from 1 to 4 are hidden, with complementary suppression (`protection.suppression`) so that
  no hidden count can be worked out from the totals or from the other tables of the same request.
  All the tables of a request — type x month, type x region, type x cercle, age group x sex — are
  suppressed together whatever is shown.
- Only fixed slices that do not overlap are published: one calendar year, all of Mali (every area, at
  region and cercle level, in the same suppressed tables). There is no free period nor area filter:
  two requests either ask for the same year — and get the same numbers, whatever tables or area level
  they show — or for two years, whose incidents are disjoint. So no hidden count can be had back by
  subtracting one request from another (`year_filters`, `compute`).

Every read is audited (what was asked, never what was found).
"""

from __future__ import annotations

import csv
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any, TextIO

import sqlalchemy as sa
from babel.dates import format_date
from sqlalchemy.orm import Session

from jatigi.core import audit, i18n
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.core.spreadsheet import safe_cell
from jatigi.places.models import AdminUnit
from jatigi.places.service import names_of
from jatigi.protection import vocab
from jatigi.protection.consent import consenting_to_reporting
from jatigi.protection.models import GbvIncident, ProtectionCase
from jatigi.protection.suppression import Published, Table, protect

HIDDEN = "x"  # every hidden count, small or complementary, looks the same
THRESHOLD = 5
MAX_MONTHS = 36
DEFAULT_MONTHS = 12
AREA_LEVELS = {"region": N_("Region"), "cercle": N_("Cercle")}
LEVEL_OF = {"region": 1, "cercle": 2}
UNKNOWN = "unknown"
TABLES = {
    "type_month": ("type", "month"),
    "type_area": ("type", "area"),
    "age_sex": ("age", "sex"),
}
TABLE_TITLES = {
    "type_month": N_("Incidents by type and month"),
    "type_area": N_("Incidents by type and area"),
    "age_sex": N_("Survivors by age group and sex"),
}
LABELS = {"start": N_("From (month)"), "end": N_("To (month)"), "area": N_("Area"), "level": N_("Areas by"),
          "by": N_("Tables"), "year": N_("Year")}
FIRST_YEAR = 2000


def label(name: str) -> str:
    return _(LABELS[name]) if name in LABELS else name


def first_of_month(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    months = d.year * 12 + d.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def month_label(d: date) -> str:
    return format_date(d, "MMM y", locale=i18n.current_language())


@dataclass(frozen=True)
class Filters:
    start: date  # first day of the first month
    end: date  # first day of the last month
    area: str | None = None  # a region's or cercle's P-code
    level: str = "region"  # areas of the type x area table: region or cercle

    def months(self) -> list[date]:
        out, m = [], self.start
        while m <= self.end:
            out.append(m)
            m = add_months(m, 1)
        return out

    def query(self) -> dict[str, str]:
        out = {"start": self.start.strftime("%Y-%m"), "end": self.end.strftime("%Y-%m"), "level": self.level}
        if self.area:
            out["area"] = self.area
        return out


def _month(text: str) -> date | None:
    """YYYY-MM (or a whole day, YYYY-MM-DD) -> the first day of that month."""
    text = text.strip()
    if len(text) not in (7, 10):
        return None
    try:
        return first_of_month(date.fromisoformat(text if len(text) == 10 else text + "-01"))
    except ValueError:
        return None


def parse_filters(session: Session, start: str = "", end: str = "", area: str = "", level: str = "",
                  today: date | None = None) -> tuple[Filters, list[tuple[str, str]]]:
    """Filters from what was typed (months as YYYY-MM), with problems by field."""
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    last = first_of_month(today)
    end_month = last
    if end.strip():
        found = _month(end)
        if found is None:
            problems.append(("end", _("Not a month; accepted: YYYY-MM, e.g. 2026-03.")))
        elif found > last:
            problems.append(("end", _("A month in the future is not accepted.")))
        else:
            end_month = found
    start_month = add_months(end_month, -(DEFAULT_MONTHS - 1))
    if start.strip():
        found = _month(start)
        if found is None:
            problems.append(("start", _("Not a month; accepted: YYYY-MM, e.g. 2026-03.")))
        elif found > end_month:
            problems.append(("start", _("The first month comes after the last one.")))
        elif found < add_months(end_month, -(MAX_MONTHS - 1)):
            problems.append(("start", _("At most {n} months at a time.", n=MAX_MONTHS)))
        else:
            start_month = found
    level = level.strip() or "region"
    if level not in AREA_LEVELS:
        problems.append(("level", _("Unknown choice; accepted: {accepted}.", accepted=", ".join(AREA_LEVELS))))
        level = "region"
    code = area.strip().upper() or None
    if code is not None:
        unit_level = session.scalar(sa.select(AdminUnit.level).where(AdminUnit.pcode == code))
        if unit_level is None or unit_level not in LEVEL_OF.values():
            problems.append(("area", _("Not the P-code of a region or a cercle, e.g. ML05 or ML0506.")))
            code = None
        elif unit_level == LEVEL_OF["cercle"]:
            level = "cercle"  # within a cercle, areas are cercles at most
    return Filters(start_month, end_month, code, level), problems


def year_filters(year: int, level: str = "region") -> Filters:
    """The one slice the statistics publish: a whole calendar year, all of Mali."""
    return Filters(date(year, 1, 1), date(year, 12, 1), None, level)


def is_published_slice(filters: Filters) -> bool:
    return filters.area is None and filters == year_filters(filters.start.year, filters.level)


def parse_year(year: str = "", level: str = "", today: date | None = None) -> tuple[Filters, list[tuple[str, str]]]:
    """The statistics' only choices: a calendar year (default this year) and the level of the area table."""
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    chosen = today.year
    text = year.strip()
    if text:
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            problems.append(("year", _("Not a year; accepted: four digits, e.g. {year}.", year=today.year)))
        elif not FIRST_YEAR <= int(text) <= today.year:
            problems.append(("year", _("Accepted: a year from {first} to {last}.", first=FIRST_YEAR,
                                       last=today.year)))
        else:
            chosen = int(text)
    level = level.strip() or "region"
    if level not in AREA_LEVELS:
        problems.append(("level", _("Unknown choice; accepted: {accepted}.", accepted=", ".join(AREA_LEVELS))))
        level = "region"
    return year_filters(chosen, level), problems


def years(today: date | None = None) -> list[int]:
    """The years one may choose, the latest first."""
    return list(range((today or date.today()).year, FIRST_YEAR - 1, -1))


def ancestors(session: Session) -> dict[str, tuple[str | None, str | None]]:
    """Each P-code's region and cercle (None above that level)."""
    units = {r.pcode: (r.level, r.parent_pcode) for r in session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.level, AdminUnit.parent_pcode))}

    def up_to(pcode: str, level: int) -> str | None:
        at: str | None = pcode
        while at is not None and at in units and units[at][0] > level:
            at = units[at][1]
        return at if at is not None and at in units and units[at][0] == level else None

    return {p: (up_to(p, 1), up_to(p, 2)) for p in units}


@dataclass(frozen=True)
class Incident:
    type: str
    month: date
    region: str
    cercle: str
    age: str
    sex: str


def counted_incidents(session: Session, filters: Filters) -> list[Incident]:
    """The incidents that count: consented cases only, every organisation pooled, in the period and area."""
    area = sa.func.coalesce(GbvIncident.area_pcode, ProtectionCase.area_pcode)
    rows = session.execute(
        sa.select(GbvIncident.incident_type, GbvIncident.incident_month, area.label("area"),
                  sa.func.coalesce(GbvIncident.survivor_age_group, ProtectionCase.age_group).label("age"),
                  sa.func.coalesce(GbvIncident.survivor_sex, ProtectionCase.sex).label("sex"))
        .join(ProtectionCase, ProtectionCase.id == GbvIncident.case_id)
        .where(consenting_to_reporting(), GbvIncident.incident_month >= filters.start,
               GbvIncident.incident_month < add_months(filters.end, 1), GbvIncident.incident_type.in_(list(vocab.GBV_TYPES))))
    up = ancestors(session)
    out: list[Incident] = []
    for r in rows:
        region, cercle = up.get(r.area, (None, None)) if r.area else (None, None)
        if filters.area and filters.area not in (region, cercle):
            continue
        out.append(Incident(type=r.incident_type, month=first_of_month(r.incident_month), region=region or UNKNOWN,
                            cercle=cercle or UNKNOWN, age=r.age if r.age in vocab.AGE_GROUPS else UNKNOWN,
                            sex=r.sex if r.sex in vocab.SEXES else UNKNOWN))
    return out


def _count(name: str, row_dim: str, col_dim: str, rows: list[Hashable], cols: list[Hashable],
           pairs: list[tuple[Hashable, Hashable]]) -> Table:
    table = Table(name, row_dim, col_dim, rows, cols)
    for pair in pairs:
        table.cells[pair] = table.cells.get(pair, 0) + 1
    return table


def _areas(incidents: list[Incident], attr: str) -> list[Hashable]:
    found = sorted({getattr(i, attr) for i in incidents} - {UNKNOWN})
    return [*found, UNKNOWN] if any(getattr(i, attr) == UNKNOWN for i in incidents) else list(found)


def build_tables(incidents: list[Incident], months: list[date]) -> list[Published]:
    """All the tables of a request, suppressed together: type x month, type x region, type x cercle,
    age group x sex (the area tables share the type totals; all share the grand total)."""
    types: list[Hashable] = list(vocab.GBV_TYPES)
    tables = [
        _count("type_month", "type", "month", types, list(months), [(i.type, i.month) for i in incidents]),
        _count("type_region", "type", "region", types, _areas(incidents, "region"),
               [(i.type, i.region) for i in incidents]),
        _count("type_cercle", "type", "cercle", types, _areas(incidents, "cercle"),
               [(i.type, i.cercle) for i in incidents]),
        _count("age_sex", "age", "sex", list(vocab.AGE_GROUPS), list(vocab.SEXES),
               [(i.age, i.sex) for i in incidents]),
    ]
    return protect(tables, THRESHOLD)


@dataclass(frozen=True)
class Shown:
    """One published table, with its labels: None where a count is hidden."""

    name: str
    title: str
    row_dim: str
    col_dim: str
    rows: list[tuple[str, str]]  # (code, label)
    cols: list[tuple[str, str]]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    col_totals: list[int | None]
    total: int | None


@dataclass(frozen=True)
class Statistics:
    filters: Filters
    tables: list[Shown]
    area_name: str | None


def _code(value: Hashable) -> str:
    return value.strftime("%Y-%m") if isinstance(value, date) else str(value)


def _shown(p: Published, name: str, col_dim: str, labels: dict[str, dict[str, str]]) -> Shown:
    t = p.table
    row_dim = t.row_dim

    def named(dim: str, value: Hashable) -> str:
        if isinstance(value, date):
            return month_label(value)
        if value == UNKNOWN and dim in ("area",):
            return _("Unknown area")
        return labels[dim].get(str(value), str(value))

    return Shown(name=name, title=_(TABLE_TITLES[name]), row_dim=row_dim, col_dim=col_dim,
                 rows=[(_code(r), named(row_dim, r)) for r in t.rows],
                 cols=[(_code(c), named(col_dim, c)) for c in t.cols],
                 cells=[[p.cell(r, c) for c in t.cols] for r in t.rows],
                 row_totals=[p.row_total(r) for r in t.rows], col_totals=[p.col_total(c) for c in t.cols],
                 total=p.total())


def compute(session: Session, actor: Actor, filters: Filters, wanted: list[str] | None = None) -> Statistics:
    """The published tables for these filters (`wanted`: names of TABLES; default all)."""
    actor.require(Permission.PROTECTION_STATISTICS_READ)
    if not is_published_slice(filters):
        raise ValidationFailed(_("GBV statistics are published by calendar year, for all of Mali."))
    wanted = [w for w in (wanted or list(TABLES)) if w in TABLES]
    incidents = counted_incidents(session, filters)
    published = {p.table.name: p for p in build_tables(incidents, filters.months())}
    area_key = "type_region" if filters.level == "region" else "type_cercle"
    area_codes = [str(c) for c in published[area_key].table.cols if c != UNKNOWN]
    places = names_of(session=session, pcodes=[*area_codes, filters.area])
    labels = {"type": {k: _(v) for k, v in vocab.GBV_TYPES.items()},
              "age": {k: _(v) for k, v in vocab.AGE_GROUPS.items()},
              "sex": {k: _(v) for k, v in vocab.SEXES.items()},
              "area": {p: f"{places.get(p, p)} ({p})" for p in area_codes}, "month": {}}
    sources = {"type_month": published["type_month"], "type_area": published[area_key],
               "age_sex": published["age_sex"]}
    tables = [_shown(sources[name], name, TABLES[name][1], labels) for name in wanted]
    audit.record(session, actor, "protection.statistics.read", "protection_statistics", None,
                 {"year": filters.start.year, "level": filters.level, "tables": wanted})
    return Statistics(filters=filters, tables=tables,
                      area_name=places.get(filters.area) if filters.area else None)


def cell_text(value: int | None) -> str:
    return HIDDEN if value is None else str(value)


def parse_by(text: str) -> tuple[list[str], str | None]:
    """`type,month;age,sex` or table names -> table names, or a problem."""
    if not text.strip():
        return list(TABLES), None
    out: list[str] = []
    for part in text.replace(";", " ").split():
        dims = tuple(d.strip().lower() for d in part.split(",") if d.strip())
        name = next((n for n, pair in TABLES.items() if dims in (pair, pair[::-1]) or dims == (n,)), None)
        if name is None:
            return [], _("Unknown table {value}; accepted: type,month, type,area, age,sex.", value=part)
        if name not in out:
            out.append(name)
    return out, None


CSV_COLUMNS = ("table", "row", "row_label", "column", "column_label", "count")
HXL_ROW = ("#meta+table", "#x_row+code", "#x_row+name", "#x_column+code", "#x_column+name", "#affected+num")


def write_csv(stats: Statistics, out: TextIO, hxl: bool = False) -> int:
    """The published tables as CSV, one line per number (totals under `total`); x where hidden."""
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    if hxl:
        w.writerow(HXL_ROW)
    n = 0
    total_label = _("Total")
    for t in stats.tables:
        for (row, row_label), values, row_total in zip(t.rows, t.cells, t.row_totals, strict=True):
            for (col, col_label), value in zip(t.cols, values, strict=True):
                w.writerow([t.name, row, safe_cell(row_label), col, safe_cell(col_label), cell_text(value)])
                n += 1
            w.writerow([t.name, row, safe_cell(row_label), "total", total_label, cell_text(row_total)])
            n += 1
        for (col, col_label), value in zip(t.cols, t.col_totals, strict=True):
            w.writerow([t.name, "total", total_label, col, safe_cell(col_label), cell_text(value)])
            n += 1
        w.writerow([t.name, "total", total_label, "total", total_label, cell_text(t.total)])
        n += 1
    return n


def as_json(stats: Statistics) -> dict[str, Any]:
    return {
        "filters": {"year": stats.filters.start.year, "start": stats.filters.start.strftime("%Y-%m"),
                    "end": stats.filters.end.strftime("%Y-%m"), "level": stats.filters.level},
        "counted": counted_statement(),
        "threshold": THRESHOLD,
        "tables": [{"name": t.name, "title": t.title, "rows_by": t.row_dim, "columns_by": t.col_dim,
                    "rows": [{"code": c, "label": lbl} for c, lbl in t.rows],
                    "columns": [{"code": c, "label": lbl} for c, lbl in t.cols],
                    "cells": t.cells, "row_totals": t.row_totals, "column_totals": t.col_totals, "total": t.total}
                   for t in stats.tables],
    }


def counted_statement() -> str:
    return _("Counted: GBV incidents of cases whose survivor consented to reporting (latest consent, not "
             "withdrawn), all organisations pooled, no organisation named. Counts from 1 to {n} and the numbers "
             "that would give them back are hidden ({mark}); zeros are shown.", n=THRESHOLD - 1, mark=HIDDEN) + " " + \
        _("Published by calendar year for all of Mali only, so that no two publications can be subtracted to find "
          "a hidden count.")
