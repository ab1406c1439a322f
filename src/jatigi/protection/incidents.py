"""GBV incidents, recorded with the GBVIMS incident recorder's fields.

The classification (one of the six core types), the month, the area, the place and time, the
survivor's and perpetrators' non-identifying facts stay in clear: statistics count them. The
survivor's account and whatever identifies the perpetrator are sealed under the case's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit, changes
from jatigi.core.authz import Actor
from jatigi.core.db import utcnow
from jatigi.core.errors import Conflict
from jatigi.core.i18n import N_, _
from jatigi.protection import vocab
from jatigi.protection.case_work import _writable
from jatigi.protection.cases import ENTITY, LABELS, CaseInvalid, area_value, choice, day_value, text_value
from jatigi.protection.models import GbvIncident, ProtectionCase
from jatigi.protection.sealing import key_for, open_text, opened_key
from jatigi.registry import vocab as registry_vocab

MAX_ACCOUNT = 8000
MAX_PERPETRATOR = 1000
YES_NO = {"yes": N_("Yes"), "no": N_("No"), "unknown": N_("Unknown")}

LABELS.update({
    "incident_type": N_("Type of incident"),
    "incident_date": N_("Date of the incident"),
    "incident_month": N_("Month of the incident"),
    "report_date": N_("Date reported"),
    "place_type": N_("Place"),
    "time_of_day": N_("Time of day"),
    "displacement_at_incident": N_("Displacement at the time of the incident"),
    "displacement_at_report": N_("Displacement status at report"),
    "survivor_age_group": N_("Survivor's age group at the incident"),
    "survivor_sex": N_("Survivor's sex"),
    "marital_status": N_("Marital status"),
    "disability": N_("Survivor with a disability"),
    "unaccompanied_or_separated": N_("Unaccompanied or separated child"),
    "previous_incidents": N_("Previous incidents"),
    "perpetrator_count": N_("Number of perpetrators"),
    "perpetrator_sex": N_("Perpetrator's sex"),
    "perpetrator_age_group": N_("Perpetrator's age group"),
    "perpetrator_relationship": N_("Relationship to the survivor"),
    "perpetrator_occupation": N_("Perpetrator's occupation"),
    "referred_by": N_("Referred by"),
    "account": N_("The survivor's account"),
    "perpetrator_identity": N_("What identifies the perpetrator"),
})

# The optional code fields of the recorder, with their lists.
CODED = {
    "place_type": vocab.PLACE_TYPES,
    "time_of_day": vocab.TIMES_OF_DAY,
    "displacement_at_incident": vocab.DISPLACEMENT_STAGES,
    "displacement_at_report": registry_vocab.POPULATION_GROUPS,
    "survivor_age_group": vocab.AGE_GROUPS,
    "survivor_sex": vocab.SEXES,
    "marital_status": vocab.MARITAL_STATUSES,
    "perpetrator_count": vocab.PERPETRATOR_COUNTS,
    "perpetrator_sex": vocab.SEXES,
    "perpetrator_age_group": vocab.PERPETRATOR_AGE_GROUPS,
    "perpetrator_relationship": vocab.PERPETRATOR_RELATIONSHIPS,
    "perpetrator_occupation": vocab.PERPETRATOR_OCCUPATIONS,
    "referred_by": vocab.REFERRAL_SOURCES,
}
FLAGS = ("disability", "unaccompanied_or_separated", "previous_incidents")


@dataclass
class NewIncident:
    """The incident recorder's fields, as typed. Either the date or the month (YYYY-MM) is needed."""

    incident_type: str
    incident_date: str | date | None = None
    incident_month: str = ""
    report_date: str | date | None = None
    area_pcode: str = ""  # default: the case's area
    place_type: str = ""
    time_of_day: str = ""
    displacement_at_incident: str = ""
    displacement_at_report: str = ""
    survivor_age_group: str = ""  # default: the case's
    survivor_sex: str = ""  # default: the case's
    marital_status: str = ""
    disability: str = ""  # yes, no, unknown
    unaccompanied_or_separated: str = ""
    previous_incidents: str = ""
    perpetrator_count: str = ""
    perpetrator_sex: str = ""
    perpetrator_age_group: str = ""
    perpetrator_relationship: str = ""
    perpetrator_occupation: str = ""
    referred_by: str = ""
    account: str = ""
    perpetrator_identity: str = ""


def _month(problems: list[tuple[str, str]], incident_date: date | None, text: str, today: date) -> date | None:
    if incident_date is not None:
        return incident_date.replace(day=1)
    raw = (text or "").strip()
    if not raw:
        problems.append(("incident_date", _("Give the date of the incident, or at least its month (YYYY-MM).")))
        return None
    try:
        month = date.fromisoformat(raw[:7] + "-01")
    except ValueError:
        problems.append(("incident_month", _("{value} is not a month; accepted: YYYY-MM.", value=raw[:10])))
        return None
    if month > today:
        problems.append(("incident_month", _("{value} is in the future: not accepted.", value=raw[:7])))
        return None
    return month


def record_incident(session: Session, actor: Actor, code: str, new: NewIncident, *,
                    today: date | None = None) -> GbvIncident:
    """Record a GBV incident on a GBV case; nothing is written if a field is wrong."""
    case = _writable(session, actor, code)
    if case.case_type != "gbv":
        raise Conflict(_("Case {code} is not a GBV case: GBV incidents are recorded on GBV cases only.",
                         code=case.code))
    today = today or date.today()
    problems: list[tuple[str, str]] = []
    kind = choice(problems, "incident_type", new.incident_type, vocab.GBV_TYPES)
    when = day_value(problems, "incident_date", new.incident_date, today=today)
    month = _month(problems, when, new.incident_month, today)
    reported = day_value(problems, "report_date", new.report_date or today, today=today)
    if when and reported and when > reported:
        problems.append(("incident_date", _("{value} is after the date reported: not accepted.",
                                            value=when.isoformat())))
    area = area_value(session, problems, "area_pcode", new.area_pcode, required=False) or case.area_pcode
    coded = {name: choice(problems, name, getattr(new, name), codes, required=False)
             for name, codes in CODED.items()}
    flags = {name: choice(problems, name, getattr(new, name), YES_NO, required=False) for name in FLAGS}
    account = text_value(problems, "account", new.account, MAX_ACCOUNT)
    perpetrator = text_value(problems, "perpetrator_identity", new.perpetrator_identity, MAX_PERPETRATOR)
    if problems:
        raise CaseInvalid(problems)
    assert kind and month and reported
    coded["survivor_age_group"] = coded["survivor_age_group"] or case.age_group
    coded["survivor_sex"] = coded["survivor_sex"] or case.sex
    key = key_for(session, case)
    incident = GbvIncident(case_id=case.id, incident_type=kind, incident_date=when, incident_month=month,
                           report_date=reported, area_pcode=area, created_at=utcnow(), created_by=actor.user_id,
                           account_sealed=key.seal("account_sealed", account),
                           perpetrator_sealed=key.seal("perpetrator_sealed", perpetrator), **coded,
                           **{name: None if v in (None, "unknown") else v == "yes" for name, v in flags.items()})
    session.add(incident)
    session.flush()
    audit.record(session, actor, "protection.incident.record", ENTITY, case.id,
                 {"code": case.code, "incident_id": incident.id, "incident_type": kind,
                  "incident_month": month.isoformat()[:7]})
    changes.bump(session, "protection")
    return incident


@dataclass(frozen=True)
class IncidentView:
    incident: GbvIncident
    account: str | None
    perpetrator_identity: str | None


def incidents(session: Session, case: ProtectionCase) -> list[IncidentView]:
    """The case's incidents, sealed fields opened (for whoever may see the case)."""
    key = opened_key(session, case)
    rows = session.scalars(sa.select(GbvIncident).where(GbvIncident.case_id == case.id)
                           .order_by(GbvIncident.incident_month, GbvIncident.id))
    return [IncidentView(i, open_text(key, "account_sealed", i.account_sealed),
                         open_text(key, "perpetrator_sealed", i.perpetrator_sealed)) for i in rows]
