"""Importing COD-AB boundaries and places: what a user sees in the admin-unit table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.audit import AuditEvent
from jatigi.core.authz import DEFAULT_ROLE_PERMISSIONS, SYSTEM, Actor
from jatigi.core.errors import Forbidden, ValidationFailed
from jatigi.places.cod import import_cod_file, load_cod_dir
from jatigi.places.models import AdminUnit
from jatigi.places.service import load_gazetteer
from tests.unit.places.cod_samples import (
    BF_ADM0,
    BF_ADM1,
    BF_ADM2,
    MALI,
    MALI_MISSING,
    adm2_props,
    bf_folder,
    feature,
    hdx_zip,
    polygon,
    square,
    write_adm2_shapefile,
    write_geojson,
    zip_shapefile,
)

needs_mali = pytest.mark.skipif(not MALI.is_dir(), reason=MALI_MISSING)


def unit(session: Session, pcode: str) -> AdminUnit:
    found = session.get(AdminUnit, pcode)
    assert found is not None, pcode
    return found


def count_units(session: Session, **where: object) -> int:
    q = sa.select(sa.func.count()).select_from(AdminUnit)
    for col, value in where.items():
        q = q.where(getattr(AdminUnit, col) == value)
    return session.scalar(q) or 0


def audit_events(session: Session) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "admin_unit.import")))


def load_bf_parents(session: Session, tmp_path: Path) -> None:
    import_cod_file(session=session, actor=SYSTEM, path=write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0))
    import_cod_file(session=session, actor=SYSTEM, path=write_geojson(tmp_path / "bfa_adm1.geojson", BF_ADM1))


# ------------------------------------------------------------------------------ Mali, real files


@needs_mali
def test_the_mali_folder_loads_every_level_under_its_parent(session: Session) -> None:
    result = load_cod_dir(session=session, actor=SYSTEM, directory=MALI)

    assert [(layer.source, layer.level, layer.units) for layer in result.layers] == [
        ("mli_adm0.geojson", 0, 1), ("mli_adm1.geojson", 1, 9), ("mli_adm2.geojson", 2, 50),
        ("mli_adm3.geojson", 3, 701), ("mli_adm4_bamako.geojson", 4, 71),
        ("mli_settlements.csv", 4, 18_769),
    ]
    # Six Bamako quartiers are also in the settlements list: updated, not duplicated.
    assert result.layers[-1].updated == 6
    assert (result.inserted, result.updated) == (19_595, 6)
    counts = dict(session.execute(sa.select(AdminUnit.level, sa.func.count()).group_by(AdminUnit.level)).all())
    assert counts == {0: 1, 1: 9, 2: 50, 3: 701, 4: 71 + 18_769 - 6}

    bamako = unit(session, "ML09")
    assert (bamako.name, bamako.parent_pcode, bamako.country_code) == ("Bamako", "ML", "ML")
    assert 12.5 < bamako.centroid_lat < 12.75 and -8.1 < bamako.centroid_lon < -7.85
    assert bamako.geometry is not None and bamako.geometry["type"] in ("Polygon", "MultiPolygon")
    commune4 = unit(session, "ML090104")
    assert (commune4.name, commune4.parent_pcode, commune4.admin1_pcode) == ("Commune IV", "ML0901", "ML09")
    quartier = unit(session, "ML090104223")
    assert (quartier.name, quartier.level, quartier.parent_pcode, quartier.admin1_pcode) == (
        "Hamdallaye", 4, "ML090104", "ML09")
    village = unit(session, "ML010101001")
    assert (village.name, village.parent_pcode, village.admin1_pcode) == ("Bambela", "ML010101", "ML01")
    assert village.centroid_lat == pytest.approx(14.6311, abs=1e-4)
    assert village.centroid_lon == pytest.approx(-11.5737, abs=1e-4)
    assert village.valid_on == "2015-04-24"
    # Every commune of Bamako is under the Bamako district, and every place under a commune.
    assert count_units(session, level=3, admin1_pcode="ML09") == 6
    orphans = session.scalar(
        sa.select(sa.func.count()).select_from(AdminUnit)
        .where(AdminUnit.level > 0, AdminUnit.admin1_pcode.is_(None))
    )
    assert orphans == 0

    [event] = audit_events(session)
    assert event.detail is not None
    assert (event.detail["inserted"], event.detail["updated"]) == (19_595, 6)


@needs_mali
def test_cod_boundaries_update_the_builtin_gazetteer_rather_than_duplicate_it(session: Session) -> None:
    load_gazetteer(session=session)
    before = count_units(session)

    results = [import_cod_file(session=session, actor=SYSTEM, path=MALI / f"mli_adm{n}.geojson")
               for n in (0, 1, 2)]

    assert [(r.inserted, r.updated) for r in results] == [(0, 1), (0, 9), (0, 50)]
    assert count_units(session) == before
    assert unit(session, "ML0101").geometry is not None  # the gazetteer had none
    again = import_cod_file(session=session, actor=SYSTEM, path=MALI / "mli_adm1.geojson")
    assert (again.inserted, again.updated) == (0, 9)


# ------------------------------------------------------------------------- another country


def test_new_style_columns_of_another_country_are_guessed(session: Session, tmp_path: Path) -> None:
    folder = bf_folder(tmp_path / "bfa")

    result = load_cod_dir(session=session, actor=SYSTEM, directory=folder)

    assert [(layer.level, layer.inserted, layer.countries) for layer in result.layers] == [
        (0, 1, ("BF",)), (1, 3, ("BF",)), (2, 4, ("BF",))]
    centre = unit(session, "BF13")
    assert (centre.name, centre.parent_pcode, centre.country_code) == ("Centre", "BF", "BF")
    assert (centre.centroid_lon, centre.centroid_lat) == pytest.approx((-1.5, 12.5))
    # The hole in Hauts-Bassins and the two parts of the Sahel weigh by their areas.
    hauts = unit(session, "BF53")
    assert (hauts.centroid_lon, hauts.centroid_lat) == pytest.approx((-23 / 6, 35 / 3))
    sahel = unit(session, "BF56")
    assert (sahel.centroid_lon, sahel.centroid_lat) == pytest.approx((0.5, 42.5 / 3))
    assert sahel.geometry is not None and sahel.geometry["type"] == "MultiPolygon"
    kene = unit(session, "BF5302")
    assert (kene.name, kene.name_alt, kene.parent_pcode, kene.admin1_pcode) == (
        "Kenedougou", "Kénédougou", "BF53", "BF53")
    assert unit(session, "BF5601").admin1_pcode == "BF56"
    assert kene.valid_on == "2020-03-23"


def test_lower_case_columns_without_a_country_column(session: Session, tmp_path: Path) -> None:
    import_cod_file(session=session, actor=SYSTEM, path=write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0))
    regions = [feature({"adm1_pcode": "BF13", "adm1_name": "Centre"}, polygon(square(-2, 12, -1, 13)))]

    result = import_cod_file(session=session, actor=SYSTEM,
                             path=write_geojson(tmp_path / "regions.json", regions))

    assert (result.layers[0].level, result.inserted) == (1, 1)
    # No admin-0 column: the country is the first two letters of the P-code, and the parent.
    centre = unit(session, "BF13")
    assert (centre.name, centre.parent_pcode, centre.country_code) == ("Centre", "BF", "BF")


def test_a_shapefile_and_its_zip(session: Session, tmp_path: Path) -> None:
    load_bf_parents(session, tmp_path)
    shp = write_adm2_shapefile(tmp_path / "bfa_admbnda_adm2_igb", encoding="cp1252")

    first = import_cod_file(session=session, actor=SYSTEM, path=shp)

    assert (first.layers[0].level, first.inserted, first.updated) == (2, 4, 0)
    kene = unit(session, "BF5302")
    # Windows-1252 text without a .cpg still reads as written.
    assert (kene.name, kene.parent_pcode, kene.admin1_pcode) == ("Kénédougou", "BF53", "BF53")
    assert kene.geometry is not None and kene.geometry["type"] == "Polygon"
    assert (kene.centroid_lon, kene.centroid_lat) == pytest.approx((-3.6, 12.1))

    again = import_cod_file(session=session, actor=SYSTEM,
                            path=zip_shapefile(shp, tmp_path / "bfa_adm_shp.zip"))

    assert (again.inserted, again.updated) == (0, 4)
    assert count_units(session, level=2) == 4


def test_one_zip_of_every_level_as_hdx_ships_it(session: Session, tmp_path: Path) -> None:
    result = import_cod_file(session=session, actor=SYSTEM, path=hdx_zip(tmp_path / "hdx"))

    assert [(layer.level, layer.inserted) for layer in result.layers] == [(0, 1), (1, 3), (2, 4)]
    assert unit(session, "BF5302").admin1_pcode == "BF53"
    hauts = unit(session, "BF53")
    assert (hauts.centroid_lon, hauts.centroid_lat) == pytest.approx((-23 / 6, 35 / 3))


def test_explicit_columns_and_a_places_table(session: Session, tmp_path: Path) -> None:
    load_bf_parents(session, tmp_path)
    odd = [feature({"CODE": "BF1300", "NOM": "Kadiogo", "REGION": "BF13"},
                   polygon(square(-1.8, 12.2, -1.2, 12.6)))]
    path = write_geojson(tmp_path / "provinces.geojson", odd)

    with pytest.raises(ValidationFailed, match="no column holds P-codes"):
        import_cod_file(session=session, actor=SYSTEM, path=path)
    import_cod_file(session=session, actor=SYSTEM, path=path, level=2, pcode_column="code",
                    name_column="NOM", parent_column="region", country="bf")

    kadiogo = unit(session, "BF1300")
    assert (kadiogo.level, kadiogo.name, kadiogo.parent_pcode, kadiogo.country_code) == (
        2, "Kadiogo", "BF13", "BF")

    # A places table in the French Excel style: semicolons, decimal commas.
    places = tmp_path / "bfa_places.csv"
    places.write_text("pcode;name;ADM2_PCODE;ADM1_PCODE;latitude;longitude\n"
                      "BF1300001;Ouagadougou;BF1300;BF13;12,3714;-1,5197\n", encoding="utf-8")
    result = import_cod_file(session=session, actor=SYSTEM, path=places)

    ouaga = unit(session, "BF1300001")
    assert (result.layers[0].level, ouaga.name, ouaga.parent_pcode, ouaga.admin1_pcode) == (
        3, "Ouagadougou", "BF1300", "BF13")
    assert (ouaga.centroid_lat, ouaga.centroid_lon) == pytest.approx((12.3714, -1.5197))

    # Kadiogo moves to another region: its places follow in summaries by region.
    moved = [feature({"CODE": "BF1300", "NOM": "Kadiogo", "REGION": "BF53"}, None)]
    import_cod_file(session=session, actor=SYSTEM, level=2, pcode_column="CODE", name_column="NOM",
                    parent_column="REGION", path=write_geojson(tmp_path / "moved.geojson", moved))
    session.expire_all()
    assert unit(session, "BF1300001").admin1_pcode == "BF53"
    assert unit(session, "BF1300").geometry is not None  # a row without geometry keeps the old one


# ------------------------------------------------------------------------------- bad input


def _dup(tmp: Path) -> Path:
    return write_geojson(tmp / "dup_adm2.geojson", [BF_ADM2[0], BF_ADM2[1], BF_ADM2[0]])


def _unknown_parent(tmp: Path) -> Path:
    bad = feature(adm2_props("BF9901", "Nowhere", "BF99"), polygon(square(0, 12, 1, 13)))
    return write_geojson(tmp / "orphan_adm2.geojson", [BF_ADM2[0], bad])


def _not_json(tmp: Path) -> Path:
    path = tmp / "boundaries_adm2.geojson"
    path.write_text("<html><body>Login required</body></html>", encoding="utf-8")
    return path


def _topology(tmp: Path) -> Path:
    path = tmp / "boundaries_adm2.json"
    path.write_text(json.dumps({"type": "Topology", "objects": {}}), encoding="utf-8")
    return path


def _no_pcode(tmp: Path) -> Path:
    return write_geojson(tmp / "blank_adm2.geojson",
                         [feature(adm2_props("", "Kadiogo", "BF13"), polygon(square(0, 12, 1, 13)))])


def _script_pcode(tmp: Path) -> Path:
    return write_geojson(tmp / "xss_adm2.geojson", [feature(
        adm2_props("<script>alert(1)</script>", "Kadiogo", "BF13"), polygon(square(0, 12, 1, 13)))])


def _no_columns(tmp: Path) -> Path:
    return write_geojson(tmp / "plain.geojson",
                         [feature({"code": "BF1300", "label": "Kadiogo"}, polygon(square(0, 12, 1, 13)))])


def _projected(tmp: Path) -> Path:
    metres = polygon(square(500_000, 1_300_000, 560_000, 1_360_000))
    return write_geojson(tmp / "utm_adm2.geojson", [feature(adm2_props("BF1300", "Kadiogo", "BF13"), metres)])


def _broken_zip(tmp: Path) -> Path:
    path = tmp / "bfa_adm2_shp.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    return path


@pytest.mark.parametrize(("make", "expected"), [
    (_dup, ["feature 3", "ADM2_PCODE", "BF1300", "appears twice", "feature 1"]),
    (_unknown_parent, ["feature 2", "ADM1_PCODE", "BF99", "neither in this import nor in the database"]),
    (_not_json, ["boundaries_adm2.geojson is not valid JSON", "GeoJSON FeatureCollection"]),
    (_topology, ["not a GeoJSON FeatureCollection", "Topology"]),
    (_no_pcode, ["feature 1", "ADM2_PCODE", "no P-code"]),
    (_script_pcode, ["feature 1", "<script>alert(1)</script>", "is not a P-code", "letters, digits"]),
    (_no_columns, ["no column holds P-codes", "code, label", "--pcode-column"]),
    (_projected, ["feature 1", "not longitude and latitude", "WGS 84"]),
    (_broken_zip, ["bfa_adm2_shp.zip is not a readable zip archive"]),
], ids=["duplicate", "unknown-parent", "not-json", "not-featurecollection", "no-pcode",
        "hostile-pcode", "unguessable", "projected", "broken-zip"])
def test_a_bad_file_changes_nothing_and_says_why(session: Session, tmp_path: Path, make, expected) -> None:  # type: ignore[no-untyped-def]
    load_bf_parents(session, tmp_path)
    before, events = count_units(session), len(audit_events(session))

    with pytest.raises(ValidationFailed) as caught:
        import_cod_file(session=session, actor=SYSTEM, path=make(tmp_path))

    for part in expected:
        assert part in caught.value.message
    assert count_units(session) == before
    assert count_units(session, level=2) == 0
    assert len(audit_events(session)) == events


def test_a_bad_file_in_a_folder_stops_the_whole_folder(session: Session, tmp_path: Path) -> None:
    folder = bf_folder(tmp_path / "bfa")
    _unknown_parent(folder)

    with pytest.raises(ValidationFailed) as caught:
        load_cod_dir(session=session, actor=SYSTEM, directory=folder)

    assert "orphan_adm2.geojson, feature 2" in caught.value.message
    assert "BF99" in caught.value.message
    assert count_units(session) == 0


def test_every_problem_is_listed_at_once(session: Session, tmp_path: Path) -> None:
    load_bf_parents(session, tmp_path)
    rows = [feature(adm2_props(f"BF99{i:02d}", f"Lost {i}", "BF99"), None) for i in range(30)]

    with pytest.raises(ValidationFailed) as caught:
        import_cod_file(session=session, actor=SYSTEM, path=write_geojson(tmp_path / "lost_adm2.geojson", rows))

    message = caught.value.message
    assert "feature 1," in message and "feature 20," in message and "feature 21," not in message
    assert "10 more problems" in message


def test_a_viewer_may_not_import(session: Session, tmp_path: Path) -> None:
    viewer = Actor(user_id=None, username="awa", org_id=None,
                   permissions=frozenset(str(p) for p in DEFAULT_ROLE_PERMISSIONS["viewer"]))

    with pytest.raises(Forbidden, match="places:admin_unit:write"):
        import_cod_file(session=session, actor=viewer,
                        path=write_geojson(tmp_path / "bfa_adm0.geojson", BF_ADM0))
    with pytest.raises(Forbidden):
        load_cod_dir(session=session, actor=viewer, directory=bf_folder(tmp_path / "bfa"))
    assert count_units(session) == 0


def test_each_import_leaves_one_audit_event_with_its_counts(session: Session, tmp_path: Path) -> None:
    load_bf_parents(session, tmp_path)
    import_cod_file(session=session, actor=SYSTEM, path=write_geojson(tmp_path / "bfa_adm2.geojson", BF_ADM2))

    events = audit_events(session)
    assert [e.detail["source"] for e in events if e.detail] == [
        "bfa_adm0.geojson", "bfa_adm1.geojson", "bfa_adm2.geojson"]
    last = events[-1].detail
    assert last is not None
    assert (last["inserted"], last["updated"], last["layers"][0]["level"]) == (4, 0, 2)
    assert events[-1].actor == "system"
