"""People lists with planted duplicates, and the truth about them, to measure record linkage.

Several agencies register the same displaced people, each writing them down in its own way.
This module builds such lists: people living in families (brothers share a family name, a
household shares a phone and a commune, many distinct people are called Mamadou Traoré), then
for a share of them one or two more records as another agency wrote them, with the errors
agencies make: spelling variants and typing slips, given and family names swapped, the
patronymic particle dropped (Ag, Walet, Ould, Mint), a birth year off by one or two or only an
estimated age, the phone missing or another family member's, another commune.

Every record carries `true_id`: records with the same `true_id` are the same person. The
spelling variants come from the demo's own table (`demo.names`), not from the linkage engine's
name table, so that the engine is not measured against its own knowledge.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path

from jatigi.demo import names
from jatigi.demo.generator import PHONE_PREFIXES

AGENCIES = ("UNHCR", "OIM", "CRM", "AMSS", "NRC", "DRC")
COLUMNS = ("record_id", "agency", "given_name", "family_name", "sex", "birth_date", "phone", "place", "true_id")
REFERENCE_DAY = date(2013, 10, 15)
THIRD = 0.15  # chance that a person listed twice is listed a third time  # ages are as of the registrations of October 2013


@dataclass
class LinkageRecord:
    record_id: str
    agency: str
    given_name: str
    family_name: str
    sex: str
    birth_date: str
    phone: str
    place: str
    true_id: int


@dataclass
class _Person:
    true_id: int
    given: str
    family: str
    sex: str
    born: date
    phone: str
    place: str
    household_phone: str
    group: str


def _communes() -> list[str]:
    from jatigi.places.service import gazetteer_rows

    return sorted(r.pcode for r in gazetteer_rows() if r.level == 3)


def _new_phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(1_000_000):06d}"


def _household(rng: random.Random, first_id: int, communes: list[str]) -> list[_Person]:
    admin1 = rng.choice(("ML06", "ML07", "ML08", "ML05", "ML04", "SOUTH", "SOUTH", "SOUTH"))
    group = names.group_for_region(rng, admin1)
    place = rng.choice(communes)
    phone = _new_phone(rng)
    father = names.given_name(rng, group, "m")
    patronymic = group in names.PATRONYMIC_GROUPS and rng.random() < 0.7
    family = names.family_name(rng, group)
    size = names.Weighted([(1, 8), (2, 10), (3, 12), (4, 14), (5, 14), (6, 13), (7, 11), (8, 9)]).pick(rng)
    people: list[_Person] = []
    taken: set[str] = set()
    head_sex = "f" if rng.random() < 0.5 else "m"
    for i in range(size):
        adult = i < 2
        sex = head_sex if i == 0 else ("m" if head_sex == "f" else "f") if i == 1 else rng.choice("mf")
        for _try in range(20):
            given = names.given_name(rng, group if i != 1 else names.other_group(rng, group), sex)
            if given not in taken:
                break
        taken.add(given)
        if patronymic:
            fam = names.patronymic(group, sex, father) if not adult else names.patronymic(
                group, sex, names.given_name(rng, group, "m"))
        elif i == 1:
            fam = names.family_name(rng, names.other_group(rng, group))  # a wife keeps her own name
        else:
            fam = family
        year = rng.randint(1950, 1993) if adult else rng.randint(1995, 2013)
        born = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        own = _new_phone(rng) if adult and rng.random() < 0.35 else phone if adult or rng.random() < 0.3 else ""
        people.append(_Person(first_id + i, given, fam, sex, born, own, place, phone, group))
    return people


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:  # a letter dropped
        return text[:i] + text[i + 1:]
    if kind < 0.7:  # two letters swapped
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text[:i] + text[i] + text[i:]  # a letter doubled


def _spelt(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.45:
        return names.variant(rng, name)
    if r < 0.55:
        return _typo(rng, name)
    if r < 0.65:
        return name.upper()
    return name


def _drop_particle(name: str) -> str:
    words = name.split(" ")
    if len(words) > 1 and words[0] in ("Ag", "Walet", "Ould", "Mint"):
        return " ".join(words[1:])
    return name


def _written_date(rng: random.Random, born: date, exact: bool) -> str:
    if not exact:
        r = rng.random()
        if r < 0.35:
            return str(born.year + rng.choice((-2, -1, 1, 2)))
        if r < 0.65:
            return str(born.year)
        if r < 0.8:
            return ""
        age = REFERENCE_DAY.year - born.year + rng.choice((-1, 0, 0, 1))
        return f"{max(age, 0)} ans"
    style = rng.random()
    if style < 0.45:
        return born.isoformat()
    if style < 0.85:
        return born.strftime("%d/%m/%Y")
    return born.strftime("%Y%m%d")


def _record(rng: random.Random, p: _Person, record_id: str, agency: str, copy: bool) -> LinkageRecord:
    given, family = p.given, p.family
    phone, place = p.phone, p.place
    if copy:
        given = _spelt(rng, given) if rng.random() < 0.5 else given
        family = _spelt(rng, family) if rng.random() < 0.5 else family
        if rng.random() < 0.4:
            family = _drop_particle(family)
        if rng.random() < 0.08:
            given, family = family, given
        r = rng.random()
        phone = "" if r < 0.3 else p.household_phone if r < 0.45 else _new_phone(rng) if r < 0.55 else phone
        if rng.random() < 0.3:
            place = p.place[:-2] + f"{rng.randrange(1, 20):02d}"
    exact = not copy or rng.random() < 0.55
    born = _written_date(rng, p.born, exact)
    return LinkageRecord(record_id, agency, given, family, p.sex, born, phone, place, p.true_id)


def people_lists(n_records: int, duplicate_rate: float = 0.2, seed: int = 2013) -> Iterator[LinkageRecord]:
    """About `n_records` records, of which a share `duplicate_rate` are extra records of people
    already listed (as another agency wrote them). Records come in a shuffled order of ids."""
    if n_records < 1:
        return
    if not 0 <= duplicate_rate < 1:
        raise ValueError("duplicate_rate is a share of the records, from 0 to less than 1")
    rng = random.Random(seed)
    communes = _communes()
    # A listed person gets extra records with probability `share`, then a third one with THIRD: the
    # extra records are then `duplicate_rate` of all records, on average.
    share = min(1.0, duplicate_rate / (1 - duplicate_rate) * (1 - THIRD))
    made = 0
    next_id = 0
    while made < n_records:
        family = _household(rng, next_id, communes)
        next_id += len(family)
        for p in family:
            if made >= n_records:
                return
            agency = rng.choice(AGENCIES)
            made += 1
            yield _record(rng, p, f"R{made:08d}", agency, copy=False)
            extra = rng.random() < share
            while extra and made < n_records:
                other = rng.choice([a for a in AGENCIES if a != agency])
                made += 1
                yield _record(rng, p, f"R{made:08d}", other, copy=True)
                extra = rng.random() < THIRD


def write_csv(records: Iterator[LinkageRecord], path: Path, *, with_truth: bool = True) -> int:
    """Write records as a CSV file a user would hand to `jatigi dedup file`; returns the count."""
    columns = [f.name for f in fields(LinkageRecord) if with_truth or f.name != "true_id"]
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        for r in records:
            out.writerow([getattr(r, c) for c in columns])
            n += 1
    return n


def true_pairs(records: list[LinkageRecord]) -> set[tuple[str, str]]:
    """Every pair of record ids that are the same person, each as (smaller id, larger id)."""
    by_person: dict[int, list[str]] = {}
    for r in records:
        by_person.setdefault(r.true_id, []).append(r.record_id)
    pairs: set[tuple[str, str]] = set()
    for ids in by_person.values():
        ids.sort()
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1:])
    return pairs
