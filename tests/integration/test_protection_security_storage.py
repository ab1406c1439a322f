"""What a protection case says is never stored in clear: not in the raw SQLite file, not in any
column of any PostgreSQL table, not in the audit trail."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.db import is_postgres, session_scope
from jatigi.protection import case_work, cases, incidents, referrals
from tests import factories as f
from tests import protection_factories as pf

# Each recognisable, and found nowhere else in a fresh database.
SECRETS = {
    "given name": "Zeinabouxa",
    "family name": "Kanoutessima",
    "phone": "76991234",
    "address": "Rue Quatorze-Quarante-Deux",
    "summary": "Menacee-par-son-oncle-Bakoroba",
    "factory name": "Mariamoussa Fofanaki",
    "factory summary": "Frappee-au-marche-de-Sirakoro",
    "incident account": "Recit-du-puits-de-Niamakoro",
    "perpetrator": "Le-voisin-Sidibekoro",
    "entry": "Note-du-suivi-Kalabancoura",
    "reason": "Raison-Dembelekoro",
    "referral note": "Message-au-partenaire-Sabalibougou",
}


def _write_cases(session: Session) -> str:
    team = pf.team(session)
    pf.case(session, team.caseworker, team.supervisor, name=SECRETS["factory name"], phone="+22370001122",
            summary=SECRETS["factory summary"])
    case = cases.open_case(session, team.caseworker, cases.NewCase(
        case_type="gbv", sex="f", summary=SECRETS["summary"], area_pcode=f.BAMAKO_COMMUNE_IV,
        given_name=SECRETS["given name"], family_name=SECRETS["family name"], age=27,
        phone="+223 " + SECRETS["phone"], address=SECRETS["address"], may_call="yes", supervisor="sup.a"))
    incidents.record_incident(session, team.caseworker, case.code, incidents.NewIncident(
        incident_type="physical_assault", incident_date=case.opened_on, account=SECRETS["incident account"],
        perpetrator_identity=SECRETS["perpetrator"]))
    case_work.add_entry(session, team.caseworker, case.code, "note", SECRETS["entry"])
    case_work.change_risk(session, team.caseworker, case.code, "high")
    case_work.give_consent(session, team.caseworker, case.code, purpose="referral", organisation="PB")
    referrals.send_referral(session, team.caseworker, case, referrals.NewReferral(
        organisation="PB", service_type="psychosocial", note=SECRETS["referral note"], share_identity=True))
    case_work.reassign(session, team.supervisor, case.code, "cw2.a", SECRETS["reason"])
    return case.code


def _found_in(text: str) -> list[str]:
    lowered = text.lower()
    return [what for what, value in SECRETS.items() if value.lower() in lowered]


def test_no_plaintext_in_storage(engine: sa.Engine, db_url: str) -> None:
    with session_scope(engine) as s:
        code = _write_cases(s)
    with session_scope(engine) as s:
        details = [str(d) for d in s.scalars(sa.select(AuditEvent.detail).where(AuditEvent.detail.is_not(None)))]
        assert any("protection" in a for a in s.scalars(sa.select(AuditEvent.action)))
        assert _found_in("\n".join(details)) == []
        if is_postgres(s):
            tables = sa.inspect(s.connection()).get_table_names()
            seen = ""
            for table in tables:
                rows = "\n".join(s.execute(sa.text(f'SELECT t::text FROM "{table}" t')).scalars().all())
                assert _found_in(rows) == [], table
                seen += rows
            assert code in seen  # what is in clear is read indeed
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        engine.dispose()
        with closing(sqlite3.connect(path)) as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = path.read_bytes()
        for suffix in ("-wal", "-journal"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                data += extra.read_bytes()
        found = [what for what, value in SECRETS.items()
                 if value.encode() in data or value.lower().encode() in data.lower()]
        assert found == []
        assert code.encode() in data  # what is in clear is read indeed
