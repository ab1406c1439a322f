"""The registry's JSON API: households, their history, imports and the summary.

Thin: parse the request, call the service, shape the answer. Reads and writes are audited by
the services; who may see which household is decided there too (`service.visibility`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse

from jatigi.accounts.models import Organisation
from jatigi.accounts.service import organisation_by_acronym
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.places.service import known_pcodes
from jatigi.registry import form_spec, service
from jatigi.registry.history import household_history
from jatigi.registry.importer import FORMATS, ImportOptions, import_files
from jatigi.registry.problems import Problem
from jatigi.registry.schemas import (
    ConsentOut,
    CreatedOut,
    DeletedOut,
    HistoryEntryOut,
    HouseholdDetailOut,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    HouseholdPatch,
    ImportOut,
    MemberOut,
    MovementOut,
    ProblemOut,
    ProblemsOut,
    RelativeOut,
    SearchHitOut,
    SummaryOut,
    SummaryRowOut,
    SummaryTotalOut,
)
from jatigi.registry.validate import Context, RawRow, RawSubmission, check_submission
from jatigi.web.deps import SessionDep, require

router = APIRouter(tags=["registry"])

ReadActor = Annotated[Actor, Depends(require(Permission.REGISTRY_HOUSEHOLD_READ))]
MAX_SHOWN_PROBLEMS = 1000


def _problems_response(problems: list[Problem], count: int, detail: str) -> JSONResponse:
    body = ProblemsOut(detail=detail, problem_count=count,
                       problems=[ProblemOut(**p.__dict__) for p in problems[:MAX_SHOWN_PROBLEMS]])
    return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


# ---- households -----------------------------------------------------------------------------


@router.get("/households", response_model=HouseholdPage)
def list_or_search(
    session: SessionDep, actor: ReadActor,
    q: str | None = Query(None, description="Name of any member (prefixes of given or family names)."),
    phone: str | None = None, pcode: str | None = Query(None, description="P-code or its prefix."),
    population_group: str | None = None,
    limit: int = Query(service.SEARCH_LIMIT, ge=1, le=500), offset: int = Query(0, ge=0),
) -> HouseholdPage:
    if any(v and v.strip() for v in (q, phone, pcode, population_group)):
        result = service.search(session=session, actor=actor, q=q, phone=phone, pcode=pcode,
                                population_group=population_group, limit=limit, offset=offset)
    else:
        result = service.list_households(session=session, actor=actor, limit=limit, offset=offset)
    return HouseholdPage(total=result.total, limit=limit, offset=offset,
                         items=[SearchHitOut(**h.__dict__) for h in result.hits])


@router.get("/households/{code}", response_model=HouseholdDetailOut)
def household_detail(code: str, session: SessionDep, actor: ReadActor, response: Response) -> HouseholdDetailOut:
    d = service.get_household(session=session, actor=actor, code=code)
    hh = d.household
    org = session.scalar(sa.select(Organisation.acronym).where(Organisation.id == hh.org_id)) or ""
    response.headers["ETag"] = f'"{hh.version}"'
    return HouseholdDetailOut(
        **HouseholdOut.model_validate(hh).model_dump(),
        organisation=org, phone=d.phone,
        members=[MemberOut.model_validate(p).model_copy(update={"phone": d.member_phones.get(p.id)})
                 for p in d.members],
        separated_relatives=[RelativeOut.model_validate(r).model_copy(update={"whereabouts": d.whereabouts.get(r.id)})
                             for r in d.relatives],
        movements=[MovementOut.model_validate(m) for m in d.movements],
        consents=[ConsentOut.model_validate(c) for c in d.consents],
    )


def _joined(value: Any) -> Any:
    return " ".join(str(v) for v in value) if isinstance(value, list) else value


def _yes_no(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


_RELATIVE_FIELDS = {"name": "relative_name", "relationship": "relative_relationship", "sex": "relative_sex",
                    "age": "relative_age", "last_known_pcode": "relative_last_pcode",
                    "whereabouts": "relative_whereabouts", "separated_on": "relative_separated_on"}
_MOVEMENT_FIELDS = {"kind": "movement_kind", "moved_on": "movement_date", "from_pcode": "movement_from",
                    "to_pcode": "movement_to"}
_MEMBER_RENAMED = {"phone": "member_phone"}


def _repeat(sheet: str, items: list[Any], renamed: dict[str, str]) -> list[RawRow]:
    rows = []
    for n, item in enumerate(items, start=1):
        values = {renamed.get(k, k): _joined(v) for k, v in item.model_dump().items()}
        rows.append(RawRow(sheet, n, values, {renamed.get(k, k): k for k in type(item).model_fields}))
    return rows


def to_submission(body: HouseholdIn) -> RawSubmission:
    """The JSON body as the rows the importer checks; problems name the JSON fields."""
    data = body.model_dump(exclude={"org", "consents", "members", "separated_relatives", "movements"})
    values: dict[str, object] = {k: _joined(v) for k, v in data.items() if k != "registered_on"}
    columns = {form_spec.META_TODAY: "registered_on", form_spec.META_UUID: "members"}
    values[form_spec.META_TODAY] = data.get("registered_on")
    for fname, purpose in form_spec.CONSENT_PURPOSE_OF.items():
        values[fname] = _yes_no(getattr(body.consents, purpose))
        columns[fname] = f"consents.{purpose}"
    return RawSubmission(
        main=RawRow("request", 1, values, columns),
        repeats={
            "members": _repeat("members", body.members, _MEMBER_RENAMED),
            "separated_relatives": _repeat("separated_relatives", body.separated_relatives, _RELATIVE_FIELDS),
            "movements": _repeat("movements", body.movements, _MOVEMENT_FIELDS),
        },
    )


@router.post("/households", status_code=status.HTTP_201_CREATED, response_model=CreatedOut,
             responses={422: {"model": ProblemsOut}})
def create_household(body: HouseholdIn, session: SessionDep, response: Response,
                     actor: Annotated[Actor, Depends(require(Permission.REGISTRY_HOUSEHOLD_WRITE))]) -> Any:
    record, problems = check_submission(to_submission(body), Context(pcodes=set(known_pcodes(session=session))))
    if record is None:
        return _problems_response(problems, len(problems),
                                  _("The household was not registered: {n} problems.", n=len(problems)))
    org_id = organisation_by_acronym(session=session, acronym=body.org).id if body.org else None
    code = service.create_household(session=session, actor=actor, record=record, org_id=org_id)
    response.headers["Location"] = f"/api/v1/households/{code}"
    response.headers["ETag"] = '"1"'
    return CreatedOut(code=code, version=1)


_ETAG = re.compile(r'^(?:W/)?"?(\d+)"?$')


def _if_match(value: str | None) -> int | None:
    if value is None or not value.strip() or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise ValidationFailed(_("If-Match must hold the household's version, such as \"3\"."))
    return int(match.group(1))


@router.patch("/households/{code}", response_model=HouseholdOut,
              responses={409: {"description": "The household was changed since that version."}})
def update_household(code: str, body: HouseholdPatch, session: SessionDep, response: Response,
                     actor: Annotated[Actor, Depends(require(Permission.REGISTRY_HOUSEHOLD_WRITE))],
                     if_match: Annotated[str | None, Header()] = None) -> HouseholdOut:
    changes = dict(body.model_extra or {})
    expected = body.version if body.version is not None else _if_match(if_match)
    hh = service.update_household(session=session, actor=actor, code=code, changes=changes,
                                  expected_version=expected)
    response.headers["ETag"] = f'"{hh.version}"'
    return HouseholdOut.model_validate(hh)


@router.delete("/households/{code}", response_model=DeletedOut)
def delete_household(code: str, session: SessionDep,
                     actor: Annotated[Actor, Depends(require(Permission.REGISTRY_HOUSEHOLD_DELETE))],
                     reason: str = Query(..., min_length=1, description="Why the household is deleted.")
                     ) -> DeletedOut:
    hh = service.delete_household(session=session, actor=actor, code=code, reason=reason)
    assert hh.deleted_at is not None and hh.purge_after is not None
    return DeletedOut(code=hh.code, deleted_at=hh.deleted_at, purge_after=hh.purge_after)


@router.get("/households/{code}/history", response_model=list[HistoryEntryOut])
def household_history_route(code: str, session: SessionDep, actor: ReadActor) -> list[HistoryEntryOut]:
    return [HistoryEntryOut.model_validate(e, from_attributes=True)
            for e in household_history(session=session, actor=actor, code=code)]


# ---- imports and summary ----------------------------------------------------------------------


def _safe_name(name: str | None, n: int) -> str:
    # Keep the extension (it tells CSV from XLSX) but nothing of the client's path.
    base = Path(name or f"upload-{n}").name
    return re.sub(r"[^\w.\-]+", "_", base)[:120] or f"upload-{n}"


@router.post("/imports", response_model=ImportOut, responses={422: {"model": ProblemsOut}})
def import_upload(
    session: SessionDep,
    actor: Annotated[Actor, Depends(require(Permission.REGISTRY_IMPORT_RUN))],
    files: Annotated[list[UploadFile], File(description="One export; a Kobo export may be several files.")],
    format: Annotated[str, Form(description="auto, kobo, csv, xlsx or hxl.")] = "auto",
    org: Annotated[str | None, Form(description="Acronym of the registering organisation.")] = None,
    partial: Annotated[bool, Form(description="Write the valid households, report the others.")] = False,
) -> Any:
    if format not in FORMATS:
        raise ValidationFailed(_("Unknown format {format}; accepted: {accepted}.", format=format,
                                 accepted=", ".join(FORMATS)))
    with tempfile.TemporaryDirectory(prefix="jatigi-upload-") as tmp:
        paths: list[Path] = []
        for n, upload in enumerate(files, start=1):
            target = Path(tmp) / f"{n:02d}" / _safe_name(upload.filename, n)
            target.parent.mkdir()
            with target.open("wb") as fh:
                shutil.copyfileobj(upload.file, fh, 1 << 20)
            paths.append(target)
        result = import_files(session=session, actor=actor, paths=paths,
                              options=ImportOptions(format=format, org=org or None, partial=partial))
    out = ImportOut(
        status=result.status, batch_id=result.batch_id, submissions=result.submissions,
        households_written=result.households_written, people_written=result.people_written,
        households_skipped=result.households_skipped, households_rejected=result.households_rejected,
        problem_count=result.problem_count,
        problems=[ProblemOut(**p.__dict__) for p in result.problems[:MAX_SHOWN_PROBLEMS]],
        duplicate_check=result.duplicates.message if result.duplicates else None,
    )
    if result.status == "rejected":
        body = ProblemsOut(detail=_("Nothing was written: {n} problems in {households} households.",
                                    n=result.problem_count, households=result.households_rejected),
                           problems=out.problems, problem_count=result.problem_count)
        return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return out


@router.get("/registry/summary", response_model=SummaryOut)
def registry_summary(session: SessionDep,
                     actor: Annotated[Actor, Depends(require(Permission.REGISTRY_SUMMARY_READ))]) -> SummaryOut:
    rows = service.summary(session=session, actor=actor)
    return SummaryOut(
        rows=[SummaryRowOut(**r.__dict__) for r in rows],
        total=SummaryTotalOut(households=sum(r.households for r in rows), people=sum(r.people for r in rows),
                              female_headed=sum(r.female_headed for r in rows)),
    )

