"""The JSON API of cycles: a programme's cycles, the next one, one cycle's counts (held by reason,
totals) and history; prepare, approve (by another person), reject, cancel, close once reconciled; its payment
lines; one household's entitlement in it; its post-distribution monitoring indicators, and the import of its
monitoring interviews (an upload: all rows or none, a file imported again adds nothing).

Thin: assistance.cycles, payment_lines, entitlement and pdm check permissions, keep a cycle to its
programme's organisation (anybody else gets "not found") and audit.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from jatigi.assistance import cycles, payment_lines, pdm, programmes
from jatigi.assistance.entitlement import explain
from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.assistance.pages import upload_name
from jatigi.assistance.policies import get_cycle
from jatigi.assistance.schemas import (
    MAX_ID,
    REFUSED,
    CycleDetailOut,
    CycleOut,
    EntitlementOut,
    NoteIn,
    PaymentPage,
    PdmImportOut,
    PdmOut,
    ProblemOut,
    ReasonIn,
    cycle_detail_out,
    cycle_out,
    entitlement_out,
    file_refused,
    payment_out,
    pdm_out,
    refused,
)
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["assistance"])

Reader = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PROGRAMME_READ))]
Preparer = Annotated[Actor, Depends(require(Permission.ASSISTANCE_CYCLE_PREPARE))]
Approver = Annotated[Actor, Depends(require(Permission.ASSISTANCE_CYCLE_APPROVE))]
Reconciler = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PAYMENT_RECONCILE))]
Monitor = Annotated[Actor, Depends(require(Permission.ASSISTANCE_MONITORING_WRITE))]
Code = Annotated[str, Path(max_length=16, description="The programme's code, such as PRG-0001.")]
CycleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The cycle's id (as listed by the programme's cycles).")]
MAX_OFFSET = 2**62
SHOWN_PROBLEMS = 1000  # problems of a refused file in the answer (problem_count tells how many in all)


def _out(session: Session, cycle: Cycle) -> CycleOut:
    programme = session.get(Programme, cycle.programme_id)
    assert programme is not None
    return CycleOut(**cycle_out(cycle, programme))


@router.get("/assistance/programmes/{code}/cycles", response_model=list[CycleOut])
def list_cycles(code: Code, session: SessionDep, actor: Reader) -> list[CycleOut]:
    """The programme's cycles in order, each with its counts as prepared."""
    programme, found = cycles.list_cycles(session=session, actor=actor, ref=code)
    return [CycleOut(**cycle_out(c, programme)) for c in found]


@router.post("/assistance/programmes/{code}/cycles", response_model=CycleOut, status_code=status.HTTP_201_CREATED)
def create_cycle(code: Code, session: SessionDep, actor: Preparer) -> CycleOut:
    """The programme's next cycle, in draft, for the next month of its planned duration (409 past the last one)."""
    return _out(session, cycles.create_cycle(session=session, actor=actor, ref=code))


@router.get("/assistance/cycles/{cycle_id}", response_model=CycleDetailOut)
def get_cycle_(cycle_id: CycleId, session: SessionDep, actor: Reader) -> CycleDetailOut:
    """One cycle: households due and held by reason, totals, the payments by state now, who did what."""
    return cycle_detail_out(cycles.read_cycle(session=session, actor=actor, ref=cycle_id))


@router.post("/assistance/cycles/{cycle_id}/prepare", response_model=CycleOut)
def prepare(cycle_id: CycleId, session: SessionDep, actor: Preparer) -> CycleOut:
    """Write the cycle's lines: each enrolled household due with its amount, or held with the reason, and the
    re-issues of earlier failed payments. A draft or rejected cycle only (409 otherwise)."""
    return _out(session, cycles.prepare(session=session, actor=actor, ref=cycle_id))


@router.post("/assistance/cycles/{cycle_id}/approve", response_model=CycleOut)
def approve(cycle_id: CycleId, session: SessionDep, actor: Approver) -> CycleOut:
    """Approve a prepared cycle; it is then locked. Refused (403) to whoever prepared it: four eyes."""
    return _out(session, cycles.approve(session=session, actor=actor, ref=cycle_id))


def _reason(body: ReasonIn | None) -> str:
    return ((body.reason if body is not None else None) or "").strip()


@router.post("/assistance/cycles/{cycle_id}/reject", response_model=CycleOut, responses=REFUSED)
def reject(cycle_id: CycleId, session: SessionDep, actor: Approver,
           body: ReasonIn | None = None) -> CycleOut | JSONResponse:
    """Send a prepared cycle back, or an approved one not yet sent (403 to whoever prepared it), with what must be
    corrected; it can be prepared again."""
    reason = _reason(body)
    if not reason:
        get_cycle(session, actor, cycle_id)
        return refused([("reason", _("Say why the cycle is rejected."))])
    return _out(session, cycles.reject(session=session, actor=actor, ref=cycle_id, reason=reason))


@router.post("/assistance/cycles/{cycle_id}/cancel", response_model=CycleOut, responses=REFUSED)
def cancel(cycle_id: CycleId, session: SessionDep, actor: Preparer,
           body: ReasonIn | None = None) -> CycleOut | JSONResponse:
    """Cancel a cycle not yet sent, with the reason: its lines are removed (once approved, its due payments are
    cancelled and kept)."""
    reason = _reason(body)
    if not reason:
        get_cycle(session, actor, cycle_id)
        return refused([("reason", _("Say why the cycle is cancelled."))])
    return _out(session, cycles.cancel(session=session, actor=actor, ref=cycle_id, reason=reason))


@router.post("/assistance/cycles/{cycle_id}/close", response_model=CycleOut)
def close(cycle_id: CycleId, session: SessionDep, actor: Reconciler, body: NoteIn | None = None) -> CycleOut:
    """Close a reconciled cycle once the provider will send no more report (409 otherwise), with an optional note:
    no report can then be applied to it; its failed and unclaimed payments are still re-issued in later cycles."""
    note = body.note if body is not None else None
    return _out(session, cycles.close(session=session, actor=actor, ref=cycle_id, note=note))


@router.get("/assistance/cycles/{cycle_id}/payments", response_model=PaymentPage, responses=REFUSED)
def payments(cycle_id: CycleId, session: SessionDep, actor: Reader,
             state: str = Query("", max_length=12, description="held, due, sent, paid, failed, unclaimed, reissued "
                                                               "or cancelled."),
             hold_reason: str = Query("", max_length=24, description="Only lines held for this reason."),
             limit: int = Query(100, ge=1, le=payment_lines.MAX_PAGE),
             offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> PaymentPage | JSONResponse:
    """The cycle's payment lines (households you may see), by household code; the read is audited."""
    problems = payment_lines.check_filters(state, hold_reason)
    if problems:
        get_cycle(session, actor, cycle_id)
        return refused(problems, {"state": state, "hold_reason": hold_reason})
    cycle, _programme, total, lines = payment_lines.payment_lines(
        session=session, actor=actor, ref=cycle_id, state=state or None, hold_reason=hold_reason or None,
        limit=limit, offset=offset)
    return PaymentPage(cycle_id=cycle.id, total=total, limit=limit, offset=offset,
                       items=[payment_out(line) for line in lines])


@router.get("/assistance/cycles/{cycle_id}/entitlement", response_model=EntitlementOut)
def entitlement(cycle_id: CycleId, session: SessionDep, actor: Reader,
                household: str = Query(min_length=1, max_length=20, description="The household's code.")
                ) -> EntitlementOut:
    """How the household's amount is made up under the programme's formula, from its data as they are now, beside
    its line in the cycle as prepared; the read is audited."""
    cycle, programme = get_cycle(session, actor, cycle_id)
    e = explain(session=session, actor=actor, formula=programmes.formula_of(programme), code=household)
    line = session.scalar(sa.select(Payment).where(Payment.cycle_id == cycle.id, Payment.household_id == e.household.id,
                                                   Payment.reissue_of.is_(None)))
    return entitlement_out(e, programme, line)


@router.get("/assistance/cycles/{cycle_id}/pdm", response_model=PdmOut)
def monitoring(cycle_id: CycleId, session: SessionDep, actor: Reader) -> PdmOut:
    """The cycle's post-distribution monitoring indicators: received, full amount, on time, safe, asked to pay,
    satisfied, and what the money was spent on (counts rather than percentages under five interviews)."""
    return pdm_out(pdm.indicators(session, actor, cycle_id))



def _safe_name(name: str | None) -> str:
    return upload_name(name, "pdm.csv")


@router.post("/assistance/cycles/{cycle_id}/pdm", response_model=PdmImportOut,
             responses={409: {"description": "The cycle is not sent, reconciled or closed: nothing was written."},
                        422: {"description": "Wrong columns, or the file's problems by row, column and value: "
                                             "nothing was written."}})
def import_monitoring(cycle_id: CycleId, session: SessionDep, actor: Monitor,
                      file: Annotated[UploadFile, File(description="The interviews: a Kobo export, CSV or XLSX, one "
                                                                   "row per interview.")],
                      delimiter: Annotated[str | None, Form(max_length=1, description="CSV delimiter (default: "
                                                                                      "guessed).")] = None,
                      ) -> PdmImportOut | JSONResponse:
    """Import post-distribution monitoring interviews into a sent, reconciled or closed cycle: each row linked to
    the cycle's payment by its reference or the household's code. All rows or none: a file with any problem writes
    nothing and every problem is named by row, column and value. Interviews imported already (the same _uuid, or
    without one the same payment the same day) are counted in `already`: importing a file again adds nothing."""
    with tempfile.TemporaryDirectory(prefix="jatigi-upload-") as tmp:
        path = FilePath(tmp) / _safe_name(file.filename)
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh, 1 << 20)
        try:
            result = pdm.import_file(session=session, actor=actor, cycle=cycle_id, path=path,
                                     delimiter=delimiter or None)
        except pdm.PdmInvalid as exc:
            session.rollback()
            return file_refused(exc.message, [ProblemOut(sheet=p.sheet, row=p.row, column=p.column, value=p.value,
                                                         message=p.message) for p in exc.problems[:SHOWN_PROBLEMS]],
                                len(exc.problems))
        except ValidationFailed as exc:
            session.rollback()
            return refused([("file", exc.message)], {"file": path.name})
    interviews = pdm.indicators(session, actor, cycle_id).interviews
    return PdmImportOut(cycle_id=cycle_id, file=path.name, rows=result.rows, added=result.added,
                        already=result.already, interviews=interviews,
                        message=_("{added} interviews added, {already} already there ({rows} rows read).",
                                  added=number(result.added), already=number(result.already),
                                  rows=number(result.rows)))
