"""Recording, correcting and deleting household assessments, and reading them with their indicators,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.accounts import service as accounts
from jatigi.core import changes
from jatigi.core.audit import AuditEvent
from jatigi.core.authz import SYSTEM
from jatigi.core.errors import Forbidden, NotFound
from jatigi.registry.service import VersionConflict
from jatigi.targeting import assessments as svc
from jatigi.targeting.indicators import IndicatorParams
from jatigi.targeting.tables import Assessment
from tests import factories as f

PARAMS = IndicatorParams(meb_per_person=20000, smeb_per_person=12000)
FCS = {"FCSStap": 7, "FCSPulse": 3, "FCSDairy": 1, "FCSPr": 2, "FCSVeg": 5, "FCSFruit": 1, "FCSFat": 7,
       "FCSSugar": 7, "FCSCond": 7}
RCSI = {"rCSILessQlty": 3, "rCSIBorrow": 1, "rCSIMealSize": 2, "rCSIMealAdult": 1, "rCSIMealNb": 2}
HHS = {"HHSNoFood": "oui", "HHSNoFood_FR": 3, "HHSBedHung": 0, "HHSNotEat": 1, "HHSNotEat_FR": 1}
LCS = {"Lcs_stress_Saving": 30, "Lcs_stress_DomAsset": 10, "Lcs_crisis_Health": 20, "Lcs_em_Begged": 10}
EXPENDITURE = {"HHExp_Food_Purch_MN_1M": "60 000", "HHExpNFRent_Purch_MN_1M": 25000,
               "HHExpNFMedServ_Purch_MN_1M": 5000, "HHExpNFEduFee_Purch_MN_1M": 0, "HHExpNFWat_Purch_MN_1M": 5000,
               "HHExpNFEnerg_Purch_MN_1M": 5000, "HHExpNFTransp_Purch_MN_1M": 0, "HHExpNFPhone_Purch_MN_1M": 0,
               "HHExpNFOther_Purch_MN_1M": 0, "HHExpNFDebt_Purch_MN_1M": 20000}
FULL = {**FCS, **RCSI, **HHS, **LCS, **EXPENDITURE, "HHSize": 6}


@pytest.fixture
def code(session: Session) -> str:
    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGB")
    f.user(session, "alice", "ONGA", "registration_officer")
    f.user(session, "bob", "ONGB")
    f.user(session, "vera", "ONGA", "viewer")
    return f.household(session, f.actor(session, "alice"))


def record(session: Session, code: str, answers: dict[str, Any], who: str = "alice", **kw: Any) -> Assessment:
    return svc.record_assessment(session=session, actor=f.actor(session, who), code=code, answers=answers,
                                 assessed_on=kw.pop("assessed_on", "2024-06-03"), **kw)


def listed(session: Session, code: str, who: str = "alice") -> list[svc.AssessmentRow]:
    return svc.assessments_of(session=session, actor=f.actor(session, who), code=code, params=PARAMS)


def count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Assessment)) or 0


def test_an_assessment_is_recorded_audited_and_read_with_its_indicators(session: Session, code: str) -> None:
    a = record(session, code, FULL, enumerator="Awa Traoré", assessed_on="03/06/2024")
    assert (a.assessed_on, a.enumerator, a.version, a.source) == (date(2024, 6, 3), "Awa Traoré", 1, "web")

    [row] = listed(session, code)
    i = row.indicators
    # FCS 2x7 + 3x3 + 4x1 + 4x2 + 5 + 1 + 0.5x7 + 0.5x7 = 48 (acceptable above 42); rCSI 3+2+2+3+2 = 12
    assert (i["fcs"], i["fcs_category"], i["rcsi"], i["rcsi_phase"]) == (48, "acceptable", 12, 2)
    # HHS: often (2) + no + rarely (1) = 3, phase 3; savings spent, health spending exhausted: crisis
    assert (i["hhs"], i["hhs_phase"], i["lcs_max"], i["ch_phase"]) == (3, 3, "crisis", 3)
    # 60,000 of 100,000 on food (debt repayment left out); 100,000 / 6 per person: between SMEB and MEB
    assert (round(i["food_expenditure_share"]), round(i["expenditure_per_person"]), i["economic_capacity"]) == (
        60, 16667, "smeb_to_meb")
    assert row.size_from_registry is False
    assert row.answers["HHSNoFood"] == 1 and row.answers["HHExp_Food_Purch_MN_1M"] == 60000

    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_id == code)).all()
    assert "assessment.create" in actions and "assessment.read" in actions
    assert "registry" in session.info.get(changes._PENDING, ())  # scores depend on it: counted at commit


def test_a_module_left_empty_is_not_assessed_but_zeros_are_zeros(session: Session, code: str) -> None:
    record(session, code, {**FCS, **dict.fromkeys(RCSI, 0)})
    [row] = listed(session, code)
    i = row.indicators
    assert (i["fcs"], i["rcsi"], i["rcsi_phase"]) == (48, 0, 1)
    for name in ("hhs", "hhs_phase", "hdds", "lcs_max", "ch_phase", "food_expenditure_share",
                 "expenditure_per_person", "economic_capacity"):
        assert i[name] is None, name
    assert all(row.answers[n] is None for n in ("HHSNoFood", "HDDSVeg", "HHExp_Food_Purch_MN_1M", "HHSize"))


def test_household_size_not_asked_is_the_number_of_members(session: Session, code: str) -> None:
    record(session, code, EXPENDITURE)
    [row] = listed(session, code)
    assert row.size_from_registry is True  # the household has three members: 100,000 / 3
    assert round(row.indicators["expenditure_per_person"]) == 33333
    assert row.indicators["economic_capacity"] == "meb_or_more"


def test_bad_values_are_named_with_what_is_accepted_and_nothing_is_written(session: Session, code: str) -> None:
    answers = {**FCS, "FCSStap": 8, "HHExpNFRent_Purch_MN_1M": -5000, "Lcs_crisis_Health": 25, "FCSStaple": 3,
               "rCSIBorrow": "deux", "HHSNoFood": 1, "HHSBedHung": 0, "HHSNotEat": 0}
    with pytest.raises(svc.AssessmentRefused) as refused:
        record(session, code, answers, assessed_on=(date.today() + timedelta(days=2)).isoformat())
    by_field = {p.column: (p.value, p.message) for p in refused.value.problems}
    assert by_field["FCSStap"] == ("8", "Not accepted; accepted: a whole number of days from 0 to 7.")
    assert by_field["HHExpNFRent_Purch_MN_1M"] == (
        "-5000", "Not accepted; accepted: an amount in FCFA from 0 to 1,000,000,000,000.")
    assert by_field["Lcs_crisis_Health"] == ("25", "Not accepted; accepted: one of 10, 20, 30, 9999.")
    assert by_field["rCSIBorrow"][1] == "Not a number; accepted: a whole number of days from 0 to 7."
    assert by_field["FCSStaple"][1].startswith("Unknown field")
    assert by_field["assessed_on"][1] == "A date in the future is not accepted."
    # The other answers of rCSI and of the expenditure are missing; HHS "yes" needs its frequency.
    assert by_field["rCSIMealSize"][1].startswith("Missing: other answers of \"Reduced coping strategies (rCSI)\"")
    assert "HHExp_Food_Purch_MN_1M" in by_field
    assert by_field["HHSNoFood_FR"][1].startswith("Say how often")
    assert "FCSStap: Not accepted" in refused.value.message
    assert count(session) == 0


def test_nothing_assessed_and_a_bad_date_are_refused(session: Session, code: str) -> None:
    with pytest.raises(svc.AssessmentRefused) as refused:
        record(session, code, {"FCSStap": "", "HHSNoFood_FR": None})
    assert [p.message for p in refused.value.problems] == [
        "Nothing assessed: give the answers of at least one module."]
    with pytest.raises(svc.AssessmentRefused) as refused:
        record(session, code, FCS, assessed_on="31/02/2024")
    assert [(p.column, p.message) for p in refused.value.problems] == [
        ("assessed_on", "Not a date; accepted: YYYY-MM-DD or DD/MM/YYYY.")]
    assert count(session) == 0


def test_only_the_registering_organisation_writes_and_partners_read(session: Session, code: str) -> None:
    with pytest.raises(NotFound):  # bob's organisation does not see the household
        record(session, code, FCS, who="bob")
    with pytest.raises(NotFound):
        listed(session, code, who="bob")
    accounts.create_agreement(session=session, actor=SYSTEM, provider="ONGA", recipient="ONGB",
                              purpose="Cash for rent", signed_on=date(2024, 1, 1))
    record(session, code, FCS)
    assert [r.indicators["fcs"] for r in listed(session, code, who="bob")] == [48]  # shared: bob reads
    with pytest.raises(Forbidden, match="Only the organisation that registered"):
        record(session, code, FCS, who="bob")
    with pytest.raises(Forbidden, match="targeting:assessment:write"):
        record(session, code, FCS, who="vera")
    assert count(session) == 1


def test_a_correction_checks_the_version_and_a_deletion_hides_it(session: Session, code: str) -> None:
    a = record(session, code, FCS)
    alice = f.actor(session, "alice")
    changed = svc.correct_assessment(session=session, actor=alice, code=code, assessment_id=a.id,
                                     answers={**FCS, "FCSPulse": 7}, assessed_on="2024-06-03", expected_version=1)
    assert changed.version == 2
    assert listed(session, code)[0].indicators["fcs"] == 60
    with pytest.raises(VersionConflict):  # a form read at version 1
        svc.correct_assessment(session=session, actor=alice, code=code, assessment_id=a.id, answers=FCS,
                               assessed_on="2024-06-03", expected_version=1)
    with pytest.raises(svc.AssessmentRefused):
        svc.correct_assessment(session=session, actor=alice, code=code, assessment_id=a.id,
                               answers={**FCS, "FCSPulse": 9}, assessed_on="2024-06-03", expected_version=2)
    svc.delete_assessment(session=session, actor=alice, code=code, assessment_id=a.id, expected_version=2)
    assert listed(session, code) == []
    with pytest.raises(NotFound):
        svc.delete_assessment(session=session, actor=alice, code=code, assessment_id=a.id)
    details = session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "assessment.update")).all()
    assert details == [{"assessment": a.id, "fields": ["FCSPulse"]}]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "assessment.delete")) == 1


def test_names_from_kobo_and_other_questionnaires_are_understood() -> None:
    assert svc.stored_input("fcs/fcsstap").name == "FCSStap"  # type: ignore[union-attr]
    assert svc.stored_input("hhs/HHhSNoFood").name == "HHSNoFood"  # type: ignore[union-attr]
    assert svc.stored_input("LcsEN_crisis_Health").name == "Lcs_crisis_Health"  # type: ignore[union-attr]
    assert svc.stored_input("Lcs_em_Unknown") is None and svc.stored_input("wg_seeing") is None


@pytest.mark.parametrize("amount", [10**30, 10**400, "1e400", 1e13], ids=["1e30", "1e400-int", "1e400-text", "1e13"])
def test_amounts_too_large_for_any_household_are_refused_not_a_crash(session: Session, code: str,
                                                                     amount: object) -> None:
    with pytest.raises(svc.AssessmentRefused) as refused:
        record(session, code, {"HHDebt_Est": amount})
    assert [p.column for p in refused.value.problems] == ["HHDebt_Est"]
