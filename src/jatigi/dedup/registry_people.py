"""The registry's people as the linkage engine compares them.

Names, sex, birth date and place are read from the live records. The address is not given to
the engine: in the registry it is a landmark ("près de la mosquée", "derrière le marché") that
many households share, and the place's P-code already says where a household lives.

Phones are sealed in the registry; the engine compares them only for exact agreement, so each
person's phone is given to it as its blind index (the keyed hash the registry searches phones
by), never opened: two records with the same number have the same index, and no number leaves
the database in clear. A member without a phone of their own has the household's contact phone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.dedup.prepare import OUTPUT_SCHEMA, normalise_place, place_area, prepare_person
from jatigi.registry.models import Household, Person

CHUNK = 20_000


@dataclass
class RegistryPeople:
    table: pa.Table  # prepare.OUTPUT_SCHEMA; unique_id is the person's id as text
    household_of: dict[int, int] = field(default_factory=dict)  # person id -> household id

    @property
    def count(self) -> int:
        return self.table.num_rows


def _query(conds: Iterable[sa.ColumnElement[bool]]) -> Any:
    return (sa.select(Person.id, Person.household_id, Person.given_name, Person.family_name, Person.sex,
                      Person.birth_date, Person.age_estimated, Person.phone_index, Household.phone_index,
                      Household.current_pcode)
            .join(Household, Household.id == Person.household_id)
            .where(Person.deleted_at.is_(None), Household.deleted_at.is_(None), *conds)
            .order_by(Person.id))


def read_people(session: Session, *conds: sa.ColumnElement[bool], reference: date | None = None) -> RegistryPeople:
    """The people of households that are not deleted (and meet `conds`), prepared for linkage."""
    today = reference or date.today()
    rows: list[dict[str, Any]] = []
    household_of: dict[int, int] = {}
    # What a household's members share is prepared once per household.
    shared: dict[int, dict[str, Any]] = {}
    result = session.execute(_query(conds).execution_options(yield_per=CHUNK))
    for (pid, hid, given, family, sex, born, estimated, phone, household_phone, pcode) in result:
        record = {"given_name": given, "family_name": family, "birth_date": born, "age_estimated": estimated}
        row = {"unique_id": str(pid), **prepare_person(record, reference=today)}
        household = shared.get(hid)
        if household is None:
            place = normalise_place(pcode)
            household = shared[hid] = {"place": place, "place_area": place_area(place), "address": None}
        row.update(household)
        row["sex"] = sex if sex in ("m", "f") else None  # the registry keeps m or f already
        row["phone"] = phone or household_phone
        rows.append(row)
        household_of[pid] = hid
    return RegistryPeople(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), household_of)


def concat(*parts: RegistryPeople) -> RegistryPeople:
    return RegistryPeople(pa.concat_tables([p.table for p in parts]),
                          {k: v for p in parts for k, v in p.household_of.items()})
