"""Names prepared for record linkage: folded, split into particles and names, keyed.

Agencies write the same Malian name in many ways (Mamadou / Mahamadou, Traoré / Trawore,
Kulibali / Coulibaly, Ag Mohamed / Ag Mohamed Ag Intallah). Three keys let a linkage model
tell a spelling from another name:

- the *canonical key*: spellings listed in `data/name_variants.csv` share one key; names that
  are merely related (Mamadou and Mohamed, Aminata and Amina) keep their own keys;
- the *root key*: related names share a root (`muhammad`, `amina`), a weaker agreement;
- the *phonetic key* (`phonetic`), which catches spellings the table does not list.

Decisions, from the names' West African and Arabic sources (see the notes in the table):
Mamadou, Mahamadou and Mohamadou are one name (West African forms of Muhammad); Mohamed is
another canonical name of the same root; Mahmoud and its West African form Mamoudou are a
different name (root `mahmud`). Aminata and Amina, Fatoumata and Fatima, Kadiatou and Kadidia
share a root only: a final vowel makes a spelling (Ibrahim / Ibrahima), a longer suffix makes
another name. Issa (a man) is never Aïssa or Aïssata. Where an origin is uncertain the root is the
name itself, so nothing is joined by guesswork.

Particles (Ag, Walet, Ould, Mint, Ben, Ba, El...) and titles (El Hadj, Mme) are kept apart from
the names they introduce, never lost: "Ag Mohamed" and "Mohamed" agree on their names and differ
only in a particle. Words after "dit", "dite" or "épouse" are kept as aliases.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Letters that Unicode does not decompose: ligatures, Bambara and Fula letters, and others.
_SPECIAL_LETTERS = {
    "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
    "ł": "l", "Ł": "l", "ı": "i", "ɛ": "e", "Ɛ": "e", "ɔ": "o", "Ɔ": "o", "ɲ": "ny", "Ɲ": "ny",
    "ŋ": "ng", "Ŋ": "ng", "ɓ": "b", "Ɓ": "b", "ɗ": "d", "Ɗ": "d", "ƴ": "y", "Ƴ": "y", "ʼ": "",
    "'": "", "’": "", "‘": "", "`": "", "´": "",
}
_FOLD_TABLE = str.maketrans(_SPECIAL_LETTERS)
_NOT_LETTER = re.compile(r"[^\w]+|[\d_]+")

# Particle spellings -> their canonical form. "Ag Mohamed" is "son of Mohamed" (Tamasheq), Walet
# "daughter of"; Ould / Mint the same in Hassaniya; Ben / Bint (Ibn) in Arabic.
PARTICLES: dict[str, str] = {
    "ag": "ag", "agg": "ag",
    "walet": "walet", "welet": "walet", "oualet": "walet", "wallet": "walet", "ouelet": "walet",
    "walett": "walet", "wellet": "walet", "oulet": "walet",
    "ould": "ould", "ouled": "ould", "wuld": "ould", "ueld": "ould", "ouid": "ould",
    "mint": "mint", "minte": "mint", "ment": "mint",
    "ben": "ben", "bin": "ben", "ibn": "ben", "ibnou": "ben", "ibnu": "ben",
    "bint": "bint", "bent": "bint",
    "ba": "ba",
    "al": "al", "el": "al", "ul": "al",
}
# Titles said before a name; dropped from the names, kept with the particles.
TITLES: dict[str, str] = {
    "hadj": "hadj", "hadji": "hadj", "elhadj": "hadj", "elhadji": "hadj", "alhadj": "hadj",
    "alhadji": "hadj", "alhaji": "hadj", "elhaj": "hadj", "elhaji": "hadj", "hadja": "hadja",
    "hadjia": "hadja", "hajia": "hadja", "mme": "mme", "madame": "mme", "mr": "m", "monsieur": "m",
    "mlle": "mlle", "dr": "dr",
}
# Words after which the rest of a name is another name for the same person.
ALIAS_MARKERS = frozenset({"dit", "dite", "alias", "epouse", "ep", "epse", "veuve", "vve", "nee"})
# Arabic "abd" (servant of) is written apart from the name it belongs to: Abdoul Karim.
_ABD_PREFIXES = frozenset({"abd", "abdel", "abdoul", "abdul", "abdal", "abdelal", "abdoula"})
# Words joined to the next one when the two make a listed name or title: Al Moustapha, El Hadj,
# Abou Bakar. Only these: joining any two words would eat family names (Sékou Ba is not Sékouba).
_JOIN_PREFIXES = frozenset({"al", "el", "ul", "as", "at", "ad", "ar", "an", "ech", "es", "et", "ed", "er", "en",
                            "abou", "abu", "bou", "oumoul", "oummoul", "abdou", "abdu"})


def fold(text: str | None) -> str:
    """`Keïta` -> `keita`, `N'Diaye` -> `ndiaye`, `Œuvre` -> `oeuvre`, `Ag.Mohamed` -> `ag mohamed`:
    lower case, no accents or ligatures, punctuation and digits as spaces, apostrophes dropped.
    Letters of other scripts (Arabic, Tifinagh) are kept."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", str(text).translate(_FOLD_TABLE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_LETTER.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class Entry:
    canonical: str  # the display spelling, e.g. "Mamadou"
    key: str  # folded, no spaces, e.g. "mamadou"
    root: str
    kind: str  # m, f, u or family


class NameTable:
    """The maintained table of equivalent spellings: every spelling to its canonical entry."""

    def __init__(self, entries: Iterable[tuple[Entry, Iterable[str]]]) -> None:
        self._by_spelling: dict[str, Entry] = {}
        self.entries: list[Entry] = []
        for entry, spellings in entries:
            self.entries.append(entry)
            for spelling in (entry.canonical, *spellings):
                key = _compact(spelling)
                if not key:
                    continue
                other = self._by_spelling.get(key)
                if other is not None and other.key != entry.key:
                    raise ValueError(f"name spelling {spelling!r} is listed under {other.canonical!r} "
                                     f"and {entry.canonical!r}")
                self._by_spelling[key] = entry

    def __contains__(self, spelling: str) -> bool:
        return _compact(spelling) in self._by_spelling

    def lookup(self, spelling: str) -> Entry | None:
        return self._by_spelling.get(_compact(spelling))

    def spellings(self) -> dict[str, Entry]:
        return dict(self._by_spelling)


def _compact(spelling: str) -> str:
    return fold(spelling).replace(" ", "")


def read_table(lines: Iterable[str]) -> NameTable:
    """Read the CSV format of `data/name_variants.csv` (lines starting with # are comments)."""
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    entries = []
    for row in rows:
        canonical = (row.get("canonical") or "").strip()
        if not canonical:
            continue
        key = _compact(canonical)
        root = _compact(row.get("root") or "") or key
        variants = [v.strip() for v in (row.get("variants") or "").split("|") if v.strip()]
        entries.append((Entry(canonical, key, root, (row.get("kind") or "u").strip()), variants))
    return NameTable(entries)


@lru_cache(maxsize=1)
def name_table() -> NameTable:
    text = resources.files("jatigi.dedup").joinpath("data/name_variants.csv").read_text("utf-8")
    return read_table(text.splitlines())


def canonical(token: str) -> str:
    """The canonical key of one name: `Mahamadou` -> `mamadou`; an unlisted name keeps its own
    folded spelling."""
    entry = name_table().lookup(token)
    return entry.key if entry else _compact(token)


def root(token: str) -> str:
    """The root of one name: `Mohamed` and `Mamadou` -> `muhammad`; unlisted names are their own root."""
    entry = name_table().lookup(token)
    return entry.root if entry else _compact(token)


def kind(token: str) -> str | None:
    entry = name_table().lookup(token)
    return entry.kind if entry else None


# --- phonetic key -------------------------------------------------------------------------------

_VOWELS = frozenset("aeiouy")
_PHONETIC_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r) for p, r in (
        (r"x", "ks"),
        (r"[sc]?ch|sh", "x"),  # French ch, English sh: one sound (Cheick, Sheikh)
        (r"kh", "k"), (r"gh", "g"), (r"ph", "f"), (r"th", "t"), (r"dh", "d"),
        (r"qu|q|ck", "k"),
        (r"c(?=[eiy])", "s"), (r"c", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"dj|d[iy](?=[aeou])|j", "j"),  # Diarra, Dyarra, Djarra, Jara
        (r"ou(?=[aeiy])", "w"),  # Ouattara / Wattara, Haoua / Hawa
        (r"ou|oo", "u"),
        (r"^y(?=[aeiou])", "Y"),  # a consonant y only before a vowel at the start
        (r"^w", "W"), (r"(?<=[^aeiouy])w(?=[aeiouy])", "W"),
        (r"w", "u"), (r"y", "i"),
        (r"h", ""),  # Hawa / Awa, Mahamadou / Mamadou, Bah / Ba
        (r"n(?=[bp])", "m"),  # Denbele / Dembele
        (r"(?<=[^aeiou])e$", ""),  # final mute e: Traoré, Cissé, Mariame
        (r"[ei]", "i"), (r"[ou]", "u"),
        (r"(.)\1+", r"\1"),  # doubled letters and repeated vowel classes: Diarra, Keita
    )
)


def phonetic(token: str) -> str:
    """A sound key for one West African or Arabic-origin name, built for the spellings agencies
    use: `Traoré`, `Trawore` -> `traur`; `Coulibaly`, `Kulibali` -> `kulibali`; `Diarra`, `Jara`,
    `Dyarra` -> `jara`; `Diallo`, `Jallow`, `Jalo` -> `jalu`; `Keïta`, `Keyta` -> `kita`;
    `Hawa`, `Haoua`, `Awa` -> `aua`. Vowels fall into three classes (a; e/i; o/u)."""
    word = fold(token).replace(" ", "")
    if not word or not word.isascii():
        return word
    for pattern, replacement in _PHONETIC_STEPS:
        word = pattern.sub(replacement, word)
    return word.lower() or fold(token)


# --- parsing a name -----------------------------------------------------------------------------

@dataclass(frozen=True)
class NameParts:
    tokens: tuple[str, ...]  # folded names in written order, without particles or titles
    particles: tuple[str, ...] = ()  # canonical particles and titles, in order
    aliases: tuple[str, ...] = ()  # folded names after "dit", "dite", "épouse"...

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(canonical(t) for t in self.tokens)

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(root(t) for t in self.tokens)

    @property
    def phonetics(self) -> tuple[str, ...]:
        return tuple(phonetic(t) for t in self.tokens)

    @property
    def alias_keys(self) -> tuple[str, ...]:
        return tuple(canonical(t) for t in self.aliases)


def _join_compounds(words: list[str]) -> list[str]:
    """Join words written apart that make one name: `abdoul karim`, `al moustapha`, `abou bakar`."""
    table = name_table()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if i + 1 < len(words):
            joined = word + words[i + 1]
            known = joined in table or joined in TITLES
            if (word in _ABD_PREFIXES or (word in _JOIN_PREFIXES and known)) and words[i + 1] not in ALIAS_MARKERS:
                out.append(joined)
                i += 2
                continue
        out.append(word)
        i += 1
    return out


def _is_marker(word: str) -> bool:
    return word in PARTICLES or word in TITLES


def parse(text: str | None) -> NameParts:
    """Split a written name into names, particles and aliases:
    `Ag Mohamed Ag Intallah` -> names (mohamed, intallah), particles (ag, ag);
    `El Hadj Mamadou Traoré dit Madou` -> names (mamadou, traore), particles (hadj,), aliases (madou,).
    A particle is only a particle when a name follows it: the family name `Ba` stays a name."""
    words = _join_compounds(fold(text).split())
    aliases: list[str] = []
    for i, word in enumerate(words):
        if word in ALIAS_MARKERS and i > 0:
            aliases = [w for w in words[i + 1:] if not _is_marker(w)]
            words = words[:i]
            break
    tokens: list[str] = []
    particles: list[str] = []
    for i, word in enumerate(words):
        if _is_marker(word) and any(not _is_marker(w) for w in words[i + 1:]):
            particles.append(PARTICLES.get(word) or TITLES[word])
        else:
            tokens.append(word)
    return NameParts(tuple(tokens), tuple(particles), tuple(aliases))


def name_key(text: str | None) -> str:
    """Canonical keys of a name's words, in order: `Mahamadou Trawore` -> `mamadou traore`."""
    return " ".join(parse(text).keys)


def root_key(text: str | None) -> str:
    return " ".join(parse(text).roots)


def phonetic_key(text: str | None) -> str:
    return " ".join(parse(text).phonetics)


def token_set(*names: str | None) -> tuple[str, ...]:
    """The canonical keys of every word of the given names, sorted and without repeats: the same
    whichever field holds which name, so swapped given and family names agree."""
    keys: set[str] = set()
    for name in names:
        keys.update(parse(name).keys)
    return tuple(sorted(keys))


def swapped(given_a: str | None, family_a: str | None, given_b: str | None, family_b: str | None) -> bool:
    """True when record A's given name is record B's family name and the other way round
    (`Traoré` / `Mamadou` against `Mamadou` / `Traore`)."""
    ga, fa, gb, fb = (name_key(n) for n in (given_a, family_a, given_b, family_b))
    return bool(ga and fa) and ga != fa and ga == fb and fa == gb


def split_full_name(text: str | None) -> tuple[str, str]:
    """Guess the given and family names in a full name written in one field.

    Patronymics start at the first particle after a name (`Mohamed Ag Intallah` -> `Mohamed`,
    `Ag Intallah`); otherwise a known family name at the end or, failing that, at the start is
    the family name (`TRAORE Mamadou` as administrations write it); otherwise the last word."""
    words = _join_compounds(fold(text).split())
    for i, word in enumerate(words):
        if word in ALIAS_MARKERS and i > 0:
            words = words[:i]
            break
    if not words:
        return "", ""
    for i, word in enumerate(words[1:], start=1):
        if word in PARTICLES and PARTICLES[word] not in ("al", "ba") and i < len(words) - 1:
            return " ".join(words[:i]), " ".join(words[i:])
    if len(words) == 1:
        return (words[0], "") if kind(words[0]) in ("m", "f") else ("", words[0])
    if kind(words[-1]) != "family" and kind(words[0]) == "family":
        return " ".join(words[1:]), words[0]
    return " ".join(words[:-1]), words[-1]
