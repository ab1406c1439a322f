"""The service directory — the referral pathway: who offers which service, where, how to reach
them and when they are open.

A service is placed in an administrative unit (a P-code). Listing by area shows the services of
that unit, of the units above it (a commune's list shows its cercle's and region's services) and
of the units inside it. A service whose provider is an organisation using Jatigi can receive
referrals here; a provider named only by its name is reached by phone or in person.

The directory holds no personal data: adding, changing, importing and exporting it are audited
as acts on the directory (entity "protection_service"), not on cases.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import utcnow
from jatigi.core.errors import FieldsInvalid, Forbidden, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.core.spreadsheet import safe_cell
from jatigi.places.models import AdminUnit
from jatigi.protection import vocab
from jatigi.protection.models import Service
from jatigi.registry.sheets import read_any

PAGE_SIZE = 50
MAX_IMPORT_ROWS = 5000
COLUMNS = ("name", "service_type", "organisation", "provider_name", "area_pcode", "address", "phone", "email",
           "opening_hours", "notes", "active")
REQUIRED_COLUMNS = ("name", "service_type", "area_pcode")
LIMITS = {"name": 200, "organisation": 40, "provider_name": 200, "area_pcode": 32, "address": 300, "phone": 40,
          "email": 200, "opening_hours": 200, "notes": 500}
LABELS = {
    "name": N_("Name of the service"),
    "service_type": N_("Type of service"),
    "organisation": N_("Provider organisation"),
    "provider_name": N_("Provider"),
    "area_pcode": N_("Area (P-code)"),
    "address": N_("Address"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "opening_hours": N_("Opening hours"),
    "notes": N_("Notes"),
    "active": N_("Active"),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+() .\-/]{4,40}$")
_YES = {"1", "yes", "y", "true", "oui", "o", "vrai", "x"}
_NO = {"0", "no", "n", "false", "non", "faux"}




class ServiceInvalid(FieldsInvalid):
    """A service with problems, each with its field: nothing was written."""

    labels = LABELS


label = ServiceInvalid.label


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    value: str
    message: str


class ImportInvalid(ValidationFailed):
    """A directory file with bad rows: nothing of it was written."""

    def __init__(self, file: str, problems: list[RowProblem]) -> None:
        super().__init__(_("{file}: {n} problems; nothing was imported.", file=file, n=len(problems)))
        self.file = file
        self.problems = problems


@dataclass
class ServiceIn:
    """A service as typed in a form, a file row or a request: texts, checked by `check`."""

    name: str = ""
    service_type: str = ""
    organisation: str = ""  # the acronym of a Jatigi organisation, or empty
    provider_name: str = ""
    area_pcode: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    opening_hours: str = ""
    notes: str = ""
    active: bool = True

    @classmethod
    def of(cls, values: dict[str, Any]) -> ServiceIn:
        texts = {f.name: str(values.get(f.name) or "").strip() for f in fields(cls) if f.name != "active"}
        return cls(**texts, active=bool(values.get("active", True)))


def _accepted(codes: dict[str, str] | tuple[str, ...]) -> str:
    return ", ".join(codes)


def check(session: Session, data: ServiceIn) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The column values of a service, or the problems of each field."""
    problems: list[tuple[str, str]] = []
    for name, limit in LIMITS.items():
        value = getattr(data, name)
        if len(value) > limit:
            problems.append((name, _("At most {n} characters.", n=limit)))
    for name in ("name", "service_type", "area_pcode"):
        if not getattr(data, name):
            problems.append((name, _("This value is required.")))
    if data.service_type and data.service_type not in vocab.SERVICE_TYPES:
        problems.append(("service_type", _("Unknown type of service; accepted: {accepted}.",
                                           accepted=_accepted(vocab.SERVICE_TYPES))))
    area = data.area_pcode.upper()
    if area and session.get(AdminUnit, area) is None:
        problems.append(("area_pcode", _("Unknown P-code; accepted: the P-code of an administrative unit, e.g. "
                                         "ML090104.")))
    org: Organisation | None = None
    if data.organisation:
        org = session.scalar(sa.select(Organisation).where(sa.func.upper(Organisation.acronym)
                                                           == data.organisation.upper()))
        if org is None:
            problems.append(("organisation", _("No organisation with this acronym uses Jatigi; leave it empty and "
                                               "give the provider's name.")))
    elif not data.provider_name:
        problems.append(("provider_name", _("Give the provider's name, or choose its organisation.")))
    if data.email and not _EMAIL.match(data.email):
        problems.append(("email", _("Not an email address; accepted: name@example.org.")))
    if data.phone and not _PHONE.match(data.phone):
        problems.append(("phone", _("Not a phone number; accepted: digits, spaces and + - ( ).")))
    values = {"name": data.name, "service_type": data.service_type, "organisation_id": org.id if org else None,
              "provider_name": data.provider_name or (org.name if org else ""), "area_pcode": area,
              "address": data.address or None, "phone": data.phone or None, "email": data.email or None,
              "opening_hours": data.opening_hours or None, "notes": data.notes or None, "active": data.active}
    return values, problems


def _detail(service: Service) -> dict[str, Any]:
    return {"service_id": service.id, "service_type": service.service_type, "area": service.area_pcode,
            "organisation_id": service.organisation_id, "active": service.active}


def add_service(*, session: Session, actor: Actor, data: ServiceIn) -> Service:
    """Add a service to the directory."""
    actor.require(Permission.PROTECTION_SERVICE_WRITE)
    values, problems = check(session, data)
    if problems:
        raise ServiceInvalid(problems)
    if not may_change(actor, values["organisation_id"]):  # a service in another organisation's name: only its people
        raise Forbidden(_("Only the people of {org} (or an administrator) add services in its name.",
                          org=organisation_acronym(session, values["organisation_id"])))
    service = Service(**values, updated_at=utcnow(), updated_by=actor.user_id)
    session.add(service)
    session.flush()
    audit.record(session, actor, "protection.service.add", "protection_service", service.id, _detail(service))
    return service


def may_change(actor: Actor, organisation_id: int | None) -> bool:
    """A service of an organisation that uses Jatigi is changed only by that organisation's people who write the
    directory, or by an administrator of organisations; a service without organisation by anyone who writes it."""
    if not actor.can(Permission.PROTECTION_SERVICE_WRITE):
        return False
    if organisation_id is None or actor.can(Permission.ACCOUNTS_ORGANISATION_WRITE):
        return True
    return actor.org_id == organisation_id


def require_change(session: Session, actor: Actor, service: Service, organisation_id: int | None = None) -> None:
    for org_id in {service.organisation_id, organisation_id} - {None}:
        if not may_change(actor, org_id):
            raise Forbidden(_("Service {n} belongs to {org}: only the people of {org} (or an administrator) may "
                              "change it.", n=service.id, org=organisation_acronym(session, org_id)))


def edit_service(*, session: Session, actor: Actor, service_id: int | str, data: ServiceIn) -> Service:
    """Change a service (all its fields, as given)."""
    actor.require(Permission.PROTECTION_SERVICE_WRITE)
    service = get_service(session=session, actor=actor, service_id=service_id)
    require_change(session, actor, service)
    values, problems = check(session, data)
    if problems:
        raise ServiceInvalid(problems)
    require_change(session, actor, service, values["organisation_id"])
    for name, value in values.items():
        setattr(service, name, value)
    service.updated_at = utcnow()
    service.updated_by = actor.user_id
    session.flush()
    audit.record(session, actor, "protection.service.edit", "protection_service", service.id, _detail(service))
    return service


def set_active(*, session: Session, actor: Actor, service_id: int | str, active: bool) -> Service:
    """Deactivate a service (no new referral to it; kept for the referrals already sent) or reactivate it."""
    actor.require(Permission.PROTECTION_SERVICE_WRITE)
    service = get_service(session=session, actor=actor, service_id=service_id)
    require_change(session, actor, service)
    service.active = active
    service.updated_at = utcnow()
    service.updated_by = actor.user_id
    session.flush()
    audit.record(session, actor, "protection.service." + ("activate" if active else "deactivate"),
                 "protection_service", service.id, _detail(service))
    return service


def get_service(*, session: Session, actor: Actor, service_id: int | str) -> Service:
    actor.require(Permission.PROTECTION_SERVICE_READ)
    text = str(service_id).strip()
    service = session.get(Service, int(text)) if text.isascii() and text.isdigit() and len(text) < 10 else None
    if service is None:
        raise NotFound(_("No service {ref} in the directory.", ref=text[:20]))
    return service


# ---- the directory by area ---------------------------------------------------------------------


def areas_around(session: Session, pcode: str) -> list[str]:
    """The unit, the units above it and the units inside it: where services reach a person of this unit."""
    pcode = pcode.strip().upper()
    found = [pcode]
    current: str | None = pcode
    for _level in range(6):
        current = session.scalar(sa.select(AdminUnit.parent_pcode).where(AdminUnit.pcode == current))
        if current is None:
            break
        found.append(current)
    level = [pcode]
    for _level in range(6):
        level = list(session.scalars(sa.select(AdminUnit.pcode).where(AdminUnit.parent_pcode.in_(level))))
        if not level:
            break
        found.extend(level)
    return found


@dataclass
class Filters:
    area: str = ""
    service_type: str = ""
    organisation_id: int | None = None
    inactive: bool = False  # also list deactivated services

    def problems(self, session: Session) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.service_type and self.service_type not in vocab.SERVICE_TYPES:
            out.append(("service_type", _("Unknown type of service; accepted: {accepted}.",
                                          accepted=_accepted(vocab.SERVICE_TYPES))))
        if self.area and (len(self.area) > 32 or session.get(AdminUnit, self.area.strip().upper()) is None):
            out.append(("area", _("Unknown P-code; accepted: the P-code of an administrative unit, e.g. ML090104.")))
        return out

    def query(self) -> dict[str, str]:
        out = {"area": self.area, "service_type": self.service_type, "inactive": "1" if self.inactive else ""}
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class ServiceRow:
    service: Service
    organisation: str | None  # the acronym, if the provider uses Jatigi
    area_name: str


def _conditions(session: Session, filters: Filters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if filters.area:
        where.append(Service.area_pcode.in_(areas_around(session, filters.area)))
    if filters.service_type:
        where.append(Service.service_type == filters.service_type)
    if filters.organisation_id is not None:
        where.append(Service.organisation_id == filters.organisation_id)
    if not filters.inactive:
        where.append(Service.active.is_(True))
    return where


def list_services(*, session: Session, actor: Actor, filters: Filters | None = None, limit: int | None = PAGE_SIZE,
                  offset: int = 0) -> tuple[int, list[ServiceRow]]:
    """Services of the directory by type and name, with how many there are in all."""
    actor.require(Permission.PROTECTION_SERVICE_READ)
    filters = filters or Filters()
    problems = filters.problems(session)
    if problems:
        raise ServiceInvalid(problems)
    where = _conditions(session, filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(Service).where(*where)) or 0
    query = (sa.select(Service, Organisation.acronym, AdminUnit.name)
             .outerjoin(Organisation, Organisation.id == Service.organisation_id)
             .outerjoin(AdminUnit, AdminUnit.pcode == Service.area_pcode)
             .where(*where).order_by(Service.service_type, Service.name, Service.id).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    return total, [ServiceRow(s, acronym, area or s.area_pcode) for s, acronym, area in session.execute(query)]


def organisations(session: Session) -> list[tuple[str, str]]:
    """(acronym, name) of the organisations using Jatigi, for the provider's choice."""
    return [(a, n) for a, n in session.execute(sa.select(Organisation.acronym, Organisation.name)
                                               .order_by(Organisation.acronym))]


def organisation_acronym(session: Session, org_id: int | None) -> str:
    if org_id is None:
        return ""
    return session.scalar(sa.select(Organisation.acronym).where(Organisation.id == org_id)) or ""


# ---- import and export --------------------------------------------------------------------------


@dataclass
class Imported:
    added: int = 0
    updated: int = 0
    rows: int = 0
    file: str = ""
    ids: list[int] = field(default_factory=list)


def _flag(text: str) -> bool | None:
    value = text.strip().lower()
    if not value or value in _YES:
        return True
    if value in _NO:
        return False
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unguarded(str(value).strip())


def unguarded(text: str) -> str:
    """Undo the export's guard against spreadsheet formulas (`safe_cell`): one leading ' before =, +, -, @…"""
    return text[1:] if text.startswith("'") and safe_cell(text[1:]) != text[1:] else text


def import_services(*, session: Session, actor: Actor, path: Path) -> Imported:
    """Add (or update, matched by name, type and area) the services of a CSV or XLSX file: every row, or
    none when a row is bad — each bad row named with its row, column, value and what is accepted."""
    actor.require(Permission.PROTECTION_SERVICE_WRITE)
    sheets = read_any(path)
    if not sheets:
        raise ImportInvalid(path.name, [RowProblem(1, "", "", _("The file has no table."))])
    sheet = sheets[0]
    headers = [h.strip().lower() for h in sheet.headers]
    problems: list[RowProblem] = []
    for h in headers:
        if h and h not in COLUMNS:
            problems.append(RowProblem(1, h, h, _("Unknown column; accepted: {accepted}.", accepted=_accepted(COLUMNS))))
    for name in REQUIRED_COLUMNS:
        if name not in headers:
            problems.append(RowProblem(1, name, "", _("This column is missing.")))
    if problems:
        raise ImportInvalid(path.name, problems)
    checked: list[tuple[int, dict[str, Any]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row, cells in sheet.rows:
        if len(checked) >= MAX_IMPORT_ROWS:
            problems.append(RowProblem(row, "", "", _("At most {n} rows are accepted.", n=MAX_IMPORT_ROWS)))
            break
        raw = {h: _cell(cells[i]) if i < len(cells) else "" for i, h in enumerate(headers) if h}
        active = _flag(raw.get("active", ""))
        if active is None:
            problems.append(RowProblem(row, "active", raw["active"][:80], _("Not yes or no; accepted: yes, no, "
                                                                             "1, 0, oui, non.")))
        data = ServiceIn.of({**raw, "active": active is not False})
        values, found = check(session, data)
        for name, message in found:
            problems.append(RowProblem(row, name, str(raw.get(name, ""))[:80], message))
        key = (data.name.lower(), values["service_type"], values["area_pcode"])
        if not found and key in seen:
            problems.append(RowProblem(row, "name", data.name[:80], _("The same service as row {row}.",
                                                                      row=seen[key])))
        seen.setdefault(key, row)
        checked.append((row, values))
    found_services: list[Service | None] = []
    for row, values in checked if not problems else []:
        existing = session.scalar(sa.select(Service).where(
            sa.func.lower(Service.name) == values["name"].lower(), Service.service_type == values["service_type"],
            Service.area_pcode == values["area_pcode"]).limit(1))
        for org_id in {existing.organisation_id if existing else None, values["organisation_id"]} - {None}:
            if not may_change(actor, org_id):
                problems.append(RowProblem(row, "organisation", organisation_acronym(session, org_id), _(
                    "This service belongs to {org}: only the people of {org} (or an administrator) may change it.",
                    org=organisation_acronym(session, org_id))))
        found_services.append(existing)
    if problems:
        raise ImportInvalid(path.name, problems)
    done = Imported(rows=len(checked), file=path.name)
    for (_row, values), existing in zip(checked, found_services, strict=True):
        if existing is None:
            existing = Service(**values)
            session.add(existing)
            done.added += 1
        else:
            for name, value in values.items():
                setattr(existing, name, value)
            done.updated += 1
        existing.updated_at = utcnow()
        existing.updated_by = actor.user_id
    session.flush()
    audit.record(session, actor, "protection.service.import", "protection_service", None,
                 {"file": path.name, "rows": done.rows, "added": done.added, "updated": done.updated})
    return done


def csv_lines(session: Session, actor: Actor, filters: Filters | None = None) -> Iterator[list[Any]]:
    """The directory as filtered, in the columns the import reads (so an export can be edited and imported)."""
    _total, rows = list_services(session=session, actor=actor, filters=filters, limit=None)
    yield list(COLUMNS)
    for r in rows:
        s = r.service
        yield [safe_cell(v or "") for v in (s.name, s.service_type, r.organisation, s.provider_name, s.area_pcode,
                                            s.address, s.phone, s.email, s.opening_hours, s.notes)] + \
              ["yes" if s.active else "no"]


def write_csv(*, session: Session, actor: Actor, out: TextIO, filters: Filters | None = None) -> int:
    """Write the directory as CSV; returns how many services."""
    writer = csv.writer(out)
    n = -1
    for line in csv_lines(session, actor, filters):
        writer.writerow(line)
        n += 1
    audit.record(session, actor, "protection.service.export", "protection_service", None,
                 {"rows": n, "filters": (filters or Filters()).query()})
    return n
