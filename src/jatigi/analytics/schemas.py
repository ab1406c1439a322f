"""What the dashboard service returns: figures with codes, never translated labels.

Pages translate population groups, living arrangements and intentions through
`jatigi.registry.vocab`; places carry their names because names are data, not labels.
"""

from __future__ import annotations

from dataclasses import dataclass


def share(part: int, whole: int) -> float | None:
    """part / whole between 0 and 1, or None when there is nothing to divide."""
    return part / whole if whole else None


@dataclass(frozen=True)
class PlaceRef:
    pcode: str
    name: str
    level: int


@dataclass(frozen=True)
class PeopleFigures:
    """Figures that need the people table, not only households."""

    # Anyone with "a lot of difficulty" or "cannot do at all" in a Washington Group domain.
    with_disability: int
    # Under 18 on the day the dashboard was computed (people without a birth date are not counted).
    children: int


@dataclass(frozen=True)
class Totals:
    households: int
    people: int
    female_headed: int
    # None when there are no households.
    female_headed_share: float | None
    # None when the dashboard was asked without the people figures.
    people_with_disability: int | None
    children: int | None


@dataclass(frozen=True)
class GroupFigures:
    group: str  # a code of vocab.POPULATION_GROUPS
    households: int
    people: int
    female_headed: int


@dataclass(frozen=True)
class PlaceFigures:
    pcode: str
    name: str
    level: int
    households: int
    people: int
    female_headed: int
    lat: float | None
    lon: float | None
    # Some geometry is stored (a boundary or, for a populated place, a point).
    has_geometry: bool
    # The stored geometry is an area (Polygon/MultiPolygon): the map can colour it.
    has_boundary: bool


@dataclass(frozen=True)
class CodeCount:
    code: str
    households: int


@dataclass(frozen=True)
class Overcrowding:
    threshold: int  # households sharing a dwelling from which it counts as overcrowded
    households: int  # households in overcrowded dwellings
    recorded: int  # households whose number of households in the dwelling is known
    share: float | None  # households / recorded


@dataclass(frozen=True)
class Intentions:
    groups: tuple[str, ...]  # the population groups counted as displaced
    displaced: int  # displaced households
    counts: tuple[CodeCount, ...]  # in vocab.INTENTIONS order, zeros included

    @property
    def not_recorded(self) -> int:
        return self.displaced - sum(c.households for c in self.counts)


@dataclass(frozen=True)
class Dashboard:
    place: PlaceRef | None  # the place filter, None for everywhere
    trail: tuple[PlaceRef, ...]  # the place filter's ancestors and itself, country first
    group: str | None  # the population-group filter
    level: int  # the level of `by_place`
    levels: tuple[int, ...]  # levels that can be shown for this place filter
    totals: Totals
    by_group: tuple[GroupFigures, ...]  # vocab.POPULATION_GROUPS order, zeros included
    # Every unit at `level` within the place filter, most households first, zeros included.
    by_place: tuple[PlaceFigures, ...]
    # Households recorded above `level` (e.g. at a commune when quartiers are shown).
    unplaced_households: int
    living_arrangements: tuple[CodeCount, ...]  # vocab.LIVING_ARRANGEMENTS order, zeros included
    overcrowding: Overcrowding
    intentions: Intentions
