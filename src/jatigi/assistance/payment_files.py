"""A cycle's payment file for a provider, written from the provider's template (CSV, XLSX or PDF).

Only the due lines of an approved cycle go in the file (held ones never do). The first export
marks the cycle and its due payments sent, in one statement, with the number of lines and the
total in the audit log; exporting a sent cycle again writes the same lines (a lost file, a
provider asking again) and changes nothing. Rows are streamed from one query; the recipients'
phone numbers are opened one by one as they are written. The file is written beside its target
and renamed at the end: a refused or failed export leaves no file and no change.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import providers as providers_
from jatigi.assistance import states, vocab
from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.core.spreadsheet import safe_cell
from jatigi.places.models import AdminUnit
from jatigi.registry.models import Household, Person
from jatigi.registry.service import visibility

STREAM_ROWS = 5000
SITE_LEVEL = 3  # distribution sites are communes
EXAMPLES = 5


@dataclass(frozen=True)
class ExportResult:
    cycle_id: int
    provider: str
    format: str
    lines: int
    total: int
    first: bool  # this export marked the cycle sent
    path: Path


@dataclass(frozen=True)
class Line:
    """One payment as a file shows it."""

    number: int
    reference: str
    amount: int
    household_code: str
    given_name: str
    family_name: str
    site_pcode: str
    site: str
    phone: str | None


def cycle_for(session: Session, actor: Actor, cycle_id: int, *, lock: bool = False) -> tuple[Cycle, Programme]:
    """A cycle of a programme of the actor's organisation (locked for the transaction when `lock`), else NotFound."""
    query = sa.select(Cycle).where(Cycle.id == cycle_id)
    cycle = session.scalar(query.with_for_update() if lock else query)
    programme = session.get(Programme, cycle.programme_id) if cycle is not None else None
    if cycle is None or programme is None or not actor.acts_for(programme.org_id):
        raise NotFound(_("No cycle {id} that you may see.", id=cycle_id))
    return cycle, programme


def period_text(cycle: Cycle) -> str:
    """2024-05 for a calendar month, else its first and last days."""
    start, end = cycle.period_start, cycle.period_end
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if start.day == 1 and end == next_month - timedelta(days=1):
        return start.strftime("%Y-%m")
    return f"{start.isoformat()}/{end.isoformat()}"


def sites(session: Session) -> dict[str, tuple[str, str]]:
    """For every P-code: the commune it lies in (P-code, name), or itself above the communes."""
    tree = {pc: (name, level, parent) for pc, name, level, parent in session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.name, AdminUnit.level, AdminUnit.parent_pcode))}
    out: dict[str, tuple[str, str]] = {}
    for pcode, (name, level, parent) in tree.items():
        site = (pcode, name)
        cur, cur_level = parent, level
        for _step in range(10):
            if cur_level <= SITE_LEVEL or cur is None or cur not in tree:
                break
            site = (cur, tree[cur][0])
            cur_level = tree[cur][1]
            cur = tree[cur][2]
        out[pcode] = site
    return out


def phone_style(digits: str, style: str) -> str | None:
    """A Mali number (223 and 8 digits) written as the template says; None when it is not one."""
    if len(digits) != 11 or not digits.startswith("223") or not digits.isdigit():
        return None
    local = digits[3:]
    return {"223XXXXXXXX": digits, "+223XXXXXXXX": "+" + digits, "00223XXXXXXXX": "00" + digits,
            "XXXXXXXX": local}[style]


def amount_text(amount: int, decimal: str) -> str:
    return {"none": str(amount), "point": f"{amount}.00", "comma": f"{amount},00"}[decimal]


def _lines_query(cycle_id: int, state: str) -> Any:
    P, H = Payment, Household
    return (sa.select(P.reference, P.amount, H.code, H.current_pcode, H.phone_sealed, Person.given_name,
                      Person.family_name)
            .join(H, H.id == P.household_id)
            .outerjoin(Person, Person.id == P.recipient_person_id)
            .where(P.cycle_id == cycle_id, P.state == state)
            .order_by(P.id))


def _check_lines(session: Session, actor: Actor, cycle: Cycle, state: str, needs_phone: bool) -> int:
    """How many lines go in the file; refused before anything is written when some cannot."""
    P, H = Payment, Household
    of_cycle = (P.cycle_id == cycle.id, P.state == state)
    lines = session.scalar(sa.select(sa.func.count()).select_from(P).where(*of_cycle)) or 0
    if not lines:
        raise Conflict(_("Cycle {id} has no due payment to send.", id=cycle.id))
    hidden = (sa.select(H.code).join(P, P.household_id == H.id)
              .where(*of_cycle, sa.not_(sa.and_(*visibility(actor)))).order_by(H.code))
    codes = session.scalars(hidden.limit(EXAMPLES)).all()
    if codes:
        n = session.scalar(sa.select(sa.func.count()).select_from(hidden.subquery())) or 0
        raise ValidationFailed(_("{n} payments of cycle {id} are for households you may not see or that were removed "
                                 "from the registry (first: {codes}); nothing was written.",
                                 n=number(n), id=cycle.id, codes=", ".join(codes)))
    if needs_phone:
        no_phone = (sa.select(H.code).join(P, P.household_id == H.id)
                    .where(*of_cycle, H.phone_sealed.is_(None)).order_by(H.code))
        codes = session.scalars(no_phone.limit(EXAMPLES)).all()
        if codes:
            n = session.scalar(sa.select(sa.func.count()).select_from(no_phone.subquery())) or 0
            raise ValidationFailed(_("{n} due payments of cycle {id} are for households with no phone number, which "
                                     "mobile money needs (first: {codes}); nothing was written. Record their numbers, "
                                     "or prepare the cycle again to hold them.",
                                     n=number(n), id=cycle.id, codes=", ".join(codes)))
    return lines


def lines(session: Session, cycle: Cycle, state: str, needs_phone: bool) -> Iterator[Line]:
    """The cycle's lines in `state`, streamed, phones opened when the file needs them."""
    places = sites(session)
    keys = keyring()
    result = session.execute(_lines_query(cycle.id, state).execution_options(yield_per=STREAM_ROWS))
    for n, (reference, amount, code, pcode, sealed, given, family) in enumerate(result, start=1):
        site_pcode, site = places.get(pcode, (pcode, pcode))
        yield Line(n, reference, int(amount), code, given or "", family or "", site_pcode, site,
                   keys.open(sealed) if needs_phone else None)


class BadPhones(Exception):
    def __init__(self, codes: list[str], n: int) -> None:
        super().__init__(codes)
        self.codes, self.n = codes, n


def _getters(template: providers_.Template, cycle: Cycle, programme: Programme,
             bad: list[str]) -> list[Callable[[Line], Any]]:
    """One function per column of the template, making its cell from a line."""
    style = template.data["phone_style"]
    decimal = template.data["decimal"]
    fmt = template.format
    clean: Callable[[Any], Any] = (lambda value: value) if fmt == "pdf" else safe_cell
    period = period_text(cycle)
    amount: Callable[[Line], Any] = {
        "csv": lambda line: amount_text(line.amount, decimal),
        "xlsx": lambda line: line.amount,
        "pdf": lambda line: number(line.amount),
    }[fmt]

    def msisdn(line: Line) -> str:
        written = phone_style(line.phone or "", style)
        if written is None:
            bad.append(line.household_code)
            return ""
        return written

    by_field: dict[str, Callable[[Line], Any]] = {
        "number": lambda line: line.number,
        "msisdn": msisdn,
        "amount": amount,
        "currency": lambda line: vocab.CURRENCY,
        "reference": lambda line: line.reference,
        "name": lambda line: clean(f"{line.given_name} {line.family_name}".strip()),
        "given_name": lambda line: clean(line.given_name),
        "family_name": lambda line: clean(line.family_name),
        "household_code": lambda line: line.household_code,
        "site": lambda line: clean(line.site),
        "site_pcode": lambda line: line.site_pcode,
        "period": lambda line: period,
        "cycle": lambda line: cycle.number,
        "programme": lambda line: programme.code,
        "signature": lambda line: "",
    }
    getters: list[Callable[[Line], Any]] = []
    for column in template.columns:
        if column["field"] == "text":
            getters.append(_constant(clean(column["value"])))
        else:
            getters.append(by_field[column["field"]])
    return getters


def _constant(value: Any) -> Callable[[Line], Any]:
    return lambda line: value


def _write_csv(path: Path, template: providers_.Template, rows: Iterator[list[Any]]) -> None:
    data = template.data
    with path.open("w", encoding=data["encoding"], errors="replace", newline="") as fh:
        writer = csv.writer(fh, delimiter=data["delimiter"])
        if data["header"]:
            writer.writerow([template.header_of(c) for c in template.columns])
        writer.writerows(rows)


def _write_xlsx(path: Path, template: providers_.Template, rows: Iterator[list[Any]], sheet: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    if template.data["header"]:
        bold = Font(bold=True)
        header = []
        for column in template.columns:
            cell = WriteOnlyCell(ws, value=template.header_of(column))
            cell.font = bold
            header.append(cell)
        ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)


def _write_pdf(path: Path, template: providers_.Template, found: Iterator[Line], getters: list[Callable[[Line], Any]],
               cycle: Cycle, programme: Programme, provider: str, actor: Actor) -> tuple[int, int]:
    """The distribution list, by site (sites by name, households by code); (lines, total)."""
    from jatigi.assistance import distribution_pdf

    by_site = template.data.get("group_by") == "site"
    ordered = sorted(found, key=lambda line: (line.site.casefold(), line.site_pcode, line.household_code)
                     if by_site else (line.household_code,))
    groups: list[distribution_pdf.Group] = []
    for key, chunk in itertools.groupby(ordered, key=lambda line: (line.site, line.site_pcode) if by_site else None):
        site, pcode = key if key else (_("All sites"), "—")
        group = distribution_pdf.Group(site, pcode)
        for n, line in enumerate(chunk, start=1):
            numbered = replace(line, number=n)
            group.rows.append([get(numbered) for get in getters])
            group.total += line.amount
        groups.append(group)
    columns = [{"field": c["field"], "header": template.header_of(c)} for c in template.columns]
    distribution_pdf.write(path, columns=columns, groups=groups, programme=programme, cycle=cycle,
                           period=period_text(cycle), provider=provider, user=actor.username, printed_on=date.today())
    return sum(len(g.rows) for g in groups), sum(g.total for g in groups)


def export_cycle(session: Session, actor: Actor, *, cycle_id: int, provider_name: str, out: Path) -> ExportResult:
    """Write the cycle's payment file for a provider; the first export marks the cycle and its payments sent."""
    actor.require(Permission.ASSISTANCE_PAYMENT_EXPORT)
    providers_.ensure_shipped(session)
    provider = providers_.get_provider(session, provider_name)
    template = providers_.template_of(provider)
    if template.needs_phone:
        actor.require(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE)
    cycle, programme = cycle_for(session, actor, cycle_id, lock=True)
    if cycle.state not in ("approved", "sent"):
        raise Conflict(_("Cycle {id} is {state}: only an approved cycle is exported (or a sent one, again).",
                         id=cycle.id, state=states.state_label("cycle", cycle.state).lower()))
    first = cycle.state == "approved"
    state = "due" if first else "sent"
    out = Path(out)
    if not out.parent.is_dir():
        raise ValidationFailed(_("No folder {folder} to write the payment file into.", folder=str(out.parent)))
    expected = _check_lines(session, actor, cycle, state, template.needs_phone)

    bad: list[str] = []
    getters = _getters(template, cycle, programme, bad)
    count = total = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count, total
        for line in lines(session, cycle, state, template.needs_phone):
            count += 1
            total += line.amount
            yield [get(line) for get in getters]

    part = out.with_name(out.name + ".part")
    try:
        if template.format == "pdf":
            count, total = _write_pdf(part, template, lines(session, cycle, state, template.needs_phone), getters,
                                      cycle, programme, provider.label, actor)
        elif template.format == "xlsx":
            _write_xlsx(part, template, rows(), f"{programme.code} {cycle.number}")
        else:
            _write_csv(part, template, rows())
        if bad:
            raise ValidationFailed(_("{n} due payments of cycle {id} have a phone number that is not a Mali mobile "
                                     "number (+223 and 8 digits) (first: {codes}); nothing was written.",
                                     n=number(len(bad)), id=cycle.id, codes=", ".join(bad[:EXAMPLES])))
        if count != expected:  # the cycle is locked: only a bug could make these differ
            raise Conflict(_("Cycle {id} changed while its file was written; nothing was written.", id=cycle.id))
        if first:
            _mark_sent(session, actor, cycle, provider.name, count, total, out.name)
        audit.record(session, actor, "assistance.payments.export", "assistance_cycle", cycle.id,
                     {"provider": provider.name, "format": template.format, "lines": count, "total": total,
                      "file": out.name, "first": first})
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return ExportResult(cycle.id, provider.name, template.format, count, total, first, out)


def _mark_sent(session: Session, actor: Actor, cycle: Cycle, provider: str, lines: int, total: int,
               file: str) -> None:
    """The cycle approved → sent and its due payments → sent, in one statement each."""
    moved = session.execute(sa.update(Payment).where(Payment.cycle_id == cycle.id, Payment.state == "due")
                            .values(state="sent", updated_at=utcnow())
                            .execution_options(synchronize_session=False))
    detail = {"provider": provider, "lines": lines, "total": total, "file": file}
    states.record_transition(session, actor, "cycle", cycle.id, "due", "sent",
                             reason=_("Payments sent to {provider}", provider=provider),
                             detail={"payments": moved.rowcount, "entity": "payments"})  # type: ignore[attr-defined]
    states.move(session, actor, "cycle", cycle, "sent", reason=_("Payment file exported"), detail=detail)
    cycle.sent_at = utcnow()
    cycle.version = (cycle.version or 1) + 1
