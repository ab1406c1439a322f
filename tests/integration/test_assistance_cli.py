"""`jatigi assistance programmes` and `jatigi assistance cycles` as a cash officer runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.assistance.models import Cycle, Enrolment, Payment
from jatigi.core.db import session_scope
from jatigi.registry.models import Household
from jatigi.targeting import runs
from jatigi.targeting.scope import Scope
from tests import factories as f
from tests.unit.assistance import programme_data as d
from tests.unit.assistance.test_programmes import RENT_MODEL

JATIGI = str(Path(sys.executable).parent / "jatigi")


def jatigi(*args: str, user: str | None = d.CASH, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220", "NO_COLOR": "1"}
    env.pop("JATIGI_USER", None)
    who = ["--as", user] if user else []
    return subprocess.run([JATIGI, "--lang", lang, "assistance", *args, *who], capture_output=True, text=True,
                          env=env, timeout=180)


def ok(*args: str, user: str | None = d.CASH, lang: str = "en") -> str:
    done = jatigi(*args, user=user, lang=lang)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout.replace("\xa0", " ")


def refused(*args: str, user: str | None = d.CASH, lang: str = "en") -> str:
    done = jatigi(*args, user=user, lang=lang)
    assert done.returncode == 1, f"{args}: {done.stdout}\n{done.stderr}"
    return " ".join(done.stderr.replace("\xa0", " ").split())


@pytest.fixture
def codes(engine: sa.Engine) -> dict[str, str]:
    with session_scope(engine) as s:
        d.people(s)
        found = {"awa": d.household(s, "Awa", baby=True), "binta": d.household(s, "Binta", rent=20_000),
                 "coumba": d.household(s, "Coumba", rent=10_000), "mopti": d.household(s, "Djeneba",
                                                                                        pcode=f.MOPTI_COMMUNE)}
        ivan = f.actor(s, d.IM)
        run = runs.score(session=s, actor=ivan, loaded=runs.stored_version(s, ivan, RENT_MODEL), scope=Scope(ivan))
        found["run"] = str(run.id)
        return found


def test_a_programme_from_plan_to_an_approved_cycle(codes: dict[str, str], engine: sa.Engine,
                                                    tmp_path: Path) -> None:
    spec = tmp_path / "programme.toml"
    spec.write_text('[programme]\nname = "Loyers Bamako"\ndonor = "ECHO"\nsector = "shelter"\n'
                    'modality = "mobile_money"\nstart_month = "2025-03"\nplanned_months = 2\narea = "ML09"\n'
                    'formula = "rent.toml"\n', encoding="utf-8")
    (tmp_path / "rent.toml").write_text(d.RENT_FORMULA, encoding="utf-8")
    created = ok("programmes", "create", "--file", str(spec), "--donor", "BHA")
    assert "Programme PRG-0001 created (draft): Loyers Bamako." in created

    listed = tmp_path / "list.csv"
    listed.write_text(f"household_code\n{codes['awa']}\n{codes['mopti']}\nHH-NONE\n", encoding="utf-8")
    bad = refused("programmes", "enrol", "PRG-0001", "--list", str(listed))
    assert "list.csv: 1 problems; nobody was enrolled." in bad and "Row 4: no household HH-NONE" in bad
    listed.write_text(f"household_code\n{codes['awa']}\n{codes['mopti']}\n", encoding="utf-8")
    assert "2 households enrolled, 0 already enrolled (of 2)." in ok("programmes", "enrol", "PRG-0001", "--list",
                                                                      str(listed))
    # The run's "high" category (rent of 20,000 FCFA or more); a budget for one household: the highest score.
    by_budget = ok("programmes", "enrol", "PRG-0001", "--run", codes["run"], "--budget", "90000",
                   "--transfer-value", "30000", "--months", "3")
    assert "0 households enrolled, 1 already enrolled (of 1)." in by_budget
    assert "1 households enrolled, 2 already enrolled (of 3)." in ok("programmes", "enrol", "PRG-0001", "--run",
                                                                      codes["run"])
    assert "1 households enrolled" in ok("programmes", "enrol", "PRG-0001", "--household", codes["coumba"])
    assert "--budget go with --run" in refused("programmes", "enrol", "PRG-0001", "--household", codes["coumba"],
                                               "--budget", "5")

    shown = ok("programmes", "show", "PRG-0001")
    assert "PRG-0001 — Loyers Bamako (Draft)" in shown and "Donor: BHA" in shown
    assert "2025-03 to 2025-04 (2 months)" in shown and "Households: 4 enrolled, 0 left" in shown
    assert "Top-up Children under five: 2500 * children_under5 when children_under5 > 0" in shown
    assert "No cycle yet." in shown
    assert "cycles are created for an active programme" in refused("cycles", "create", "PRG-0001")
    assert "Programme PRG-0001 is active." in ok("programmes", "activate", "PRG-0001")
    assert "Cycle 1 of PRG-0001 created" in ok("cycles", "create", "PRG-0001")

    prepared = ok("cycles", "prepare", "PRG-0001/1")
    assert "Prepared: another person must now approve it." in prepared
    assert "Held: Moved away from the programme area" in prepared and "Total due: 57,500 FCFA" in prepared
    four_eyes = refused("cycles", "approve", "PRG-0001/1")
    assert four_eyes == "Error: You prepared cycle 1 of PRG-0001: another person must approve it (four eyes)."
    assert "Cycle 1 approved: 3 payments due, 57,500 FCFA. It is locked." in ok("cycles", "approve", "PRG-0001/1",
                                                                                user=d.APPROVER)
    again = refused("cycles", "prepare", "PRG-0001/1", user=d.APPROVER)
    assert "Cycle 1 of PRG-0001 is already approved (prepared by carla on" in again
    shown = ok("cycles", "show", "PRG-0001/1", user=d.IM)
    assert "Cycle 1 of PRG-0001" in shown and "2025-03: Approved" in shown
    assert "Prepared by carla on" in shown and "Approved by cindy on" in shown
    with session_scope(engine) as s:
        due = dict(s.execute(sa.select(Household.code, Payment.amount).join(Household,
                                                                             Household.id == Payment.household_id)
                             .where(Payment.state == "due")).all())
    assert due == {codes["awa"]: 27_500, codes["binta"]: 20_000, codes["coumba"]: 10_000}

    explained = ok("programmes", "explain", "PRG-0001", codes["awa"])
    assert "Monthly amount: 27,500 FCFA." in explained and "Children under five" in explained
    assert "Household " + codes["coumba"] + " has left programme PRG-0001." in ok(
        "programmes", "exit", "PRG-0001", codes["coumba"], "--reason", "Retour")
    assert "Cycle 2 of PRG-0001 created" in ok("cycles", "create", "PRG-0001")
    assert "would go beyond them" in refused("cycles", "create", "PRG-0001")
    assert "Cycle 2 cancelled." in ok("cycles", "cancel", "PRG-0001/2", "--reason", "Fonds épuisés")
    listed_cycles = ok("cycles", "list", "PRG-0001")
    assert "Approved" in listed_cycles and "Cancelled" in listed_cycles


def test_refusals_in_french_and_what_another_organisation_sees(codes: dict[str, str], engine: sa.Engine,
                                                               tmp_path: Path) -> None:
    missing = refused("programmes", "create", "--name", "X", lang="fr")
    assert "--sector, --modality, --start, --months, --formula" in missing
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(d.RENT_FORMULA.replace("children_under5 > 0", "children_under_5 > 0"), encoding="utf-8")
    checked = jatigi("programmes", "check-formula", str(wrong), user=None)
    assert checked.returncode == 1
    line = d.RENT_FORMULA.splitlines().index('when = "children_under5 > 0"') + 1
    assert f"{wrong}: Line {line}, column 9, top_up[1].when: Unknown field children_under_5" in checked.stderr
    french = jatigi("programmes", "check-formula", str(wrong), user=None, lang="fr")
    assert f"Ligne {line}, colonne 9" in french.stderr
    fine = ok("programmes", "check-formula", "household_size", user=None)
    assert "household_size: no problem." in fine and "Per member: 5,000 FCFA, 7 members at most" in fine

    created = ok("programmes", "create", "--name", "Cash", "--sector", "multipurpose", "--modality", "cash_in_hand",
                 "--start", "2025-01", "--months", "3", "--formula", "household_size", lang="fr")
    assert "Programme PRG-0001" in created
    assert "No programme that you may see." in ok("programmes", "list", user=d.OTHER)
    assert "No programme PRG-0001 that you may see." in refused("programmes", "show", "PRG-0001", user=d.OTHER)
    assert "assistance:programme:write" in refused("programmes", "activate", "PRG-0001", user=d.IM)
    listed = ok("programmes", "list", user=d.IM, lang="fr")
    assert "PRG-0001" in listed and "Brouillon" in listed
    assert "Say why the programme is cancelled." in refused("programmes", "cancel", "PRG-0001", "--reason", " ")
    assert "is cancelled" in ok("programmes", "cancel", "PRG-0001", "--reason", "Financement retiré")
    help_text = jatigi("cycles", "--help", user=None, lang="fr").stdout
    assert "approve" in help_text and "Préparer" in help_text
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Cycle)) == 0


def test_a_named_person_prepares_another_sends_back_an_approved_cycle_and_a_reconciled_one_is_closed(
        engine: sa.Engine) -> None:
    from jatigi.assistance import cycles, enrolment

    with session_scope(engine) as s:
        d.people(s)
        prog = d.programme(s, modality="cash_in_hand")
        enrolment.enrol_household(session=s, actor=f.actor(s, d.CASH), ref=prog.code, code=d.household(s, "Awa"))
        cycles.create_cycle(session=s, actor=f.actor(s, d.CASH), ref=prog.code)
    nobody = refused("cycles", "prepare", "PRG-0001/1", user=None)
    assert nobody == ("Error: A cycle is prepared by a named person, not by the system account (another person then "
                      "approves it): say who prepares it with --as USER or JATIGI_USER.")
    ok("cycles", "prepare", "PRG-0001/1")
    ok("cycles", "approve", "PRG-0001/1", user=d.APPROVER)
    four_eyes = refused("cycles", "reject", "PRG-0001/1", "--reason", "Oubli")
    assert "You prepared cycle 1 of PRG-0001: another person must send it back once approved" in four_eyes
    assert "Cycle 1 rejected: prepare it again once corrected." in ok("cycles", "reject", "PRG-0001/1", "--reason",
                                                                      "Montant à revoir", user=d.APPROVER)
    ok("cycles", "prepare", "PRG-0001/1")
    ok("cycles", "approve", "PRG-0001/1", user=d.APPROVER)
    with session_scope(engine) as s:  # what exporting and reconciling do
        s.execute(sa.update(Payment).where(Payment.state == "due").values(state="paid", amount_paid=Payment.amount))
        s.execute(sa.update(Cycle).values(state="reconciled"))
    assert "assistance:payment:reconcile" in refused("cycles", "close", "PRG-0001/1", user=d.IM)
    closed = ok("cycles", "close", "PRG-0001/1", "--note", "Rapport final reçu")
    assert "Cycle 1 closed: no report can be applied to it any more." in closed
    shown = ok("cycles", "show", "PRG-0001/1", user=d.IM)
    assert "2025-01: Closed" in shown and "Closed on" in shown
    assert "This cycle is closed and cannot become closed" in refused("cycles", "close", "PRG-0001/1")
    french = ok("cycles", "close", "PRG-0001/1", "--help", user=None, lang="fr")
    assert "Clôturer un cycle rapproché" in " ".join(french.split())
