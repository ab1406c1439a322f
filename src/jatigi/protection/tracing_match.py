"""Matching a sought person with the linkage engine of `jatigi dedup`, cheaply.

A tracing request compares one person (and its inquirer) with a registry of up to a few hundred
thousand people. A full Splink run over the registry would be heavy; instead:

1. Blocking by prepared name keys, in SQL. The registry keeps every person's names as canonical
   keys (`people.given_key`, `family_key`, written by `dedup.names.name_key`). The distinct keys
   are read with their counts (one GROUP BY each), and those that agree with a sought name on a
   canonical key, a root or a phonetic key (`dedup.names`: Mahamadou/Mamadou, Traoré/Trawore)
   make the candidate set: the given name and the family name must both agree, or both agree
   swapped. The same counts give the term frequencies of the whole registry.
2. Scoring the candidates only, with the engine's comparisons (`dedup.settings`) and, when a
   `jatigi dedup run` trained one, the registry's active model (`dedup.runs.active_model`);
   otherwise the default m and u values below. Splink scores the Cartesian product of the
   sought person and the candidates (`score_pairs`) on DuckDB, with the registry's term
   frequencies registered so that a common name weighs less than a rare one.

The prior is the tracing question's, not deduplication's: that one given person of the registry
is the one sought, 1 in the number of people compared, at least 1,000 (`prior_for`). With so low a
prior, names alone never reach the threshold: when the sought person's birth year and age are
unknown, a candidate whose given and family names agree exactly (after the engine's name
preparation: Mamadou/Mahamadou, Traoré/Trawore, never Mohamed/Mahmoud) and whose sex agrees or is
unknown is proposed all the same (`proposed_by_names`), and the page says why.

Only households that consented to tracing are searched. Nothing here is stored or logged: the
caller keeps the matches at or above its threshold.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from splink import Linker
from sqlalchemy.orm import Session

from jatigi.core.errors import JatigiError, ValidationFailed
from jatigi.core.i18n import _, number
from jatigi.dedup import names, settings
from jatigi.dedup.backends import EngineOptions, open_backend
from jatigi.dedup.model import Comparison, Level, Model
from jatigi.dedup.prepare import OUTPUT_SCHEMA, normalise_place, place_area, prepare_person
from jatigi.dedup.registry_people import read_people
from jatigi.dedup.runs import active_model
from jatigi.registry.models import Consent as HouseholdConsent
from jatigi.registry.models import Household, Person

log = logging.getLogger(__name__)

FIELDS = ("given_name", "family_name", "birth", "sex", "place")
MAX_CANDIDATES = 20_000
# A search scores a few thousand pairs at most, inside a web request: a small engine.
ENGINE = EngineOptions(memory_limit="1GB", threads=2)
# The prior: one person among those compared is the one sought, and they are at least this many (a
# small registry is not presumed to hold the person sought).
MIN_POPULATION = 1_000

# Default (m, u) by comparison and level label, for a registry no `jatigi dedup run` trained a
# model on. m: how often the level is reached by the sought person and their registration; u: by
# two people at random (for names and places, term frequencies of the registry replace u on the
# exact level). Places disagree often for the same person: people separated have moved.
_NAME = {
    settings.MISSING: None,
    "same name": (0.80, 0.01),
    settings.SWAPPED: (0.03, 0.0005),
    # Related names (Mamadou and Mohamed) are other names: the level only spares them the weight of
    # "different".
    "same root (related names)": (0.02, 0.02),
    "same sound": (0.06, 0.002),
    "same first given name": (0.03, 0.01),
    "same first family word": (0.03, 0.01),
    "similar spelling": (0.02, 0.01),
    "different": (0.02, 0.96),
}
DEFAULTS: dict[str, dict[str, tuple[float, float] | None]] = {
    "given_name": _NAME,
    "family_name": {**_NAME, settings.SWAPPED: (0.5, 0.5)},
    "birth": {
        settings.MISSING: None,
        "same day": (0.40, 0.0005),
        "same year, one date vague": (0.45, 0.03),
        "within a year, one date vague": (0.25, 0.06),
        "within 3 years, one date vague": (0.15, 0.12),
        "two different days within a year": (0.05, 0.02),
        "different": (0.10, 0.77),
    },
    "sex": {settings.MISSING: None, "same": (0.97, 0.5), "different": (0.03, 0.5)},
    "place": {
        settings.MISSING: None,
        "same place": (0.35, 0.05),
        "same cercle": (0.25, 0.10),
        "different": (0.40, 0.85),
    },
}


def default_model() -> Model:
    """The engine's comparisons for the fields a tracing request has, with the default values."""
    rendered = settings.render(FIELDS, "duckdb")
    comparisons = []
    for spec in rendered["comparisons"]:
        name = spec["output_column_name"]
        levels = []
        for level in spec["comparison_levels"]:
            label = level.get("label_for_charts", "")
            values = DEFAULTS[name].get(label)
            if level.get("is_null_level") or values is None:
                levels.append(Level(label, null=True))
            else:
                levels.append(Level(label, values[0], values[1]))
        comparisons.append(Comparison(name, levels))
    return Model(fields=FIELDS, prior=0.001, comparisons=comparisons, training={"tracing": "default values"})


def model_for(session: Session) -> tuple[Model, str]:
    """The registry's active model if there is one this version can use, else the defaults; and
    which it is ("trained" or "default")."""
    try:
        stored = active_model(session)
    except JatigiError:  # a model of an earlier version of the settings
        stored = None
    if stored is None:
        return default_model(), "default"
    return stored.model, "trained"


def prior_for(compared: int) -> float:
    return 1.0 / max(MIN_POPULATION, compared)


# ---- people as the engine compares them ----------------------------------------------------------


def prepared(uid: str, person: Mapping[str, Any], *, reference: date | None = None) -> dict[str, Any]:
    """A person of a tracing request (given_name, family_name, sex, birth_year or age, place: a
    P-code) as a row of `prepare.OUTPUT_SCHEMA`."""
    year, age = person.get("birth_year"), person.get("age")
    record = {"given_name": person.get("given_name"), "family_name": person.get("family_name"),
              "sex": person.get("sex") if person.get("sex") in ("m", "f") else None,
              "birth_date": str(year) if year else None, "age": age if not year and age is not None else None,
              "age_estimated": True if (year or age is not None) else None}
    row = {"unique_id": uid, **prepare_person(record, reference=reference or date.today())}
    place = normalise_place(person.get("place"))
    row.update(place=place, place_area=place_area(place))
    return row


def _signals(text: str | None) -> list[frozenset[str]]:
    """For each word of a name: its canonical key, root and phonetic key."""
    parts = names.parse(text)
    return [frozenset({"k:" + names.canonical(t), "r:" + names.root(t), "p:" + names.phonetic(t)})
            for t in parts.tokens]


def _agrees(sought: list[frozenset[str]], value: str) -> bool:
    if not sought:
        return False
    theirs = _signals(value)
    return any(mine & other for mine in sought for other in theirs)


# ---- the registry ---------------------------------------------------------------------------------


def searchable() -> list[sa.ColumnElement[bool]]:
    """People of live households that consented to tracing, alive and not deleted."""
    consented = sa.select(HouseholdConsent.id).where(
        HouseholdConsent.household_id == Household.id, HouseholdConsent.purpose == "tracing",
        HouseholdConsent.given.is_(True), HouseholdConsent.withdrawn_on.is_(None)).exists()
    return [Person.deleted_at.is_(None), Person.deceased_on.is_(None), Household.deleted_at.is_(None), consented]


def _counts(session: Session, column: Any) -> list[tuple[str, int]]:
    query = (sa.select(column, sa.func.count()).select_from(Person)
             .join(Household, Household.id == Person.household_id).where(*searchable()).group_by(column))
    return [(str(value or ""), int(n)) for value, n in session.execute(query)]


@dataclass
class Registry:
    """What one search needs to know of the registry: the name keys with their counts."""

    given: list[tuple[str, int]]
    family: list[tuple[str, int]]
    places: list[tuple[str, int]]

    @property
    def size(self) -> int:
        return sum(n for _v, n in self.given)

    def term_frequencies(self) -> dict[str, pa.Table]:
        """tf tables for the columns the comparisons adjust on, over the whole searchable registry."""
        total = max(1, self.size)
        out = {}
        for column, counts, key in (("given_name_key", self.given, names.name_key),
                                    ("family_name_key", self.family, names.name_key),
                                    ("place", self.places, normalise_place)):
            sums: dict[str, int] = {}
            for value, n in counts:
                k = key(value)
                if k:
                    sums[k] = sums.get(k, 0) + n
            out[column] = pa.table({column: list(sums), f"tf_{column}": [n / total for n in sums.values()]})
        return out


def read_registry(session: Session) -> Registry:
    place_counts = (sa.select(Household.current_pcode, sa.func.count()).select_from(Person)
                    .join(Household, Household.id == Person.household_id).where(*searchable())
                    .group_by(Household.current_pcode))
    return Registry(_counts(session, Person.given_key), _counts(session, Person.family_key),
                    [(str(v or ""), int(n)) for v, n in session.execute(place_counts)])


def candidate_conditions(registry: Registry, given: str | None, family: str | None) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for the registry people whose names agree with the sought names (block)."""
    sought_given, sought_family = _signals(given), _signals(family)
    if not sought_given and not sought_family:
        return [sa.false()]
    given_agree = [v for v, _n in registry.given if _agrees(sought_given, v)]
    family_agree = [v for v, _n in registry.family if _agrees(sought_family, v)]
    if not sought_family:
        return [Person.given_key.in_(given_agree) if given_agree else sa.false()]
    if not sought_given:
        return [Person.family_key.in_(family_agree) if family_agree else sa.false()]
    given_swapped = [v for v, _n in registry.given if _agrees(sought_family, v)]
    family_swapped = [v for v, _n in registry.family if _agrees(sought_given, v)]
    ways = []
    if given_agree and family_agree:
        ways.append(sa.and_(Person.given_key.in_(given_agree), Person.family_key.in_(family_agree)))
    if given_swapped and family_swapped:
        ways.append(sa.and_(Person.given_key.in_(given_swapped), Person.family_key.in_(family_swapped)))
    return [sa.or_(*ways)] if ways else [sa.false()]


# ---- scoring --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    left: str  # uid of the request's person
    right: str  # uid of the candidate
    probability: float


def score(model: Model, left: Sequence[dict[str, Any]], right: Sequence[dict[str, Any]],
          tf: Mapping[str, pa.Table], *, prior: float) -> list[Scored]:
    """Every pair of `left` x `right` scored by the engine with `model` (at `prior`)."""
    if not left or not right:
        return []
    model = dataclasses.replace(model, prior=prior)
    backend = open_backend(ENGINE)
    try:
        rows = [dict(r) for r in (*left, *right)]
        everyone = backend.register(pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), "people")
        linker = Linker(everyone, model.settings_for(backend.dialect, retain=False), log_level=logging.ERROR)
        for comparison in linker._settings_obj.comparisons:
            for level in comparison.comparison_levels:
                if level._has_tf_adjustments:
                    column = level._tf_adjustment_input_column.unquote().name
                    if column in tf:
                        linker.table_management.register_term_frequency_lookup(
                            backend.register(tf[column], f"tf_{column}"), column)
                    else:
                        linker.table_management.compute_tf_table(column)
        frame = linker.inference.score_pairs(backend.register(pa.Table.from_pylist(list(left), schema=OUTPUT_SCHEMA),
                                                              "left"),
                                             backend.register(pa.Table.from_pylist(list(right), schema=OUTPUT_SCHEMA),
                                                              "right"))
        out = []
        for row in frame.as_pyarrow_table().select(["unique_id_l", "unique_id_r", "match_probability"]).to_pylist():
            out.append(Scored(str(row["unique_id_l"]), str(row["unique_id_r"]), float(row["match_probability"])))
        return out
    finally:
        backend.close()


@dataclass
class Search:
    """What one search compared and found (probabilities of every pair scored)."""

    model: str  # "trained" or "default"
    registry_size: int
    candidates: int
    people: dict[int, float]  # registry person id -> probability (the sought person)
    requests: list[Scored]  # request uids ("r<id>s" / "r<id>i") against ours ("sought" / "inquirer")
    exact_people: set[int] = dataclasses.field(default_factory=set)  # proposed by the names rule
    exact_requests: set[int] = dataclasses.field(default_factory=set)  # request ids, proposed by the names rule


def search(session: Session, sought: Mapping[str, Any], inquirer: Mapping[str, Any] | None,
           others: Iterable[tuple[int, Mapping[str, Any], Mapping[str, Any]]]) -> Search:
    """Score the sought person against the registry's candidates and the people of other requests
    (`others`: request id, its sought person, its inquirer); the inquirer against the people the
    other requests seek."""
    registry = read_registry(session)
    conds = candidate_conditions(registry, sought.get("given_name"), sought.get("family_name"))
    # The ids first, then the people by id: read in one go with the conditions, PostgreSQL plans the
    # server-side cursor of `read_people` for a fast start (a walk of the whole table in id order).
    ids = session.scalars(sa.select(Person.id).join(Household, Household.id == Person.household_id)
                          .where(*searchable(), *conds).limit(MAX_CANDIDATES + 1)).all()
    if len(ids) > MAX_CANDIDATES:
        raise ValidationFailed(_("More than {n} people of the registry have names like these: too many to compare. "
                                 "Give the given name and the family name.", n=number(MAX_CANDIDATES)))
    candidates = read_people(session, Person.id.in_(ids)).table.to_pylist() if ids else []
    model, which = model_for(session)
    me = prepared("sought", sought)
    other_rows: list[dict[str, Any]] = []
    other_sought: list[dict[str, Any]] = []
    for request_id, their_sought, their_inquirer in others:
        row = prepared(f"r{request_id}s", their_sought)
        other_rows.append(row)
        other_sought.append(row)
        if their_inquirer:
            other_rows.append(prepared(f"r{request_id}i", their_inquirer))
    tf = registry.term_frequencies()
    prior = prior_for(registry.size + len(other_rows))
    people = {int(s.right): s.probability for s in score(model, [me], candidates, tf, prior=prior)}
    scored = score(model, [me], other_rows, tf, prior=prior)
    exact_people: set[int] = set()
    exact_requests: set[int] = set()
    if inquirer and (inquirer.get("given_name") or inquirer.get("family_name")):
        mine = prepared("inquirer", inquirer)
        scored += score(model, [mine], other_sought, tf, prior=prior)
        exact_requests |= {int(r["unique_id"][1:-1]) for r in other_sought
                           if r["birth_year"] is None and _by_names(mine, r)}
    if me["birth_year"] is None:
        exact_people = {int(c["unique_id"]) for c in candidates if _by_names(me, c)}
        exact_requests |= {int(r["unique_id"][1:-1]) for r in other_rows if _by_names(me, r)}
    return Search(which, registry.size, len(candidates), people, scored, exact_people, exact_requests)


def _by_names(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Prepared rows whose given and family names agree exactly and whose sexes do not differ."""
    return all(a[k] and a[k] == b[k] for k in ("given_name_key", "family_name_key")) and (
        not a["sex"] or not b["sex"] or a["sex"] == b["sex"])


def proposed_by_names(sought: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """The names rule: the sought person's birth year and age are unknown, and `other` has the same
    given and family names (after the engine's preparation) and a sex that agrees or is unknown."""
    mine = prepared("a", sought)
    return mine["birth_year"] is None and _by_names(mine, prepared("b", other))


# ---- why a pair matched (the levels of the engine's comparisons, computed in Python) -----------------


def why(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, level label) for two people of a tracing search, as the engine's comparisons call
    their agreement: "same name", "same sound", "within a year, one date vague"... (English
    msgids of `dedup.settings`, to translate when shown)."""
    ra, rb = prepared("a", a), prepared("b", b)
    out = [("given_name", _name_level(ra, rb, "given")), ("family_name", _name_level(ra, rb, "family"))]
    out.append(("birth", _birth_level(ra["birth_year"], rb["birth_year"])))
    out.append(("sex", settings.MISSING if not (ra["sex"] and rb["sex"]) else
                "same" if ra["sex"] == rb["sex"] else "different"))
    pa_, pb = ra["place"], rb["place"]
    out.append(("place", settings.MISSING if not (pa_ and pb) else "same place" if pa_ == pb else
                "same cercle" if ra["place_area"] and ra["place_area"] == rb["place_area"] else "different"))
    return out


def _name_level(a: Mapping[str, Any], b: Mapping[str, Any], part: str) -> str:
    col = f"{part}_name"
    if not a[f"{col}_key"] or not b[f"{col}_key"]:
        return settings.MISSING
    if a[f"{col}_key"] == b[f"{col}_key"]:
        return "same name"
    if a["name_sorted_key"] and a["name_sorted_key"] == b["name_sorted_key"]:
        return settings.SWAPPED
    if a[f"{col}_root"] == b[f"{col}_root"]:
        return "same root (related names)"
    if a[f"{col}_phonetic"] == b[f"{col}_phonetic"]:
        return "same sound"
    first = "given_first_key" if part == "given" else "family_head_key"
    if a[first] and a[first] == b[first]:
        return "same first given name" if part == "given" else "same first family word"
    return "different"


def _birth_level(a: int | None, b: int | None) -> str:
    if a is None or b is None:
        return settings.MISSING
    gap = abs(a - b)
    if gap == 0:
        return "same year, one date vague"
    if gap <= 1:
        return "within a year, one date vague"
    if gap <= 3:
        return "within 3 years, one date vague"
    return "different"
