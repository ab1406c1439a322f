"""The JSON API of payments: the providers and their templates, a cycle's payment file (a download;
the first export marks the cycle sent), the reconciliation of a provider's report (an upload), and
the coverage of assistance and its continuity.

Thin: assistance.payment_files, reconcile and coverage check permissions, keep a cycle to its
programme's organisation (anybody else gets "not found") and audit. The same report applied twice
answers 409; a report none of whose lines can be applied answers 422 with each line's problem.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from jatigi.assistance import coverage as coverage_
from jatigi.assistance import payment_files, reconcile, vocab
from jatigi.assistance import providers as providers_
from jatigi.assistance.models import PaymentProvider
from jatigi.assistance.pages import upload_name
from jatigi.assistance.schemas import (
    MAX_ID,
    REFUSED,
    ContinuityOut,
    CoverageOut,
    ExportIn,
    ProblemOut,
    ProviderColumnOut,
    ProviderOut,
    ReconciliationOut,
    continuity_out,
    coverage_out,
    file_refused,
    refused,
)
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.registry.problems import Problem
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["assistance"])

Reader = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PROGRAMME_READ))]
Exporter = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PAYMENT_EXPORT))]
Reconciler = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PAYMENT_RECONCILE))]
CycleId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The cycle's id.")]
SHOWN_PROBLEMS = 1000
MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "pdf": "application/pdf"}
FILE_RESPONSES = {200: {"description": "The payment file, as the provider's template says (CSV, XLSX or PDF).",
                        "content": {"text/csv": {}, MEDIA_TYPES["xlsx"]: {}, MEDIA_TYPES["pdf"]: {}}},
                  **REFUSED}


# --- Providers -------------------------------------------------------------------------------------

def _provider_out(name: str, label: str, kind: str, template: dict[str, object], active: bool) -> ProviderOut:
    t = providers_.Template(dict(template))
    report = t.report
    return ProviderOut(name=name, label=label, kind=kind, kind_label=_(vocab.PROVIDER_KINDS.get(kind, kind)),
                       format=t.format, active=active,
                       columns=[ProviderColumnOut(header=t.header_of(c), field=c["field"]) for c in t.columns],
                       report_columns={key: str(report[key]) for key in providers_.REPORT_COLUMNS if report.get(key)},
                       statuses={str(word): str(outcome) for word, outcome in report.get("statuses", {}).items()})


def _all_providers(session: Session, actor: Actor) -> dict[str, ProviderOut]:
    """The stored providers, and the shipped ones not stored yet (they are on first use): reading writes nothing."""
    stored: list[PaymentProvider] = providers_.list_providers(session, actor)
    out = {p.name: _provider_out(p.name, p.label, p.kind, p.template, p.active) for p in stored}
    for name in providers_.SHIPPED:
        if name not in out:
            text = (providers_.SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8")
            label, kind, template = providers_.parse_toml(text, name)
            out[name] = _provider_out(name, label or name, kind, template, True)
    return dict(sorted(out.items()))


@router.get("/assistance/providers", response_model=list[ProviderOut])
def list_providers(session: SessionDep, actor: Reader) -> list[ProviderOut]:
    """The payment providers: the columns of the file each takes, and how its report is read."""
    return list(_all_providers(session, actor).values())


@router.get("/assistance/providers/{name}", response_model=ProviderOut)
def get_provider(name: Annotated[str, PathParam(max_length=40)], session: SessionDep, actor: Reader) -> ProviderOut:
    """One payment provider and its template."""
    found = _all_providers(session, actor)
    wanted = name.strip().lower()
    if wanted not in found:
        raise NotFound(_("No payment provider {name}; known: {known}.", name=name, known=", ".join(found) or _("none")))
    return found[wanted]


def _known_provider(session: Session, name: str | None) -> str | None:
    """The problem with a provider's name, if it names none or one that is not in use."""
    if not name:
        return None
    providers_.ensure_shipped(session)
    try:
        providers_.get_provider(session, name, in_use=True)
    except (NotFound, ValidationFailed) as exc:
        return exc.message
    return None


# --- The payment file ------------------------------------------------------------------------------

def _media_type(fmt: str, encoding: str) -> str:
    if fmt == "csv":
        return f"text/csv; charset={'utf-8' if encoding.startswith('utf-8') else encoding}"
    return MEDIA_TYPES[fmt]


@router.post("/assistance/cycles/{cycle_id}/export", response_class=Response, responses=FILE_RESPONSES)
def export(cycle_id: CycleId, body: ExportIn, session: SessionDep, actor: Exporter) -> Response:
    """The cycle's payment file for the provider, as a download: its due lines only. The first export marks the cycle
    and its payments sent and keeps the provider on the cycle (it is exported again and reconciled with that provider
    only, 409 otherwise; the provider's kind must suit the programme's modality). Exporting a sent cycle again gives
    the same lines and changes nothing. The headers X-Payment-Lines, X-Payment-Total (FCFA) and X-Cycle-State tell what
    was written; X-Payments-Cancelled how many due lines the first export cancelled, their households removed from
    the registry or no longer visible (X-Payments-Cancelled-Reasons: removed=n, hidden=n)."""
    problem = _known_provider(session, body.provider)
    if problem:
        return refused([("provider", problem)], body.model_dump())
    cycle, programme = payment_files.cycle_for(session, actor, cycle_id)
    chosen = providers_.get_provider(session, body.provider)
    template, name = providers_.template_of(chosen), chosen.name
    filename = f"{programme.code}-{cycle.number}-{name}.{template.format}"
    with tempfile.TemporaryDirectory(prefix="jatigi-export-") as tmp:
        result = payment_files.export_cycle(session, actor, cycle_id=cycle_id, provider_name=name,
                                            out=Path(tmp) / filename)
        data = result.path.read_bytes()
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-Payment-Lines": str(result.lines),
               "X-Payment-Total": str(result.total), "X-Payment-Currency": vocab.CURRENCY, "X-Cycle-State": cycle.state,
               "X-Payments-Cancelled": str(sum(result.cancelled.values()))}
    if result.cancelled:
        headers["X-Payments-Cancelled-Reasons"] = ", ".join(f"{k}={n}" for k, n in result.cancelled.items())
    return Response(data, media_type=_media_type(template.format, str(template.data.get("encoding", "utf-8"))),
                    headers=headers)


# --- Reconciliation --------------------------------------------------------------------------------

def _safe_name(name: str | None) -> str:
    return upload_name(name, "report.csv")


def _problem_out(p: Problem) -> ProblemOut:
    kind = p.kind if isinstance(p, reconcile.LineProblem) else ""
    return ProblemOut(sheet=p.sheet, row=p.row, column=p.column, value=p.value, message=p.message, kind=kind)


@router.post("/assistance/cycles/{cycle_id}/reconcile", response_model=ReconciliationOut,
             responses={409: {"description": "This report was already applied to the cycle."},
                        422: {"description": "Wrong columns, or no line can be applied: each line's problem."}})
def reconcile_report(cycle_id: CycleId, session: SessionDep, actor: Reconciler,
                     file: Annotated[UploadFile, File(description="The provider's report, CSV or XLSX.")],
                     provider: Annotated[str | None, Form(max_length=40, description="The provider (default: the one "
                                                                                     "the file was exported for).")]
                     = None) -> ReconciliationOut | JSONResponse:
    """Apply the provider's report: each sent payment becomes paid, failed or unclaimed. Lines with a problem
    (unknown reference, another cycle, another currency, a repeated reference, an amount that differs…) are
    reported with their line number and never applied; the same file is never applied twice."""
    problem = _known_provider(session, provider)
    if problem:
        return refused([("provider", problem)], {"provider": provider})
    with tempfile.TemporaryDirectory(prefix="jatigi-upload-") as tmp:
        path = Path(tmp) / _safe_name(file.filename)
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh, 1 << 20)
        try:
            result = reconcile.reconcile(session, actor, cycle_id=cycle_id, path=path, provider_name=provider or None)
        except reconcile.NothingApplied as exc:
            return file_refused(exc.message, [_problem_out(p) for p in exc.problems[:SHOWN_PROBLEMS]],
                                len(exc.problems))
    rec, counts = result.reconciliation, result.counts
    cycle, _programme = payment_files.cycle_for(session, actor, cycle_id)
    return ReconciliationOut(
        id=rec.id, cycle_id=cycle_id, file=rec.filename, lines=rec.lines, paid=counts["paid"], failed=counts["failed"],
        unclaimed=counts["unclaimed"], unchanged=counts["unchanged"], problem_count=counts["problems"],
        by_problem=counts["by_problem"], problems=[_problem_out(p) for p in result.problems[:SHOWN_PROBLEMS]],
        cycle_state=cycle.state,
        message=_("Reconciliation {id} of cycle {cycle}: {paid} paid, {failed} failed, {unclaimed} unclaimed, "
                  "{unchanged} unchanged; {problems} lines not applied.", id=rec.id, cycle=cycle_id,
                  paid=number(counts["paid"]), failed=number(counts["failed"]),
                  unclaimed=number(counts["unclaimed"]), unchanged=number(counts["unchanged"]),
                  problems=number(counts["problems"])))


# --- Coverage and continuity -----------------------------------------------------------------------

@router.get("/assistance/coverage", response_model=CoverageOut, responses=REFUSED)
def coverage(session: SessionDep, actor: Reader,
             since: Annotated[str, Query(max_length=10, description="The first month, YYYY-MM.")],
             until: Annotated[str | None, Query(max_length=10, description="The last month, YYYY-MM (default: "
                                                                          "since).")] = None,
             level: Annotated[int, Query(ge=1, le=2, description="1: regions, 2: cercles.")] = 1,
             place: Annotated[str | None, Query(max_length=20, description="Only households under this "
                                                                           "P-code.")] = None,
             ) -> CoverageOut | JSONResponse:
    """Per area and population group: households, enrolled, assisted, months covered, amounts paid, and each
    need (rent, food, health, education) with how many households no programme covered in the period."""
    values = {"since": since, "until": until}
    for field, given in (("since", (since, None)), ("until", (since, until))):
        try:
            coverage_.period(*given)
        except ValidationFailed as exc:
            return refused([(field, exc.message)], values)
    return coverage_out(coverage_.coverage(session=session, actor=actor, since=since, until=until, level=level,
                                           place=place or None))


@router.get("/assistance/continuity", response_model=list[ContinuityOut])
def continuity(session: SessionDep, actor: Reader,
               within: Annotated[int, Query(ge=0, le=36, description="Programmes whose planned end is at most this "
                                                                     "many months away (or past).")] = 2,
               ) -> list[ContinuityOut]:
    """Active programmes ending soon, and how many of their households are still vulnerable in the latest run of
    the model that selected them."""
    return [continuity_out(c) for c in coverage_.continuity(session=session, actor=actor, within_months=within,
                                                             today=date.today())]
