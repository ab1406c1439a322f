"""Import OCHA COD-AB administrative boundaries and populated places, for any country.

Reads GeoJSON FeatureCollections, ESRI shapefiles (a .shp beside its .dbf, or a .zip holding
them) and CSV tables of places. Columns are guessed from the COD naming conventions, old
(`admin2Pcod`, `admin2Name`, `admin1Pcod`) and new (`ADM2_PCODE`, `ADM2_EN`, `ADM2_FR`,
`ADM1_PCODE`), in any letter case; explicit options override the guess. Everything is read
and checked before anything is written, so a bad file leaves the database as it was.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jatigi.core import audit
from jatigi.core.authz import Actor, Permission
from jatigi.core.errors import ValidationFailed
from jatigi.core.i18n import _
from jatigi.places.service import UnitRow, known_pcodes, upsert_units

MAX_PROBLEMS = 20
MAX_ZIP_MEMBER = 2 * 1024**3  # refuse zip members that would inflate beyond 2 GiB
PCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
GEOJSON_SUFFIXES = (".geojson", ".json")
_NULLS = {"", "na", "n/a", "null", "none", "nan"}

# adminNPcod, admin2Pcode, ADM2_PCODE, adm2_pcode, ADM2PCODE …
_PCODE_COL = re.compile(r"^adm(?:in)?_?([0-9])_?p_?cod(?:e)?$", re.IGNORECASE)
# admin2Name, ADM2_EN, ADM2_FR, adm2_name, admin2 …
_NAME_COL = re.compile(r"^adm(?:in)?_?([0-9])_?(?:name?)?_?([a-z]{2})?$", re.IGNORECASE)
# admin2AltN, admin2Al_1, ADM2ALT1FR, ADM2_ALT …
_ALT_COL = re.compile(r"^adm(?:in)?_?([0-9])_?al(?:t|_)", re.IGNORECASE)
_NOT_LANGUAGES = {"id", "pc", "cd", "nm"}
# A place's own P-code in a settlements table: pcode, p_code, featurePcod, place_pcode …
_PLACE_PCODE_COL = re.compile(
    r"^(?:feature|place|ppl|loc|locality|settlement|village)?_?p_?cod(?:e)?$", re.IGNORECASE
)
_PLACE_NAME_COLS = ("featurenam", "featurename", "feature_name", "name_en", "name", "placename",
                    "place_name", "name_fr", "nom", "featureref")
_PLACE_ALT_COLS = ("featurealt", "featurea_1", "name_alt", "alt_name", "featureref")
_LAT_COLS = ("latitude", "lat", "y", "point_y", "center_lat", "centroid_lat")
_LON_COLS = ("longitude", "lon", "long", "lng", "x", "point_x", "center_lon", "centroid_lon")
_VALID_ON_COLS = ("validon", "valid_on", "date")


# ----------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LayerResult:
    """One file (or one shapefile inside a zip) as imported."""

    source: str
    level: int
    units: int
    inserted: int
    updated: int
    countries: tuple[str, ...]


@dataclass(frozen=True)
class ImportResult:
    source: str
    layers: tuple[LayerResult, ...]

    @property
    def inserted(self) -> int:
        return sum(layer.inserted for layer in self.layers)

    @property
    def updated(self) -> int:
        return sum(layer.updated for layer in self.layers)

    @property
    def units(self) -> int:
        return sum(layer.units for layer in self.layers)


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds what, as guessed or as the user said."""

    level: int
    pcode: str
    name: str
    parent: str | None
    country: str | None
    # Other name columns, tried in turn when `name` is blank for a feature.
    name_fallbacks: tuple[str, ...] = ()
    alt: tuple[str, ...] = ()
    lat: str | None = None
    lon: str | None = None
    valid_on: str | None = None
    places: bool = False


@dataclass
class CodLayer:
    """A file read, mapped and turned into units, not yet checked against the database."""

    source: str
    columns: ColumnMap
    units: list[UnitRow]
    # P-code → (where in the file, for messages)
    where: dict[str, str] = field(default_factory=dict)
    points: bool = False

    @property
    def level(self) -> int:
        return self.columns.level


@dataclass(frozen=True)
class _Options:
    level: int | None = None
    pcode_column: str | None = None
    name_column: str | None = None
    parent_column: str | None = None
    country: str | None = None


@dataclass
class _Record:
    number: int
    props: dict[str, Any]
    geometry: dict[str, Any] | None


@dataclass
class _Source:
    label: str
    columns: list[str]
    records: list[_Record]
    table: bool  # a CSV: positions are line numbers, coordinates are columns
    points: bool = False


class _Problems:
    """Collects what is wrong across a whole import, so the user sees it all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(message)

    def raise_if_any(self) -> None:
        if not self.count:
            return
        lines = [_("Nothing was imported. Fix these problems and try again:")]
        lines += [f"- {item}" for item in self.items]
        if self.count > len(self.items):
            lines.append(_("… and {count} more problems.", count=self.count - len(self.items)))
        raise ValidationFailed("\n".join(lines))


# ----------------------------------------------------------------------------------- geometry


def centroid(geometry: dict[str, Any] | None) -> tuple[float, float] | None:
    """(lon, lat) of a GeoJSON geometry: area-weighted for polygons, the mean point otherwise.

    Raises ValueError or TypeError if the coordinates are not numbers in GeoJSON nesting.
    """
    if not geometry:
        return None
    polys = list(_polygons(geometry))
    if polys:
        ref = _first_xy(polys)
        area = mx = my = 0.0
        for poly in polys:
            for i, ring in enumerate(poly):
                a, x, y = _ring_moments(ring, ref)
                if a < 0:
                    a, x, y = -a, -x, -y
                sign = 1.0 if i == 0 else -1.0  # holes take their area away
                area += sign * a
                mx += sign * x
                my += sign * y
        if abs(area) > 1e-15:
            return mx / area + ref[0], my / area + ref[1]
        # A degenerate polygon (a line or a point drawn as a ring): use its vertices.
        points = [pt for poly in polys for pt in poly[0]]
    else:
        points = list(_points(geometry))
    if not points:
        return None
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return sum(xs) / len(xs), sum(ys) / len(ys)


def _polygons(geometry: dict[str, Any]) -> Iterable[Sequence[Sequence[Sequence[float]]]]:
    kind = geometry.get("type")
    if kind == "Polygon":
        yield geometry["coordinates"]
    elif kind == "MultiPolygon":
        yield from geometry["coordinates"]
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            yield from _polygons(g)


def _points(geometry: dict[str, Any]) -> Iterable[Sequence[float]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Point":
        if coords:
            yield coords
    elif kind in ("MultiPoint", "LineString"):
        yield from coords or []
    elif kind == "MultiLineString":
        for line in coords or []:
            yield from line
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            yield from _points(g)
    elif kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(str(kind))


def _bare(geometry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Only what a map needs: the type and coordinates, none of the file's other members."""
    if geometry is None:
        return None
    if geometry.get("type") == "GeometryCollection":
        return {"type": "GeometryCollection",
                "geometries": [_bare(g) for g in geometry.get("geometries") or []]}
    return {"type": geometry.get("type"), "coordinates": geometry.get("coordinates")}


def _first_xy(polys: list[Sequence[Sequence[Sequence[float]]]]) -> tuple[float, float]:
    for poly in polys:
        for ring in poly:
            for pt in ring:
                return float(pt[0]), float(pt[1])
    return 0.0, 0.0


def _ring_moments(ring: Sequence[Sequence[float]], ref: tuple[float, float]) -> tuple[float, float, float]:
    """Shoelace: signed area and first moments of a ring, relative to `ref` for precision."""
    n = len(ring)
    if n < 3:
        return 0.0, 0.0, 0.0
    a = mx = my = 0.0
    rx, ry = ref
    x0, y0 = float(ring[-1][0]) - rx, float(ring[-1][1]) - ry
    for pt in ring:
        x1, y1 = float(pt[0]) - rx, float(pt[1]) - ry
        cross = x0 * y1 - x1 * y0
        a += cross
        mx += (x0 + x1) * cross
        my += (y0 + y1) * cross
        x0, y0 = x1, y1
    return a / 2.0, mx / 6.0, my / 6.0


# ----------------------------------------------------------------------------------- reading


def _read_sources(path: Path) -> list[_Source]:
    try:
        return _read_sources_of(path)
    except OSError as exc:
        raise ValidationFailed(_("{file} cannot be read ({detail}).", file=path.name,
                                 detail=exc.strerror or str(exc))) from None


def _read_sources_of(path: Path) -> list[_Source]:
    if not path.exists():
        raise ValidationFailed(_("{file} does not exist.", file=str(path)))
    if path.is_dir():
        raise ValidationFailed(_("{file} is a folder; import a folder with the directory import.",
                                 file=str(path)))
    suffix = path.suffix.lower()
    if suffix in GEOJSON_SUFFIXES:
        return [_read_geojson(path.name, path.read_bytes())]
    if suffix == ".shp":
        return [_read_shapefile_from_disk(path)]
    if suffix == ".zip":
        return _read_zip(path)
    if suffix == ".csv":
        return [_read_csv(path.name, path.read_bytes())]
    raise ValidationFailed(
        _("{file}: unsupported file type '{suffix}'. Accepted: GeoJSON (.geojson, .json), an ESRI shapefile (.shp beside its .dbf, or a .zip holding them) and CSV (.csv).",
          file=path.name, suffix=suffix or "—")
    )


def _read_geojson(label: str, data: bytes) -> _Source:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("{file} is not UTF-8 text, as GeoJSON must be.",
                                 file=label)) from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ValidationFailed(_("{file} is nested too deeply to be GeoJSON.", file=label)) from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            _("{file} is not valid JSON (line {line}, column {column}: {detail}). Accepted: a GeoJSON FeatureCollection.",
              file=label, line=exc.lineno, column=exc.colno, detail=exc.msg)
        ) from None
    kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
    if kind != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ValidationFailed(
            _("{file} is not a GeoJSON FeatureCollection (its type is '{value}').",
              file=label, value=str(kind)[:40])
        )
    records: list[_Record] = []
    columns: dict[str, None] = {}
    for number, feature in enumerate(doc["features"], start=1):
        props = (feature.get("properties") or {}) if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if (not isinstance(feature, dict) or feature.get("type") != "Feature"
                or not isinstance(props, dict)
                or (geometry is not None and not isinstance(geometry, dict))):
            raise ValidationFailed(
                _("{where}: not a GeoJSON Feature with properties.",
                  where=_where(label, number, False))
            )
        for key in props:
            columns.setdefault(str(key))
        records.append(_Record(number, props, geometry))
    return _Source(label, list(columns), records, table=False)


def _shapefile_source(label: str, shp: io.BytesIO | Any, dbf: io.BytesIO | Any,
                      shx: io.BytesIO | Any | None, cpg: io.BytesIO | Any | None) -> _Source:
    import shapefile  # pyshp

    def read(encoding: str | None) -> tuple[list[str], bool, list[tuple[Any, dict[str, Any]]]]:
        for f in (shp, dbf, shx, cpg):
            if f is not None:
                f.seek(0)
        # File objects only: pyshp would otherwise follow a name that looks like a URL.
        reader = shapefile.Reader(shp=shp, dbf=dbf, shx=shx, cpg=None if encoding else cpg,
                                  encoding=encoding)
        columns = [getattr(f, "name", None) or f[0] for f in reader.fields[1:]]
        points = reader.shapeType in (shapefile.POINT, shapefile.POINTZ, shapefile.POINTM,
                                      shapefile.MULTIPOINT, shapefile.MULTIPOINTZ, shapefile.MULTIPOINTM)
        return columns, points, [(sr.shape, sr.record.as_dict()) for sr in reader.iterShapeRecords()]

    try:
        try:
            columns, points, raw = read(None)
        except Exception:
            if cpg is not None:
                raise
            # No .cpg and not UTF-8: COD shapefiles of that age are Windows-1252.
            columns, points, raw = read("cp1252")
    except Exception as exc:  # pyshp raises many kinds of error on a damaged file
        raise ValidationFailed(
            _("{file} cannot be read as a shapefile ({detail}).", file=label, detail=str(exc)[:200])
        ) from None
    records: list[_Record] = []
    # pyshp logs a warning for each ring wound the "wrong" way; the centroid does not care.
    log = logging.getLogger("shapefile")
    old_level = log.level
    log.setLevel(logging.ERROR)
    try:
        for number, (shape, props) in enumerate(raw, start=1):
            geometry = None if shape.shapeType == shapefile.NULL else shape.__geo_interface__
            if geometry is not None and geometry.get("type") == "Point" and not geometry.get("coordinates"):
                geometry = None
            records.append(_Record(number, props, geometry))
    finally:
        log.setLevel(old_level)
    return _Source(label, columns, records, table=False, points=points)


def _sidecar(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def _read_shapefile_from_disk(path: Path) -> _Source:
    dbf = _sidecar(path, ".dbf")
    if dbf is None:
        raise ValidationFailed(
            _("{file}: its attribute table {dbf} is missing; keep the .shp, .shx and .dbf files together.",
              file=path.name, dbf=path.with_suffix(".dbf").name)
        )
    shx, cpg = _sidecar(path, ".shx"), _sidecar(path, ".cpg")

    def load(p: Path | None) -> io.BytesIO | None:
        return None if p is None else io.BytesIO(p.read_bytes())

    return _shapefile_source(path.name, load(path), load(dbf), load(shx), load(cpg))


def _read_zip(path: Path) -> list[_Source]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ValidationFailed(_("{file} is not a readable zip archive.", file=path.name)) from None
    with archive:
        infos = {i.filename: i for i in archive.infolist() if not i.is_dir()
                 and not i.filename.startswith("__MACOSX/")}
        lower = {name.lower(): name for name in infos}
        shps = sorted(n for n in infos if n.lower().endswith(".shp"))
        # HDX bundles lines (admbndl) and label points (admbndp) beside the polygons (admbnda).
        polygons_too = any("admbnda" in n.lower() for n in shps)
        if polygons_too:
            shps = [n for n in shps if "admbndl" not in n.lower() and "admbndp" not in n.lower()]
        if not shps:
            raise ValidationFailed(
                _("{file} holds no shapefile (.shp); a zip must hold a .shp with its .dbf.",
                  file=path.name)
            )

        def member(name: str, ext: str) -> io.BytesIO | None:
            key = name[: -len(".shp")].lower() + ext
            real = lower.get(key)
            if real is None:
                return None
            info = infos[real]
            if info.file_size > MAX_ZIP_MEMBER:
                raise ValidationFailed(
                    _("{file}: {member} would inflate to {size} bytes, more than Jatigi accepts.",
                      file=path.name, member=real, size=info.file_size)
                )
            try:
                return io.BytesIO(archive.read(real))
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise ValidationFailed(
                    _("{file} cannot be read as a shapefile ({detail}).", file=path.name,
                      detail=str(exc)[:200])
                ) from None

        sources = []
        for name in shps:
            label = f"{path.name}/{name.rsplit('/', 1)[-1]}"
            dbf = member(name, ".dbf")
            if dbf is None:
                raise ValidationFailed(
                    _("{file}: its attribute table {dbf} is missing; keep the .shp, .shx and .dbf files together.",
                      file=label, dbf=Path(name).with_suffix(".dbf").name)
                )
            source = _shapefile_source(label, member(name, ".shp"), dbf, member(name, ".shx"),
                                       member(name, ".cpg"))
            lines = all(r.geometry is None or r.geometry.get("type") in ("LineString", "MultiLineString")
                        for r in source.records)
            if not (lines and len(shps) > 1):  # boundary lines beside the areas they outline
                sources.append(source)
        if not sources:
            raise ValidationFailed(_("{file} holds only boundary lines; import the shapefiles of areas (admbnda) or places.", file=path.name))
        return sources


def _read_csv(label: str, data: bytes) -> _Source:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # a table saved by Excel on Windows
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed(_("{file} is empty.", file=label)) from None
    except csv.Error as exc:
        raise ValidationFailed(_("{file} cannot be read as CSV ({detail}).", file=label,
                                 detail=str(exc)[:200])) from None
    columns = [h.strip() for h in header]
    records: list[_Record] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            records.append(_Record(reader.line_num, dict(zip(columns, row, strict=False)), None))
    except csv.Error as exc:
        raise ValidationFailed(
            _("{file}, line {number}: cannot be read as CSV ({detail}).", file=label,
              number=reader.line_num, detail=str(exc)[:200])
        ) from None
    return _Source(label, columns, records, table=True)


# ----------------------------------------------------------------------------------- mapping


def _lookup(columns: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns:
        out.setdefault(col.lower(), col)
    return out


def _explicit(source: _Source, wanted: str | None) -> str | None:
    if wanted is None:
        return None
    found = _lookup(source.columns).get(wanted.strip().lower())
    if found is None:
        raise ValidationFailed(
            _("{file} has no column {column}; its columns are: {columns}.", file=source.label,
              column=wanted, columns=", ".join(source.columns) or "—")
        )
    return found


def _admin_pcode_columns(columns: Sequence[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for col in columns:
        m = _PCODE_COL.match(col)
        if m:
            out.setdefault(int(m.group(1)), col)
    return out


def _name_columns(columns: Sequence[str], level: int) -> list[str]:
    """Name columns of one admin level, English first, then unmarked, then French, then others."""
    ranked: list[tuple[int, int, str]] = []
    for i, col in enumerate(columns):
        m = _NAME_COL.match(col)
        if not m or int(m.group(1)) != level:
            continue
        lang = (m.group(2) or "").lower()
        if lang in _NOT_LANGUAGES:
            continue
        rank = {"en": 0, "": 1, "fr": 2}.get(lang, 3)
        ranked.append((rank, i, col))
    return [col for _rank, _i, col in sorted(ranked)]


def _first_of(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    look = _lookup(columns)
    for cand in candidates:
        if cand in look:
            return look[cand]
    return None


def _unguessable(source: _Source) -> ValidationFailed:
    return ValidationFailed(
        _("{file}: no column holds P-codes under a COD-AB name (admin1Pcod, ADM1_PCODE, … or pcode for populated places). Its columns are: {columns}. Name the P-code column and the level (--pcode-column, --level).",
          file=source.label, columns=", ".join(source.columns) or "—")
    )


def _guess_columns(source: _Source, options: _Options | None = None) -> ColumnMap:
    """Decide the level and the P-code, name and parent columns of one file."""
    opts = options or _Options()
    cols = source.columns
    admin = _admin_pcode_columns(cols)
    place_pcode = next((c for c in cols if _PLACE_PCODE_COL.match(c)), None)

    pcode = _explicit(source, opts.pcode_column)
    places = False
    level = opts.level
    if pcode is not None:
        m = _PCODE_COL.match(pcode)
        if level is None:
            if m:
                level = int(m.group(1))
            elif admin:
                level = max(admin) + 1
                places = True
        elif not m:
            places = True
    elif place_pcode is not None:
        pcode, places = place_pcode, True
        if level is None and admin:
            level = max(admin) + 1
    elif admin:
        if level is None:
            level = max(admin)
        pcode = admin.get(level)
    if pcode is None or level is None:
        if pcode is not None and level is None:
            raise ValidationFailed(
                _("{file}: cannot tell the admin level of column {column}; give it (--level).",
                  file=source.label, column=pcode)
            )
        raise _unguessable(source)
    if not 0 <= level <= 9:
        raise ValidationFailed(_("The admin level must be between 0 and 9, not {value}.",
                                 value=level))

    look = _lookup(cols)
    if places:
        names = [look[c] for c in _PLACE_NAME_COLS if c in look]
        alts = [look[c] for c in _PLACE_ALT_COLS if c in look]
    else:
        names = _name_columns(cols, level)
        alts = [c for c in cols if (m := _ALT_COL.match(c)) and int(m.group(1)) == level]
    name = _explicit(source, opts.name_column)
    fallbacks: tuple[str, ...] = ()
    if name is None:
        if not names:
            raise ValidationFailed(
                _("{file}: no column holds the names of level {level} (such as admin{level}Name or ADM{level}_EN). Its columns are: {columns}. Name it (--name-column).",
                  file=source.label, level=level, columns=", ".join(cols) or "—")
            )
        name, fallbacks = names[0], tuple(names[1:])
    alt = tuple(dict.fromkeys(c for c in [*names, *alts] if c not in (name, pcode)))

    parent = _explicit(source, opts.parent_column)
    if parent is None and level > 0:
        above = [k for k in admin if k < level and admin[k] != pcode]
        if above:
            parent = admin[max(above)]
        elif level >= 2:
            raise ValidationFailed(
                _("{file}: no column holds the parent P-codes of level {level} (such as admin{parent_level}Pcod or ADM{parent_level}_PCODE). Its columns are: {columns}. Name it (--parent-column).",
                  file=source.label, level=level,
                  parent_level=level - 1, columns=", ".join(cols) or "—")
            )
    country = admin.get(0)
    return ColumnMap(
        level=level, pcode=pcode, name=name, parent=parent, country=country,
        name_fallbacks=fallbacks, alt=alt,
        lat=_first_of(cols, _LAT_COLS) if source.table else None,
        lon=_first_of(cols, _LON_COLS) if source.table else None,
        valid_on=_first_of(cols, _VALID_ON_COLS), places=places,
    )


# ----------------------------------------------------------------------------------- building


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _nullable(value: Any) -> str:
    text = _text(value)
    return "" if text.lower() in _NULLS else text


def _where(label: str, number: int, table: bool) -> str:
    if table:
        return _("{file}, line {number}", file=label, number=number)
    return _("{file}, feature {number}", file=label, number=number)


def _valid_on(value: Any) -> str | None:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())[:20]
    text = _nullable(value)
    if re.match(r"^\d{4}[/-]\d{2}[/-]\d{2}", text):
        return text[:10].replace("/", "-")
    return text[:20] or None


def _number(value: Any) -> float | None:
    text = _nullable(value).replace(",", ".") if isinstance(value, str) else value
    if text in ("", None):
        return None
    result = float(text)
    if not math.isfinite(result):
        raise ValueError(text)
    return result


def _build_layer(source: _Source, cols: ColumnMap, opts: _Options, problems: _Problems) -> CodLayer:
    units: list[UnitRow] = []
    where_of: dict[str, str] = {}
    country_opt = opts.country.strip().upper() if opts.country else None
    for rec in source.records:
        where = _where(source.label, rec.number, source.table)
        props = rec.props
        pcode = _text(props.get(cols.pcode))
        if not pcode:
            problems.add(_("{where}, column {column}: no P-code. Every unit needs one, such as ML0101.",
                           where=where, column=cols.pcode))
            continue
        if not PCODE_RE.match(pcode):
            problems.add(_("{where}, column {column}: '{value}' is not a P-code; a P-code has 1 to 32 letters, digits, '-', '_' or '.'.",
                           where=where, column=cols.pcode,
                           value=pcode[:60]))
            continue
        if pcode in where_of:
            problems.add(_("{where}, column {column}: the P-code '{value}' appears twice (first at {first}). Each P-code may appear only once in a file.",
                           where=where,
                           column=cols.pcode, value=pcode, first=where_of[pcode]))
            continue
        where_of[pcode] = where

        name = next((v for c in (cols.name, *cols.name_fallbacks) if (v := _nullable(props.get(c)))), "")
        if not name:
            problems.add(_("{where}, column {column}: no name for {pcode}. Every unit needs a name.",
                           where=where, column=cols.name, pcode=pcode))
            continue
        alt = next((v for c in cols.alt if (v := _nullable(props.get(c))) and v != name), None)

        country = country_opt or (_text(props.get(cols.country)) if cols.country else "")
        if cols.level == 0:
            country = country_opt or pcode
        country = (country or pcode[:2]).upper()
        if not re.match(r"^[A-Z0-9]{2,8}$", country):
            problems.add(_("{where}: '{value}' is not a country code; accepted: 2 to 8 letters or digits, such as ML.",
                           where=where, value=country[:40]))
            continue

        parent: str | None = None
        if cols.level > 0:
            parent = _text(props.get(cols.parent)) if cols.parent else country
            if not parent:
                problems.add(_("{where}, column {column}: no parent P-code for {pcode}; a unit of level {level} needs its parent of level {parent_level}.",
                               where=where, column=cols.parent, pcode=pcode, level=cols.level,
                               parent_level=cols.level - 1))
                continue

        lat = lon = None
        geometry = rec.geometry
        if source.table and cols.lat and cols.lon:
            try:
                lat, lon = _number(props.get(cols.lat)), _number(props.get(cols.lon))
            except (TypeError, ValueError):
                problems.add(_("{where}, columns {lat} and {lon}: '{value}' is not a pair of numbers in degrees.",
                               where=where, lat=cols.lat, lon=cols.lon,
                               value=f"{props.get(cols.lat)}, {props.get(cols.lon)}"[:60]))
                continue
            if (lat is None) != (lon is None):
                lat = lon = None
        elif geometry is not None:
            try:
                point = centroid(geometry)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                problems.add(_("{where}: the geometry is not valid GeoJSON; accepted: Polygon, MultiPolygon or Point with numeric coordinates.",
                               where=where))
                continue
            if point is not None:
                lon, lat = point
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.add(_("{where}: the coordinates ({lon}, {lat}) are not longitude and latitude in degrees. Jatigi reads WGS 84 (EPSG:4326); reproject the file first.",
                           where=where, lon=round(lon, 3), lat=round(lat, 3)))
            continue

        units.append(UnitRow(
            pcode=pcode, name=name[:200], level=cols.level, parent_pcode=parent, country_code=country,
            centroid_lat=lat, centroid_lon=lon, geometry=_bare(geometry),
            name_alt=alt[:200] if alt else None,
            source=f"OCHA COD-AB: {source.label}"[:200],
            valid_on=_valid_on(props.get(cols.valid_on)) if cols.valid_on else None,
        ))
    points = source.points or source.table or cols.places
    return CodLayer(source=source.label, columns=cols, units=units, where=where_of, points=points)


def _check_parents(layers: Sequence[CodLayer], known: dict[str, tuple[int, str | None]],
                   problems: _Problems) -> None:
    """Every parent must be in this import or already stored, and sit at a higher level."""
    levels: dict[str, int] = {pc: lvl for pc, (lvl, _a1) in known.items()}
    for layer in layers:
        for unit in layer.units:
            levels[unit.pcode] = unit.level
    for layer in layers:
        column = layer.columns.parent or layer.columns.country or layer.columns.pcode
        for unit in layer.units:
            if unit.parent_pcode is None:
                continue
            where = layer.where[unit.pcode]
            parent_level = levels.get(unit.parent_pcode)
            if parent_level is None:
                problems.add(_("{where}, column {column}: the parent P-code '{value}' of {pcode} is neither in this import nor in the database. Import level {parent_level} first, or correct the P-code.",
                               where=where,
                               column=column, value=unit.parent_pcode, pcode=unit.pcode,
                               parent_level=unit.level - 1))
            elif parent_level >= unit.level:
                problems.add(_("{where}, column {column}: the parent '{value}' of {pcode} is at level {parent_level}, not above level {level}.",
                               where=where,
                               column=column, value=unit.parent_pcode, pcode=unit.pcode,
                               parent_level=parent_level, level=unit.level))


def read_cod_file(path: str | Path, *, level: int | None = None, pcode_column: str | None = None,
                  name_column: str | None = None, parent_column: str | None = None,
                  country: str | None = None) -> list[CodLayer]:
    """Read and map one file (a zip may hold several shapefiles), without touching the database.

    Raises ValidationFailed listing every problem found.
    """
    problems = _Problems()
    opts = _Options(level, pcode_column, name_column, parent_column, country)
    layers = _layers_of(Path(path), opts, problems)
    problems.raise_if_any()
    return layers


def _layers_of(path: Path, opts: _Options, problems: _Problems) -> list[CodLayer]:
    """Read a file into layers. Unreadable files raise; problems in its rows are collected."""
    layers = []
    for source in _read_sources(path):
        if not source.records:
            raise ValidationFailed(_("{file} holds no features.", file=source.label))
        layers.append(_build_layer(source, _guess_columns(source, opts), opts, problems))
    return sorted(layers, key=lambda layer: (layer.level, layer.points, layer.source))


# ----------------------------------------------------------------------------------- writing


def _write(*, session: Session, actor: Actor, source: str, layers: Sequence[CodLayer],
           progress: Callable[[str], None] | None = None) -> ImportResult:
    results = []
    for layer in layers:
        if progress:
            progress(layer.source)
        inserted, updated = upsert_units(session=session, rows=layer.units)
        results.append(LayerResult(
            source=layer.source, level=layer.level, units=len(layer.units), inserted=inserted,
            updated=updated, countries=tuple(sorted({u.country_code for u in layer.units})),
        ))
    result = ImportResult(source=source, layers=tuple(results))
    audit.record(session, actor, "admin_unit.import", "admin_unit", None, {
        "source": source,
        "inserted": result.inserted,
        "updated": result.updated,
        "layers": [{"file": r.source, "level": r.level, "units": r.units, "inserted": r.inserted,
                    "updated": r.updated, "countries": list(r.countries)} for r in results],
    })
    return result


def import_cod_file(*, session: Session, actor: Actor, path: str | Path, level: int | None = None,
                    pcode_column: str | None = None, name_column: str | None = None,
                    parent_column: str | None = None, country: str | None = None) -> ImportResult:
    """Import one COD-AB file (GeoJSON, shapefile, zip or places CSV): all of it or nothing."""
    actor.require(Permission.PLACES_ADMIN_UNIT_WRITE)
    layers = read_cod_file(path, level=level, pcode_column=pcode_column, name_column=name_column,
                           parent_column=parent_column, country=country)
    problems = _Problems()
    _check_parents(layers, known_pcodes(session=session), problems)
    problems.raise_if_any()
    return _write(session=session, actor=actor, source=Path(path).name, layers=layers)


_ADM_FILE = re.compile(r"adm(?:in)?_?([0-9])", re.IGNORECASE)


def cod_files_in(directory: str | Path) -> list[Path]:
    """The files a COD folder import reads: `*adm0*` … `*adm4*` boundaries and places CSVs."""
    folder = Path(directory)
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in (*GEOJSON_SUFFIXES, ".shp", ".zip", ".csv"):
            m = _ADM_FILE.search(path.stem)
            if (m and int(m.group(1)) <= 4) or suffix == ".csv":
                found.append(path)
    return found


def _is_places_csv(path: Path) -> bool:
    """A CSV with a place P-code and coordinates, as a COD populated-places table has."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError:
        return True  # let the import report that it cannot be read
    try:
        source = _read_csv(path.name, head.split(b"\n", 1)[0] + b"\n")
    except ValidationFailed:
        return False
    cols = source.columns
    return (any(_PLACE_PCODE_COL.match(c) for c in cols) and _first_of(cols, _LAT_COLS) is not None
            and _first_of(cols, _LON_COLS) is not None)


def load_cod_dir(*, session: Session, actor: Actor, directory: str | Path,
                 progress: Callable[[str], None] | None = None) -> ImportResult:
    """Load a folder of COD files, parents first: all files or nothing.

    Reads every `*adm0*` … `*adm4*` GeoJSON, shapefile or zip, and every CSV of populated places
    (a P-code column with latitude and longitude); other CSVs are left alone.
    """
    actor.require(Permission.PLACES_ADMIN_UNIT_WRITE)
    folder = Path(directory)
    if not folder.is_dir():
        raise ValidationFailed(_("{file} is not a folder.", file=str(folder)))
    files = [p for p in cod_files_in(folder) if p.suffix.lower() != ".csv" or _is_places_csv(p)]
    if not files:
        raise ValidationFailed(
            _("{file} holds no COD-AB files. Accepted: GeoJSON, shapefiles or zips named like *adm1* … *adm4*, and CSV tables of populated places.",
              file=str(folder))
        )
    layers: list[CodLayer] = []
    problems = _Problems()
    for path in files:
        if progress:
            progress(path.name)
        try:
            layers.extend(_layers_of(path, _Options(), problems))
        except ValidationFailed as exc:
            problems.add(exc.message)
    problems.raise_if_any()
    layers.sort(key=lambda layer: (layer.level, layer.points, layer.source))
    _check_parents(layers, known_pcodes(session=session), problems)
    problems.raise_if_any()
    return _write(session=session, actor=actor, source=folder.name, layers=layers, progress=progress)
