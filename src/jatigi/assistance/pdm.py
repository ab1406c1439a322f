"""Post-distribution monitoring: interviews with paid households, imported from a Kobo, CSV or XLSX
export and linked to the cycle's payments, and the indicators of each cycle.

Columns (with or without Kobo group prefixes): the payment's reference (`payment_reference`,
`reference`) or the household's code (`household_code`, `household`, `code`); the date
(`surveyed_on`, else Kobo's `today` or `start`); optionally `enumerator`, Kobo's `_uuid`, and the
answers `received`, `full_amount`, `amount_received`, `on_time`, `spent_on`, `felt_safe`,
`paid_to_get` (asked for money or a favour to receive it) and `satisfied`. Yes/no answers are
yes/no, oui/non, 1/0 or true/false; empty means not asked. `spent_on` is a Kobo select_multiple:
its codes (vocab.PDM_SPENDING) separated by spaces, or one 0/1 column per code (`spent_on/food`).

All-or-nothing, like the assessment import: every row is checked first — its payment in this
cycle, values accepted, date, submission not repeated — and one problem anywhere writes nothing.
A row whose `_uuid` the organisation has imported already (or, without `_uuid`, an interview of
the same payment on the same day) is counted as already there: importing a file again adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import policies, vocab
from jatigi.assistance.models import Cycle, Payment, PdmResponse, Programme
from jatigi.core import audit, i18n
from jatigi.core.authz import Actor, Permission
from jatigi.core.bulk import bulk_insert
from jatigi.core.db import is_postgres, utcnow
from jatigi.core.errors import Conflict, ValidationFailed
from jatigi.core.i18n import N_, _
from jatigi.registry.models import Household
from jatigi.registry.problems import Problem
from jatigi.registry.service import visibility
from jatigi.registry.sheets import read_any
from jatigi.registry.validate import parse_date

REFERENCE_COLUMNS = ("payment_reference", "reference")
CODE_COLUMNS = ("household_code", "household", "code")
DAY_COLUMNS = ("surveyed_on", "today", "start")
UUID_COLUMNS = ("_uuid", "instanceid")
ENUMERATOR_COLUMNS = ("enumerator",)
YES_NO = ("received", "full_amount", "on_time", "felt_safe", "paid_to_get", "satisfied")
AMOUNT = "amount_received"
SPENDING = "spent_on"
IMPORTABLE_STATES = ("sent", "reconciled", "closed")  # monitoring follows a distribution
YES = frozenset({"yes", "oui", "1", "true", "vrai", "y", "o"})
NO = frozenset({"no", "non", "0", "false", "faux", "n"})
MAX_AMOUNT = 1_000_000_000
MAX_UUID = 64
MAX_ENUMERATOR = 120
CHUNK = 5000
LOOKUP_CHUNK = 900  # values in one IN (...): under SQLite's limit on parameters
MIN_FOR_PERCENT = 5  # under this many answers, indicators give counts, not percentages
_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    already: int = 0


class PdmInvalid(ValidationFailed):
    """A file with problems: all of them, in `problems`; nothing was written."""

    def __init__(self, problems: list[Problem], rows: int) -> None:
        super().__init__(_("Nothing was written: {n} problems in {rows} rows.", n=len(problems), rows=rows))
        self.problems = problems


def cycle_of(session: Session, actor: Actor, cycle: int | str) -> tuple[Cycle, Programme]:
    """The cycle (by id, or PRG-0001/2) and its programme, if the actor's organisation runs it."""
    return policies.get_cycle(session, actor, cycle)


# ---- reading the file ----------------------------------------------------------------------------


def _bare(header: str) -> str:
    return header.strip().rsplit("/", 1)[-1].strip().lower()


def _spending_code(header: str) -> str | None:
    """The spending code of a 0/1 column of the select_multiple (`spent_on/food`, `spent_on.food`)."""
    parts = [p.strip().lower() for p in re.split(r"[/.]", header.strip())]
    if len(parts) >= 2 and parts[-2] == SPENDING and parts[-1] in vocab.PDM_SPENDING:
        return parts[-1]
    return None


@dataclass
class _Columns:
    reference: int | None = None
    code: int | None = None
    day: int = 0
    uuid: int | None = None
    enumerator: int | None = None
    answers: dict[str, int] = field(default_factory=dict)  # yes/no and amount and spent_on, by position
    spending: dict[str, int] = field(default_factory=dict)  # 0/1 columns by spending code


def _columns(name: str, headers: list[str]) -> _Columns:
    bare = [_bare(h) for h in headers]
    seen: dict[str, str] = {}
    found = _Columns()
    wanted = {**{n: "reference" for n in REFERENCE_COLUMNS}, **{n: "code" for n in CODE_COLUMNS},
              **{n: "day" for n in DAY_COLUMNS}, **{n: "uuid" for n in UUID_COLUMNS},
              **{n: "enumerator" for n in ENUMERATOR_COLUMNS}}
    days: dict[str, int] = {}
    for position, (header, b) in enumerate(zip(headers, bare, strict=True)):
        code = _spending_code(header)
        if code is not None:
            found.spending[code] = position
            continue
        key = b if b in (*YES_NO, AMOUNT, SPENDING) else wanted.get(b)
        if key is None:
            continue
        if key == "day":
            days.setdefault(b, position)
            continue
        if key in seen:
            raise ValidationFailed(_("{file}: the columns {first} and {second} both hold {name}; keep one.",
                                     file=name, first=seen[key], second=header, name=key))
        seen[key] = header
        if key in (*YES_NO, AMOUNT, SPENDING):
            found.answers[key] = position
        else:
            setattr(found, key, position)
    if found.reference is None and found.code is None:
        raise ValidationFailed(_("{file}: no column for {what}; accepted: {accepted}.", file=name,
                                 what=_("the payment's reference or the household's code"),
                                 accepted=", ".join((*REFERENCE_COLUMNS, *CODE_COLUMNS))))
    day = next((days[n] for n in DAY_COLUMNS if n in days), None)
    if day is None:
        raise ValidationFailed(_("{file}: no column for {what}; accepted: {accepted}.", file=name,
                                 what=_("the date of the interview"), accepted=", ".join(DAY_COLUMNS)))
    found.day = day
    if not found.answers and not found.spending:
        raise ValidationFailed(_("{file}: no answer column; accepted: {accepted}.", file=name,
                                 accepted=", ".join((*YES_NO, AMOUNT, SPENDING))))
    return found


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def yes_no(cell: Any) -> tuple[bool | None, str | None]:
    """A yes/no answer: (value, problem); (None, None) when not asked."""
    text = _text(cell).lower()
    if not text:
        return None, None
    if text in YES:
        return True, None
    if text in NO:
        return False, None
    return None, _("Not a yes/no answer; accepted: yes, no, oui, non, 1, 0, true, false, or empty when not asked.")


def amount(cell: Any) -> tuple[int | None, str | None]:
    """A whole amount of FCFA: (value, problem); (None, None) when not asked."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        value: int | None = int(cell) if float(cell).is_integer() else None
    else:
        text = re.sub(r"[\s\u00a0\u202f]", "", _text(cell))
        if not text:
            return None, None
        value = int(text) if text.isascii() and text.isdigit() and len(text) < 13 else None
    if value is None or value < 0 or value > MAX_AMOUNT:
        return None, _("Not an amount; accepted: a whole number of FCFA from 0 to {max}.", max=MAX_AMOUNT)
    return value, None


def _spending_text(cell: Any) -> tuple[list[str] | None, str | None]:
    codes = [c.lower() for c in _SPLIT.split(_text(cell)) if c]
    if not codes:
        return None, None
    unknown = [c for c in codes if c not in vocab.PDM_SPENDING]
    if unknown:
        return None, _("Unknown choice {unknown}; accepted: {accepted}, separated by spaces.",
                       unknown=", ".join(unknown), accepted=", ".join(vocab.PDM_SPENDING))
    return list(dict.fromkeys(codes)), None


def _surveyed(cell: Any, cycle: Cycle, today: date) -> tuple[date | None, str | None]:
    if isinstance(cell, datetime):
        found: date | None = cell.date()
    elif isinstance(cell, date):
        found = cell
    elif not _text(cell):
        return None, _("The date of the interview is required; accepted: YYYY-MM-DD or DD/MM/YYYY.")
    else:
        found = parse_date(_text(cell))
    if found is None:
        return None, _("Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")
    if found > today:
        return None, _("A date in the future is not accepted.")
    if found < cycle.period_start:
        return None, _("Before the cycle began ({date}): an interview follows the distribution.",
                       date=cycle.period_start.isoformat())
    return found, None


@dataclass
class _Row:
    number: int
    key: str  # the reference or the household's code, as given
    by_reference: bool
    day: date
    uuid: str | None
    enumerator: str | None
    answers: dict[str, Any]
    payment_id: int = 0
    household_id: int = 0


def _payments_by_reference(session: Session, actor: Actor, references: list[str]
                           ) -> dict[str, tuple[int, int, int, int]]:
    """Reference -> (payment, household, cycle, amount) of the payments of the programmes the actor acts for
    whose household the actor may see (another organisation's reference is as unknown as a made-up one)."""
    out: dict[str, tuple[int, int, int, int]] = {}
    acted = policies.visible_programmes(actor)
    for start in range(0, len(references), LOOKUP_CHUNK):
        part = references[start:start + LOOKUP_CHUNK]
        rows = session.execute(sa.select(Payment.reference, Payment.id, Payment.household_id, Payment.cycle_id,
                                         Payment.amount)
                               .join(Household, Household.id == Payment.household_id)
                               .join(Programme, Programme.id == Payment.programme_id)
                               .where(Payment.reference.in_(part), *acted, *visibility(actor)))
        out.update({r.reference: (r.id, r.household_id, r.cycle_id, r.amount) for r in rows})
    return out


def _payments_by_household(session: Session, actor: Actor, cycle_id: int, codes: list[str]
                           ) -> dict[str, list[tuple[int, int, int]]]:
    """Household code -> [(payment, household, amount)] of its payments in this cycle."""
    out: dict[str, list[tuple[int, int, int]]] = {}
    for start in range(0, len(codes), LOOKUP_CHUNK):
        part = codes[start:start + LOOKUP_CHUNK]
        rows = session.execute(sa.select(Household.code, Payment.id, Payment.household_id, Payment.amount)
                               .join(Household, Household.id == Payment.household_id)
                               .where(Payment.cycle_id == cycle_id, Household.code.in_(part), *visibility(actor))
                               .order_by(Payment.id))
        for r in rows:
            out.setdefault(r.code, []).append((r.id, r.household_id, r.amount))
    return out


def _known(session: Session, org_id: int, uuids: list[str], payment_ids: list[int]
           ) -> tuple[set[str], set[tuple[int, date]]]:
    """Submissions already imported by the organisation, and (payment, day) of interviews already there."""
    uuids_known: set[str] = set()
    for start in range(0, len(uuids), LOOKUP_CHUNK):
        part = uuids[start:start + LOOKUP_CHUNK]
        uuids_known.update(session.scalars(sa.select(PdmResponse.source_uuid).where(
            PdmResponse.org_id == org_id, PdmResponse.source_uuid.in_(part))))
    days: set[tuple[int, date]] = set()
    for start in range(0, len(payment_ids), LOOKUP_CHUNK):
        ids = payment_ids[start:start + LOOKUP_CHUNK]
        days.update((r.payment_id, r.surveyed_on) for r in session.execute(
            sa.select(PdmResponse.payment_id, PdmResponse.surveyed_on).where(PdmResponse.payment_id.in_(ids))))
    return uuids_known, days


def _read_rows(name: str, headers: list[str], cells_of: Iterable[tuple[int, list[Any]]], cols: _Columns,
               cycle: Cycle, today: date, result: ImportResult, problems: list[Problem]) -> list[_Row]:
    rows: list[_Row] = []
    first_row_of: dict[str, int] = {}
    key_at = cols.reference if cols.reference is not None else cols.code
    assert key_at is not None
    for number, cells in cells_of:
        if not any(_text(c) for c in cells):
            continue
        result.rows += 1

        def cell(at: int | None, cells: list[Any] = cells) -> Any:
            return cells[at] if at is not None and at < len(cells) else None

        def problem(at: int | None, message: str, value: Any = None, number: int = number) -> None:
            column = headers[at] if at is not None else ""
            problems.append(Problem(name, number, column, _text(cell(at)) if value is None else str(value), message))

        by_reference = cols.reference is not None and bool(_text(cell(cols.reference)))
        key_column = cols.reference if by_reference else (cols.code if cols.code is not None else key_at)
        key = _text(cell(key_column))
        key = key if by_reference else key.upper()
        if not key:
            problem(key_at, _("The payment's reference or the household's code is required."))
        day, day_problem = _surveyed(cell(cols.day), cycle, today)
        if day_problem:
            problem(cols.day, day_problem)
        answers: dict[str, Any] = {}
        for answer, at in cols.answers.items():
            if answer in YES_NO:
                answers[answer], message = yes_no(cell(at))
            elif answer == AMOUNT:
                answers[answer], message = amount(cell(at))
            else:
                answers[answer], message = _spending_text(cell(at))
            if message:
                problem(at, message)
        if SPENDING not in cols.answers and cols.spending:
            chosen = []
            for code, at in cols.spending.items():
                ticked, message = yes_no(cell(at))
                if message:
                    problem(at, _("Not 0 or 1; accepted: 1 when chosen, 0 or empty when not."))
                elif ticked:
                    chosen.append(code)
            answers[SPENDING] = chosen or None
        if answers.get("received") is False and (answers.get(AMOUNT) or 0) > 0:
            problem(cols.answers[AMOUNT], _("The household said it received nothing; an amount received cannot "
                                            "be above 0."))
        uuid = _text(cell(cols.uuid)).removeprefix("uuid:") or None
        if uuid is not None:
            if len(uuid) > MAX_UUID:
                problem(cols.uuid, _("At most {n} characters.", n=MAX_UUID), uuid[:80])
                uuid = None
            elif uuid in first_row_of:
                problem(cols.uuid, _("Repeated: row {row} has the same submission; each submission once.",
                                     row=first_row_of[uuid]))
            else:
                first_row_of[uuid] = number
        who = _text(cell(cols.enumerator)) or None
        if who is not None and len(who) > MAX_ENUMERATOR:
            problem(cols.enumerator, _("At most {n} characters.", n=MAX_ENUMERATOR), who[:80])
        if key and day is not None:
            rows.append(_Row(number, key, by_reference, day, uuid, who, answers))
    return rows


def _link(session: Session, actor: Actor, name: str, headers: list[str], cols: _Columns, cycle: Cycle,
          rows: list[_Row], problems: list[Problem]) -> None:
    """Each row's payment in this cycle: by reference, else the household's payment in the cycle."""
    by_ref = _payments_by_reference(session, actor, sorted({r.key for r in rows if r.by_reference}))
    by_code = _payments_by_household(session, actor, cycle.id, sorted({r.key for r in rows if not r.by_reference}))
    other_cycles = {c for _p, _h, c, _a in by_ref.values() if c != cycle.id}
    numbers = {r.id: r.number for r in session.execute(
        sa.select(Cycle.id, Cycle.number).where(Cycle.id.in_(other_cycles)))} if other_cycles else {}
    for r in rows:
        column = headers[cols.reference if r.by_reference and cols.reference is not None else cols.code or 0]
        entitled: int | None = None
        if r.by_reference:
            found = by_ref.get(r.key)
            if found is None:
                problems.append(Problem(name, r.number, column, r.key, _("No payment {reference} that you may see.",
                                                                        reference=r.key)))
                continue
            if found[2] != cycle.id:
                problems.append(Problem(name, r.number, column, r.key, _(
                    "This payment belongs to cycle {other}, not to cycle {number} being imported.",
                    other=numbers.get(found[2], found[2]), number=cycle.number)))
                continue
            r.payment_id, r.household_id, entitled = found[0], found[1], found[3]
        else:
            lines = by_code.get(r.key, [])
            if not lines:
                problems.append(Problem(name, r.number, column, r.key, _(
                    "No payment to household {code} in cycle {number} that you may see.", code=r.key,
                    number=cycle.number)))
                continue
            if len(lines) > 1:
                problems.append(Problem(name, r.number, column, r.key, _(
                    "Household {code} has {n} payments in this cycle: give the payment's reference.",
                    code=r.key, n=len(lines))))
                continue
            r.payment_id, r.household_id, entitled = lines[0]
        received = r.answers.get(AMOUNT)
        if r.answers.get("full_amount") is None and received is not None and r.answers.get("received") is not False:
            # The amount answers the question the interview did not ask.
            r.answers["full_amount"] = received >= (entitled or 0)


def import_file(*, session: Session, actor: Actor, cycle: int | str, path: Path, delimiter: str | None = None,
                today: date | None = None) -> ImportResult:
    """Import a PDM export into a cycle of the actor's organisation: all rows or none."""
    actor.require(Permission.ASSISTANCE_MONITORING_WRITE)
    found, programme = cycle_of(session, actor, cycle)
    policies.require_change(actor, programme, Permission.ASSISTANCE_MONITORING_WRITE)
    if found.state not in IMPORTABLE_STATES:
        raise Conflict(_("Cycle {number} of {programme} is {state}: monitoring follows a distribution, import it "
                         "once the payments are sent.", number=found.number, programme=programme.code,
                         state=_(vocab.CYCLE_STATES.get(found.state, found.state)).lower()))
    sheets = read_any(path, delimiter)
    if not sheets:
        raise ValidationFailed(_("{file} is empty.", file=path.name))
    sheet = sheets[0]
    headers, name = sheet.headers, path.name
    cols = _columns(name, headers)
    result = ImportResult()
    problems: list[Problem] = []
    rows = _read_rows(name, headers, sheet.rows, cols, found, today or date.today(), result, problems)
    _link(session, actor, name, headers, cols, found, rows, problems)
    linked = [r for r in rows if r.payment_id]
    first_of: dict[tuple[int, date], int] = {}
    for r in linked:
        if r.uuid is None:
            if (r.payment_id, r.day) in first_of:
                problems.append(Problem(name, r.number, headers[cols.day], r.day.isoformat(), _(
                    "Repeated: row {row} has an interview of the same payment on the same day.",
                    row=first_of[(r.payment_id, r.day)])))
            first_of.setdefault((r.payment_id, r.day), r.number)
    if problems:
        problems.sort(key=lambda p: p.row)
        raise PdmInvalid(problems, result.rows)
    uuids_known, days_known = _known(session, programme.org_id, [r.uuid for r in linked if r.uuid],
                                     sorted({r.payment_id for r in linked}))
    new = [r for r in linked if (r.uuid not in uuids_known if r.uuid else (r.payment_id, r.day) not in days_known)]
    result.already = len(linked) - len(new)
    _write(session, actor, programme.org_id, found.id, new)
    result.added = len(new)
    audit.record(session, actor, "assistance.pdm.import", "assistance_cycle", found.id,
                 {"file": name, "rows": result.rows, "added": result.added, "already": result.already})
    return result


def _write(session: Session, actor: Actor, org_id: int, cycle_id: int, rows: list[_Row]) -> None:
    now = utcnow()
    conn = session.connection()
    ids = sorted({r.household_id for r in rows})
    codes: dict[int, str] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        codes.update({r.id: r.code for r in session.execute(sa.select(Household.id, Household.code).where(
            Household.id.in_(ids[start:start + LOOKUP_CHUNK])))})
    for start in range(0, len(rows), CHUNK):
        part = rows[start:start + CHUNK]
        bulk_insert(conn, PdmResponse.__table__, [
            {"org_id": org_id, "cycle_id": cycle_id, "payment_id": r.payment_id, "household_id": r.household_id,
             "source_uuid": r.uuid, "surveyed_on": r.day, "enumerator": r.enumerator,
             **{k: r.answers.get(k) for k in (*YES_NO, AMOUNT, SPENDING)}, "created_at": now,
             "created_by": actor.user_id}
            for r in part])
        audit.record_many(session, actor, (audit.Entry("assistance.pdm.create", "household",
                                                       codes.get(r.household_id, str(r.household_id)),
                                                       {"cycle": cycle_id, "surveyed_on": r.day.isoformat()})
                                           for r in part))


# ---- indicators ----------------------------------------------------------------------------------


INDICATOR_LABELS = {
    "received": N_("Received the payment"),
    "full_amount": N_("Received the full amount"),
    "on_time": N_("Received it on time"),
    "felt_safe": N_("Felt safe receiving it"),
    "paid_to_get": N_("Were asked for money or a favour to receive it"),
    "satisfied": N_("Satisfied"),
}


@dataclass(frozen=True)
class Rate:
    """How many answered yes among those who answered."""

    yes: int
    of: int

    @property
    def percent(self) -> int | None:
        """The share in whole percent, rounded half up; None under MIN_FOR_PERCENT answers (give counts)."""
        if self.of < MIN_FOR_PERCENT:
            return None
        return (200 * self.yes + self.of) // (2 * self.of)


@dataclass(frozen=True)
class Indicators:
    cycle_id: int
    cycle_number: int
    programme: str
    interviews: int
    received: Rate
    full_amount: Rate
    on_time: Rate
    felt_safe: Rate
    paid_to_get: Rate  # a red flag: anyone asked for money or a favour to receive their assistance
    satisfied: Rate
    spending: list[tuple[str, Rate]]  # each category: how many of those who said what they spent it on
    amount_received: int  # FCFA the interviewed said they received, in total

    @property
    def small(self) -> bool:
        return self.interviews < MIN_FOR_PERCENT

    def rates(self) -> list[tuple[str, str, Rate]]:
        """(name, label to translate, rate) of each yes/no question."""
        return [(name, INDICATOR_LABELS[name], getattr(self, name)) for name in YES_NO]

    def spending_lines(self) -> list[tuple[str, str, Rate]]:
        """(code, label to translate, rate) of each spending category."""
        return [(code, vocab.PDM_SPENDING[code], rate) for code, rate in self.spending]


def shown(rate: Rate) -> str:
    """A rate as people read it: "67 % (4 of 6)", or "2 of 3" under MIN_FOR_PERCENT answers."""
    if rate.of == 0:
        return _("no answer")
    if rate.percent is None:
        return _("{yes} of {of}", yes=i18n.number(rate.yes), of=i18n.number(rate.of))
    return _("{percent} % ({yes} of {of})", percent=rate.percent, yes=i18n.number(rate.yes), of=i18n.number(rate.of))


def _yes(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((column.is_(True), 1), else_=0)), 0)


def indicators(session: Session, actor: Actor, cycle_id: int | str) -> Indicators:
    """The monitoring indicators of a cycle (by id, or PRG-0001/2), counted by the database."""
    cycle, programme = cycle_of(session, actor, cycle_id)
    t = PdmResponse
    columns = [getattr(t, name) for name in YES_NO]
    row = session.execute(sa.select(sa.func.count(), *[_yes(c) for c in columns],
                                    *[sa.func.count(c) for c in columns],
                                    sa.func.coalesce(sa.func.sum(t.amount_received), 0))
                          .where(t.cycle_id == cycle.id)).one()
    n = len(columns)
    rates = {name: Rate(int(row[1 + i]), int(row[1 + n + i])) for i, name in enumerate(YES_NO)}
    spent = _spending(session, cycle.id)
    answered = spent.pop("", 0)
    return Indicators(cycle_id=cycle.id, cycle_number=cycle.number, programme=programme.code,
                      interviews=int(row[0]), **rates,
                      spending=[(code, Rate(spent.get(code, 0), answered)) for code in vocab.PDM_SPENDING],
                      amount_received=int(row[-1]))


def _spending(session: Session, cycle_id: int) -> dict[str, int]:
    """How many interviews named each spending category; under "" how many named any."""
    fn = sa.func.json_array_elements_text if is_postgres(session) else sa.func.json_each
    items = fn(PdmResponse.spent_on).table_valued("value").alias("spent")
    base = (sa.select(items.c.value, PdmResponse.id).select_from(PdmResponse).join(items, sa.true())
            .where(PdmResponse.cycle_id == cycle_id, PdmResponse.spent_on.is_not(None), items.c.value.is_not(None))
            .subquery())
    out = {str(code): int(k) for code, k in session.execute(
        sa.select(base.c.value, sa.func.count(sa.distinct(base.c.id))).group_by(base.c.value))}
    out[""] = session.scalar(sa.select(sa.func.count(sa.distinct(base.c.id)))) or 0
    return out
