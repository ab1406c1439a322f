"""Reading and checking an import, as chunks of households ready to write.

This part needs no database: it can run in a separate process while the importer writes the
previous chunk, which is how a million-person Kobo export is imported in under a minute on two
cores. Small files are checked in the importer's own process.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jatigi.core.errors import JatigiError, NotFound, ValidationFailed
from jatigi.core.i18n import _, current_language, set_language
from jatigi.core.perf import bulk_work
from jatigi.registry import kobo, tabular
from jatigi.registry.problems import Problem
from jatigi.registry.records import HouseholdRecord
from jatigi.registry.sheets import Sheet, read_any
from jatigi.registry.validate import Context, RawSubmission, check_submission
from jatigi.registry.writer import Prepared, WriteContext, prepare

CHUNK = 5_000
MAX_PROBLEMS_PER_CHUNK = 10_000
# Files larger than this are checked in a worker process.
PARALLEL_FROM_BYTES = 20 * 1024 * 1024


@dataclass
class Plan:
    """What to read and how: everything a worker process needs, and nothing from the database."""

    paths: list[Path]
    format: str
    mapping: Path | None = None
    delimiter: str | None = None
    pcodes: set[str] = field(default_factory=set)
    today: date = field(default_factory=date.today)
    # To hand out rows ready to insert: how to write them, and which submissions to skip.
    write: WriteContext | None = None
    existing: set[str] = field(default_factory=set)
    partial: bool = False


@dataclass
class Chunk:
    records: list[HouseholdRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    submissions: int = 0
    rejected: int = 0
    skipped: int = 0
    prepared: Prepared | None = None

    def note(self, found: list[Problem]) -> None:
        self.problem_count += len(found)
        room = MAX_PROBLEMS_PER_CHUNK - len(self.problems)
        if room > 0:
            self.problems.extend(found[:room])


def _submissions(plan: Plan, problems: list[Problem]) -> Iterator[RawSubmission]:
    if plan.format == "kobo":
        sheets: list[Sheet] = [s for p in plan.paths for s in read_any(p, plan.delimiter)]
        return kobo.submissions(sheets, problems)
    if len(plan.paths) != 1:
        raise ValidationFailed(_("Only Kobo exports come in several files; give one file for {format}.",
                                 format=plan.format))
    if plan.format == "hxl":
        sheet, mapping = tabular.read_hxl(plan.paths[0])
    else:
        given = tabular.load_mapping(plan.mapping) if plan.mapping else None
        if given and plan.delimiter:
            given.delimiter = plan.delimiter
        sheet, mapping = tabular.read_table(plan.paths[0], given)
    return tabular.submissions(sheet, mapping, problems, list_name=plan.paths[0].name)


def checked_chunks(plan: Plan, size: int = CHUNK) -> Generator[Chunk, None, None]:
    """Households checked one by one, handed out in chunks with the problems found."""
    structural: list[Problem] = []
    stream = _submissions(plan, structural)
    ctx = Context(pcodes=plan.pcodes, today=plan.today)
    seen: dict[str, int] = {}
    problems_so_far = 0
    chunk = Chunk()
    for sub in stream:
        chunk.submissions += 1
        if structural:
            chunk.note(structural)
            structural.clear()
        record, found = check_submission(sub, ctx)
        uuid = record.source_uuid if record else None
        if record is not None and uuid:
            if uuid in seen:
                found = [Problem(sub.main.sheet, sub.main.row, sub.main.col("_uuid"), uuid,
                                 _("Duplicate submission: the same _uuid is on row {row}.", row=seen[uuid]))]
                record = None
            else:
                seen[uuid] = sub.main.row
        if found:
            chunk.note(found)
            chunk.rejected += 1
        elif record is not None:
            chunk.records.append(record)
        if chunk.submissions >= size:
            problems_so_far = _finish(chunk, plan, problems_so_far)
            yield chunk
            chunk = Chunk()
    if structural:
        chunk.note(structural)
    _finish(chunk, plan, problems_so_far)
    yield chunk


def _finish(chunk: Chunk, plan: Plan, problems_so_far: int) -> int:
    """Drop what was imported before and prepare the rest for writing, unless nothing will be
    written (a problem without --partial). Returns the problems counted so far."""
    problems_so_far += chunk.problem_count
    if plan.write is None:
        return problems_so_far
    fresh = [r for r in chunk.records if r.source_uuid not in plan.existing]
    chunk.skipped = len(chunk.records) - len(fresh)
    chunk.records = []
    if fresh and (plan.partial or not problems_so_far):
        chunk.prepared = prepare(fresh, plan.write)
    return problems_so_far


def _work(out: Any, plan: Plan, language: str) -> None:
    set_language(language)
    try:
        with bulk_work():
            for chunk in checked_chunks(plan):
                out.put(("chunk", chunk))
        out.put(("done", None))
    except JatigiError as exc:  # a problem to show the user, already in their language
        out.put(("error", (type(exc).__name__, exc.message)))
    except BaseException as exc:  # anything else: say what it was, never hang the importer
        out.put(("crash", f"{type(exc).__name__}: {exc}"[:500]))


def checked_chunks_in_worker(plan: Plan) -> Generator[Chunk, None, None]:
    """`checked_chunks` run in a separate process; at most a few chunks wait in between."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue(maxsize=3)
    worker = ctx.Process(target=_work, args=(out, plan, current_language()), daemon=True,
                         name="jatigi-import-check")
    worker.start()
    try:
        while True:
            try:
                kind, payload = out.get(timeout=2)
            except queue.Empty:
                if not worker.is_alive():
                    raise JatigiError(_("The import's checking process stopped unexpectedly "
                                        "(exit code {code}).", code=worker.exitcode)) from None
                continue
            if kind == "chunk":
                yield payload
            elif kind == "done":
                return
            elif kind == "error":
                name, message = payload
                raise {"NotFound": NotFound}.get(name, ValidationFailed)(message)
            else:
                raise JatigiError(_("The import's checking process failed: {reason}.", reason=payload))
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        out.close()


def should_run_in_worker(paths: list[Path], parallel: bool | None) -> bool:
    if parallel is not None:
        return parallel
    return sum(p.stat().st_size for p in paths) >= PARALLEL_FROM_BYTES


def count_rows(plan: Plan) -> int:
    """About how many households the import holds, for the progress bar."""
    main = plan.paths[0]
    if main.suffix.lower() != ".csv":
        return 0
    with main.open("rb") as fh:
        lines = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
    return max(lines - 1, 0)
