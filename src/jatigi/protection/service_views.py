"""The service directory in the pages: the list by area and type (CSV download), the forms to add,
change, deactivate and import services.

Thin: protection.services checks the input and permissions and audits.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.assistance.pages import is_upload, saved_upload
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.core.numbers import whole_number
from jatigi.places.models import AdminUnit
from jatigi.protection import services as svc
from jatigi.protection import vocab
from jatigi.registry.views import Csrf, FormProblems, Posted
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[Actor, Depends(page_require(Permission.PROTECTION_SERVICE_READ))]
Writer = Annotated[Actor, Depends(page_require(Permission.PROTECTION_SERVICE_WRITE))]
FORM_FIELDS = ("name", "service_type", "organisation", "provider_name", "area_pcode", "address", "phone", "email",
               "opening_hours", "notes")


def _label(name: str) -> str:
    """A field's label, and the list's filter `area` (a service has an `area_pcode`)."""
    return svc.label(name) if name != "area" else _("Area")


def units(session: Session) -> list[tuple[str, str, int]]:
    """(P-code, name, level) of the administrative units down to communes, for the area choices."""
    return [(p, n, lv) for p, n, lv in session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.name, AdminUnit.level).where(AdminUnit.level <= 3)
        .order_by(AdminUnit.pcode))]


def _notice(query: Any) -> str | None:
    done = query.get("done", "")
    if done == "imported":
        counts = {k: whole_number(query.get(k, "0"), 6) or 0 for k in ("added", "updated")}
        return _("{added} services added, {updated} updated.", added=number(counts["added"]),
                 updated=number(counts["updated"]))
    notices = {"added": _("The service was added to the directory."), "saved": _("The service was saved."),
               "deactivated": _("The service was deactivated: no new referral can be sent to it."),
               "activated": _("The service is active again.")}
    return notices.get(done)


@router.get("/protection/services", response_class=HTMLResponse)
def directory(request: Request, session: SessionDep, actor: Reader, area: str = "", service_type: str = "",
              inactive: str = "", page: str = "1") -> HTMLResponse:
    filters = svc.Filters(area=area.strip().upper()[:40], service_type=service_type.strip()[:24],
                          inactive=inactive == "1")
    problems = FormProblems.of(filters.problems(session), _label)
    number_ = page_number(page)
    total, rows = (0, []) if problems else svc.list_services(session=session, actor=actor, filters=filters,
                                                             offset=(number_ - 1) * svc.PAGE_SIZE)
    pages = max(1, -(-total // svc.PAGE_SIZE))
    query = filters.query()

    def page_url(n: int) -> str | None:
        return f"/protection/services?{urlencode({**query, 'page': n})}#list-title" if 1 <= n <= pages else None

    return render(request, "protection/service_list.html", status_code=422 if problems else 200, rows=rows,
                  may_change=svc.may_change,
                  total=total, filters=filters, errors=problems.by_field, problems=problems.summary,
                  areas=[(pcode, "· " * level + f"{name} ({pcode})") for pcode, name, level in units(session)],
                  service_types=vocab.SERVICE_TYPES, page=number_, pages=pages,
                  previous_url=page_url(number_ - 1), next_url=page_url(number_ + 1),
                  csv_url="/protection/services/export.csv" + (f"?{urlencode(query)}" if query else ""),
                  notice=_notice(request.query_params))


@router.get("/protection/services/export.csv")
def export_csv(session: SessionDep, actor: Reader, area: str = "", service_type: str = "",
               inactive: str = "") -> Response:
    """The directory as filtered, in the columns the import reads."""
    filters = svc.Filters(area=area.strip().upper()[:40], service_type=service_type.strip()[:24],
                          inactive=inactive == "1")
    out = io.StringIO()
    svc.write_csv(session=session, actor=actor, out=out, filters=filters)
    name = f"jatigi-services-{date.today().isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _form(request: Request, session: Session, values: dict[str, Any], service_id: int | None = None,
          active: bool = True, problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    return render(request, "protection/service_form.html", status_code=status_code, values=values,
                  service_id=service_id, active=active, errors=problems.by_field, problems=problems.summary,
                  type_choices=[(c, _(t)) for c, t in vocab.SERVICE_TYPES.items()],
                  organisations=svc.organisations(session), units=units(session))


def _values(form: Any) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in FORM_FIELDS}


@router.get("/protection/services/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: Writer) -> HTMLResponse:
    return _form(request, session, dict.fromkeys(FORM_FIELDS, ""))


@router.post("/protection/services/new", response_class=HTMLResponse)
def add(request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    values = _values(form)
    try:
        svc.add_service(session=session, actor=actor, data=svc.ServiceIn.of(values))
    except svc.ServiceInvalid as exc:
        return _form(request, session, values, problems=FormProblems.of(exc.problems, _label),
                     status_code=422)
    return RedirectResponse("/protection/services?" + urlencode({"done": "added", "inactive": "1"}), status_code=303)


@router.get("/protection/services/import", response_class=HTMLResponse)
def import_form(request: Request, actor: Writer) -> HTMLResponse:
    return render(request, "protection/service_import.html", columns=svc.COLUMNS, required=svc.REQUIRED_COLUMNS,
                  service_types=vocab.SERVICE_TYPES, rows=[], file_error=None)


@router.post("/protection/services/import", response_class=HTMLResponse)
def import_file(request: Request, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    upload = form.get("file")
    context = {"columns": svc.COLUMNS, "required": svc.REQUIRED_COLUMNS, "service_types": vocab.SERVICE_TYPES}
    if not is_upload(upload):
        return render(request, "protection/service_import.html", status_code=422, rows=[],
                      file_error=_("Choose a CSV or XLSX file."), **context)
    try:
        with saved_upload(upload, "services.csv") as path:
            done = svc.import_services(session=session, actor=actor, path=path)
    except svc.ImportInvalid as exc:
        return render(request, "protection/service_import.html", status_code=422, rows=exc.problems,
                      file_error=exc.message, **context)
    except ValidationFailed as exc:
        return render(request, "protection/service_import.html", status_code=422, rows=[],
                      file_error=exc.message, **context)
    query = {"done": "imported", "added": done.added, "updated": done.updated, "inactive": "1"}
    return RedirectResponse("/protection/services?" + urlencode(query), status_code=303)


@router.get("/protection/services/{service_id}/edit", response_class=HTMLResponse)
def edit_form(service_id: str, request: Request, session: SessionDep, actor: Writer) -> HTMLResponse:
    s = svc.get_service(session=session, actor=actor, service_id=service_id)
    svc.require_change(session, actor, s)
    values = {name: getattr(s, name) or "" for name in FORM_FIELDS if name != "organisation"}
    values["organisation"] = svc.organisation_acronym(session, s.organisation_id)
    return _form(request, session, values, service_id=s.id, active=s.active)


@router.post("/protection/services/{service_id}/edit", response_class=HTMLResponse)
def edit(service_id: str, request: Request, session: SessionDep, actor: Writer, _csrf: Csrf,
         form: Posted) -> Response:
    s = svc.get_service(session=session, actor=actor, service_id=service_id)
    values = _values(form)
    try:
        svc.edit_service(session=session, actor=actor, service_id=s.id,
                         data=svc.ServiceIn.of({**values, "active": s.active}))
    except svc.ServiceInvalid as exc:
        return _form(request, session, values, service_id=s.id, active=s.active,
                     problems=FormProblems.of(exc.problems, _label), status_code=422)
    return RedirectResponse("/protection/services?" + urlencode({"done": "saved", "inactive": "1"}), status_code=303)


@router.post("/protection/services/{service_id}/active", response_class=HTMLResponse)
def activate(service_id: str, session: SessionDep, actor: Writer, _csrf: Csrf, form: Posted) -> Response:
    active = form.get("active") == "1"
    svc.set_active(session=session, actor=actor, service_id=service_id, active=active)
    done = "activated" if active else "deactivated"
    return RedirectResponse("/protection/services?" + urlencode({"done": done, "inactive": "1"}), status_code=303)
