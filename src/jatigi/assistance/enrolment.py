"""Enrolling households in a programme — from a scoring run, a list of codes, or one by one — and
taking them out.

Only households the actor may see and that are not deleted are enrolled; those already enrolled
(even if they have since left the programme) are counted and skipped. Enrolment is set-wise:
INSERT … SELECT from the run's scores, or from the households table by chunks of codes. A list
with any bad row enrols nobody and names every bad row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import vocab
from jatigi.assistance.models import Enrolment, Programme
from jatigi.assistance.policies import get_programme, require_change
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.registry.models import Household
from jatigi.registry.service import visibility
from jatigi.registry.sheets import read_any
from jatigi.targeting.runs import get_run
from jatigi.targeting.simulate import Budget, selection, still_registered, vulnerable_categories
from jatigi.targeting.tables import Score

ENROLMENTS: sa.Table = Enrolment.__table__  # type: ignore[assignment]
HH: sa.Table = Household.__table__  # type: ignore[assignment]
SCORES: sa.Table = Score.__table__  # type: ignore[assignment]
CODE_HEADERS = ("household_code", "household", "code", "code_menage", "menage", "ménage", "hh_code")
CHUNK = 1000
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Enrolled:
    programme: Programme
    found: int  # households in the source
    enrolled: int  # newly enrolled
    skipped: int  # already enrolled


class ListInvalid(ValidationFailed):
    """A list of households with bad rows: nothing is enrolled. `problems` are (row, message)."""

    def __init__(self, filename: str, problems: list[tuple[int, str]]) -> None:
        shown = [_("Row {row}: {message}", row=row, message=message) for row, message in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            shown.append(_("… and {n} more problems.", n=number(len(problems) - SHOWN_PROBLEMS)))
        super().__init__(_("{file}: {n} problems; nobody was enrolled.", file=filename, n=number(len(problems)))
                         + "\n" + "\n".join(shown))
        self.problems = problems


def _open_programme(session: Session, actor: Actor, ref: str | int) -> Programme:
    programme = get_programme(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    if programme.state not in ("draft", "active"):
        raise Conflict(_("Programme {code} is {state}: it enrols no more households.", code=programme.code,
                         state=_(vocab.PROGRAMME_STATES[programme.state]).lower()))
    return programme


def _count(session: Session, programme: Programme) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ENROLMENTS)
                          .where(ENROLMENTS.c.programme_id == programme.id)) or 0


def _insert(session: Session, actor: Actor, programme: Programme, source: sa.Select[Any], kind: str,
            run_id: int | None = None) -> int:
    """Enrol the households `source` selects (household_id, score), but those already enrolled;
    returns how many were enrolled."""
    src = source.subquery("source")
    e = ENROLMENTS.c
    already = sa.select(e.household_id).where(e.programme_id == programme.id)
    before = _count(session, programme)
    session.execute(sa.insert(ENROLMENTS).from_select(
        ["programme_id", "household_id", "source", "run_id", "score", "enrolled_at", "enrolled_by"],
        sa.select(sa.literal(programme.id), src.c.household_id, sa.literal(kind), sa.literal(run_id, sa.Integer),
                  src.c.score, sa.literal(utcnow(), sa.DateTime), sa.literal(actor.user_id, sa.Integer))
        .where(src.c.household_id.not_in(already))))
    return _count(session, programme) - before


def _done(session: Session, actor: Actor, programme: Programme, found: int, enrolled: int,
          detail: dict[str, Any]) -> Enrolled:
    audit.record(session, actor, "assistance.enrolment.add", "programme", programme.id,
                 {"code": programme.code, "found": found, "enrolled": enrolled, "skipped": found - enrolled,
                  **detail})
    bump(session, "assistance")
    return Enrolled(programme, found, enrolled, found - enrolled)


def enrol_from_run(*, session: Session, actor: Actor, ref: str | int, run_id: int,
                   categories: Sequence[str] | None = None, budget: Budget | None = None) -> Enrolled:
    """Enrol a run's households in the given categories (default: all but the lowest), or those a
    budget selects among them (highest scores first, as `targeting.simulate` counts them)."""
    programme = _open_programme(session, actor, ref)
    run, loaded = get_run(session, actor, run_id)
    chosen = vulnerable_categories(loaded.model, categories)
    s = SCORES.c
    if budget is not None:
        _vulnerable, condition, _cutoff = selection(session, run.id, chosen, budget)
    else:
        condition = sa.and_(s.excluded.is_(False), s.category.in_(chosen), still_registered())
    source = (sa.select(s.household_id, s.score).select_from(SCORES.join(HH, HH.c.id == s.household_id))
              .where(s.run_id == run.id, condition, *visibility(actor)))
    found = session.scalar(sa.select(sa.func.count()).select_from(source.subquery())) or 0
    enrolled = _insert(session, actor, programme, source, "run", run.id)
    if programme.targeting_run_id is None:
        programme.targeting_run_id = run.id
    detail: dict[str, Any] = {"run": run.id, "categories": list(chosen)}
    if budget is not None:
        detail["budget"] = {"budget": budget.budget, "transfer_value": budget.transfer_value,
                            "months": budget.months}
    return _done(session, actor, programme, found, enrolled, detail)


def read_codes(path: Path) -> list[tuple[int, str]]:
    """(row number, household code) of each row of a CSV or XLSX list; the column is household_code
    (or code, household…), or the only column."""
    sheets = read_any(path)
    if not sheets:
        raise ValidationFailed(_("{file}: no table of households found.", file=path.name))
    sheet = sheets[0]
    headers = [h.strip().lower() for h in sheet.headers]
    index = next((headers.index(name) for name in CODE_HEADERS if name in headers), None)
    if index is None and len(headers) == 1:
        index = 0
    if index is None:
        raise ValidationFailed(_("{file}: no household_code column; the columns are: {columns}.", file=path.name,
                                 columns=", ".join(sheet.headers)))
    return [(row, str(cells[index]).strip().upper() if index < len(cells) and cells[index] is not None else "")
            for row, cells in sheet.rows]


def _resolve(session: Session, actor: Actor, rows: list[tuple[int, str]]) -> tuple[list[int], list[tuple[int, str]]]:
    """The visible households' ids, and a problem for each empty, repeated or unknown code."""
    problems: list[tuple[int, str]] = []
    first: dict[str, int] = {}
    for row, code in rows:
        if not code:
            problems.append((row, _("no household code.")))
        elif code in first:
            problems.append((row, _("{code} is already on row {row}.", code=code, row=first[code])))
        else:
            first[code] = row
    codes = list(first)
    ids: dict[str, int] = {}
    for start in range(0, len(codes), CHUNK):
        part = codes[start:start + CHUNK]
        ids.update(session.execute(sa.select(HH.c.code, HH.c.id).where(HH.c.code.in_(part), *visibility(actor)))
                   .all())
    for code in codes:
        if code not in ids:
            problems.append((first[code], _("no household {code} that you may see (or it was removed).", code=code)))
    problems.sort()
    return [ids[code] for code in codes if code in ids], problems


def _enrol_ids(session: Session, actor: Actor, programme: Programme, ids: list[int], kind: str) -> int:
    enrolled = 0
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        source = sa.select(HH.c.id.label("household_id"), sa.cast(sa.null(), sa.Float).label("score")).where(
            HH.c.id.in_(part))
        enrolled += _insert(session, actor, programme, source, kind)
    return enrolled


def enrol_from_list(*, session: Session, actor: Actor, ref: str | int, path: Path) -> Enrolled:
    """Enrol the households of a CSV or XLSX list of codes: all of them, or none when a row is bad."""
    programme = _open_programme(session, actor, ref)
    ids, problems = _resolve(session, actor, read_codes(path))
    if problems:
        raise ListInvalid(path.name, problems)
    enrolled = _enrol_ids(session, actor, programme, ids, "list")
    return _done(session, actor, programme, len(ids), enrolled, {"file": path.name})


def enrol_household(*, session: Session, actor: Actor, ref: str | int, code: str) -> Enrolled:
    """Enrol one household (already enrolled: counted as skipped)."""
    programme = _open_programme(session, actor, ref)
    ids, problems = _resolve(session, actor, [(1, code.strip().upper())])
    if problems:
        raise NotFound(_("No household {code} that you may see.", code=code.strip()))
    enrolled = _enrol_ids(session, actor, programme, ids, "manual")
    audit.record(session, actor, "assistance.enrolment.household", "household", code.strip().upper(),
                 {"programme": programme.code, "enrolled": bool(enrolled)})
    return _done(session, actor, programme, 1, enrolled, {"household": code.strip().upper()})


def exit_household(*, session: Session, actor: Actor, ref: str | int, code: str, reason: str) -> Enrolment:
    """Take a household out of a programme: it gets no line in the cycles prepared from now on."""
    programme = get_programme(session, actor, ref)
    require_change(actor, programme, Permission.ASSISTANCE_PROGRAMME_WRITE)
    if not (reason or "").strip():
        raise ValidationFailed(_("Say why the household leaves the programme."))
    wanted = code.strip().upper()
    enrolment = session.scalar(sa.select(Enrolment).join(Household, Household.id == Enrolment.household_id)
                               .where(Enrolment.programme_id == programme.id, Household.code == wanted))
    if enrolment is None:
        raise NotFound(_("Household {code} is not enrolled in programme {programme}.", code=wanted,
                         programme=programme.code))
    if enrolment.exited_at is not None:
        raise Conflict(_("Household {code} already left programme {programme}.", code=wanted,
                         programme=programme.code))
    enrolment.exited_at = utcnow()
    enrolment.exit_reason = reason.strip()[:300]
    audit.record(session, actor, "assistance.enrolment.exit", "household", wanted,
                 {"programme": programme.code, "reason": enrolment.exit_reason})
    bump(session, "assistance")
    return enrolment


@dataclass(frozen=True)
class EnrolledHousehold:
    code: str
    source: str
    score: float | None
    enrolled_at: datetime
    exited_at: datetime | None
    exit_reason: str | None


def enrolled_households(*, session: Session, actor: Actor, ref: str | int, limit: int = 100,
                        offset: int = 0) -> tuple[int, list[EnrolledHousehold]]:
    """How many households the programme enrols (that the actor may see) and a page of them."""
    programme = get_programme(session, actor, ref)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    e = ENROLMENTS.c
    base = (sa.select(HH.c.code, e.source, e.score, e.enrolled_at, e.exited_at, e.exit_reason)
            .select_from(ENROLMENTS.join(HH, HH.c.id == e.household_id))
            .where(e.programme_id == programme.id, *visibility(actor)))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(e.id).limit(max(1, min(limit, 1000))).offset(max(0, offset))).all()
    audit.record(session, actor, "assistance.enrolment.read", "programme", programme.id,
                 {"code": programme.code, "shown": len(rows)})
    return total, [EnrolledHousehold(*row) for row in rows]
