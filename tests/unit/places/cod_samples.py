"""Small COD-AB files of Burkina Faso in the new HDX style (ADM*_PCODE, ADM*_FR), built in tests.

Shapes are simple squares so that their centroids are known by hand.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

MALI = Path("/work/shared/data/mali")
MALI_MISSING = "the Mali COD-AB reference folder /work/shared/data/mali is not on this machine"


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


BF_ADM0 = [feature({"ADM0_EN": "Burkina Faso", "ADM0_FR": "Burkina Faso", "ADM0_PCODE": "BF",
                    "date": "2020-03-23", "validOn": "2020-03-23"},
                   polygon(square(-5.5, 9.5, 2.5, 15.0)))]

# Centre: a 1°×1° square. Hauts-Bassins: a 2°×2° square with a 1°×1° hole in its lower-left
# corner, so its centroid moves up and right. Sahel: two squares of areas 2 and 1.
BF_ADM1 = [
    feature({"ADM1_FR": "Centre", "ADM1_PCODE": "BF13", "ADM0_FR": "Burkina Faso",
             "ADM0_PCODE": "BF", "validOn": "2020-03-23"},
            polygon(square(-2.0, 12.0, -1.0, 13.0))),
    feature({"ADM1_FR": "Hauts-Bassins", "ADM1_PCODE": "BF53", "ADM0_FR": "Burkina Faso",
             "ADM0_PCODE": "BF", "validOn": "2020-03-23"},
            polygon(square(-5.0, 10.5, -3.0, 12.5), square(-5.0, 10.5, -4.0, 11.5)[::-1])),
    feature({"ADM1_FR": "Sahel", "ADM1_PCODE": "BF56", "ADM0_FR": "Burkina Faso",
             "ADM0_PCODE": "BF", "validOn": "2020-03-23"},
            {"type": "MultiPolygon",
             "coordinates": [[square(-1.0, 14.0, 1.0, 15.0)], [square(1.0, 13.0, 2.0, 14.0)]]}),
]


def adm2_props(pcode: str, name_fr: str, parent: str, name_en: str | None = None) -> dict[str, Any]:
    props = {"ADM2_FR": name_fr, "ADM2_PCODE": pcode, "ADM2_REF": None, "ADM2ALT1FR": None,
             "ADM1_FR": "", "ADM1_PCODE": parent, "ADM0_FR": "Burkina Faso", "ADM0_PCODE": "BF",
             "date": "2020-03-23", "validOn": "2020-03-23", "Shape_Area": 0.1}
    if name_en is not None:
        props["ADM2_EN"] = name_en
    return props


BF_ADM2 = [
    feature(adm2_props("BF1300", "Kadiogo", "BF13"), polygon(square(-1.8, 12.2, -1.2, 12.6))),
    feature(adm2_props("BF5301", "Houet", "BF53"), polygon(square(-4.5, 11.5, -3.5, 12.0))),
    feature(adm2_props("BF5302", "Kénédougou", "BF53", name_en="Kenedougou"),
            polygon(square(-4.0, 11.8, -3.2, 12.4))),
    feature(adm2_props("BF5601", "Oudalan", "BF56"), polygon(square(-0.5, 14.2, 0.5, 14.9))),
]


def bf_folder(root: Path) -> Path:
    """A COD folder as a user downloads it: one GeoJSON per level, lower-case names."""
    root.mkdir(parents=True, exist_ok=True)
    write_geojson(root / "bfa_admbnda_adm0_igb_20200323.geojson", BF_ADM0)
    write_geojson(root / "bfa_admbnda_adm1_igb_20200323.geojson", BF_ADM1)
    write_geojson(root / "bfa_admbnda_adm2_igb_20200323.geojson", BF_ADM2)
    return root


def write_shapefile(stem: Path, features: list[dict[str, Any]], fields: list[str],
                    encoding: str = "utf-8") -> Path:
    """Polygon features as an ESRI shapefile written with pyshp; returns the .shp path."""
    import shapefile

    with shapefile.Writer(str(stem), shapeType=shapefile.POLYGON, encoding=encoding) as w:
        for name in fields:
            w.field(name, "C", size=50)
        for f in features:
            geometry = f["geometry"]
            polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                        else geometry["coordinates"])
            # Shapefiles wind outer rings clockwise, GeoJSON counter-clockwise.
            w.poly([ring[::-1] for poly in polygons for ring in poly])
            w.record(*[f["properties"].get(name) for name in fields])
    for cpg in stem.parent.glob(stem.name + ".cpg"):
        cpg.unlink()  # as in many COD downloads: no code page beside the .dbf
    return stem.with_suffix(".shp")


def write_adm2_shapefile(stem: Path, encoding: str = "utf-8") -> Path:
    return write_shapefile(stem, BF_ADM2, ["ADM2_FR", "ADM2_PCODE", "ADM1_PCODE", "ADM0_PCODE"],
                           encoding=encoding)


def hdx_zip(folder: Path) -> Path:
    """All levels in one zip as HDX ships them, with a boundary-lines layer to be left alone."""
    import shapefile

    folder.mkdir(parents=True, exist_ok=True)
    shps = [
        write_shapefile(folder / "bfa_admbnda_adm0_igb", BF_ADM0, ["ADM0_FR", "ADM0_PCODE"]),
        write_shapefile(folder / "bfa_admbnda_adm1_igb", BF_ADM1, ["ADM1_FR", "ADM1_PCODE", "ADM0_PCODE"]),
        write_adm2_shapefile(folder / "bfa_admbnda_adm2_igb"),
    ]
    with shapefile.Writer(str(folder / "bfa_admbndl_admALL_igb"), shapeType=shapefile.POLYLINE) as w:
        w.field("ADM0_PCODE", "C")
        w.line([[[-5.0, 10.0], [2.0, 15.0]]])
        w.record("BF")
    shps.append(folder / "bfa_admbndl_admALL_igb.shp")
    target = folder / "bfa_adm_igb_20200323_shp.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for shp in shps:
            for ext in (".shp", ".shx", ".dbf"):
                zf.write(shp.with_suffix(ext), shp.with_suffix(ext).name)
    return target


def zip_shapefile(shp: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj"):
            part = shp.with_suffix(ext)
            if part.exists():
                zf.write(part, f"bfa_adm/{part.name}")
    return target
