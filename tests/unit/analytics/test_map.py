"""The dashboard's map: areas where boundaries are loaded, points at centroids otherwise."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session

from jatigi.analytics import dashboard as dash
from jatigi.core.authz import SYSTEM
from jatigi.places.service import UnitRow, upsert_units
from tests import factories as f

HAMDALLAYE = "ML090104223"


def square(lon: float, lat: float, side: float) -> dict[str, object]:
    """A square drawn with more points than the map needs: each corner twice, 6 decimals."""
    x0, y0, x1, y1 = lon, lat, lon + side, lat + side
    ring = [[x0, y0], [x0 + 1e-6, y0], [x1, y0], [x1, y1], [x1, y1 + 1e-7], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def bamako_boundary(session: Session, geometry: dict[str, object]) -> None:
    upsert_units(session=session, rows=[UnitRow(pcode="ML09", name="Bamako", level=1, parent_pcode="ML",
                                                country_code="ML", geometry=geometry)])


@pytest.fixture
def registry(session: Session) -> None:
    f.places(session)
    f.org(session, "ONGA")
    f.org(session, "ONGC")
    f.user(session, "alice", "ONGA")
    f.user(session, "carol", "ONGC")
    alice = f.actor(session, "alice")
    f.household(session, alice)
    f.household(session, alice, current_pcode=HAMDALLAYE)
    f.household(session, alice, current_pcode=f.MOPTI_COMMUNE, population_group="host", intention=None)


def by_pcode(collection: dict[str, object]) -> dict[str, dict[str, object]]:
    return {feat["id"]: feat for feat in collection["features"]}  # type: ignore[attr-defined]


def test_units_without_boundaries_are_points_at_their_centroids(session: Session, registry: None) -> None:
    fc = dash.map_features(session=session, actor=f.actor(session, "alice"))
    assert fc["type"] == "FeatureCollection" and fc["level"] == 1
    features = by_pcode(fc)
    assert len(features) == 9
    bamako = features["ML09"]
    assert bamako["geometry"] == {"type": "Point", "coordinates": [-7.98004, 12.60921]}
    assert bamako["properties"] == {"pcode": "ML09", "name": "Bamako", "households": 2, "people": 6,
                                    "female_headed": 2, "kind": "point"}
    assert features["ML05"]["properties"]["households"] == 1  # type: ignore[index]
    assert features["ML01"]["properties"]["households"] == 0  # type: ignore[index]
    json.dumps(fc)  # ready for the wire


def test_a_loaded_boundary_is_an_area_simplified_for_the_wire(session: Session, registry: None) -> None:
    bamako_boundary(session, square(-8.1234567, 12.5234567, 0.2))
    board = dash.dashboard(session=session, actor=f.actor(session, "alice"))
    region = next(p for p in board.by_place if p.pcode == "ML09")
    assert region.has_geometry and region.has_boundary
    fc = dash.map_features(session=session, actor=f.actor(session, "alice"))
    feature = by_pcode(fc)["ML09"]
    assert feature["properties"]["kind"] == "area"  # type: ignore[index]
    assert feature["geometry"] == {"type": "Polygon", "coordinates": [[
        [-8.123, 12.523], [-7.923, 12.523], [-7.923, 12.723], [-8.123, 12.723], [-8.123, 12.523]]]}
    assert by_pcode(fc)["ML05"]["properties"]["kind"] == "point"  # type: ignore[index]
    # The same features from the dashboard already computed, without counting again.
    assert dash.features(session=session, places=board.by_place)["features"] == fc["features"]


def test_a_reloaded_boundary_shows_at_once(session: Session, registry: None) -> None:
    bamako_boundary(session, square(-8.0, 12.5, 0.2))
    first = by_pcode(dash.map_features(session=session, actor=SYSTEM))["ML09"]["geometry"]
    bamako_boundary(session, square(-8.5, 12.0, 0.1))
    second = by_pcode(dash.map_features(session=session, actor=SYSTEM))["ML09"]["geometry"]
    assert first["coordinates"][0][0] == [-8.0, 12.5]  # type: ignore[index]
    assert second["coordinates"][0][0] == [-8.5, 12.0]  # type: ignore[index]


def test_a_point_geometry_stays_a_point(session: Session, registry: None) -> None:
    upsert_units(session=session, rows=[UnitRow(pcode=HAMDALLAYE, name="Hamdallaye", level=4,
                                                parent_pcode="ML090104", country_code="ML",
                                                geometry={"type": "Point", "coordinates": [-8.0263349, 12.6396411]})])
    fc = dash.map_features(session=session, actor=f.actor(session, "alice"), place="ML090104")
    assert fc["level"] == 4
    feature = by_pcode(fc)[HAMDALLAYE]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-8.026, 12.64]}
    assert feature["properties"]["kind"] == "point"  # type: ignore[index]
    assert feature["properties"]["households"] == 1  # type: ignore[index]


def test_another_organisation_sees_the_map_without_households(session: Session, registry: None) -> None:
    fc = dash.map_features(session=session, actor=f.actor(session, "carol"), group="idp")
    assert len(fc["features"]) == 9
    assert {feat["properties"]["households"] for feat in fc["features"]} == {0}


# ------------------------------------------------------------------------------ simplification


def test_rounding_drops_repeated_points_and_keeps_rings_closed() -> None:
    ring = [[1.00001, 2.00001], [1.00002, 2.00002], [1.5, 2.0], [1.5, 2.5], [1.0, 2.5], [1.00001, 2.00001]]
    assert dash.simplify({"type": "Polygon", "coordinates": [ring]}) == {"type": "Polygon", "coordinates": [[
        [1.0, 2.0], [1.5, 2.0], [1.5, 2.5], [1.0, 2.5], [1.0, 2.0]]]}
    # An unclosed ring is closed.
    assert dash.simplify({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}) == {
        "type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}


def test_a_ring_smaller_than_the_rounding_keeps_a_finer_one_and_a_tiny_hole_goes() -> None:
    tiny = [[5.0001, 5.0001], [5.0004, 5.0001], [5.0004, 5.0004], [5.0001, 5.0004], [5.0001, 5.0001]]
    assert dash.simplify({"type": "Polygon", "coordinates": [tiny]}) == {"type": "Polygon", "coordinates": [[
        [5.0001, 5.0001], [5.0004, 5.0001], [5.0004, 5.0004], [5.0001, 5.0004], [5.0001, 5.0001]]]}
    outer = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    dot = [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
    multi = {"type": "MultiPolygon", "coordinates": [[outer, dot], [dot]]}
    assert dash.simplify(multi) == {"type": "MultiPolygon", "coordinates": [[
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]]}
    assert dash.simplify({"type": "Polygon", "coordinates": [dot]}) is None
    assert dash.simplify(None) is None


def test_a_country_map_is_thinned_but_every_ring_stays_valid() -> None:
    # A wavy 10-degree square: 400 points, the waves 400 m high, too small for a country map.
    n = 100
    edge = [10 * i / n for i in range(n)]
    ring = ([[x, 0.004 * (i % 2)] for i, x in enumerate(edge)] + [[10.0, y] for y in edge]
            + [[10 - x, 10.0] for x in edge] + [[0.0, 10 - y] for y in edge] + [[0.0, 0.0]])
    big = dash._Shape(dash.simplify({"type": "Polygon", "coordinates": [ring]}) or {})
    assert len(big.geometry["coordinates"][0]) == 401  # rounding alone keeps the waves
    small = dash._Shape(dash.simplify(square(3.0, 3.0, 0.004)) or {})
    tolerance = dash._tolerance([big.bbox, small.bbox])
    assert tolerance == 0.01
    assert big.thinned(tolerance)["coordinates"][0] == [
        [0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]
    # A unit smaller than the tolerance keeps a closed ring of at least four points.
    kept = small.thinned(tolerance)["coordinates"][0]
    assert len(kept) >= 4 and kept[0] == kept[-1]
    # Zoomed in on a small area, nothing is thinned beyond the rounding.
    assert dash._tolerance([small.bbox]) is None
    assert small.thinned(None) == small.geometry
