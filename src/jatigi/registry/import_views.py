"""The import page: upload an export, see it checked and written, or read its problems.

The import runs within the request (the form is sent with htmx, which shows that it is
working). Uploads go to a temporary folder that is removed when the request ends. The problems
of an import are written as a CSV report to a folder of the uploader's own under the system's
temporary folder, under a random name; only the same user may download it, once, within an hour.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from jatigi.accounts import service as accounts
from jatigi.accounts.models import Organisation, User
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import JatigiError, NotFound
from jatigi.core.i18n import N_, _
from jatigi.registry.importer import FORMATS, ImportOptions, ImportResult, import_files
from jatigi.registry.models import ImportBatch
from jatigi.registry.problems import write_report
from jatigi.web.app import MAX_UPLOAD_BYTES
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

ImportActor = Annotated[Actor, Depends(page_require(Permission.REGISTRY_IMPORT_RUN))]
# A parameter after the actor, so that the session's CSRF token is known when it is checked.
CsrfChecked = Annotated[None, Depends(check_csrf)]

SHOWN_PROBLEMS = 200
RECENT_BATCHES = 20
REPORT_LIFETIME_S = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")

FORMAT_LABELS = {
    "auto": N_("Recognise automatically"),
    "kobo": N_("Kobo / ODK export"),
    "csv": N_("CSV list"),
    "xlsx": N_("XLSX list"),
    "hxl": N_("HXL"),
}
BATCH_STATUS_LABELS = {"committed": N_("Written"), "partial": N_("Partly written"), "running": N_("Running")}


async def _form(request: Request) -> FormData:
    # Starlette keeps the parsed form: check_csrf reads the same one.
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


class UploadTooLarge(Exception):
    pass


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g}"


def upload_limit_message(limit: int) -> str:
    return _("The files are too large: at most {mb} MB can be uploaded at once. Split the export, or ask "
             "an administrator to import it with the command line.", mb=_megabytes(limit))


def safe_name(name: str | None, n: int) -> str:
    """The uploaded file's own name without any path, for messages and to keep its extension."""
    base = Path((name or "").replace("\\", "/")).name
    return re.sub(r"[^\w.\-]+", "_", base)[:120] or f"upload-{n}"


def save_uploads(uploads: list[UploadFile], folder: Path, limit: int) -> list[Path]:
    """Copy uploads into `folder`, each in a sub-folder of its own (names may repeat)."""
    paths: list[Path] = []
    total = 0
    for n, upload in enumerate(uploads, start=1):
        target = folder / f"{n:02d}" / safe_name(upload.filename, n)
        target.parent.mkdir()
        upload.file.seek(0)
        with target.open("wb") as fh:
            while block := upload.file.read(1 << 20):
                total += len(block)
                if total > limit:
                    raise UploadTooLarge(upload_limit_message(limit))
                fh.write(block)
        paths.append(target)
    return paths


def _uploads(form: FormData, name: str) -> list[UploadFile]:
    # A file input left empty still sends a part, with no file name.
    return [item for item in form.getlist(name) if isinstance(item, UploadFile) and item.filename]


# ---- problem reports ---------------------------------------------------------------------------


def _reports_root() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    root = Path(tempfile.gettempdir()) / f"jatigi-import-reports-{uid}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or (hasattr(os, "getuid") and root.stat().st_uid != uid):
        raise RuntimeError(f"{root} is not a folder of this process's user")
    return root


def _user_folder(actor: Actor) -> Path:
    key = hashlib.sha256(f"{actor.user_id}:{actor.username}".encode()).hexdigest()[:24]
    folder = _reports_root() / key
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(root: Path, now: float) -> None:
    """Remove every report older than its lifetime, whoever it belongs to."""
    for path in root.glob("*/*"):
        try:
            if now - path.stat().st_mtime > REPORT_LIFETIME_S:
                path.unlink()
        except FileNotFoundError:
            pass


def save_report(actor: Actor, result: ImportResult) -> str:
    """Write the import's problems to a report only `actor` can download; returns its token."""
    now = time.time()
    _sweep(_reports_root(), now)
    token = secrets.token_urlsafe(24)
    write_report(result.problems, _user_folder(actor) / f"{token}.csv")
    return token


def take_report(actor: Actor, token: str) -> bytes:
    """The report's content, removed as it is taken; NotFound if gone, expired or another's."""
    gone = NotFound(_("This report is no longer available: a report can be downloaded once, within an hour "
                      "of its import. Import the file again to see its problems."))
    if not _TOKEN.fullmatch(token):
        raise gone
    path = _user_folder(actor) / f"{token}.csv"
    taken = path.with_suffix(".taken")
    try:
        path.rename(taken)  # one download only, even if two requests race
    except FileNotFoundError:
        raise gone from None
    try:
        if time.time() - taken.stat().st_mtime > REPORT_LIFETIME_S:
            raise gone
        return taken.read_bytes()
    finally:
        taken.unlink(missing_ok=True)


# ---- recent imports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    batch: ImportBatch
    organisation: str
    username: str | None


def recent_batches(*, session: Session, actor: Actor, limit: int = RECENT_BATCHES) -> list[BatchRow]:
    """The latest imports into the actor's organisation (into any, for a system administrator)."""
    q = (sa.select(ImportBatch, Organisation.acronym, User.username)
         .join(Organisation, Organisation.id == ImportBatch.org_id)
         .outerjoin(User, User.id == ImportBatch.user_id)
         .order_by(ImportBatch.started_at.desc(), ImportBatch.id.desc()).limit(limit))
    if not actor.sees_all:
        q = q.where(ImportBatch.org_id == (actor.org_id if actor.org_id is not None else -1))
    return [BatchRow(batch, acronym, username) for batch, acronym, username in session.execute(q).all()]


def _when(value: datetime | None) -> str:
    return value.strftime("%H:%M") if value else ""


# ---- pages -------------------------------------------------------------------------------------


def _page_context(session: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    own = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    return {
        "formats": [(code, FORMAT_LABELS[code]) for code in FORMATS],
        "organisations": accounts.organisations(session=session) if actor.sees_all else [],
        "own_organisation": own.acronym if own else "",
        "values": values,
        "batches": recent_batches(session=session, actor=actor),
        "show_org": actor.sees_all,
        "status_labels": BATCH_STATUS_LABELS,
        "when": _when,
        "limit_mb": _megabytes(MAX_UPLOAD_BYTES),
        "shown_problems": SHOWN_PROBLEMS,
    }


@router.get("/imports")
def import_page(request: Request, session: SessionDep, actor: ImportActor) -> HTMLResponse:
    values = {"format": "auto", "org": "", "partial": False}
    return render(request, "registry/import.html", **_page_context(session, actor, values),
                  result=None, error=None, report=None)


@router.post("/imports")
def run_import(request: Request, session: SessionDep, actor: ImportActor, _csrf: CsrfChecked,
               form: FormDep) -> HTMLResponse:
    fmt = str(form.get("format") or "auto")
    org = str(form.get("org") or "").strip() if actor.sees_all else ""
    partial = str(form.get("partial") or "") in ("1", "on", "true", "yes")
    values = {"format": fmt, "org": org, "partial": partial}
    files, mappings = _uploads(form, "files"), _uploads(form, "mapping")
    result: ImportResult | None = None
    error: str | None = None
    if fmt not in FORMATS:
        error = _("Unknown format {format}; accepted: {accepted}.", format=fmt, accepted=", ".join(FORMATS))
    elif not files:
        error = _("Choose the file or files to import.")
    else:
        with tempfile.TemporaryDirectory(prefix="jatigi-upload-") as tmp:
            try:
                paths = save_uploads(files + mappings[:1], Path(tmp), MAX_UPLOAD_BYTES)
                mapping = paths.pop() if mappings else None
                result = import_files(session=session, actor=actor, paths=paths,
                                      options=ImportOptions(format=fmt, mapping=mapping, org=org or None,
                                                            partial=partial))
            except UploadTooLarge as exc:
                error = str(exc)
            except JatigiError as exc:
                error = exc.message
    report = save_report(actor, result) if result is not None and result.problems else None
    context = {**_page_context(session, actor, values), "result": result, "error": error, "report": report,
               "shown": result.problems[:SHOWN_PROBLEMS] if result else []}
    if request.headers.get("hx-request"):
        # htmx swaps only successful answers: the outcome comes with 200 whatever it is.
        return render(request, "registry/import_outcome.html", oob=True, **context)
    failed = error is not None or (result is not None and not result.ok)
    return render(request, "registry/import.html", status_code=422 if failed else 200, **context)


@router.get("/imports/report/{token}")
def import_report(token: str, request: Request, session: SessionDep, actor: ImportActor) -> Response:
    try:
        data = take_report(actor, token)
    except NotFound as exc:
        return render(request, "error.html", status_code=404, title=_("Not found"), message=exc.message)
    audit.record(session, actor, "import.report_download", "import", None, {"bytes": len(data)})
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="jatigi-import-problems.csv"'})
