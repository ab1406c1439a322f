"""Programmes and enrolment: what a cash officer can set, see and enrol, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance import enrolment, programmes
from jatigi.assistance.models import Enrolment, PaymentProvider, Transition
from jatigi.core.audit import AuditEvent
from jatigi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jatigi.registry import service as registry
from jatigi.targeting import runs
from jatigi.targeting.scope import Scope
from jatigi.targeting.simulate import Budget
from tests import factories as f
from tests.unit.assistance import programme_data as d

RENT_MODEL = """
[model]
id = "rent_need"
version = 1
title = { fr = "Besoin de loyer", en = "Rent need" }
uses_displacement_status = false

[[criteria]]
id = "rent"
label = { fr = "Loyer en milliers de FCFA", en = "Rent in thousands of FCFA" }
score = "coalesce(monthly_rent_xof, 0) / 1000"

[[categories]]
name = "high"
label = { fr = "Élevé", en = "High" }
min_score = 20

[[categories]]
name = "low"
label = { fr = "Faible", en = "Low" }
min_score = 0
"""


@pytest.fixture
def setup(session: Session) -> Session:
    d.people(session)
    return session


def test_a_programme_gets_the_next_code_and_starts_as_a_draft(setup: Session) -> None:
    first = d.programme(setup, activate=False)
    second = d.programme(setup, activate=False, name="Second")
    assert (first.code, second.code) == ("PRG-0001", "PRG-0002")
    assert first.state == "draft" and first.start_month.isoformat() == "2025-01-01" and first.currency == "XOF"
    assert first.org_id == f.actor(setup, d.CASH).org_id
    assert setup.scalar(sa.select(sa.func.count()).select_from(Transition).where(
        Transition.entity == "programme", Transition.entity_id == first.id, Transition.to_state == "draft")) == 1


def test_bad_values_are_named_field_by_field_and_nothing_is_written(setup: Session) -> None:
    carla = f.actor(setup, d.CASH)
    with pytest.raises(programmes.ProgrammeInvalid) as caught:
        programmes.create_programme(session=setup, actor=carla, name=" ", sector="rent", modality="cheque",
                                    start_month="2025-13", planned_months=40, formula="[entitlement]\nbase = 'x'",
                                    area_pcode="ML99", provider="no_such_bank")
    problems = caught.value.problems
    assert set(problems) == {"name", "sector", "modality", "start_month", "planned_months", "area_pcode",
                             "provider", "formula"}
    assert problems["start_month"] == "Write the first month as YYYY-MM, such as 2025-03 (not 2025-13)."
    assert problems["planned_months"] == "From 1 to 36 months (not 40)."
    assert problems["area_pcode"] == "No place has the P-code ML99."
    assert "Line 2, column 8, entitlement.base" in problems["formula"]
    assert "accepted: multipurpose, food" in problems["sector"]
    assert setup.scalar(sa.text("SELECT count(*) FROM programmes")) == 0
    reader = f.actor(setup, d.IM)
    with pytest.raises(Forbidden):
        programmes.create_programme(session=setup, actor=reader, name="x", sector="food", modality="voucher",
                                    start_month="2025-01", planned_months=2, formula=d.RENT_FORMULA)


def test_a_draft_can_change_an_active_programme_cannot(setup: Session) -> None:
    carla = f.actor(setup, d.CASH)
    prog = d.programme(setup, activate=False)
    programmes.update_programme(session=setup, actor=carla, ref=prog.code,
                                changes={"planned_months": "6", "area_pcode": "ml09", "donor": "BHA",
                                         "provider": "orange_money"})
    assert (prog.planned_months, prog.area_pcode, prog.donor, prog.version) == (6, "ML09", "BHA", 2)
    assert setup.scalar(sa.select(PaymentProvider.name).where(PaymentProvider.id == prog.provider_id)) == \
        "orange_money"
    with pytest.raises(Conflict, match="changed by someone else"):
        programmes.update_programme(session=setup, actor=carla, ref=prog.code, changes={"name": "x"},
                                    expected_version=1)
    programmes.activate(session=setup, actor=carla, ref=prog.code)
    with pytest.raises(Conflict, match="only a draft programme can be changed"):
        programmes.update_programme(session=setup, actor=carla, ref=prog.code, changes={"name": "x"})
    with pytest.raises(ValidationFailed, match="Say why"):
        programmes.cancel(session=setup, actor=carla, ref=prog.code, reason=" ")
    programmes.close(session=setup, actor=carla, ref=prog.code)
    with pytest.raises(Conflict, match="This programme is closed and cannot become active; it can no longer change."):
        programmes.activate(session=setup, actor=carla, ref=prog.code)
    actions = setup.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "programme")
                            .order_by(AuditEvent.id)).all()
    assert actions == ["assistance.programme.draft", "assistance.programme.update", "assistance.programme.active",
                       "assistance.programme.closed"]


def test_another_organisation_neither_sees_nor_changes_a_programme(setup: Session) -> None:
    prog = d.programme(setup)
    bert, ada, ivan = (f.actor(setup, n) for n in (d.OTHER, d.ADMIN, d.IM))
    with pytest.raises(NotFound, match="No programme PRG-0001 that you may see"):
        programmes.read_programme(session=setup, actor=bert, ref="PRG-0001")
    with pytest.raises(NotFound):
        programmes.close(session=setup, actor=bert, ref=prog.id)
    with pytest.raises(NotFound):
        enrolment.enrol_household(session=setup, actor=bert, ref=prog.code, code="HH-X")
    assert programmes.list_programmes(session=setup, actor=bert) == []
    assert [p.programme.code for p in programmes.list_programmes(session=setup, actor=ada)] == ["PRG-0001"]
    assert programmes.read_programme(session=setup, actor=ivan, ref="prg-0001").programme.id == prog.id
    with pytest.raises(Forbidden):
        programmes.close(session=setup, actor=ivan, ref=prog.code)


def _run(session: Session, codes: list[str]) -> int:
    ivan = f.actor(session, d.IM)
    loaded = runs.stored_version(session, ivan, RENT_MODEL)
    return runs.score(session=session, actor=ivan, loaded=loaded, scope=Scope(ivan)).id


def test_enrolling_from_a_run_by_category_or_by_budget(setup: Session) -> None:
    codes = [d.household(setup, name, rent=rent) for name, rent in
             (("Awa", 30_000), ("Binta", 25_000), ("Coumba", 22_000), ("Djeneba", 5000), ("Enna", None))]
    run_id = _run(setup, codes)
    carla = f.actor(setup, d.CASH)
    prog = d.programme(setup)
    # The household paying 22,000 FCFA was removed after the run: it takes no place.
    registry.delete_household(session=setup, actor=f.actor(setup, d.IM), code=codes[2], reason="Doublon")
    budget = Budget(budget=60_000, transfer_value=10_000, months=3)  # two households
    first = enrolment.enrol_from_run(session=setup, actor=carla, ref=prog.code, run_id=run_id, budget=budget)
    assert (first.found, first.enrolled, first.skipped) == (2, 2, 0)
    again = enrolment.enrol_from_run(session=setup, actor=carla, ref=prog.code, run_id=run_id)  # "high" by default
    assert (again.found, again.enrolled, again.skipped) == (2, 0, 2)
    low = enrolment.enrol_from_run(session=setup, actor=carla, ref=prog.code, run_id=run_id, categories=["low"])
    assert (low.found, low.enrolled) == (2, 2)
    enrolled = setup.execute(sa.select(Enrolment.source, Enrolment.run_id, Enrolment.score)
                             .where(Enrolment.programme_id == prog.id).order_by(Enrolment.score.desc())).all()
    assert [tuple(r) for r in enrolled] == [("run", run_id, 30.0), ("run", run_id, 25.0), ("run", run_id, 5.0),
                                           ("run", run_id, 0.0)]
    assert prog.targeting_run_id == run_id
    with pytest.raises(ValidationFailed, match="Unknown categories middle"):
        enrolment.enrol_from_run(session=setup, actor=carla, ref=prog.code, run_id=run_id, categories=["middle"])
    with pytest.raises(NotFound, match="No programme PRG-0001"):
        enrolment.enrol_from_run(session=setup, actor=f.actor(setup, d.OTHER), ref=prog.code, run_id=run_id)
    with pytest.raises(NotFound, match="No scoring run"):
        enrolment.enrol_from_run(session=setup, actor=carla, ref=prog.code, run_id=run_id + 99)


def test_a_list_with_a_bad_row_enrols_nobody(setup: Session, tmp_path: Path) -> None:
    codes = [d.household(setup, name) for name in ("Awa", "Binta", "Coumba")]
    carla = f.actor(setup, d.CASH)
    prog = d.programme(setup)
    bad = tmp_path / "list.csv"
    bad.write_text("household_code;note\n" + f"{codes[0]};a\n\n{codes[1].lower()};b\nHH-NOPE;c\n{codes[0]};d\n;e\n",
                   encoding="utf-8")
    with pytest.raises(enrolment.ListInvalid) as caught:
        enrolment.enrol_from_list(session=setup, actor=carla, ref=prog.code, path=bad)
    assert caught.value.problems == [(5, "no household HH-NOPE that you may see (or it was removed)."),
                                     (6, f"{codes[0]} is already on row 2."), (7, "no household code.")]
    assert "list.csv: 3 problems; nobody was enrolled." in caught.value.message
    assert setup.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
    good = tmp_path / "good.csv"
    good.write_text("code\n" + "\n".join(codes[:2]) + "\n", encoding="utf-8")
    done = enrolment.enrol_from_list(session=setup, actor=carla, ref=prog.code, path=good)
    assert (done.found, done.enrolled, done.skipped) == (2, 2, 0)
    one = enrolment.enrol_household(session=setup, actor=carla, ref=prog.code, code=codes[1])
    assert (one.enrolled, one.skipped) == (0, 1)
    assert enrolment.enrol_household(session=setup, actor=carla, ref=prog.code, code=codes[2]).enrolled == 1
    total, rows = enrolment.enrolled_households(session=setup, actor=carla, ref=prog.code)
    assert total == 3 and [r.source for r in rows] == ["list", "list", "manual"]


def test_a_household_leaves_a_programme_with_a_reason(setup: Session) -> None:
    code = d.household(setup, "Awa")
    carla = f.actor(setup, d.CASH)
    prog = d.programme(setup)
    enrolment.enrol_household(session=setup, actor=carla, ref=prog.code, code=code)
    with pytest.raises(ValidationFailed):
        enrolment.exit_household(session=setup, actor=carla, ref=prog.code, code=code, reason="")
    gone = enrolment.exit_household(session=setup, actor=carla, ref=prog.code, code=code, reason="Retour à Douentza")
    assert gone.exited_at is not None and gone.exit_reason == "Retour à Douentza"
    with pytest.raises(Conflict, match="already left"):
        enrolment.exit_household(session=setup, actor=carla, ref=prog.code, code=code, reason="x")
    figures = programmes.read_programme(session=setup, actor=carla, ref=prog.code)
    assert (figures.enrolled, figures.exited) == (0, 1)
    programmes.close(session=setup, actor=carla, ref=prog.code)
    with pytest.raises(Conflict, match="enrols no more households"):
        enrolment.enrol_household(session=setup, actor=carla, ref=prog.code, code=code)
