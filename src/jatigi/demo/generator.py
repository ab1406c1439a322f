"""A synthetic registry of displaced, returned and host households in Mali, late 2013.

Calibrated to the Refugees International field report of October 2013 and to DOMAIN.md:
- IDPs from Tombouctou, Gao, Kidal and northern Mopti live in the towns of the south (Bamako
  above all, then Mopti, Ségou, Kalabancoro, Kati, Sikasso, Koulikoro, Kayes), beside host
  households (about 35% of all households);
- more than half of IDP households are headed by women (the men stayed in the north or went
  back);
- most IDPs first stayed with host families and now rent (15,000–60,000 FCFA a month, many in
  arrears), up to four or five households to a house;
- about 5% of IDPs want to integrate locally (more in Mopti, where 220 families asked for land);
- returnees live in Tombouctou and Gao; some went back north and came south again
  (displaced → returned → re-displaced, now IDPs again);
- household size 1–14, about six on average (170,000 households ≈ 1,000,000 people).

Every household is drawn from its own random generator seeded by (seed, index), so household
`i` is the same whichever slice is generated, and `generate` streams in constant memory.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from jatigi.demo import names as nm
from jatigi.demo.names import Weighted
from jatigi.registry import vocab
from jatigi.registry.records import (
    ConsentRecord,
    HouseholdRecord,
    MovementRecord,
    PersonRecord,
    RelativeRecord,
)

# --- places (P-codes of the built-in gazetteer) ---------------------------------------------

BAMAKO_COMMUNES = Weighted([("ML090101", 20), ("ML090102", 8), ("ML090103", 7), ("ML090104", 20),
                            ("ML090105", 20), ("ML090106", 25)])
# Where displaced households live; "ML0901" stands for a quartier of Bamako.
SOUTH_PLACES = Weighted([("ML0901", 42), ("ML050109", 18), ("ML040224", 11), ("ML020515", 8),
                         ("ML020518", 6), ("ML030737", 6), ("ML020104", 5), ("ML010112", 4)])
ORIGINS = Weighted([
    ("ML060106", 16), ("ML060308", 5), ("ML060205", 5), ("ML060507", 4),  # Tombouctou
    ("ML070103", 20), ("ML070302", 6), ("ML070201", 6), ("ML070403", 5),  # Gao
    ("ML080102", 6), ("ML080403", 2),  # Kidal
    ("ML050606", 12), ("ML050201", 4),  # Mopti (Douentza, Bandiagara)
])
# Returnees and the host families around them: Tombouctou and Gao.
RETURN_AREAS = Weighted([("ML060106", 28), ("ML060308", 8), ("ML060205", 8), ("ML060507", 6),
                         ("ML070103", 30), ("ML070302", 8), ("ML070201", 7), ("ML070403", 5)])
REFUGEE_RETURN_AREAS = Weighted([("ML060106", 20), ("ML060308", 10), ("ML070103", 20),
                                 ("ML070403", 15), ("ML080102", 20), ("ML080403", 15)])

NEIGHBOURHOODS: dict[str, tuple[str, ...]] = {
    "ML050109": ("Sévaré", "Gangal", "Komoguel", "Bougoufié", "Médina Coura", "Toguel", "Taïkiri",
                 "Mossinkoré", "Sévaré Poudrière"),
    "ML040224": ("Pelengana", "Bougoufié", "Sido Soninkoura", "Hamdallaye", "Darsalam", "Angoulême",
                 "Bagadadji", "Médine"),
    "ML030737": ("Médine", "Wayerma", "Lafiabougou", "Hamdallaye", "Bougoula", "Sanoubougou",
                 "Mancourani"),
    "ML020104": ("Koulikoro Gare", "Souban", "Plateau", "Kolébougou", "Koulikoro Ba"),
    "ML020518": ("Kati Coura", "Malibougou", "Farada", "Sananfara", "Noumorila"),
    "ML020515": ("Kalaban Coura ACI", "Kabala", "Tiébani", "Diatoula", "Sabalibougou Est"),
    "ML010112": ("Légal Ségou", "Khasso", "Plateau", "Liberté", "Kayes N'Di", "Lafiabougou"),
    "ML060106": ("Djingareyber", "Sankoré", "Sareykeyna", "Bellafarandi", "Abaradjou", "Hamabangou"),
    "ML060308": ("Goundam Ville", "Kondi", "Bagadadji"),
    "ML060205": ("Diré Ville", "Tindirma", "Sonni Ali"),
    "ML060507": ("Niafunké", "Soumpi", "Koura"),
    "ML070103": ("Château", "Sosso Koïra", "Aljanabandia", "Farandjiré", "Gadeye", "Saneye"),
    "ML070302": ("Bourem Ville", "Bamba", "Taboye"),
    "ML070201": ("Ansongo Ville", "Bazi Haoussa", "Ouattagouna"),
    "ML070403": ("Ménaka Ville", "Tamalat", "Inékar"),
    "ML080102": ("Etambar", "Aliou", "Intahaka"),
    "ML080403": ("Tessalit", "Aguelhok"),
}
LANDMARKS = ("près de la mosquée", "derrière le marché", "à côté de l'école", "près du château d'eau",
             "face à la pharmacie", "près du CSCOM", "derrière la gare routière", "")


@lru_cache(maxsize=1)
def bamako_quartiers() -> dict[str, tuple[tuple[str, str], ...]]:
    """Quartiers (level 4) of each Bamako commune, with their names, from the gazetteer."""
    from jatigi.places.service import gazetteer_rows

    out: dict[str, list[tuple[str, str]]] = {}
    for row in gazetteer_rows():
        if row.level == 4 and row.pcode.startswith("ML0901"):
            out.setdefault(row.parent_pcode or "", []).append((row.pcode, row.name))
    return {k: tuple(sorted(v)) for k, v in out.items()}


def all_pcodes() -> set[str]:
    """Every P-code the generator may write: all must be in the gazetteer."""
    codes = {pc for pc, _ in (q for qs in bamako_quartiers().values() for q in qs)}
    for w in (SOUTH_PLACES, ORIGINS, RETURN_AREAS, REFUGEE_RETURN_AREAS):
        codes.update(str(c) for c in w.items if c != "ML0901")
    return codes


# --- who, and how they live -----------------------------------------------------------------

IDP, RETURNED, SETTLED, REFUGEE, HOST = (
    "idp", "idp_returned", "idp_settled_elsewhere", "repatriated_refugee", "host",
)
POPULATION = Weighted([(IDP, 44), (RETURNED, 15), (SETTLED, 3), (REFUGEE, 3), (HOST, 35)])
FEMALE_HEAD = {IDP: 0.57, RETURNED: 0.35, SETTLED: 0.45, REFUGEE: 0.35, HOST: 0.22}
CHILD_HEAD = {IDP: 0.012, RETURNED: 0.008, SETTLED: 0.008, REFUGEE: 0.01, HOST: 0.003}
RE_DISPLACED = 0.12  # of IDP households: went back north and came south again
RELATIVES_SEPARATED = {IDP: 0.14, RETURNED: 0.06, SETTLED: 0.08, REFUGEE: 0.10, HOST: 0.01}

SIZE = Weighted([(1, 5), (2, 7), (3, 9), (4, 12), (5, 14), (6, 13), (7, 11), (8, 9), (9, 7),
                 (10, 5), (11, 3), (12, 2), (13, 2), (14, 1)])

ARRANGEMENT = {
    IDP: Weighted([("renting", 60), ("host_family_free", 15), ("host_family_paying", 13),
                   ("collective_site", 4), ("other", 5), ("own_home", 3)]),
    SETTLED: Weighted([("renting", 60), ("own_home", 25), ("host_family_paying", 8), ("other", 7)]),
    RETURNED: Weighted([("own_home", 68), ("host_family_free", 14), ("renting", 10), ("other", 8)]),
    REFUGEE: Weighted([("own_home", 60), ("host_family_free", 22), ("renting", 8), ("other", 10)]),
    HOST: Weighted([("own_home", 62), ("renting", 35), ("other", 3)]),
}
HOUSEHOLDS_IN_DWELLING = {
    "renting": Weighted([(1, 40), (2, 25), (3, 17), (4, 11), (5, 5), (6, 2)]),
    "host_family": Weighted([(2, 52), (3, 25), (4, 13), (5, 8), (6, 2)]),
    "collective_site": Weighted([(3, 20), (4, 30), (5, 30), (6, 20)]),
    "other": Weighted([(1, 60), (2, 25), (3, 10), (4, 5)]),
    HOST: Weighted([(1, 55), (2, 25), (3, 12), (4, 5), (5, 3)]),
}
INTENTION = {
    IDP: Weighted([("return", 51), ("undecided", 39.5), ("stay", 4.5), ("relocate", 5)]),
    "idp_mopti": Weighted([("return", 45), ("undecided", 39), ("stay", 9), ("relocate", 7)]),
    "re_displaced": Weighted([("return", 25), ("undecided", 64), ("stay", 6), ("relocate", 5)]),
    RETURNED: Weighted([("stay", 62), ("undecided", 28), ("relocate", 10)]),
    SETTLED: Weighted([("stay", 85), ("undecided", 10), ("relocate", 5)]),
    REFUGEE: Weighted([("stay", 80), ("undecided", 20)]),
}
# Probability that a household names each need, displaced vs host.
NEEDS_P = {
    "displaced": {"shelter": 0.72, "food": 0.70, "health": 0.35, "education": 0.30, "wash": 0.10,
                  "livelihoods": 0.38, "protection": 0.08, "documentation": 0.10, "nfi": 0.16,
                  "psychosocial": 0.06},
    RETURNED: {"shelter": 0.40, "food": 0.75, "health": 0.45, "education": 0.40, "wash": 0.30,
               "livelihoods": 0.55, "protection": 0.06, "documentation": 0.12, "nfi": 0.15,
               "psychosocial": 0.04},
    HOST: {"shelter": 0.15, "food": 0.60, "health": 0.35, "education": 0.25, "wash": 0.15,
           "livelihoods": 0.45, "protection": 0.02, "documentation": 0.03, "nfi": 0.05,
           "psychosocial": 0.01},
}

# Washington Group: chance of "a lot of difficulty" or worse somewhere, by age.
WG_DOMAINS = tuple(vocab.WG_DOMAINS)
WG_DOMAIN_WEIGHTS = Weighted([("seeing", 30), ("walking", 30), ("hearing", 12), ("cognition", 14),
                              ("selfcare", 7), ("communication", 7)])
DS_CODE = {"seeing": "DS-BD", "hearing": "DS-DF", "walking": "DS-PM", "cognition": "DS-MM",
           "selfcare": "DS-PM", "communication": "DS-SD"}
NEEDS_ORDER = {code: i for i, code in enumerate(vocab.SPECIFIC_NEEDS)}
DOCS_ORDER = {code: i for i, code in enumerate(vocab.DOCUMENTS)}
NEED_CODES = tuple(vocab.NEEDS)

PHONE_PREFIXES = ("65", "66", "67", "69", "70", "71", "73", "74", "75", "76", "77", "78", "79")

WHEREABOUTS = (
    "Resté à {place} pour garder la maison", "Resté à {place}, pas de nouvelles depuis 2012",
    "Parti au Burkina Faso, camp de Mentao", "Parti en Mauritanie, camp de Mbéra",
    "Au Niger, camp de Mangaïzé", "Parti en Algérie chercher du travail",
    "Séparés pendant la fuite, vers Konna", "Séparés à la gare routière de Mopti",
    "Pas de nouvelles depuis janvier 2013", "Emmené par des hommes armés à {place}",
    "Parti à Bamako, adresse inconnue", "",
)
RELATIVE_KIND = Weighted([("spouse", 34), ("child", 30), ("sibling", 20), ("parent", 10),
                          ("other_relative", 6)])

# Dates (ordinals) of the crisis and of the registration round.
D = date.toordinal
REG_START, REG_END = D(date(2013, 10, 1)), D(date(2014, 3, 31))
FLIGHT_PERIODS = Weighted([((D(date(2012, 1, 17)), D(date(2012, 4, 30))), 50),
                           ((D(date(2012, 5, 1)), D(date(2012, 12, 31))), 15),
                           ((D(date(2013, 1, 5)), D(date(2013, 3, 31))), 35)])
FIRST_RETURNS = D(date(2013, 2, 15))

EXACT_DOB = ((5, 0.8), (18, 0.62), (60, 0.5), (200, 0.22))  # (age below, share with exact DOB)
NAME_VARIANT_RATE = 0.07
FAMILY_VARIANT_RATE = 0.06


@dataclass(frozen=True)
class DemoOrganisation:
    acronym: str
    name: str
    kind: str


# --- generation -----------------------------------------------------------------------------


def household_rng(seed: int, index: int) -> random.Random:
    """The random generator of household `index`: its first 128 bits are its submission UUID."""
    return random.Random((seed << 32) ^ index)


def household_uuid(seed: int, index: int) -> str:
    """The submission UUID (`source_uuid`) of household `index` for this seed."""
    return str(uuid.UUID(int=household_rng(seed, index).getrandbits(128), version=4))


def generate(n_households: int, seed: int = 2013, start_uuid: int = 0) -> Iterator[HouseholdRecord]:
    """Stream `n_households` synthetic households, numbered from `start_uuid`.

    The same (seed, index) always gives the same household, so `generate(100, start_uuid=100)`
    continues `generate(100)`.
    """
    gen = _Generator(seed)
    for index in range(start_uuid, start_uuid + n_households):
        yield gen.household(index)


def _enumerator_pools(seed: int) -> dict[str, tuple[str, ...]]:
    rng = random.Random(f"enumerators:{seed}")
    pools: dict[str, tuple[str, ...]] = {}
    for area in ("ML09", "ML05", "ML04", "ML03", "ML02", "ML01", "ML06", "ML07", "ML08"):
        team = []
        for _ in range(6):
            group = nm.ENUMERATOR_GROUPS.pick(rng)
            sex = "f" if rng.random() < 0.4 else "m"
            team.append(f"{nm.given_name(rng, group, sex)} {nm.family_name(rng, group)}")
        pools[area] = tuple(team)
    return pools


class _Family:
    """Names of one household: the language group and how family names are passed on."""

    __slots__ = ("rng", "group", "patronymic", "clan", "father_of_head", "husband",
                 "children_father", "head_is_man")

    def __init__(self, rng: random.Random, group: str) -> None:
        self.rng = rng
        self.group = group
        self.patronymic = group in nm.PATRONYMIC_GROUPS and rng.random() < 0.7
        self.clan = nm.family_name(rng, group)
        self.father_of_head = nm.given_name(rng, group, "m")
        # The (absent) father of a woman head's children.
        self.husband = nm.given_name(rng, group, "m") if self.patronymic else nm.family_name(rng, group)
        self.children_father = self.father_of_head
        self.head_is_man = True

    def name(self, sex: str, father: str | None = None) -> str:
        """The family name of a child of `father` (a given name if patronymic)."""
        if self.patronymic:
            return nm.patronymic(self.group, sex, father or self.father_of_head)
        return self.clan

    def set_head(self, sex: str, given: str) -> None:
        """The children's father: the head, or the absent husband of a woman head."""
        self.children_father = given if sex == "m" else self.husband
        self.head_is_man = sex == "m"

    def child_name(self, sex: str) -> str:
        """The family name of the head's son or daughter."""
        if self.patronymic:
            return nm.patronymic(self.group, sex, self.children_father)
        return self.clan if self.head_is_man else self.husband

    def husband_names(self) -> tuple[str, str]:
        """Given and family name of a woman head's husband."""
        rng = self.rng
        if self.patronymic:
            return self.husband, nm.patronymic(self.group, "m", nm.given_name(rng, self.group, "m"))
        return nm.given_name(rng, self.group, "m"), self.husband

    def parent_of_head(self, sex: str) -> tuple[str, str]:
        rng = self.rng
        if sex == "f":
            return nm.given_name(rng, self.group, "f"), self.outsider("f")
        if self.patronymic:
            return self.father_of_head, nm.patronymic(self.group, "m", nm.given_name(rng, self.group, "m"))
        return self.father_of_head, self.clan

    def outsider(self, sex: str) -> str:
        """The family name of someone who married in, or of a relative on the mother's side."""
        rng = self.rng
        group = nm.other_group(rng, self.group)
        if group in nm.PATRONYMIC_GROUPS and rng.random() < 0.7:
            return nm.patronymic(group, sex, nm.given_name(rng, group, "m"))
        return nm.family_name(rng, group)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.quartiers = bamako_quartiers()
        self.enumerators = _enumerator_pools(seed)

    # -- one household --

    def household(self, index: int) -> HouseholdRecord:
        rng = household_rng(self.seed, index)
        source_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        group = POPULATION.pick(rng)
        registered = _randint(rng, REG_START, REG_END)
        re_displaced = group == IDP and rng.random() < RE_DISPLACED
        hh = HouseholdRecord(population_group=group, current_pcode="", living_arrangement="",
                             registered_on=date.fromordinal(registered), source_uuid=source_uuid)
        self._places_and_moves(rng, hh, registered, re_displaced)
        self._dwelling(rng, hh, re_displaced)
        admin1 = (hh.origin_pcode or hh.current_pcode)[:4]
        if group == HOST and admin1.startswith("ML09"):
            admin1 = "SOUTH"
        family = _Family(rng, nm.group_for_region(rng, admin1))
        head_age = self._members(rng, hh, family, registered)
        if rng.random() < RELATIVES_SEPARATED[group]:
            self._relatives(rng, hh, family, head_age)
        self._needs(rng, hh, re_displaced)
        self._contact_and_consent(rng, hh)
        return hh

    def _south_place(self, rng: random.Random) -> str:
        place: str = SOUTH_PLACES.pick(rng)
        if place == "ML0901":
            place = rng.choice(self.quartiers[BAMAKO_COMMUNES.pick(rng)])[0]
        return place

    def _places_and_moves(self, rng: random.Random, hh: HouseholdRecord, registered: int,
                          re_displaced: bool) -> None:
        group = hh.population_group
        if group == HOST:
            hh.current_pcode = (rng.choice(RETURN_AREAS.items) if rng.random() < 0.15  # type: ignore[assignment]
                                else self._south_place(rng))
            return
        lo, hi = FLIGHT_PERIODS.pick(rng)
        fled = _randint(rng, lo, hi)
        hh.displacement_date = date.fromordinal(fled)
        moves = hh.movements
        if group == REFUGEE:
            origin = REFUGEE_RETURN_AREAS.pick(rng)
            back = _randint(rng, max(fled + 120, D(date(2013, 5, 1))), registered - 3)
            moves.append(MovementRecord("displaced", hh.displacement_date, origin, None))
            moves.append(MovementRecord("returned", date.fromordinal(back), None, origin))
            hh.origin_pcode = hh.current_pcode = origin
            hh.arrival_date = date.fromordinal(back)
            return
        if group == RETURNED:
            origin = RETURN_AREAS.pick(rng)
            refuge = self._south_place(rng)
            back = _randint(rng, max(fled + 30, FIRST_RETURNS), registered - 3)
            moves.append(MovementRecord("displaced", hh.displacement_date, origin, refuge))
            moves.append(MovementRecord("returned", date.fromordinal(back), refuge, origin))
            hh.origin_pcode = hh.current_pcode = origin
            hh.arrival_date = date.fromordinal(back)
            return
        origin = ORIGINS.pick(rng)
        current = self._south_place(rng)
        hh.origin_pcode, hh.current_pcode = origin, current
        arrived = fled + _randint(rng, 1, 21)
        if re_displaced:
            first = current if rng.random() < 0.6 else self._south_place(rng)
            back = _randint(rng, max(arrived + 30, FIRST_RETURNS), registered - 60)
            again = _randint(rng, back + 14, registered - 5)
            moves.append(MovementRecord("displaced", hh.displacement_date, origin, first))
            moves.append(MovementRecord("returned", date.fromordinal(back), first, origin))
            moves.append(MovementRecord("re_displaced", date.fromordinal(again), origin, current))
            hh.arrival_date = date.fromordinal(min(again + _randint(rng, 1, 7), registered))
            return
        if group == SETTLED or rng.random() < 0.10:
            # A first refuge, then a move further south.
            first = self._south_place(rng)
            while first == current:
                first = self._south_place(rng)
            moved = _randint(rng, arrived + 30, registered - 10)
            moves.append(MovementRecord("displaced", hh.displacement_date, origin, first))
            moves.append(MovementRecord("relocated", date.fromordinal(moved), first, current))
            hh.arrival_date = date.fromordinal(moved + _randint(rng, 0, 3))
            return
        moves.append(MovementRecord("displaced", hh.displacement_date, origin, current))
        hh.arrival_date = date.fromordinal(arrived)

    def _dwelling(self, rng: random.Random, hh: HouseholdRecord, re_displaced: bool) -> None:
        group = hh.population_group
        arrangement: str = ARRANGEMENT[group].pick(rng)
        hh.living_arrangement = arrangement
        if group == HOST:
            hh.households_in_dwelling = HOUSEHOLDS_IN_DWELLING[HOST].pick(rng)
        elif arrangement.startswith("host_family"):
            hh.households_in_dwelling = HOUSEHOLDS_IN_DWELLING["host_family"].pick(rng)
        elif arrangement in HOUSEHOLDS_IN_DWELLING:
            hh.households_in_dwelling = HOUSEHOLDS_IN_DWELLING[arrangement].pick(rng)
        else:
            hh.households_in_dwelling = 1
        in_bamako = hh.current_pcode.startswith("ML09")
        if arrangement == "renting":
            top = 60_000 if in_bamako else 40_000
            rent = 2_500 * _randint(rng, 15_000 // 2_500, top // 2_500)
            hh.monthly_rent_xof = rent
            if group != HOST and rng.random() < 0.38:
                hh.rent_arrears_xof = rent * _randint(rng, 1, 4)
            elif group == HOST and rng.random() < 0.12:
                hh.rent_arrears_xof = rent
            else:
                hh.rent_arrears_xof = 0
        elif arrangement == "host_family_paying":
            rent = 2_500 * _randint(rng, 2, 10)
            hh.monthly_rent_xof = rent
            hh.rent_arrears_xof = rent * _randint(rng, 1, 2) if rng.random() < 0.25 else 0
        if group == IDP:
            key = "re_displaced" if re_displaced else (
                "idp_mopti" if hh.current_pcode.startswith("ML05") else IDP)
            hh.intention = INTENTION[key].pick(rng)
        elif group != HOST:
            hh.intention = INTENTION[group].pick(rng)
        hh.address = self._address(rng, hh.current_pcode)

    def _address(self, rng: random.Random, pcode: str) -> str:
        landmark = rng.choice(LANDMARKS)
        if pcode.startswith("ML0901"):
            text = f"Rue {_randint(rng, 1, 650)}, Porte {_randint(rng, 1, 400)}"
        else:
            text = rng.choice(NEIGHBOURHOODS.get(pcode, ("Centre",)))
        return f"{text}, {landmark}" if landmark else text

    # -- members --

    def _members(self, rng: random.Random, hh: HouseholdRecord, family: _Family,
                 registered: int) -> int:
        """Draw the members; returns the age of the head."""
        group = hh.population_group
        size: int = SIZE.pick(rng)
        members: list[tuple[str, str, str, str, int]] = []  # given, family, sex, relation, age
        fam = family.group
        if rng.random() < CHILD_HEAD[group]:
            head_age = _randint(rng, 14, 17)
            head_sex = "f" if rng.random() < 0.5 else "m"
            head_given = nm.given_name(rng, fam, head_sex)
            members.append((head_given, family.name(head_sex), head_sex, "head", head_age))
            for _ in range(min(size, 5) - 1):
                sex = "f" if rng.random() < 0.5 else "m"
                members.append((nm.given_name(rng, fam, sex), family.name(sex), sex, "sibling",
                                _randint(rng, 0, head_age - 1)))
        else:
            head_sex = "f" if rng.random() < FEMALE_HEAD[group] else "m"
            head_age = int(rng.triangular(19, 82, 36))
            head_given = nm.given_name(rng, fam, head_sex)
            members.append((head_given, family.name(head_sex), head_sex, "head", head_age))
            family.set_head(head_sex, head_given)
            self._relations(rng, members, family, size, head_sex, head_age)
        # As registration lists them: head, spouses, children from the eldest, then others.
        members[1:] = sorted(members[1:], key=lambda m: (RELATION_ORDER[m[3]], -m[4]))
        _distinct_given_names(rng, members, fam)
        line = 0
        for given, family_name, sex, relation, age in members:
            line += 1
            hh.members.append(self._person(rng, hh, line, given, family_name, sex, relation, age,
                                           registered))
        self._household_needs_codes(rng, hh, members)
        return members[0][4]

    def _relations(self, rng: random.Random, members: list[tuple[str, str, str, str, int]],
                   family: _Family, size: int, head_sex: str, head_age: int) -> None:
        fam = family.group
        remaining = size - 1
        # Ages of the mothers of the head's children, and the ages their children already have.
        mothers: list[tuple[int, set[int]]] = []
        if head_sex == "f":
            mothers.append((head_age, set()))
        elif remaining > 0 and head_age >= 20 and rng.random() < 0.9:
            wives = 2 if remaining >= 5 and head_age >= 35 and rng.random() < 0.2 else 1
            for _ in range(wives):
                age = max(16, head_age - _randint(rng, 2, 16))
                members.append((nm.given_name(rng, fam, "f"), family.outsider("f"), "f", "spouse", age))
                mothers.append((age, set()))
                remaining -= 1
        else:
            mothers.append((head_age - 6, set()))  # a wife who died, left or stayed behind
        parents = 0
        for _ in range(remaining):
            r = rng.random()
            sex = "f" if rng.random() < 0.5 else "m"
            given = nm.given_name(rng, fam, sex)
            child_age = _child_age(rng, rng.choice(mothers)) if r < 0.74 else None
            if child_age is not None:
                members.append((given, family.child_name(sex), sex, "child", child_age))
            elif r < 0.80 and head_age >= 42:
                members.append((given, family.name(sex, nm.given_name(rng, fam, "m")), sex,
                                "grandchild", _randint(rng, 0, min(14, head_age - 40))))
            elif r < 0.87:
                age = max(0, head_age + _randint(rng, -12, 12))
                members.append((given, family.name(sex), sex, "sibling", age))
            elif r < 0.91 and parents < 2 and head_age < 60:
                parents += 1
                psex = "f" if parents == 1 else "m"
                pgiven, pname = family.parent_of_head(psex)
                members.append((pgiven, pname, psex, "parent", min(95, head_age + _randint(rng, 17, 34))))
            elif r < 0.98:
                members.append((given, family.outsider(sex), sex, "other_relative", _randint(rng, 2, 30)))
            else:
                group = nm.group_for_region(rng, "SOUTH")
                members.append((nm.given_name(rng, group, sex), nm.family_name(rng, group), sex,
                                "unrelated", _randint(rng, 10, 40)))

    def _person(self, rng: random.Random, hh: HouseholdRecord, line: int, given: str,
                family_name: str, sex: str, relation: str, age: int, registered: int) -> PersonRecord:
        displaced = hh.population_group != HOST
        p = PersonRecord(line_no=line,
                         given_name=nm.spelled(rng, given, NAME_VARIANT_RATE),
                         family_name=nm.spelled(rng, family_name, FAMILY_VARIANT_RATE),
                         sex=sex, relationship=relation)
        exact = False
        for limit, share in EXACT_DOB:
            if age < limit:
                exact = rng.random() < share
                break
        reg = date.fromordinal(registered)
        if exact:
            born = date.fromordinal(registered - int(age * 365.25) - _randint(rng, 1, 364))
            p.birth_date = born
        else:
            p.birth_date = date(reg.year - age, 1, 1)
            p.age_estimated = True
        needs = p.specific_needs
        if age >= 5:
            wg = dict.fromkeys(WG_DOMAINS, 1)
            p_dis = (0.04 if age < 18 else 0.07 if age < 40 else 0.16 if age < 60
                     else 0.35 if age < 70 else 0.5)
            if rng.random() < p_dis:
                for _ in range(1 if rng.random() < 0.7 else 2):
                    domain = WG_DOMAIN_WEIGHTS.pick(rng)
                    wg[domain] = 4 if rng.random() < 0.2 else 3
                    needs.append(DS_CODE[domain])
            if rng.random() < 0.10 + age / 400:
                domain = WG_DOMAIN_WEIGHTS.pick(rng)
                if wg[domain] == 1:
                    wg[domain] = 2
            p.wg = wg  # type: ignore[assignment]
        if age < 6:
            p.school_attendance = "not_applicable"
        elif age < 18:
            share = (0.55 if displaced else 0.68) - (0.07 if sex == "f" else 0) - (
                0.15 if age >= 13 else 0)
            if rng.random() < share:
                p.school_attendance = "yes"
            else:
                p.school_attendance = "no"
                if rng.random() < 0.5:
                    needs.append("CR-NE")
                if age >= 12 and rng.random() < 0.1:
                    needs.append("CR-LW")
        if age < 18:
            has_docs = rng.random() < (0.7 if displaced else 0.82)
            p.documents = ["birth_certificate"] if has_docs else ["none"]
            if relation == "spouse":
                needs.extend(("CR-CS", "SV-FM"))
            if age < 5 and rng.random() < (0.045 if displaced else 0.03):
                needs.append("SM-MN")
        else:
            if rng.random() < (0.2 if displaced else 0.07):
                p.documents = ["none"]
            else:
                docs = [d for d, share in (("nina", 0.62), ("birth_certificate", 0.3),
                                           ("passport", 0.03), ("voter_card", 0.45),
                                           ("consular_card", 0.01), ("other", 0.04))
                        if rng.random() < share]
                p.documents = docs or ["nina"]
            if rng.random() < (0.03 if age < 50 else 0.09):
                needs.append("SM-CI")
            if age < 60 and rng.random() < 0.12:
                p.phone = _phone(rng)
            if displaced and rng.random() < 0.015:
                needs.append("TR-WV")
            if sex == "f" and age < 50 and displaced:
                r = rng.random()
                if r < 0.006:
                    needs.append("SV-VO")
                elif r < 0.008:
                    needs.append("SV-VA")
                elif r < 0.010:
                    needs.append("SV-SS")
        if p.documents == ["none"]:
            needs.append("LP-ND")
        if age >= 60 and p.wg.get("selfcare", 1) >= 3:  # type: ignore[operator]
            needs.append("ER-FR")
        return p

    def _household_needs_codes(self, rng: random.Random, hh: HouseholdRecord,
                               members: list[tuple[str, str, str, str, int]]) -> None:
        """Codes that depend on who else is in the household."""
        head = hh.members[0]
        head_age = members[0][4]
        ages = [m[4] for m in members]
        has_spouse = any(m[3] == "spouse" for m in members)
        children = [a for a in ages[1:] if a < 18]
        working_age = [a for a in ages[1:] if 18 <= a < 60]
        if head_age < vocab.ADULT_AGE:
            head.specific_needs.append("SC-CH")
        else:
            if head.sex == "f" and not has_spouse and rng.random() < 0.7:
                head.specific_needs.append("WR-SF")
            if not has_spouse and children and head_age < 60 and rng.random() < 0.6:
                head.specific_needs.append("SP-PT")
            if head_age >= 60 and len(members) == 1:
                head.specific_needs.append("ER-NF")
            elif head_age >= 60 and children and not working_age:
                head.specific_needs.append("ER-MC")
        infants = any(a < 2 for a in ages)
        if infants:
            for person, m in zip(hh.members, members, strict=True):
                if m[2] == "f" and 15 <= m[4] <= 45 and m[3] in ("head", "spouse") and rng.random() < 0.5:
                    person.specific_needs.append("WR-LC")
                    break

    def _relatives(self, rng: random.Random, hh: HouseholdRecord, family: _Family,
                   head_age: int) -> None:
        head = hh.members[0]
        separated = hh.displacement_date or hh.registered_on
        for _ in range(1 if rng.random() < 0.75 else 2):
            # A child heading a household has, above all, lost sight of its parents.
            kind = "parent" if head_age < vocab.ADULT_AGE else RELATIVE_KIND.pick(rng)
            if kind == "spouse":
                sex = "m" if head.sex == "f" else "f"
            else:
                sex = "f" if rng.random() < 0.5 else "m"
            if kind == "spouse" and sex == "m":
                given, family_name = family.husband_names()
                age = head_age + _randint(rng, 0, 15)
            elif kind == "spouse":
                given, family_name = nm.given_name(rng, family.group, sex), family.outsider(sex)
                age = max(16, head_age - _randint(rng, 0, 15))
            elif kind == "parent":
                given, family_name = family.parent_of_head(sex)
                age = head_age + _randint(rng, 17, 34)
            elif kind == "child" and head_age >= 30:
                given, family_name = nm.given_name(rng, family.group, sex), family.child_name(sex)
                age = _randint(rng, 6, min(head_age - 16, 35))
            elif kind == "sibling" or kind == "child":
                kind = "sibling"
                given, family_name = nm.given_name(rng, family.group, sex), family.name(sex)
                age = max(1, head_age + _randint(rng, -12, 12))
            else:
                given, family_name = nm.given_name(rng, family.group, sex), family.outsider(sex)
                age = _randint(rng, 5, 50)
            if given == head.given_name:
                given = nm.given_name(rng, family.group, sex)
            last = (hh.origin_pcode if rng.random() < 0.6 else
                    ORIGINS.pick(rng) if rng.random() < 0.5 else None)
            place = _place_name(last) if last else "Tombouctou"
            hh.relatives.append(RelativeRecord(
                name=f"{given} {family_name}", relationship=kind, sex=sex, age=min(age, 95),
                last_known_pcode=last,
                whereabouts=rng.choice(WHEREABOUTS).format(place=place) or None,
                separated_on=separated + timedelta(days=_randint(rng, 0, 10)),
            ))
        head.specific_needs.append("FU-TR")
        if rng.random() < 0.2:
            head.specific_needs.append("FU-FR")

    # -- household-level answers --

    def _needs(self, rng: random.Random, hh: HouseholdRecord, re_displaced: bool) -> None:
        group = hh.population_group
        key = HOST if group == HOST else RETURNED if group in (RETURNED, REFUGEE) else "displaced"
        chances = NEEDS_P[key]
        needs = [n for n in NEED_CODES if rng.random() < chances[n]]
        if hh.rent_arrears_xof and "shelter" not in needs:
            needs.insert(0, "shelter")
        if any("none" in m.documents for m in hh.members[:1]) and "documentation" not in needs:
            needs.append("documentation")
        if not needs:
            needs = ["food"]
        order = {n: i for i, n in enumerate(NEED_CODES)}
        hh.priority_needs = sorted(needs, key=order.__getitem__)[:5]
        if re_displaced:
            hh.members[0].specific_needs.append("LP-MD")
        for person in hh.members:
            if len(person.specific_needs) > 1:
                person.specific_needs = sorted(set(person.specific_needs), key=NEEDS_ORDER.__getitem__)

    def _contact_and_consent(self, rng: random.Random, hh: HouseholdRecord) -> None:
        if rng.random() < 0.85:
            hh.phone = _phone(rng)
        area = hh.current_pcode[:4]
        hh.enumerator = rng.choice(self.enumerators.get(area, self.enumerators["ML09"]))
        tracing = bool(hh.relatives)
        hh.consents = [
            ConsentRecord("registration", True),
            ConsentRecord("data_sharing", rng.random() < 0.9),
            ConsentRecord("referral", rng.random() < 0.88),
        ]
        if tracing or rng.random() < 0.5:
            hh.consents.append(ConsentRecord("tracing", rng.random() < (0.95 if tracing else 0.75)))
        hh.consents.append(ConsentRecord("contact", hh.phone is not None and rng.random() < 0.93))


def _child_age(rng: random.Random, mother: tuple[int, set[int]]) -> int | None:
    """The age of one more child of this mother, or None if she cannot have another."""
    mother_age, taken = mother
    lo, hi = max(0, mother_age - 44), min(mother_age - 16, 40)
    for _ in range(6):
        if lo > hi:
            return None
        age = lo + int((hi - lo + 1) * rng.random() ** 1.3)
        if all(abs(age - t) >= 2 for t in taken) or rng.random() < 0.03:  # twins now and then
            taken.add(age)
            return age
    return None


def _randint(rng: random.Random, lo: int, hi: int) -> int:
    """`rng.randint`, without its argument checks: this runs millions of times."""
    return lo + int(rng.random() * (hi - lo + 1))


RELATION_ORDER = {r: i for i, r in enumerate(vocab.RELATIONSHIPS)}


def _distinct_given_names(rng: random.Random, members: list[tuple[str, str, str, str, int]],
                          group: str) -> None:
    """Brothers and sisters rarely share a given name: draw again, a few times at most."""
    seen: set[str] = set()
    for i, (given, family_name, sex, relation, age) in enumerate(members):
        tries = 0
        while given in seen and tries < 4:
            given = nm.given_name(rng, group, sex)
            tries += 1
        seen.add(given)
        members[i] = (given, family_name, sex, relation, age)


def _phone(rng: random.Random) -> str:
    """A Malian mobile number, written as people write them."""
    digits = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(1_000_000):06d}"
    style = rng.random()
    if style < 0.45:
        return " ".join(digits[i:i + 2] for i in range(0, 8, 2))
    if style < 0.65:
        return digits
    if style < 0.82:
        return "+223" + digits
    if style < 0.92:
        return "00223" + digits
    return "+223 " + " ".join(digits[i:i + 2] for i in range(0, 8, 2))


@lru_cache(maxsize=64)
def _place_name(pcode: str) -> str:
    from jatigi.places.service import gazetteer_rows

    for row in gazetteer_rows():
        if row.pcode == pcode:
            return row.name.replace(" Commune", "")
    return pcode


# --- organisations, users and agreements of the demo ----------------------------------------

DEMO_PASSWORD = "jatigi-demo-2013"

ORGANISATIONS = (
    DemoOrganisation("UNHCR", "Haut Commissariat des Nations Unies pour les réfugiés", "un_agency"),
    DemoOrganisation("OCHA", "Bureau de la coordination des affaires humanitaires", "un_agency"),
    DemoOrganisation("IOM", "Organisation internationale pour les migrations", "un_agency"),
    DemoOrganisation("WFP", "Programme alimentaire mondial", "un_agency"),
    DemoOrganisation("NRC", "Norwegian Refugee Council", "ingo"),
    DemoOrganisation("DRC", "Danish Refugee Council", "ingo"),
    DemoOrganisation("AMSS", "Association Malienne pour la Survie au Sahel", "nngo"),
    DemoOrganisation("DGPC", "Direction Générale de la Protection Civile", "government"),
    DemoOrganisation("ECHO", "European Civil Protection and Humanitarian Aid Operations", "donor"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    org: str
    role: str
    full_name: str


DEMO_USERS = (
    DemoUser("admin", "UNHCR", "admin", "Administrateur Jatigi"),
    DemoUser("im.unhcr", "UNHCR", "im_officer", "Aminata Traoré"),
    DemoUser("enum.unhcr", "UNHCR", "registration_officer", "Moussa Diarra"),
    DemoUser("cash.unhcr", "UNHCR", "cash_officer", "Mariam Keïta"),
    DemoUser("finance.unhcr", "UNHCR", "cash_officer", "Oumar Sidibé"),
    DemoUser("pfp.unhcr", "UNHCR", "protection_focal_point", "Assitan Coulibaly"),
    DemoUser("im.amss", "AMSS", "im_officer", "Alhousseini Maïga"),
    DemoUser("cw.amss", "AMSS", "caseworker", "Awa Sanogo"),
    DemoUser("cw2.amss", "AMSS", "caseworker", "Salif Touré"),
    DemoUser("sup.amss", "AMSS", "protection_supervisor", "Djénéba Coulibaly"),
    DemoUser("enum.amss", "AMSS", "registration_officer", "Fadimata Walet Intallah"),
    DemoUser("im.nrc", "NRC", "im_officer", "Ingrid Solberg"),
    DemoUser("enum.nrc", "NRC", "registration_officer", "Boubacar Cissé"),
    DemoUser("cw.nrc", "NRC", "caseworker", "Fanta Camara"),
    DemoUser("enum.drc", "DRC", "registration_officer", "Oumou Dembélé"),
    DemoUser("enum.iom", "IOM", "registration_officer", "Seydou Coulibaly"),
    DemoUser("enum.dgpc", "DGPC", "registration_officer", "Kadiatou Sangaré"),
    DemoUser("viewer.ocha", "OCHA", "viewer", "Hawa Konaté"),
    DemoUser("viewer.wfp", "WFP", "viewer", "Ibrahim Haïdara"),
    DemoUser("viewer.echo", "ECHO", "viewer", "Claire Dubois"),
)

# (provider, recipient, purpose): the recipient sees the provider's households.
AGREEMENTS = (
    ("AMSS", "UNHCR", "Protection monitoring and case management of IDPs"),
    ("NRC", "UNHCR", "Protection cluster: shelter and rent support to IDPs"),
    ("DRC", "UNHCR", "Protection cluster: family tracing and referrals"),
    ("IOM", "UNHCR", "Displacement tracking and registration of returnees"),
    ("UNHCR", "WFP", "Targeting of food and cash assistance by vulnerability"),
    ("AMSS", "NRC", "Referral of IDP tenants in arrears for rent support"),
)
AGREEMENTS_SIGNED_ON = date(2013, 9, 16)

# Which organisation registered a household, by where it lives.
REGISTERING_ORGS = ("UNHCR", "AMSS", "NRC", "DRC", "IOM", "DGPC")
ORG_BY_AREA = {
    "ML09": Weighted([("UNHCR", 30), ("IOM", 22), ("NRC", 20), ("AMSS", 12), ("DRC", 10), ("DGPC", 6)]),
    "ML05": Weighted([("UNHCR", 35), ("NRC", 20), ("DRC", 22), ("IOM", 13), ("AMSS", 5), ("DGPC", 5)]),
    "ML06": Weighted([("AMSS", 45), ("UNHCR", 25), ("IOM", 15), ("NRC", 10), ("DGPC", 5)]),
    "ML07": Weighted([("AMSS", 25), ("DRC", 30), ("UNHCR", 25), ("IOM", 15), ("DGPC", 5)]),
    "ML08": Weighted([("UNHCR", 60), ("IOM", 40)]),
    "other": Weighted([("UNHCR", 35), ("IOM", 25), ("DRC", 15), ("NRC", 15), ("DGPC", 10)]),
}


def registering_org(record: HouseholdRecord) -> str:
    """The acronym of the organisation that registered a household (deterministic)."""
    pick = ORG_BY_AREA.get(record.current_pcode[:4], ORG_BY_AREA["other"])
    rng = random.Random(record.source_uuid)
    return pick.pick(rng)  # type: ignore[no-any-return]
