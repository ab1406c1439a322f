"""Post-distribution monitoring: interviews imported all-or-nothing and once, linked to the cycle's
payments, and the cycle's indicators counted as a person would count them by hand."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.assistance import pdm
from jatigi.assistance.models import PdmResponse
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Conflict, Forbidden, NotFound
from jatigi.web.templating import environment
from tests import factories as f
from tests.unit.assistance import feedback_data as fd

TODAY = date(2024, 7, 15)
HEADER = ("payment_reference,household_code,surveyed_on,received,full_amount,amount_received,on_time,spent_on,"
          "felt_safe,paid_to_get,satisfied,enumerator,_uuid")


@pytest.fixture
def paid(session: Session) -> fd.Paid:
    fd.people(session)
    return fd.programme(session, households=6, states=("reconciled", "sent", "prepared"))


def _csv(tmp_path: Path, lines: list[str], name: str = "pdm.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def _six(paid: fd.Paid) -> list[str]:
    """Six interviews of cycle 1 whose indicators are counted by hand in the test below."""
    r, hh = paid.references[1], paid.households
    return [
        f"{r[0]},,2024-06-20,yes,yes,30000,yes,food rent,yes,no,yes,Awa,u1",
        f"{r[1]},,2024-06-20,oui,,20000,non,food,oui,oui,non,Awa,u2",  # full amount: no, from the amount
        f"{r[2]},,2024-06-21,yes,yes,30 000,yes,food health,no,no,yes,Awa,uuid:u3",
        f",{hh[3].lower()},21/06/2024,no,,,,,yes,no,no,Moussa,u4",  # by household code; nothing received
        f"{r[4]},,2024-06-22,yes,yes,30000,yes,rent debt,yes,no,yes,Moussa,u5",
        f"{r[5]},,2024-06-22,1,1,30000,0,food,1,0,,Moussa,u6",  # satisfied: not asked
    ]


def test_indicators_of_a_cycle_counted_by_hand(session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    carla = f.actor(session, "carla")
    result = pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=_csv(tmp_path, _six(paid)),
                             today=TODAY)
    assert (result.rows, result.added, result.already) == (6, 6, 0)
    ind = pdm.indicators(session, carla, "PRG-0001/1")
    assert ind.interviews == 6 and not ind.small and ind.amount_received == 140_000
    rates = {name: (r.yes, r.of, r.percent) for name, _label, r in ind.rates()}
    assert rates == {"received": (5, 6, 83), "full_amount": (4, 5, 80), "on_time": (3, 5, 60),
                     "felt_safe": (5, 6, 83), "paid_to_get": (1, 6, 17), "satisfied": (3, 5, 60)}
    spending = {code: (r.yes, r.of, r.percent) for code, _label, r in ind.spending_lines() if r.yes}
    assert spending == {"food": (4, 5, 80), "rent": (2, 5, 40), "health": (1, 5, 20), "debt": (1, 5, 20)}
    assert pdm.shown(ind.received) == "83 % (5 of 6)"
    # Another cycle has no interview; an IM officer reads indicators but does not import.
    ivan = f.actor(session, "ivan")
    assert pdm.indicators(session, ivan, paid.cycles[2]).interviews == 0
    with pytest.raises(Forbidden):
        pdm.import_file(session=session, actor=ivan, cycle=paid.cycles[2], path=_csv(tmp_path, []), today=TODAY)
    html = environment().get_template("assistance/pdm_indicators.html").render(indicators=ind)
    assert re.search(r'data-indicator="received"><td>Received the payment</td><td class="num">83 % \(5 of 6\)<', html)
    assert "Red flag: follow it up" in html and 'data-spending="food"' in html and 'data-spending="other"' not in html
    row = session.execute(sa.select(PdmResponse).where(PdmResponse.source_uuid == "u3")).scalar_one()
    assert (row.spent_on, row.enumerator, row.amount_received) == (["food", "health"], "Awa", 30_000)


def test_under_five_answers_give_counts(session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    carla = f.actor(session, "carla")
    pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=_csv(tmp_path, _six(paid)[:3]),
                    today=TODAY)
    ind = pdm.indicators(session, carla, paid.cycles[1])
    assert ind.small and ind.received.percent is None
    assert pdm.shown(ind.received) == "3 of 3" and pdm.shown(ind.paid_to_get) == "1 of 3"


def test_importing_again_adds_nothing(session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    carla = f.actor(session, "carla")
    path = _csv(tmp_path, _six(paid))
    pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=path, today=TODAY)
    again = pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=path, today=TODAY)
    assert (again.added, again.already) == (0, 6)
    # Without Kobo's _uuid: the same payment interviewed the same day is there already.
    header = HEADER.rsplit(",", 1)[0]
    bare = _csv(tmp_path, [line.rsplit(",", 1)[0] for line in _six(paid)[:2]]
                + [f"{paid.references[1][0]},,2024-06-25,yes,yes,30000,yes,food,yes,no,yes,Awa"], "bare.csv", header)
    first = pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=bare, today=TODAY)
    assert (first.added, first.already) == (1, 2)
    assert pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=bare, today=TODAY).added == 0
    assert pdm.indicators(session, carla, paid.cycles[1]).interviews == 7


def test_every_problem_is_named_and_nothing_is_written(session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    carla = f.actor(session, "carla")
    r1, r2 = paid.references[1], paid.references[2]
    lines = [
        f"{r1[0]},,2024-06-20,yes,yes,30000,yes,food,yes,no,yes,,a",  # fine
        f"{r2[0]},,2024-06-20,yes,yes,30000,yes,food,yes,no,yes,,b",  # cycle 2's payment
        "PRG-0001-C9-999,,2024-06-20,yes,,,,,,,,,c",
        f"{r1[1]},,2024-06-20,maybe,,30k,,food beer,,,,,d",
        f"{r1[2]},,2024-08-01,no,,5000,,,,,,,e",  # a date to come, and an amount though nothing received
        f"{r1[3]},,2024-05-31,yes,,,,,,,,,f",  # before the cycle began
        f"{r1[4]},,2024-06-20,yes,,,,,,,,,a",  # the first row's submission again
        ",HH-NOBODY,2024-06-20,yes,,,,,,,,,g",
    ]
    with pytest.raises(pdm.PdmInvalid) as caught:
        pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=_csv(tmp_path, lines), today=TODAY)
    found = [(p.row, p.column, p.value) for p in caught.value.problems]
    assert found == [
        (3, "payment_reference", r2[0]),
        (4, "payment_reference", "PRG-0001-C9-999"),
        (5, "received", "maybe"), (5, "amount_received", "30k"), (5, "spent_on", "food beer"),
        (6, "surveyed_on", "2024-08-01"), (6, "amount_received", "5000"),
        (7, "surveyed_on", "2024-05-31"),
        (8, "_uuid", "a"),
        (9, "household_code", "HH-NOBODY"),
    ]
    messages = {(p.row, p.column): p.message for p in caught.value.problems}
    assert messages[(3, "payment_reference")] == "This payment belongs to cycle 2, not to cycle 1 being imported."
    assert "accepted: yes, no, oui, non" in messages[(5, "received")]
    assert messages[(5, "spent_on")].startswith("Unknown choice beer; accepted: food, rent, health")
    assert messages[(7, "surveyed_on")] == "Before the cycle began (2024-06-01): an interview follows the distribution."
    assert "received nothing" in messages[(6, "amount_received")]
    assert caught.value.message == "Nothing was written: 10 problems in 8 rows."
    assert session.scalar(sa.select(sa.func.count()).select_from(PdmResponse)) == 0


def test_a_kobo_workbook_with_groups_and_one_column_per_choice(session: Session, paid: fd.Paid,
                                                                tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["start", "today", "pdm/payment_reference", "pdm/received", "pdm/amount_received",
                  "pdm/spent_on/food", "pdm/spent_on/education", "pdm/spent_on/other", "pdm/paid_to_get", "_uuid"])
    sheet.append([datetime(2024, 6, 20, 9, 30), datetime(2024, 6, 20), paid.references[1][0], "yes", 30000, 1, 1, 0,
                  "no", "k1"])
    sheet.append([datetime(2024, 6, 21, 9, 30), datetime(2024, 6, 21), paid.references[1][1], "yes", 15000, 0, 0, 1,
                  "yes", "k2"])
    path = tmp_path / "kobo.xlsx"
    book.save(path)
    carla = f.actor(session, "carla")
    assert pdm.import_file(session=session, actor=carla, cycle=paid.cycles[1], path=path, today=TODAY).added == 2
    rows = session.execute(sa.select(PdmResponse.source_uuid, PdmResponse.surveyed_on, PdmResponse.spent_on,
                                     PdmResponse.full_amount, PdmResponse.on_time)
                           .order_by(PdmResponse.source_uuid)).all()
    assert [tuple(r) for r in rows] == [("k1", date(2024, 6, 20), ["food", "education"], True, None),
                                        ("k2", date(2024, 6, 21), ["other"], False, None)]


def test_only_a_distributed_cycle_of_ones_own_organisation(session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    path = _csv(tmp_path, _six(paid)[:1])
    with pytest.raises(Conflict, match="Cycle 3 of PRG-0001 is prepared: monitoring follows a distribution"):
        pdm.import_file(session=session, actor=f.actor(session, "carla"), cycle=paid.cycles[3], path=path,
                        today=TODAY)
    bert = f.actor(session, "bert")
    with pytest.raises(NotFound):
        pdm.import_file(session=session, actor=bert, cycle=paid.cycles[1], path=path, today=TODAY)
    with pytest.raises(NotFound):
        pdm.indicators(session, bert, paid.cycles[1])
    wrong = _csv(tmp_path, ["x,2024-06-20"], "wrong.csv", "name,surveyed_on")
    with pytest.raises(pdm.ValidationFailed, match="no column for the payment's reference or the household's code"):
        pdm.import_file(session=session, actor=f.actor(session, "carla"), cycle=paid.cycles[1], path=wrong,
                        today=TODAY)


def test_another_organisation_s_payment_is_unknown_even_when_its_household_is_shared(
        session: Session, paid: fd.Paid, tmp_path: Path) -> None:
    # ONGA shares its households with ONGB, which runs its own programme.
    accounts.create_agreement(session=session, actor=SYSTEM, provider="ONGA", recipient="ONGB", purpose="Cash",
                              signed_on=date(2024, 1, 1))
    theirs = fd.programme(session, org="ONGB", code="PRG-0002", households=1, states=("sent",))
    bert = f.actor(session, "bert")
    mine, other = theirs.references[1][0], paid.references[1][0]
    lines = [f"{mine},,2024-06-20,yes,,,,,,,,,b1", f"{other},,2024-06-20,yes,,,,,,,,,b2"]
    with pytest.raises(pdm.PdmInvalid) as caught:
        pdm.import_file(session=session, actor=bert, cycle=theirs.cycles[1], path=_csv(tmp_path, lines), today=TODAY)
    assert [(p.row, p.value, p.message) for p in caught.value.problems] == [
        (3, other, f"No payment {other} that you may see.")]  # not "belongs to cycle 1": nothing is told of it
    assert session.scalar(sa.select(sa.func.count()).select_from(PdmResponse)) == 0
