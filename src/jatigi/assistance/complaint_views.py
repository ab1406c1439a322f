"""Complaints and feedback in the pages: the queue (filters, counts, overdue ones highlighted, CSV),
the form to record one, a complaint with its history and the forms to assign, resolve, close or
reopen it.

Thin: assistance.complaints checks permissions, keeps sensitive complaints to focal points and
audits. Whoever records a sensitive complaint without being a focal point gets its code and a
confirmation in the answer to the form, and nothing else: no page of it exists for them.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.assistance import complaints as cmp
from jatigi.assistance import states, vocab
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound
from jatigi.core.i18n import _
from jatigi.core.numbers import whole_number
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)
RECORDED_CODE = re.compile(r"CMP-[0-9A-Z]{6,8}", re.ASCII)

Handler = Annotated[Actor, Depends(page_require(Permission.ASSISTANCE_COMPLAINT_WRITE))]
FORM_FIELDS = ("channel", "category", "priority", "received_on", "respond_by", "programme", "household", "payment",
               "description", "name", "contact")
VOCAB = {"channels": vocab.CHANNELS, "categories": vocab.COMPLAINT_CATEGORIES, "priorities": vocab.PRIORITIES,
         "complaint_states": vocab.COMPLAINT_STATES, "response_days": vocab.RESPONSE_DAYS,
         "sensitive_categories": vocab.SENSITIVE_CATEGORIES}


def _programme_choices(session: Session, actor: Actor) -> list[tuple[str, str]]:
    return [(code, f"{code} — {name}") for code, name in cmp.programmes(session, actor)]


def _filters(state: str, category: str, channel: str, programme: str, overdue: str, q: str) -> cmp.Filters:
    return cmp.Filters(state=state.strip(), category=category.strip(), channel=channel.strip(),
                       programme=programme.strip()[:16], overdue=overdue == "1", q=q.strip())


@router.get("/complaints", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, actor: Handler, state: str = "", category: str = "",
               channel: str = "", programme: str = "", overdue: str = "", q: str = "", page: str = "1") -> HTMLResponse:
    filters = _filters(state, category, channel, programme, overdue, q)
    problems = FormProblems.of(filters.problems(), cmp.label)
    number = page_number(page)
    today = date.today()
    total, rows = (0, []) if problems else cmp.queue(session, actor, filters, offset=(number - 1) * cmp.PAGE_SIZE,
                                                     today=today)
    pages = max(1, -(-total // cmp.PAGE_SIZE))
    query = filters.query()

    def page_url(n: int) -> str | None:
        return f"/complaints?{urlencode({**query, 'page': n})}#queue-title" if 1 <= n <= pages else None

    return render(request, "assistance/complaint_queue.html", status_code=422 if problems else 200,
                  rows=rows, total=total, counts=cmp.counts(session, actor, today), filters=filters,
                  errors=problems.by_field, problems=problems.summary,
                  programme_choices=_programme_choices(session, actor),
                  page=number, pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1),
                  csv_url="/complaints/export.csv" + (f"?{urlencode(query)}" if query else ""), **VOCAB)


@router.get("/complaints/export.csv")
def export_csv(session: SessionDep, actor: Handler, state: str = "", category: str = "", channel: str = "",
               programme: str = "", overdue: str = "", q: str = "") -> Response:
    """The queue as filtered, as CSV: codes, dates and categories; never what was said nor who said it."""
    filters = _filters(state, category, channel, programme, overdue, q)
    out = io.StringIO()
    cmp.write_csv(session, actor, out, filters)
    name = f"jatigi-complaints-{date.today().isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _form(request: Request, session: Session, actor: Actor, values: dict[str, Any],
          problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    def choices(codes: dict[str, str]) -> list[tuple[str, str]]:
        return [(code, _(text)) for code, text in codes.items()]

    return render(request, "assistance/complaint_form.html", status_code=status_code, values=values,
                  errors=problems.by_field, problems=problems.summary, channel_choices=choices(vocab.CHANNELS),
                  category_choices=choices(vocab.COMPLAINT_CATEGORIES), priority_choices=choices(vocab.PRIORITIES),
                  programme_choices=_programme_choices(session, actor),
                  sensitive_labels=", ".join(_(vocab.COMPLAINT_CATEGORIES[c]).lower()
                                             for c in sorted(vocab.SENSITIVE_CATEGORIES)),
                  **VOCAB)


@router.get("/complaints/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: Handler) -> HTMLResponse:
    values: dict[str, Any] = dict.fromkeys(FORM_FIELDS, "") | {"priority": "medium",
                                                               "received_on": date.today().isoformat(),
                                                               "sensitive": False}
    return _form(request, session, actor, values)


@router.post("/complaints/new", response_class=HTMLResponse)
def record(request: Request, session: SessionDep, actor: Handler, _csrf: Csrf, form: Posted) -> Response:
    texts = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    values: dict[str, Any] = {**texts, "sensitive": form.get("sensitive") == "1"}
    new = cmp.NewComplaint(**{k: v if k == "description" else v.strip() for k, v in texts.items()},
                           sensitive=values["sensitive"])
    try:
        complaint = cmp.record(session, actor, new)
    except cmp.ComplaintInvalid as exc:
        return _form(request, session, actor, values, FormProblems.of(exc.problems, cmp.label), status_code=422)
    if cmp.may_see(actor, complaint):
        return RedirectResponse(f"/complaints/{complaint.code}", status_code=303)
    # Not for the recorder to see again: the code and a confirmation only, on a page of its own so that
    # reloading it does not record the complaint twice.
    return RedirectResponse(f"/complaints/recorded?{urlencode({'code': complaint.code})}", status_code=303)


@router.get("/complaints/recorded", response_class=HTMLResponse)
def recorded(request: Request, actor: Handler, code: str = "") -> HTMLResponse:
    """The confirmation of a complaint sent to the protection focal point: its code and nothing of it
    (the code is shown as given, after a check of its form; nothing is read)."""
    if not RECORDED_CODE.fullmatch(code):
        raise NotFound(_("No complaint {code} that you may see.", code=code[:20]))
    return render(request, "assistance/complaint_recorded.html", code=code)


def _detail(request: Request, session: Session, actor: Actor, code: str, problems: FormProblems | None = None,
            values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    found = cmp.details(session, actor, code)
    complaint = found.complaint
    moves = {to: states.can_move("complaint", complaint.state, to) for to in vocab.COMPLAINT_STATES}
    return render(request, "assistance/complaint_detail.html", status_code=status_code, d=found, c=complaint,
                  moves=moves, assignees=cmp.assignees(session, complaint) if complaint.state in cmp.ACTIVE_STATES
                  else [], errors=problems.by_field, problems=problems.summary, values=values or {}, when=when,
                  state_label=states.state_label, **VOCAB)


@router.get("/complaints/{code}", response_class=HTMLResponse)
def detail(code: str, request: Request, session: SessionDep, actor: Handler) -> HTMLResponse:
    return _detail(request, session, actor, code)


def _version(form: Any) -> int | None:
    text = str(form.get("version") or "")
    return whole_number(text, 9)


def _act(request: Request, session: Session, actor: Actor, code: str, form: Any, action: str) -> Response:
    version = _version(form)
    values = {"assignee": str(form.get("assignee") or ""), "resolution": str(form.get("resolution") or "")}
    try:
        if action == "assign":
            done = cmp.assign(session, actor, code, values["assignee"], version=version)
        elif action == "resolve":
            done = cmp.resolve(session, actor, code, values["resolution"], version=version)
        elif action == "close":
            done = cmp.close(session, actor, code, version=version)
        else:
            done = cmp.reopen(session, actor, code, version=version)
    except cmp.ComplaintInvalid as exc:
        return _detail(request, session, actor, code, FormProblems.of(exc.problems, cmp.label), values,
                       status_code=422)
    return RedirectResponse(f"/complaints/{done.code}", status_code=303)


@router.post("/complaints/{code}/assign", response_class=HTMLResponse)
def assign(code: str, request: Request, session: SessionDep, actor: Handler, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "assign")


@router.post("/complaints/{code}/resolve", response_class=HTMLResponse)
def resolve(code: str, request: Request, session: SessionDep, actor: Handler, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "resolve")


@router.post("/complaints/{code}/close", response_class=HTMLResponse)
def close(code: str, request: Request, session: SessionDep, actor: Handler, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "close")


@router.post("/complaints/{code}/reopen", response_class=HTMLResponse)
def reopen(code: str, request: Request, session: SessionDep, actor: Handler, _csrf: Csrf, form: Posted) -> Response:
    return _act(request, session, actor, code, form, "reopen")
