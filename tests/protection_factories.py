"""Protection test data: a team (caseworkers and their supervisor in one organisation, and a
caseworker of another), and cases written the way the case service writes them — sealed under
their own data key — so that the parts of protection can be tested apart from intake.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from jatigi.core.authz import Actor
from jatigi.protection.models import ProtectionCase
from jatigi.protection.sealing import key_for, seal_json
from tests import factories as f


@dataclass(frozen=True)
class Team:
    caseworker: Actor  # cw.a, of organisation PA
    colleague: Actor  # cw2.a, another caseworker of PA
    supervisor: Actor  # sup.a, of PA
    outsider: Actor  # cw.b, a caseworker of organisation PB
    outsider_supervisor: Actor  # sup.b, of PB


def team(session: Session) -> Team:
    """Two organisations (PA, PB) with their caseworkers and supervisors; places loaded."""
    f.places(session)
    f.org(session, "PA")
    f.org(session, "PB")
    for name, org, role in (("cw.a", "PA", "caseworker"), ("cw2.a", "PA", "caseworker"),
                            ("sup.a", "PA", "protection_supervisor"), ("cw.b", "PB", "caseworker"),
                            ("sup.b", "PB", "protection_supervisor")):
        f.user(session, name, org, role=role)
    return Team(*(f.actor(session, n) for n in ("cw.a", "cw2.a", "sup.a", "cw.b", "sup.b")))


def case(session: Session, caseworker: Actor, supervisor: Actor, *, case_type: str = "gbv",
         name: str = "Aminata Traoré", phone: str = "+22376543210", summary: str = "Agressée au marché de Médine.",
         sex: str = "f", age_group: str = "18-59", area_pcode: str | None = f.BAMAKO_COMMUNE_IV,
         opened_on: date | None = None) -> ProtectionCase:
    """A case as intake would leave it: person, contact and summary sealed under its data key."""
    row = ProtectionCase(code="CAS-" + secrets.token_hex(3).upper(), org_id=caseworker.org_id, case_type=case_type,
                         state="open", stage="intake", risk_level="medium", caseworker_id=caseworker.user_id,
                         supervisor_id=supervisor.user_id, survivor_code="SV-" + secrets.token_hex(3).upper(),
                         sex=sex, age_group=age_group, area_pcode=area_pcode, opened_on=opened_on or date.today(),
                         created_by=caseworker.user_id)
    key = key_for(session, row)
    row.person_sealed = seal_json(key, "person_sealed", {"name": name, "sex": sex, "phone": phone})
    row.contact_sealed = seal_json(key, "contact_sealed", {"may_call": False, "safe_name": "Tantie"})
    row.summary_sealed = key.seal("summary_sealed", summary)
    session.add(row)
    session.flush()
    return row
