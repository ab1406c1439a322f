"""The supervisor's access review: who opened or changed the cases they supervise, when, from where."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from jatigi.core.authz import Actor, Permission
from jatigi.core.i18n import N_, _
from jatigi.protection import access_review as ar
from jatigi.registry.views import FormProblems, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Supervisor = Annotated[Actor, Depends(page_require(Permission.PROTECTION_CASE_SUPERVISE))]
_LABELS = {"case": N_("Case"), "user": N_("User"), "start": N_("From"), "end": N_("To")}


@router.get("/protection/audit", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, actor: Supervisor, case: str = "", user: str = "",
                start: str = "", end: str = "", page: str = "1") -> HTMLResponse:
    filters = ar.Filters(case=case.strip()[:40], user=user.strip()[:100], start=start.strip()[:20],
                         end=end.strip()[:20])
    problems = FormProblems()
    for name, message in filters.problems():
        problems.add(name, _(_LABELS[name]), message)
    number = max(1, int(page)) if page.isascii() and page.isdigit() and 0 < len(page) < 7 else 1
    found = ar.Review(0) if problems else ar.review(session, actor, filters, offset=(number - 1) * ar.PAGE_SIZE)
    pages = max(1, -(-found.total // ar.PAGE_SIZE))
    query = filters.query()

    def page_url(n: int) -> str | None:
        return f"/protection/audit?{urlencode({**query, 'page': n})}#review-title" if 1 <= n <= pages else None

    return render(request, "protection/audit_review.html", status_code=422 if problems else 200,
                  review=found, filters=filters, errors=problems.by_field, problems=problems.summary,
                  page=number, pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1),
                  when=when)
