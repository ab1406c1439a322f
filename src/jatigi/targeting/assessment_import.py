"""Assessments from a file: CSV, XLSX or a Kobo export, one row per assessment.

Columns: the household's code (`household_code`, `household` or `code`), the date (`assessed_on`,
else Kobo's `today` or `start`), optionally `enumerator` and Kobo's `_uuid`, and the answers under
WFP's variable names, with or without Kobo group prefixes (`fcs/FCSStap`). Other columns are
left alone.

All-or-nothing: every row is checked first — household known and writable by the user, values
accepted, date, uuid not repeated — and one problem anywhere writes nothing. A row whose `_uuid`
the organisation has already imported is counted as already there, so re-importing the same export
adds nothing. The rows go in with one bulk insert per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.bulk import bulk_insert
from jatigi.core.changes import bump
from jatigi.core.db import utcnow
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.registry.models import Household
from jatigi.registry.problems import Problem
from jatigi.registry.service import visibility
from jatigi.registry.sheets import read_any
from jatigi.targeting import inputs as I  # noqa: N812
from jatigi.targeting.assessments import STORED, check_answers, check_day, check_enumerator, stored_input
from jatigi.targeting.tables import assessments

CODE_COLUMNS = ("household_code", "household", "code")
DAY_COLUMNS = ("assessed_on", "today", "start")
UUID_COLUMNS = ("_uuid", "instanceid")
ENUMERATOR_COLUMNS = ("enumerator",)
MAX_UUID = 64
CHUNK = 5000
LOOKUP_CHUNK = 900  # values in one IN (...): under SQLite's limit on parameters


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    already: int = 0
    ignored: list[str] = field(default_factory=list)  # input columns that assessments do not keep


class AssessmentsInvalid(ValidationFailed):
    """A file with problems: all of them, in `problems`; nothing was written."""

    def __init__(self, problems: list[Problem], rows: int) -> None:
        super().__init__(_("Nothing was written: {n} problems in {rows} rows.", n=len(problems), rows=rows))
        self.problems = problems


@dataclass
class _Row:
    number: int
    code: str
    day: date
    enumerator: str | None
    uuid: str | None
    answers: tuple[int | None, ...]  # in the order of STORED


def _bare(header: str) -> str:
    return header.strip().rsplit("/", 1)[-1].strip().lower()


def _find(headers: list[str], names: tuple[str, ...]) -> int | None:
    bare = [_bare(h) for h in headers]
    return next((bare.index(n) for n in names if n in bare), None)


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _columns(name: str, headers: list[str]) -> tuple[dict[int, str], list[str]]:
    """Which stored input each column holds, by position; and input columns that are not kept."""
    found: dict[int, str] = {}
    seen: dict[str, str] = {}
    ignored = []
    for position, header in enumerate(headers):
        var = stored_input(header) if header else None
        if var is None:
            if header and I.lookup(header.rsplit("/", 1)[-1]):
                ignored.append(header)
            continue
        if var.name in seen:
            raise ValidationFailed(_("{file}: the columns {first} and {second} both hold {name}; keep one.",
                                     file=name, first=seen[var.name], second=header, name=var.name))
        seen[var.name] = header
        found[position] = var.name
    if not found:
        raise ValidationFailed(_("{file}: no column with a WFP variable name such as FCSStap; see "
                                 "docs/TARGETING.md for the accepted names.", file=name))
    return found, ignored


def _required(name: str, headers: list[str], names: tuple[str, ...], what: str) -> int:
    at = _find(headers, names)
    if at is None:
        raise ValidationFailed(_("{file}: no column for {what}; accepted: {accepted}.", file=name, what=what,
                                 accepted=", ".join(names)))
    return at


def _households(session: Session, actor: Actor, codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Code -> (id, organisation) of the households the actor may see among `codes`."""
    wanted = sorted(set(codes))
    out: dict[str, tuple[int, int]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        part = wanted[start:start + LOOKUP_CHUNK]
        rows = session.execute(sa.select(Household.code, Household.id, Household.org_id)
                               .where(Household.code.in_(part), *visibility(actor))).all()
        out.update({r.code: (r.id, r.org_id) for r in rows})
    return out


def _existing(session: Session, uuids: list[str]) -> set[tuple[int, str]]:
    """(organisation, uuid) of assessments already imported, deleted ones included."""
    out: set[tuple[int, str]] = set()
    for start in range(0, len(uuids), LOOKUP_CHUNK):
        part = uuids[start:start + LOOKUP_CHUNK]
        rows = session.execute(sa.select(assessments.c.org_id, assessments.c.source_uuid)
                               .where(assessments.c.source_uuid.in_(part))).all()
        out.update((r.org_id, r.source_uuid) for r in rows)
    return out


def import_assessments(*, session: Session, actor: Actor, path: Path, delimiter: str | None = None,
                       today: date | None = None) -> ImportResult:
    actor.require(Permission.TARGETING_ASSESSMENT_WRITE)
    actor.require(Permission.REGISTRY_HOUSEHOLD_READ)
    sheets = read_any(path, delimiter)
    if not sheets:
        raise ValidationFailed(_("{file} is empty.", file=path.name))
    sheet = sheets[0]
    headers, name = sheet.headers, path.name
    code_at = _required(name, headers, CODE_COLUMNS, _("the household's code"))
    day_at = _required(name, headers, DAY_COLUMNS, _("the date of the assessment"))
    uuid_at, who_at = _find(headers, UUID_COLUMNS), _find(headers, ENUMERATOR_COLUMNS)
    found, ignored = _columns(name, headers)
    shown = {var: headers[position] for position, var in found.items()}
    order = list(STORED)
    result = ImportResult(ignored=ignored)
    problems: list[Problem] = []
    rows: list[_Row] = []
    first_row_of: dict[str, int] = {}
    uuid_column = headers[uuid_at] if uuid_at is not None else "_uuid"
    for number, cells in sheet.rows:
        if not any(_text(c) for c in cells):
            continue
        result.rows += 1

        def cell(at: int | None, cells: list[Any] = cells) -> Any:
            return cells[at] if at is not None and at < len(cells) else None

        code = _text(cell(code_at)).upper()
        if not code:
            problems.append(Problem(name, number, headers[code_at], "", _("The household's code is required.")))
        clean, found_problems = check_answers({var: cell(pos) for pos, var in found.items()}, sheet=name,
                                              row=number, columns=shown)
        problems += found_problems
        day, day_problem = check_day(cell(day_at), sheet=name, row=number, column=headers[day_at], today=today)
        who, who_problem = (None, None) if who_at is None else check_enumerator(
            cell(who_at), sheet=name, row=number, column=headers[who_at])
        problems += [p for p in (day_problem, who_problem) if p is not None]
        if not found_problems and all(v is None for v in clean.values()):
            problems.append(Problem(name, number, "", "", _("Nothing assessed: give the answers of at least one "
                                                            "module.")))
        uuid = _text(cell(uuid_at)).removeprefix("uuid:") or None
        if uuid is not None:
            if len(uuid) > MAX_UUID:
                problems.append(Problem(name, number, uuid_column, uuid[:80],
                                        _("At most {n} characters.", n=MAX_UUID)))
            elif uuid in first_row_of:
                problems.append(Problem(name, number, uuid_column, uuid, _(
                    "Repeated: row {row} has the same submission; each submission once.",
                    row=first_row_of[uuid])))
            else:
                first_row_of[uuid] = number
        if day is not None:
            rows.append(_Row(number, code, day, who, uuid, tuple(clean[n] for n in order)))
    households = _households(session, actor, (r.code for r in rows if r.code))
    for r in rows:
        known = households.get(r.code)
        if r.code and known is None:
            problems.append(Problem(name, r.number, headers[code_at], r.code,
                                    _("No household {code} that you may see.", code=r.code)))
        elif known is not None and not actor.acts_for(known[1]):
            problems.append(Problem(name, r.number, headers[code_at], r.code, _(
                "Only the organisation that registered this household may record its assessments.")))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise AssessmentsInvalid(problems, result.rows)
    existing = _existing(session, list(first_row_of))
    new = [r for r in rows if r.uuid is None or (households[r.code][1], r.uuid) not in existing]
    result.already = len(rows) - len(new)
    _write(session, actor, new, households, order)
    result.added = len(new)
    audit.record(session, actor, "assessment.import", "assessment", None,
                 {"file": name, "rows": result.rows, "added": result.added, "already": result.already})
    if new:
        bump(session, "registry")
    return result


def _write(session: Session, actor: Actor, rows: list[_Row], households: dict[str, tuple[int, int]],
           order: list[str]) -> None:
    now = utcnow()
    conn = session.connection()
    for start in range(0, len(rows), CHUNK):
        part = rows[start:start + CHUNK]
        bulk_insert(conn, assessments, [
            {"household_id": households[r.code][0], "org_id": households[r.code][1], "assessed_on": r.day,
             "source": "import", "source_uuid": r.uuid, "enumerator": r.enumerator, **dict(zip(order, r.answers,
                                                                                                  strict=True)),
             "version": 1, "created_at": now, "created_by": actor.user_id}
            for r in part])
        audit.record_many(session, actor, (audit.Entry("assessment.create", "household", r.code,
                                                        {"source": "import", "assessed_on": r.day.isoformat()})
                                           for r in part))
