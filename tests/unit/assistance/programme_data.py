"""People, households and programmes for the programme and cycle tests, made through the services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import programmes
from jatigi.assistance.models import Programme
from jatigi.registry.models import Household
from jatigi.registry.records import PersonRecord
from tests import factories as f

ORG, OTHER_ORG = "ONGA", "ONGB"
# carla prepares, cindy approves (both cash officers of ONGA); rita registers, ivan is an IM officer
# (reads programmes, scores); bert is a cash officer of ONGB; ada is the administrator.
CASH, APPROVER, REGISTRAR, IM, OTHER, ADMIN = "carla", "cindy", "rita", "ivan", "bert", "ada"

# Rent up to 30,000 FCFA plus 2,500 FCFA per child under five: households that pay no rent get nothing.
RENT_FORMULA = """
[entitlement]
id = "rent_test"
title = { fr = "Loyer", en = "Rent" }
amount = "min(coalesce(monthly_rent_xof, 0), 30000)"
round_to = 100

[[top_up]]
id = "children_under5"
label = { fr = "Enfants de moins de cinq ans", en = "Children under five" }
when = "children_under5 > 0"
amount = "2500 * children_under5"
"""


def people(session: Session) -> None:
    f.places(session)
    f.org(session, ORG)
    f.org(session, OTHER_ORG)
    f.user(session, CASH, ORG, "cash_officer")
    f.user(session, APPROVER, ORG, "cash_officer")
    f.user(session, REGISTRAR, ORG, "registration_officer")
    f.user(session, IM, ORG, "im_officer")
    f.user(session, OTHER, OTHER_ORG, "cash_officer")
    f.user(session, ADMIN, ORG, "admin")


def baby_born() -> date:
    return date.today() - timedelta(days=400)


def household(session: Session, given: str, *, phone: str | None = "76 12 34 56", rent: int | None = 25_000,
              pcode: str = f.BAMAKO_COMMUNE_IV, baby: bool = False, **overrides: Any) -> str:
    """A household of a head (and a baby under five when `baby`) registered by rita."""
    members = [PersonRecord(1, given, "Maïga", "f", "head", date(1985, 3, 1))]
    if baby:
        members.append(PersonRecord(2, "Awa", "Maïga", "f", "child", baby_born()))
    return f.household(session, f.actor(session, REGISTRAR), phone=phone, monthly_rent_xof=rent,
                       current_pcode=pcode, members=members, movements=[], **overrides)


def household_id(session: Session, code: str) -> int:
    return session.scalar(sa.select(Household.id).where(Household.code == code)) or 0


def programme(session: Session, *, formula: str = RENT_FORMULA, modality: str = "mobile_money",
              sector: str = "multipurpose", area: str | None = None, months: int = 3, by: str = CASH,
              activate: bool = True, name: str = "Cash for rent") -> Programme:
    actor = f.actor(session, by)
    prog = programmes.create_programme(session=session, actor=actor, name=name, sector=sector, modality=modality,
                                       start_month="2025-01", planned_months=months, formula=formula,
                                       donor="ECHO", area_pcode=area)
    if activate:
        programmes.activate(session=session, actor=actor, ref=prog.code)
    return prog
