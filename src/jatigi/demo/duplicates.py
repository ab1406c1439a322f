"""Households registered twice, by two organisations, each writing the family in its own way.

In Bamako in 2013 several agencies registered the same displaced families. A small share of the
demo households is registered again by another organisation a few weeks later: names respelt
(Mamadou / Mahamadou, Traoré / TRAORE, a letter dropped), an exact birth date now only an age,
a year off by one, the phone sometimes missing, a member sometimes left out. The copy's
submission id is the original's with `dup-` in front, so tests and benchmarks know the truth;
the linkage engine never reads it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date, timedelta

from jatigi.demo import names
from jatigi.demo.generator import REGISTERING_ORGS, registering_org
from jatigi.registry.records import HouseholdRecord, PersonRecord

RATE = 0.03
_NAMESPACE = uuid.UUID("6f0e5a52-3c1d-4b8e-9d2a-7b1c0e4f5a61")


def copy_uuid(original: str) -> str:
    """The submission id of the second registration of the household with this id."""
    return str(uuid.uuid5(_NAMESPACE, original))


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 2)
    if rng.random() < 0.5:
        return text[:i] + text[i + 1:]  # a letter dropped
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]  # two letters swapped


def _respelt(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.35:
        return names.variant(rng, name)
    if r < 0.45:
        return _typo(rng, name)
    if r < 0.55:
        return name.upper()
    if r < 0.65:
        return names.strip_accents(name)
    return name


def _person(rng: random.Random, p: PersonRecord, registered: date) -> PersonRecord:
    born, estimated = p.birth_date, p.age_estimated
    if born is not None and rng.random() < 0.4:
        # Only an age was given this time, perhaps a year off.
        year = born.year + rng.choice((-1, 0, 0, 1))
        born, estimated = date(min(year, registered.year), 1, 1), True
    phone = p.phone if rng.random() < 0.6 else None
    return replace(p, given_name=_respelt(rng, p.given_name), family_name=_respelt(rng, p.family_name),
                   birth_date=born, age_estimated=estimated, phone=phone)


def registered_again(rng: random.Random, record: HouseholdRecord) -> HouseholdRecord:
    """The same household as another organisation wrote it down, some weeks later."""
    registered = record.registered_on + timedelta(days=rng.randint(10, 90))
    members = [_person(rng, p, registered) for p in record.members]
    if len(members) > 3 and rng.random() < 0.3:
        members.pop()  # the last member left out
    members = [replace(p, line_no=i) for i, p in enumerate(members, start=1)]
    original = record.source_uuid or str(uuid.UUID(int=rng.getrandbits(128)))
    return replace(record, source_uuid=copy_uuid(original),
                   registered_on=registered, members=members,
                   phone=record.phone if rng.random() < 0.7 else None,
                   address=record.address if rng.random() < 0.5 else None)


def with_duplicates(records: Iterable[HouseholdRecord], *, seed: int = 2013,
                    rate: float = RATE) -> Iterator[tuple[HouseholdRecord, str]]:
    """Each household with the organisation that registered it, and after a share `rate` of them
    the same household registered again by another organisation."""
    rng = random.Random(f"duplicates:{seed}")
    for record in records:
        org = registering_org(record)
        yield record, org
        if rng.random() < rate:
            other = rng.choice([o for o in REGISTERING_ORGS if o != org])
            yield registered_again(rng, record), other
