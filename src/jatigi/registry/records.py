"""Plain records of a household as it enters the registry, whatever it came from.

The importer parses files into these, the demo generator creates them, and the writer stores
them in bulk. They carry values already checked against the code lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class PersonRecord:
    line_no: int
    given_name: str
    family_name: str
    sex: str
    relationship: str
    birth_date: date | None = None
    age_estimated: bool = False
    wg: dict[str, int | None] = field(default_factory=dict)
    school_attendance: str | None = None
    specific_needs: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    phone: str | None = None


@dataclass
class RelativeRecord:
    name: str
    relationship: str
    sex: str | None = None
    age: int | None = None
    last_known_pcode: str | None = None
    whereabouts: str | None = None
    separated_on: date | None = None


@dataclass
class MovementRecord:
    kind: str
    moved_on: date | None = None
    from_pcode: str | None = None
    to_pcode: str | None = None


@dataclass
class ConsentRecord:
    purpose: str
    given: bool
    lawful_basis: str = "consent"


@dataclass
class HouseholdRecord:
    population_group: str
    current_pcode: str
    living_arrangement: str
    registered_on: date
    source_uuid: str | None = None
    address: str | None = None
    origin_pcode: str | None = None
    displacement_date: date | None = None
    arrival_date: date | None = None
    households_in_dwelling: int | None = None
    monthly_rent_xof: int | None = None
    rent_arrears_xof: int | None = None
    intention: str | None = None
    priority_needs: list[str] = field(default_factory=list)
    phone: str | None = None
    enumerator: str | None = None
    consents: list[ConsentRecord] = field(default_factory=list)
    members: list[PersonRecord] = field(default_factory=list)
    relatives: list[RelativeRecord] = field(default_factory=list)
    movements: list[MovementRecord] = field(default_factory=list)
