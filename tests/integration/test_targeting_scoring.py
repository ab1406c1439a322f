"""Scoring, explaining, simulating and the fairness report, through the real `jatigi targeting` command."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from jatigi.core.audit import AuditEvent
from jatigi.core.db import session_scope
from jatigi.registry.models import Household
from jatigi.registry.records import PersonRecord
from jatigi.targeting.tables import ModelVersion, Run, assessments
from tests import factories as f

JATIGI = str(Path(sys.executable).parent / "jatigi")

# A week of poor eating (FCS 24: poor at the Sahel's 28/42), severe coping (rCSI 24), emergency
# livelihood coping, severe hunger (HHS 4); and a week of good eating (FCS 66) without coping or hunger.
# Neither says what the household spends.
POOR = {"FCSStap": 7, "FCSPulse": 0, "FCSDairy": 0, "FCSPr": 0, "FCSVeg": 3, "FCSFruit": 0, "FCSFat": 7,
        "FCSSugar": 7, "FCSCond": 7, "rCSILessQlty": 7, "rCSIBorrow": 3, "rCSIMealSize": 4, "rCSIMealAdult": 1,
        "rCSIMealNb": 4, "Lcs_em_Begged": 30, "Lcs_crisis_Health": 30, "Lcs_stress_Saving": 30,
        "HHSNoFood": 1, "HHSNoFood_FR": 3, "HHSBedHung": 1, "HHSBedHung_FR": 2, "HHSNotEat": 1, "HHSNotEat_FR": 1}
WELL = {"FCSStap": 7, "FCSPulse": 4, "FCSDairy": 3, "FCSPr": 3, "FCSVeg": 7, "FCSFruit": 2, "FCSFat": 7,
        "FCSSugar": 7, "FCSCond": 7, "rCSILessQlty": 0, "rCSIBorrow": 0, "rCSIMealSize": 0, "rCSIMealAdult": 0,
        "rCSIMealNb": 0, "Lcs_em_Begged": 10, "Lcs_crisis_Health": 10, "Lcs_stress_Saving": 10,
        "HHSNoFood": 0, "HHSBedHung": 0, "HHSNotEat": 0}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250"}
    proc = subprocess.run([JATIGI, "--lang", "en", "targeting", *args], capture_output=True, text=True, env=env,
                          timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"jatigi targeting {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@dataclass
class Data:
    idp_poor: str
    host_poor: str
    idp_well: str
    unassessed: str
    other_org: str


def _assess(s: sa.orm.Session, code: str, answers: dict[str, int]) -> None:
    hh = s.scalars(sa.select(Household).where(Household.code == code)).one()
    s.execute(sa.insert(assessments).values(household_id=hh.id, org_id=hh.org_id, assessed_on=date(2026, 11, 2),
                                            source="web", version=1, **answers))


@pytest.fixture
def data(engine: sa.Engine) -> Data:
    with session_scope(engine) as s:
        f.places(s)
        f.org(s, "ONGA")
        f.org(s, "ONGB")
        f.user(s, "alice", "ONGA")
        f.user(s, "bob", "ONGB")
        f.user(s, "vera", "ONGA", "viewer")
        alice = f.actor(s, "alice")
        man = [PersonRecord(1, "Seydou", "Kanté", "m", "head", date(1960, 1, 1))]
        d = Data(
            idp_poor=f.household(s, alice),
            host_poor=f.household(s, alice, population_group="host", origin_pcode=None, movements=[],
                                  intention=None),
            idp_well=f.household(s, alice, members=man),
            unassessed=f.household(s, alice, members=man),
            other_org=f.household(s, f.actor(s, "bob")),
        )
        for code, answers in ((d.idp_poor, POOR), (d.host_poor, POOR), (d.idp_well, WELL), (d.other_org, POOR)):
            _assess(s, code, answers)
    return d


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return {row["household_code"]: row for row in csv.DictReader(fh)}


def test_scores_are_recorded_and_as_poor_a_host_scores_as_an_idp(data: Data, tmp_path: Path,
                                                                  engine: sa.Engine) -> None:
    out = tmp_path / "scores.csv"
    shown = run("score", "--model", "food_security", "--out", str(out), "--as", "alice").stdout
    assert "Run 1: Food security (Cadre Harmonisé), version 1" in shown
    rows = _rows(out)
    assert set(rows) == {data.idp_poor, data.host_poor, data.idp_well, data.unassessed}  # not the other NGO's
    # Status-neutral: the host family as poor as the displaced one gets the same score and category.
    assert rows[data.host_poor]["score"] == rows[data.idp_poor]["score"]
    assert rows[data.host_poor]["category"] == rows[data.idp_poor]["category"] == "extreme"
    assert rows[data.idp_well]["category"] == "low"
    assert rows[data.unassessed]["excluded"] == "1" and rows[data.unassessed]["exclusion"] == "not_assessed"
    assert {r["uses_displacement_status"] for r in rows.values()} == {"0"}
    with session_scope(engine) as s:
        recorded = s.scalars(sa.select(Run)).one()
        assert recorded.run_by_name == "alice" and recorded.counts["households"] == 4
        assert recorded.scope["params"]["fcs_thresholds"] == [28.0, 42.0]
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action.in_(["targeting.run", "targeting.export"]))) == 2


def test_explain_adds_up_to_the_score_and_shows_what_was_not_assessed(data: Data) -> None:
    shown = run("explain", data.idp_poor, "--model", "food_security", "--as", "alice").stdout
    assert "Poor food consumption" in shown and "fcs_category" in shown
    # Each criterion's points, added up, make the score.
    points = {line.split("│")[1].strip(): line.split("│")[4].strip() for line in shown.splitlines()
              if line.count("│") == 5}
    assert points["Poor food consumption"] == "15" and points["Emergency livelihood coping"] == "10"
    score = sum(float(p) for p in points.values() if p.replace(".", "").isdigit())
    assert f"Score: {score:g};" in shown
    assert points["Severe household hunger (HHS phase 4 or 5)"] == "10"
    # Spending was not asked: shown as not assessed, counted as nothing.
    spending = next(line for line in shown.splitlines() if "of spending goes to food" in line)
    assert "not assessed" in spending and spending.split("│")[4].strip() == "0"


def test_a_model_using_displacement_status_is_refused_unless_it_says_so(data: Data, tmp_path: Path,
                                                                        engine: sa.Engine) -> None:
    text = (Path(__file__).resolve().parents[2] / "src/jatigi/targeting/models/protection.toml").read_text()
    hidden = text.replace('id = "protection"', 'id = "idp_first"').replace(
        "[[criteria]]", '[[criteria]]\nid = "idp"\nlabel = { fr = "PDI", en = "IDP" }\n'
        'when = "population_group == \'idp\'"\npoints = 50\n\n[[criteria]]', 1)
    model = tmp_path / "idp_first.toml"
    model.write_text(hidden, encoding="utf-8")
    refused = run("score", "--model", str(model), "--as", "alice", check=False)
    assert refused.returncode == 1
    assert "population_group" in refused.stderr and "line" in refused.stderr.lower()
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Run)) == 0  # nothing recorded

    model.write_text(hidden.replace("uses_displacement_status = false", "uses_displacement_status = true"),
                     encoding="utf-8")
    out = tmp_path / "scores.csv"
    done = run("score", "--model", str(model), "--out", str(out), "--as", "alice")
    assert "uses displacement status" in done.stderr
    assert {r["uses_displacement_status"] for r in _rows(out).values()} == {"1"}
    with session_scope(engine) as s:
        assert s.scalars(sa.select(Run)).one().uses_displacement_status is True


def test_simulation_selects_the_most_vulnerable_within_the_budget(data: Data, tmp_path: Path) -> None:
    out = tmp_path / "targets.csv"
    shown = run("simulate", "--model", "food_security", "--budget", "300000", "--transfer-value", "40000",
                "--months", "6", "--out", str(out), "--as", "alice").stdout
    # 300,000 pays one household 6 × 40,000; two are extremely vulnerable: one selected, one left out.
    assert "1 households selected of 2 vulnerable (50.0 %)" in shown and "1 vulnerable households left out" in shown
    with out.open(encoding="utf-8") as fh:
        selected = list(csv.DictReader(fh))
    assert len(selected) == 1 and selected[0]["household_code"] in {data.idp_poor, data.host_poor}
    assert set(selected[0]) >= {"rank", "household_code", "score", "category", "run_id", "model"}
    assert "Population group" in shown and "Sex of the head of household" in shown

    too_small = run("simulate", "--model", "food_security", "--budget", "100000", "--transfer-value", "40000",
                    "--months", "6", "--as", "alice", check=False)
    assert too_small.returncode == 1 and "does not pay one transfer" in too_small.stderr


def test_two_models_side_by_side_and_the_fairness_report(data: Data) -> None:
    shown = run("simulate", "--model", "food_security", "--compare", "protection", "--budget", "10000000",
                "--transfer-value", "40000", "--months", "6", "--as", "alice").stdout
    assert "Food security (Cadre Harmonisé) (run 1)" in shown and "Protection vulnerability (run 2)" in shown
    assert "Selected by both models:" in shown
    report = run("fairness", "--run", "1", "--budget", "10000000", "--transfer-value", "40000", "--months", "6",
                 "--by", "population_group", "--as", "alice").stdout
    assert "Share of the vulnerable" in report and "Host community" in report


def test_runs_are_kept_to_their_organisation_and_to_those_allowed(data: Data) -> None:
    run("score", "--model", "protection", "--as", "alice")
    assert "protection" in run("runs", "--as", "alice").stdout
    assert "protection" not in run("runs", "--as", "bob").stdout
    hidden = run("fairness", "--run", "1", "--as", "bob", check=False)
    assert hidden.returncode == 1 and "No scoring run 1" in hidden.stderr
    viewer = run("score", "--model", "protection", "--as", "vera", check=False)
    assert viewer.returncode == 1 and "You do not have the permission targeting:run" in viewer.stderr


SHIPPED_FOOD = Path(__file__).resolve().parents[2] / "src/jatigi/targeting/models/food_security.toml"


def _model_file(tmp_path: Path, name: str, *, ident: str = "food_security", version: int = 1,
                title: str | None = None, points: str = "cap = 40", pad: int = 0) -> Path:
    text = SHIPPED_FOOD.read_text(encoding="utf-8").replace('id = "food_security"', f'id = "{ident}"', 1)
    text = text.replace("version = 1", f"version = {version}", 1).replace("cap = 40", points, 1)
    if title is not None:
        text = text.replace('en = "Food security (Cadre Harmonisé)"', f'en = "{title}"', 1)
    path = tmp_path / name
    path.write_text(text + "#" * pad + ("\n" if pad else ""), encoding="utf-8")
    return path


def _saved(engine: sa.Engine, name: str) -> list[tuple[int, str]]:
    with session_scope(engine) as s:
        return [(v, t) for v, t in s.execute(sa.select(ModelVersion.version, ModelVersion.title)
                                             .where(ModelVersion.name == name).order_by(ModelVersion.version))]


def test_explain_with_a_model_file_saves_nothing(data: Data, tmp_path: Path, engine: sa.Engine) -> None:
    draft = _model_file(tmp_path, "draft.toml", ident="food_draft", points="cap = 20")
    shown = run("explain", data.idp_poor, "--model", str(draft), "--as", "alice").stdout
    assert f"{data.idp_poor}: Food security (Cadre Harmonisé), version 1" in shown
    assert "Household phase" in shown
    assert _saved(engine, "food_draft") == []
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "targeting.model.save")) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Run)) == 0


def test_a_model_file_is_saved_through_the_stores_rules(data: Data, tmp_path: Path, engine: sa.Engine) -> None:
    def refused(path: Path, command: str = "score") -> str:
        extra = ("--budget", "300000", "--transfer-value", "40000", "--months", "6") if command == "simulate" else ()
        done = run(command, "--model", str(path), *extra, "--as", "alice", check=False)
        assert done.returncode == 1, done.stdout
        return done.stderr

    # The shipped food_security is version 1: a changed text under version 1 is refused, even before
    # anyone has read the models (the shipped versions are counted).
    message = refused(_model_file(tmp_path, "same.toml", points="cap = 30"))
    assert "Version 1 of food_security is saved already: set version = 2" in message
    assert "reserved" in refused(_model_file(tmp_path, "new.toml", ident="new"), "simulate")
    assert "too long" in refused(_model_file(tmp_path, "big.toml", ident="food_big", pad=210 * 1024))
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Run)) == 0  # nothing recorded
    assert _saved(engine, "new") == [] and _saved(engine, "food_big") == []

    # A higher version is saved once; the very same text again reuses it; a lower version is refused.
    long_title = "Sécurité alimentaire " * 15
    v3 = _model_file(tmp_path, "v3.toml", version=3, points="cap = 30", title=long_title)
    run("score", "--model", str(v3), "--as", "alice")
    run("simulate", "--model", str(v3), "--budget", "300000", "--transfer-value", "40000", "--months", "6",
        "--as", "alice")
    saved = _saved(engine, "food_security")
    assert [v for v, _t in saved] == [1, 3]
    assert saved[1][1] == long_title[:200]  # cut to what the column holds
    message = refused(_model_file(tmp_path, "v2.toml", version=2, points="cap = 25"))
    assert "Version 3 of food_security is saved already: set version = 4" in message
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Run)) == 2
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "targeting.model.save")) == 1


def test_a_household_deleted_after_the_run_takes_no_place_in_the_selection(data: Data, tmp_path: Path,
                                                                          engine: sa.Engine) -> None:
    run("score", "--model", "food_security", "--as", "alice")
    with session_scope(engine) as s:
        from jatigi.registry import service

        service.delete_household(session=s, actor=f.actor(s, "alice"), code=data.idp_poor, reason="Doublon")
    out = tmp_path / "targets.csv"
    shown = run("simulate", "--run", "1", "--budget", "300000", "--transfer-value", "40000", "--months", "6",
                "--out", str(out), "--as", "alice").stdout
    # The budget pays one household: the other extremely vulnerable one, not the deleted one.
    assert "1 households selected of 1 vulnerable (100.0 %)" in shown
    with out.open(encoding="utf-8") as fh:
        assert [row["household_code"] for row in csv.DictReader(fh)] == [data.host_poor]


def test_an_unknown_place_is_refused_and_nothing_recorded(data: Data, engine: sa.Engine) -> None:
    for args in (("score", "--model", "food_security"),
                 ("simulate", "--model", "food_security", "--budget", "300000", "--transfer-value", "40000",
                  "--months", "6")):
        done = run(*args, "--place", "ML99", "--as", "alice", check=False)
        assert done.returncode == 1 and "No place with the P-code ML99." in done.stderr
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Run)) == 0


def test_a_partial_budget_is_refused_by_the_fairness_report(data: Data) -> None:
    run("score", "--model", "food_security", "--as", "alice")
    done = run("fairness", "--run", "1", "--budget", "10000000", "--as", "alice", check=False)
    assert done.returncode == 1, done.stdout
    assert "--transfer-value" in done.stderr and "--months" in done.stderr and "Share of" not in done.stdout
    months = run("fairness", "--run", "1", "--budget", "10000000", "--transfer-value", "40000", "--as", "alice",
                 check=False)
    assert months.returncode == 1 and "--months" in months.stderr and "--transfer-value" not in months.stderr


def test_the_second_model_gets_only_the_categories_it_has(data: Data, tmp_path: Path) -> None:
    other = _model_file(tmp_path, "severe.toml", ident="food_severe")
    other.write_text(other.read_text(encoding="utf-8").replace('name = "extreme"', 'name = "severe"'),
                     encoding="utf-8")
    shown = run("simulate", "--model", "food_security", "--compare", str(other), "--categories", "extreme,high",
                "--budget", "10000000", "--transfer-value", "40000", "--months", "6", "--as", "alice").stdout
    assert "(run 1): 2 households selected of 2 vulnerable" in shown
    # The second model has no "extreme": only its "high" counts, and none of these households is high.
    assert "(run 2): 0 households selected of 0 vulnerable" in shown
