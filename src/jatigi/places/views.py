"""The boundary upload page: load a COD-AB file (GeoJSON, zipped shapefile, places CSV).

The file goes to a temporary folder removed when the request ends; `places.cod` reads and
checks all of it before writing anything, and audits the import.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import JatigiError
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number
from jatigi.places.cod import ImportResult, import_cod_file
from jatigi.places.models import AdminUnit
from jatigi.web.app import MAX_UPLOAD_BYTES
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

PlacesWriter = Annotated[Actor, Depends(page_require(Permission.PLACES_ADMIN_UNIT_WRITE))]
# A parameter after the actor, so that the session's CSRF token is known when it is checked.
CsrfChecked = Annotated[None, Depends(check_csrf)]

ACCEPTED_SUFFIXES = (".geojson", ".json", ".zip", ".csv")
LEVELS = range(0, 5)
MAX_COLUMN = 80


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


class _TooLarge(Exception):
    pass


def _safe_name(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name
    return re.sub(r"[^\w.\-]+", "_", base)[:120] or "boundaries"


def _save(upload: UploadFile, folder: Path, limit: int) -> Path:
    target = folder / _safe_name(upload.filename)
    total = 0
    upload.file.seek(0)
    with target.open("wb") as fh:
        while block := upload.file.read(1 << 20):
            total += len(block)
            if total > limit:
                mb = f"{limit / (1024 * 1024):g}"
                raise _TooLarge(_("The file is too large: at most {mb} MB can be uploaded. Load it with the "
                                  "command line (jatigi places import).", mb=mb))
            fh.write(block)
    return target


def level_counts(*, session: Session) -> list[tuple[int, int]]:
    """How many admin units there are at each level."""
    q = sa.select(AdminUnit.level, sa.func.count()).group_by(AdminUnit.level).order_by(AdminUnit.level)
    return [(int(level), int(n)) for level, n in session.execute(q).all()]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_COLUMN] if isinstance(value, str) else ""


def _lines(message: str | None) -> list[tuple[bool, str]]:
    """A message of several lines as (is a list item, text): COD problems come as "- …" lines."""
    lines = (message or "").split("\n") if message else []
    return [(line.startswith("- "), line.removeprefix("- ")) for line in lines if line.strip()]


def _page(request: Request, session: Session, values: dict[str, str], *, result: ImportResult | None = None,
          error: str | None = None, status_code: int = 200, partial: bool = False) -> HTMLResponse:
    context: dict[str, Any] = {"values": values, "result": result, "error_lines": _lines(error),
                               "counts": level_counts(session=session), "levels": list(LEVELS),
                               "limit_mb": f"{MAX_UPLOAD_BYTES / (1024 * 1024):g}"}
    if partial:
        return render(request, "places/upload_outcome.html", oob=True, **context)
    return render(request, "places/upload.html", status_code=status_code, **context)


def _checked(values: dict[str, str], upload: UploadFile | None) -> tuple[int | None, str | None]:
    """The level asked for, or what is wrong with the form before the file is read."""
    level: int | None = None
    if values["level"]:
        level = whole_number(values["level"], MAX_COLUMN)
        if level is None or level not in LEVELS:
            return None, _("The level is a number from 0 (country) to 4.")
    if upload is None:
        return level, _("Choose the file to load.")
    if Path(upload.filename or "").suffix.lower() not in ACCEPTED_SUFFIXES:
        return level, _("{file}: unsupported file type. Accepted: GeoJSON (.geojson, .json), a zipped shapefile "
                        "(.zip) and a CSV table of places (.csv).", file=_safe_name(upload.filename))
    return level, None


_EMPTY = {"level": "", "pcode_column": "", "name_column": "", "parent_column": "", "country": ""}


@router.get("/admin/places")
def boundaries_page(request: Request, session: SessionDep, actor: PlacesWriter) -> HTMLResponse:
    return _page(request, session, dict(_EMPTY))


@router.post("/admin/places")
def upload_boundaries(request: Request, session: SessionDep, actor: PlacesWriter, _csrf: CsrfChecked,
                      form: FormDep) -> HTMLResponse:
    values = {name: _text(form, name) for name in _EMPTY}
    upload = next((item for item in form.getlist("file") if isinstance(item, UploadFile) and item.filename), None)
    result: ImportResult | None = None
    level, error = _checked(values, upload)
    if error is None and upload is not None:
        with tempfile.TemporaryDirectory(prefix="jatigi-cod-") as tmp:
            try:
                path = _save(upload, Path(tmp), MAX_UPLOAD_BYTES)
                result = import_cod_file(session=session, actor=actor, path=path, level=level,
                                         pcode_column=values["pcode_column"] or None,
                                         name_column=values["name_column"] or None,
                                         parent_column=values["parent_column"] or None,
                                         country=values["country"] or None)
            except _TooLarge as exc:
                error = str(exc)
            except JatigiError as exc:
                error = exc.message
    return _page(request, session, values, result=result, error=error,
                 status_code=422 if error else 200, partial=bool(request.headers.get("hx-request")))
