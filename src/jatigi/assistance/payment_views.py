"""Payment files and providers' reports in the pages: export an approved cycle's file for a provider
(the answer is the file; the first export marks the cycle sent), upload the provider's report to
reconcile the cycle, and download the problems a reconciliation kept as CSV.

When the first export cancelled due lines (households removed from the registry or no longer
visible), the answer is the cycle's page saying how many and why, rather than the file: exporting
the sent cycle again gives the file.

Thin: assistance.payment_files and assistance.reconcile check permissions, states and every line,
write set-wise and audit. A refused file changes nothing.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jatigi.assistance import pages as ap
from jatigi.assistance import payment_files, reconcile
from jatigi.assistance.cycle_views import cycle_page
from jatigi.assistance.models import Reconciliation
from jatigi.assistance.policies import get_cycle
from jatigi.core import audit
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number
from jatigi.core.spreadsheet import safe_cell
from jatigi.registry.views import Csrf, Posted
from jatigi.web.deps import SessionDep

router = ap.router  # one router for every assistance page (see views.py)

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.post("/assistance/cycles/{code}/export")
def export(code: str, request: Request, session: SessionDep, actor: ap.Exporter, _csrf: Csrf,
           form: Posted) -> Response:
    cycle, programme = get_cycle(session, actor, code)
    provider = str(form.get("provider") or "").strip()
    if not provider:
        return cycle_page(request, session, actor, code, problems=ap.one_problem(
            "provider", _("Payment provider"), _("Choose a payment provider.")), status_code=422)
    folder = Path(tempfile.mkdtemp(prefix="jatigi-export-"))
    try:
        out = folder / f"{programme.code}-{cycle.number}-{provider[:40]}"
        try:
            result = payment_files.export_cycle(session, actor, cycle_id=cycle.id, provider_name=provider, out=out)
        except (ValidationFailed, Conflict, NotFound) as exc:
            session.rollback()
            return cycle_page(request, session, actor, code, problems=ap.one_problem(
                "provider", _("Payment provider"), exc.message), values={"provider": provider},
                status_code=422 if isinstance(exc, NotFound) else exc.status_code)
        content = result.path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if result.cancelled:
        query = urlencode({"done": "sent_cancelled", "lines": result.lines, **result.cancelled})
        return RedirectResponse(f"/assistance/cycles/{cycle.id}?{query}", status_code=303)
    name = f"{programme.code}-cycle-{cycle.number}-{result.provider}.{result.format}"
    return Response(content, media_type=MEDIA_TYPES.get(result.format, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/assistance/cycles/{code}/reconcile", response_class=HTMLResponse)
def reconcile_report(code: str, request: Request, session: SessionDep, actor: ap.Reconciler, _csrf: Csrf,
                     form: Posted) -> Response:
    cycle, _programme = get_cycle(session, actor, code)
    provider = str(form.get("provider") or "").strip() or None
    upload = form.get("file")
    values = {"report_provider": provider or ""}
    if not ap.is_upload(upload):
        return cycle_page(request, session, actor, code, problems=ap.one_problem(
            "report", _("Provider's report"), _("Choose the provider's report (CSV or XLSX).")), values=values,
            status_code=422)
    try:
        with ap.saved_upload(upload, "report.csv") as path:
            result = reconcile.reconcile(session, actor, cycle_id=cycle.id, path=path, provider_name=provider)
    except reconcile.NothingApplied as exc:
        session.rollback()
        return cycle_page(request, session, actor, code, problems=ap.one_problem(
            "report", _("Provider's report"), exc.message), values=values, refused=exc.problems, status_code=422)
    except (ValidationFailed, Conflict, NotFound) as exc:
        session.rollback()
        return cycle_page(request, session, actor, code, problems=ap.problems_of(
            {"report": exc.message}, {"report": _("Provider's report")}), values=values,
            status_code=422 if isinstance(exc, NotFound) else exc.status_code)
    return RedirectResponse(f"/assistance/cycles/{cycle.id}?reconciliation={result.reconciliation.id}"
                            "#reconciliation-title", status_code=303)


@router.get("/assistance/cycles/{code}/problems.csv")
def problems_csv(code: str, session: SessionDep, actor: ap.Reader, reconciliation: str = "") -> Response:
    """The problems a reconciliation kept (line, column, value, kind, message) as CSV."""
    cycle, programme = get_cycle(session, actor, code)
    wanted = whole_number(reconciliation, 11)
    rec = None if wanted is None else session.scalar(
        sa.select(Reconciliation).where(Reconciliation.id == wanted, Reconciliation.cycle_id == cycle.id))
    if rec is None:
        raise NotFound(_("No reconciliation {id} of this cycle.", id=reconciliation[:20]))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Line"), _("Column"), _("Value"), _("Kind"), _("Problem")])
    for p in rec.problems or []:
        writer.writerow([p.get("line"), safe_cell(str(p.get("column") or "")), safe_cell(str(p.get("value") or "")),
                         p.get("kind") or "", safe_cell(str(p.get("message") or ""))])
    name = f"{programme.code}-cycle-{cycle.number}-reconciliation-{rec.id}-problems.csv"
    audit.record(session, actor, "assistance.reconciliation.problems", "assistance_cycle", cycle.id,
                 {"reconciliation": rec.id, "rows": len(rec.problems or []), "file": name})
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
