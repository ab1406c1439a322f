"""The demo's cash assistance: one programme of UNHCR's in Bamako with three monthly cycles in
different states, its payments, a reconciliation, monitoring interviews and complaints.

Everything goes through the services, as people would do it: UNHCR's information officer scores
the registry with the economic model; a cash officer creates the programme, enrols the households
the budget reaches, and prepares each month; a second cash officer approves (four eyes). October is
paid and reconciled from a made-up operator report (most paid, some failed, a few unclaimed) and
monitored; November, with October's failed and unclaimed payments re-issued, is sent to the
operator; December is prepared and waits for approval. Complaints arrive by the hotline, the help desk and community
meetings; one reveals abuse and goes to the protection focal point alone.
"""

from __future__ import annotations

import csv
import random
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.assistance import complaints, cycles, enrolment, payment_files, pdm, programmes, reconcile
from jatigi.assistance.formula import shipped_formulas
from jatigi.assistance.models import Cycle, Payment
from jatigi.core.authz import Actor
from jatigi.targeting import runs
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.scope import Scope
from jatigi.targeting.simulate import Budget

ORG = "UNHCR"
SCORER, PREPARER, APPROVER = "im.unhcr", "cash.unhcr", "finance.unhcr"
BAMAKO = "ML09"
# The demo's MEB and survival MEB per person per month (FCFA), as `make demo` scores with.
PARAMS = IndicatorParams(meb_per_person=25_000, smeb_per_person=17_500)
TRANSFER, MONTHS = 50_000, 6


@dataclass
class AssistanceResult:
    programme: str = ""
    enrolled: int = 0
    cycles: int = 0
    paid: int = 0
    complaints: int = 0
    interviews: int = 0


def _actor(session: Session, username: str) -> Actor:
    return accounts.actor_for(session=session, user=accounts.user_by_name(session=session, username=username))


def build_assistance(*, session: Session, households: int, seed: int = 2013) -> AssistanceResult:
    """Build the demo programme; its budget reaches about one household in ten of the registry."""
    rng = random.Random(seed)
    scorer, preparer, approver = (_actor(session, name) for name in (SCORER, PREPARER, APPROVER))
    loaded = runs.model_by_name(session, scorer, "economic")
    run = runs.score(session=session, actor=scorer, loaded=loaded, scope=Scope(scorer, place=BAMAKO), params=PARAMS)
    formula = shipped_formulas()["household_size"].read_text(encoding="utf-8")
    programme = programmes.create_programme(
        session=session, actor=preparer, name="Transferts monétaires à usages multiples — Bamako",
        sector="multipurpose", modality="mobile_money", start_month="2013-10", planned_months=MONTHS,
        formula=formula, donor="ECHO", area_pcode=BAMAKO, provider="orange_money",
        objective="Couvrir les besoins essentiels (loyer, alimentation, santé, école) des ménages les plus "
                  "vulnérables de Bamako, déplacés ou hôtes, pendant six mois.")
    budget = Budget(max(households // 10, 20) * TRANSFER * MONTHS, TRANSFER, MONTHS)
    enrolled = enrolment.enrol_from_run(session=session, actor=preparer, ref=programme.code, run_id=run.id,
                                        budget=budget)
    programmes.activate(session=session, actor=preparer, ref=programme.code)
    result = AssistanceResult(programme.code, enrolled.enrolled)
    if not enrolled.enrolled:
        return result
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        october = _approved_cycle(session, preparer, approver, programme.code)
        payment_files.export_cycle(session, preparer, cycle_id=october.id, provider_name="orange_money",
                                   out=folder / "october.csv")
        report = _operator_report(session, october.id, folder / "october-report.csv", rng)
        reconcile.reconcile(session, preparer, cycle_id=october.id, path=report)
        result.interviews = _monitoring(session, preparer, october.id, folder / "pdm.csv", rng)
        november = _approved_cycle(session, preparer, approver, programme.code)
        payment_files.export_cycle(session, preparer, cycle_id=november.id, provider_name="orange_money",
                                   out=folder / "november.csv")
        december = cycles.create_cycle(session=session, actor=preparer, ref=programme.code)
        cycles.prepare(session=session, actor=preparer, ref=december.id)
    result.cycles = 3
    result.paid = session.scalar(sa.select(sa.func.count()).select_from(Payment)
                                 .where(Payment.cycle_id == october.id, Payment.state == "paid")) or 0
    result.complaints = _complaints(session, preparer, programme.code, october.id, rng)
    return result


def _approved_cycle(session: Session, preparer: Actor, approver: Actor, code: str) -> Cycle:
    cycle = cycles.create_cycle(session=session, actor=preparer, ref=code)
    cycles.prepare(session=session, actor=preparer, ref=cycle.id)
    return cycles.approve(session=session, actor=approver, ref=cycle.id)


def _operator_report(session: Session, cycle_id: int, path: Path, rng: random.Random) -> Path:
    """The operator's report: 92 % paid, 5 % failed (a number no longer in service), 3 % unclaimed."""
    rows = session.execute(sa.select(Payment.reference, Payment.amount)
                           .where(Payment.cycle_id == cycle_id, Payment.state == "sent")
                           .order_by(Payment.id)).all()
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Reference", "Status", "Amount Paid", "Currency", "Date", "Transaction ID"])
        for i, (reference, amount) in enumerate(rows):
            draw = rng.random()
            status = "SUCCESS" if draw < 0.92 else "FAILED" if draw < 0.97 else "EXPIRED"
            paid = amount if status == "SUCCESS" else 0
            day = date(2013, 10, 7) + timedelta(days=rng.randrange(0, 10))
            out.writerow([reference, status, paid, "XOF", day.isoformat(), f"OM{13100000 + i}"])
    return path


def _monitoring(session: Session, actor: Actor, cycle_id: int, path: Path, rng: random.Random) -> int:
    """Post-distribution interviews of one paid household in twenty (at least five)."""
    paid = session.execute(sa.select(Payment.reference, Payment.amount)
                           .where(Payment.cycle_id == cycle_id, Payment.state == "paid").order_by(Payment.id)).all()
    count = max(len(paid) // 20, min(5, len(paid)))
    sample = paid[:: max(len(paid) // count, 1)][:count] if paid else []
    spending = ["food", "rent", "health", "education", "debt", "hygiene", "transport"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["_uuid", "payment_reference", "surveyed_on", "enumerator", "received", "full_amount",
                      "amount_received", "on_time", "spent_on", "felt_safe", "paid_to_get", "satisfied"])
        for i, (reference, amount) in enumerate(sample):
            full = rng.random() < 0.93
            out.writerow([f"demo-pdm-{cycle_id}-{i}", reference, (date(2013, 10, 21) + timedelta(days=i % 8)).isoformat(),
                          "Mariam Keïta", "yes", "yes" if full else "no", amount if full else amount - 5_000,
                          "yes" if rng.random() < 0.85 else "no", " ".join(rng.sample(spending, 3)),
                          "yes" if rng.random() < 0.95 else "no", "yes" if rng.random() < 0.03 else "no",
                          "yes" if rng.random() < 0.8 else "no"])
    if not sample:
        return 0
    return pdm.import_file(session=session, actor=actor, cycle=cycle_id, path=path).added


COMPLAINTS = (
    ("hotline", "not_received", "high", "Le bénéficiaire dit n'avoir reçu aucun SMS de paiement pour octobre."),
    ("help_desk", "selection", "medium", "Une famille hôte de Niamakoro demande pourquoi elle n'a pas été retenue."),
    ("community_meeting", "information", "low", "Les femmes du quartier demandent quand arrive le paiement de novembre."),
    ("sms", "wrong_amount", "medium", "Montant reçu inférieur de 5 000 FCFA à celui annoncé."),
    ("help_desk", "registration_data", "low", "Le numéro de téléphone du chef de ménage a changé."),
    ("hotline", "provider_service", "medium", "L'agent Orange Money de Sabalibougou demande des frais de retrait."),
    ("community_meeting", "thanks", "low", "Remerciements du comité de quartier de Banconi."),
    ("hotline", "sexual_exploitation", "high",
     "Une femme rapporte qu'un agent de distribution lui a demandé une faveur en échange de son inscription."),
)


def _complaints(session: Session, actor: Actor, programme: str, cycle_id: int, rng: random.Random) -> int:
    references = list(session.scalars(sa.select(Payment.reference).where(Payment.cycle_id == cycle_id)
                                      .order_by(Payment.id).limit(50)))
    n = 0
    for i, (channel, category, priority, text) in enumerate(COMPLAINTS):
        about = references[i] if references and category in ("not_received", "wrong_amount") else ""
        complaints.record(session, actor, complaints.NewComplaint(
            channel=channel, category=category, priority=priority, received_on=date(2013, 10, 10 + 2 * i),
            description=text, name=f"Plaignant fictif {i + 1}", contact="Par le comité de quartier",
            programme=programme, payment=about), today=date(2013, 10, 10 + 2 * i))
        n += 1
    return n
