"""Writing what a run found: people pairs into the queue, then the household pairs they imply.

A pair already in the queue is never written twice: a pending one gets the new scores, a decided
one is left exactly as reviewers left it (a run does not bring a rejected pair back).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.bulk import bulk_insert
from jatigi.core.db import utcnow
from jatigi.dedup.models import PENDING, POSSIBLE, PROBABLE, REJECTED, UNMERGED, CandidatePair, HouseholdPair
from jatigi.registry.models import Household, Person

# Reasons a household pair is derived from its members' pairs.
HEADS, MEMBERS, PHONE = "heads", "members", "phone"


@dataclass
class Scored:
    a: int  # person ids, a < b
    b: int
    probability: float
    weight: float
    fields: list[dict[str, Any]]  # {"field", "level", "weight"}; the first is the prior


@dataclass
class StoreCounts:
    found: int = 0
    new: int = 0
    updated: int = 0  # pending pairs scored again
    kept: int = 0  # decided pairs found again, left as decided
    probable: int = 0
    possible: int = 0


def store_pairs(session: Session, *, run_id: int, kind: str, scored: list[Scored], household_of: dict[int, int],
                link_from: float) -> StoreCounts:
    counts = StoreCounts(found=len(scored))
    if not scored:
        return counts
    P = CandidatePair
    wanted = {(s.a, s.b) for s in scored}
    people = sorted({s.a for s in scored})
    existing: dict[tuple[int, int], tuple[int, str]] = {}
    for start in range(0, len(people), 1000):
        for pid, a, b, status in session.execute(sa.select(P.id, P.person_a_id, P.person_b_id, P.status)
                                                 .where(P.person_a_id.in_(people[start:start + 1000]))):
            if (a, b) in wanted:
                existing[(a, b)] = (pid, status)
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for s in scored:
        band = PROBABLE if s.probability >= link_from else POSSIBLE
        if band == PROBABLE:
            counts.probable += 1
        else:
            counts.possible += 1
        found = existing.get((s.a, s.b))
        if found is None:
            new_rows.append({"person_a_id": s.a, "person_b_id": s.b, "household_a_id": household_of[s.a],
                             "household_b_id": household_of[s.b], "kind": kind, "run_id": run_id,
                             "last_run_id": run_id, "match_probability": s.probability, "match_weight": s.weight,
                             "band": band, "fields": s.fields, "status": PENDING, "created_at": now,
                             "updated_at": now})
        elif found[1] == PENDING:
            updates.append({"pair_id": found[0], "p": s.probability, "w": s.weight, "band": band,
                            "fields": s.fields, "run": run_id, "now": now})
        else:
            counts.kept += 1
    if new_rows:
        bulk_insert(session.connection(), P.__table__, new_rows)
    if updates:
        table = cast(sa.Table, P.__table__)
        stmt = (sa.update(table).where(table.c.id == sa.bindparam("pair_id"))
                .values(match_probability=sa.bindparam("p"), match_weight=sa.bindparam("w"),
                        band=sa.bindparam("band"), fields=sa.bindparam("fields", type_=sa.JSON),
                        last_run_id=sa.bindparam("run"), updated_at=sa.bindparam("now")))
        session.connection().execute(stmt, updates)
    counts.new, counts.updated = len(new_rows), len(updates)
    return counts


def derive_household_pairs(session: Session, *, run_id: int, households: set[int] | None = None) -> int:
    """Household pairs from the people pairs not rejected: their heads are a pair, two members
    or more are pairs, or they share a phone and a member pair. Limited to pairs touching
    `households` when given. Returns how many household pairs were written or updated."""
    P = CandidatePair
    q = (sa.select(P.household_a_id, P.household_b_id, P.person_a_id, P.person_b_id, P.match_probability, P.kind)
         .where(P.status.not_in((REJECTED, UNMERGED)), P.household_a_id != P.household_b_id))
    if households is not None:
        if not households:
            return 0
        ids = sorted(households)
        q = q.where(sa.or_(P.household_a_id.in_(ids), P.household_b_id.in_(ids)))
    # (smaller household, larger) -> [(its person, the other household's person, probability, kind)]
    groups: dict[tuple[int, int], list[tuple[int, int, float, str]]] = defaultdict(list)
    for ha, hb, a, b, p, kind in session.execute(q):
        if ha < hb:
            groups[(ha, hb)].append((a, b, p, kind))
        else:
            groups[(hb, ha)].append((b, a, p, kind))
    if not groups:
        return 0
    involved = sorted({h for key in groups for h in key})
    people = sorted({p for rows in groups.values() for a, b, _p, _k in rows for p in (a, b)})
    heads: set[int] = set()
    for start in range(0, len(people), 1000):
        heads.update(session.scalars(sa.select(Person.id).where(Person.id.in_(people[start:start + 1000]),
                                                                Person.relationship == "head")))
    phones = _household_phones(session, involved)
    rows: list[dict[str, Any]] = []
    for (ha, hb), pairs in groups.items():
        reasons = []
        if any(a in heads and b in heads for a, b, _p, _k in pairs):
            reasons.append(HEADS)
        if len({a for a, *_r in pairs}) >= 2 and len({b for _a, b, *_r in pairs}) >= 2:
            reasons.append(MEMBERS)
        if phones.get(ha) and phones.get(ha, set()) & phones.get(hb, set()):
            reasons.append(PHONE)
        if reasons:
            kind = "import" if any(k == "import" for *_x, k in pairs) else "registry"
            rows.append({"household_a_id": ha, "household_b_id": hb, "kind": kind, "reasons": reasons,
                         "people_pairs": len(pairs), "max_probability": max(p for _a, _b, p, _k in pairs)})
    return _upsert_household_pairs(session, run_id, rows)


def _household_phones(session: Session, households: list[int]) -> dict[int, set[str]]:
    """The blind indexes of every phone of each household: its contact phone and its members'."""
    out: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(households), 1000):
        part = households[start:start + 1000]
        for hid, index in session.execute(sa.select(Household.id, Household.phone_index)
                                          .where(Household.id.in_(part), Household.phone_index.is_not(None))):
            out[hid].add(str(index))
        for hid, index in session.execute(sa.select(Person.household_id, Person.phone_index).where(
                Person.household_id.in_(part), Person.phone_index.is_not(None), Person.deleted_at.is_(None))):
            out[hid].add(str(index))
    return out


def _upsert_household_pairs(session: Session, run_id: int, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    H = HouseholdPair
    existing: dict[tuple[int, int], int] = {}
    keys = {(r["household_a_id"], r["household_b_id"]) for r in rows}
    firsts = sorted({a for a, _b in keys})
    for start in range(0, len(firsts), 1000):
        for hid, a, b in session.execute(sa.select(H.id, H.household_a_id, H.household_b_id)
                                         .where(H.household_a_id.in_(firsts[start:start + 1000]))):
            if (a, b) in keys:
                existing[(a, b)] = hid
    now = utcnow()
    new = [{**r, "run_id": run_id, "created_at": now, "updated_at": now} for r in rows
           if (r["household_a_id"], r["household_b_id"]) not in existing]
    changed = [{"hp_id": existing[(r["household_a_id"], r["household_b_id"])], "reasons": r["reasons"],
                "n": r["people_pairs"], "p": r["max_probability"], "kind": r["kind"], "run": run_id, "now": now}
               for r in rows if (r["household_a_id"], r["household_b_id"]) in existing]
    if new:
        bulk_insert(session.connection(), H.__table__, new)
    if changed:
        table = cast(sa.Table, H.__table__)
        session.connection().execute(
            sa.update(table).where(table.c.id == sa.bindparam("hp_id")).values(
                reasons=sa.bindparam("reasons", type_=sa.JSON), people_pairs=sa.bindparam("n"),
                max_probability=sa.bindparam("p"), kind=sa.bindparam("kind"), run_id=sa.bindparam("run"),
                updated_at=sa.bindparam("now")), changed)
    return len(rows)
