"""Programmes, cycles and payments inserted as rows, for the complaints and monitoring tests
(which do not depend on how cycles are prepared)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.models import Cycle, Payment, Programme
from jatigi.registry.models import Household
from tests import factories as f

REGISTRARS = {"ONGA": "rita", "ONGB": "rob"}


@dataclass
class Paid:
    """A programme of ONGA with two cycles; its households and their payments by cycle number."""

    programme: str
    cycles: dict[int, int]  # number -> id
    households: list[str]
    references: dict[int, list[str]] = field(default_factory=dict)  # cycle number -> references, by household


def people(session: Session) -> None:
    """ONGA with two cash officers (carla, cindy), a protection focal point (pat), an IM officer (ivan)
    and a registrar (rita); ONGB with a cash officer (bert) and a registrar (rob); an administrator
    (ada) of ONGA, who sees all."""
    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "carla", "ONGA", "cash_officer")
    f.user(session, "cindy", "ONGA", "cash_officer")
    f.user(session, "pat", "ONGA", "protection_focal_point")
    f.user(session, "ivan", "ONGA", "im_officer")
    f.user(session, "bert", "ONGB", "cash_officer")
    f.user(session, "ada", "ONGA", "admin")
    for org, name in REGISTRARS.items():
        f.user(session, name, org, "registration_officer")


def programme(session: Session, org: str = "ONGA", code: str = "PRG-0001", households: int = 3,
              amount: int = 30_000, states: tuple[str, ...] = ("reconciled", "sent")) -> Paid:
    """A programme with one cycle per state given (numbered from 1), each paying `households`
    households of the organisation `amount` FCFA."""
    org_id = session.scalar(sa.text("SELECT id FROM organisations WHERE acronym = :a"), {"a": org})
    by = f.actor(session, REGISTRARS[org])
    codes = [f.household(session, by) for _ in range(households)]
    ids = {r.code: r.id for r in session.execute(sa.select(Household.code, Household.id)
                                                 .where(Household.code.in_(codes)))}
    prog = Programme(code=code, org_id=org_id, name=f"Cash {code}", sector="multipurpose", modality="mobile_money",
                     currency="XOF", start_month=date(2024, 6, 1), planned_months=3, formula="amount = 30000",
                     state="active")
    session.add(prog)
    session.flush()
    paid = Paid(code, {}, codes)
    for number, state in enumerate(states, start=1):
        month = 5 + number
        cycle = Cycle(programme_id=prog.id, number=number, period_start=date(2024, month, 1),
                      period_end=date(2024, month, 28), state=state, total_due=amount * households)
        session.add(cycle)
        session.flush()
        paid.cycles[number] = cycle.id
        refs = []
        for i, hh in enumerate(codes):
            ref = f"{code}-C{number}-{i + 1:03d}"
            session.add(Payment(cycle_id=cycle.id, programme_id=prog.id, household_id=ids[hh], reference=ref,
                                state="paid" if state in ("reconciled", "closed") else "sent", amount=amount))
            refs.append(ref)
        paid.references[number] = refs
    session.flush()
    return paid
