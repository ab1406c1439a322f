"""Admin units: the built-in Mali gazetteer, bulk upserts, look-ups."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.cache import cached, database
from jatigi.core.changes import bump
from jatigi.places.models import AdminUnit

GAZETTEER = Path(__file__).parent / "data" / "mali_gazetteer.csv"
GAZETTEER_SOURCE = "Jatigi Mali gazetteer (derived from OCHA COD-AB, DNCT)"


@dataclass
class UnitRow:
    pcode: str
    name: str
    level: int
    parent_pcode: str | None
    country_code: str
    centroid_lat: float | None = None
    centroid_lon: float | None = None
    geometry: dict[str, Any] | None = None
    name_alt: str | None = None
    source: str | None = None
    valid_on: str | None = None


def _admin1_of(units: dict[str, UnitRow], existing: dict[str, tuple[str | None, int]], pcode: str) -> str | None:
    """Walk up parents until level 1, through rows being written and rows already stored."""
    seen = 0
    cur: str | None = pcode
    while cur is not None and seen < 10:
        if cur in units:
            row = units[cur]
            if row.level == 1:
                return row.pcode
            if row.level < 1:
                return None
            cur = row.parent_pcode
        elif cur in existing:
            parent, level = existing[cur]
            if level == 1:
                return cur
            if level < 1:
                return None
            cur = parent
        else:
            return None
        seen += 1
    return None


def upsert_units(*, session: Session, rows: Sequence[UnitRow]) -> tuple[int, int]:
    """Insert new units and update existing ones, parents first. Returns (inserted, updated).

    Set-based: one bulk insert of the new units (ordered by level, so parents precede
    children) and bulk updates by P-code of the ones already stored. A row without geometry
    leaves a stored geometry as it was. If a unit moves to another parent, the admin-1 of its
    stored descendants is recomputed.
    """
    existing = {
        pc: (parent, level)
        for pc, parent, level in session.execute(
            sa.select(AdminUnit.pcode, AdminUnit.parent_pcode, AdminUnit.level)
        )
    }
    by_code = {r.pcode: r for r in rows}
    inserts: list[dict[str, Any]] = []
    # Updates grouped by the columns they set: a row without geometry or centroid keeps the
    # stored one (a places list refreshing names must not wipe the boundaries).
    updates: dict[frozenset[str], list[dict[str, Any]]] = {}
    moved = False
    for row in sorted(by_code.values(), key=lambda r: r.level):
        values: dict[str, Any] = {
            "pcode": row.pcode, "name": row.name, "name_alt": row.name_alt, "level": row.level,
            "parent_pcode": row.parent_pcode, "country_code": row.country_code,
            "admin1_pcode": _admin1_of(by_code, existing, row.pcode),
            "centroid_lat": row.centroid_lat, "centroid_lon": row.centroid_lon,
            "source": row.source, "valid_on": row.valid_on,
        }
        if row.pcode in existing:
            old_parent, old_level = existing[row.pcode]
            moved = moved or old_parent != row.parent_pcode or old_level != row.level
            if row.geometry is not None:
                values["geometry"] = row.geometry
            if row.centroid_lat is None or row.centroid_lon is None:
                del values["centroid_lat"], values["centroid_lon"]
            updates.setdefault(frozenset(values), []).append(values)
        else:
            inserts.append({**values, "geometry": row.geometry})
    if inserts:
        session.execute(sa.insert(AdminUnit), inserts)
    for batch in updates.values():
        session.execute(sa.update(AdminUnit), batch)
    if moved:
        _refresh_admin1(session=session)
    session.flush()
    bump(session, "places")  # cached dashboard figures and maps are stale now
    return len(inserts), sum(len(batch) for batch in updates.values())


def _refresh_admin1(*, session: Session) -> None:
    """Recompute every stored unit's admin-1 ancestor and fix those that changed."""
    stored = session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.parent_pcode, AdminUnit.level, AdminUnit.admin1_pcode)
    ).all()
    tree = {pc: (parent, level) for pc, parent, level, _a1 in stored}
    fixes = [
        {"pcode": pc, "admin1_pcode": a1}
        for pc, _parent, _level, old in stored
        if (a1 := _admin1_of({}, tree, pc)) != old
    ]
    if fixes:
        session.execute(sa.update(AdminUnit), fixes)


def gazetteer_rows() -> list[UnitRow]:
    with GAZETTEER.open(encoding="utf-8", newline="") as fh:
        return [
            UnitRow(pcode=r["pcode"], name=r["name"], level=int(r["level"]),
                    parent_pcode=r["parent_pcode"] or None, country_code="ML",
                    centroid_lat=float(r["latitude"]), centroid_lon=float(r["longitude"]),
                    source=GAZETTEER_SOURCE)
            for r in csv.DictReader(fh)
        ]


def load_gazetteer(*, session: Session) -> int:
    """Load the built-in Mali gazetteer (idempotent). Returns how many units it holds."""
    rows = gazetteer_rows()
    known = set(session.scalars(sa.select(AdminUnit.pcode)))
    upsert_units(session=session, rows=[r for r in rows if r.pcode not in known])
    return len(rows)


def install_gazetteer(*, session: Session, actor: Actor) -> tuple[int, int]:
    """Load the built-in Mali gazetteer for a user. Returns (units it holds, units added)."""
    actor.require(Permission.PLACES_ADMIN_UNIT_WRITE)
    before = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit)) or 0
    total = load_gazetteer(session=session)
    after = session.scalar(sa.select(sa.func.count()).select_from(AdminUnit)) or 0
    audit.record(session, actor, "admin_unit.gazetteer", "admin_unit", None,
                 {"source": GAZETTEER_SOURCE, "units": total, "inserted": after - before})
    return total, after - before


def known_pcodes(*, session: Session) -> dict[str, tuple[int, str | None]]:
    """Every P-code with its level and admin-1 ancestor: what imports validate against."""
    return {
        pc: (level, a1)
        for pc, level, a1 in session.execute(
            sa.select(AdminUnit.pcode, AdminUnit.level, AdminUnit.admin1_pcode)
        )
    }


def units(*, session: Session, level: int | None = None, parent: str | None = None) -> Iterable[AdminUnit]:
    q = sa.select(AdminUnit).order_by(AdminUnit.pcode)
    if level is not None:
        q = q.where(AdminUnit.level == level)
    if parent is not None:
        q = q.where(AdminUnit.parent_pcode == parent)
    return session.scalars(q)


def names_of(*, session: Session, pcodes: Iterable[str | None]) -> dict[str, str]:
    """The names of these P-codes (unknown ones left out), from every unit's name read once per
    change of the places: pages show a few names each, many times a second."""
    wanted = {p for p in pcodes if p}
    if not wanted:
        return {}
    every: dict[str, str] = cached(session, ("place-names", database(session)), lambda: dict(
        session.execute(sa.select(AdminUnit.pcode, AdminUnit.name)).all()), domains=("places",))  # type: ignore[arg-type]
    return {p: every[p] for p in wanted if p in every}
