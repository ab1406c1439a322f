"""A cycle's payment file for a provider, written from the provider's template (CSV, XLSX or PDF).

Only the due lines of an approved cycle go in the file (held ones never do). The first export
marks the cycle and its due payments sent, in one statement, with the number of lines and the
total in the audit log, and keeps the provider on the cycle: it is exported again and reconciled
with that provider only, so that no payment goes out through two. The provider's kind must suit
the programme's modality. A due line whose household was removed from the registry, or that the
person exporting may no longer see, is cancelled (and said so) rather than stopping the export.
Exporting a sent cycle again writes the same lines (a lost file, a provider asking again) and
changes nothing. Rows are streamed from one query; the phone numbers — as approved: the copy
taken when the cycle was prepared — are opened one by one as they are written. The file is written
beside its target and renamed at the end: a refused or failed export leaves no file and no change.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import providers as providers_
from jatigi.assistance import states, vocab
from jatigi.assistance.models import Cycle, Payment, PaymentProvider, Programme, Transition
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.crypto import keyring
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict, NotFound, ValidationFailed
from jatigi.core.i18n import N_, _, number
from jatigi.core.spreadsheet import safe_cell
from jatigi.places.models import AdminUnit
from jatigi.registry.models import Household, Person
from jatigi.registry.service import visibility

STREAM_ROWS = 5000
SITE_LEVEL = 3  # distribution sites are communes
EXAMPLES = 5
# Why a due line is cancelled when the cycle is first exported (its household cannot be paid any more).
CANCEL_REASONS = {
    "removed": N_("the household was removed from the registry after the cycle was approved"),
    "hidden": N_("the household is no longer one the person exporting may see"),
}


@dataclass(frozen=True)
class ExportResult:
    cycle_id: int
    provider: str
    format: str
    lines: int
    total: int
    first: bool  # this export marked the cycle sent
    path: Path
    cancelled: dict[str, int] = field(default_factory=dict)  # due lines cancelled by this export, by reason


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


def sent_provider(session: Session, cycle: Cycle) -> PaymentProvider | None:
    """The provider the cycle was first exported to; None before its first export."""
    if cycle.provider_id is not None:
        return session.get(PaymentProvider, cycle.provider_id)
    # A cycle sent before the provider was kept on it: the one its first export named.
    detail = session.scalar(sa.select(Transition.detail).where(
        Transition.entity == "cycle", Transition.entity_id == cycle.id, Transition.from_state == "approved",
        Transition.to_state == "sent").order_by(Transition.id).limit(1))
    if detail and detail.get("provider"):
        return session.scalar(sa.select(PaymentProvider).where(PaymentProvider.name == str(detail["provider"])))
    return None


def only_provider(cycle: Cycle, sent_to: PaymentProvider) -> Conflict:
    return Conflict(_("Cycle {id} was sent to {provider} ({name}): it is exported again and reconciled with that "
                      "provider only, so that no payment goes out twice.", id=cycle.id, provider=sent_to.label,
                      name=sent_to.name))


def suited_kind(modality: str) -> str:
    """The kind of provider a modality pays through."""
    return "mobile_money" if modality == "mobile_money" else "cash_list"


def check_kind(programme: Programme, provider: PaymentProvider) -> None:
    wanted = suited_kind(programme.modality)
    if provider.kind != wanted:
        raise ValidationFailed(_("Programme {code} pays by {modality}: its payment file goes to a provider of the "
                                 "kind {kind}; {provider} is of the kind {provider_kind}.", code=programme.code,
                                 modality=_(vocab.MODALITIES.get(programme.modality, programme.modality)).lower(),
                                 kind=_(vocab.PROVIDER_KINDS[wanted]).lower(), provider=provider.name,
                                 provider_kind=_(vocab.PROVIDER_KINDS.get(provider.kind, provider.kind)).lower()))


def cancelled_lines(cancelled: Mapping[str, int]) -> list[str]:
    """One sentence per reason: how many due lines an export cancelled, and why."""
    return [_("{n} due payments were cancelled and left out of the file: {why}.", n=number(n),
              why=_(CANCEL_REASONS[reason])) for reason, n in cancelled.items() if n and reason in CANCEL_REASONS]


def sent_cancelled_notice(query: Mapping[str, str]) -> str:
    """What the cycle's page says after a first export that cancelled due lines (counts from the query)."""
    def count(key: str) -> int:
        value = query.get(key, "")
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else 0

    cancelled = {reason: count(reason) for reason in CANCEL_REASONS}
    return " ".join([_("The cycle is sent: its payment file holds {n} payments. Export it again to download it.",
                       n=number(count("lines"))), *cancelled_lines(cancelled)])


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
    if len(digits) != 11 or not digits.startswith("223") or not (digits.isascii() and digits.isdigit()):
        return None
    local = digits[3:]
    return {"223XXXXXXXX": digits, "+223XXXXXXXX": "+" + digits, "00223XXXXXXXX": "00" + digits,
            "XXXXXXXX": local}[style]


def amount_text(amount: int, decimal: str) -> str:
    return {"none": str(amount), "point": f"{amount}.00", "comma": f"{amount},00"}[decimal]


def _phone() -> Any:
    """The phone the approver approved (copied when the cycle was prepared); the household's own for a
    line prepared before the copy was kept."""
    return sa.func.coalesce(Payment.phone_sealed, Household.phone_sealed)


def _lines_query(cycle_id: int, state: str) -> Any:
    P, H = Payment, Household
    return (sa.select(P.reference, P.amount, H.code, H.current_pcode, _phone(), Person.given_name,
                      Person.family_name)
            .join(H, H.id == P.household_id)
            .outerjoin(Person, Person.id == P.recipient_person_id)
            .where(P.cycle_id == cycle_id, P.state == state)
            .order_by(P.id))


def _cancel_unpayable(session: Session, actor: Actor, cycle: Cycle) -> dict[str, int]:
    """Cancel the due lines of households removed from the registry (deleted or purged) or that the actor
    may no longer see, set-wise; one transition per reason, on the cycle. How many, by reason."""
    P, H = Payment, Household
    due = (P.cycle_id == cycle.id, P.state == "due")
    removed = sa.or_(P.household_id.is_(None),
                     sa.exists().where(H.id == P.household_id, H.deleted_at.is_not(None)))
    hidden = sa.exists().where(H.id == P.household_id, H.deleted_at.is_(None), sa.not_(sa.and_(*visibility(actor))))
    cancelled: dict[str, int] = {}
    for reason, condition in (("removed", removed), ("hidden", hidden)):
        moved = session.execute(sa.update(P).where(*due, condition).values(state="cancelled", updated_at=utcnow())
                                .execution_options(synchronize_session=False))
        n = int(moved.rowcount)  # type: ignore[attr-defined]
        if not n:
            continue
        cancelled[reason] = n
        states.record_transition(session, actor, "cycle", cycle.id, "due", "cancelled",
                                 reason=_("Cancelled when the payment file was exported: {why}",
                                          why=_(CANCEL_REASONS[reason])),
                                 detail={"payments": n, "cancelled": reason})
    return cancelled


def _check_lines(session: Session, actor: Actor, cycle: Cycle, state: str, needs_phone: bool) -> int:
    """How many lines go in the file; refused before anything is written when some cannot."""
    P, H = Payment, Household
    of_cycle = (P.cycle_id == cycle.id, P.state == state)
    lines = session.scalar(sa.select(sa.func.count()).select_from(P).where(*of_cycle)) or 0
    if not lines:
        raise Conflict(_("Cycle {id} has no due payment to send.", id=cycle.id))
    # A sent cycle exported again: its lines are at the provider already and are never cancelled here.
    hidden = (sa.select(H.code).select_from(P).outerjoin(H, H.id == P.household_id)
              .where(*of_cycle, sa.or_(H.id.is_(None), sa.not_(sa.and_(*visibility(actor))))).order_by(H.code))
    n = session.scalar(sa.select(sa.func.count()).select_from(hidden.subquery())) or 0
    if n:
        codes = [c for c in session.scalars(hidden.where(H.code.is_not(None)).limit(EXAMPLES)) if c]
        raise ValidationFailed(_("{n} payments of cycle {id} are for households you may not see or that were removed "
                                 "from the registry (first: {codes}); nothing was written.",
                                 n=number(n), id=cycle.id, codes=", ".join(codes) or "—"))
    if needs_phone:
        no_phone = (sa.select(H.code).join(P, P.household_id == H.id)
                    .where(*of_cycle, _phone().is_(None)).order_by(H.code))
        missing = session.scalars(no_phone.limit(EXAMPLES)).all()
        if missing:
            n = session.scalar(sa.select(sa.func.count()).select_from(no_phone.subquery())) or 0
            advice = (_("Reject the cycle and prepare it again: a household without a phone number is then held.")
                      if state == "due" else _("Record their numbers in the registry."))
            raise ValidationFailed(_("{n} due payments of cycle {id} are for households with no phone number, which "
                                     "mobile money needs (first: {codes}); nothing was written.",
                                     n=number(n), id=cycle.id, codes=", ".join(missing)) + " " + advice)
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
    provider = providers_.get_provider(session, provider_name, in_use=True)
    template = providers_.template_of(provider)
    if template.needs_phone:
        actor.require(Permission.REGISTRY_HOUSEHOLD_READ_SENSITIVE)
    cycle, programme = cycle_for(session, actor, cycle_id, lock=True)
    if cycle.state not in ("approved", "sent"):
        raise Conflict(_("Cycle {id} is {state}: only an approved cycle is exported (or a sent one, again).",
                         id=cycle.id, state=states.state_label("cycle", cycle.state).lower()))
    first = cycle.state == "approved"
    sent_to = sent_provider(session, cycle)
    if sent_to is not None and sent_to.id != provider.id:
        raise only_provider(cycle, sent_to)
    if first:
        check_kind(programme, provider)
    state = "due" if first else "sent"
    out = Path(out)
    if not out.parent.is_dir():
        raise ValidationFailed(_("No folder {folder} to write the payment file into.", folder=str(out.parent)))
    with session.begin_nested():  # a refusal below undoes the cancellations too
        return _export(session, actor, cycle, programme, provider, template, state, out)


def _export(session: Session, actor: Actor, cycle: Cycle, programme: Programme, provider: PaymentProvider,
            template: providers_.Template, state: str, out: Path) -> ExportResult:
    first = state == "due"
    cancelled = _cancel_unpayable(session, actor, cycle) if first else {}
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
            _mark_sent(session, actor, cycle, provider, count, total, out.name)
        audit.record(session, actor, "assistance.payments.export", "assistance_cycle", cycle.id,
                     {"provider": provider.name, "format": template.format, "lines": count, "total": total,
                      "file": out.name, "first": first, **({"cancelled": cancelled} if cancelled else {})})
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return ExportResult(cycle.id, provider.name, template.format, count, total, first, out, cancelled)


def _mark_sent(session: Session, actor: Actor, cycle: Cycle, sent_to: PaymentProvider, lines: int, total: int,
               file: str) -> None:
    """The cycle approved → sent and its due payments → sent, in one statement each; the provider kept on it."""
    provider = sent_to.name
    moved = session.execute(sa.update(Payment).where(Payment.cycle_id == cycle.id, Payment.state == "due")
                            .values(state="sent", updated_at=utcnow())
                            .execution_options(synchronize_session=False))
    detail = {"provider": provider, "lines": lines, "total": total, "file": file}
    states.record_transition(session, actor, "cycle", cycle.id, "due", "sent",
                             reason=_("Payments sent to {provider}", provider=provider),
                             detail={"payments": moved.rowcount, "entity": "payments"})  # type: ignore[attr-defined]
    states.move(session, actor, "cycle", cycle, "sent", reason=_("Payment file exported"), detail=detail)
    cycle.sent_at = utcnow()
    cycle.provider_id = sent_to.id
    cycle.version = (cycle.version or 1) + 1
