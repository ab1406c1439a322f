"""The demo's protection work: AMSS's GBV and protection caseworkers in Bamako and Mopti, a
service directory (the referral pathway), referrals to NRC's legal aid, family tracing requests
and protection monitoring reports — all fictional, made through the services as people would.

AMSS's caseworkers (cw.amss, cw2.amss) open cases supervised by sup.amss from June to November
2013: most are GBV cases with the GBVIMS incident recorded, the survivor's consents (services,
reporting for most, a referral to NRC for some) and case work; some are closed with the
supervisor's approval, one waits for it. NRC's caseworker (cw.nrc) has answered some referrals.
Names are made up from the demo's name lists; every sealed field is sealed like a real one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.accounts.models import Organisation
from jatigi.core.authz import SYSTEM, Actor
from jatigi.demo import names
from jatigi.protection import case_work, cases, incidents, monitoring, referrals, services, tracing, vocab
from jatigi.protection.models import ProtectionCase

ORG, RECEIVER = "AMSS", "NRC"
CASEWORKERS, SUPERVISOR, RECEIVING = ("cw.amss", "cw2.amss"), "sup.amss", "cw.nrc"
START = date(2013, 6, 3)
END = date(2013, 11, 25)

BAMAKO_COMMUNES = ("ML090101", "ML090102", "ML090103", "ML090104", "ML090105", "ML090106")
MOPTI_COMMUNES = ("ML050109", "ML050606")

# (name, type, organisation or "", provider, area, address, phone, hours, notes)
SERVICES = (
    ("Centre de santé de référence de la Commune IV — prise en charge clinique du viol", "medical", "",
     "CSRéf Commune IV", "ML090104", "Lafiabougou, près du marché", "+223 20 22 00 01", "24 h sur 24",
     "Kits PEP ; personnel féminin ; gratuit pour les survivantes"),
    ("Centre de santé de référence de la Commune V", "medical", "", "CSRéf Commune V", "ML090105",
     "Quartier Mali", "+223 20 28 00 02", "24 h sur 24", "Kits PEP"),
    ("Hôpital de Sévaré — unité de prise en charge", "medical", "", "Hôpital Sominé Dolo", "ML0501",
     "Sévaré, route de Mopti", "+223 21 42 00 03", "24 h sur 24", "Chirurgie ; PEP"),
    ("Écoute et soutien psychosocial — espace femmes", "psychosocial", "", "Espace sûr de Banconi",
     "ML090101", "Banconi, rue 300", "+223 76 00 00 04", "Lundi–samedi, 8 h–17 h",
     "Bambara, peul, songhaï ; animatrices"),
    ("Soutien psychosocial — Mopti", "psychosocial", "", "Espace sûr de Mopti", "ML050109", "Quartier Komoguel",
     "+223 76 00 00 05", "Lundi–vendredi, 8 h–16 h", "Groupes de parole"),
    ("Aide juridique et documents civils (ICLA)", "legal", "NRC", "NRC — ICLA Bamako", "ML0901",
     "Hamdallaye ACI 2000", "+223 20 29 00 06", "Lundi–vendredi, 8 h–16 h 30",
     "Conseil, médiation locative, accompagnement en justice"),
    ("Aide juridique (ICLA) — Mopti", "legal", "NRC", "NRC — ICLA Mopti", "ML0501", "Sévaré, quartier Poudrière",
     "+223 21 42 00 07", "Lundi–vendredi, 8 h–16 h", "Documents civils, logement, terre"),
    ("Maison d'accueil temporaire", "safe_shelter", "", "Maison d'accueil (adresse communiquée par téléphone)",
     "ML0901", "", "+223 76 00 00 08", "Sur appel, 24 h sur 24", "Femmes et enfants ; 10 places"),
    ("Activités génératrices de revenus pour femmes", "livelihoods", "", "Coopérative Benkadi", "ML090106",
     "Niamakoro", "+223 76 00 00 09", "Mardi et jeudi", "Formation, petit capital"),
    ("Réinscription scolaire et fournitures", "education", "", "Académie d'enseignement Rive droite",
     "ML090105", "Kalaban Coura", "+223 20 28 00 10", "Lundi–vendredi", "Classes passerelles"),
    ("Recherche familiale et réunification", "tracing", "", "Croix-Rouge malienne", "ML09", "Quartier du Fleuve",
     "+223 20 22 00 11", "Lundi–vendredi, 8 h–16 h", "Messages Croix-Rouge"),
    ("Brigade des mœurs — plainte et protection", "security", "", "Commissariat du 4e arrondissement",
     "ML090104", "Lafiabougou", "+223 20 22 00 12", "24 h sur 24", "Demander l'agente de permanence"),
)

GBV_WEIGHTS = (("physical_assault", 26), ("rape", 18), ("denial_of_resources", 17), ("psychological_abuse", 16),
               ("sexual_assault", 13), ("forced_marriage", 10))
TYPE_WEIGHTS = (("gbv", 70), ("child_protection", 14), ("general", 10), ("tracing", 6))
MONITORING_WEIGHTS = (("forced_eviction", 16), ("extortion_theft", 13), ("family_separation", 11),
                      ("survival_sex", 9), ("early_marriage", 9), ("denial_of_documents", 10), ("forced_return", 8),
                      ("denial_of_services", 8), ("child_labour", 7), ("arbitrary_arrest", 5), ("gbv_rape", 4))
SUMMARIES = (
    "Agressée en rentrant du marché ; demande un suivi médical et ne veut pas que son mari soit appelé.",
    "Le propriétaire menace d'expulser la famille et exige des faveurs ; la survivante a peur.",
    "Mariage arrangé pour une fille de 15 ans contre une dette du loyer ; la mère cherche de l'aide.",
    "Violences du conjoint depuis l'arrivée à Bamako ; trois enfants à charge.",
    "Privée de l'argent du transfert par la famille d'accueil.",
    "Enfant séparé de ses parents pendant la fuite de Gao ; hébergé par un voisin.",
    "Insultes et menaces répétées dans la concession ; demande d'écoute.",
)


@dataclass
class ProtectionResult:
    cases: int = 0
    closed: int = 0
    referrals: int = 0
    services: int = 0
    tracing: int = 0
    reports: int = 0


def _actor(session: Session, username: str) -> Actor:
    return accounts.actor_for(session=session, user=accounts.user_by_name(session=session, username=username))


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([code for code, _w in weighted], [w for _c, w in weighted])[0]


def _day(rng: random.Random, start: date = START, end: date = END) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _services(session: Session) -> int:
    # The directory is kept by the coordination (an administrator of organisations): it lists other
    # organisations' services, which only they or an administrator may add in their name.
    for name, kind, org, provider, area, address, phone, hours, notes in SERVICES:
        services.add_service(session=session, actor=SYSTEM, data=services.ServiceIn.of(
            {"name": name, "service_type": kind, "organisation": org, "provider_name": provider, "area_pcode": area,
             "address": address, "phone": phone, "opening_hours": hours, "notes": notes}))
    return len(SERVICES)


def _incident(rng: random.Random, opened: date, case_sex: str) -> incidents.NewIncident:
    happened = max(START - timedelta(days=60), opened - timedelta(days=rng.randrange(0, 40)))
    intimate = rng.random() < 0.45
    return incidents.NewIncident(
        incident_type=_pick(rng, GBV_WEIGHTS), incident_date=happened, report_date=opened,
        place_type=rng.choice(("home_survivor", "host_home", "street", "market", "water_point", "field_bush")),
        time_of_day=rng.choice(("morning", "afternoon", "evening_night", "evening_night")),
        displacement_at_incident=rng.choice(("during_displacement", "during_displacement", "during_flight")),
        displacement_at_report="idp", marital_status=rng.choice(("married", "single", "widowed", "divorced")),
        disability=rng.choice(("no", "no", "no", "yes")), unaccompanied_or_separated="no",
        previous_incidents=rng.choice(("yes", "no", "no")), perpetrator_count=rng.choice(("1", "1", "2", "unknown")),
        perpetrator_sex="m", perpetrator_age_group=rng.choice(("18-25", "26-40", "41-60")),
        perpetrator_relationship="intimate_partner" if intimate else rng.choice(
            ("host_family", "landlord", "stranger", "community", "armed_actor")),
        perpetrator_occupation=rng.choice(("trader", "none", "farmer_herder", "unknown")),
        referred_by=rng.choice(("self", "health", "community", "family", "humanitarian")),
        account=rng.choice(SUMMARIES), perpetrator_identity="Homme du quartier, nom connu de la survivante (fictif)")


def _one_case(session: Session, rng: random.Random, caseworker: Actor, supervisor: Actor, receiver: Actor,
              i: int, result: ProtectionResult) -> None:
    case_type = _pick(rng, TYPE_WEIGHTS)
    child = case_type in ("child_protection", "tracing") or rng.random() < 0.12
    sex = "f" if case_type == "gbv" and rng.random() < 0.93 else rng.choice(("f", "m"))
    group = rng.choice((names.BAMBARA, names.SONGHAI, names.PEUL, names.TAMASHEQ, names.SONINKE))
    opened = _day(rng)
    area = rng.choice(BAMAKO_COMMUNES) if rng.random() < 0.75 else rng.choice(MOPTI_COMMUNES)
    may_call = rng.random() < 0.4
    case = cases.open_case(session, caseworker, cases.NewCase(
        case_type=case_type, sex=sex, summary=rng.choice(SUMMARIES), area_pcode=area,
        given_name=names.given_name(rng, group, sex), family_name=names.family_name(rng, group),
        age=str(rng.randint(9, 17) if child else rng.randint(18, 55)), phone=f"+223 7{rng.randint(0, 9)} "
        f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        address="Chez une famille d'accueil, " + rng.choice(("Banconi", "Niamakoro", "Sévaré", "Kalaban Coura")),
        may_call="yes" if may_call else "no", call_when="Le matin, avant 9 h" if may_call else "",
        ask_for="Tantie Awa" if may_call else "", risk_level=rng.choice(("low", "medium", "medium", "high", "critical")),
        opened_on=opened), today=opened)
    result.cases += 1
    code = case.code
    given_on = opened
    giver = "caregiver" if child else "survivor"
    basis = "best_interest" if child else "consent"
    case_work.give_consent(session, caseworker, code, purpose="services", lawful_basis=basis, given_by=giver,
                           given_on=given_on)
    if rng.random() < 0.85:
        case_work.give_consent(session, caseworker, code, purpose="reporting", lawful_basis=basis, given_by=giver,
                               given_on=given_on)
    if case_type == "gbv":
        incidents.record_incident(session, caseworker, code, _incident(rng, opened, sex), today=opened)
    case_work.change_stage(session, caseworker, code, "assessment")
    case_work.add_entry(session, caseworker, code, "assessment",
                        "Besoins : soins médicaux, écoute, loyer ; la personne se sent en danger le soir.", today=opened)
    plan = case_work.add_entry(session, caseworker, code, "plan", "Accompagner au CSRéf et organiser l'écoute.",
                        service_type=rng.choice(("medical", "psychosocial", "legal")),
                        due_on=opened + timedelta(days=7), today=opened)
    case_work.change_stage(session, caseworker, code, "case_plan")
    if case_type in ("gbv", "general") and rng.random() < 0.3:
        case_work.give_consent(session, caseworker, code, purpose="referral", organisation=RECEIVER,
                               lawful_basis=basis, given_by=giver, given_on=given_on)
        referral = referrals.send_referral(session, caseworker, case, referrals.NewReferral(
            organisation=RECEIVER, service_type="legal", urgent=rng.random() < 0.2,
            note="Médiation avec le propriétaire ; appeler seulement le matin.", share_identity=rng.random() < 0.5))
        result.referrals += 1
        answer = rng.random()
        if answer < 0.5:
            referrals.accept_referral(session, receiver, referral.code, "Rendez-vous fixé au bureau de Hamdallaye.")
            if answer < 0.25:
                referrals.complete_referral(session, receiver, referral.code, "service_given",
                                            "Accord trouvé avec le propriétaire.")
        elif answer < 0.6:
            referrals.decline_referral(session, receiver, referral.code,
                                       "Hors de notre zone ; orienter vers l'antenne de Mopti.")
    if opened < date(2013, 9, 15) and rng.random() < 0.55:
        case_work.complete_entry(session, caseworker, code, plan.id, today=opened + timedelta(days=6))
        case_work.change_stage(session, caseworker, code, "follow_up")
        # a referral still waiting for its answer stays listed; the caseworker closes anyway
        case_work.request_closure(session, caseworker, code, rng.choice(("goals_met", "goals_met", "moved",
                                                                          "survivor_request")),
                                  confirm_open_items=True)
        if i % 7:
            case_work.approve_closure(session, supervisor, code, "Objectifs atteints, suivi terminé.",
                                      today=opened + timedelta(days=60))
            result.closed += 1


def _tracing(session: Session, rng: random.Random, caseworker: Actor) -> int:
    # A mother seeks her son lost near Gao; elsewhere, a boy seeks his mother: the two requests match.
    pairs = (
        ("Moussa", "Maïga", "m", "2001", "Aïssata", "Maïga", "f", "child", "ML090101"),
        ("Aissata", "Maiga", "f", "1978", "Mousa", "Maiga", "m", "parent", "ML050109"),
        ("Fatoumata", "Touré", "f", "2004", "Hamidou", "Touré", "m", "child", "ML090106"),
    )
    for given, family, sex, year, inq_given, inq_family, inq_sex, relationship, area in pairs:
        tracing.create_request(session, caseworker, tracing.NewRequest(
            sought_given_name=given, sought_family_name=family, sought_sex=sex, sought_birth_year=year,
            last_seen_place="Gare routière de Gao", last_seen_on="2012-04-02", last_seen_pcode=area,
            relationship=relationship, separated_on="2012-04-02", inquirer_given_name=inq_given,
            inquirer_family_name=inq_family, inquirer_sex=inq_sex, inquirer_contact="Par le bureau AMSS",
            inquirer_consented=True))
    return len(pairs)


def _monitoring(session: Session, rng: random.Random, monitor: Actor, n: int) -> int:
    for _i in range(n):
        month = _day(rng).replace(day=1)
        area = rng.choice(BAMAKO_COMMUNES) if rng.random() < 0.7 else rng.choice(MOPTI_COMMUNES)
        people = rng.randint(1, 25)
        monitoring.record(session, monitor, monitoring.NewReport(
            reported_on=month + timedelta(days=rng.randrange(0, 25)), incident_month=month.strftime("%Y-%m"),
            area=area, incident_type=_pick(rng, MONITORING_WEIGHTS), population_group=rng.choice(("idp", "idp", "host")),
            people_affected=people, women_and_girls=rng.randint(0, people), children=rng.randint(0, people),
            source=rng.choice(tuple(vocab.MONITORING_SOURCES)),
            description="Rapporté par un informateur clé ; pas de nom recueilli."), today=END)
    return n


def build_protection(*, session: Session, seed: int = 2013, cases_count: int = 140) -> ProtectionResult:
    """Build the demo's protection work (see the module docstring)."""
    rng = random.Random(seed)
    result = ProtectionResult()
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.acronym == ORG))
    if session.scalar(sa.select(ProtectionCase.id).where(ProtectionCase.org_id == org_id).limit(1)) is not None:
        return result  # built before: the demo's cases are kept as they are (and as people changed them)
    workers = [_actor(session, name) for name in CASEWORKERS]
    supervisor, receiver = _actor(session, SUPERVISOR), _actor(session, RECEIVING)
    result.services = _services(session)
    for i in range(cases_count):
        _one_case(session, rng, workers[i % 2], supervisor, receiver, i, result)
    _total, first = cases.list_cases(session, workers[0], limit=1)
    if first:
        case_work.share(session, supervisor, first[0].case.code, CASEWORKERS[1],
                        "Remplacement pendant le congé de la gestionnaire.")
    result.tracing = _tracing(session, rng, workers[0])
    result.reports = _monitoring(session, rng, workers[1], 90)
    return result
