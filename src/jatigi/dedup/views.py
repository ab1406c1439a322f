"""The review queue's pages: the queue, a pair side by side with its decision form, a pair of
households with their members' pairs.

Thin: read the query or the form, call the service — which checks visibility and permissions and
audits every list, view and decision — and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.dedup import service
from jatigi.dedup.labels import REASON_LABELS, field_label, level_label
from jatigi.dedup.models import KINDS, POSSIBLE, PROBABLE, STATUSES
from jatigi.registry import vocab
from jatigi.registry.views import shown_phone, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import check_csrf, page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)

Reviewer = Annotated[Actor, Depends(page_require(Permission.DEDUP_REVIEW))]
Csrf = Annotated[None, Depends(check_csrf)]
VIEWS = ("people", "households")
BAR_STEPS = 10

def label(labels: dict[str, str], code: str | None) -> str:
    if not code:
        return "—"
    return _(labels[code]) if code in labels else code


def percent(p: float) -> str:
    return f"{number(round(p * 100, 1))} %"


@dataclass
class Bar:
    """A field's weight as a bar: its side and its length in tenths of the largest weight shown."""

    weight: float
    steps: int
    positive: bool


def _bars(weights: list[float]) -> list[Bar]:
    top = max([abs(w) for w in weights] + [1.0])
    return [Bar(w, round(abs(w) / top * BAR_STEPS), w >= 0) for w in weights]


def _organisations(session: Session) -> list[str]:
    return list(session.scalars(sa.select(Organisation.acronym).order_by(Organisation.acronym)))


def _query_url(view: str, filters: service.Filters, page: int = 1) -> str:
    params = {"view": view if view != "people" else "", "status": filters.status or "all",
              "kind": filters.kind or "", "band": filters.band or "", "org": filters.org or ""}
    if page > 1:
        params["page"] = str(page)
    kept = {k: v for k, v in params.items() if v and not (k == "status" and v == "pending")}
    return "/dedup" + ("?" + urlencode(kept) if kept else "")


@router.get("/dedup", response_class=HTMLResponse)
def queue_page(request: Request, session: SessionDep, actor: Reviewer, view: str = "people",
               status: str = "pending", kind: str = "", band: str = "", org: str = "",
               page: str = "1") -> HTMLResponse:
    view = view if view in VIEWS else "people"
    filters = service.Filters(status=None if status == "all" else status.strip()[:12] or None,
                              kind=kind.strip()[:12] or None, band=band.strip()[:12] or None,
                              org=org.strip()[:40] or None)
    page_no = page_number(page.strip())
    errors: dict[str, str] = {}
    for name, value, accepted in (("status", filters.status, STATUSES), ("kind", filters.kind, KINDS),
                                  ("band", filters.band, (PROBABLE, POSSIBLE))):
        if value and value not in accepted:
            errors[name] = _("Unknown choice; accepted: {accepted}.", accepted=", ".join(accepted))
    organisations = _organisations(session)
    if filters.org and filters.org not in organisations:
        errors["org"] = _("Unknown choice; accepted: {accepted}.", accepted=", ".join(organisations))
    result: Any = None
    if not errors:
        offset = (page_no - 1) * service.PAGE_SIZE
        if view == "households":
            result = service.household_queue(session=session, actor=actor, filters=filters, offset=offset)
        else:
            result = service.queue(session=session, actor=actor, filters=filters, offset=offset)
    total = result.total if result else 0
    pages = max(1, -(-total // service.PAGE_SIZE))
    if errors:
        count = _("No search was made.")
    elif not total:
        count = _("No pair found.")
    elif not result.rows:
        count = _("This page is past the last one: {total} pairs found.", total=number(total))
    else:
        first = (page_no - 1) * service.PAGE_SIZE + 1
        count = _("Pairs {first} to {last} of {total}", first=number(first),
                  last=number(first + len(result.rows) - 1), total=number(total))
    last_runs = service.runs(session=session, actor=actor, limit=3)
    return render(request, "dedup/queue.html", view=view, filters=filters, status=status, result=result,
                  errors=errors, count=count, page=page_no, pages=pages, organisations=organisations,
                  previous_url=_query_url(view, filters, page_no - 1) if page_no > 1 else None,
                  next_url=_query_url(view, filters, page_no + 1) if page_no < pages else None,
                  view_urls={v: _query_url(v, filters) for v in VIEWS}, runs=last_runs,
                  statuses=service.STATUS_LABELS, kinds=service.KIND_LABELS, bands=service.BAND_LABELS,
                  run_statuses=service.RUN_STATUS_LABELS, reasons=REASON_LABELS, label=label, percent=percent,
                  sexes=vocab.SEXES, when=when)


def _pair_page(request: Request, session: Session, actor: Actor, pair_id: int, *, error: str | None = None,
               note: str = "", status_code: int = 200) -> HTMLResponse:
    d = service.get_pair(session=session, actor=actor, pair_id=pair_id)
    return render(request, "dedup/pair.html", status_code=status_code, d=d, pair=d.pair,
                  rows=list(zip(d.fields, _bars([f.weight for f in d.fields]), strict=True)),
                  prior=d.prior, error=error, note=note, field_label=field_label,
                  level_label=level_label, label=label, percent=percent, shown_phone=shown_phone, when=when,
                  statuses=service.STATUS_LABELS, kinds=service.KIND_LABELS, bands=service.BAND_LABELS,
                  actions=service.ACTION_LABELS, sexes=vocab.SEXES, relationships=vocab.RELATIONSHIPS)


@router.get("/dedup/pairs/{pair_id}", response_class=HTMLResponse)
def pair_page(pair_id: int, request: Request, session: SessionDep, actor: Reviewer) -> HTMLResponse:
    return _pair_page(request, session, actor, pair_id)


@router.post("/dedup/pairs/{pair_id}/decide", response_class=HTMLResponse)
def decide(pair_id: int, request: Request, session: SessionDep, actor: Reviewer, _csrf: Csrf,
           decision: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    if decision not in service.ACTIONS:
        return _pair_page(request, session, actor, pair_id, note=note, status_code=422,
                          error=_("Choose a decision: {accepted}.", accepted=", ".join(service.ACTIONS)))
    if len(note) > 500:
        return _pair_page(request, session, actor, pair_id, note=note, status_code=422,
                          error=_("At most {n} characters.", n=500))
    try:
        with session.begin_nested():  # a refused decision writes nothing
            service.decide(session=session, actor=actor, pair_id=pair_id, action=decision, note=note)
    except ValidationFailed as exc:
        return _pair_page(request, session, actor, pair_id, note=note, error=exc.message, status_code=422)
    return RedirectResponse(f"/dedup/pairs/{pair_id}?done={decision}", status_code=303)


@router.get("/dedup/households/{pair_id}", response_class=HTMLResponse)
def household_pair_page(pair_id: int, request: Request, session: SessionDep, actor: Reviewer) -> HTMLResponse:
    d = service.get_household_pair(session=session, actor=actor, pair_id=pair_id)
    return render(request, "dedup/household_pair.html", d=d, reasons=REASON_LABELS, label=label, percent=percent,
                  statuses=service.STATUS_LABELS, kinds=service.KIND_LABELS, sexes=vocab.SEXES)
