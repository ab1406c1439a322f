"""Post-distribution monitoring in the pages: import the interviews of a sent (reconciled or closed)
cycle from its page — a Kobo, CSV or XLSX export — and see the indicators with the new figures.

Thin: assistance.pdm checks permissions, the cycle's state and every row, writes all rows or none
and audits. A file with any problem writes nothing: the cycle's page shows each problem by row.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from jatigi.assistance import pages as ap
from jatigi.assistance import pdm
from jatigi.assistance.cycle_views import cycle_page
from jatigi.assistance.policies import get_cycle
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.views import Csrf, Posted
from jatigi.web.deps import SessionDep

router = ap.router  # one router for every assistance page (see views.py)

FIELD = "pdm_file"


@router.post("/assistance/cycles/{code}/pdm", response_class=HTMLResponse)
def import_interviews(code: str, request: Request, session: SessionDep, actor: ap.Monitor, _csrf: Csrf,
                      form: Posted) -> Response:
    cycle, _programme = get_cycle(session, actor, code)
    label = _("Monitoring interviews")
    upload = form.get("file")
    if not ap.is_upload(upload):
        return cycle_page(request, session, actor, code, problems=ap.one_problem(
            FIELD, label, _("Choose the file of interviews (CSV or XLSX).")), status_code=422)
    try:
        with ap.saved_upload(upload, "pdm.csv") as path:
            result = pdm.import_file(session=session, actor=actor, cycle=cycle.id, path=path)
    except pdm.PdmInvalid as exc:
        session.rollback()
        return cycle_page(request, session, actor, code, problems=ap.one_problem(FIELD, label, exc.message),
                          pdm_refused=exc.problems, status_code=422)
    except (ValidationFailed, Conflict, NotFound) as exc:
        session.rollback()
        return cycle_page(request, session, actor, code, problems=ap.one_problem(FIELD, label, exc.message),
                          status_code=422 if isinstance(exc, NotFound) else exc.status_code)
    query = urlencode({"done": "pdm", "rows": result.rows, "added": result.added, "already": result.already})
    return RedirectResponse(f"/assistance/cycles/{cycle.id}?{query}#pdm-import-title", status_code=303)
