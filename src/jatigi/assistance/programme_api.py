"""The JSON API of programmes and their households: list, create, read (with figures), change a
draft, activate, close, cancel; enrol households from a scoring run, an uploaded list or one by one;
take one out; list those enrolled; explain one household's monthly amount.

Thin: assistance.programmes and assistance.enrolment check permissions, keep a programme to its
organisation (anybody else gets "not found") and audit. Bad input answers 422 with each field and
its reason.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from jatigi.accounts.models import Organisation
from jatigi.assistance import enrolment, programmes
from jatigi.assistance.entitlement import explain
from jatigi.assistance.formula import shipped_formulas
from jatigi.assistance.models import PaymentProvider, Programme
from jatigi.assistance.pages import upload_name
from jatigi.assistance.policies import get_programme
from jatigi.assistance.schemas import (
    REFUSED,
    EnrolIn,
    EnrolledHouseholdOut,
    EnrolledOut,
    EnrolledPage,
    EntitlementOut,
    ExitedOut,
    ExitIn,
    ProblemOut,
    ProgrammeDetailOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    ReasonIn,
    entitlement_out,
    file_refused,
    programme_out,
    refused,
)
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import NotFound, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.targeting.simulate import Budget
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["assistance"])

Reader = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PROGRAMME_READ))]
Writer = Annotated[Actor, Depends(require(Permission.ASSISTANCE_PROGRAMME_WRITE))]
Code = Annotated[str, PathParam(max_length=16, description="The programme's code, such as PRG-0001.")]
MAX_OFFSET = 2**62
PAGE = 100
SHOWN_PROBLEMS = 1000


def _names(session: Session, found: list[Programme]) -> tuple[dict[int, str], dict[int, str]]:
    """Organisation acronyms and provider names of the programmes, by id."""
    orgs = {p.org_id for p in found}
    providers = {p.provider_id for p in found if p.provider_id is not None}
    acronyms = dict(session.execute(sa.select(Organisation.id, Organisation.acronym)
                                    .where(Organisation.id.in_(orgs))).all()) if orgs else {}
    names = dict(session.execute(sa.select(PaymentProvider.id, PaymentProvider.name)
                                 .where(PaymentProvider.id.in_(providers))).all()) if providers else {}
    return acronyms, names


def _out(session: Session, fig: programmes.ProgrammeFigures, *, detail: bool = False) -> ProgrammeOut:
    acronyms, names = _names(session, [fig.programme])
    p = fig.programme
    return programme_out(fig, acronyms.get(p.org_id, ""), names.get(p.provider_id) if p.provider_id else None,
                         detail=detail)


def _figures(session: Session, programme: Programme) -> ProgrammeOut:
    return _out(session, programmes.figures(session, [programme])[0], detail=True)


def _formula_text(value: str | None) -> str | None:
    """A shipped formula's text for its name; any other text as it is."""
    if value is None:
        return None
    shipped = shipped_formulas()
    name = value.strip()
    return shipped[name].read_text(encoding="utf-8") if name in shipped else value


@router.get("/assistance/programmes", response_model=list[ProgrammeOut], responses=REFUSED)
def list_programmes(session: SessionDep, actor: Reader,
                    state: str = Query("", max_length=12, description="draft, active, closed or cancelled."),
                    limit: int = Query(200, ge=1, le=1000)) -> list[ProgrammeOut] | JSONResponse:
    """The programmes of your organisation, the newest first, with households enrolled, cycles and amount paid."""
    try:
        found = programmes.list_programmes(session=session, actor=actor, state=state or None, limit=limit)
    except ValidationFailed as exc:
        return refused([("state", exc.message)], {"state": state})
    acronyms, names = _names(session, [f.programme for f in found])
    return [programme_out(f, acronyms.get(f.programme.org_id, ""),
                          names.get(f.programme.provider_id) if f.programme.provider_id else None) for f in found]


@router.post("/assistance/programmes", response_model=ProgrammeDetailOut, status_code=status.HTTP_201_CREATED,
             responses=REFUSED)
def create_programme(body: ProgrammeIn, session: SessionDep, actor: Writer) -> ProgrammeOut | JSONResponse:
    """A new programme, in draft, for your organisation: enrol households, then activate it."""
    values = body.model_dump()
    try:
        programme = programmes.create_programme(
            session=session, actor=actor, name=body.name, sector=body.sector, modality=body.modality,
            start_month=body.start_month, planned_months=body.planned_months, formula=_formula_text(body.formula) or "",
            donor=body.donor, objective=body.objective, area_pcode=body.area_pcode, provider=body.provider)
    except programmes.ProgrammeInvalid as exc:
        return refused(list(exc.problems.items()), values)
    return _figures(session, programme)


@router.get("/assistance/programmes/{code}", response_model=ProgrammeDetailOut)
def get_programme_(code: Code, session: SessionDep, actor: Reader) -> ProgrammeOut:
    """One programme with its formula and figures; the read is audited."""
    return _out(session, programmes.read_programme(session=session, actor=actor, ref=code), detail=True)


@router.patch("/assistance/programmes/{code}", response_model=ProgrammeDetailOut, responses=REFUSED)
def update_programme(code: Code, body: ProgrammePatch, session: SessionDep,
                     actor: Writer) -> ProgrammeOut | JSONResponse:
    """Change the fields given, while the programme is a draft (409 once active, or when `version` is stale)."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    if "formula" in changes:
        changes["formula"] = _formula_text(changes["formula"])
    try:
        programme = programmes.update_programme(session=session, actor=actor, ref=code, changes=changes,
                                                expected_version=version)
    except programmes.ProgrammeInvalid as exc:
        return refused(list(exc.problems.items()), changes)
    return _figures(session, programme)


@router.post("/assistance/programmes/{code}/activate", response_model=ProgrammeDetailOut)
def activate(code: Code, session: SessionDep, actor: Writer) -> ProgrammeOut:
    """Draft → active: cycles can then be created."""
    return _figures(session, programmes.activate(session=session, actor=actor, ref=code))


@router.post("/assistance/programmes/{code}/close", response_model=ProgrammeDetailOut)
def close(code: Code, session: SessionDep, actor: Writer, body: ReasonIn | None = None) -> ProgrammeOut:
    """Active → closed (refused while a cycle is approved or sent)."""
    reason = body.reason if body is not None else None
    return _figures(session, programmes.close(session=session, actor=actor, ref=code, reason=reason))


@router.post("/assistance/programmes/{code}/cancel", response_model=ProgrammeDetailOut, responses=REFUSED)
def cancel(code: Code, session: SessionDep, actor: Writer,
           body: ReasonIn | None = None) -> ProgrammeOut | JSONResponse:
    """Cancel a draft or active programme, with the reason; its cycles not yet approved are cancelled too."""
    reason = (body.reason if body is not None else None) or ""
    if not reason.strip():
        get_programme(session, actor, code)  # an unknown programme is "not found" before a missing reason
        return refused([("reason", _("Say why the programme is cancelled."))])
    return _figures(session, programmes.cancel(session=session, actor=actor, ref=code, reason=reason))


# --- Enrolment -------------------------------------------------------------------------------------

def _enrol_problems(body: EnrolIn) -> list[tuple[str, str]]:
    if (body.run is None) == (body.household is None):
        return [("run", _("Give a run or a household (one of them)."))]
    money = {"budget": body.budget, "transfer_value": body.transfer_value, "months": body.months}
    given = [name for name, value in money.items() if value is not None]
    if given and body.run is None:
        return [(name, _("This goes with a run.")) for name in given]
    if given and len(given) < len(money):
        missing = [name for name in money if name not in given]
        return [(name, _("The budget is incomplete: give {missing} too.", missing=", ".join(missing)))
                for name in missing]
    return []


def _enrolled_out(done: enrolment.Enrolled) -> EnrolledOut:
    return EnrolledOut(programme=done.programme.code, found=done.found, enrolled=done.enrolled, skipped=done.skipped,
                       message=_("{code}: {enrolled} households enrolled, {skipped} already enrolled (of {found}).",
                                 code=done.programme.code, enrolled=number(done.enrolled),
                                 skipped=number(done.skipped), found=number(done.found)))


@router.post("/assistance/programmes/{code}/enrolments", response_model=EnrolledOut, responses=REFUSED)
def enrol(code: Code, body: EnrolIn, session: SessionDep, actor: Writer) -> EnrolledOut | JSONResponse:
    """Enrol a run's households (by category, or those a budget reaches, highest scores first), or one household.
    Households already enrolled are counted as skipped."""
    values = body.model_dump()
    get_programme(session, actor, code)  # "not found" before anything about the request
    problems = _enrol_problems(body)
    if problems:
        return refused(problems, values)
    if body.household is not None:
        try:
            done = enrolment.enrol_household(session=session, actor=actor, ref=code, code=body.household)
        except NotFound as exc:
            return refused([("household", exc.message)], values)
        return _enrolled_out(done)
    limit = None
    if body.budget is not None and body.transfer_value is not None and body.months is not None:
        try:
            limit = Budget(body.budget, body.transfer_value, body.months)
        except ValidationFailed as exc:
            return refused([("budget", exc.message)], values)
    try:
        done = enrolment.enrol_from_run(session=session, actor=actor, ref=code, run_id=body.run or 0,
                                        categories=body.categories or None, budget=limit)
    except NotFound as exc:
        return refused([("run", exc.message)], values)
    except ValidationFailed as exc:
        return refused([("categories", exc.message)], values)
    return _enrolled_out(done)


def _safe_name(name: str | None) -> str:
    return upload_name(name, "upload.csv")


@router.post("/assistance/programmes/{code}/enrolments/upload", response_model=EnrolledOut,
             responses={422: {"description": "The list's problems by row: nobody was enrolled."}})
def enrol_list(code: Code, session: SessionDep, actor: Writer,
               file: Annotated[UploadFile, File(description="A CSV or XLSX list with a household_code column.")],
               ) -> EnrolledOut | JSONResponse:
    """Enrol the households of a list: all of them, or nobody when a row is bad (each bad row is named)."""
    get_programme(session, actor, code)
    with tempfile.TemporaryDirectory(prefix="jatigi-upload-") as tmp:
        path = Path(tmp) / _safe_name(file.filename)
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh, 1 << 20)
        try:
            done = enrolment.enrol_from_list(session=session, actor=actor, ref=code, path=path)
        except enrolment.ListInvalid as exc:
            shown = [ProblemOut(sheet=path.name, row=row, column="household_code", value="", message=message)
                     for row, message in exc.problems[:SHOWN_PROBLEMS]]
            return file_refused(_("{file}: {n} problems; nobody was enrolled.", file=path.name,
                                  n=number(len(exc.problems))), shown, len(exc.problems))
        except ValidationFailed as exc:
            return refused([("file", exc.message)], {"file": path.name})
    return _enrolled_out(done)


@router.post("/assistance/programmes/{code}/exit", response_model=ExitedOut, responses=REFUSED)
def exit_household(code: Code, body: ExitIn, session: SessionDep, actor: Writer) -> ExitedOut | JSONResponse:
    """Take a household out of the programme, with the reason: it gets no line in the cycles prepared from now on."""
    programme = get_programme(session, actor, code)
    if not body.reason.strip():
        return refused([("reason", _("Say why the household leaves the programme."))], body.model_dump())
    done = enrolment.exit_household(session=session, actor=actor, ref=code, code=body.household, reason=body.reason)
    assert done.exited_at is not None
    return ExitedOut(programme=programme.code, household=body.household.strip().upper(), exited_at=done.exited_at,
                     reason=done.exit_reason or "")


@router.get("/assistance/programmes/{code}/households", response_model=EnrolledPage)
def enrolled(code: Code, session: SessionDep, actor: Reader, limit: int = Query(PAGE, ge=1, le=1000),
             offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> EnrolledPage:
    """The households the programme enrols (that you may see), in the order enrolled, with those who left."""
    total, rows = enrolment.enrolled_households(session=session, actor=actor, ref=code, limit=limit, offset=offset)
    return EnrolledPage(total=total, limit=limit, offset=offset,
                        items=[EnrolledHouseholdOut(household_code=r.code, source=r.source, score=r.score,
                                                    enrolled_at=r.enrolled_at, exited_at=r.exited_at,
                                                    exit_reason=r.exit_reason) for r in rows])


@router.get("/assistance/programmes/{code}/entitlement", response_model=EntitlementOut)
def entitlement(code: Code, session: SessionDep, actor: Reader,
                household: str = Query(min_length=1, max_length=20, description="The household's code.")
                ) -> EntitlementOut:
    """How the household's monthly amount is made up under the programme's formula, from its data as they are
    now; the read is audited."""
    programme = get_programme(session, actor, code)
    e = explain(session=session, actor=actor, formula=programmes.formula_of(programme), code=household)
    return entitlement_out(e, programme)
