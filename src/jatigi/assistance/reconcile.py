"""Applying a provider's report to a cycle: which payments were paid, failed or left unclaimed.

The whole report is applied in the caller's transaction, set-wise: its lines are read and
checked, loaded into a temporary table, matched to the payments by reference with one
UPDATE … FROM, classified with one more, and the payments they may change are changed with a
third. A line with a problem — an unreadable amount or date, another currency, an unknown
reference or one of another cycle, a reference repeated in the file (none of its lines applied),
an amount paid that differs from the entitlement, a payment already paid or re-issued — is
reported with its line number, column, value and what is accepted, and never applied. A file
whose columns are wrong is refused whole; the same file is never applied twice to a cycle.

A sent payment becomes paid, failed or unclaimed; an unclaimed one may become paid with a later
report (the cycle is then reconciled again). One transition per pair of states reached is kept on
the cycle, naming the reconciliation.

A report is applied only with the provider the cycle was sent to. A reference of a programme of
another organisation is reported as unknown, like one that does not exist. The programme is locked
while the report is applied (as when a cycle is prepared, which re-issues failed and unclaimed
payments), and a payment is changed only if it is still in the state it was classified in: should
one have moved meanwhile, nothing is applied.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from jatigi.assistance import providers as providers_
from jatigi.assistance import states, vocab
from jatigi.assistance.models import Cycle, Payment, PaymentProvider, Programme, Reconciliation
from jatigi.assistance.payment_files import cycle_for, only_provider, sent_provider
from jatigi.assistance.policies import visible_programmes
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.bulk import Rows, insert_rows
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, ValidationFailed
from jatigi.core.i18n import _, day, number
from jatigi.registry.problems import Problem
from jatigi.registry.sheets import Sheet, read_any

KEPT_PROBLEMS = 50  # problems kept on the reconciliation row; all go to the problems file
CURRENCIES = {"xof", "fcfa", "f cfa", "cfa"}
TMP = "tmp_reconcile_lines"


@dataclass(frozen=True)
class LineProblem(Problem):
    """A problem of one line of the report, with its kind (see `KINDS`)."""

    kind: str = ""


# The kinds of problem a line can have, counted on the reconciliation.
KINDS = ("no_reference", "unknown_status", "currency", "amount_unreadable", "amount_missing", "date_unreadable",
         "repeated", "unknown_reference", "other_cycle", "already_paid", "reissued", "wrong_state",
         "amount_mismatch")


class NothingApplied(ValidationFailed):
    """Every line of the report has a problem: nothing is applied, the cycle stays as it was."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class Result:
    reconciliation: Reconciliation
    counts: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class ReportLine:
    line: int
    reference: str
    outcome: str  # paid, failed, unclaimed
    word: str  # the provider's own status word (and transaction id), as kept on the payment
    amount: int | None
    paid_on: date | None


# --- Reading the report -----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_amount(value: Any, decimal: str) -> int | None:
    """A whole, non-negative amount of FCFA; None when the cell is empty; ValueError when unreadable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    else:
        text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        if decimal == "comma":
            text = text.replace(".", "").replace(",", ".")
        elif decimal == "point":
            text = text.replace(",", "")
        elif not text.isdigit():
            raise ValueError(value)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(value) from None
    if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
        raise ValueError(value)
    return int(amount)


def parse_date(value: Any, fmt: str) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return datetime.fromisoformat(text).date()  # ValueError again when not ISO either


def _example_date(fmt: str) -> str:
    return date(2024, 5, 31).strftime(fmt)


def _sheet(path: Path, report: dict[str, Any]) -> Sheet:
    sheets = read_any(path, report.get("delimiter"))
    wanted = report["reference"].strip().casefold()
    for sheet in sheets:
        if wanted in (h.strip().casefold() for h in sheet.headers):
            return sheet
    if not sheets:
        raise ValidationFailed(_("{file} is empty.", file=path.name))
    return sheets[0]


def _columns(path: Path, sheet: Sheet, report: dict[str, Any], provider: str) -> dict[str, int]:
    """The position of each column of the template in the file; the whole file refused when some are missing."""
    found = {h.strip().casefold(): i for i, h in reversed(list(enumerate(sheet.headers)))}
    wanted = {key: report[key] for key in providers_.REPORT_COLUMNS if report.get(key)}
    missing = [name for name in wanted.values() if name.strip().casefold() not in found]
    if missing:
        raise ValidationFailed(_("{file}: the columns {missing} are missing, so nothing was applied; a report of "
                                 "{provider} has the columns {expected} (found: {found}).", file=path.name,
                                 missing=", ".join(missing), provider=provider,
                                 expected=", ".join(wanted.values()),
                                 found=", ".join(h for h in sheet.headers if h) or _("none")))
    return {key: found[name.strip().casefold()] for key, name in wanted.items()}


def read_report(path: Path, report: dict[str, Any], provider: str) -> tuple[list[ReportLine], list[Problem], int]:
    """The report's lines that can be applied, the problems of the others, and how many lines it has."""
    sheet = _sheet(path, report)
    at = _columns(path, sheet, report, provider)
    headers = {key: sheet.headers[i] for key, i in at.items()}
    statuses = {str(word).casefold(): outcome for word, outcome in report["statuses"].items()}
    decimal, fmt = report["decimal"], report["date_format"]
    today = date.today()
    name = path.name
    good: list[ReportLine] = []
    problems: list[Problem] = []
    lines_of: dict[str, list[int]] = defaultdict(list)
    total = 0

    def cell(cells: list[Any], key: str) -> Any:
        i = at.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    for row, cells in sheet.rows:
        total += 1
        reference = _text(cell(cells, "reference")).upper()
        if not reference:
            problems.append(LineProblem(name, row, headers["reference"], "", _(
                "No reference; accepted: a payment reference from this cycle's payment file."), "no_reference"))
            continue
        lines_of[reference].append(row)
        word = _text(cell(cells, "status"))
        outcome = statuses.get(word.casefold())
        if outcome is None:
            problems.append(LineProblem(name, row, headers["status"], word, _(
                "Unknown status; accepted: {words}.", words=", ".join(report["statuses"])), "unknown_status"))
            continue
        currency = _text(cell(cells, "currency"))
        if currency and currency.casefold() not in CURRENCIES:
            problems.append(LineProblem(name, row, headers["currency"], currency, _(
                "An amount in another currency; accepted: {code} ({label}).", code=vocab.CURRENCY,
                label=vocab.CURRENCY_LABEL), "currency"))
            continue
        raw_amount = cell(cells, "amount")
        try:
            amount = parse_amount(raw_amount, decimal)
        except ValueError:
            problems.append(LineProblem(name, row, headers["amount"], _text(raw_amount), _(
                "Not an amount; accepted: a whole number of FCFA, such as 15000."), "amount_unreadable"))
            continue
        if outcome == "paid" and amount is None:
            problems.append(LineProblem(name, row, headers["amount"], "", _(
                "No amount paid on a paid line; accepted: a whole number of FCFA, such as 15000."), "amount_missing"))
            continue
        raw_date = cell(cells, "date")
        try:
            paid_on = parse_date(raw_date, fmt)
        except ValueError:
            problems.append(LineProblem(name, row, headers["date"], _text(raw_date), _(
                "Not a date; accepted: a date written as {example}.", example=_example_date(fmt)), "date_unreadable"))
            continue
        transaction = _text(cell(cells, "transaction"))
        kept = f"{word} {transaction}".strip()[:40]
        good.append(ReportLine(row, reference, outcome, kept, amount if outcome == "paid" else None,
                               (paid_on or today) if outcome == "paid" else None))
    repeated = {ref: rows for ref, rows in lines_of.items() if len(rows) > 1}
    if repeated:
        for line in good:
            rows = repeated.get(line.reference)
            if rows:
                problems.append(LineProblem(name, line.line, headers["reference"], line.reference, _(
                    "The same reference is on lines {lines}; none of them is applied.",
                    lines=", ".join(str(r) for r in rows)), "repeated"))
        good = [line for line in good if line.reference not in repeated]
    return good, problems, total


# --- Applying it ------------------------------------------------------------------------------------------


def _payments() -> sa.Table:
    return cast(sa.Table, Payment.__table__)


def _tmp_table() -> sa.Table:
    return sa.Table(
        TMP, sa.MetaData(),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("word", sa.Text),
        sa.Column("amount", sa.BigInteger),
        sa.Column("paid_on", sa.Date),
        sa.Column("payment_id", sa.BigInteger),
        sa.Column("p_cycle", sa.Integer),
        sa.Column("p_state", sa.String(12)),
        sa.Column("p_amount", sa.BigInteger),
        sa.Column("verdict", sa.String(20)),
        prefixes=["TEMPORARY"],
    )


def _stage(session: Session, tmp: sa.Table, good: list[ReportLine]) -> None:
    conn = session.connection()
    tmp.drop(conn, checkfirst=True)
    tmp.create(conn)
    sqlite = conn.dialect.name == "sqlite"
    values = [(x.line, x.reference, x.outcome, x.word, x.amount,
               x.paid_on.isoformat() if sqlite and x.paid_on else x.paid_on) for x in good]
    insert_rows(conn, tmp, Rows(["line", "reference", "outcome", "word", "amount", "paid_on"], values))


def _classify(session: Session, actor: Actor, tmp: sa.Table, cycle_id: int) -> None:
    """Match the lines to the payments of the programmes the actor acts for (another organisation's
    reference stays unknown), then say of each what becomes of it (NULL: applied)."""
    P, t = _payments(), tmp.c
    match = [P.c.reference == t.reference]
    if acted := visible_programmes(actor):
        match.append(P.c.programme_id.in_(sa.select(Programme.id).where(*acted)))
    session.execute(sa.update(tmp).where(*match)
                    .values(payment_id=P.c.id, p_cycle=P.c.cycle_id, p_state=P.c.state, p_amount=P.c.amount))
    may_move = sa.or_(t.p_state == "sent", sa.and_(t.p_state == "unclaimed", t.outcome == "paid"))
    session.execute(sa.update(tmp).values(verdict=sa.case(
        (t.payment_id.is_(None), "unknown_reference"),
        (t.p_cycle != cycle_id, "other_cycle"),
        (t.p_state == "paid", "already_paid"),
        (t.p_state == "reissued", "reissued"),
        (sa.and_(t.p_state == t.outcome, t.outcome.in_(("failed", "unclaimed"))), "unchanged"),
        (sa.not_(may_move), "wrong_state"),
        (sa.and_(t.outcome == "paid", t.amount != t.p_amount), "amount_mismatch"),
        else_=None)))


def _db_problems(session: Session, tmp: sa.Table, name: str, report: dict[str, Any], cycle: Cycle) -> list[Problem]:
    t = tmp.c
    other = aliased(Cycle)
    query = (sa.select(t.line, t.reference, t.verdict, t.p_state, t.amount, t.p_amount, other.number, other.id,
                       Programme.code)
             .outerjoin(other, other.id == t.p_cycle)
             .outerjoin(Programme, Programme.id == other.programme_id)
             .where(t.verdict.is_not(None), t.verdict != "unchanged").order_by(t.line))
    ref, amount_col = report["reference"], report["amount"]
    out: list[Problem] = []
    for line, reference, verdict, state, amount, entitled, other_number, other_id, other_code in session.execute(query):
        column, value = ref, reference
        if verdict == "unknown_reference":
            message = _("No payment has this reference; accepted: the references of the payment file of cycle {id}.",
                        id=cycle.id)
        elif verdict == "other_cycle":
            message = _("This payment is of cycle {number} of {programme} (cycle {id}), not of this one; accepted: "
                        "the references of the payment file of cycle {this}.", number=other_number,
                        programme=other_code, id=other_id, this=cycle.id)
        elif verdict == "already_paid":
            message = _("This payment is already paid; a payment is never applied twice.")
        elif verdict == "reissued":
            message = _("This payment was re-issued in a later cycle; its replacement is reconciled with that cycle.")
        elif verdict == "amount_mismatch":
            column, value = amount_col, str(amount)
            message = _("The amount paid differs from the entitlement; accepted: {amount}.", amount=entitled)
        else:
            message = _("This payment is {state}; accepted: a payment sent to the provider, or an unclaimed one "
                        "now paid.", state=states.state_label("payment", state).lower())
        out.append(LineProblem(name, line, column, value, message, verdict))
    return out


def _apply(session: Session, actor: Actor, tmp: sa.Table, rec: Reconciliation, cycle: Cycle,
           file: str) -> dict[str, int]:
    """Change the payments still in the state they were classified in (Conflict if some are not: the
    caller's savepoint then undoes everything); one transition per pair of states, on the cycle. Counts by
    outcome."""
    t = tmp.c
    moves = session.execute(sa.select(t.p_state, t.outcome, sa.func.count()).where(t.verdict.is_(None))
                            .group_by(t.p_state, t.outcome).order_by(t.p_state, t.outcome)).all()
    P = _payments()
    changed = session.execute(sa.update(P).where(P.c.id == t.payment_id, t.verdict.is_(None), P.c.state == t.p_state)
                              .values(state=t.outcome, amount_paid=t.amount, paid_on=t.paid_on, provider_status=t.word,
                                      reconciliation_id=rec.id, updated_at=utcnow()))
    if changed.rowcount != sum(n for _b, _a, n in moves):  # type: ignore[attr-defined]
        raise Conflict(_("Some payments of cycle {id} changed while the report was being applied (another person or "
                         "process moved them); nothing was applied. Apply the report again.", id=cycle.id))
    counts = {"paid": 0, "failed": 0, "unclaimed": 0}
    for before, after, n in moves:
        counts[after] += n
        states.record_transition(session, actor, "cycle", cycle.id, before, after,
                                 reason=_("Provider's report {file}", file=file),
                                 detail={"payments": n, "reconciliation": rec.id})
    counts["unchanged"] = session.scalar(sa.select(sa.func.count()).where(t.verdict == "unchanged")) or 0
    return counts


def _provider(session: Session, cycle: Cycle, name: str | None) -> PaymentProvider:
    """The provider the cycle was sent to (another one named is refused); the one named when that is not known."""
    sent_to = sent_provider(session, cycle)
    if name:
        provider = providers_.get_provider(session, name)
        if sent_to is not None and provider.id != sent_to.id:
            raise only_provider(cycle, sent_to)
    elif sent_to is not None:
        provider = sent_to
    else:
        raise ValidationFailed(_("The provider of cycle {id} is not known; give --provider.", id=cycle.id))
    providers_.check_in_use(provider)
    return provider


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def reconcile(session: Session, actor: Actor, *, cycle_id: int, path: Path,
              provider_name: str | None = None) -> Result:
    """Apply a provider's report to a cycle (see the module's description)."""
    actor.require(Permission.ASSISTANCE_PAYMENT_RECONCILE)
    providers_.ensure_shipped(session)
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(_("No file {file}.", file=str(path)))
    cycle, programme = cycle_for(session, actor, cycle_id)
    # The programme first, as cycles.prepare locks it: no preparation re-issues a payment being reconciled.
    session.refresh(programme, with_for_update=True)
    session.refresh(cycle, with_for_update=True)
    states.check_move("cycle", cycle.state, "reconciled")
    provider = _provider(session, cycle, provider_name)
    sha = sha256_of(path)
    before = session.scalar(sa.select(Reconciliation).where(Reconciliation.cycle_id == cycle.id,
                                                             Reconciliation.sha256 == sha))
    if before is not None:
        raise Conflict(_("This file was already applied to cycle {id} on {day} (reconciliation {rec}); the same "
                         "report is never applied twice.", id=cycle.id, day=day(before.applied_at),
                         rec=before.id))
    report = providers_.template_of(provider).report
    good, problems, total = read_report(path, report, provider.label)
    if not total:
        raise ValidationFailed(_("{file} has no lines; nothing was applied.", file=path.name))

    tmp = _tmp_table()
    _stage(session, tmp, good)
    _classify(session, actor, tmp, cycle.id)
    problems = sorted([*problems, *_db_problems(session, tmp, path.name, report, cycle)], key=lambda p: p.row)
    applicable = session.scalar(sa.select(sa.func.count()).where(tmp.c.verdict.is_(None))) or 0
    if not applicable:
        tmp.drop(session.connection())
        if not problems:
            raise NothingApplied(_("Every line of {file} is applied to cycle {id} already; nothing changed.",
                                   file=path.name, id=cycle.id), problems)
        raise NothingApplied(_("No line of {file} can be applied to cycle {id} ({n} problems); nothing was applied.",
                               file=path.name, id=cycle.id, n=number(len(problems))), problems)

    try:
        with session.begin_nested():
            rec = Reconciliation(cycle_id=cycle.id, provider_id=provider.id, filename=path.name[:400], sha256=sha,
                                 lines=total, applied_at=utcnow(), applied_by=actor.user_id)
            session.add(rec)
            session.flush()
            counts: dict[str, Any] = _apply(session, actor, tmp, rec, cycle, path.name)
    except Conflict:
        tmp.drop(session.connection())
        raise
    tmp.drop(session.connection())
    counts["problems"] = len(problems)
    counts["by_problem"] = dict(Counter(_kind(p) for p in problems))
    rec.counts = counts
    rec.problems = [{"line": p.row, "column": p.column, "value": p.value, "kind": _kind(p), "message": p.message}
                    for p in problems[:KEPT_PROBLEMS]]
    states.move(session, actor, "cycle", cycle, "reconciled", reason=_("Provider's report {file}", file=path.name),
                detail={"reconciliation": rec.id})
    cycle.reconciled_at = utcnow()
    cycle.version = (cycle.version or 1) + 1
    audit.record(session, actor, "assistance.payments.reconcile", "assistance_cycle", cycle.id,
                 {"reconciliation": rec.id, "provider": provider.name, "file": path.name, "sha256": sha,
                  "lines": total, **{k: v for k, v in counts.items() if k != "by_problem"}})
    session.flush()
    return Result(rec, counts, problems)


def _kind(problem: Problem) -> str:
    return problem.kind if isinstance(problem, LineProblem) else ""
