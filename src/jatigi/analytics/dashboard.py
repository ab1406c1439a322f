"""The home page: households and people by group and place, living conditions, intentions, a map.

Everything is computed in SQL over sets, within `registry.service.visibility(actor)`:

- households, people (`member_count`) and female heads by place and population group, one
  GROUP BY; places at any level are sums of its rows by P-code prefix (a unit's P-code begins
  every descendant's). Without a place filter, regions are counted from `current_admin1`,
  which the registry's covering index answers without reading the table;
- living arrangements, overcrowding and intentions, one pass without grouping;
- disability and children, one aggregate over people and their visible households.

Map geometries are simplified for the wire and kept in-process per P-code and geometry hash,
so a boundary is simplified again only when it changes.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.analytics.schemas import (
    CodeCount,
    Dashboard,
    GroupFigures,
    Intentions,
    Overcrowding,
    PeopleFigures,
    PlaceFigures,
    PlaceRef,
    Totals,
    share,
)
from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.cache import audience, cached
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.places.models import AdminUnit
from jatigi.registry import vocab
from jatigi.registry.models import Household, Person
from jatigi.registry.service import _prefix, visibility

# A dwelling shared by this many households or more is overcrowded (the field report: "four or
# five families may crowd into one house").
OVERCROWDED_FROM = 4
# Intentions are counted among households still in displacement.
DISPLACED_GROUPS: tuple[str, ...] = ("idp",)
# 3 decimals of a degree is about 110 m.
MAP_DECIMALS = 3

_LIVING = tuple(vocab.LIVING_ARRANGEMENTS)
_INTENTIONS = tuple(vocab.INTENTIONS)
_WG = (Person.wg_seeing, Person.wg_hearing, Person.wg_walking, Person.wg_cognition, Person.wg_selfcare,
       Person.wg_communication)


# ------------------------------------------------------------------------------------ filters


@dataclass(frozen=True)
class _Scope:
    place: PlaceRef | None
    group: str | None
    conds: tuple[sa.ColumnElement[bool], ...]


def _scope(session: Session, actor: Actor, place: str | None, group: str | None) -> _Scope:
    actor.require(Permission.REGISTRY_SUMMARY_READ)
    ref = _place_ref(session, place)
    code = (group or "").strip() or None
    if code is not None and code not in vocab.POPULATION_GROUPS:
        raise ValidationFailed(_("Unknown choice; accepted: {accepted}.",
                                 accepted=", ".join(vocab.POPULATION_GROUPS)))
    conds = list(visibility(actor))
    if ref is not None:
        conds.append(_prefix(Household.current_pcode, ref.pcode))
    if code is not None:
        conds.append(Household.population_group == code)
    return _Scope(ref, code, tuple(conds))


def _place_ref(session: Session, place: str | None) -> PlaceRef | None:
    code = (place or "").strip().upper()
    if not code:
        return None
    row = session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.name, AdminUnit.level).where(AdminUnit.pcode == code)).first()
    if row is None:
        raise ValidationFailed(_("No admin unit {pcode}.", pcode=place))
    return PlaceRef(row.pcode, row.name, row.level)


def _trail(session: Session, place: PlaceRef | None) -> tuple[PlaceRef, ...]:
    if place is None:
        return ()
    prefixes = [place.pcode[:n] for n in range(1, len(place.pcode) + 1)]
    rows = session.execute(
        sa.select(AdminUnit.pcode, AdminUnit.name, AdminUnit.level).where(AdminUnit.pcode.in_(prefixes))).all()
    return tuple(sorted((PlaceRef(r.pcode, r.name, r.level) for r in rows), key=lambda r: (r.level, r.pcode)))


def _levels(session: Session, place: PlaceRef | None) -> tuple[int, ...]:
    q = sa.select(AdminUnit.level).distinct()
    if place is not None:
        q = q.where(_prefix(AdminUnit.pcode, place.pcode), AdminUnit.level >= place.level)
    return tuple(sorted(session.scalars(q)))


# ---------------------------------------------------------------------------------- places


@dataclass(frozen=True)
class _Unit:
    pcode: str
    name: str
    level: int
    lat: float | None
    lon: float | None
    has_geometry: bool
    has_boundary: bool


def _units_at(session: Session, level: int, place: PlaceRef | None) -> dict[str, _Unit]:
    text = sa.cast(AdminUnit.geometry, sa.Text)
    stored = sa.and_(AdminUnit.geometry.is_not(None), text != "null")
    q = sa.select(
        AdminUnit.pcode, AdminUnit.name, AdminUnit.level, AdminUnit.centroid_lat, AdminUnit.centroid_lon,
        sa.case((stored, True), else_=False).label("has_geometry"),
        # GeoJSON names its area types "Polygon" and "MultiPolygon" and holds no other text,
        # so this tells an area from a point without parsing the coordinates.
        sa.case((sa.and_(stored, sa.or_(text.like('%"Polygon"%'), text.like('%"MultiPolygon"%'))), True),
                else_=False).label("has_boundary"),
    ).where(AdminUnit.level == level)
    if place is not None:
        q = q.where(_prefix(AdminUnit.pcode, place.pcode))
    return {r.pcode: _Unit(r.pcode, r.name, r.level, r.centroid_lat, r.centroid_lon, bool(r.has_geometry),
                           bool(r.has_boundary))
            for r in session.execute(q)}


class _Roll:
    """Finds the unit of one level that holds a P-code: the unit whose P-code begins it."""

    def __init__(self, units: dict[str, _Unit]) -> None:
        self.units = units
        self.lengths = sorted({len(pc) for pc in units}, reverse=True)
        self._memo: dict[str | None, str | None] = {}

    def __call__(self, pcode: str | None) -> str | None:
        if pcode not in self._memo:
            self._memo[pcode] = None if pcode is None else next(
                (pcode[:n] for n in self.lengths if len(pcode) >= n and pcode[:n] in self.units), None)
        return self._memo[pcode]


def _check_level(level: int, scope: _Scope, levels: tuple[int, ...]) -> None:
    low = scope.place.level if scope.place is not None else 0
    high = max(levels, default=low)
    if not low <= level <= high:
        raise ValidationFailed(_("Out of range; accepted: {low} to {high}.", low=low, high=high))


# ------------------------------------------------------------------------------ household sums


@dataclass
class _Sums:
    households: int = 0
    people: int = 0
    female_headed: int = 0

    def add(self, households: int, people: int, female_headed: int) -> None:
        self.households += households
        self.people += people
        self.female_headed += female_headed


def _count(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.count(sa.case((cond, 1)))


def _condition_columns() -> list[sa.ColumnElement[int]]:
    """Living arrangements, intentions of the displaced, displaced, overcrowded, dwelling known."""
    displaced = Household.population_group.in_(DISPLACED_GROUPS)
    cols = [_count(Household.living_arrangement == code) for code in _LIVING]
    cols += [_count(sa.and_(displaced, Household.intention == code)) for code in _INTENTIONS]
    cols += [_count(displaced), _count(Household.households_in_dwelling >= OVERCROWDED_FROM),
             sa.func.count(Household.households_in_dwelling)]
    return cols


_FIGURES = 5  # key, group, households, people, female: the columns before the conditions


@dataclass(frozen=True)
class _Counted:
    level: int
    units: dict[str, _Unit]
    rows: Sequence[Any]  # rows of: key (a P-code or an admin-1 P-code), group, households, people, female
    conditions: list[int] | None  # the sums of `_condition_columns`, when counted with the places


def _count_places(session: Session, scope: _Scope, level: int | None, levels: tuple[int, ...], *,
                  conditions: bool) -> _Counted:
    """Households, people and female heads by place and population group, at the level asked
    or by default the one below the place filter (regions without one); with `conditions`,
    also the sums of `_condition_columns` when that costs nothing more (the table is read anyway).

    The default stays at the place itself when it has households but none recorded deeper
    (a commune whose households are recorded at the commune, not in its villages).
    """
    if level is not None:
        _check_level(level, scope, levels)
    # Regions of the whole registry: `current_admin1` is in the registry's covering index
    # (`ix_households_summary`), so the count reads the index only, and the conditions are
    # better counted apart.
    by_admin1 = scope.place is None and level in (None, 1)
    if by_admin1:
        units = _units_at(session, 1, None)
        key: Any = Household.current_admin1
    else:
        target = level if level is not None else (scope.place.level + 1 if scope.place is not None else 1)
        units = _units_at(session, target, scope.place)
        # Grouping by the first characters that can name a unit of this level groups less and
        # keeps SQLite from walking the P-code index in order (slower than reading the table).
        width = max((len(pc) for pc in units), default=len(scope.place.pcode) if scope.place else 2)
        key = sa.func.substr(Household.current_pcode, 1, width)
    cols: list[Any] = [key.label("key"), Household.population_group.label("grp"),
                       sa.func.count().label("households"),
                       sa.func.coalesce(sa.func.sum(Household.member_count), 0).label("people"),
                       _count(Household.head_sex == "f").label("female")]
    with_conditions = conditions and not by_admin1
    if with_conditions:
        cols += _condition_columns()
    # Grouping first by organisation follows the covering index's order: SQLite then adds up
    # as it reads instead of sorting (the rows of one place and group are summed below).
    groups = [Household.org_id, key, Household.population_group] if by_admin1 else [key, Household.population_group]
    rows = session.execute(sa.select(*cols).where(*scope.conds).group_by(*groups)).all()
    sums = [sum(r[i] for r in rows) for i in range(_FIGURES, len(cols))] if with_conditions else None
    if level is not None:
        return _Counted(level, units, rows, sums)
    if scope.place is None:
        return _Counted(1, units, rows, sums)
    roll = _Roll(units)
    if units and (not rows or any(roll(r.key) for r in rows)):
        return _Counted(scope.place.level + 1, units, rows, sums)
    return _Counted(scope.place.level, _units_at(session, scope.place.level, scope.place), rows, sums)


def _by_place(counted: _Counted) -> tuple[list[PlaceFigures], int]:
    roll = _Roll(counted.units)
    sums = {pc: _Sums() for pc in counted.units}
    unplaced = 0
    for r in counted.rows:
        key = roll(r.key)
        if key is None:
            unplaced += r.households
        else:
            sums[key].add(r.households, int(r.people), r.female)
    out = [PlaceFigures(u.pcode, u.name, u.level, s.households, s.people, s.female_headed, u.lat, u.lon,
                        u.has_geometry, u.has_boundary)
           for u, s in ((counted.units[pc], sums[pc]) for pc in counted.units)]
    out.sort(key=lambda p: (-p.households, p.pcode))
    return out, unplaced


def _conditions(session: Session, scope: _Scope,
                sums: Sequence[int] | None) -> tuple[tuple[CodeCount, ...], Overcrowding, Intentions]:
    """Living arrangements, overcrowding and intentions, from `sums` or one pass of their own."""
    row = sums if sums is not None else session.execute(sa.select(*_condition_columns()).where(*scope.conds)).one()
    n, m = len(_LIVING), len(_INTENTIONS)
    living = tuple(CodeCount(code, row[i]) for i, code in enumerate(_LIVING))
    intentions = Intentions(DISPLACED_GROUPS, row[n + m],
                            tuple(CodeCount(code, row[n + i]) for i, code in enumerate(_INTENTIONS)))
    crowded, known = row[n + m + 1], row[n + m + 2]
    return living, Overcrowding(OVERCROWDED_FROM, crowded, known, share(crowded, known)), intentions


# ---------------------------------------------------------------------------------- people


def _eighteen_years_before(today: date) -> date:
    try:
        return today.replace(year=today.year - vocab.ADULT_AGE)
    except ValueError:  # 29 February, in a year that has none
        return today.replace(year=today.year - vocab.ADULT_AGE, day=28)


def _people_figures(session: Session, scope: _Scope, today: date) -> PeopleFigures:
    disabled = sa.or_(*[col >= vocab.WG_DISABILITY_THRESHOLD for col in _WG])
    child = Person.birth_date > _eighteen_years_before(today)
    q = (sa.select(_count(disabled), _count(child)).select_from(Person)
         .where(Person.deleted_at.is_(None), sa.or_(disabled, child)))
    if _people_first(session, scope):
        q = q.where(sa.exists().where(Household.id == Person.household_id, *scope.conds))
    else:
        q = q.join(Household, Household.id == Person.household_id).where(*scope.conds)
    with_disability, children = session.execute(q).one()
    return PeopleFigures(with_disability=with_disability, children=children)


def _people_first(session: Session, scope: _Scope) -> bool:
    """Whether to read the whole people table rather than go from the place's households.

    Reading every person once and checking the household of each one counted costs about a
    quarter of reaching members from their households one by one (SQLite, 1.2 M people): it
    wins when the place holds more than a quarter of the registry. The place's share is taken
    from the P-code index alone (a few milliseconds), whoever may see the households.
    """
    if scope.place is None:
        return True
    in_place = session.scalar(sa.select(sa.func.count()).select_from(Household)
                              .where(_prefix(Household.current_pcode, scope.place.pcode))) or 0
    return 4 * in_place > (session.scalar(sa.select(sa.func.max(Household.id))) or 0)


# ------------------------------------------------------------------------------- dashboard


def _detail(scope: _Scope, level: int, **extra: object) -> dict[str, object]:
    return {"place": scope.place.pcode if scope.place else None, "group": scope.group, "level": level, **extra}


def dashboard(*, session: Session, actor: Actor, place: str | None = None, group: str | None = None,
              level: int | None = None, include_people: bool = True, today: date | None = None) -> Dashboard:
    """Everything the home page shows, within what the actor may see.

    `place` keeps households whose current P-code begins with it; `group` one population
    group; `level` the admin level of `by_place` (default: regions without a place, else the
    level below the place). `include_people=False` leaves out the one query over people
    (disability and children are then None): `people_figures` gives them on their own.
    Figures are cached briefly per audience and filters (see `core.cache`); each call is
    audited.
    """
    key = ("dashboard", audience(session, actor), place, group, level, include_people, today or date.today())
    result, detail = cached(session, key, lambda: _dashboard(session, actor, place, group, level, include_people, today))
    audit.record(session, actor, "dashboard.read", "registry", None, detail)
    return result


def _dashboard(session: Session, actor: Actor, place: str | None, group: str | None, level: int | None,
               include_people: bool, today: date | None) -> tuple[Dashboard, dict[str, object]]:
    scope = _scope(session, actor, place, group)
    levels = _levels(session, scope.place)
    counted = _count_places(session, scope, level, levels, conditions=True)
    by_place, unplaced = _by_place(counted)
    total = _Sums()
    groups = {code: _Sums() for code in vocab.POPULATION_GROUPS}
    for r in counted.rows:
        total.add(r.households, int(r.people), r.female)
        groups.setdefault(r.grp, _Sums()).add(r.households, int(r.people), r.female)
    living, crowding, intentions = _conditions(session, scope, counted.conditions)
    people = _people_figures(session, scope, today or date.today()) if include_people else None
    result = Dashboard(
        place=scope.place, trail=_trail(session, scope.place), group=scope.group, level=counted.level,
        levels=levels,
        totals=Totals(
            households=total.households, people=total.people, female_headed=total.female_headed,
            female_headed_share=share(total.female_headed, total.households),
            people_with_disability=people.with_disability if people else None,
            children=people.children if people else None),
        by_group=tuple(GroupFigures(code, s.households, s.people, s.female_headed) for code, s in groups.items()),
        by_place=tuple(by_place), unplaced_households=unplaced,
        living_arrangements=living, overcrowding=crowding, intentions=intentions,
    )
    return result, _detail(scope, counted.level, people=include_people)


def people_figures(*, session: Session, actor: Actor, place: str | None = None, group: str | None = None,
                   today: date | None = None) -> PeopleFigures:
    """Disability and children alone: the dashboard's query over people, for a page that shows
    the household figures first and these when they arrive."""
    scope = _scope(session, actor, place, group)
    figures = cached(session, ("people", audience(session, actor), place, group, today or date.today()),
                     lambda: _people_figures(session, scope, today or date.today()))
    audit.record(session, actor, "dashboard.read", "registry", None,
                 {"place": scope.place.pcode if scope.place else None, "group": scope.group, "part": "people"})
    return figures


# ------------------------------------------------------------------------------------- map


def map_features(*, session: Session, actor: Actor, place: str | None = None, group: str | None = None,
                 level: int | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one feature per unit at the dashboard's level, with its
    boundary (simplified) when one is loaded, else a point at its centroid.

    Feature properties: pcode, name, households, people, female_headed, and kind "area" or
    "point". The collection also says its `level`. Units with neither a geometry nor a centroid
    cannot be drawn and are left out. Geometries are shared with the in-process cache: serialise
    them, do not change them.
    """
    scope = _scope(session, actor, place, group)

    def compute() -> dict[str, Any]:
        counted = _count_places(session, scope, level, _levels(session, scope.place), conditions=False)
        by_place, _unplaced = _by_place(counted)
        collection = features(session=session, places=by_place)
        collection["level"] = counted.level
        return collection

    result = cached(session, ("map", audience(session, actor), place, group, level), compute)
    audit.record(session, actor, "dashboard.map", "registry", None, _detail(scope, result["level"]))
    return result


def features(*, session: Session, places: Sequence[PlaceFigures]) -> dict[str, Any]:
    """The FeatureCollection of places already counted (a `Dashboard.by_place`), for a page
    that has the dashboard and draws its map without counting again."""
    shapes = _shapes(session, [p.pcode for p in places if p.has_geometry])
    tolerance = _tolerance([s.bbox for s in shapes.values()])
    out = []
    for p in places:
        shape = shapes.get(p.pcode)
        geometry = shape.thinned(tolerance) if shape is not None else None
        if geometry is None and p.lat is not None and p.lon is not None:
            geometry = {"type": "Point", "coordinates": [round(p.lon, 5), round(p.lat, 5)]}
        if geometry is None:
            continue
        out.append({"type": "Feature", "id": p.pcode, "geometry": geometry, "properties": {
            "pcode": p.pcode, "name": p.name, "households": p.households, "people": p.people,
            "female_headed": p.female_headed, "kind": "area" if _is_area(geometry) else "point"}})
    return {"type": "FeatureCollection", "features": out}


# ------------------------------------------------------------------------------ geometries


# Douglas-Peucker tolerances (degrees) a map may use: about one pixel of a 1,000-pixel map of
# the area shown, in steps so that each unit is thinned at only a few of them.
_TOLERANCES = (0.05, 0.02, 0.01, 0.005, 0.002)


def _tolerance(boxes: Sequence[tuple[float, float, float, float]]) -> float | None:
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pixel = math.hypot(x1 - x0, y1 - y0) / 1000
    return next((t for t in _TOLERANCES if t <= pixel), None)


class _Shape:
    """A geometry rounded for the wire, with its bounding box and thinned versions."""

    def __init__(self, geometry: dict[str, Any]) -> None:
        self.geometry = geometry
        xs, ys = zip(*_points(geometry), strict=True)
        self.bbox = (min(xs), min(ys), max(xs), max(ys))
        self._thinned: dict[float, dict[str, Any]] = {}

    def thinned(self, tolerance: float | None) -> dict[str, Any]:
        if tolerance is None or not _is_area(self.geometry):
            return self.geometry
        if tolerance not in self._thinned:
            self._thinned[tolerance] = _map_rings(self.geometry, lambda ring: _thin(ring, tolerance)) or self.geometry
        return self._thinned[tolerance]


_cache: dict[tuple[str, str], _Shape | None] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 50_000  # more than every unit of a country; emptied when full


def _shapes(session: Session, pcodes: Sequence[str]) -> dict[str, _Shape]:
    """Simplified geometries by P-code. The stored text is read (not parsed) and hashed; only a
    geometry not seen before is parsed and simplified."""
    out: dict[str, _Shape] = {}
    for start in range(0, len(pcodes), 900):  # under every driver's limit of bound parameters
        part = pcodes[start:start + 900]
        rows = session.execute(
            sa.select(AdminUnit.pcode, sa.cast(AdminUnit.geometry, sa.Text))
            .where(AdminUnit.pcode.in_(part), AdminUnit.geometry.is_not(None))).all()
        for pcode, text in rows:
            if not text or text == "null":
                continue
            key = (pcode, hashlib.blake2b(text.encode(), digest_size=16).hexdigest())
            shape = _cache.get(key)
            if key not in _cache:
                simple = simplify(json.loads(text))
                shape = _Shape(simple) if simple is not None else None
                with _cache_lock:
                    if len(_cache) >= _CACHE_MAX:
                        _cache.clear()
                    _cache[key] = shape
            if shape is not None:
                out[pcode] = shape
    return out


def _is_area(geometry: dict[str, Any]) -> bool:
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        return any(_is_area(g) for g in geometry.get("geometries") or [])
    return kind in ("Polygon", "MultiPolygon")


def simplify(geometry: dict[str, Any] | None, decimals: int = MAP_DECIMALS) -> dict[str, Any] | None:
    """A GeoJSON geometry lighter for the wire: coordinates rounded to `decimals`, consecutive
    repeated points dropped. Rings stay closed with at least four points: a ring that would
    collapse keeps a finer rounding, and goes only if it has no area at any (a hole that small
    cannot be seen; a polygon without its outer ring is gone). None if nothing is left.
    """
    if not geometry:
        return None
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "GeometryCollection":
        parts = [g for g in (simplify(g, decimals) for g in geometry.get("geometries") or []) if g]
        return {"type": kind, "geometries": parts} if parts else None
    if not coords:
        return None
    if kind == "Point":
        return {"type": kind, "coordinates": _round(coords, decimals)}
    if kind == "MultiPoint":
        return {"type": kind, "coordinates": [_round(p, decimals) for p in coords]}
    if kind == "LineString":
        line = _line(coords, decimals)
        return {"type": kind, "coordinates": line} if len(line) >= 2 else None
    if kind == "MultiLineString":
        lines = [line for line in (_line(c, decimals) for c in coords) if len(line) >= 2]
        return {"type": kind, "coordinates": lines} if lines else None
    if kind in ("Polygon", "MultiPolygon"):
        return _map_rings({"type": kind, "coordinates": coords}, lambda ring: _ring(ring, decimals))
    return None


def _round(point: Sequence[float], decimals: int) -> list[float]:
    return [round(float(point[0]), decimals), round(float(point[1]), decimals)]


def _line(points: Sequence[Sequence[float]], decimals: int) -> list[list[float]]:
    out: list[list[float]] = []
    for pt in points:
        xy = _round(pt, decimals)
        if not out or out[-1] != xy:
            out.append(xy)
    return out


def _closed(ring: list[list[float]]) -> list[list[float]] | None:
    """The ring closed, or None if it has fewer than three distinct corners."""
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    return [*ring, ring[0]] if len(ring) >= 3 else None


def _ring(points: Sequence[Sequence[float]], decimals: int) -> list[list[float]] | None:
    for places in range(decimals, 8):
        ring = _closed(_line(points, places))
        if ring is not None:
            return ring
    return None


def _map_rings(geometry: dict[str, Any], fix: Callable[[Any], list[list[float]] | None]) -> dict[str, Any] | None:
    """Apply `fix` to every ring of a (Multi)Polygon or a collection of them: a polygon whose
    outer ring goes is dropped, a hole that goes is forgotten."""
    kind = geometry["type"]
    if kind == "GeometryCollection":
        parts = [g for g in (_map_rings(g, fix) if _is_area(g) else g for g in geometry["geometries"]) if g]
        return {"type": kind, "geometries": parts} if parts else None

    def polygon(rings: Sequence[Sequence[Sequence[float]]]) -> list[list[list[float]]] | None:
        outer = fix(rings[0]) if rings else None
        if outer is None:
            return None
        return [outer, *[h for h in (fix(r) for r in rings[1:]) if h is not None]]

    if kind == "Polygon":
        poly = polygon(geometry["coordinates"])
        return {"type": kind, "coordinates": poly} if poly else None
    polys = [p for p in (polygon(c) for c in geometry["coordinates"]) if p]
    return {"type": kind, "coordinates": polys} if polys else None


def _thin(ring: list[list[float]], tolerance: float) -> list[list[float]]:
    """Douglas-Peucker on a closed ring, at a finer tolerance where it would flatten the ring."""
    while True:
        thinned = _douglas_peucker(ring, tolerance)
        if len(thinned) >= 4 or tolerance < 1e-7:
            return thinned if len(thinned) >= 4 else ring
        tolerance /= 4


def _douglas_peucker(ring: list[list[float]], tolerance: float) -> list[list[float]]:
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    # A closed ring starts and ends on one point: split it at the point farthest from it first.
    ax, ay = ring[0]
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - ax) ** 2 + (ring[i][1] - ay) ** 2)
    keep[far] = True
    stack = [(0, far), (far, len(ring) - 1)]
    limit = tolerance * tolerance
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = ring[a], ring[b]
        dx, dy = bx - ax, by - ay
        length = dx * dx + dy * dy
        worst, at = -1.0, -1
        for i in range(a + 1, b):
            px, py = ring[i]
            t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
            d = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
            if d > worst:
                worst, at = d, i
        if worst > limit:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [pt for pt, k in zip(ring, keep, strict=True) if k]


def _points(geometry: dict[str, Any]) -> Iterable[Sequence[float]]:
    kind = geometry["type"]
    if kind == "GeometryCollection":
        for g in geometry["geometries"]:
            yield from _points(g)
        return
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
             "MultiPolygon": 3}[kind]
    stack: list[tuple[Any, int]] = [(geometry["coordinates"], depth)]
    while stack:
        coords, d = stack.pop()
        if d == 0:
            yield coords
        else:
            stack += [(c, d - 1) for c in coords]
