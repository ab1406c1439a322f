"""Purging a household that was scored, enrolled, paid, monitored and complained about: the person
goes, the money's records stay (amount, state, reference) without them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.models import Complaint, Cycle, Enrolment, Payment, PdmResponse, Programme
from jatigi.core.authz import SYSTEM
from jatigi.registry import service as registry
from jatigi.registry.models import Household, Person
from jatigi.targeting import store
from jatigi.targeting.runs import SCORES
from jatigi.targeting.tables import ModelVersion, Run
from tests import factories as f


def test_a_purged_household_leaves_its_payments_without_a_name(session: Session) -> None:
    f.places(session)
    f.org(session, "ONGA")
    f.user(session, "alice", "ONGA")
    alice = f.actor(session, "alice")
    code = f.household(session, alice)
    hh = session.scalars(sa.select(Household).where(Household.code == code)).one()
    head = session.scalars(sa.select(Person).where(Person.household_id == hh.id, Person.line_no == 1)).one()
    store.ensure_shipped(session)
    model = session.scalars(sa.select(ModelVersion).where(ModelVersion.name == "economic")).one()
    run = Run(model_id=model.id, org_id=alice.org_id, scope={}, data_as_of=datetime(2013, 10, 1), run_by_name="alice",
              started_at=datetime(2013, 10, 1))
    session.add(run)
    session.flush()
    session.execute(sa.insert(SCORES).values(run_id=run.id, household_id=hh.id, household_version=1, score=50,
                                             category="high", excluded=False, not_assessed=0))
    programme = Programme(code="PRG-0001", org_id=hh.org_id, name="Cash", sector="multipurpose",
                          modality="mobile_money", start_month=date(2013, 10, 1), planned_months=3, formula="",
                          state="active")
    session.add(programme)
    session.flush()
    cycle = Cycle(programme_id=programme.id, number=1, period_start=date(2013, 10, 1),
                  period_end=date(2013, 10, 31), state="reconciled")
    session.add_all([cycle, Enrolment(programme_id=programme.id, household_id=hh.id, source="list")])
    session.flush()
    payment = Payment(cycle_id=cycle.id, programme_id=programme.id, household_id=hh.id, reference="PRG-0001-01-X",
                      state="paid", amount=40_000, amount_paid=40_000, recipient_person_id=head.id)
    session.add(payment)
    session.flush()
    session.add_all([
        PdmResponse(org_id=hh.org_id, cycle_id=cycle.id, payment_id=payment.id, household_id=hh.id,
                    surveyed_on=date(2013, 10, 20), received=True),
        Complaint(code="CMP-000001", org_id=hh.org_id, programme_id=programme.id, household_id=hh.id,
                  payment_id=payment.id, channel="hotline", category="late", priority="medium",
                  received_on=date(2013, 10, 12), respond_by=date(2013, 10, 19), description_sealed="x")])
    session.flush()

    registry.delete_household(session=session, actor=alice, code=code, reason="Doublon confirmé")
    assert registry.purge_expired(session=session, actor=SYSTEM, today=date.today() + timedelta(days=4000)) == 1

    assert session.get(Household, hh.id) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(SCORES).where(SCORES.c.household_id == hh.id)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    session.expire_all()
    kept = session.scalars(sa.select(Payment)).one()
    assert (kept.reference, kept.state, kept.amount_paid) == ("PRG-0001-01-X", "paid", 40_000)
    assert kept.household_id is None and kept.recipient_person_id is None
    assert session.scalars(sa.select(PdmResponse.household_id)).one() is None
    assert session.scalars(sa.select(Complaint.household_id)).one() is None
