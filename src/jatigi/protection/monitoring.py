"""Protection monitoring: incident reports by area and type, without personal data, and the
protection analysis made of them — how many reports and how many people affected, by area (region
or cercle), type and month, over a period.

A report says when it was reported, the month of the incident, where (a P-code), what type
(vocab.MONITORING_TYPES), the population group, how many people were affected and of them how many
women and girls and how many children, the source (vocab.MONITORING_SOURCES) and a short
description. The description is sealed (core.crypto) in case someone wrote a name in it; the form
warns against it. The list of individual reports, with their descriptions, is shown only to the
organisation that recorded them (and each such read is audited); every other reader sees the
analysis, which pools all organisations and names none.

A file of reports (CSV or XLSX) is imported all or nothing: every row is checked first, and one
problem anywhere writes nothing; each problem is given with its row, column, value and what is
accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.errors import FieldsInvalid, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.places.models import AdminUnit
from jatigi.places.service import names_of
from jatigi.protection import vocab
from jatigi.protection.models import MonitoringReport
from jatigi.protection.statistics import UNKNOWN, Filters, add_months, ancestors, first_of_month, month_label
from jatigi.registry import vocab as registry_vocab
from jatigi.registry.problems import Problem
from jatigi.registry.sheets import read_any
from jatigi.registry.validate import parse_date

MAX_DESCRIPTION = 1000
MAX_PEOPLE = 100_000
EARLIEST = date(2000, 1, 1)
PAGE_SIZE = 50
MAX_ROWS = 20_000

FIELDS = ("reported_on", "incident_month", "area", "incident_type", "population_group", "people_affected",
          "women_and_girls", "children", "source", "description")
LABELS = {
    "reported_on": N_("Reported on"),
    "incident_month": N_("Month of the incident"),
    "area": N_("Area (P-code)"),
    "incident_type": N_("Type of incident"),
    "population_group": N_("Population group"),
    "people_affected": N_("People affected"),
    "women_and_girls": N_("Of whom women and girls"),
    "children": N_("Of whom children"),
    "source": N_("Source"),
    "description": N_("Short description"),
}
# Column names accepted in a file, besides the field's own name.
ALIASES = {"area_pcode": "area", "pcode": "area", "type": "incident_type", "month": "incident_month",
           "group": "population_group", "people": "people_affected"}
REQUIRED = ("incident_month", "area", "incident_type", "people_affected", "source")




class ReportInvalid(FieldsInvalid):
    """A report with problems, each with its field: nothing was written."""

    labels = LABELS


label = ReportInvalid.label


class ImportInvalid(ValidationFailed):
    """A file with problems: all of them, in `problems`; nothing was written."""

    def __init__(self, problems: list[Problem], rows: int) -> None:
        super().__init__(_("Nothing was written: {n} problems in {rows} rows.", n=len(problems), rows=rows))
        self.problems = problems


@dataclass
class NewReport:
    """A report as typed in a form, a command, an API call or a file's row: texts (or dates, numbers)."""

    reported_on: Any = ""
    incident_month: Any = ""
    area: Any = ""
    incident_type: Any = ""
    population_group: Any = ""
    people_affected: Any = ""
    women_and_girls: Any = ""
    children: Any = ""
    source: Any = ""
    description: Any = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(_text(value))


def _month(value: Any) -> date | None:
    if isinstance(value, date | datetime):
        return first_of_month(_day(value) or date.min)
    text = _text(value)
    if len(text) == 7 and text[4] in "-/":
        try:
            return date(int(text[:4]), int(text[5:7]), 1)
        except ValueError:
            return None
    found = parse_date(text)
    return first_of_month(found) if found else None


def _count(value: Any, required: bool) -> tuple[int | None, str | None]:
    text = _text(value)
    if not text:
        return None, (_("This value is required.") if required else None)
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_PEOPLE:
        return None, _("Not a number of people; accepted: a whole number from 0 to {max}.", max=MAX_PEOPLE)
    return int(text), None


def _choice(value: Any, codes: dict[str, str], required: bool) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, (_("This value is required.") if required else None)
    code = text.lower()
    if code not in codes:
        return None, _("Unknown choice; accepted: {accepted}.", accepted=", ".join(codes))
    return code, None


def check(new: NewReport, pcodes: dict[str, int], today: date) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The report's values checked against the code lists and the places (`pcodes`: P-code -> level)."""
    problems: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    reported = _day(new.reported_on) if _text(new.reported_on) or isinstance(new.reported_on, date) else today
    if reported is None:
        problems.append(("reported_on", _("Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")))
    elif reported > today:
        problems.append(("reported_on", _("A date in the future is not accepted.")))
    elif reported < EARLIEST:
        problems.append(("reported_on", _("Before {day}: not accepted.", day=EARLIEST.isoformat())))
    clean["reported_on"] = reported
    if not _text(new.incident_month) and not isinstance(new.incident_month, date):
        problems.append(("incident_month", _("This value is required.")))
    else:
        month = _month(new.incident_month)
        if month is None:
            problems.append(("incident_month", _("Not a month; accepted: YYYY-MM, e.g. 2026-03.")))
        elif reported is not None and month > first_of_month(reported):
            problems.append(("incident_month", _("After the day it was reported: an incident is reported after "
                                                 "it happened.")))
        elif month < EARLIEST:
            problems.append(("incident_month", _("Before {day}: not accepted.", day=EARLIEST.isoformat())))
        clean["incident_month"] = month
    area = _text(new.area).upper()
    if not area:
        problems.append(("area", _("This value is required.")))
    elif pcodes.get(area, 0) < 1:
        problems.append(("area", _("Unknown P-code; accepted: the P-code of a region, cercle, commune or "
                                   "quartier, e.g. ML090104.")))
    clean["area"] = area
    for name, codes, required in (("incident_type", vocab.MONITORING_TYPES, True),
                                  ("population_group", registry_vocab.POPULATION_GROUPS, False),
                                  ("source", vocab.MONITORING_SOURCES, True)):
        clean[name], problem = _choice(getattr(new, name), codes, required)
        if problem:
            problems.append((name, problem))
    people, problem = _count(new.people_affected, True)
    if problem:
        problems.append(("people_affected", problem))
    elif people == 0:
        problems.append(("people_affected", _("At least 1: a report is about someone affected.")))
    clean["people_affected"] = people
    for name in ("women_and_girls", "children"):
        clean[name], problem = _count(getattr(new, name), False)
        if problem:
            problems.append((name, problem))
        elif clean[name] is not None and people and clean[name] > people:
            problems.append((name, _("More than the people affected ({n}).", n=people)))
    description = str(new.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        problems.append(("description", _("At most {n} characters.", n=MAX_DESCRIPTION)))
    clean["description"] = description or None
    return clean, problems


def _pcodes(session: Session) -> dict[str, int]:
    return {r.pcode: r.level for r in session.execute(sa.select(AdminUnit.pcode, AdminUnit.level))}


def _row(actor: Actor, clean: dict[str, Any]) -> MonitoringReport:
    assert actor.org_id is not None
    return MonitoringReport(org_id=actor.org_id, reported_on=clean["reported_on"],
                            incident_month=clean["incident_month"], area_pcode=clean["area"],
                            incident_type=clean["incident_type"], population_group=clean["population_group"],
                            people_affected=clean["people_affected"], women_and_girls=clean["women_and_girls"],
                            children=clean["children"], source=clean["source"],
                            description_sealed=keyring().seal(clean["description"]), created_by=actor.user_id)


def _require_writer(actor: Actor) -> None:
    actor.require(Permission.PROTECTION_MONITORING_WRITE)
    if actor.org_id is None:
        raise ValidationFailed(_("Reports are recorded by a member of an organisation; act as one (--as)."))


def record(session: Session, actor: Actor, new: NewReport, today: date | None = None) -> MonitoringReport:
    """Record one report of the actor's organisation."""
    _require_writer(actor)
    clean, problems = check(new, _pcodes(session), today or date.today())
    if problems:
        raise ReportInvalid(problems)
    report = _row(actor, clean)
    session.add(report)
    session.flush()
    audit.record(session, actor, "protection.monitoring.create", "protection_monitoring_report", report.id,
                 {"area": report.area_pcode, "type": report.incident_type,
                  "month": report.incident_month.strftime("%Y-%m")})
    return report


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0


def _columns(name: str, headers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for position, header in enumerate(headers):
        bare = header.strip().rsplit("/", 1)[-1].strip().lower()
        key = ALIASES.get(bare, bare)
        if key in FIELDS:
            if key in found:
                raise ValidationFailed(_("{file}: the columns {first} and {second} both hold {name}; keep one.",
                                         file=name, first=headers[found[key]], second=header, name=key))
            found[key] = position
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise ValidationFailed(_("{file}: no column for {what}; accepted: {accepted}.", file=name,
                                 what=", ".join(missing), accepted=", ".join(FIELDS)))
    return found


def import_file(session: Session, actor: Actor, path: Path, delimiter: str | None = None,
                today: date | None = None) -> ImportResult:
    """Import a file of reports for the actor's organisation: all rows or none."""
    _require_writer(actor)
    sheets = read_any(path, delimiter)
    if not sheets:
        raise ValidationFailed(_("{file} is empty.", file=path.name))
    sheet = sheets[0]
    name = path.name
    cols = _columns(name, sheet.headers)
    pcodes = _pcodes(session)
    today = today or date.today()
    result = ImportResult()
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    for number, cells in sheet.rows:
        if not any(_text(c) for c in cells):
            continue
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise ValidationFailed(_("{file}: more than {n} rows; split the file.", file=name, n=MAX_ROWS))
        values = {k: cells[at] if at < len(cells) else None for k, at in cols.items()}
        clean, found = check(NewReport(**values), pcodes, today)
        for field_name, message in found:
            shown = _text(values.get(field_name))
            problems.append(Problem(name, number, sheet.headers[cols[field_name]] if field_name in cols else field_name,
                                    shown[:80], message))
        rows.append(clean)
    if problems:
        raise ImportInvalid(problems, result.rows)
    for clean in rows:
        session.add(_row(actor, clean))
    session.flush()
    result.added = len(rows)
    audit.record(session, actor, "protection.monitoring.import", "protection_monitoring_report", None,
                 {"file": name, "rows": result.rows, "added": result.added})
    return result


# ---- the organisation's own reports -------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    report: MonitoringReport
    area_name: str
    description: str | None


def own_reports(session: Session, actor: Actor, offset: int = 0,
                limit: int = PAGE_SIZE) -> tuple[int, list[ReportRow]]:
    """The reports of the actor's organisation, the latest first, with their descriptions (audited)."""
    _require_writer(actor)
    where = [MonitoringReport.org_id == actor.org_id]
    total = session.scalar(sa.select(sa.func.count()).select_from(MonitoringReport).where(*where)) or 0
    found = list(session.scalars(sa.select(MonitoringReport).where(*where)
                                 .order_by(MonitoringReport.reported_on.desc(), MonitoringReport.id.desc())
                                 .offset(offset).limit(limit)))
    names = names_of(session=session, pcodes=[r.area_pcode for r in found])
    ring = keyring()
    rows = [ReportRow(r, names.get(r.area_pcode, r.area_pcode), ring.open(r.description_sealed)) for r in found]
    if rows:
        audit.record(session, actor, "protection.monitoring.read", "protection_monitoring_report", None,
                     {"reports": [r.id for r in found]})
    return total, rows


# ---- the protection analysis ---------------------------------------------------------------------


@dataclass
class Line:
    """Reports and people affected in one area, type or month."""

    code: str
    label: str = ""
    reports: int = 0
    people: int = 0
    women_and_girls: int = 0
    children: int = 0

    def add(self, people: int, women: int | None, children: int | None) -> None:
        self.reports += 1
        self.people += people
        self.women_and_girls += women or 0
        self.children += children or 0


@dataclass
class Analysis:
    filters: Filters
    by_area: list[Line] = field(default_factory=list)
    by_type: list[Line] = field(default_factory=list)
    by_month: list[Line] = field(default_factory=list)
    area_type: dict[tuple[str, str], int] = field(default_factory=dict)  # reports by (area, type)
    total: Line = field(default_factory=lambda: Line("total"))


def analysis(session: Session, actor: Actor, filters: Filters) -> Analysis:
    """Counts of reports and people affected by area, type and month, all organisations pooled."""
    actor.require(Permission.PROTECTION_STATISTICS_READ)
    t = MonitoringReport
    rows = session.execute(sa.select(t.area_pcode, t.incident_type, t.incident_month, t.people_affected,
                                     t.women_and_girls, t.children)
                           .where(t.incident_month >= filters.start, t.incident_month < add_months(filters.end, 1)))
    up = ancestors(session)
    at = 0 if filters.level == "region" else 1
    areas: dict[str, Line] = {}
    types: dict[str, Line] = {}
    months = {m: Line(m.strftime("%Y-%m"), month_label(m)) for m in filters.months()}
    out = Analysis(filters)
    for r in rows:
        region, cercle = up.get(r.area_pcode, (None, None))
        if filters.area and filters.area not in (region, cercle):
            continue
        area = (region, cercle)[at] or UNKNOWN
        for line in (areas.setdefault(area, Line(area)), types.setdefault(r.incident_type, Line(r.incident_type)),
                     months[first_of_month(r.incident_month)], out.total):
            line.add(r.people_affected, r.women_and_girls, r.children)
        key = (area, r.incident_type)
        out.area_type[key] = out.area_type.get(key, 0) + 1
    names = names_of(session=session, pcodes=list(areas))
    for line in areas.values():
        line.label = f"{names[line.code]} ({line.code})" if line.code in names else _("Unknown area")
    for line in types.values():
        line.label = _(vocab.MONITORING_TYPES.get(line.code, line.code))
    out.by_area = sorted(areas.values(), key=lambda x: (-x.people, x.label))
    out.by_type = sorted(types.values(), key=lambda x: (-x.people, x.label))
    out.by_month = list(months.values())
    audit.record(session, actor, "protection.monitoring.analysis", "protection_monitoring_report", None,
                 filters.query())
    return out

