"""Malian names for the synthetic registry, by language group, with the spelling variants that
turn up when the same name is written down by different enumerators.

Naming customs kept here because they matter to record linkage:
- Bambara, Peul, Songhai, Soninke and Dogon families pass the family name from father to
  children; married women keep their own family name.
- Tamasheq and Moorish (Arabic-speaking) families often use a patronymic instead: "Ag" (son
  of) / "Walet" (daughter of) and "Ould" / "Mint" followed by the father's given name, so
  brothers share a family name that differs from their father's. Some use a clan name
  (Ansari, Kounta, Haïdara) for the whole family.
"""

from __future__ import annotations

import random
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate


class Weighted:
    """A fast weighted choice over a fixed population."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs: Sequence[tuple[object, float]]) -> None:
        self.items = tuple(p[0] for p in pairs)
        self.cum = tuple(accumulate(p[1] for p in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):  # type: ignore[no-untyped-def]
        return self.items[bisect(self.cum, rng.random() * self.total)]


BAMBARA, PEUL, SONGHAI, TAMASHEQ, ARAB, SONINKE, DOGON = (
    "bambara", "peul", "songhai", "tamasheq", "arab", "soninke", "dogon",
)
PATRONYMIC_GROUPS = frozenset({TAMASHEQ, ARAB})
# Prefix for a man / a woman in patronymic names.
PATRONYMIC_PREFIX = {TAMASHEQ: ("Ag", "Walet"), ARAB: ("Ould", "Mint")}

FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    BAMBARA: ("Traoré", "Diarra", "Coulibaly", "Keïta", "Konaté", "Diakité", "Sangaré", "Camara",
              "Dembélé", "Sidibé", "Doumbia", "Koné", "Sanogo", "Samaké", "Kanté", "Fofana",
              "Bagayoko", "Mariko", "Kouyaté", "Sissoko", "Diabaté", "Ballo", "Togola", "Konaré",
              "Traoré", "Coulibaly", "Diarra", "Keïta"),
    PEUL: ("Diallo", "Barry", "Bah", "Sow", "Cissé", "Touré", "Sidibé", "Sangaré", "Dicko",
           "Boly", "Tall", "Bocoum", "Diallo", "Barry", "Cissé"),
    SONGHAI: ("Maïga", "Touré", "Cissé", "Haïdara", "Dicko", "Yattara", "Arby", "Alpha",
              "Kontao", "Maïga", "Maïga", "Touré", "Cissé"),
    SONINKE: ("Sylla", "Doucouré", "Sacko", "Soumaré", "Tounkara", "Kanouté", "Dramé", "Diawara",
              "Niakaté", "Gassama", "Cissé", "Touré"),
    DOGON: ("Guindo", "Dolo", "Togo", "Kassogué", "Ongoïba", "Tembély", "Saye", "Karambé",
            "Poudiougo", "Djiguiba"),
    # Clan names used by some Tamasheq and Moorish families instead of a patronymic.
    TAMASHEQ: ("Ansari", "Ansari", "Intallah", "Ag Intallah"),
    ARAB: ("Haïdara", "Kounta", "Ould Mohamed", "Ould Sidi"),
}

MALE: dict[str, tuple[str, ...]] = {
    BAMBARA: ("Mamadou", "Moussa", "Seydou", "Bakary", "Sékou", "Drissa", "Lassina", "Yacouba",
              "Adama", "Souleymane", "Modibo", "Tiémoko", "Fousseyni", "Daouda", "Siaka", "Sidiki",
              "Bréhima", "Abdoulaye", "Issa", "Ibrahim", "Oumar", "Boubacar", "Mahamadou",
              "Youssouf", "Salif", "Nouhoum", "Dramane", "Mamadou", "Moussa", "Seydou"),
    PEUL: ("Amadou", "Hamadoun", "Boubacar", "Oumar", "Mamadou", "Abdoulaye", "Ousmane",
           "Alassane", "Bocar", "Hama", "Yéro", "Sékou", "Allaye", "Hamidou", "Moussa", "Ibrahim",
           "Issa", "Amadou", "Boubacar"),
    SONGHAI: ("Alhousseini", "Mahamane", "Almoustapha", "Boubacar", "Oumar", "Moussa", "Ibrahim",
              "Hamadoun", "Abdoulaye", "Baba", "Alassane", "Aboubacrine", "Mohamed", "Mahamadou",
              "Issa", "Sidi", "Abdoul Karim", "Hamidou", "Ali", "Garba", "Souleymane", "Moctar",
              "Alhousseini", "Mahamane"),
    TAMASHEQ: ("Alhousseini", "Mohamed", "Intallah", "Attaher", "Almoustapha", "Ahmed", "Assaleh",
               "Elmehdi", "Aghaly", "Alhassane", "Ibrahim", "Mossa", "Bilal", "Hamma", "Acherif",
               "Mohamed Ali", "Abdoulaye", "Mohamed"),
    ARAB: ("Mohamed", "Ahmed", "Sidi Mohamed", "Mohamed Lamine", "Abdallah", "Cheikh", "Mahmoud",
           "Bouya", "Moulaye", "Baba", "Sidati", "Oumar", "Mohamed"),
    SONINKE: ("Mamadou", "Bakary", "Samba", "Demba", "Moussa", "Sékou", "Mahamadou", "Kissima",
              "Abdoulaye", "Boubou", "Hamady", "Oumar", "Ibrahim"),
    DOGON: ("Amadou", "Ousmane", "Seydou", "Hamadoun", "Boureïma", "Allaye", "Yacouba", "Ogobara",
            "Antandou", "Dommo", "Abdoulaye", "Issa", "Moussa"),
}

FEMALE: dict[str, tuple[str, ...]] = {
    BAMBARA: ("Aminata", "Fatoumata", "Mariam", "Kadiatou", "Oumou", "Hawa", "Awa", "Assitan",
              "Djénéba", "Salimata", "Rokia", "Bintou", "Nana", "Maïmouna", "Sira", "Tenin",
              "Korotoumou", "Mah", "Kadidia", "Fanta", "Safiatou", "Aïssata", "Coumba", "Ramata",
              "Aminata", "Fatoumata", "Mariam", "Oumou"),
    PEUL: ("Fatoumata", "Kadiatou", "Aïssata", "Mariam", "Oumou", "Ramata", "Djénéba", "Kadidia",
           "Hawa", "Fanta", "Assa", "Coumba", "Aminata", "Hadja", "Bintou", "Maïmouna",
           "Fatoumata", "Kadiatou"),
    SONGHAI: ("Fatoumata", "Aïssata", "Mariam", "Zeinabou", "Haoua", "Fadimata", "Aminata",
              "Kadidia", "Aïchata", "Hadizatou", "Safiatou", "Ramatou", "Salamatou", "Mariama",
              "Nana", "Oumou", "Hawa", "Fatoumata", "Aïssata"),
    TAMASHEQ: ("Fadimata", "Tina", "Takiata", "Lalla", "Mina", "Aïchata", "Fatimata",
               "Raichatou", "Zahra", "Tinhinan", "Nana", "Mariam", "Haoua", "Salka"),
    ARAB: ("Fatimata", "Mariem", "Zeinabou", "Aïchata", "Lalla", "Khadija", "Mina", "Salka",
           "Toutou", "Mbarka", "Vatma"),
    SONINKE: ("Fatoumata", "Kadiatou", "Goundo", "Coumba", "Aminata", "Néné", "Hawa", "Sirandou",
              "Mariam", "Djénéba", "Sira", "Assa"),
    DOGON: ("Yakoro", "Yadom", "Yatanou", "Kadidia", "Aïssata", "Fatoumata", "Mariam", "Awa",
            "Hawa", "Yaguéré"),
}

# Language groups by region (admin-1 P-code): of origin for the displaced, of residence for
# host families.
GROUPS_BY_REGION: dict[str, Weighted] = {
    "ML06": Weighted([(SONGHAI, 40), (TAMASHEQ, 20), (ARAB, 15), (PEUL, 15), (BAMBARA, 5),
                      (SONINKE, 5)]),
    "ML07": Weighted([(SONGHAI, 55), (TAMASHEQ, 15), (PEUL, 12), (ARAB, 8), (BAMBARA, 5),
                      (SONINKE, 5)]),
    "ML08": Weighted([(TAMASHEQ, 75), (ARAB, 15), (SONGHAI, 10)]),
    "ML05": Weighted([(PEUL, 38), (DOGON, 30), (BAMBARA, 12), (SONGHAI, 12), (TAMASHEQ, 4),
                      (SONINKE, 4)]),
    "ML04": Weighted([(BAMBARA, 65), (PEUL, 15), (SONINKE, 8), (SONGHAI, 6), (DOGON, 6)]),
    "ML01": Weighted([(SONINKE, 45), (BAMBARA, 30), (PEUL, 20), (SONGHAI, 5)]),
    "SOUTH": Weighted([(BAMBARA, 58), (PEUL, 14), (SONINKE, 12), (SONGHAI, 8), (DOGON, 8)]),
}


def group_for_region(rng: random.Random, admin1: str) -> str:
    return GROUPS_BY_REGION.get(admin1, GROUPS_BY_REGION["SOUTH"]).pick(rng)  # type: ignore[no-any-return]


# Spellings seen for the same name. The accent-free spelling is added to every name.
_VARIANTS: dict[str, tuple[str, ...]] = {
    "Traoré": ("Traore", "Traorè", "Taore", "TRAORE"),
    "Coulibaly": ("Koulibaly", "Kulibali", "Coulibali", "Couloubaly"),
    "Keïta": ("Keita", "Kéita", "Kèita", "Keyta"),
    "Maïga": ("Maiga", "Mahiga", "Mayga"),
    "Diallo": ("Jallo", "Dialo", "Djallo"),
    "Diarra": ("Jarra", "Diara"),
    "Konaté": ("Konate", "Konatè"),
    "Diakité": ("Diakite", "Jakité", "Diakhité"),
    "Sangaré": ("Sangare", "Sangarè"),
    "Camara": ("Kamara",),
    "Dembélé": ("Dembele", "Dembelé"),
    "Sidibé": ("Sidibe", "Sidibè"),
    "Cissé": ("Cisse", "Sissé", "Cissè"),
    "Touré": ("Toure", "Turé", "Tourè"),
    "Haïdara": ("Haidara", "Haydara", "Aïdara"),
    "Dicko": ("Diko", "Dikko"),
    "Barry": ("Bari", "Bary"),
    "Bah": ("Ba",),
    "Sylla": ("Sila", "Silla"),
    "Doucouré": ("Doucoure", "Dukuré"),
    "Sacko": ("Sako",),
    "Doumbia": ("Dumbia", "Doumbiya"),
    "Yattara": ("Yatara",),
    "Ansari": ("Ansary", "El Ansari"),
    "Guindo": ("Guindou",),
    "Fatoumata": ("Fatimata", "Fatouma", "Fanta", "Fatoumatou"),
    "Mamadou": ("Mahamadou", "Mohamed", "Mamadu", "Mamoudou"),
    "Oumar": ("Umar", "Omar", "Oumarou"),
    "Aminata": ("Aminatou", "Amineta"),
    "Mariam": ("Mariame", "Mariama", "Maryam"),
    "Kadiatou": ("Kadiatu", "Khadiatou"),
    "Aïssata": ("Aissata", "Aïsata", "Haïssata"),
    "Ibrahim": ("Ibrahima", "Brahima", "Ibrahime"),
    "Boubacar": ("Aboubacar", "Boubakar", "Bouba"),
    "Moussa": ("Mussa", "Moussah"),
    "Seydou": ("Seidou", "Sédou", "Seydu"),
    "Alhousseini": ("Alhousseyni", "Al Housseini", "Elhousseini"),
    "Oumou": ("Oumo", "Umu"),
    "Hawa": ("Haoua",),
    "Haoua": ("Hawa",),
    "Kadidia": ("Kadidiatou", "Khadidia"),
    "Mohamed": ("Mohammed", "Mouhamed", "Mahamed"),
    "Abdoulaye": ("Abdoulahi", "Abdulaye"),
    "Souleymane": ("Souleimane", "Soulemane"),
    "Djénéba": ("Djeneba", "Jénéba"),
    "Amadou": ("Ahmadou", "Amadu", "Hamadou"),
    "Hamadoun": ("Hamadou", "Amadoun"),
    "Ousmane": ("Usman", "Ousmana"),
    "Zeinabou": ("Zeynabou", "Zenabou"),
    "Fadimata": ("Fadimatou", "Fatimata"),
    "Ag": ("AG", "Ag."),
    "Walet": ("Wallet", "Oualet", "Welet"),
    "Ould": ("Ould", "Wuld"),
    "Mint": ("Mint", "Minte"),
}


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _all_names() -> set[str]:
    names: set[str] = set(_VARIANTS)
    for table in (FAMILY_NAMES, MALE, FEMALE):
        for values in table.values():
            names.update(values)
    return names


def _build_variants() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name in _all_names():
        options = list(_VARIANTS.get(name, ()))
        plain = strip_accents(name)
        if plain != name and plain not in options:
            options.append(plain)
        options = [o for o in options if o != name]
        if options:
            out[name] = tuple(options)
    return out


VARIANTS = _build_variants()


def variant(rng: random.Random, name: str) -> str:
    """Another way of writing `name`: a known variant, or the same name word by word."""
    options = VARIANTS.get(name)
    if options:
        return rng.choice(options)
    if " " in name:
        words = name.split(" ")
        i = rng.randrange(len(words))
        if words[i] in VARIANTS:
            words[i] = rng.choice(VARIANTS[words[i]])
            return " ".join(words)
    return name


def spelled(rng: random.Random, name: str, rate: float) -> str:
    """`name` as written by an enumerator: a variant spelling with probability `rate`."""
    return variant(rng, name) if rng.random() < rate else name


def given_name(rng: random.Random, group: str, sex: str) -> str:
    return rng.choice((FEMALE if sex == "f" else MALE)[group])


def patronymic(group: str, sex: str, father: str) -> str:
    man, woman = PATRONYMIC_PREFIX[group]
    return f"{woman if sex == 'f' else man} {father}"


def family_name(rng: random.Random, group: str) -> str:
    return rng.choice(FAMILY_NAMES[group])


def other_group(rng: random.Random, group: str, rate: float = 0.15) -> str:
    """The language group of someone marrying into a family: mostly the same."""
    if rng.random() < rate:
        return GROUPS_BY_REGION["SOUTH"].pick(rng)  # type: ignore[no-any-return]
    return group


ENUMERATOR_GROUPS = Weighted([(BAMBARA, 45), (PEUL, 20), (SONGHAI, 25), (SONINKE, 10)])
