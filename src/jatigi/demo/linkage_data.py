"""People lists with planted duplicates, and the truth about them, to measure record linkage.

Several agencies register the same displaced families, each writing them down in its own way.
This module builds such lists, and every choice below is made to look like a 2013 registry:

- **Places are real.** When the OCHA COD-AB folder of Mali is at hand (`COD_DIR`, or the `cod_dir`
  argument) it is read with the project's own COD importer (`places.cod.read_cod_file`, no
  database), as a user loading it would: the 701 communes, the 71 quartiers of Bamako and the
  18,769 populated places. Without it, the built-in gazetteer (27 communes, the quartiers of
  Bamako) is used, with numbered quartiers for the other communes. A commune is where a family
  lives now, a quartier or village within it is part of the address.
- **Where people are is uneven, but spread.** Displaced families of 2013 were mostly in Bamako and
  in Mopti, then Ségou, Koulikoro and the northern towns (`REGION_WEIGHTS`, in the order of the
  2013 displacement reports). Within a region a town commune (the cercle's chief town, a commune of
  Bamako) weighs much more than a rural commune, and a rural commune weighs by how many villages
  it has: every commune can be drawn, most people are in a few.
- **People live in households.** Brothers and sisters share a family name (a patronymic for
  Tamasheq and Moorish families, a wife keeps her own name), the household shares a phone, a
  commune and an address: a quartier and, in towns, a street and door number ("Rue 245, Porte 12"),
  in villages often only the village. Given names in one household mostly differ, but a child is
  sometimes named after the parent they live with (`NAMESAKE_CHILD`); many distinct people in a
  commune are called Mamadou Traoré.
- **Agencies re-register households.** Each record carries the `household` number of the
  registration it was written in. Most duplicates come from a second agency registering the whole
  household again (`WHOLE_HOUSEHOLD` of the time), the others from part of it registered apart (a
  wife and her children, a grown son); a share is registered a third time (`THIRD`).
- **Each agency writes in its own way**, in the first registration as in the later ones: the
  first record is not the clean one. Spelling variants and typing slips, given and family names
  swapped, the patronymic particle dropped (Ag, Walet, Ould, Mint), a birth year written, off by
  one or two, an estimated age or a default 1 January; the phone missing, another member's or a
  new number; the address in the agency's style (`Rue 245 Porte 12`, `R245 P12`, `porte 12 rue
  245`, the quartier only, a landmark, nothing) and the quartier misspelt. A household that moved
  between registrations is in another commune, with another address.
- **No help is planted for the engine.** The errors are those of the issue (and of registries);
  spelling variants come from the demo's own table (`demo.names`), not from the linkage engine's
  name table, so that the engine is not measured against its own knowledge.

Every record carries `true_id`: records with the same `true_id` are the same person.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from jatigi.demo import names
from jatigi.demo.generator import PHONE_PREFIXES

AGENCIES = ("UNHCR", "OIM", "CRM", "AMSS", "NRC", "DRC")
COLUMNS = ("record_id", "agency", "household", "given_name", "family_name", "sex", "birth_date", "phone", "place",
           "address", "true_id")
REFERENCE_DAY = date(2013, 10, 15)  # ages are as of the registrations of October 2013
THIRD = 0.15  # chance that a household registered twice is registered a third time
WHOLE_HOUSEHOLD = 0.75  # a re-registration lists the whole household, else only part of it
MOVED = 0.12  # the household lives in another commune at the later registration
NAMESAKE_CHILD = 0.04  # a child given the name of a parent of the household
# The OCHA COD-AB folder of Mali, beside the project (../shared/data/mali), when present.
COD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "mali"
# Where displaced families were registered in 2013 (admin-1 P-code: weight).
REGION_WEIGHTS = {"ML09": 30, "ML05": 17, "ML04": 12, "ML02": 10, "ML06": 9, "ML07": 9, "ML01": 6, "ML03": 5,
                  "ML08": 2}
TOWN_WEIGHT = 150  # a town commune against one village of a rural commune
LANDMARKS = ("près de la mosquée", "derrière le marché", "à côté de l'école", "près du CSCOM", "chez le chef de quartier")


@dataclass
class LinkageRecord:
    record_id: str
    agency: str
    household: str
    given_name: str
    family_name: str
    sex: str
    birth_date: str
    phone: str
    place: str
    address: str
    true_id: int


@dataclass
class Commune:
    pcode: str
    name: str
    town: bool
    quartiers: list[str] = field(default_factory=list)


@dataclass
class Places:
    communes: list[Commune]
    weights: names.Weighted  # picks an index into communes
    by_cercle: dict[str, list[int]]
    source: str

    def pick(self, rng: random.Random) -> Commune:
        return self.communes[self.weights.pick(rng)]

    def nearby(self, rng: random.Random, commune: Commune) -> Commune:
        """Another commune of the same cercle most of the time (a move across town), else anywhere."""
        same = self.by_cercle.get(commune.pcode[:-2], [])
        if len(same) > 1 and rng.random() < 0.7:
            return self.communes[rng.choice([i for i in same if self.communes[i].pcode != commune.pcode])]
        return self.pick(rng)


def _is_town(pcode: str, name: str, cercle_name: str | None) -> bool:
    return pcode.startswith("ML09") or name.endswith(" Commune") or name == cercle_name


def _weighted(communes: list[Commune], villages: dict[str, int], source: str) -> Places:
    by_region: dict[str, list[int]] = {}
    by_cercle: dict[str, list[int]] = {}
    for i, c in enumerate(communes):
        by_region.setdefault(c.pcode[:4], []).append(i)
        by_cercle.setdefault(c.pcode[:-2], []).append(i)
    pairs: list[tuple[object, float]] = []
    for region, members in by_region.items():
        raw = {i: (TOWN_WEIGHT if communes[i].town else 0) + villages.get(communes[i].pcode, 1) for i in members}
        total = sum(raw.values())
        share = REGION_WEIGHTS.get(region, 1)
        pairs.extend((i, share * w / total) for i, w in raw.items())
    return Places(communes, names.Weighted(pairs), by_cercle, source)


@lru_cache(maxsize=4)
def load_places(cod_dir: Path | None = COD_DIR) -> Places:
    """Communes with their quartiers or villages, from the COD folder when present (read as the COD
    importer reads it), else from the built-in gazetteer."""
    if cod_dir is not None and cod_dir.is_dir():
        try:
            return _cod_places(cod_dir)
        except Exception:  # an unreadable folder: the gazetteer still makes a usable list
            pass
    return _gazetteer_places()


def _cod_places(cod_dir: Path) -> Places:
    from jatigi.places.cod import cod_files_in, read_cod_file

    units = [u for path in cod_files_in(cod_dir) for layer in read_cod_file(path) for u in layer.units]
    cercles = {u.pcode: u.name for u in units if u.level == 2}
    communes = [Commune(u.pcode, u.name, _is_town(u.pcode, u.name, cercles.get(u.parent_pcode or "")))
                for u in units if u.level == 3]
    if not communes:
        raise ValueError("no communes")
    index = {c.pcode: c for c in communes}
    villages: dict[str, int] = {}
    for u in units:
        if u.level == 4 and u.parent_pcode in index:
            index[u.parent_pcode].quartiers.append(u.name)
            villages[u.parent_pcode] = villages.get(u.parent_pcode, 0) + 1
    for c in communes:  # Bamako's quartiers are both polygons and places: each name once
        c.quartiers = sorted(set(c.quartiers)) or [c.name]
    communes.sort(key=lambda c: c.pcode)
    return _weighted(communes, villages, f"COD-AB folder {cod_dir.name}")


def _gazetteer_places() -> Places:
    from jatigi.places.service import gazetteer_rows

    rows = gazetteer_rows()
    cercles = {r.pcode: r.name for r in rows if r.level == 2}
    communes = [Commune(r.pcode, r.name, _is_town(r.pcode, r.name, cercles.get(r.parent_pcode or "")))
                for r in rows if r.level == 3]
    index = {c.pcode: c for c in communes}
    for r in rows:
        if r.level == 4 and r.parent_pcode in index:
            index[r.parent_pcode].quartiers.append(r.name)
    for c in communes:
        if not c.quartiers:
            c.quartiers = [f"Quartier {n}" for n in ("Sud", "Nord", "Est", "Ouest", "Centre", "Plateau", "Gare",
                                                     "Château", "Médine", "Bagadadji", "Sokoro", "Darsalam")]
    communes.sort(key=lambda c: c.pcode)
    return _weighted(communes, {c.pcode: 8 for c in communes}, "built-in gazetteer")


# ---- households -----------------------------------------------------------------------------------


@dataclass
class _Person:
    true_id: int
    given: str
    family: str
    sex: str
    born: date
    phone: str  # their own phone, or the household's, or none
    group: str


@dataclass
class _Home:
    commune: Commune
    quartier: str
    street: int | None  # towns: street and door numbers; villages: none
    door: int | None
    landmark: str


@dataclass
class _Household:
    people: list[_Person]
    phone: str
    home: _Home


def _new_phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(1_000_000):06d}"


def _home(rng: random.Random, commune: Commune) -> _Home:
    quartier = rng.choice(commune.quartiers)
    numbered = commune.town or rng.random() < 0.1
    street = rng.randint(1, 900) if numbered else None
    door = rng.randint(1, 250) if numbered else None
    return _Home(commune, quartier, street, door, rng.choice(LANDMARKS))


def _household(rng: random.Random, first_id: int, places: Places) -> _Household:
    origin = rng.choice(("ML06", "ML07", "ML08", "ML05", "ML04", "SOUTH", "SOUTH", "SOUTH"))
    group = names.group_for_region(rng, origin)
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
        namesake = [q.given for q in people if q.sex == sex] if i >= 2 and rng.random() < NAMESAKE_CHILD else []
        for _try in range(20):
            given = names.given_name(rng, group if i != 1 else names.other_group(rng, group), sex)
            if given not in taken:
                break
        if namesake:  # a child named after a parent living with them
            given = rng.choice(namesake)
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
        people.append(_Person(first_id + i, given, fam, sex, born, own, group))
    return _Household(people, phone, _home(rng, places.pick(rng)))


# ---- how an agency writes a household down ---------------------------------------------------------


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
        if r < 0.3:
            return str(born.year + rng.choice((-2, -1, 1, 2)))
        if r < 0.55:
            return str(born.year)
        if r < 0.65:  # "born about 1980" written as a default first of January
            return date(born.year + rng.choice((-1, 0, 0, 1)), 1, 1).strftime("%d/%m/%Y")
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


_STYLES = {  # how each agency writes an address
    "UNHCR": "{q}, Rue {r}, Porte {p}",
    "OIM": "{q} R{r} P{p}",
    "CRM": "{Q} rue {r} porte {p}",
    "AMSS": "{q}, {landmark}",
    "NRC": "Porte {p} Rue {r} {q}",
    "DRC": "Rue {r} Porte {p}, {q}",
}


def _written_quartier(rng: random.Random, quartier: str) -> str:
    r = rng.random()
    if r < 0.15:
        return _typo(rng, quartier)
    if r < 0.3:
        return names.strip_accents(quartier)
    return quartier


def _address(rng: random.Random, home: _Home, agency: str) -> str:
    r = rng.random()
    if r < 0.2:
        return ""
    q = _written_quartier(rng, home.quartier)
    if home.street is None or r < 0.3:  # a village, or the quartier alone
        return q if rng.random() < 0.8 else f"{q}, {home.landmark}"
    door = home.door
    if rng.random() < 0.05:  # the door number misread
        door = max(1, (door or 1) + rng.choice((-1, 1, 10)))
    text = _STYLES[agency].format(q=q, Q=q.upper(), r=home.street, p=door, landmark=home.landmark)
    if rng.random() < 0.1:  # the door left out
        text = text.replace(f"Porte {door}", "").replace(f"porte {door}", "").replace(f" P{door}", "")
        text = " ".join(text.replace(", ,", ",").split()).strip(" ,")
    return text


@dataclass
class _Registration:
    """One agency's registration of (part of) a household: what it wrote for all its members."""

    agency: str
    number: str
    home: _Home
    phone: str  # the household phone it wrote down ("" when missing, another when it changed)
    household_phone: str  # the household's phone in truth
    address: str  # written once for the household, as the agency writes addresses
    later: bool  # a re-registration: more errors than the first


def _record(rng: random.Random, p: _Person, reg: _Registration, record_id: str) -> LinkageRecord:
    given, family = p.given, p.family
    spelling = 0.5 if reg.later else 0.2
    if rng.random() < spelling:
        given = _spelt(rng, given)
    if rng.random() < spelling:
        family = _spelt(rng, family)
    if rng.random() < (0.4 if reg.later else 0.15):
        family = _drop_particle(family)
    if rng.random() < (0.08 if reg.later else 0.03):
        given, family = family, given
    own = p.phone if p.phone != reg.household_phone else reg.phone  # their own number, or the household's
    r = rng.random()
    phone = "" if r < (0.3 if reg.later else 0.15) else reg.phone if r < 0.45 else own
    exact = rng.random() < (0.55 if reg.later else 0.7)
    born = _written_date(rng, p.born, exact)
    return LinkageRecord(record_id, reg.agency, reg.number, given, family, p.sex, born, phone, reg.home.commune.pcode,
                         reg.address, p.true_id)


def _registration(rng: random.Random, hh: _Household, agency: str, number: int, later: bool,
                  places: Places) -> _Registration:
    home = hh.home
    phone = hh.phone
    if later:
        if rng.random() < MOVED:
            home = _home(rng, places.nearby(rng, home.commune))
        r = rng.random()
        phone = "" if r < 0.2 else _new_phone(rng) if r < 0.35 else phone
    return _Registration(agency, f"{agency}-{number:07d}", home, phone, hh.phone, _address(rng, home, agency), later)


def _subset(rng: random.Random, people: list[_Person]) -> list[_Person]:
    if len(people) == 1 or rng.random() < WHOLE_HOUSEHOLD:
        return list(people)
    k = rng.randint(1, len(people) - 1)
    start = rng.randrange(len(people))
    return [people[(start + i) % len(people)] for i in range(k)]


def people_lists(n_records: int, duplicate_rate: float = 0.2, seed: int = 2013,
                 places: Places | None = None) -> Iterator[LinkageRecord]:
    """About `n_records` records, of which a share `duplicate_rate` are extra records of people
    already listed (as another agency wrote them, mostly whole households again)."""
    if n_records < 1:
        return
    if not 0 <= duplicate_rate < 1:
        raise ValueError("duplicate_rate is a share of the records, from 0 to less than 1")
    rng = random.Random(seed)
    where = places or load_places()
    # A household gets another registration with probability `share`, then a third one with THIRD;
    # a re-registration lists the whole household or, on average, about half of it.
    listed = WHOLE_HOUSEHOLD + (1 - WHOLE_HOUSEHOLD) * 0.55
    extra = duplicate_rate / (1 - duplicate_rate)
    share = min(1.0, extra / (listed * (1 + THIRD)))
    made = 0
    next_id = 0
    numbers = dict.fromkeys(AGENCIES, 0)

    def register(hh: _Household, members: list[_Person], agency: str, later: bool) -> Iterator[LinkageRecord]:
        nonlocal made
        numbers[agency] += 1
        reg = _registration(rng, hh, agency, numbers[agency], later, where)
        for p in members:
            if made >= n_records:
                return
            made += 1
            yield _record(rng, p, reg, f"R{made:08d}")

    while made < n_records:
        hh = _household(rng, next_id, where)
        next_id += len(hh.people)
        agency = rng.choice(AGENCIES)
        yield from register(hh, hh.people, agency, later=False)
        again = rng.random() < share
        used = {agency}
        while again and made < n_records:
            other = rng.choice([a for a in AGENCIES if a not in used])
            used.add(other)
            yield from register(hh, _subset(rng, hh.people), other, later=True)
            again = rng.random() < THIRD and len(used) < len(AGENCIES)


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
