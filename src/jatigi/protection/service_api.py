"""The JSON API of the service directory: list (by area, with the units above and inside it, and by
type), add, read, change (deactivate with active=false), import a CSV/XLSX list, export CSV.

Thin: protection.services checks input and permissions and audits. Bad input answers 422 with
each field (or row and column) and its reason.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from jatigi.assistance.pages import saved_upload
from jatigi.assistance.schemas import ProblemOut, file_refused, refused
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.protection import services as svc
from jatigi.protection.models import Service
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["protection services"])

Reader = Annotated[Actor, Depends(require(Permission.PROTECTION_SERVICE_READ))]
Writer = Annotated[Actor, Depends(require(Permission.PROTECTION_SERVICE_WRITE))]
REFUSED: dict[int | str, dict[str, Any]] = {422: {"description": "Bad input: each problem with its field and reason."}}
SHOWN_PROBLEMS = 200


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    service_type: str = Field(max_length=24, description="medical, psychosocial, legal, safe_shelter, livelihoods, "
                                                         "education, security, tracing.")
    organisation: str | None = Field(None, max_length=40, description="The acronym of the provider organisation, "
                                                                      "if it uses Jatigi (referrals reach it).")
    provider_name: str | None = Field(None, max_length=200, description="The provider's name (default: the "
                                                                        "organisation's).")
    area_pcode: str = Field(max_length=32, description="The P-code of the unit where the service is.")
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    opening_hours: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=500)
    active: bool = True


class ServiceOut(BaseModel):
    id: int
    name: str
    service_type: str
    organisation: str | None
    provider_name: str
    area_pcode: str
    area_name: str | None = None
    address: str | None
    phone: str | None
    email: str | None
    opening_hours: str | None
    notes: str | None
    active: bool
    updated_at: datetime


class ServicePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ServiceOut]


class ImportedOut(BaseModel):
    file: str
    rows: int
    added: int
    updated: int


def _out(s: Service, organisation: str | None, area_name: str | None = None) -> ServiceOut:
    return ServiceOut(id=s.id, name=s.name, service_type=s.service_type, organisation=organisation or None,
                      provider_name=s.provider_name, area_pcode=s.area_pcode, area_name=area_name, address=s.address,
                      phone=s.phone, email=s.email, opening_hours=s.opening_hours, notes=s.notes, active=s.active,
                      updated_at=s.updated_at)


def _filters(area: str, service_type: str, inactive: bool) -> svc.Filters:
    return svc.Filters(area=area.strip().upper(), service_type=service_type.strip(), inactive=inactive)


@router.get("/protection/services", response_model=ServicePage, responses=REFUSED)
def list_services(session: SessionDep, actor: Reader, area: str = Query("", max_length=32),
                  service_type: str = Query("", max_length=24), inactive: bool = False,
                  limit: int = Query(svc.PAGE_SIZE, ge=1, le=1000), offset: int = Query(0, ge=0, le=2**62),
                  ) -> ServicePage | JSONResponse:
    """The services of the directory; by area, those of the unit, of the units above it and inside it."""
    filters = _filters(area, service_type, inactive)
    problems = filters.problems(session)
    if problems:
        return refused(problems, {"area": area, "service_type": service_type})
    total, rows = svc.list_services(session=session, actor=actor, filters=filters, limit=limit, offset=offset)
    return ServicePage(total=total, limit=limit, offset=offset,
                       items=[_out(r.service, r.organisation, r.area_name) for r in rows])


@router.get("/protection/services/export.csv", response_class=Response)
def export_services(session: SessionDep, actor: Reader, area: str = Query("", max_length=32),
                    service_type: str = Query("", max_length=24), inactive: bool = False) -> Response:
    """The directory as CSV, in the columns the import reads."""
    out = io.StringIO()
    svc.write_csv(session=session, actor=actor, out=out, filters=_filters(area, service_type, inactive))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="jatigi-services.csv"'})


def _data(body: ServiceIn) -> svc.ServiceIn:
    return svc.ServiceIn.of(body.model_dump())


@router.post("/protection/services", response_model=ServiceOut, status_code=status.HTTP_201_CREATED,
             responses=REFUSED)
def add_service(body: ServiceIn, session: SessionDep, actor: Writer) -> ServiceOut | JSONResponse:
    """Add a service to the directory."""
    try:
        s = svc.add_service(session=session, actor=actor, data=_data(body))
    except svc.ServiceInvalid as exc:
        return refused(exc.problems, body.model_dump())
    return _out(s, svc.organisation_acronym(session, s.organisation_id))


@router.post("/protection/services/import", response_model=ImportedOut,
             responses={422: {"description": "The file's problems by row and column: nothing was imported."}})
def import_services(session: SessionDep, actor: Writer,
                    file: Annotated[UploadFile, File(description="A CSV or XLSX list of services.")],
                    ) -> ImportedOut | JSONResponse:
    """Import services from a CSV or XLSX file: every row, or none when a row is bad (each bad row named)."""
    try:
        with saved_upload(file, "services.csv") as path:
            done = svc.import_services(session=session, actor=actor, path=path)
    except svc.ImportInvalid as exc:
        shown = [ProblemOut(sheet=exc.file, row=p.row, column=p.column, value=p.value, message=p.message)
                 for p in exc.problems[:SHOWN_PROBLEMS]]
        return file_refused(exc.message, shown, len(exc.problems))
    except ValidationFailed as exc:
        return refused([("file", exc.message)], {"file": file.filename})
    return ImportedOut(file=done.file, rows=done.rows, added=done.added, updated=done.updated)


@router.get("/protection/services/{service_id}", response_model=ServiceOut)
def get_service(service_id: str, session: SessionDep, actor: Reader) -> ServiceOut:
    """One service of the directory."""
    s = svc.get_service(session=session, actor=actor, service_id=service_id)
    return _out(s, svc.organisation_acronym(session, s.organisation_id))


@router.put("/protection/services/{service_id}", response_model=ServiceOut, responses=REFUSED)
def edit_service(service_id: str, body: ServiceIn, session: SessionDep, actor: Writer) -> ServiceOut | JSONResponse:
    """Change a service: every field as given (active=false deactivates it: no new referral to it)."""
    try:
        s = svc.edit_service(session=session, actor=actor, service_id=service_id, data=_data(body))
    except svc.ServiceInvalid as exc:
        return refused(exc.problems, body.model_dump())
    return _out(s, svc.organisation_acronym(session, s.organisation_id))
