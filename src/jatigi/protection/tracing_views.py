"""The pages of family tracing: /protection/tracing (the requests one needs to know), the form of a
new request, a request with its matches side by side (search now, confirm, reject, reunified or
closed with a note).

Thin: protection.tracing checks need to know, consent and permissions, and audits. A request one
may not see answers the 404 page, whether it exists or not.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import Conflict, Forbidden, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.core.numbers import whole_number
from jatigi.places.service import names_of
from jatigi.protection import tracing, vocab
from jatigi.registry.views import Csrf, FormProblems, Posted, when
from jatigi.web.deps import SessionDep
from jatigi.web.pages import page_require
from jatigi.web.paging import page_number
from jatigi.web.templating import render

router = APIRouter(include_in_schema=False)
Tracer = Annotated[Actor, Depends(page_require(Permission.PROTECTION_TRACING_WRITE))]

FORM_FIELDS = ("sought_given_name", "sought_family_name", "sought_sex", "sought_birth_year", "sought_age",
               "last_seen_place", "last_seen_on", "last_seen_pcode", "relationship", "separated_on",
               "inquirer_given_name", "inquirer_family_name", "inquirer_sex", "inquirer_contact", "case")
VOCAB: dict[str, Any] = {"tracing_states": vocab.TRACING_STATES, "match_states": vocab.MATCH_STATES,
                         "relationships": vocab.TRACING_RELATIONSHIPS, "sexes": vocab.SEXES,
                         "case_types": vocab.CASE_TYPES}
FIELD_LABELS = {"given_name": N_("Given name"), "family_name": N_("Family name"), "birth": N_("Birth"),
                "sex": N_("Sex"), "place": N_("Place")}
NOTICES = {
    "created": N_("The request is recorded."),
    "searched": N_("The search is done."),
    "confirm": N_("The match is confirmed: the request is matched."),
    "reject": N_("The match is rejected."),
    "reunified": N_("The family is recorded as reunified."),
    "closed": N_("The request is closed."),
}


@router.get("/protection/tracing", response_class=HTMLResponse)
def list_page(request: Request, session: SessionDep, actor: Tracer, state: str = "", page: str = "1") -> HTMLResponse:
    number = page_number(page)
    problems = FormProblems()
    state = state.strip()[:20]
    try:
        total, rows = tracing.list_requests(session, actor, state=state, offset=(number - 1) * tracing.PAGE_SIZE)
    except tracing.TracingInvalid as exc:
        problems, total, rows = FormProblems.of(exc.problems, tracing.label), 0, []
    pages = max(1, -(-total // tracing.PAGE_SIZE))

    def page_url(n: int) -> str | None:
        query = {"state": state} if state else {}
        return f"/protection/tracing?{urlencode({**query, 'page': n})}#requests-title" if 1 <= n <= pages else None

    return render(request, "protection/tracing_list.html", status_code=422 if problems else 200, rows=rows,
                  total=total, state=state, errors=problems.by_field, problems=problems.summary, page=number,
                  pages=pages, previous_url=page_url(number - 1), next_url=page_url(number + 1),
                  areas=names_of(session=session, pcodes={r.last_seen_pcode for r in rows}), when=when, **VOCAB)


def _form(request: Request, session: Session, actor: Actor, values: dict[str, Any],
          problems: FormProblems | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    return render(request, "protection/tracing_new.html", status_code=status_code, values=values,
                  errors=problems.by_field, problems=problems.summary,
                  cases=tracing.visible_cases_for_link(session, actor), **VOCAB)


@router.get("/protection/tracing/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: Tracer, case: str = "") -> HTMLResponse:
    values: dict[str, Any] = dict.fromkeys(FORM_FIELDS, "") | {"case": case.strip()[:20], "consented": False}
    return _form(request, session, actor, values)


@router.post("/protection/tracing/new", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, actor: Tracer, _csrf: Csrf, form: Posted) -> Response:
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    values["consented"] = form.get("consented") == "1"
    new = tracing.NewRequest(**{k: v for k, v in values.items() if k != "consented"},
                             inquirer_consented=values["consented"])
    try:
        with session.begin_nested():
            created = tracing.create_request(session, actor, new)
    except tracing.TracingInvalid as exc:
        return _form(request, session, actor, values, FormProblems.of(exc.problems, tracing.label), status_code=422)
    except ValidationFailed as exc:  # the search itself (too many people with such names)
        return _form(request, session, actor, values, FormProblems.general(exc.message), status_code=422)
    return RedirectResponse(f"/protection/tracing/{created.code}?done=created", status_code=303)


def _detail(request: Request, session: Session, actor: Actor, code: str, problems: FormProblems | None = None,
            values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    problems = problems or FormProblems()
    found = tracing.request_detail(session, actor, code)
    pcodes = {found.request.last_seen_pcode} | {c.area_pcode for c in found.candidates}
    done = request.query_params.get("done", "")
    return render(request, "protection/tracing_detail.html", status_code=status_code, d=found, r=found.request,
                  areas=names_of(session=session, pcodes=pcodes), errors=problems.by_field,
                  problems=problems.summary, values=values or {}, when=when, field_labels=FIELD_LABELS,
                  notice=_(NOTICES[done]) if done in NOTICES else None, threshold=tracing.DEFAULT_THRESHOLD,
                  **VOCAB)


@router.get("/protection/tracing/{code}", response_class=HTMLResponse)
def detail(code: str, request: Request, session: SessionDep, actor: Tracer) -> HTMLResponse:
    return _detail(request, session, actor, code)


def _threshold(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if 0 < value < 1 else None


@router.post("/protection/tracing/{code}/search", response_class=HTMLResponse)
def search(code: str, request: Request, session: SessionDep, actor: Tracer, _csrf: Csrf, form: Posted) -> Response:
    text = str(form.get("threshold") or "").strip()
    threshold = _threshold(text) if text else tracing.DEFAULT_THRESHOLD
    if threshold is None:
        problem = ("threshold", _("Give a probability between 0 and 1, e.g. 0.5."))
        return _detail(request, session, actor, code, FormProblems.of([problem], tracing.label),
                       {"threshold": text[:10]}, status_code=422)
    try:
        with session.begin_nested():
            done = tracing.match_request(session, actor, code, threshold=threshold)
    except tracing.TracingInvalid as exc:
        return _detail(request, session, actor, code, FormProblems.of(exc.problems, tracing.label),
                       {"threshold": text[:10]}, 422)
    except (Conflict, Forbidden, ValidationFailed) as exc:
        return _detail(request, session, actor, code, FormProblems.general(exc.message), {"threshold": text[:10]},
                       exc.status_code)
    return RedirectResponse(f"/protection/tracing/{done.request.code}?done=searched#matches-title", status_code=303)


def _decide(request: Request, session: Session, actor: Actor, code: str, form: Any, decision: str) -> Response:
    text = str(form.get("match") or "")
    match_id = whole_number(text, 18) or 0
    try:
        with session.begin_nested():
            tracing.decide_match(session, actor, code, match_id, decision)
    except (Conflict, Forbidden, ValidationFailed) as exc:
        return _detail(request, session, actor, code, FormProblems.general(exc.message), status_code=exc.status_code)
    return RedirectResponse(f"/protection/tracing/{code.strip().upper()}?done={decision}#matches-title",
                            status_code=303)


@router.post("/protection/tracing/{code}/confirm", response_class=HTMLResponse)
def confirm(code: str, request: Request, session: SessionDep, actor: Tracer, _csrf: Csrf, form: Posted) -> Response:
    return _decide(request, session, actor, code, form, "confirm")


@router.post("/protection/tracing/{code}/reject", response_class=HTMLResponse)
def reject(code: str, request: Request, session: SessionDep, actor: Tracer, _csrf: Csrf, form: Posted) -> Response:
    return _decide(request, session, actor, code, form, "reject")


@router.post("/protection/tracing/{code}/close", response_class=HTMLResponse)
def close(code: str, request: Request, session: SessionDep, actor: Tracer, _csrf: Csrf, form: Posted) -> Response:
    values = {"outcome": str(form.get("outcome") or ""), "note": str(form.get("note") or "")}
    try:
        with session.begin_nested():
            done = tracing.close_request(session, actor, code, values["outcome"], values["note"])
    except tracing.TracingInvalid as exc:
        return _detail(request, session, actor, code, FormProblems.of(exc.problems, tracing.label), values, 422)
    except (Conflict, Forbidden) as exc:
        return _detail(request, session, actor, code, FormProblems.general(exc.message), values, exc.status_code)
    return RedirectResponse(f"/protection/tracing/{done.code}?done={done.state}", status_code=303)
