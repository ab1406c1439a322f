"""Pairs in the review queue as a run stores them, for tests of the review side."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.dedup.models import CandidatePair, DedupRun
from jatigi.dedup.store import Scored, derive_household_pairs, store_pairs
from jatigi.registry.models import Household, Person

# An explanation as the engine gives it: the starting point, then each field's level and weight.
FIELDS: list[dict[str, Any]] = [
    {"field": "prior", "level": "", "weight": -12.0},
    {"field": "given_name", "level": "same root (related names)", "weight": 6.5},
    {"field": "family_name", "level": "same name", "weight": 8.0},
    {"field": "birth", "level": "within a year, one date vague", "weight": 3.1},
    {"field": "phone", "level": "different", "weight": -2.4},
]


def head_of(session: Session, code: str) -> int:
    person_id = session.scalar(sa.select(Person.id).join(Household, Household.id == Person.household_id)
                               .where(Household.code == code, Person.relationship == "head"))
    assert person_id is not None
    return int(person_id)


def plant(session: Session, pairs: list[tuple[int, int, float]], kind: str = "registry") -> list[int]:
    """Store pairs of person ids with their probability, as a run would; returns the pairs' ids."""
    run = DedupRun(kind=kind, engine="duckdb", review_threshold=0.5, link_threshold=0.95, username="system",
                   status="done")
    session.add(run)
    session.flush()
    household_of = dict(session.execute(sa.select(Person.id, Person.household_id)).all())
    scored = [Scored(min(a, b), max(a, b), p, sum(x["weight"] for x in FIELDS), FIELDS) for a, b, p in pairs]
    store_pairs(session, run_id=run.id, kind=kind, scored=scored, household_of=household_of, link_from=0.95)
    derive_household_pairs(session, run_id=run.id)
    return [int(session.scalar(sa.select(CandidatePair.id).where(CandidatePair.person_a_id == s.a,
                                                                 CandidatePair.person_b_id == s.b)) or 0)
            for s in scored]
