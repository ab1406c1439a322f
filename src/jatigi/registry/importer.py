"""Importing households from files: validate every row, write all or nothing, idempotent.

By default a file with any problem writes nothing and the caller gets every problem found (row,
column, value, what is accepted). With `partial`, valid households are written and the others
reported; a household with any problem — in any of its members — is left out whole.
Re-importing the same Kobo export writes nothing new: `_uuid` identifies a submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts.service import organisation_by_acronym
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.db import refresh_statistics, utcnow
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.core.perf import bulk_work
from jatigi.places.service import known_pcodes
from jatigi.registry import kobo
from jatigi.registry.checking import (
    Plan,
    checked_chunks,
    checked_chunks_in_worker,
    count_rows,
    should_run_in_worker,
)
from jatigi.registry.models import Household, ImportBatch
from jatigi.registry.problems import Problem
from jatigi.registry.sheets import read_any
from jatigi.registry.writer import REGISTRY_TABLES, context_for, insert_prepared

if TYPE_CHECKING:
    from jatigi.dedup.runs import ImportCheck

FORMATS = ("auto", "kobo", "csv", "xlsx", "hxl")
MAX_KEPT_PROBLEMS = 10_000


@dataclass
class ImportOptions:
    format: str = "auto"
    mapping: Path | None = None
    org: str | None = None
    partial: bool = False
    delimiter: str | None = None
    # Check the file in a separate process; None: when it is large enough to be worth it.
    parallel: bool | None = None


@dataclass
class ImportResult:
    status: str  # committed, partial, rejected
    batch_id: int | None = None
    submissions: int = 0
    households_written: int = 0
    people_written: int = 0
    households_skipped: int = 0
    households_rejected: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicates: ImportCheck | None = None  # the check of the new people against the registry

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


def _sha256(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def _looks_hxl(path: Path) -> bool:
    try:
        sheets = read_any(path)
    except ValidationFailed:
        return False
    for s in sheets:
        first = next(s.rows, None)
        cells = [str(c).strip() for c in (first[1] if first else []) if c not in (None, "")]
        if cells and all(c.startswith("#") for c in cells):
            return True
    return False


def detect_format(paths: list[Path], mapping: Path | None) -> str:
    if mapping:
        return "xlsx" if paths[0].suffix.lower() == ".xlsx" else "csv"
    if len(paths) == 1 and _looks_hxl(paths[0]):
        return "hxl"
    sheets = [s for p in paths for s in read_any(p)]
    if kobo.looks_like_kobo(sheets):
        return "kobo"
    return "xlsx" if paths[0].suffix.lower() == ".xlsx" else "csv"


def import_files(*, session: Session, actor: Actor, paths: list[Path],
                 options: ImportOptions | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import one export (a Kobo export may be several files). See the module docstring."""
    options = options or ImportOptions()
    actor.require(Permission.REGISTRY_IMPORT_RUN)
    if options.format not in FORMATS:
        raise ValidationFailed(_("Unknown format {format}; accepted: {accepted}.", format=options.format,
                                 accepted=", ".join(FORMATS)))
    if not paths:
        raise ValidationFailed(_("No file to import."))
    for p in paths:
        if not p.is_file():
            raise ValidationFailed(_("No file {file}.", file=str(p)))
    org_id = _target_org(session, actor, options.org)
    fmt = detect_format(paths, options.mapping) if options.format == "auto" else options.format
    keyring()  # create the key file, if need be, before a worker process needs it
    # A savepoint: a rejected import leaves the caller's transaction exactly as it was.
    savepoint = session.begin_nested()
    batch = ImportBatch(org_id=org_id, user_id=actor.user_id, filename=", ".join(p.name for p in paths)[:400],
                        sha256=_sha256(paths), format=fmt, status="running")
    session.add(batch)
    session.flush()
    existing = {uuid for uuid in session.scalars(
        sa.select(Household.source_uuid).where(Household.org_id == org_id, Household.source_uuid.is_not(None))
    ) if uuid}
    plan = Plan(paths=paths, format=fmt, mapping=options.mapping, delimiter=options.delimiter,
                pcodes=set(known_pcodes(session=session)), existing=existing, partial=options.partial,
                write=context_for(session, actor, org_id, batch.id))
    total = count_rows(plan) if fmt == "kobo" else 0
    result = ImportResult(status="running", batch_id=batch.id)
    chunks = (checked_chunks_in_worker(plan) if should_run_in_worker(paths, options.parallel)
              else checked_chunks(plan))
    try:
        with bulk_work(), closing(chunks):  # closing stops a worker process at once on error
            for chunk in chunks:
                result.submissions += chunk.submissions
                result.households_rejected += chunk.rejected
                result.households_skipped += chunk.skipped
                result.problem_count += chunk.problem_count
                room = MAX_KEPT_PROBLEMS - len(result.problems)
                if room > 0:
                    result.problems.extend(chunk.problems[:room])
                if chunk.prepared and (options.partial or not result.problem_count):
                    written = insert_prepared(session=session, actor=actor, prepared=chunk.prepared,
                                              batch_id=batch.id)
                    result.households_written += written.households
                    result.people_written += written.people
                if on_progress:
                    on_progress(result.submissions, total)
    except sa.exc.IntegrityError:
        savepoint.rollback()
        # Another import wrote some of the same submissions meanwhile.
        raise ValidationFailed(_("Some of these households were imported by someone else meanwhile; "
                                 "nothing was written. Run the import again: it will skip them.")) from None
    except BaseException:
        savepoint.rollback()
        raise

    if result.problem_count and not options.partial:
        savepoint.rollback()
        result.status = "rejected"
        result.batch_id = None
        result.households_written = result.people_written = result.households_skipped = 0
        audit.record(session, actor, "import.rejected", "import", None,
                     {"files": [p.name for p in paths], "problems": result.problem_count,
                      "submissions": result.submissions})
        return result
    if result.households_written:
        refresh_statistics(session, REGISTRY_TABLES)
    batch.status = "partial" if result.problem_count else "committed"
    batch.rows_total = result.submissions
    batch.households_written = result.households_written
    batch.people_written = result.people_written
    batch.households_skipped = result.households_skipped
    batch.rows_rejected = result.households_rejected
    batch.finished_at = utcnow()
    result.status = batch.status
    audit.record(session, actor, "import.commit", "import", batch.id,
                 {"files": [p.name for p in paths], "households": result.households_written,
                  "people": result.people_written, "skipped": result.households_skipped,
                  "rejected": result.households_rejected})
    savepoint.commit()
    if result.households_written:
        # Each new person is checked against the registry; possible duplicates wait for review.
        from jatigi.dedup.runs import check_import  # the linkage engine loads only when needed

        result.duplicates = check_import(session=session, actor=actor, batch_id=batch.id)
    if on_progress:
        on_progress(result.submissions, result.submissions)
    return result


def _target_org(session: Session, actor: Actor, acronym: str | None) -> int:
    if acronym:
        org = organisation_by_acronym(session=session, acronym=acronym)
        if not actor.acts_for(org.id):
            raise ValidationFailed(_("You may import only into your own organisation."))
        return org.id
    if actor.org_id is None:
        raise ValidationFailed(_("Say which organisation registered these households (--org)."))
    return actor.org_id
