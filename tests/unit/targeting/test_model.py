"""Vulnerability models as TOML: the shipped models load and score, wrong models are refused with
their line, and displacement status is refused unless a model declares it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jatigi.core.i18n import use_language
from jatigi.targeting.model import Model, ModelError, load_model, load_model_file, model_to_toml, shipped_models
from jatigi.targeting.model_score import score_household, score_select
from tests.unit.targeting.model_catalogue import catalogue

CATALOGUE = catalogue()
WG = ("seeing", "hearing", "walking", "cognition", "selfcare", "communication")


def shipped(name: str) -> Model:
    return load_model_file(shipped_models()[name], CATALOGUE)


def test_the_three_shipped_models_load_and_are_status_neutral() -> None:
    assert sorted(shipped_models()) == ["economic", "food_security", "protection"]
    status = {name for name, field in CATALOGUE.items() if field.status}
    assert {"population_group", "displacement_date", "arrival_date", "origin_pcode"} <= status
    for name in shipped_models():
        model = shipped(name)
        assert model.id == name and model.version == 1
        assert not model.uses_displacement_status and model.status_fields == ()
        assert not model.fields & status
        assert [c.name for c in model.categories] == ["extreme", "high", "moderate", "low"]
        for labels in [model.title, *(c.label for c in model.criteria), *(c.label for c in model.categories)]:
            assert labels.fr.strip() and labels.en.strip()
        assert load_model(model_to_toml(model), CATALOGUE) == model


def test_the_models_read_the_fields_they_are_about() -> None:
    assert {"ch_phase", "fcs_category", "rcsi_phase", "hhs_phase", "lcs_max"} <= shipped("food_security").fields
    assert {"economic_capacity", "expenditure_per_person", "rent_arrears_xof", "HHDebt_Est", "food_expenditure_category",
            "dependency_ratio"} <= shipped("economic").fields
    assert {"specific_needs", "female_headed", "separated_relatives", "members_with_disability", "crowding",
            "older_people_without_adults", "separated_children"} <= shipped("protection").fields


# --- Scoring in SQL and in Python ---------------------------------------------------------------

METADATA = sa.MetaData()
SCOPE = sa.Table(
    "t_scope", METADATA,
    sa.Column("household_id", sa.Integer, primary_key=True),
    *[sa.Column(name, sa.Float) for name in (
        "ch_phase", "fcs", "rcsi_phase", "hhs_phase", "expenditure_per_person", "member_count",
        "monthly_rent_xof", "rent_arrears_xof", "HHDebt_Est", "dependency_ratio", "crowding",
        "households_in_dwelling", "separated_relatives")],
    *[sa.Column(name, sa.String(20)) for name in ("fcs_category", "lcs_max", "economic_capacity", "food_expenditure_category",
                                                          "head_sex")],
)
MEMBERS = sa.Table(
    "t_people", METADATA,
    sa.Column("household_id", sa.Integer), sa.Column("age", sa.Integer), sa.Column("relationship", sa.String(20)),
    sa.Column("specific_needs", sa.JSON), *[sa.Column(f"wg_{d}", sa.Integer) for d in WG],
)


def households(seed: int = 3, count: int = 300) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rng = random.Random(seed)

    def maybe(value: object) -> object:
        return None if rng.random() < 0.2 else value

    rows, people = [], []
    for hid in range(1, count + 1):
        rows.append({
            "household_id": hid, "ch_phase": maybe(rng.randint(1, 5)), "fcs": maybe(rng.randint(0, 80)),
            "fcs_category": maybe(rng.choice(["poor", "borderline", "acceptable"])),
            "rcsi_phase": maybe(rng.randint(1, 3)), "hhs_phase": maybe(rng.randint(1, 5)),
            "lcs_max": maybe(rng.choice(["none", "stress", "crisis", "emergency"])),
            "food_expenditure_category": maybe(rng.choice(["below_50", "50_to_65", "65_to_75", "75_or_more"])),
            "economic_capacity": maybe(rng.choice(["meb_or_more", "smeb_to_meb", "below_smeb"])),
            "expenditure_per_person": maybe(rng.choice([4000, 9000, 15000, 30000])), "member_count": rng.randint(1, 9),
            "monthly_rent_xof": maybe(rng.choice([0, 10000, 25000])),
            "rent_arrears_xof": maybe(rng.choice([0, 10000, 50000, 100000])),
            "HHDebt_Est": maybe(rng.choice([0, 20000, 100000, 500000])),
            "dependency_ratio": maybe(rng.choice([0.5, 1.0, 1.5, 2.5])), "crowding": maybe(rng.choice([1, 2.5, 3, 4])),
            "households_in_dwelling": maybe(rng.randint(1, 4)), "separated_relatives": rng.choice([0, 0, 1, 2]),
            "head_sex": maybe(rng.choice("fm")),
        })
        for line in range(rng.randint(0, 5)):
            people.append({
                "household_id": hid, "age": maybe(rng.choice([2, 8, 15, 30, 45, 65, 80])),
                "relationship": "head" if line == 0 else rng.choice(["child", "spouse", "parent"]),
                "specific_needs": maybe(rng.sample(["SC-UC", "SC-CH", "DS-PM", "SM-CI", "SV-VA", "SP-PT", "ER-NF"],
                                                   rng.randint(0, 2))),
                **{f"wg_{d}": maybe(rng.randint(1, 4)) for d in WG},
            })
    return rows, people


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    eng = sa.create_engine("sqlite://")
    METADATA.create_all(eng)
    rows, people = households()
    with eng.begin() as conn:
        conn.execute(SCOPE.insert(), rows)
        conn.execute(MEMBERS.insert(), people)
    yield eng
    eng.dispose()


@pytest.mark.parametrize("name", ["food_security", "economic", "protection"])
def test_sql_scores_match_the_per_household_python_scores(engine: sa.Engine, name: str) -> None:
    model = shipped(name)
    rows, people = households()
    members: dict[object, list[dict[str, object]]] = {}
    for person in people:
        members.setdefault(person["household_id"], []).append(person)
    with engine.connect() as conn:
        result = {r["household_id"]: r for r in conn.execute(score_select(model, SCOPE, MEMBERS)).mappings()}
    assert len(result) == len(rows)
    categories = set()
    for row in rows:
        expected = score_household(model, row, members.get(row["household_id"], []))
        got = result[row["household_id"]]
        assert got["score"] == pytest.approx(expected.score), row
        for criterion in model.criteria:
            assert got[f"c_{criterion.id}"] == pytest.approx(expected.contributions[criterion.id])
            assert bool(got[f"na_{criterion.id}"]) == (criterion.id in expected.not_assessed), (criterion.id, row)
        assert got["not_assessed"] == len(expected.not_assessed)
        assert got["exclusion"] == expected.exclusion and bool(got["excluded"]) == (expected.exclusion is not None)
        assert got["category"] == expected.category
        categories.add(got["category"])
    assert {"extreme", "high", "moderate", "low"} <= categories or name == "economic"


def test_explain_a_household_criterion_by_criterion() -> None:
    model = shipped("food_security")
    row = {"ch_phase": 4, "fcs": 18, "fcs_category": "poor", "rcsi_phase": None, "hhs_phase": 1, "lcs_max": "none",
           "food_expenditure_category": "50_to_65"}
    result = score_household(model, row, [{"age": 3}, {"age": 30}])
    assert result.contributions["ch_phase"] == 30
    assert result.contributions["fcs_poor"] == 15
    assert result.contributions["young_children_poor_diet"] == 5
    assert result.not_assessed == ("rcsi_high", "rcsi_medium")  # unknown, not zero
    assert (result.score, result.category, result.exclusion) == (50, "high", None)
    nothing = score_household(model, {}, [])
    assert nothing.exclusion == "not_assessed" and nothing.category is None


def test_a_score_criterion_is_capped() -> None:
    model = shipped("protection")
    needs = [{"age": 30, "relationship": "head", "specific_needs": ["DS-PM"]}] * 5
    assert score_household(model, {"head_sex": "m"}, needs).contributions["specific_needs"] == 15


# --- Refused models -----------------------------------------------------------------------------

BAD = '''[model]
id = "test"
version = "one"
title = { fr = "Essai", en = "Test" }
colour = "red"

[[criteria]]
id = "poor"
label = { fr = "Pauvre", en = "Poor" }
when = "fcs_category == 'poor' and fcs < bogus"
points = 10

[[criteria]]
id = "poor"
label = { fr = "Encore" }
points = 5

[[categories]]
name = "low"
label = { fr = "Faible", en = "Low" }
min_score = 0

[[categories]]
name = "high"
label = { fr = "Élevée", en = "High" }
min_score = 10
'''


def test_a_wrong_model_is_refused_with_every_problem_and_its_line() -> None:
    with use_language("en"), pytest.raises(ModelError) as caught:
        load_model(BAD, CATALOGUE)
    found = [(p.line, p.column, p.key, p.reason) for p in caught.value.problems]
    assert found == [
        (3, None, "model.version", "Expected a whole number from 1."),
        (5, None, "model.colour", "Unknown key colour; the keys here are: id, version, title, description, "
                                  "uses_displacement_status."),
        (10, 42, "criteria[1].when", "Unknown field bogus."),
        (13, None, "criteria[2].when", "when is required with points."),
        (14, None, "criteria[2].id", "poor is used twice."),
        (15, None, "criteria[2].label", 'Expected a French and an English text: fr = "…", en = "…".'),
        (26, None, "categories[2].min_score", "Categories must go from the highest min_score to the lowest."),
    ]
    assert "Line 10, column 42, criteria[1].when: Unknown field bogus." in caught.value.message


def test_problems_are_told_in_french() -> None:
    with use_language("fr"), pytest.raises(ModelError) as caught:
        load_model(BAD, CATALOGUE)
    assert "Ligne 10, colonne 42, criteria[1].when : Champ inconnu bogus." in caught.value.message


def _model(criteria: str, head: str = "") -> str:
    return (f'[model]\nid = "m"\nversion = 2\ntitle = {{ fr = "M", en = "M" }}\n{head}\n{criteria}\n'
            '[[categories]]\nname = "all"\nlabel = { fr = "Tous", en = "All" }\nmin_score = 0\n')


@pytest.mark.parametrize(("text", "line", "reason"), [
    ('[model]\nid = "x"\n[[criteria]\n', 3, "This is not valid TOML"),
    ('[[criteria]]\nid = "a"\n', 1, "A [model] table is required."),
    (_model(""), 1, "At least one [[criteria]] is required."),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs < 21"\npoints = 1\nscore = "fcs"\n'),
     6, "Give either points (with when) or a score."),
    (_model('[[criteria]]\nid = "A b"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs < 21"\npoints = 1\n'),
     7, "Use 1 to 40 lower-case letters"),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs * 2"\npoints = 1\n'),
     9, "Expected a condition (true or false) here, but this is a number."),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs < 21"\npoints = "1"\nweight = 2\n'),
     10, "Expected a number."),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs < 21"\npoints = 1\nweight = 2\n'),
     11, "Unknown key weight"),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = """\n  fcs < 21\n  and bogus"""\n'
            'points = 1\n'), 11, "Unknown field bogus."),
    (_model('[[criteria]]\nid = "a"\nlabel = { fr = "A", en = "A" }\nwhen = "fcs < 21"\npoints = 1\n'
            '[[exclusions]]\nid = "e"\nlabel = { fr = "E", en = "E" }\n'), 11, "when is required."),
])
def test_each_kind_of_mistake_is_refused_at_its_line(text: str, line: int, reason: str) -> None:
    with use_language("en"), pytest.raises(ModelError) as caught:
        load_model(text, CATALOGUE)
    assert [(p.line, reason in p.reason) for p in caught.value.problems][:1] == [(line, True)], caught.value.message


STATUS_CRITERION = '''[[criteria]]
id = "idp"
label = { fr = "Déplacé", en = "Displaced" }
when = "population_group == 'idp'"
points = 10

[[exclusions]]
id = "recent"
label = { fr = "Arrivé récemment", en = "Arrived recently" }
when = "arrival_date >= '2014-01-01'"
'''


def test_displacement_status_is_refused_unless_the_model_declares_it() -> None:
    with use_language("en"), pytest.raises(ModelError) as caught:
        load_model(_model(STATUS_CRITERION), CATALOGUE)
    found = [(p.line, p.key, p.reason.split(":")[0]) for p in caught.value.problems]
    assert found == [(9, "criteria[1].when", "population_group tells displacement status"),
                     (15, "exclusions[1].when", "arrival_date tells displacement status")]
    declared = load_model(_model(STATUS_CRITERION, "uses_displacement_status = true"), CATALOGUE)
    assert declared.uses_displacement_status is True
    assert declared.status_fields == ("arrival_date", "population_group")
    assert "uses_displacement_status = true" in model_to_toml(declared)


def test_a_declared_model_scores_like_any_other() -> None:
    model = load_model(_model(STATUS_CRITERION, "uses_displacement_status = true"), CATALOGUE)
    result = score_household(model, {"population_group": "idp", "arrival_date": None})
    assert (result.score, result.category, result.exclusion) == (10, "all", None)
    assert score_household(model, {"population_group": "idp", "arrival_date": "2014-03-01"}).exclusion == "recent"


def test_the_registry_tables_give_the_household_and_member_fields() -> None:
    from datetime import date, datetime

    import jatigi.accounts.models  # noqa: F401 (tables the registry's foreign keys name)
    import jatigi.places.models  # noqa: F401
    from jatigi.core.db import Base
    from jatigi.registry.models import Household, Person, SeparatedRelative
    from jatigi.targeting.fields import registry_households, registry_members

    eng = sa.create_engine("sqlite://")
    tables = [Household.__table__, Person.__table__, SeparatedRelative.__table__]
    Base.metadata.create_all(eng, tables=tables)
    person = {"given_name": "A", "family_name": "B", "given_key": "a", "family_key": "b", "relationship": "child"}
    with eng.begin() as conn:
        conn.execute(sa.insert(Household.__table__), [
            {"id": 1, "code": "H1", "org_id": 1, "population_group": "host", "current_pcode": "ML09",
             "living_arrangement": "renting", "member_count": 3, "head_sex": "f", "registered_on": date(2014, 1, 1)},
            {"id": 2, "code": "H2", "org_id": 1, "population_group": "idp", "current_pcode": "ML09",
             "living_arrangement": "renting", "member_count": 1, "head_sex": "m", "registered_on": date(2014, 1, 1)},
        ])
        for values in [
            {**person, "id": 1, "household_id": 1, "line_no": 1, "sex": "f", "birth_date": date(1950, 6, 2),
             "relationship": "head", "wg_walking": 3},
            {**person, "id": 2, "household_id": 1, "line_no": 2, "sex": "m", "birth_date": date(2010, 6, 1),
             "specific_needs": ["SC-SC"]},
            {**person, "id": 3, "household_id": 1, "line_no": 3, "sex": "m", "birth_date": date(2000, 1, 1),
             "deleted_at": datetime(2013, 1, 1)},
            {**person, "id": 4, "household_id": 2, "line_no": 1, "sex": "m", "birth_date": None, "relationship": "head"},
        ]:
            conn.execute(sa.insert(Person.__table__), values)
        conn.execute(sa.insert(SeparatedRelative.__table__), [{"household_id": 1, "name": "C", "relationship": "sibling"}])
        households = registry_households(Household.__table__, SeparatedRelative.__table__)
        scope = households.add_columns(sa.cast(sa.null(), sa.Float).label("crowding")).subquery()
        members = registry_members(Person.__table__, date(2014, 6, 1)).subquery()
        ages = conn.execute(sa.select(members.c.household_id, members.c.age).order_by(members.c.age)).all()
        assert ages == [(2, None), (1, 4), (1, 63)]  # on 2014-06-01: born 2010-06-01 -> 4, 1950-06-02 -> 63
        rows = {r["household_id"]: r for r in conn.execute(score_select(shipped("protection"), scope, members)).mappings()}
    first = rows[1]
    assert (first["c_female_headed"], first["c_separated_children"], first["c_separated_relatives"],
            first["c_disability"], first["c_older_people_alone"]) == (10, 20, 10, 10, 15)
    assert first["na_overcrowding"] == 1 and first["category"] == "extreme"
    assert rows[2]["score"] == 0 and rows[2]["category"] == "low", dict(rows[2])


def test_a_model_says_which_columns_it_needs() -> None:
    from jatigi.targeting.model_score import needed_columns

    household, member = needed_columns(shipped("protection"), CATALOGUE)
    assert household == ["crowding", "head_sex", "households_in_dwelling", "separated_relatives"]
    assert member == ["age", "relationship", "specific_needs", *[f"wg_{d}" for d in sorted(WG)]]


def test_a_text_nested_thousands_of_levels_deep_is_refused_with_a_reason_not_a_crash() -> None:
    with pytest.raises(ModelError) as refused:
        load_model("a = " + "[" * 5000 + "]" * 5000, CATALOGUE)
    assert "too deeply" in refused.value.problems[0].reason
