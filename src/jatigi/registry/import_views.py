"""The import page: upload an export, follow its import as it runs, read its result or problems.

The upload is saved to a temporary folder and the import runs as a job in the background of the
server (registry.jobs), so the request returns at once. The job's page shows its progress, which
htmx asks for every second, then its result. The job's page reads the job, and who asks, through
a connection that never waits for the running import's write lock (jobs.peek_engine); it writes
nothing while the import runs, and is audited once the result, with its problems, is shown.

The problems of an import are written as a CSV report to a folder of the uploader's own under the
system's temporary folder, under a random name; only the same user may download it, once, within
an hour. The first problems are kept beside it, for the same hour, for the job's page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from jatigi.accounts import service as accounts
from jatigi.accounts.models import Organisation, User
from jatigi.accounts.sessions import find_session
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.db import READ_ONLY, get_engine, session_scope
from jatigi.core.errors import Forbidden, JatigiError, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _, set_language
from jatigi.registry import jobs
from jatigi.registry.importer import FORMATS, MAX_KEPT_PROBLEMS, ImportOptions, ImportResult
from jatigi.registry.models import ImportBatch
from jatigi.registry.problems import Problem, write_report
from jatigi.web.app import MAX_UPLOAD_BYTES
from jatigi.web.deps import SessionDep, client_ip, mark_access
from jatigi.web.pages import SESSION_COOKIE, LoginRequired, PageUser, check_csrf, page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

ImportActor = Annotated[Actor, Depends(page_require(Permission.REGISTRY_IMPORT_RUN))]
# A parameter after the actor, so that the session's CSRF token is known when it is checked.
CsrfChecked = Annotated[None, Depends(check_csrf)]

SHOWN_PROBLEMS = 200
RECENT_BATCHES = 20
REPORT_LIFETIME_S = 3600
UPLOAD_LIFETIME_S = 6 * 3600  # an upload left behind by a server that stopped mid-import
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")

FORMAT_LABELS = {
    "auto": N_("Recognise automatically"),
    "kobo": N_("Kobo / ODK export"),
    "csv": N_("CSV list"),
    "xlsx": N_("XLSX list"),
    "hxl": N_("HXL"),
}
BATCH_STATUS_LABELS = {"committed": N_("Written"), "partial": N_("Partly written"), "running": N_("Running")}
PHASE_LABELS = {
    jobs.QUEUED: N_("Waiting to start"),
    jobs.CHECKING: N_("Checking the rows"),
    jobs.WRITING: N_("Saving the households"),
    jobs.DONE: N_("Import finished"),
    jobs.FAILED: N_("Nothing was written"),
    jobs.INTERRUPTED: N_("Import interrupted"),
}


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


def _sweep_uploads(now: float) -> None:
    """Remove uploads of imports that a stopped server never finished (they hold personal data)."""
    for folder in Path(tempfile.gettempdir()).glob("jatigi-upload-*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > UPLOAD_LIFETIME_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


# ---- problem reports ---------------------------------------------------------------------------


def _reports_root() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    root = Path(tempfile.gettempdir()) / f"jatigi-import-reports-{uid}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or (hasattr(os, "getuid") and root.stat().st_uid != uid):
        raise RuntimeError(f"{root} is not a folder of this process's user")
    return root


def _folder_of(user_id: int | None, username: str) -> Path:
    key = hashlib.sha256(f"{user_id}:{username}".encode()).hexdigest()[:24]
    folder = _reports_root() / key
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _user_folder(actor: Actor) -> Path:
    return _folder_of(actor.user_id, actor.username)


def _sweep(root: Path, now: float) -> None:
    """Remove every report older than its lifetime, whoever it belongs to."""
    for path in root.glob("*/*"):
        try:
            if now - path.stat().st_mtime > REPORT_LIFETIME_S:
                path.unlink()
        except FileNotFoundError:
            pass


def save_report(actor: Actor, result: ImportResult) -> str:
    """Write the import's problems to a report only `actor` can download, and the first ones for
    the job's page; returns the report's token."""
    now = time.time()
    _sweep(_reports_root(), now)
    token = secrets.token_urlsafe(24)
    folder = _user_folder(actor)
    write_report(result.problems, folder / f"{token}.csv")
    shown = [p.__dict__ for p in result.problems[:SHOWN_PROBLEMS]]
    (folder / f"{token}.json").write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
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


def _kept(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime <= REPORT_LIFETIME_S
    except FileNotFoundError:
        return False


def shown_problems(view: jobs.JobView) -> list[Problem] | None:
    """The first problems of a job, as kept for its page; None once they are no longer kept."""
    token = view.job.report_token
    if not token or not _TOKEN.fullmatch(token):
        return None
    path = _folder_of(view.job.user_id, view.owner) / f"{token}.json"
    if not _kept(path):
        return None
    try:
        return [Problem(**item) for item in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return None


def report_available(actor: Actor, view: jobs.JobView) -> bool:
    """Whether `actor` may still download the job's report: it is theirs, not yet taken nor expired."""
    token = view.job.report_token
    return (bool(token) and actor.user_id == view.job.user_id and _TOKEN.fullmatch(token or "") is not None
            and _kept(_user_folder(actor) / f"{token}.csv"))


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


def may_open(actor: Actor, view: jobs.JobView) -> bool:
    """A job's page is its owner's, and a system administrator's."""
    return view.job.user_id == actor.user_id or actor.sees_all


# ---- the job's page, read without waiting for the import ----------------------------------------


def _peek_session() -> Iterator[Session]:
    # Reads only: never flushed, rolled back at the end.
    session = Session(jobs.peek_engine(get_engine()), autoflush=False)
    # What a reading request writes afterwards (a session's last activity) is left out here:
    # this connection may not write, and must not wait for the import's lock.
    session.info[READ_ONLY] = []
    try:
        yield session
    finally:
        session.rollback()
        session.close()


PeekSession = Annotated[Session, Depends(_peek_session)]


def _peeked_actor(request: Request, session: PeekSession) -> Actor:
    """The signed-in user, as `web.pages` finds them, but read through the peek session, which
    writes nothing: the web session's last-seen time is left for the other pages to update."""
    found = find_session(session=session, token=request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise LoginRequired(request.url.path.removesuffix("/progress"))
    web_session, user = found
    actor = accounts.actor_for(session=session, user=user, ip=client_ip(request))
    request.state.user = PageUser(user.username, user.full_name)
    request.state.actor = actor
    request.state.csrf_token = web_session.csrf_token
    return actor


async def _job_viewer(actor: Annotated[Actor, Depends(_peeked_actor)]) -> Actor:
    # Async so that the language set here is the one the page renders in (as web.pages does).
    set_language(actor.language)
    if not actor.can(Permission.REGISTRY_IMPORT_RUN):
        raise Forbidden(_("You do not have the permission {permission}.",
                          permission=str(Permission.REGISTRY_IMPORT_RUN)))
    return actor


JobViewer = Annotated[Actor, Depends(mark_access(_job_viewer, Permission.REGISTRY_IMPORT_RUN))]


def _visible_job(session: Session, actor: Actor, job_id: int) -> jobs.JobView:
    view = jobs.find(session=session, engine=get_engine(), job_id=job_id)
    if view is None or not may_open(actor, view):
        raise NotFound(_("There is no such import, or it is not yours."))
    return view


def _audit_view(actor: Actor, view: jobs.JobView) -> None:
    # In a transaction of its own: the page's reads went through the peek session.
    with session_scope() as session:
        audit.record(session, actor, "import.job_view", "import_job", view.job.id,
                     {"phase": view.phase, "problems": view.job.problem_count})


def _shown_at(request: Request) -> str:
    """Where the job is shown: on its own page, or on the import page (htmx tells which)."""
    return urlsplit(request.headers.get("hx-current-url") or str(request.url)).path


def _job_context(request: Request, actor: Actor, view: jobs.JobView) -> dict[str, Any]:
    shown = shown_problems(view) if view.ended and view.job.problem_count else None
    return {
        "job": view,
        "on_job_page": _shown_at(request) == f"/imports/jobs/{view.job.id}",
        "phase_labels": PHASE_LABELS,
        "shown": shown or [],
        "problems_gone": view.ended and view.job.problem_count > 0 and shown is None,
        "kept": min(view.job.problem_count, MAX_KEPT_PROBLEMS),
        "report": view.job.report_token if view.ended and report_available(actor, view) else None,
        "when": _when,
        "duplicates": _duplicate_check(view),
    }


def _duplicate_check(view: jobs.JobView) -> tuple[str, int] | None:
    """What the check for duplicates found after the import, and how many households it flagged."""
    if not (view.ended and view.job.batch_id):
        return None
    from jatigi.dedup.service import check_note, import_check

    with Session(jobs.peek_engine(get_engine()), info={READ_ONLY: []}) as session:
        run = import_check(session, view.job.batch_id)
        return (check_note(run), int((run.counts or {}).get("households", 0))) if run else None


@router.get("/imports/jobs/{job_id}")
def job_page(job_id: int, request: Request, session: PeekSession, actor: JobViewer) -> HTMLResponse:
    view = _visible_job(session, actor, job_id)
    if view.ended:
        _audit_view(actor, view)
    return render(request, "registry/import_job.html", **_job_context(request, actor, view))


@router.get("/imports/jobs/{job_id}/progress")
def job_progress(job_id: int, request: Request, session: PeekSession, actor: JobViewer) -> HTMLResponse:
    view = _visible_job(session, actor, job_id)
    # The owner sees the result as the import's own audit event records it; anyone else is audited.
    if view.ended and actor.user_id != view.job.user_id:
        _audit_view(actor, view)
    context = _job_context(request, actor, view)
    if _shown_at(request) == "/imports":
        # On the import page, the list of recent imports follows the job too.
        return render(request, "registry/import_outcome.html", oob=True, error=None,
                      **{**_list_context(session, actor), **context})
    return render(request, "registry/import_job_state.html", **context)


# ---- the import page ---------------------------------------------------------------------------


def _list_context(session: Session, actor: Actor) -> dict[str, Any]:
    """The list of recent imports: jobs still running (or interrupted), then written batches."""
    running = jobs.running(session=session, engine=get_engine(), actor=actor)
    return {
        "batches": recent_batches(session=session, actor=actor),
        "running": [(view, may_open(actor, view)) for view in running],
        "show_org": actor.sees_all,
        "status_labels": BATCH_STATUS_LABELS,
        "phase_labels": PHASE_LABELS,
        "when": _when,
    }


def _page_context(session: Session, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    own = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
    return {
        "formats": [(code, FORMAT_LABELS[code]) for code in FORMATS],
        "organisations": accounts.organisations(session=session) if actor.sees_all else [],
        "own_organisation": own.acronym if own else "",
        "values": values,
        **_list_context(session, actor),
        "limit_mb": _megabytes(MAX_UPLOAD_BYTES),
        "shown_problems": SHOWN_PROBLEMS,
    }


@router.get("/imports")
def import_page(request: Request, session: SessionDep, actor: ImportActor) -> HTMLResponse:
    values = {"format": "auto", "org": "", "partial": False}
    return render(request, "registry/import.html", **_page_context(session, actor, values), job=None, error=None)


def _target_org(session: Session, actor: Actor, acronym: str) -> int:
    if acronym:
        org = accounts.organisation_by_acronym(session=session, acronym=acronym)
        if not actor.acts_for(org.id):
            raise ValidationFailed(_("You may import only into your own organisation."))
        return org.id
    if actor.org_id is None:
        raise ValidationFailed(_("Choose the registering organisation."))
    return actor.org_id


@router.post("/imports")
def run_import(request: Request, session: SessionDep, actor: ImportActor, _csrf: CsrfChecked,
               form: FormDep) -> Response:
    fmt = str(form.get("format") or "auto")
    org = str(form.get("org") or "").strip() if actor.sees_all else ""
    partial_import = str(form.get("partial") or "") in ("1", "on", "true", "yes")
    values = {"format": fmt, "org": org, "partial": partial_import}
    files, mappings = _uploads(form, "files"), _uploads(form, "mapping")
    error: str | None = None
    if fmt not in FORMATS:
        error = _("Unknown format {format}; accepted: {accepted}.", format=fmt, accepted=", ".join(FORMATS))
    elif not files:
        error = _("Choose the file or files to import.")
    else:
        try:
            return _queue(request, session, actor, values, files, mappings)
        except UploadTooLarge as exc:
            error = str(exc)
        except JatigiError as exc:
            error = exc.message
    context = {**_page_context(session, actor, values), "job": None, "error": error}
    if request.headers.get("hx-request"):
        # htmx swaps only successful answers: the message comes with 200.
        return render(request, "registry/import_outcome.html", oob=True, **context)
    return render(request, "registry/import.html", status_code=422, **context)


def _queue(request: Request, session: Session, actor: Actor, values: dict[str, Any], files: list[UploadFile],
           mappings: list[UploadFile]) -> Response:
    """Save the upload, create the job, commit, and hand it to the worker; answer at once."""
    org_id = _target_org(session, actor, values["org"])
    now = time.time()
    _sweep_uploads(now)
    folder = Path(tempfile.mkdtemp(prefix="jatigi-upload-"))
    try:
        paths = save_uploads(files + mappings[:1], folder, MAX_UPLOAD_BYTES)
        mapping = paths.pop() if mappings else None
        names = [p.name for p in paths]
        job = jobs.create(session=session, actor=actor, org_id=org_id, filenames=names, format=values["format"],
                          partial=values["partial"])
        audit.record(session, actor, "import.queue", "import_job", job.id,
                     {"files": names, "format": values["format"], "partial": values["partial"]})
        # Everything the answer shows is read now: once the worker starts, on SQLite this
        # request's session could not start another transaction before the import ends.
        context = {**_page_context(session, actor, values), "error": None}
        view = jobs.find(session=session, engine=get_engine(), job_id=job.id)
        session.commit()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    options = ImportOptions(format=values["format"], mapping=mapping, org=values["org"] or None,
                            partial=values["partial"])
    jobs.submit(jobs.Task(engine=get_engine(), job_id=job.id, actor=actor, paths=paths, options=options,
                          folder=folder, keep_problems=partial(save_report, actor)))
    if request.headers.get("hx-request"):
        assert view is not None
        context.update(_job_context(request, actor, view))
        return render(request, "registry/import_outcome.html", oob=True, **context)
    return RedirectResponse(f"/imports/jobs/{job.id}", status_code=303)


@router.get("/imports/report/{token}")
def import_report(token: str, request: Request, session: SessionDep, actor: ImportActor) -> Response:
    try:
        data = take_report(actor, token)
    except NotFound as exc:
        return render(request, "error.html", status_code=404, title=_("Not found"), message=exc.message)
    audit.record(session, actor, "import.report_download", "import", None, {"bytes": len(data)})
    return Response(data, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="jatigi-import-problems.csv"'})
