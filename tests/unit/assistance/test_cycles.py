"""Cycles: each hold reason, the recipient, duplicates paid once, phones, four eyes, preparing twice,
preparing again after a rejection (of a prepared or an approved cycle), a failure in the middle of
preparing, re-issuing a failed payment exactly once, and closing a reconciled cycle."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import cycles, enrolment, holds, programmes, states
from jatigi.assistance.models import Cycle, Payment, Programme, Transition
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.crypto import keyring
from jatigi.core.db import session_scope, utcnow
from jatigi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jatigi.dedup.models import CONFIRMED, MERGED, PENDING, REJECTED, UNMERGED, CandidatePair
from jatigi.registry import service as registry
from jatigi.registry.models import Household, Person
from jatigi.registry.records import PersonRecord
from tests import factories as f
from tests.unit.assistance import programme_data as d

BAMAKO = "ML09"


def head_of(session: Session, code: str) -> Person:
    return session.scalars(sa.select(Person).join(Household, Household.id == Person.household_id)
                           .where(Household.code == code, Person.relationship == "head")).one()


def pair(session: Session, a: str, b: str, status: str = PENDING) -> None:
    first, second = sorted([head_of(session, a), head_of(session, b)], key=lambda p: p.id)
    session.add(CandidatePair(person_a_id=first.id, person_b_id=second.id, household_a_id=first.household_id,
                              household_b_id=second.household_id, kind="registry", match_probability=0.97,
                              match_weight=9.0, band="high", status=status))


def paid_elsewhere(session: Session, code: str, *, sector: str = "multipurpose", start: date = date(2024, 12, 15),
                   end: date = date(2025, 1, 14), state: str = "sent") -> None:
    """A payment to the household in a programme of ONGB (which may not even see it)."""
    org = session.scalar(sa.text("SELECT id FROM organisations WHERE acronym = 'ONGB'"))
    number = session.scalar(sa.select(sa.func.count()).select_from(Programme)) + 1
    prog = Programme(code=f"PRG-9{number:03d}", org_id=org, name="Other", sector=sector, modality="cash_in_hand",
                     start_month=start.replace(day=1), planned_months=2, formula="", state="active")
    session.add(prog)
    session.flush()
    cycle = Cycle(programme_id=prog.id, number=1, period_start=start, period_end=end, state="sent")
    session.add(cycle)
    session.flush()
    session.add(Payment(cycle_id=cycle.id, programme_id=prog.id, household_id=d.household_id(session, code),
                        reference=f"{prog.code}-1-{code}", state=state, amount=10_000))
    session.flush()


@pytest.fixture
def world(session: Session) -> dict[str, str]:
    """A mobile-money programme for Bamako (ML09) enrolling one household per hold reason."""
    d.people(session)
    hh = {
        "due": d.household(session, "Awa", baby=True),
        "deleted": d.household(session, "Binta"),
        "departed": d.household(session, "Coumba"),
        "outside": d.household(session, "Djeneba", pcode=f.MOPTI_COMMUNE),
        "deceased": d.household(session, "Enna"),
        "duplicate": d.household(session, "Fanta"),
        "elsewhere": d.household(session, "Hawa"),
        "no_phone": d.household(session, "Inna", phone=None),
        "zero": d.household(session, "Kadi", rent=None),
        "exited": d.household(session, "Lala"),
        "departed_no_phone": d.household(session, "Mama", phone=None),
    }
    twin = d.household(session, "Fanta")  # not enrolled: the other half of the pair
    prog = d.programme(session, area=BAMAKO)
    carla = f.actor(session, d.CASH)
    for code in hh.values():
        enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=code)
    enrolment.exit_household(session=session, actor=carla, ref=prog.code, code=hh["exited"], reason="Parti")
    registry.delete_household(session=session, actor=f.actor(session, d.IM), code=hh["deleted"], reason="Doublon")
    for key in ("departed", "departed_no_phone"):
        session.get(Household, d.household_id(session, hh[key])).departed_on = date(2024, 12, 20)  # type: ignore[union-attr]
    head_of(session, hh["deceased"]).deceased_on = date(2024, 12, 1)
    pair(session, hh["duplicate"], twin)
    pair(session, hh["due"], twin, status=CONFIRMED)  # decided: no longer holds anyone
    paid_elsewhere(session, hh["elsewhere"])
    paid_elsewhere(session, hh["due"], start=date(2024, 12, 1), end=date(2024, 12, 31))  # another period
    paid_elsewhere(session, hh["due"], sector="food")  # another purpose
    paid_elsewhere(session, hh["due"], state="failed")  # never reached the household
    session.flush()
    return hh


def lines(session: Session, cycle: Cycle) -> dict[str, tuple[str, str | None, int]]:
    rows = session.execute(sa.select(Household.code, Payment.state, Payment.hold_reason, Payment.amount)
                           .join(Household, Household.id == Payment.household_id)
                           .where(Payment.cycle_id == cycle.id, Payment.reissue_of.is_(None))).all()
    return {code: (state, reason, amount) for code, state, reason, amount in rows}


def test_each_household_is_held_for_the_first_reason_that_applies(session: Session, world: dict[str, str]) -> None:
    carla = f.actor(session, d.CASH)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    assert (cycle.number, cycle.period_start, cycle.period_end) == (1, date(2025, 1, 1), date(2025, 1, 31))
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    found = lines(session, cycle)
    assert found == {
        world["due"]: ("due", None, 27_500),  # rent 25,000 + a baby 2,500
        world["deleted"]: ("held", "deleted", 25_000),
        world["departed"]: ("held", "moved_away", 25_000),
        world["outside"]: ("held", "moved_away", 25_000),
        world["deceased"]: ("held", "deceased", 25_000),
        world["duplicate"]: ("held", "possible_duplicate", 25_000),
        world["elsewhere"]: ("held", "assisted_elsewhere", 25_000),
        world["no_phone"]: ("held", "no_phone", 25_000),
        world["zero"]: ("held", "zero_amount", 0),
        world["departed_no_phone"]: ("held", "moved_away", 25_000),
    }
    assert cycle.state == "prepared" and cycle.total_due == 27_500
    assert cycle.counts == {"households": 10, "due": 1, "held_total": 9, "reissued": 0, "reissued_amount": 0,
                            "held": {"deleted": 1, "moved_away": 3, "deceased": 1, "possible_duplicate": 1,
                                     "assisted_elsewhere": 1, "no_phone": 1, "zero_amount": 1}}
    due = session.scalars(sa.select(Payment).where(Payment.cycle_id == cycle.id, Payment.state == "due")).one()
    assert due.reference == f"PRG-0001-1-{world['due']}"
    assert due.recipient_person_id == head_of(session, world["due"]).id
    view = cycles.read_cycle(session=session, actor=f.actor(session, d.APPROVER), ref="PRG-0001/1")
    assert view.prepared_by == d.CASH and view.payments == {"due": (1, 27_500), "held": (9, 200_000)}
    assert [(t.from_state, t.to_state) for t in view.transitions] == [(None, "draft"), ("draft", "prepared")]


def test_a_cash_in_hand_programme_needs_no_phone_and_an_area_is_optional(session: Session) -> None:
    d.people(session)
    code = d.household(session, "Inna", phone=None, pcode=f.MOPTI_COMMUNE)
    prog = d.programme(session, modality="cash_in_hand")
    carla = f.actor(session, d.CASH)
    enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=code)
    cycle = cycles.prepare(session=session, actor=carla,
                           ref=cycles.create_cycle(session=session, actor=carla, ref=prog.code).id)
    assert lines(session, cycle) == {code: ("due", None, 25_000)}


def test_four_eyes_then_locked(session: Session, world: dict[str, str]) -> None:
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    with pytest.raises(Conflict, match="This cycle is draft and cannot become approved"):
        cycles.approve(session=session, actor=cindy, ref=cycle.id)
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    with pytest.raises(Forbidden) as refused:
        cycles.approve(session=session, actor=carla, ref=cycle.id)
    assert refused.value.message == "You prepared cycle 1 of PRG-0001: another person must approve it (four eyes)."
    with pytest.raises(Forbidden, match="named person"):
        cycles.approve(session=session, actor=SYSTEM, ref=cycle.id)
    with pytest.raises(Forbidden):
        cycles.approve(session=session, actor=f.actor(session, d.IM), ref=cycle.id)
    cycles.approve(session=session, actor=cindy, ref=cycle.id)
    assert cycle.state == "approved" and cycle.approved_by == cindy.user_id
    with pytest.raises(Conflict) as again:
        cycles.prepare(session=session, actor=cindy, ref=cycle.id)
    assert again.value.message.startswith("Cycle 1 of PRG-0001 is already approved (prepared by carla on ")
    cycle.state = "sent"  # what the first export does
    with pytest.raises(Conflict, match="This cycle is sent to the provider and cannot become rejected"):
        cycles.reject(session=session, actor=cindy, ref=cycle.id, reason="Trop tard")


def test_the_system_account_does_not_prepare_a_cycle(session: Session, world: dict[str, str]) -> None:
    cycle = cycles.create_cycle(session=session, actor=f.actor(session, d.CASH), ref="PRG-0001")
    with pytest.raises(Forbidden) as refused:
        cycles.prepare(session=session, actor=SYSTEM, ref=cycle.id)
    assert refused.value.message == ("A cycle is prepared by a named person, not by the system account (another "
                                     "person then approves it): say who prepares it with --as USER or JATIGI_USER.")
    assert cycle.state == "draft" and cycle.prepared_by is None
    assert session.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == cycle.id)) == 0


def test_an_approved_cycle_not_yet_sent_is_sent_back_by_another_person(session: Session,
                                                                      world: dict[str, str]) -> None:
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    cycles.approve(session=session, actor=cindy, ref=cycle.id)
    with pytest.raises(Forbidden) as refused:
        cycles.reject(session=session, actor=carla, ref=cycle.id, reason="Je me suis trompée")
    assert refused.value.message == ("You prepared cycle 1 of PRG-0001: another person must send it back once "
                                     "approved (four eyes).")
    with pytest.raises(Forbidden, match="named person"):
        cycles.reject(session=session, actor=SYSTEM, ref=cycle.id, reason="Erreur")
    with pytest.raises(ValidationFailed, match="Say why the cycle is rejected"):
        cycles.reject(session=session, actor=cindy, ref=cycle.id, reason="")
    assert cycle.state == "approved"
    cycles.reject(session=session, actor=cindy, ref=cycle.id, reason="Le décès d'Enna n'est pas confirmé")
    assert (cycle.state, cycle.approved_by, cycle.approved_at) == ("rejected", None, None)
    # Prepared again from the registry as it is then, and approved again by another person.
    head_of(session, world["deceased"]).deceased_on = None
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    assert lines(session, cycle)[world["deceased"]] == ("due", None, 25_000)
    assert session.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == cycle.id)) == 10
    cycles.approve(session=session, actor=cindy, ref=cycle.id)
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.reason)
                            .where(Transition.entity == "cycle", Transition.entity_id == cycle.id)
                            .order_by(Transition.id)).all()
    assert [tuple(m) for m in moves][2:] == [("prepared", "approved", None),
                                             ("approved", "rejected", "Le décès d'Enna n'est pas confirmé"),
                                             ("rejected", "prepared", None), ("prepared", "approved", None)]


def test_a_prepared_cycle_cannot_be_prepared_again(session: Session, world: dict[str, str]) -> None:
    carla = f.actor(session, d.CASH)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    with pytest.raises(Conflict) as refused:
        cycles.prepare(session=session, actor=carla, ref=cycle.id)
    assert "is already prepared (prepared by carla on" in refused.value.message
    assert "it cannot be prepared again" in refused.value.message
    assert session.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == cycle.id)) == 10


def test_a_rejected_cycle_is_prepared_again_from_the_enrolment_as_it_is_then(session: Session,
                                                                             world: dict[str, str]) -> None:
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    cycles.prepare(session=session, actor=carla, ref=cycle.id)
    with pytest.raises(ValidationFailed, match="Say why the cycle is rejected"):
        cycles.reject(session=session, actor=cindy, ref=cycle.id, reason=" ")
    cycles.reject(session=session, actor=cindy, ref=cycle.id, reason="Vérifier les décès")
    assert cycle.state == "rejected"
    enrolment.exit_household(session=session, actor=carla, ref="PRG-0001", code=world["deceased"], reason="Décès")
    session.get(Household, d.household_id(session, world["departed"])).departed_on = None  # type: ignore[union-attr]
    cycles.prepare(session=session, actor=cindy, ref=cycle.id)  # cindy prepares; carla may now approve
    found = lines(session, cycle)
    assert world["deceased"] not in found and found[world["departed"]] == ("due", None, 25_000)
    assert cycle.counts["households"] == 9 and cycle.counts["due"] == 2 and cycle.total_due == 52_500
    cycles.approve(session=session, actor=carla, ref=cycle.id)
    states = session.execute(sa.select(Transition.from_state, Transition.to_state, Transition.reason)
                             .where(Transition.entity == "cycle", Transition.entity_id == cycle.id)
                             .order_by(Transition.id)).all()
    assert [tuple(s) for s in states] == [(None, "draft", None), ("draft", "prepared", None),
                                          ("prepared", "rejected", "Vérifier les décès"),
                                          ("rejected", "prepared", None), ("prepared", "approved", None)]


def test_another_organisation_sees_no_cycle(session: Session, world: dict[str, str]) -> None:
    carla, bert = f.actor(session, d.CASH), f.actor(session, d.OTHER)
    cycle = cycles.create_cycle(session=session, actor=carla, ref="PRG-0001")
    for act in (cycles.prepare, cycles.read_cycle):
        with pytest.raises(NotFound, match=f"No cycle {cycle.id} that you may see"):
            act(session=session, actor=bert, ref=cycle.id)
    with pytest.raises(NotFound):
        cycles.create_cycle(session=session, actor=bert, ref="PRG-0001")


def test_cycles_follow_the_months_and_stop_at_the_planned_duration(session: Session) -> None:
    d.people(session)
    carla = f.actor(session, d.CASH)
    draft = d.programme(session, activate=False, months=2)
    with pytest.raises(Conflict, match="cycles are created for an active programme"):
        cycles.create_cycle(session=session, actor=carla, ref=draft.code)
    programmes.activate(session=session, actor=carla, ref=draft.code)
    first = cycles.create_cycle(session=session, actor=carla, ref=draft.code)
    second = cycles.create_cycle(session=session, actor=carla, ref=draft.code)
    assert (second.number, second.period_start, second.period_end) == (2, date(2025, 2, 1), date(2025, 2, 28))
    with pytest.raises(Conflict) as beyond:
        cycles.create_cycle(session=session, actor=carla, ref=draft.code)
    assert beyond.value.message == ("Programme PRG-0001 plans 2 months, from 2025-01 to 2025-02, and has its 2 "
                                    "cycles: a cycle 3 would go beyond them.")
    cycles.cancel(session=session, actor=carla, ref=first.id, reason="Budget reporté")
    assert first.state == "cancelled"
    with pytest.raises(Conflict, match="This cycle is cancelled and cannot become prepared"):
        cycles.prepare(session=session, actor=carla, ref=first.id)


def test_a_failure_in_the_middle_of_preparing_leaves_nothing(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    with session_scope(engine) as s:
        d.people(s)
        code = d.household(s, "Awa")
        prog = d.programme(s)
        enrolment.enrol_household(session=s, actor=f.actor(s, d.CASH), ref=prog.code, code=code)
        cycle_id = cycles.create_cycle(session=s, actor=f.actor(s, d.CASH), ref=prog.code).id

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the machine stopped")

    monkeypatch.setattr(cycles, "_add_reissues", crash)  # after the lines are written
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        cycles.prepare(session=s, actor=f.actor(s, d.CASH), ref=cycle_id)
    # A caller that goes on after the error finds the cycle as it was, too.
    with session_scope(engine) as s:
        with pytest.raises(RuntimeError):
            cycles.prepare(session=s, actor=f.actor(s, d.CASH), ref=cycle_id)
        assert s.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == cycle_id)) == 0
    with session_scope(engine) as s:
        cycle = s.get(Cycle, cycle_id)
        assert cycle is not None and cycle.state == "draft" and cycle.counts is None and cycle.prepared_by is None
        assert s.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "assistance.cycle.prepared")) == 0
    monkeypatch.undo()
    with session_scope(engine) as s:
        assert cycles.prepare(session=s, actor=f.actor(s, d.CASH), ref=cycle_id).counts["due"] == 1


def _send_and_report(session: Session, cycle: Cycle, outcome: dict[str, str]) -> None:
    """What sending and reconciling do (elsewhere): due lines sent, then paid or as reported."""
    session.execute(sa.update(Payment).where(Payment.cycle_id == cycle.id, Payment.state == "due")
                    .values(state="sent"))
    session.execute(sa.update(Payment).where(Payment.cycle_id == cycle.id, Payment.state == "sent")
                    .values(state="paid", amount_paid=Payment.amount))
    for reference, state in outcome.items():
        session.execute(sa.update(Payment).where(Payment.reference == reference).values(state=state,
                                                                                        amount_paid=None))
    cycle.state = "reconciled"
    session.flush()


def _reissues(session: Session, cycle: Cycle) -> dict[str, tuple[int, str, int]]:
    """reference of the re-issue -> (the payment it replaces, that payment's state, amount)."""
    original = sa.orm.aliased(Payment)
    rows = session.execute(sa.select(Payment.reference, Payment.reissue_of, original.state, Payment.amount)
                           .join(original, original.id == Payment.reissue_of)
                           .where(Payment.cycle_id == cycle.id, Payment.reissue_of.is_not(None))).all()
    return {ref: (of, state, amount) for ref, of, state, amount in rows}


def test_a_failed_payment_is_reissued_once_and_only_once(session: Session) -> None:
    d.people(session)
    awa, binta, coumba = (d.household(session, n) for n in ("Awa", "Binta", "Coumba"))
    prog = d.programme(session, months=4, modality="cash_in_hand")
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    for code in (awa, binta, coumba):
        enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=code)

    def next_cycle(approve: bool = True) -> Cycle:
        cycle = cycles.create_cycle(session=session, actor=carla, ref=prog.code)
        cycles.prepare(session=session, actor=carla, ref=cycle.id)
        if approve:
            cycles.approve(session=session, actor=cindy, ref=cycle.id)
        return cycle

    first = next_cycle()
    failed, unclaimed = f"PRG-0001-1-{awa}", f"PRG-0001-1-{binta}"
    _send_and_report(session, first, {failed: "failed", unclaimed: "unclaimed"})
    failed_id, unclaimed_id = (session.scalar(sa.select(Payment.id).where(Payment.reference == r))
                               for r in (failed, unclaimed))

    second = next_cycle(approve=False)
    assert _reissues(session, second) == {f"PRG-0001-2-{awa}-R{failed_id}": (failed_id, "reissued", 25_000),
                                          f"PRG-0001-2-{binta}-R{unclaimed_id}": (unclaimed_id, "reissued", 25_000)}
    assert second.counts["reissued"] == 2 and second.counts["due"] == 3 and second.total_due == 5 * 25_000
    # Rejected, then prepared again: the originals are put back, then re-issued again — still once each.
    cycles.reject(session=session, actor=cindy, ref=second.id, reason="Montants à revoir")
    cycles.prepare(session=session, actor=carla, ref=second.id)
    assert {v[0] for v in _reissues(session, second).values()} == {failed_id, unclaimed_id}
    moves = session.execute(sa.select(Transition.from_state, Transition.to_state).where(
        Transition.entity == "payment", Transition.entity_id == unclaimed_id).order_by(Transition.id)).all()
    assert [tuple(m) for m in moves] == [("unclaimed", "reissued"), ("reissued", "unclaimed"),
                                         ("unclaimed", "reissued")]
    # Putting it back is outside the payments' state machine: the named exception, kept with its name.
    back = session.scalars(sa.select(Transition).where(Transition.entity == "payment",
                                                       Transition.entity_id == unclaimed_id,
                                                       Transition.from_state == "reissued")).one()
    assert back.detail == {"exception": "reissue_withdrawn"}
    on_cycle = session.scalars(sa.select(Transition).where(Transition.entity == "cycle", Transition.entity_id
                                                           == second.id, Transition.from_state == "reissued")).all()
    assert sorted((t.to_state, t.detail["exception"]) for t in on_cycle) == [
        ("failed", "reissue_withdrawn"), ("unclaimed", "reissue_withdrawn")]
    # The re-issue pays the phone of the household's line in this cycle.
    again = session.scalars(sa.select(Payment).where(Payment.reissue_of == unclaimed_id)).one()
    assert keyring().open(again.phone_sealed) == "22376123456"
    # Cancelled before approval: the originals are back, ready for the next cycle.
    cycles.cancel(session=session, actor=carla, ref=second.id, reason="Fonds en retard")
    assert session.scalar(sa.select(Payment.state).where(Payment.id == unclaimed_id)) == "unclaimed"
    assert session.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == second.id)) == 0

    third = next_cycle()  # approved, then cancelled: its re-issues are cancelled with it
    assert {v[0] for v in _reissues(session, third).values()} == {failed_id, unclaimed_id}
    cycles.cancel(session=session, actor=carla, ref=third.id, reason="Prestataire indisponible")
    assert set(session.scalars(sa.select(Payment.state).where(Payment.cycle_id == third.id))) == {"cancelled"}

    fourth = next_cycle()  # the cancelled re-issues are re-issued: each original is paid once
    replaced = {v[0] for v in _reissues(session, fourth).values()}
    cancelled_reissues = set(session.scalars(sa.select(Payment.id).where(Payment.cycle_id == third.id,
                                                                          Payment.reissue_of.is_not(None))))
    assert replaced == cancelled_reissues and len(replaced) == 2
    for original in (failed_id, unclaimed_id):
        live = session.scalar(sa.select(sa.func.count()).where(
            Payment.state.in_(("due", "sent", "paid")),
            sa.or_(Payment.reissue_of == original,
                   Payment.reissue_of.in_(sa.select(Payment.id).where(Payment.reissue_of == original)))))
        assert live == 1
    assert session.scalar(sa.select(sa.func.count()).where(Payment.household_id == d.household_id(session, coumba),
                                                           Payment.reissue_of.is_not(None))) == 0
    with pytest.raises(Conflict, match="a cycle 5 would go beyond them"):
        cycles.create_cycle(session=session, actor=carla, ref=prog.code)


def test_a_household_held_this_month_gets_no_reissue(session: Session) -> None:
    d.people(session)
    awa = d.household(session, "Awa")
    prog = d.programme(session, modality="cash_in_hand")
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=awa)
    first = cycles.create_cycle(session=session, actor=carla, ref=prog.code)
    cycles.prepare(session=session, actor=carla, ref=first.id)
    cycles.approve(session=session, actor=cindy, ref=first.id)
    _send_and_report(session, first, {f"PRG-0001-1-{awa}": "failed"})
    head_of(session, awa).deceased_on = date(2025, 1, 20)
    second = cycles.create_cycle(session=session, actor=carla, ref=prog.code)
    cycles.prepare(session=session, actor=carla, ref=second.id)
    assert lines(session, second) == {awa: ("held", "deceased", 25_000)}
    assert _reissues(session, second) == {} and second.total_due == 0
    assert session.scalar(sa.select(Payment.state).where(Payment.reference == f"PRG-0001-1-{awa}")) == "failed"


def test_cancelling_a_programme_cancels_its_open_cycles_but_not_one_approved(session: Session) -> None:
    d.people(session)
    awa = d.household(session, "Awa")
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    prog = d.programme(session, modality="cash_in_hand")
    enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=awa)
    first = cycles.create_cycle(session=session, actor=carla, ref=prog.code)
    cycles.prepare(session=session, actor=carla, ref=first.id)
    cycles.approve(session=session, actor=cindy, ref=first.id)
    second = cycles.create_cycle(session=session, actor=carla, ref=prog.code)
    cycles.prepare(session=session, actor=carla, ref=second.id)
    with pytest.raises(Conflict) as refused:
        programmes.cancel(session=session, actor=carla, ref=prog.code, reason="Fin du financement")
    assert refused.value.message == ("Programme PRG-0001 has cycles approved or sent (1): reconcile or cancel "
                                     "them first.")
    cycles.cancel(session=session, actor=cindy, ref=first.id, reason="Fin du financement")
    assert session.scalar(sa.select(Payment.state).where(Payment.cycle_id == first.id)) == "cancelled"
    programmes.cancel(session=session, actor=carla, ref=prog.code, reason="Fin du financement")
    assert (prog.state, second.state) == ("cancelled", "cancelled")
    assert session.scalar(sa.select(sa.func.count()).where(Payment.cycle_id == second.id)) == 0
    with pytest.raises(Conflict, match="This programme is cancelled"):
        programmes.activate(session=session, actor=carla, ref=prog.code)


def test_putting_back_a_reissued_payment_is_a_named_exception_to_the_payments_moves() -> None:
    assert not states.can_move("payment", "reissued", "failed")
    with pytest.raises(Conflict, match="This payment is re-issued in a later cycle and cannot become failed"):
        states.check_move("payment", "reissued", "failed")
    for to in ("failed", "unclaimed"):
        states.check_exception(states.REISSUE_WITHDRAWN, "payment", "reissued", to)
    with pytest.raises(Conflict, match="cannot become paid; it can become: failed, unclaimed"):
        states.check_exception(states.REISSUE_WITHDRAWN, "payment", "reissued", "paid")


def _cash_programme(session: Session, *codes: str, modality: str = "cash_in_hand") -> Programme:
    prog = d.programme(session, modality=modality)
    carla = f.actor(session, d.CASH)
    for code in codes:
        enrolment.enrol_household(session=session, actor=carla, ref=prog.code, code=code)
    return prog


def _prepared(session: Session, prog: Programme) -> Cycle:
    carla = f.actor(session, d.CASH)
    return cycles.prepare(session=session, actor=carla, ref=cycles.create_cycle(session=session, actor=carla,
                                                                                 ref=prog.code).id)


def test_a_person_registered_twice_is_paid_once(session: Session) -> None:
    d.people(session)
    names = ("Awa", "Binta", "Coumba", "Djeneba", "Enna", "Fanta", "Hawa", "Inna", "Kadi", "Lala", "Mama", "Nana")
    hh = {name: d.household(session, name) for name in names}
    outside = d.household(session, "Oumou")  # not enrolled
    for a, b, status in (("Awa", "Binta", CONFIRMED), ("Coumba", "Djeneba", MERGED), ("Enna", "Fanta", REJECTED),
                         ("Hawa", "Inna", UNMERGED), ("Kadi", "Lala", PENDING), ("Mama", "Nana", CONFIRMED)):
        pair(session, hh[a], hh[b], status)
    pair(session, hh["Nana"], outside, CONFIRMED)
    prog = _cash_programme(session, *hh.values())
    registry.delete_household(session=session, actor=f.actor(session, d.IM), code=hh["Mama"], reason="Doublon")
    found = lines(session, _prepared(session, prog))
    held = {name: found[code][:2] for name, code in hh.items() if found[code][0] == "held"}
    assert held == {"Binta": ("held", "duplicate"), "Djeneba": ("held", "duplicate"),
                    "Kadi": ("held", "possible_duplicate"), "Lala": ("held", "possible_duplicate"),
                    "Mama": ("held", "deleted")}  # Nana is paid: the other registration was removed


def test_the_line_keeps_the_phone_approved_and_a_phone_that_is_not_a_mali_mobile_is_held(session: Session) -> None:
    d.people(session)
    hh = {"mali": d.household(session, "Awa", phone="+223 76 12 34 56"),
          "france": d.household(session, "Binta", phone="+33 6 12 34 56 78"),
          "nine_digits": d.household(session, "Coumba", phone="761234567"),
          "france_no_rent": d.household(session, "Djeneba", phone="+33 6 12 34 56 78", rent=None),
          "mali_no_rent": d.household(session, "Enna", rent=None)}
    cycle = _prepared(session, _cash_programme(session, *hh.values(), modality="mobile_money"))
    found = lines(session, cycle)
    assert {key: found[code][:2] for key, code in hh.items()} == {
        "mali": ("due", None), "france": ("held", "no_phone"), "nine_digits": ("held", "no_phone"),
        "france_no_rent": ("held", "no_phone"), "mali_no_rent": ("held", "zero_amount")}
    assert cycle.counts["held"] == {"no_phone": 3, "zero_amount": 1} and cycle.total_due == 25_000
    household = session.get(Household, d.household_id(session, hh["mali"]))
    assert household is not None
    line = session.scalars(sa.select(Payment).where(Payment.household_id == household.id)).one()
    assert line.phone_sealed == household.phone_sealed and keyring().open(line.phone_sealed) == "22376123456"
    household.phone_sealed = keyring().seal("22366000000")  # changed after the cycle was prepared
    session.flush()
    session.refresh(line)
    assert keyring().open(line.phone_sealed) == "22376123456"
    assert holds.is_mali_mobile("76 12 34 56") and not holds.is_mali_mobile(None)


def _person(session: Session, code: str, line_no: int) -> Person:
    return session.scalars(sa.select(Person).join(Household, Household.id == Person.household_id)
                           .where(Household.code == code, Person.line_no == line_no)).one()


def test_the_recipient_is_the_living_head_else_the_oldest_living_adult(session: Session) -> None:
    d.people(session)
    rita = f.actor(session, d.REGISTRAR)

    def family(*members: tuple[str, str, date]) -> str:
        return f.household(session, rita, monthly_rent_xof=25_000, movements=[],
                           members=[PersonRecord(i + 1, given, "Coulibaly", "f", relationship, born)
                                    for i, (given, relationship, born) in enumerate(members)])

    hh = {
        "head": family(("Awa", "head", date(1990, 1, 1)), ("Nene", "parent", date(1950, 1, 1))),
        "widowed": family(("Binta", "head", date(1980, 1, 1)), ("Sali", "spouse", date(1985, 1, 1)),
                          ("Nana", "parent", date(1955, 1, 1)), ("Ami", "child", date(2010, 1, 1))),
        "orphans": family(("Coumba", "head", date(1980, 1, 1)), ("Ami", "child", date(2010, 1, 1)),
                          ("Fifi", "child", date(2012, 1, 1))),
        "all_dead": family(("Djeneba", "head", date(1950, 1, 1)), ("Tata", "spouse", date(1952, 1, 1))),
        "no_head": family(("Enna", "head", date(1980, 1, 1)), ("Rokia", "spouse", date(1992, 1, 1))),
        "eighteen": family(("Fanta", "head", date(1980, 1, 1)), ("Ada", "child", date(2007, 2, 1)),
                           ("Ida", "child", date(2007, 1, 31))),
        "nobody": family(("Hawa", "head", date(1980, 1, 1))),
    }
    for key in ("widowed", "orphans", "all_dead", "eighteen"):
        _person(session, hh[key], 1).deceased_on = date(2024, 12, 1)
    _person(session, hh["all_dead"], 2).deceased_on = date(2024, 11, 1)
    for key in ("no_head", "nobody"):  # the head's record removed from the household
        _person(session, hh[key], 1).deleted_at = utcnow()
    session.flush()
    cycle = _prepared(session, _cash_programme(session, *hh.values()))
    assert cycle.period_end == date(2025, 1, 31)
    rows = session.execute(sa.select(Household.code, Payment.state, Payment.hold_reason, Person.line_no)
                           .join(Household, Household.id == Payment.household_id)
                           .outerjoin(Person, Person.id == Payment.recipient_person_id)
                           .where(Payment.cycle_id == cycle.id)).all()
    found = {code: (state, reason, line_no) for code, state, reason, line_no in rows}
    assert {key: found[code] for key, code in hh.items()} == {
        "head": ("due", None, 1),
        "widowed": ("due", None, 3),  # the grandmother, the oldest living adult
        "orphans": ("held", "no_recipient", None),
        "all_dead": ("held", "deceased", None),
        "no_head": ("due", None, 2),
        "eighteen": ("due", None, 3),  # 18 on the cycle's last day; her sister only the day after
        "nobody": ("held", "no_recipient", None),
    }
    assert holds.adult_born_by(date(2028, 2, 29)) == date(2010, 2, 28)


def test_a_departure_or_a_death_counts_from_its_day(session: Session) -> None:
    d.people(session)
    rita = f.actor(session, d.REGISTRAR)
    leaving = d.household(session, "Awa")
    dying = f.household(session, rita, monthly_rent_xof=25_000, movements=[],
                        members=[PersonRecord(1, "Binta", "Maïga", "f", "head", date(1960, 1, 1)),
                                 PersonRecord(2, "Sali", "Maïga", "f", "child", date(1990, 1, 1))])
    prog = _cash_programme(session, leaving, dying)
    household = session.get(Household, d.household_id(session, leaving))
    assert household is not None
    household.departed_on = date(2025, 2, 3)  # recorded for February: January is paid
    _person(session, dying, 1).deceased_on = date(2025, 2, 10)
    session.flush()
    january = _prepared(session, prog)
    assert lines(session, january) == {leaving: ("due", None, 25_000), dying: ("due", None, 25_000)}
    recipient = session.scalar(sa.select(Payment.recipient_person_id).where(Payment.cycle_id == january.id,
                                                                            Payment.household_id == _person(
                                                                                session, dying, 1).household_id))
    assert recipient == _person(session, dying, 1).id
    february = _prepared(session, prog)
    assert lines(session, february) == {leaving: ("held", "moved_away", 25_000), dying: ("due", None, 25_000)}
    assert session.scalar(sa.select(Payment.recipient_person_id).where(
        Payment.cycle_id == february.id, Payment.household_id == _person(session, dying, 2).household_id)) \
        == _person(session, dying, 2).id


def test_a_reconciled_cycle_is_closed_by_who_reconciles(session: Session) -> None:
    d.people(session)
    awa = d.household(session, "Awa")
    prog = _cash_programme(session, awa)
    carla, cindy = f.actor(session, d.CASH), f.actor(session, d.APPROVER)
    cycle = _prepared(session, prog)
    with pytest.raises(Conflict, match="This cycle is prepared and cannot become closed"):
        cycles.close(session=session, actor=carla, ref=cycle.id)
    cycles.approve(session=session, actor=cindy, ref=cycle.id)
    _send_and_report(session, cycle, {f"PRG-0001-1-{awa}": "unclaimed"})
    with pytest.raises(Forbidden):
        cycles.close(session=session, actor=f.actor(session, d.IM), ref=cycle.id)
    with pytest.raises(NotFound):
        cycles.close(session=session, actor=f.actor(session, d.OTHER), ref=cycle.id)
    cycles.close(session=session, actor=carla, ref=f"{prog.code}/1", note="  Rapport final de l'opérateur reçu ")
    assert cycle.state == "closed" and cycle.closed_at is not None
    closed = session.scalars(sa.select(Transition).where(Transition.entity == "cycle",
                                                         Transition.entity_id == cycle.id,
                                                         Transition.to_state == "closed")).one()
    assert (closed.from_state, closed.reason, closed.by_name) == ("reconciled", "Rapport final de l'opérateur reçu",
                                                                  d.CASH)
    assert closed.detail is not None and closed.detail["payments_open"] == {"unclaimed": 1}
    with pytest.raises(Conflict, match="This cycle is closed and cannot become closed; it can no longer change"):
        cycles.close(session=session, actor=carla, ref=cycle.id)
    # Its unclaimed payment is still paid again in the next cycle.
    assert _prepared(session, prog).counts["reissued"] == 1
