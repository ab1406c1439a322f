"""The names a vulnerability model may use: the field catalogue.

A `Field` says what a name holds (its kind), where it comes from (household, member, assessment
or indicator), how to call it in a page (an English msgid) and whether it tells displacement
status. A field with a `formula` is derived: the model language expands the formula wherever the
name is used, so the SQL and Python back-ends compute it the same way and the scope selectable
need not carry it.

The registry part of the default catalogue is built here; the assessment and indicator parts are
passed in by their modules (`default_catalogue(extra=...)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select
from sqlalchemy.sql.functions import FunctionElement

from jatigi.core.i18n import N_
from jatigi.registry import vocab

Kind = Literal["number", "boolean", "text", "date", "codes"]
Source = Literal["household", "member", "assessment", "indicator"]
KINDS: tuple[str, ...] = ("number", "boolean", "text", "date", "codes")
SOURCES: tuple[str, ...] = ("household", "member", "assessment", "indicator")


@dataclass(frozen=True)
class Field:
    """A name usable in a model. `kind` "codes" is a list of codes (a JSON array), read with has()."""

    name: str
    kind: Kind
    source: Source
    label: str
    status: bool = False
    choices: tuple[str, ...] | None = None
    formula: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.source not in SOURCES:
            raise ValueError(f"field {self.name}: bad kind {self.kind!r} or source {self.source!r}")


Catalogue = Mapping[str, Field]

_WG = ("seeing", "hearing", "walking", "cognition", "selfcare", "communication")


def household_fields() -> list[Field]:
    """Fields read from the households table (and its separated relatives)."""

    def f(name: str, kind: Kind, label: str, status: bool = False, choices: Iterable[str] | None = None) -> Field:
        return Field(name, kind, "household", label, status, tuple(choices) if choices is not None else None)

    return [
        f("population_group", "text", N_("Population group"), True, vocab.POPULATION_GROUPS),
        f("displacement_date", "date", N_("Date of displacement"), True),
        f("arrival_date", "date", N_("Date of arrival"), True),
        f("origin_pcode", "text", N_("Place of origin"), True),
        f("intention", "text", N_("Intention"), True, vocab.INTENTIONS),
        f("current_admin1", "text", N_("Region"), False),
        f("current_pcode", "text", N_("Current place"), False),
        f("living_arrangement", "text", N_("Living arrangement"), False, vocab.LIVING_ARRANGEMENTS),
        f("households_in_dwelling", "number", N_("Households in the dwelling"), False),
        f("monthly_rent_xof", "number", N_("Monthly rent (FCFA)"), False),
        f("rent_arrears_xof", "number", N_("Rent arrears (FCFA)"), False),
        f("member_count", "number", N_("Household size"), False),
        f("head_sex", "text", N_("Sex of the head of household"), False, vocab.SEXES),
        f("priority_needs", "codes", N_("Priority needs"), False, vocab.NEEDS),
        f("separated_relatives", "number", N_("Separated relatives"), False),
    ]


def member_fields() -> list[Field]:
    """Fields of one member, usable only inside count_members() and any_member()."""

    def f(name: str, kind: Kind, label: str, choices: Iterable[str] | None = None, formula: str | None = None) -> Field:
        return Field(name, kind, "member", label, False, tuple(choices) if choices is not None else None, formula)

    fields = [
        f("sex", "text", N_("Sex"), vocab.SEXES),
        f("age", "number", N_("Age (years)")),
        f("relationship", "text", N_("Relationship to the head"), vocab.RELATIONSHIPS),
        f("school_attendance", "text", N_("School attendance"), vocab.SCHOOL_ATTENDANCE),
        f("specific_needs", "codes", N_("Specific needs"), vocab.SPECIFIC_NEEDS),
    ]
    fields += [f(f"wg_{domain}", "number", vocab.WG_DOMAINS[domain]) for domain in _WG]
    threshold = vocab.WG_DISABILITY_THRESHOLD
    fields += [
        f("disability", "boolean", N_("Disability (Washington Group)"),
          formula=" or ".join(f"wg_{domain} >= {threshold}" for domain in _WG)),
        f("has_specific_needs", "boolean", N_("Has a specific need"),
          formula="has_any(specific_needs)"),
    ]
    return fields


def derived_fields() -> list[Field]:
    """Household figures written as formulas over the other fields."""

    def f(name: str, kind: Kind, label: str, formula: str) -> Field:
        return Field(name, kind, "household", label, formula=formula)

    adult = f"age >= {vocab.ADULT_AGE} and age < 60"
    return [
        f("female_headed", "boolean", N_("Female-headed household"), "head_sex == 'f'"),
        f("children_under5", "number", N_("Children under 5"), "count_members(age < 5)"),
        f("children", "number", N_("Children under 18"), f"count_members(age < {vocab.ADULT_AGE})"),
        f("adults", "number", N_("Adults aged 18 to 59"), f"count_members({adult})"),
        f("older_people", "number", N_("People aged 60 or more"), "count_members(age >= 60)"),
        f("older_people_without_adults", "boolean", N_("Older people living without adults aged 18 to 59"),
          f"any_member(age >= 60) and count_members({adult}) == 0"),
        f("child_headed", "boolean", N_("Child-headed household"),
          f"any_member(relationship == 'head' and age < {vocab.ADULT_AGE}) or any_member(has(specific_needs, 'SC-CH'))"),
        f("members_with_specific_needs", "number", N_("Members with a specific need"),
          "count_members(has_specific_needs)"),
        f("separated_children", "number", N_("Unaccompanied or separated children"),
          "count_members(has(specific_needs, 'SC'))"),
        f("members_with_disability", "number", N_("Members with a disability (Washington Group)"),
          "count_members(disability)"),
    ]


def default_catalogue(extra: Iterable[Field] = ()) -> dict[str, Field]:
    """The registry's fields plus `extra` (assessment inputs, indicators); a name may appear once."""
    catalogue: dict[str, Field] = {}
    for field in [*household_fields(), *member_fields(), *derived_fields(), *extra]:
        if field.name in catalogue:
            raise ValueError(f"field {field.name} is declared twice")
        catalogue[field.name] = field
    return catalogue


def status_fields(catalogue: Catalogue) -> list[str]:
    return sorted(name for name, field in catalogue.items() if field.status)


# --- Where the registry fields come from, for the scoring query -------------------------------

class AgeOn(FunctionElement[int]):
    """Age in whole years of a birth date on a day: (day as YYYYMMDD − birth as YYYYMMDD) / 10000,
    exact at birthdays and one cheap operation per row (a member table has millions of rows)."""

    type = sa.Integer()
    inherit_cache = True
    name = "age_on"


@compiles(AgeOn, "sqlite")
def _age_on_sqlite(element: AgeOn, compiler: Any, **kw: Any) -> str:
    birth, day = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({day} - CAST(replace({birth}, '-', '') AS INTEGER)) / 10000)"  # dates are stored as YYYY-MM-DD


@compiles(AgeOn)
def _age_on(element: AgeOn, compiler: Any, **kw: Any) -> str:
    birth, day = (compiler.process(c, **kw) for c in element.clauses)
    whole = f"CAST(EXTRACT(YEAR FROM {birth}) * 10000 + EXTRACT(MONTH FROM {birth}) * 100 + EXTRACT(DAY FROM {birth}) AS INTEGER)"
    return f"(({day} - {whole}) / 10000)"


def age_at(birth_date: ColumnElement[Any], as_of: date) -> ColumnElement[int]:
    """Age in whole years on `as_of` (NULL when the birth date is missing)."""
    return AgeOn(birth_date, sa.literal(as_of.year * 10000 + as_of.month * 100 + as_of.day, sa.Integer))


def registry_members(people: FromClause, as_of: date) -> Select:
    """household_id and every stored member field of the living members (neither removed nor
    deceased), age on `as_of`."""
    c = people.c
    columns: list[ColumnElement] = [
        c.household_id, c.sex, age_at(c.birth_date, as_of).label("age"), c.relationship,
        c.school_attendance, c.specific_needs,
    ]
    columns += [c[f"wg_{domain}"] for domain in _WG]
    return sa.select(*columns).where(c.deleted_at.is_(None), c.deceased_on.is_(None))


def registry_households(households: FromClause, separated_relatives: FromClause) -> Select:
    """household_id and every stored household field of the living households."""
    h = households.c
    separated = (
        sa.select(separated_relatives.c.household_id, sa.func.count().label("n"))
        .group_by(separated_relatives.c.household_id)
        .subquery("separated")
    )
    names = [f.name for f in household_fields() if f.name != "separated_relatives"]
    return (
        sa.select(h.id.label("household_id"), *[h[name] for name in names],
                  sa.func.coalesce(separated.c.n, 0).label("separated_relatives"))
        .select_from(households.outerjoin(separated, separated.c.household_id == h.id))
        .where(h.deleted_at.is_(None))
    )
