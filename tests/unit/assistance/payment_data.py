"""An approved cycle with due and held payments, inserted as rows, for the payment tests (which do
not depend on how cycles are prepared). Households are made through tests/factories.py."""

from __future__ import annotations

import calendar
import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.registry.models import Household, Person
from jatigi.registry.records import PersonRecord
from tests import factories as f

ORG = "ONGA"
# cash officers carla (prepares) and cindy (approves), a registrar, a viewer from the IM team
# (reads programmes but may not export), a cash officer of another organisation and an administrator
# (who alone adds payment providers, shared by every organisation).
CASH, APPROVER, REGISTRAR, IM, OTHER, ADMIN = "carla", "cindy", "rita", "ivan", "bert", "ada"


@dataclass(frozen=True)
class Recipient:
    given: str
    family: str
    phone: str | None
    pcode: str = f.BAMAKO_COMMUNE_IV
    amount: int = 15_000
    hold: str | None = None  # a hold reason: the line is held, not due


# Three due lines in two communes (phones written three ways) and one held line.
RECIPIENTS = (
    Recipient("Aminata", "Maïga", "76 12 34 56"),
    Recipient("Oumar", "Touré", "+223 66 00 11 22", f.MOPTI_COMMUNE, 20_000),
    Recipient("Fanta", "Diarra", "00223 70 00 00 01", amount=25_000),
    Recipient("Issa", "Coulibaly", "79 99 99 99", hold="possible_duplicate"),
)


@dataclass
class CycleData:
    programme_id: int
    cycle_id: int
    number: int
    households: list[str]  # codes, in the order of the recipients
    references: list[str]  # in the same order
    due: list[int] = field(default_factory=list)  # positions of the due lines
    held: list[int] = field(default_factory=list)


def people(session: Session) -> None:
    f.places(session)
    f.org(session, ORG)
    f.org(session, "ONGB")
    f.user(session, CASH, ORG, "cash_officer")
    f.user(session, APPROVER, ORG, "cash_officer")
    f.user(session, REGISTRAR, ORG, "registration_officer")
    f.user(session, IM, ORG, "im_officer")
    f.user(session, OTHER, "ONGB", "cash_officer")
    f.user(session, ADMIN, ORG, "admin")


def households(session: Session, recipients: tuple[Recipient, ...] = RECIPIENTS) -> list[str]:
    by = f.actor(session, REGISTRAR)
    codes = []
    for r in recipients:
        head = PersonRecord(1, r.given, r.family, "f", "head", date(1985, 3, 1))
        codes.append(f.household(session, by, phone=r.phone, current_pcode=r.pcode, members=[head],
                                 movements=[]))
    return codes


def programme(session: Session, code: str = "PRG-0001", modality: str = "mobile_money") -> int:
    org_id = session.scalar(sa.text("SELECT id FROM organisations WHERE acronym = :a"), {"a": ORG})
    prog = Programme(code=code, org_id=org_id, name=f"Cash {code}", sector="multipurpose", modality=modality,
                     currency="XOF", start_month=date(2024, 6, 1), planned_months=3,
                     formula="amount = 15000", state="active")
    session.add(prog)
    session.flush()
    return prog.id


def cycle(session: Session, programme_id: int, codes: list[str], *, number: int = 1, state: str = "approved",
          recipients: tuple[Recipient, ...] = RECIPIENTS, copy_phones: bool = True) -> CycleData:
    """A cycle of `programme_id` paying the households `codes` (one per recipient, in order), with each
    household's phone copied on its line as preparing does (not when `copy_phones` is false: a cycle
    prepared before the copy was kept)."""
    ids: dict[str, int] = dict(session.execute(sa.select(Household.code, Household.id)
                                               .where(Household.code.in_(codes))).all())
    phones: dict[int, str | None] = dict(session.execute(sa.select(Household.id, Household.phone_sealed)
                                  .where(Household.id.in_(ids.values()))).all()) if copy_phones else {}
    heads: dict[int, int] = dict(session.execute(sa.select(Person.household_id, Person.id).where(
        Person.household_id.in_(ids.values()), Person.line_no == 1)).all())
    prog_code = session.scalar(sa.select(Programme.code).where(Programme.id == programme_id))
    month = 5 + number
    prepared_by = f.actor(session, CASH).user_id
    approved_by = f.actor(session, APPROVER).user_id
    c = Cycle(programme_id=programme_id, number=number, period_start=date(2024, month, 1),
              period_end=date(2024, month, calendar.monthrange(2024, month)[1]), state=state,
              prepared_by=prepared_by, approved_by=approved_by,
              total_due=sum(r.amount for r in recipients if r.hold is None))
    session.add(c)
    session.flush()
    data = CycleData(programme_id, c.id, number, list(codes), [])
    for i, (hh, r) in enumerate(zip(codes, recipients, strict=True)):
        ref = f"{prog_code}-{number:02d}-{i + 1:05d}"
        line_state = "held" if r.hold else ("due" if state in ("prepared", "approved") else "sent")
        session.add(Payment(cycle_id=c.id, programme_id=programme_id, household_id=ids[hh], reference=ref,
                            state=line_state, hold_reason=r.hold, amount=r.amount,
                            recipient_person_id=heads[ids[hh]], phone_sealed=phones.get(ids[hh])))
        data.references.append(ref)
        (data.held if r.hold else data.due).append(i)
    session.flush()
    return data


def approved_cycle(session: Session) -> CycleData:
    """People, households, a mobile-money programme and its approved first cycle."""
    people(session)
    codes = households(session)
    return cycle(session, programme(session), codes)


def payment_states(session: Session, cycle_id: int) -> dict[str, str]:
    return dict(session.execute(sa.select(Payment.reference, Payment.state).where(Payment.cycle_id == cycle_id))
                .all())


def write_report(path: Path, rows: list[list[object]],
                 header: tuple[str, ...] = ("Reference", "Status", "Amount Paid", "Currency", "Date",
                                            "Transaction ID")) -> Path:
    """An Orange Money report (the shipped template's columns) as CSV."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path
