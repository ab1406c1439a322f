"""The model language: what it reads, what it refuses (with line and column), and that the SQL and
the plain Python evaluation give the same answer, missing values included."""

from __future__ import annotations

import ast
import os
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

import jatigi.targeting
from jatigi.core.i18n import use_language
from jatigi.targeting.expr import ExprError, parse_expression, unparse
from jatigi.targeting.expr_eval import evaluate
from jatigi.targeting.expr_sql import SqlCompiler
from tests.unit.targeting.model_catalogue import catalogue

CATALOGUE = catalogue()


def text_of(expression: str) -> str:
    return unparse(parse_expression(expression, CATALOGUE).node)


@pytest.mark.parametrize(("expression", "tree"), [
    ("fcs + 2 * 3 > 10 or fcs < 1 and not assessed_today",
     "(((fcs + (2 * 3)) > 10) or ((fcs < 1) and (not assessed_today)))"),
    ("(fcs + 2) * 3 - 1 / 2 >= 0", "((((fcs + 2) * 3) - (1 / 2)) >= 0)"),
    ("-fcs * 2 == -4", "(((-fcs) * 2) == -4)"),
    ("not fcs in (1, 2.5, -3)", "(not (fcs in (1, 2.5, -3)))"),
    ("fcs_category not in ('poor', 'borderline')", "(fcs_category not in ('poor', 'borderline'))"),
    ("current_admin1 == 'it''s'", "(current_admin1 == 'it''s')"),
    ("min(fcs, rcsi, 3) < max(1, 2) and abs(fcs) != coalesce(rcsi, 0)",
     "((min(fcs, rcsi, 3) < max(1, 2)) and (abs(fcs) != coalesce(rcsi, 0)))"),
    ("count_members(age < 5 and has(specific_needs, 'SM-MN')) >= 2",
     "(count_members(((age < 5) and has(specific_needs, 'SM-MN'))) >= 2)"),
    ("displacement_date >= '2013-01-15'", "(displacement_date >= '2013-01-15')"),
    ("female_headed", "(head_sex == 'f')"),
    ("is_missing(fcs) or true", "(is_missing(fcs) or true)"),
])
def test_precedence_and_derived_fields(expression: str, tree: str) -> None:
    assert text_of(expression) == tree


def test_an_expression_names_what_it_reads_and_its_kind() -> None:
    checked = parse_expression("older_people_without_adults and fcs < 21", CATALOGUE)
    assert checked.kind == "boolean"
    assert {"older_people_without_adults", "age", "fcs"} <= checked.fields
    assert parse_expression("fcs / 2", CATALOGUE).kind == "number"


@pytest.mark.parametrize(("expression", "line", "column", "reason"), [
    ("fcs_categry == 'poor'", 4, 9, "Unknown field fcs_categry. Did you mean fcs_category"),
    ("fcs < 21 and zzz", 4, 22, "Unknown field zzz."),
    ("fcs < 'poor'", 4, 13, "Cannot compare a number with a text."),
    ("fcs_category == 'pooor'", 4, 25, "pooor is not a value of fcs_category"),
    ("age < 5", 4, 9, "age is a field of each member: use it inside count_members() or any_member()."),
    ("count_members(fcs < 21) > 0", 4, 23, "Only member fields can be used inside count_members(); fcs is not one."),
    ("any_member(count_members(age < 5) > 1)", 4, 20, "count_members() cannot be used inside any_member()."),
    ("__import__('os')", 4, 9, "Unknown function __import__."),
    ("fcs.__class__", 4, 12, "Unexpected character '.'."),
    ("lambda x: x", 4, 17, "Unexpected character ':'."),
    ("fcs[0] > 1", 4, 12, "Unexpected character '['."),
    ("fcs ** 2 > 1", 4, 14, "Expected a value, found *."),
    ("fcs = 21", 4, 13, "Use == to compare, not =."),
    ("fcs_category == \"poor\"", 4, 25, "Write texts between single quotes"),
    ("fcs_category == 'poor", 4, 25, "A text is not closed"),
    ("1 < fcs < 3", 4, 17, "Comparisons cannot be chained"),
    ("fcs in 1, 2", 4, 16, "After in, write a list in parentheses"),
    ("fcs in (rcsi, 2)", 4, 17, "The list after in may hold only numbers and texts"),
    ("fcs and true", 4, 9, "and needs a condition (true or false), but this is a number."),
    ("min(fcs)", 4, 9, "min() is written min(a, b, …)."),
    ("has(fcs_category, 'poor')", 4, 9, "has() is written has(list, 'CODE', …)."),
    ("has(specific_needs, 'XX')", 4, 13, "specific_needs is a field of each member"),
    ("any_member(has(specific_needs, 'XX'))", 4, 40, "XX is not a value of specific_needs"),
    ("displacement_date > '2013-13-01'", 4, 29, "2013-13-01 is not a date written as YYYY-MM-DD."),
    ("fcs_category < 'poor'", 4, 22, "Only numbers and dates can be compared with <."),
    ("", 4, 9, "The expression is empty."),
    ("fcs > 1)", 4, 16, "Unexpected )."),
    ("(fcs > 1", 4, 17, "Expected ), found the end of the expression."),
    ("fcs > 1\n  and  bogus > 2", 5, 8, "Unknown field bogus."),
    ("exec('1') or eval('1')", 4, 9, "Unknown function exec."),
    ("fcs; import os", 4, 12, "Unexpected character ';'."),
    ("fcs > 123456789012345678", 4, 15, "The number 123456789012345678 is too long."),
])
def test_errors_say_where_and_why(expression: str, line: int, column: int, reason: str) -> None:
    with use_language("en"), pytest.raises(ExprError) as caught:
        parse_expression(expression, CATALOGUE, origin=(4, 9))
    assert (caught.value.line, caught.value.column) == (line, column), caught.value.message
    assert reason in caught.value.reason
    assert caught.value.message.startswith(f"Line {line}, column {column}: ")


def test_a_condition_is_expected_where_a_condition_is_needed() -> None:
    with use_language("en"), pytest.raises(ExprError, match="Expected a condition .* but this is a number"):
        parse_expression("fcs * 2", CATALOGUE, expect="boolean")


def test_errors_are_translated() -> None:
    with use_language("fr"), pytest.raises(ExprError) as caught:
        parse_expression("fcs_categry == 'poor'", CATALOGUE, origin=(2, 1))
    assert caught.value.message.startswith("Ligne 2, colonne 1 : Champ inconnu fcs_categry. Vouliez-vous dire "
                                           "fcs_category")


@pytest.mark.parametrize("expression", [
    "not " * 200 + "assessed_today",
    "(" * 1000 + "fcs" + ")" * 1000 + " > 1",
    "1 + " * 1200 + "1 > fcs",
    "fcs > 1 and " * 500 + "fcs > 1",
    "min(" * 100 + "fcs, 1" + ")" * 100 + " > 1",
    "fcs_category == '" + "x" * 10_000 + "'",
])
def test_deep_or_huge_inputs_are_refused_quickly(expression: str) -> None:
    with use_language("en"), pytest.raises(ExprError, match="too (deeply nested|long)"):
        parse_expression(expression, CATALOGUE)


def test_no_python_code_is_ever_run_from_a_model() -> None:
    """The language's modules call none of eval, exec, compile or __import__."""
    forbidden = {"eval", "exec", "compile", "__import__", "getattr", "globals", "locals"}
    package = Path(jatigi.targeting.__file__).parent
    for name in ("expr.py", "expr_ast.py", "expr_parse.py", "expr_eval.py", "expr_sql.py", "model.py",
                 "model_toml.py", "model_score.py", "fields.py"):
        tree = ast.parse((package / name).read_text())
        calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name)}
        assert not calls & forbidden, name


# --- SQL and Python agree ---------------------------------------------------------------------

METADATA = sa.MetaData()
HOUSEHOLDS = sa.Table(
    "t_households", METADATA,
    sa.Column("household_id", sa.Integer, primary_key=True),
    *[sa.Column(name, sa.Float) for name in ("fcs", "rcsi", "ch_phase", "member_count", "monthly_rent_xof")],
    sa.Column("fcs_category", sa.String(20)), sa.Column("head_sex", sa.String(1)),
    sa.Column("assessed_today", sa.Boolean), sa.Column("displacement_date", sa.Date),
    sa.Column("priority_needs", sa.JSON),
)
MEMBERS = sa.Table(
    "t_members", METADATA,
    sa.Column("household_id", sa.Integer), sa.Column("age", sa.Integer), sa.Column("sex", sa.String(1)),
    sa.Column("relationship", sa.String(20)), sa.Column("specific_needs", sa.JSON),
    *[sa.Column(f"wg_{d}", sa.Integer) for d in ("seeing", "hearing", "walking", "cognition", "selfcare",
                                                 "communication")],
)


def _maybe(rng: random.Random, value: object, missing: float = 0.25) -> object:
    return None if rng.random() < missing else value


def make_rows(seed: int = 5, count: int = 160) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rng = random.Random(seed)
    households, members = [], []
    for hid in range(1, count + 1):
        households.append({
            "household_id": hid, "fcs": _maybe(rng, rng.choice([0, 10.5, 21, 28, 35, 42, 60])),
            "rcsi": _maybe(rng, rng.randint(0, 40)), "ch_phase": _maybe(rng, rng.randint(1, 5)),
            "member_count": _maybe(rng, rng.randint(0, 9)), "monthly_rent_xof": _maybe(rng, rng.choice([0, 5000, 7500])),
            "fcs_category": _maybe(rng, rng.choice(["poor", "borderline", "acceptable"])),
            "head_sex": _maybe(rng, rng.choice("fm")), "assessed_today": _maybe(rng, rng.random() < 0.5),
            "displacement_date": _maybe(rng, date(2012, rng.randint(1, 12), rng.randint(1, 28))),
            "priority_needs": _maybe(rng, rng.sample(["food", "shelter", "health", "wash"], rng.randint(0, 2))),
        })
        for _ in range(rng.randint(0, 4)):
            members.append({
                "household_id": hid, "age": _maybe(rng, rng.randint(0, 80)), "sex": _maybe(rng, rng.choice("fm")),
                "relationship": rng.choice(["head", "child", "spouse", "parent"]),
                "specific_needs": _maybe(rng, rng.sample(["SC-UC", "DS-PM", "SM", "WR-SF", "ER-NF"], rng.randint(0, 2))),
                **{f"wg_{d}": _maybe(rng, rng.randint(1, 4), 0.4) for d in ("seeing", "hearing", "walking",
                                                                             "cognition", "selfcare", "communication")},
            })
    return households, members


class Generator:
    """Random well-typed expressions over the test tables, for the SQL/Python cross-check."""

    NUMBERS = ("fcs", "rcsi", "ch_phase", "member_count", "monthly_rent_xof")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def number(self, depth: int, member: bool = False) -> str:
        leaves = ("age", "wg_seeing", "wg_walking") if member else self.NUMBERS
        if depth <= 0 or self.rng.random() < 0.3:
            return self.rng.choice([*leaves, str(self.rng.choice([0, 1, 2, 3, 21, 35])), "2.5"])
        a, b = self.number(depth - 1, member), self.number(depth - 1, member)
        options = [f"({a} + {b})", f"({a} - {b})", f"({a} * {b})", f"({a} / {b})", f"min({a}, {b})",
                   f"max({a}, {b}, 1)", f"coalesce({a}, {b})", f"abs({a})", f"(-{a})"]
        if not member:
            options.append(f"count_members({self.condition(depth - 1, True)})")
        return self.rng.choice(options)

    def condition(self, depth: int, member: bool = False) -> str:
        if depth <= 0 or self.rng.random() < 0.3:
            return self.leaf(member)
        a, b = self.condition(depth - 1, member), self.condition(depth - 1, member)
        options = [f"({a} and {b})", f"({a} or {b})", f"(not {a})", f"is_missing({self.number(depth - 1, member)})"]
        if not member:
            options.append(f"any_member({self.condition(depth - 1, True)})")
        return self.rng.choice(options)

    def leaf(self, member: bool) -> str:
        op = self.pick("<", "<=", ">", ">=", "==", "!=")
        if member:
            return self.rng.choice([
                f"{self.number(1, True)} {op} {self.number(1, True)}", "sex == 'f'", "has(specific_needs, 'SC', 'DS')",
                "relationship in ('head', 'spouse')", "relationship not in ('child')", "disability", "is_missing(age)",
                "has_any(specific_needs)",
            ])
        return self.rng.choice([
            f"{self.number(2)} {op} {self.number(2)}", "fcs_category == 'poor'", "fcs_category in ('poor', 'borderline')",
            "assessed_today", "has(priority_needs, 'food')", "has_any(priority_needs)",
            f"displacement_date {op} '2012-06-15'",
            "female_headed", "older_people_without_adults", "children_under5 >= 1", "rcsi not in (0, 3, 19)",
        ])


def _same(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = sa.create_engine("sqlite://")
    else:
        cluster = request.getfixturevalue("pg_cluster")
        if cluster is None:
            pytest.skip("PostgreSQL binaries not on PATH")
        name = f"expr{os.getpid()}"
        admin = sa.create_engine(cluster.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        eng = sa.create_engine(cluster.url(name))
    METADATA.create_all(eng)
    households, members = make_rows()
    with eng.begin() as conn:
        conn.execute(HOUSEHOLDS.insert(), households)
        conn.execute(MEMBERS.insert(), members)
    yield eng
    eng.dispose()


def test_sql_and_python_agree_on_random_expressions_with_missing_values(engine: sa.Engine) -> None:
    households, members = make_rows()
    by_household: dict[object, list[dict[str, object]]] = {}
    for member in members:
        by_household.setdefault(member["household_id"], []).append(member)
    generator = Generator(seed=11)
    texts = [generator.condition(3) for _ in range(60)] + [generator.number(3) for _ in range(30)]
    trees = [parse_expression(text, CATALOGUE).node for text in texts]
    sql = SqlCompiler({c.key: c for c in HOUSEHOLDS.c}, MEMBERS)
    sql.collect(trees)
    query = (sa.select(HOUSEHOLDS.c.household_id, *[sql.compile(t).label(f"e{i}") for i, t in enumerate(trees)])
             .select_from(sql.join(HOUSEHOLDS, HOUSEHOLDS.c.household_id)).order_by(HOUSEHOLDS.c.household_id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    assert len(rows) == len(households)
    unknown = 0
    for row, household in zip(rows, households, strict=True):
        for i, tree in enumerate(trees):
            expected = evaluate(tree, household, by_household.get(household["household_id"], []))
            unknown += expected is None
            assert _same(row[i + 1]) == _same(expected), (texts[i], household, row[i + 1], expected)
    assert unknown > 100  # the missing values were exercised


def test_member_counts_come_from_one_grouped_subquery() -> None:
    trees = [parse_expression(text, CATALOGUE).node for text in (
        "count_members(age < 5) > 1", "any_member(age < 5)", "children_under5 >= 2", "any_member(sex == 'f')")]
    sql = SqlCompiler({c.key: c for c in HOUSEHOLDS.c}, MEMBERS)
    sql.collect(trees)
    query = sa.select(*[sql.compile(t) for t in trees]).select_from(sql.join(HOUSEHOLDS, HOUSEHOLDS.c.household_id))
    text = str(query.compile(dialect=sa.dialects.sqlite.dialect()))
    assert text.count("GROUP BY") == 1 and text.count("SELECT") == 2
    assert text.count("LEFT OUTER JOIN") == 1
    assert len(sql.conditions) == 2  # age < 5 counted once for three uses


def test_every_derived_field_of_the_catalogue_is_a_correct_formula() -> None:
    for field in CATALOGUE.values():
        if field.formula:
            text = f"any_member({field.name})" if field.source == "member" else field.name
            if field.kind == "number":
                text = f"count_members({field.name} == true) > 0" if field.source == "member" else f"{field.name} > 0"
            assert parse_expression(text, CATALOGUE).kind == "boolean", field.name


@pytest.mark.parametrize(("needs", "found"), [
    (["SC-UC"], True), (["SC"], True), (["SCX"], False), (["sc-uc"], False), ([], False), (None, False),
    ('["DS-PM", "SC-SC"]', True), ("null", False),
])
def test_has_finds_a_code_or_its_sub_codes_exactly_as_written(needs: object, found: bool) -> None:
    tree = parse_expression("any_member(has(specific_needs, 'SC'))", CATALOGUE).node
    assert evaluate(tree, {}, [{"specific_needs": needs}]) is found


def test_has_any_is_true_for_a_list_with_any_code_and_false_for_an_empty_or_missing_one() -> None:
    catalogue = CATALOGUE
    expression = parse_expression("has_any(priority_needs)", catalogue)
    assert expression.kind == "boolean"
    rows = [{"priority_needs": ["food"]}, {"priority_needs": []}, {"priority_needs": None}]
    assert [evaluate(expression.node, row) for row in rows] == [True, False, False]
    with pytest.raises(ExprError):
        parse_expression("has_any(fcs)", catalogue)
