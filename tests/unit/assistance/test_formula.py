"""Entitlement formulas: problems named with their line and column; each component's amount, the cap
and the rounding, computed by hand and by SQL over the registry alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.assistance.entitlement import amounts_query, compute, explain, round_amount
from jatigi.assistance.formula import FormulaError, load_formula, shipped_formulas
from jatigi.registry.models import Household
from tests import factories as f
from tests.unit.assistance import programme_data as d

SIZE = """
[entitlement]
id = "size"
title = { fr = "Taille", en = "Size" }
base = 20000
per_member = 5000
max_members = 4
cap = 52250
round_to = 500

[[top_up]]
id = "rent"
label = { fr = "Loyer", en = "Rent" }
when = "living_arrangement == 'renting'"
amount = "monthly_rent_xof / 3"

[[top_up]]
id = "disability"
label = { fr = "Handicap", en = "Disability" }
when = "members_with_disability > 0"
amount = 3000
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(FormulaError) as caught:
        load_formula(text)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_formulas_are_valid_and_bilingual() -> None:
    shipped = shipped_formulas()
    assert {"household_size", "meb_gap", "rent_support"} <= set(shipped)
    for path in shipped.values():
        formula = load_formula(path.read_text(encoding="utf-8"))
        assert formula.title.fr != formula.title.en
        assert all(t.label.fr and t.label.en for t in formula.top_ups)


def test_a_wrong_field_is_named_with_its_line_and_column() -> None:
    text = SIZE.replace("members_with_disability > 0", "members_with_disabilty > 0")
    [problem] = problems_of(text)
    line = text.splitlines().index('when = "members_with_disabilty > 0"') + 1
    assert problem.startswith(f"Line {line}, column 9, top_up[2].when: Unknown field members_with_disabilty")
    assert "Did you mean members_with_disability" in problem


def test_every_problem_is_listed_in_the_order_of_the_file() -> None:
    text = """[entitlement]
id = "Bad Id"
title = { fr = "x" }
base = -5
amount = "monthly_rent_xof > 3"
cap = 10.5

[values]
member_count = 3

[[top_up]]
id = "rent"
label = { fr = "Loyer", en = "Rent" }
when = "monthly_rent_xof + 1"
"""
    found = problems_of(text)
    assert found[0] == "Line 2, column 6, entitlement.id: Use 1 to 40 lower-case letters, digits and _, " \
                       "starting with a letter."
    assert found[1].startswith("Line 3, column 9, entitlement.title: Expected a French and an English text")
    assert found[2] == "Line 4, column 8, entitlement.base: Expected a whole number from 0 to 1000000000."
    assert found[3] == "Line 5, column 10, entitlement.amount: Give either amount or base (with per_member), not both."
    assert any(p.startswith("Line 5, column 11, entitlement.amount: Expected a number here") for p in found)
    assert "Line 6, column 7, entitlement.cap: Expected a whole number from 1 to 1000000000." in found
    assert "Line 9, column 16, values.member_count: member_count is already a field: choose another name." in found
    assert "Line 11, top_up[1].amount: amount is required: a number of FCFA or an expression." in found
    assert any(p.startswith("Line 14, column 9, top_up[1].when: Expected a condition") for p in found)


def test_bad_toml_and_displacement_status_are_refused() -> None:
    [problem] = problems_of('[entitlement]\nid = "x"\nbase = 10 000\n')
    assert problem.startswith("Line 3, column 11, : This is not valid TOML")
    status = SIZE.replace("living_arrangement == 'renting'", "population_group == 'idp'")
    [problem] = problems_of(status)
    assert "population_group tells displacement status" in problem and "uses_displacement_status" in problem
    declared = status.replace("round_to = 500", "round_to = 500\nuses_displacement_status = true")
    assert load_formula(declared).status_fields == ("population_group",)


def test_each_component_the_cap_and_the_rounding_by_hand() -> None:
    formula = load_formula(SIZE)
    renting = {"living_arrangement": "renting", "monthly_rent_xof": 25_000, "members_with_disability": 0}
    six = [{"age": 30, "wg_walking": 3}] + [{"age": 8}] * 5
    # 20,000 + 5,000 × 4 (at most 4 members) + 25,000 / 3 + 3,000 (one member has a disability)
    result = compute(formula, renting, six)
    parts = {c.id: c.amount for c in result.components}
    assert parts == {"base": 20_000, "members": 20_000, "rent": pytest.approx(8333.333), "disability": 3000}
    assert result.total == pytest.approx(51_333.333) and not result.capped
    assert result.amount == 51_500  # to the nearest 500
    # Two members: 20,000 + 10,000 + 8,333.33 = 38,333.33 -> 38,500; no disability: the top-up is not met
    two = compute(formula, renting, [{"age": 30}, {"age": 3}])
    assert [c.applies for c in two.components if c.id == "disability"] == [False]
    assert two.amount == 38_500
    # Over the cap: 52,250 rounds up to 52,500, above the cap, so down to 52,000.
    rich = compute(formula, {**renting, "monthly_rent_xof": 60_000}, six)
    assert rich.capped and rich.amount == 52_000
    # A condition that cannot be told is not met; a missing rent adds nothing.
    unknown = compute(formula, {"living_arrangement": None, "monthly_rent_xof": None}, [{"age": 40}])
    assert unknown.amount == 25_000


def test_an_amount_that_cannot_be_computed_or_is_negative_gives_zero() -> None:
    formula = load_formula("""[entitlement]
id = "gap"
title = { fr = "Écart", en = "Gap" }
amount = "(meb - expenditure_per_person) * 2"
[values]
meb = 30000
""")
    assert compute(formula, {"expenditure_per_person": None}).amount == 0
    assert compute(formula, {"expenditure_per_person": 45_000}).amount == 0
    assert compute(formula, {"expenditure_per_person": 20_000.4}).amount == 19_999
    assert round_amount(formula, 12_345.5) == (12_346, False)


@pytest.fixture
def registry(session: Session) -> dict[str, str]:
    d.people(session)
    return {"renting": d.household(session, "Aminata", baby=True),
            "free": d.household(session, "Fanta", rent=None, living_arrangement="host_family_free"),
            # three members, one with a disability, paying 60,000 FCFA of rent
            "big": f.household(session, f.actor(session, d.REGISTRAR), monthly_rent_xof=60_000)}


def test_sql_gives_each_household_the_amount_computed_by_hand(session: Session, registry: dict[str, str]) -> None:
    formula = load_formula(SIZE)
    ids = sa.select(Household.id).where(Household.code.in_(registry.values()))
    amounts = {session.scalar(sa.select(Household.code).where(Household.id == row.household_id)): row.amount
               for row in session.execute(amounts_query(formula, ids))}
    # renting, head and a baby: 20,000 + 10,000 + 25,000 / 3 = 38,333.33 -> 38,500
    # host family, one member: 20,000 + 5,000 = 25,000
    # the factory's: 20,000 + 15,000 + 60,000 / 3 + 3,000 = 58,000 -> the cap, 52,250, rounds up past it: 52,000
    assert amounts == {registry["renting"]: 38_500, registry["free"]: 25_000, registry["big"]: 52_000}
    for code, amount in amounts.items():
        shown = explain(session=session, actor=f.actor(session, d.CASH), formula=formula, code=code)
        assert shown.entitlement.amount == amount
    big = explain(session=session, actor=f.actor(session, d.CASH), formula=formula, code=registry["big"])
    assert [(c.id, c.amount) for c in big.entitlement.components][:2] == [("base", 20_000), ("members", 15_000)]
    assert big.entitlement.capped and big.values["living_arrangement"] == "renting"


def test_the_shipped_household_size_formula_over_the_registry(session: Session, registry: dict[str, str]) -> None:
    formula = load_formula(shipped_formulas()["household_size"].read_text(encoding="utf-8"))
    ids = sa.select(Household.id).where(Household.code.in_(registry.values()))
    rows = {row.household_id: row for row in session.execute(amounts_query(formula, ids))}
    renting = rows[d.household_id(session, registry["renting"])]
    # 20,000 + 2 × 5,000 + min(25,000 / 2, 15,000) + 2,500 for the baby
    assert (renting.c_main, renting.t_rent, renting.t_children_under5, renting.amount) == (30_000, 12_500, 2_500,
                                                                                          45_000)
    big = rows[d.household_id(session, registry["big"])]
    assert (big.t_rent, big.t_disability, big.amount) == (15_000, 5000, 20_000 + 15_000 + 15_000 + 5000)
