"""Coverage and gaps: who was paid, for how many months, which needs no programme covered, and
whose assistance ends while still vulnerable — on a small registry built by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import coverage
from jatigi.assistance.models import Cycle, Enrolment, Payment, Programme
from jatigi.core.errors import ValidationFailed
from jatigi.registry.models import Household
from jatigi.targeting import store
from jatigi.targeting.runs import SCORES
from jatigi.targeting.tables import ModelVersion, Run
from tests import factories as f

MOPTI = f.MOPTI_COMMUNE


def _id(s: Session, code: str) -> int:
    return s.scalars(sa.select(Household.id).where(Household.code == code)).one()


def _programme(s: Session, org_id: int, code: str, sector: str, start: date, months: int,
               run_id: int | None = None) -> Programme:
    p = Programme(code=code, org_id=org_id, name=f"Programme {code}", sector=sector, modality="mobile_money",
                  start_month=start, planned_months=months, formula="", state="active", targeting_run_id=run_id)
    s.add(p)
    s.flush()
    return p


def _paid(s: Session, p: Programme, number: int, households: list[int], amount: int, state: str = "paid") -> None:
    start = date(p.start_month.year, p.start_month.month + number - 1, 1)
    c = Cycle(programme_id=p.id, number=number, period_start=start,
              period_end=coverage._month_end(start), state="reconciled")
    s.add(c)
    s.flush()
    for hid in households:
        s.add(Payment(cycle_id=c.id, programme_id=p.id, household_id=hid, reference=f"{p.code}-{number}-{hid}",
                      state=state, amount=amount, amount_paid=amount if state == "paid" else None))
    s.flush()


def _enrol(s: Session, p: Programme, households: list[int]) -> None:
    for hid in households:
        s.add(Enrolment(programme_id=p.id, household_id=hid, source="list"))
    s.flush()


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "alice", "ONGA")
    f.user(session, "bob", "ONGB")
    alice, bob = f.actor(session, "alice"), f.actor(session, "bob")
    # Bamako: a renting IDP household in need of rent and food (the factory's), a host household
    # needing health care, an IDP household needing education; Mopti: one IDP household.
    renting = _id(session, f.household(session, alice))
    host = _id(session, f.household(session, alice, population_group="host", origin_pcode=None, movements=[],
                                     intention=None, priority_needs=["health"], rent_arrears_xof=None))
    school = _id(session, f.household(session, alice, priority_needs=["education"], rent_arrears_xof=0))
    mopti = _id(session, f.household(session, alice, current_pcode=MOPTI, priority_needs=["food"],
                                     rent_arrears_xof=0))
    hidden = _id(session, f.household(session, bob))  # ONGB's: alice never sees it
    a_org, b_org = alice.org_id, bob.org_id
    assert a_org is not None and b_org is not None
    rent = _programme(session, a_org, "PRG-0001", "shelter", date(2013, 9, 1), 3)
    _enrol(session, rent, [renting, school])
    _paid(session, rent, 1, [renting, school], 25_000)
    _paid(session, rent, 2, [renting], 25_000)
    _paid(session, rent, 3, [school], 25_000, state="failed")
    # ONGB's multipurpose programme pays the Mopti household and the hidden one: coverage counts it.
    mpc = _programme(session, b_org, "PRG-0002", "multipurpose", date(2013, 10, 1), 6)
    _paid(session, mpc, 1, [mopti, hidden], 40_000)
    return {"alice": alice, "bob": bob, "renting": renting, "host": host, "school": school, "mopti": mopti,
            "rent": rent}


def test_coverage_counts_who_was_paid_for_how_long_and_the_needs_left(session: Session, world: dict) -> None:
    result = coverage.coverage(session=session, actor=world["alice"], since="2013-09", until="2013-11")
    assert (result.since, result.until) == (date(2013, 9, 1), date(2013, 11, 30))
    rows = {(r.pcode, r.population_group): r for r in result.rows}
    bamako_idp = rows[("ML09", "idp")]
    assert (bamako_idp.households, bamako_idp.enrolled, bamako_idp.assisted) == (2, 2, 2)
    assert bamako_idp.household_months == 3  # two months for one, one for the other (the third failed)
    assert bamako_idp.amount_paid == 75_000
    # Rent is covered by the shelter programme; food (the renting household's) is not.
    assert (bamako_idp.needs["rent"].households, bamako_idp.needs["rent"].uncovered) == (1, 0)
    assert (bamako_idp.needs["food"].households, bamako_idp.needs["food"].uncovered) == (1, 1)
    assert (bamako_idp.needs["education"].households, bamako_idp.needs["education"].uncovered) == (1, 1)
    host = rows[("ML09", "host")]
    assert (host.households, host.assisted, host.needs["health"].uncovered) == (1, 0, 1)
    # Paid by another organisation's multipurpose programme: assisted, food covered.
    mopti = rows[("ML05", "idp")]
    assert (mopti.assisted, mopti.amount_paid, mopti.needs["food"].uncovered) == (1, 40_000, 0)
    assert mopti.area == "Mopti"
    assert result.total.households == 4  # ONGB's household is not alice's to see
    assert result.total.amount_paid == 115_000


def test_a_period_before_any_payment_shows_nobody_assisted(session: Session, world: dict) -> None:
    result = coverage.coverage(session=session, actor=world["alice"], since="2013-01", until="2013-08")
    assert result.total.assisted == 0 and result.total.households == 4
    assert result.total.needs["food"].uncovered == result.total.needs["food"].households == 2


def test_level_two_groups_by_cercle(session: Session, world: dict) -> None:
    result = coverage.coverage(session=session, actor=world["alice"], since="2013-10", level=2)
    assert {r.pcode for r in result.rows} == {f.BAMAKO_COMMUNE_IV[:6], MOPTI[:6]}
    # October only: the shelter programme's second cycle paid the renting household, ONGB's first the Mopti one.
    assert result.total.assisted == 2


@pytest.mark.parametrize("since, until, message", [
    ("octobre", None, "is not a month"), ("2013-10", "2013-09", "ends"), ("2013-13", None, "is not a month")])
def test_bad_periods_are_refused_in_words(session: Session, world: dict, since: str, until: str | None,
                                          message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        coverage.coverage(session=session, actor=world["alice"], since=since, until=until)


def test_continuity_finds_households_still_vulnerable_when_assistance_ends(session: Session, world: dict) -> None:
    alice = world["alice"]
    store.ensure_shipped(session)
    model = session.scalars(sa.select(ModelVersion).where(ModelVersion.name == "economic")).one()
    runs = []
    for _ in range(2):
        run = Run(model_id=model.id, org_id=alice.org_id, scope={}, data_as_of=datetime(2013, 11, 1),
                  run_by_name="alice", started_at=datetime(2013, 11, 1))
        session.add(run)
        session.flush()
        runs.append(run)
    rent: Programme = world["rent"]
    rent.targeting_run_id = runs[0].id
    session.flush()
    categories = coverage.vulnerable_categories(coverage.load_model(model.text, coverage.registry_catalogue()))
    lowest = [c for c in ("extreme", "high", "moderate", "low") if c not in categories]
    # In the latest run the renting household is still vulnerable, the other no longer.
    session.execute(sa.insert(SCORES), [
        {"run_id": runs[1].id, "household_id": world["renting"], "household_version": 1, "score": 60,
         "category": categories[0], "excluded": False, "not_assessed": 0},
        {"run_id": runs[1].id, "household_id": world["school"], "household_version": 1, "score": 1,
         "category": lowest[0] if lowest else None, "excluded": False, "not_assessed": 0}])
    found = coverage.continuity(session=session, actor=alice, within_months=2, today=date(2013, 10, 15))
    assert [(c.code, c.ends_on, c.enrolled, c.rescored, c.still_vulnerable, c.run_id) for c in found] == [
        ("PRG-0001", date(2013, 11, 30), 2, 2, 1, runs[1].id)]
    assert coverage.still_vulnerable_households(session=session, actor=alice, programme=rent, run_id=runs[1].id,
                                                categories=categories) == [
        session.get(Household, world["renting"]).code]
    # A month earlier the programme's end is three months away: not listed.
    assert coverage.continuity(session=session, actor=alice, within_months=1, today=date(2013, 9, 15)) == []
    # ONGB's programmes are not alice's.
    assert all(c.code != "PRG-0002" for c in found)
