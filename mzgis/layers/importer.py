"""Turn a raw source into a validated layer: map columns, check every row, convert coordinates.

The checks follow the promise "bad input gets a clear error and loses nothing": every problem is
reported with the file, the row (or feature), the field, what was found and how to fix it, and
nothing is written unless every row passes. Fixable geometry faults (self-intersecting polygons)
are repaired with ``make_valid`` and reported, not refused. Features of a geometry kind the layer
does not hold (a line in a polygon layer) are left out and listed, the others imported; a file
with no feature of the right kind is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from mzgis.errors import CrsError, FieldProblem, LayerError, MzgisError, ValidationFailed
from mzgis.layers import coords as cc
from mzgis.layers.crs import CHINA_BOUNDS, STORE_CRS, in_extent, parse_source_coords
from mzgis.layers.kinds import KINDS, LEVELS, get_kind
from mzgis.layers.schemas import (
    ID_ALIASES,
    LAT_ALIASES,
    LON_ALIASES,
    OPERATING,
    SCHEMAS,
    Field,
    LayerSchema,
)
from mzgis.layers.sources import RawSource
from mzgis.layers.values import EMPTY_WORDS, date_problem

__all__ = ["PreparedLayer", "prepare_layer"]

log = logging.getLogger(__name__)

MAX_PROBLEMS = 200


@dataclass
class PreparedLayer:
    """A validated layer ready for the store.

    Attributes
    ----------
    gdf
        ``feature_id`` (text, the source's id unchanged), the schema fields, the source's other
        columns, and the geometry in WGS-84 (EPSG:4326).
    layer_type
        One of :data:`mzgis.layers.schemas.LAYER_TYPES`.
    notes
        What the import did that the user should know (repairs, defaults, conversions).
    repaired
        Row labels of geometries repaired with ``make_valid``.
    skipped
        Features left out because the layer type does not hold their geometry kind (a line in a
        polygon layer); the import goes on with the others and reports these.
    """

    gdf: gpd.GeoDataFrame
    layer_type: str
    kind: str | None = None
    level: str | None = None
    source_coords: str = "wgs84"
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    #: features left out because of their geometry kind (row, kind found, expected, how to fix)
    skipped: list[FieldProblem] = field(default_factory=list)
    #: the ids of those features (an update must not retire them: they are in the file)
    skipped_ids: list[str] = field(default_factory=list)


class Problems(list[FieldProblem]):
    """Problems found so far; ``omitted`` counts those not kept beyond the per-check limit."""

    omitted: int = 0

    @property
    def total(self) -> int:
        """All problems found, kept or not."""
        return len(self) + self.omitted


def _first(mask: Any, problems: list[FieldProblem]) -> NDArray[np.int64]:
    """Row indices where ``mask`` is true, at most :data:`MAX_PROBLEMS`; the rest are counted."""
    idx = np.flatnonzero(np.asarray(mask))
    if idx.size > MAX_PROBLEMS and isinstance(problems, Problems):
        problems.omitted += idx.size - MAX_PROBLEMS
    return idx[:MAX_PROBLEMS]


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", str(name)).lower()


#: A unit written after a number in a cell (removed before the number is read).
_UNIT_SUFFIX = r"\s*(?:㎡|m²|m2|平方米|平米|张床?|床位?|户|人|个|家|所|处|名)\s*$"


def _find_column(columns: Sequence[str], aliases: Sequence[str], taken: set[str],
                 notes: list[str] | None = None, what: str = "") -> str | None:
    """The first column matching an alias (ignoring case, spaces, _ - and brackets).

    When several columns match the same alias the first one (in file order) is used and, if
    ``notes`` is given, the choice is reported so that nothing is decided silently.
    """
    normed: dict[str, list[str]] = {}
    for c in columns:
        if c not in taken:
            normed.setdefault(_norm(c), []).append(c)
    for a in aliases:
        found = normed.get(_norm(a))
        if found:
            if len(found) > 1 and notes is not None:
                others = ", ".join(f"'{o}'" for o in found[1:])
                notes.append(f"列名含义重复 ambiguous columns for {what or a}: '{found[0]}' 被使用 is used, {others} "
                             f"保留为其他列 kept as extra columns; 如需另一列 to use another pass --map {what or a}=COLUMN")
            return found[0]
    # headers such as 驿站名称 or 设施地址: a Chinese alias of two or more characters at the end of
    # exactly one column name
    for a in aliases:
        na = _norm(a)
        if len(na) < 2 or na.isascii():
            continue
        hits = [c for key, cs in normed.items() if key.endswith(na) and key != na for c in cs]
        if len(hits) == 1:
            if notes is not None:
                notes.append(f"列 column '{hits[0]}' 按后缀读作 read as {what or a} (ends with {a}); "
                             f"如不对 if wrong, pass --map {what or a}=COLUMN")
            return hits[0]
    return None


def _explicit_columns(raw: RawSource, schema: LayerSchema, field_map: Mapping[str, str],
                      problems: list[str]) -> dict[str, str]:
    """``--map FIELD=COLUMN``: the columns the user named (a bad entry goes to ``problems``)."""
    cols = list(raw.table.columns)
    known = {f.name for f in schema.fields} | {"id", "lon", "lat"}
    mapping: dict[str, str] = {}
    for fname, col in field_map.items():
        if fname not in known:
            problems.append(
                f"--map {fname}={col}: '{fname}' 不是 {schema.type} 的字段 is not a field of "
                f"{schema.type}; fields: {', '.join(sorted(known))}"
            )
            continue
        if col not in cols:
            # a column renamed on reading (it clashed with another ignoring case) by its name in the file
            same = [new for new, orig in raw.renamed.items() if orig == col]
            spaced = [new for new, orig in raw.renamed.items() if orig.strip() == col.strip()]
            col = same[0] if same else spaced[0] if len(spaced) == 1 else col
        if col not in cols:
            problems.append(f"--map {fname}={col}: 文件中没有列 no column '{col}' in the file; columns: {cols}")
            continue
        mapping[fname] = col
    return mapping


def _coordinate_columns(raw: RawSource, mapping: dict[str, str], taken: set[str], notes: list[str] | None,
                        problems: list[str]) -> None:
    """Find the lon/lat columns (or, without both, a WKT geometry column) into ``mapping``."""
    cols = list(raw.table.columns)
    for fname, aliases in (("lon", LON_ALIASES), ("lat", LAT_ALIASES)):
        if fname not in mapping:
            c = _find_column(cols, aliases, taken, notes, fname)
            if c is not None:
                mapping[fname] = c
                taken.add(c)
    missing = [f for f in ("lon", "lat") if f not in mapping]
    wkt = None if len(missing) < 2 else _find_column(
        [c for c in cols if c.strip().casefold() in _WKT_NAMES and _looks_like_wkt(raw.table[c])],
        _WKT_NAMES, taken)
    if wkt is not None:
        mapping["geometry"] = wkt
        taken.add(wkt)
        if notes is not None:
            notes.append(f"几何取自列 geometry read as WKT from column '{wkt}' (no lon/lat columns)")
    elif missing:
        problems.append(
            f"找不到坐标列 no coordinate column for {missing}; columns: {cols}. "
            "列名用 name them 经度/纬度 (lon/lat, x/y) or pass --map lon=COLUMN --map lat=COLUMN."
        )


def _map_columns(
    raw: RawSource,
    schema: LayerSchema,
    field_map: Mapping[str, str],
    id_field: str | None,
    need_xy: bool,
    notes: list[str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Return ``{mzgis field: source column}`` and the problems with the mapping itself.

    A table without longitude/latitude columns but with a ``wkt``/``geometry`` column is mapped
    to that column as ``geometry`` (WKT text).
    """
    cols = list(raw.table.columns)
    problems: list[str] = []
    mapping = _explicit_columns(raw, schema, field_map, problems)
    taken: set[str] = set(mapping.values())
    if id_field is not None:
        if id_field not in cols:
            problems.append(f"--id-field {id_field}: 文件中没有列 no column '{id_field}'; columns: {cols}")
        else:
            mapping["id"] = id_field
            taken.add(id_field)
    if "id" not in mapping:
        c = _find_column(cols, ID_ALIASES, taken, notes, "id")
        if c is not None:
            mapping["id"] = c
            taken.add(c)
    if need_xy:
        _coordinate_columns(raw, mapping, taken, notes, problems)
    for f in schema.fields:
        if f.name in mapping:
            continue
        c = _find_column(cols, (f.name, *f.aliases), taken, notes, f.name)
        if c is not None:
            mapping[f.name] = c
            taken.add(c)
    return mapping, problems


def _looks_like_wkt(values: pd.Series) -> bool:
    """True if the column's first filled cells are WKT geometries (so it is clearly meant as one)."""
    sample = [str(v).strip() for v in values.head(200) if v is not None and str(v).strip()][:20]
    if not sample:
        return False
    parsed = shapely.from_wkt(np.array(sample, dtype=object), on_invalid="ignore")
    return bool((~shapely.is_missing(parsed)).sum() * 2 >= len(sample))


_EMPTY_TEXT = EMPTY_WORDS


def _as_text(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells as stripped text and the mask of empty ones (None, NaN, pandas NA, "", "nan", "None").

    Missing values are empty whatever the format gave them as: pandas 3 keeps NaN through
    ``astype(str)``, GeoJSON ``null`` arrives as NaN or None, CSV/XLSX blanks as "".
    """
    missing = values.isna().to_numpy()
    text = values.astype(object).where(~missing, "").map(str).str.strip()
    empty = missing | text.str.lower().isin(_EMPTY_TEXT).to_numpy()
    return text, pd.Series(empty, index=values.index)


def _display(v: Any) -> str:
    """A cell as shown in a message: its text, cut short."""
    t = repr(v.item() if isinstance(v, np.generic) else v)
    return t if len(t) <= 80 else t[:77] + "…'"


def _parse_numbers(
    values: pd.Series, labels: Sequence[str], column: str, f: Field, problems: list[FieldProblem]
) -> pd.Series:
    text, empty = _as_text(values)
    text = text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    # amounts as bureaus write them: 320㎡, 1,200 平方米, 50张, 300户
    text = text.str.replace(_UNIT_SUFFIX, "", regex=True)
    num = pd.to_numeric(text.where(~empty), errors="coerce").astype("float64")
    bad = num.isna() & ~empty
    for i in _first(bad.to_numpy(), problems):
        problems.append(FieldProblem(labels[i], column, _display(values.iloc[i]), "不是数字 not a number",
                                     f"填写数字 enter a number ({f.label_zh or f.name})"))
    infinite = np.isinf(num.to_numpy())
    for i in _first(infinite, problems):
        problems.append(FieldProblem(labels[i], column, _display(values.iloc[i]),
                                     "不是有限数 not a finite number (infinity or too large)",
                                     f"填写实际数值或留空 enter the real value or leave it empty ({f.label_zh or f.name})"))
    num = num.where(~infinite)
    if f.nonneg:
        neg = num < 0
        for i in _first(neg.fillna(False).to_numpy(), problems):
            problems.append(FieldProblem(labels[i], column, _display(values.iloc[i]), "不能为负数 must not be negative",
                                         f"{f.label_zh or f.name} 应 ≥ 0; correct the value or leave it empty"))
    if f.dtype == "int":
        frac = num.notna() & (num % 1 != 0)
        for i in _first(frac.to_numpy(), problems):
            problems.append(FieldProblem(labels[i], column, _display(values.iloc[i]), "应为整数 must be a whole number",
                                         "填写整数 enter a whole number"))
        return num.astype("Int64") if not frac.any() else num
    return num.astype("float64")


def _parse_dates(
    values: pd.Series, labels: Sequence[str], column: str, problems: list[FieldProblem]
) -> pd.Series:
    """Date cells by the one date rule (:func:`mzgis.layers.values.date_problem`)."""
    _, empty = _as_text(values)
    checked = [(None, None) if e else date_problem(v) for v, e in zip(values.tolist(), empty, strict=True)]
    for i in _first([p is not None for _, p in checked], problems):
        problems.append(FieldProblem(labels[i], column, _display(values.iloc[i]), str(checked[i][1]),
                                     "填写实际日期 enter the real date as YYYY-MM-DD (格式如 form e.g. 2024-05-31), 不晚于今天 not after today"))
    return pd.Series([d for d, _ in checked], index=values.index, dtype=object)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(values: pd.Series, labels: Sequence[str] | None = None, column: str = "",
          notes: list[str] | None = None) -> pd.Series:
    """Cells as stripped text (None when empty) without NUL or other control characters.

    SQLite and GDAL cut text at a NUL, so a NUL (and the other C0 control characters but tab and
    newline) is removed, and the rows where that happened are reported in ``notes``.
    """
    missing = values.isna().to_numpy()
    cells: list[str | None] = [None if m else str(v) for v, m in zip(values.tolist(), missing, strict=True)]
    dirty = [i for i, v in enumerate(cells) if v is not None and _CONTROL.search(v) is not None]
    for i in dirty:
        cells[i] = _CONTROL.sub("", cells[i] or "")
    if dirty and notes is not None:
        rows = [labels[i] if labels is not None else str(i + 1) for i in dirty[:10]]
        more = f" (+{len(dirty) - 10})" if len(dirty) > 10 else ""
        notes.append(f"字段 field '{column}': 已删除 NUL/控制字符 NUL and control characters removed in "
                     f"{'; '.join(rows)}{more}")
    stripped = [None if v is None else (v.strip() or None) for v in cells]
    return pd.Series(stripped, index=values.index, dtype=object)


def _check_coordinates(
    lon: np.ndarray, lat: np.ndarray, labels: Sequence[str], cols: tuple[str, str],
    extent: tuple[float, float, float, float], problems: list[FieldProblem], geographic: bool,
) -> None:
    """Report swapped and out-of-extent coordinates (degrees)."""
    if not geographic:
        return
    minx, miny, maxx, maxy = extent
    inside = in_extent(lon, lat, extent)
    swapped = ~inside & in_extent(lat, lon, extent)
    valid = np.isfinite(lon) & np.isfinite(lat)
    for i in _first(swapped & valid, problems):
        problems.append(FieldProblem(
            labels[i], f"{cols[0]}/{cols[1]}", f"经度 lon={lon[i]:.6f}, 纬度 lat={lat[i]:.6f}",
            "经纬度疑似填反 longitude and latitude look swapped",
            f"交换两列 swap the columns (or --map lon={cols[1]} --map lat={cols[0]})"))
    for i in _first(~inside & ~swapped & valid, problems):
        problems.append(FieldProblem(
            labels[i], f"{cols[0]}/{cols[1]}", f"lon={lon[i]:.6f}, lat={lat[i]:.6f}",
            f"坐标超出导入范围 outside the import extent (lon {minx}–{maxx}, lat {miny}–{maxy}"
            + (", 及南海诸岛 and the South China Sea islands)" if tuple(extent) == CHINA_BOUNDS else ")"),
            "检查坐标是否为经纬度（度）、是否投影坐标（需 --coords EPSG:n）; check the values, "
            "or set [import] extent in mzgis.toml for work abroad"))


def _to_wgs84(x: np.ndarray, y: np.ndarray, coords: str, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    if coords == "gcj02":
        return cc.gcj02_to_wgs84(x, y)
    if coords == "bd09":
        return cc.bd09_to_wgs84(x, y)
    if crs.equals(CRS.from_epsg(4326)):
        return x, y
    tr = Transformer.from_crs(crs, STORE_CRS, always_xy=True)
    return tr.transform(x, y)


def _transform_geoms(geoms: gpd.GeoSeries, coords: str, crs: CRS) -> gpd.GeoSeries:
    arr = geoms.values
    if coords in ("gcj02", "bd09"):
        func = cc.gcj02_to_wgs84 if coords == "gcj02" else cc.bd09_to_wgs84

        def tf(xy: np.ndarray) -> np.ndarray:
            a, b = func(xy[:, 0], xy[:, 1])
            return np.column_stack([a, b])

        out = shapely.transform(np.asarray(arr), tf)
        return gpd.GeoSeries(out, crs=STORE_CRS, index=geoms.index)
    return gpd.GeoSeries(arr, crs=crs, index=geoms.index).to_crs(STORE_CRS)


_GEOM_ZH = {"Point": "点", "LineString": "线", "Polygon": "面"}


def _layer_types_for(base: str) -> str:
    """The layer types that hold a geometry kind, for the fix of a skipped feature."""
    fits = [t for t, sc in SCHEMAS.items() if base in sc.geometry]
    return "--type " + "|".join(fits) if fits else "拆分为点/线/面 split it into points, lines or polygons first"


_BASE = {
    "Point": "Point", "MultiPoint": "Point",
    "LineString": "LineString", "MultiLineString": "LineString", "LinearRing": "LineString",
    "Polygon": "Polygon", "MultiPolygon": "Polygon",
}

#: Column names that hold a geometry as text in tables (``wkt`` is what ``mzgis export`` writes).
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")
#: Names an attribute cannot keep in the store: the geometry column and mzgis's own columns.
_RESERVED = {"geom", "geometry", "wkt", "the_geom", "shape", "fid", "ogc_fid", "feature_id",
             "mz_version", "mz_updated_at", "mz_retired_at"}


def prepare_layer(
    raw: RawSource,
    layer_type: str,
    *,
    kind: str | None = None,
    level: str | None = None,
    coords: str | None = None,
    field_map: Mapping[str, str] | None = None,
    id_field: str | None = None,
    extent: tuple[float, float, float, float] = CHINA_BOUNDS,
    join_arrays: Mapping[str, np.ndarray] | None = None,
) -> PreparedLayer:
    """Validate and normalise a raw source as a layer of ``layer_type``.

    Parameters
    ----------
    raw
        The source as read by :func:`mzgis.layers.sources.read_source`.
    layer_type
        ``facilities``, ``demand``, ``candidates``, ``admin_units``, ``boundary_lines``,
        ``boundary_markers``, ``addresses`` or ``place_names``.
    kind
        Facility kind for every row (Chinese name or English id); otherwise a kind column.
    level
        Administrative level for ``admin_units`` (district/subdistrict/community).
    coords
        Coordinates of the source: ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or ``EPSG:n``.
        Required for CSV/XLSX and for vector files that declare no CRS.
    field_map
        ``{mzgis field: source column}`` overriding the automatic column mapping.
    id_field
        Column holding the feature id (default: id, ID, 编号, 编码, code…; else row numbers).
    extent
        WGS-84 bounds coordinates must lie in (default: China).
    join_arrays
        ``{field: array}`` of values joined by row order (e.g. a population array).

    Raises
    ------
    ValidationFailed
        With every problem found (file, row, field, found, fix).
    LayerError
        For problems with the file as a whole; an unexpected failure on hostile input is turned
        into a :class:`LayerError` naming the file rather than a traceback.
    """
    if layer_type not in SCHEMAS:
        msg = f"不认识的图层类型 unknown layer type '{layer_type}'; use one of {', '.join(SCHEMAS)}"
        raise LayerError(msg)
    try:
        return _prepare(raw, layer_type, kind=kind, level=level, coords=coords, field_map=field_map,
                        id_field=id_field, extent=extent, join_arrays=join_arrays)
    except MzgisError:
        raise
    except Exception as exc:
        log.debug("unexpected failure importing %s", raw.path, exc_info=True)
        msg = (f"{raw.path}: 导入失败 import failed on unexpected content ({type(exc).__name__}: {exc}); "
               "项目库未改动 store unchanged. 修改 fix: check the file for unusual values or geometries "
               "(run with -v for details) and report it if the file is valid.")
        raise LayerError(msg) from exc


def _prepare(
    raw: RawSource,
    layer_type: str,
    *,
    kind: str | None,
    level: str | None,
    coords: str | None,
    field_map: Mapping[str, str] | None,
    id_field: str | None,
    extent: tuple[float, float, float, float],
    join_arrays: Mapping[str, np.ndarray] | None,
) -> PreparedLayer:
    schema = SCHEMAS[layer_type]
    path = str(raw.path)
    labels = raw.row_labels
    n = len(raw.table)
    notes: list[str] = list(raw.notes)
    problems = Problems()
    problems.extend(raw.problems)
    if n == 0:
        zh, en = ("数据行", "data rows (only a header?)") if raw.is_table else ("要素", "features")
        msg = f"{path}: 没有{zh} no {en}: nothing to import. 修改 fix: check that the export wrote the data."
        raise LayerError(msg)

    coords = _declared_coords(raw, coords, notes)
    coords_name, src_crs = _source_coords(raw, coords, notes)
    geographic = bool(src_crs.is_geographic)

    mapping, map_problems = _map_columns(raw, schema, field_map or {}, id_field, raw.is_table, notes)
    if map_problems:
        msg = f"{path}: " + "\n".join(map_problems)
        raise LayerError(msg)

    out = pd.DataFrame(index=pd.RangeIndex(n))
    out["feature_id"] = _ids(raw, mapping, problems, notes)

    # -- geometry -------------------------------------------------------------------------------
    repaired: list[str] = []
    skipped: list[FieldProblem] = []  # features of a geometry kind the layer does not hold
    if raw.is_table and "geometry" not in mapping:
        geometry = _table_points(raw, (mapping["lon"], mapping["lat"]), coords_name, src_crs, extent,
                                 problems, geographic)
    else:
        if raw.is_table:
            geoms, gfield = _wkt_geometries(raw, mapping["geometry"], problems), mapping["geometry"]
        else:
            geoms = raw.geometry if raw.geometry is not None else gpd.GeoSeries([None] * n)
            gfield = "geometry"
        geometry, repaired = _vector_geometry(geoms.reset_index(drop=True), schema, labels, gfield, coords_name,
                                              src_crs, extent, problems, notes, geographic, path, skipped)

    # -- attributes -----------------------------------------------------------------------------
    _attributes(raw, schema, mapping, out, problems, notes)
    kind_id = _kind_and_level(raw, layer_type, kind, level, mapping, out, problems, notes)
    _extra_columns(raw, mapping, out, problems, notes)

    for fname, arr in (join_arrays or {}).items():
        a = np.asarray(arr)
        if a.shape[0] != n:
            msg = (f"{path}: 按行合并的数组 the array joined by row order for '{fname}' has {a.shape[0]} rows, "
                   f"the file has {n}; they must match row for row.")
            raise LayerError(msg)
        out[fname] = a

    keep = np.ones(n, dtype=bool)
    if skipped:
        # a left-out feature's other faults do not matter; the rest of the file must still be right
        gone = {sk.row for sk in skipped}
        kept = [p for p in problems if p.row not in gone]
        omitted = problems.omitted
        problems = Problems(kept)
        problems.omitted = omitted
        keep = np.array([lb not in gone for lb in labels], dtype=bool)
        if not keep.any():
            raise ValidationFailed(path, skipped, total=len(skipped))
    if problems:
        raise ValidationFailed(path, [*problems, *skipped], total=problems.total + len(skipped))

    gdf = gpd.GeoDataFrame(out, geometry=geometry.reset_index(drop=True).values, crs=STORE_CRS)
    if skipped:
        gdf = gdf.loc[keep].reset_index(drop=True)
        notes.append(f"{len(skipped)} 个要素几何类型不符已跳过 features of the wrong geometry kind left out "
                     f"(需要 expected {'/'.join(schema.geometry)}); 已导入 imported {int(keep.sum())}")
    if repaired:
        notes.append(f"{len(repaired)} 个无效面已用 make_valid 修复 invalid polygons repaired: " + "; ".join(repaired[:20]))
    if coords_name in ("gcj02", "bd09"):
        notes.append(f"坐标已从 {coords_name.upper()} 转换为 WGS-84 converted from {coords_name.upper()} to WGS-84")
    return PreparedLayer(gdf, layer_type, kind=kind_id, level=level, source_coords=coords_name,
                         notes=notes, repaired=repaired, skipped=skipped,
                         skipped_ids=[str(v) for v in out.loc[~keep, "feature_id"] if v is not None])


_COORD_LABELS = {"WGS-84": "wgs84", "GCJ-02": "gcj02", "BD-09": "bd09", "CGCS2000": "cgcs2000"}


def _declared_coords(raw: RawSource, coords: str | None, notes: list[str]) -> str | None:
    """A ``coord_system`` column, as mzgis's own exports write it, says what the coordinates are:
    it is used when ``--coords`` is not given and is not stored as an attribute."""
    col = next((c for c in raw.table.columns if str(c).strip().lower() in ("coord_system", "坐标系")), None)
    if col is None:
        return coords
    values = {str(v).strip() for v in raw.table[col].dropna()} - {""}
    raw.table = raw.table.drop(columns=[col])
    if len(values) != 1:
        return coords
    label = values.pop()
    said = _COORD_LABELS.get(label.upper(), label)
    if coords is None:
        notes.append(f"坐标系按 coord_system 列读作 coordinates read as {label} (the file's coord_system column)")
        return said
    return coords


def _source_coords(raw: RawSource, coords: str | None, notes: list[str]) -> tuple[str, CRS]:
    """Which coordinate system the source is in: ``--coords``, else the CRS the file declares."""
    path = str(raw.path)
    if coords is not None:
        coords_name, src_crs = parse_source_coords(coords)
        if raw.crs is not None and coords_name == "crs" and src_crs is not None and not src_crs.equals(raw.crs):
            notes.append(f"--coords {coords} 覆盖文件声明的坐标系 overrides the file's CRS {raw.crs.to_string()}")
    elif raw.crs is not None:
        coords_name, src_crs = "crs", raw.crs
        if raw.crs.equals(CRS.from_epsg(4326)):
            coords_name = "wgs84"
    else:
        what = "CSV/XLSX 表格没有坐标系信息 a table carries no CRS" if raw.is_table else "文件未声明坐标系 the file declares no CRS (.prj missing?)"
        msg = (
            f"{path}: {what}. 请用 --coords 指明 pass --coords wgs84|cgcs2000|gcj02|bd09|EPSG:n "
            "(GPS/天地图 = wgs84 or cgcs2000, 高德/腾讯 Amap/Tencent = gcj02, 百度 Baidu = bd09)."
        )
        raise CrsError(msg)
    if src_crs is None:  # parse_source_coords always returns a CRS; kept for the type checker
        msg = f"{path}: no coordinate system could be determined; pass --coords"
        raise CrsError(msg)
    return coords_name, src_crs


def _ids(raw: RawSource, mapping: Mapping[str, str], problems: Problems, notes: list[str]) -> list[Any] | pd.Series:
    """Feature ids from the id column (every one present and unique), else row numbers."""
    labels = raw.row_labels
    n = len(raw.table)
    if "id" not in mapping:
        notes.append("未找到编号列 no id column: 以行号为编号 row numbers are used as feature ids")
        return [str(i + 1) for i in range(n)]
    col = mapping["id"]
    ids = _text(raw.table[col], labels, col, notes)
    for i in _first(ids.isna().to_numpy(), problems):
        problems.append(FieldProblem(labels[i], col, "空 empty", "编号为空 the id is empty",
                                     "每行填写唯一编号 give every row a unique id"))
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        first: dict[str, str] = {}
        for i in np.flatnonzero(dup.to_numpy()):
            v = ids.iloc[i]
            if v in first:
                problems.append(FieldProblem(labels[i], col, repr(v), f"编号重复 duplicate id (also {first[v]})",
                                             "每行编号唯一 make ids unique"))
            else:
                first[v] = labels[i]
    return ids


def _table_points(
    raw: RawSource, cols: tuple[str, str], coords_name: str, src_crs: CRS,
    extent: tuple[float, float, float, float], problems: Problems, geographic: bool,
) -> gpd.GeoSeries:
    """Points from the longitude/latitude (x/y) columns of a table, in WGS-84."""
    labels = raw.row_labels
    n = len(raw.table)
    xs = []
    for c in cols:
        text, empty = _as_text(raw.table[c])
        empty = empty & ~text.str.lower().isin(["nan", "none", "null", "nat"])  # typed words are values
        num = np.array(pd.to_numeric(text.where(~empty), errors="coerce"), dtype=float)
        non_finite = (text.str.lower().str.lstrip("+-").isin(["nan", "inf", "infinity"]).to_numpy()
                      | np.isinf(num)) & ~empty.to_numpy()
        for i in _first(empty.to_numpy(), problems):
            problems.append(FieldProblem(labels[i], c, "空 empty", "缺少坐标 missing coordinate",
                                         "填写坐标 fill in the coordinate, or remove the row"))
        for i in _first(np.isnan(num) & ~empty.to_numpy() & ~non_finite, problems):
            problems.append(FieldProblem(labels[i], c, _display(raw.table[c].iloc[i]), "坐标不是数字 not a number",
                                         "使用十进制度 use decimal degrees such as 116.397 (not 116°23'49\")"))
        for i in _first(non_finite, problems):
            problems.append(FieldProblem(labels[i], c, _display(raw.table[c].iloc[i]),
                                         "坐标不是有限数 not a finite number (infinity, NaN or too large)",
                                         "填写实际坐标 enter the real coordinate in decimal degrees such as 116.397"))
        num[non_finite] = np.nan
        xs.append(num)
    x, y = xs
    _check_coordinates(x, y, labels, cols, extent, problems, geographic)
    ok = np.isfinite(x) & np.isfinite(y)
    wx = np.full(n, np.nan)
    wy = np.full(n, np.nan)
    if ok.any():
        wx[ok], wy[ok] = _to_wgs84(x[ok], y[ok], coords_name, src_crs)
    lost = ok & ~(np.isfinite(wx) & np.isfinite(wy))
    for i in _first(lost, problems):
        problems.append(FieldProblem(labels[i], f"{cols[0]}/{cols[1]}", f"x={x[i]!r}, y={y[i]!r}",
                                     "坐标无法转换 the coordinates cannot be converted to WGS-84",
                                     "检查坐标与 --coords 是否一致 check the values and --coords"))
    if not geographic:
        _check_coordinates(wx, wy, labels, cols, extent, problems, True)
    return gpd.GeoSeries(shapely.points(wx, wy), crs=STORE_CRS)


def _wkt_geometries(raw: RawSource, col: str, problems: Problems) -> gpd.GeoSeries:
    """Geometries written as WKT text in a table column (as ``mzgis export`` writes them to CSV/XLSX)."""
    text, empty = _as_text(raw.table[col])
    arr = np.asarray(text.where(~empty, None).to_numpy(), dtype=object)
    geoms = shapely.from_wkt(arr, on_invalid="ignore")
    bad = ~empty.to_numpy() & shapely.is_missing(geoms)
    for i in _first(bad, problems):
        problems.append(FieldProblem(raw.row_labels[i], col, _display(raw.table[col].iloc[i]),
                                     "WKT 几何无法解析 not a WKT geometry",
                                     "写成 write it as WKT, e.g. POLYGON ((116.40 39.90, 116.41 39.90, 116.41 39.91, "
                                     "116.40 39.90))"))
    return gpd.GeoSeries(geoms)


def _vector_geometry(
    geoms: gpd.GeoSeries, schema: LayerSchema, labels: Sequence[str], gfield: str, coords_name: str,
    src_crs: CRS, extent: tuple[float, float, float, float], problems: Problems, notes: list[str],
    geographic: bool, path: str, skipped: list[FieldProblem],
) -> tuple[gpd.GeoSeries, list[str]]:
    """Check, repair and convert the geometries of a vector source; returns them and the repairs.

    Refused (as problems): missing and empty geometries, non-finite coordinates, polygons that
    ``make_valid`` collapses to lines or points (zero area), coordinates outside the extent.
    Features of a geometry kind the layer type does not hold (a line in a polygon layer) are put
    in ``skipped``: left out of the layer and reported. Invalid polygons with an area are repaired
    and reported.
    """
    missing = (geoms.isna() | geoms.is_empty).to_numpy()
    for i in _first(missing, problems):
        problems.append(FieldProblem(labels[i], gfield, "空几何 empty", "缺少几何 missing geometry",
                                     "补画几何或删除该要素 draw it or remove the feature"))
    arr = np.asarray(geoms.values, dtype=object).copy()
    non_finite = _non_finite(arr, missing)
    for i in _first(non_finite, problems):
        problems.append(FieldProblem(labels[i], gfield, _first_bad_coordinate(arr[i]),
                                     "坐标不是有限数 non-finite coordinate (infinity or NaN)",
                                     "修正或删除该要素 correct the vertex or remove the feature"))
    arr[non_finite] = None
    geoms = gpd.GeoSeries(arr, index=geoms.index)
    skip = missing | non_finite
    gtypes = geoms.geom_type.fillna("")
    base = gtypes.map(lambda t: _BASE.get(t, t))
    points_ok = "Point" in schema.geometry and schema.type in ("facilities", "boundary_markers", "addresses")
    # polygons in a point layer of these types become a point inside them (below), after repair
    wrong = (~base.isin(schema.geometry) & ~skip & ~((base == "Polygon") & points_ok)).to_numpy()
    # a line in a polygon layer (a point in a line layer …) is left out and reported, not fatal:
    # the file's other features are what it is for (see PreparedLayer.skipped)
    for i in np.flatnonzero(wrong).tolist():
        skipped.append(FieldProblem(labels[i], gfield, gtypes.iloc[i],
                                    f"几何类型不符 wrong geometry type for {schema.type}",
                                    f"需要 expected {'/'.join(schema.geometry)}; 改画为{_GEOM_ZH.get(schema.geometry[0], '')}"
                                    f"或放入相应图层后重新导入 redraw it as a {schema.geometry[0]}, or import it into a "
                                    f"layer that holds it ({_layer_types_for(str(base.iloc[i]))})"))
    skip = skip | wrong
    # raw bounds for swapped / extent checks (in degrees for geographic sources)
    if geographic:
        b = geoms.bounds.to_numpy()
        _check_coordinates((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, labels, (gfield, gfield), extent,
                           problems, True)
    # repair invalid polygons; refuse the ones that collapse (zero area)
    poly = (base == "Polygon").to_numpy() & ~skip
    invalid = poly & ~geoms.is_valid.to_numpy()
    repaired: list[str] = []
    if invalid.any():
        idx = np.flatnonzero(invalid)
        reasons = shapely.is_valid_reason(arr[idx])
        fixed = shapely.make_valid(arr[idx])
        for i, r, g in zip(idx.tolist(), reasons, fixed, strict=True):
            part = _polygonal(g)
            if part is None:
                problems.append(FieldProblem(
                    labels[i], gfield, f"{r}; make_valid → {g.geom_type}",
                    "退化面 degenerate polygon: zero area, it collapses to a line or point",
                    "重画该面或删除该要素 redraw the polygon (at least three distinct corners) or remove the feature"))
                continue
            arr[i] = part
            repaired.append(f"{labels[i]} ({r})")
    flat = poly & ~invalid & _zero_area(arr)
    for i in _first(flat, problems):
        problems.append(FieldProblem(labels[i], gfield, f"面积 area {shapely.area(arr[i]):.3g}",
                                     "退化面 degenerate polygon: zero area (its corners lie on one line)",
                                     "重画该面或删除该要素 redraw the polygon or remove the feature"))
    geoms = gpd.GeoSeries(arr, index=geoms.index)
    try:
        geometry = _transform_geoms(geoms, coords_name, src_crs)
    except Exception as exc:
        msg = f"{path}: 坐标转换失败 coordinate conversion from {src_crs.to_string()} failed: {exc}"
        raise CrsError(msg) from exc
    out_arr = np.asarray(geometry.values, dtype=object)
    lost = _non_finite(out_arr, skip | shapely.is_missing(out_arr)) & ~skip
    for i in _first(lost, problems):
        problems.append(FieldProblem(labels[i], gfield, _first_bad_coordinate(arr[i]),
                                     "坐标无法转换 the coordinates cannot be converted to WGS-84",
                                     "检查坐标系 check the file's CRS or --coords"))
    if not geographic:
        b2 = geometry.bounds.to_numpy()
        _check_coordinates((b2[:, 0] + b2[:, 2]) / 2, (b2[:, 1] + b2[:, 3]) / 2, labels,
                           (gfield, gfield), extent, problems, True)
    if "Point" in schema.geometry and "Polygon" not in schema.geometry:
        is_poly = geometry.geom_type.isin(["Polygon", "MultiPolygon"])
        if is_poly.any():
            geometry[is_poly] = geometry[is_poly].representative_point()
            notes.append(f"{int(is_poly.sum())} 个面要素以内部点表示 polygons were replaced by a point inside them")
    return geometry, repaired


def _non_finite(arr: NDArray[Any], skip: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Geometries with an infinite or NaN coordinate (x, y or z)."""
    out = np.zeros(len(arr), dtype=bool)
    todo = np.flatnonzero(~skip)
    if todo.size == 0:
        return out
    xyz, idx = shapely.get_coordinates(arr[todo], include_z=True, return_index=True)
    z_nan = np.isnan(xyz[:, 2]) & ~shapely.has_z(arr[todo])[idx] if len(idx) else np.zeros(0, dtype=bool)
    bad = ~np.isfinite(xyz[:, :2]).all(axis=1) | (~np.isfinite(xyz[:, 2]) & ~z_nan)
    out[todo[np.unique(idx[bad])]] = True
    return out


#: A polygon whose area is below this share of its bounding box's squared diagonal has no area: its
#: corners lie on one line up to rounding (a 10 km polygon would be narrower than 10 µm).
FLAT_RATIO = 1e-9


def _zero_area(arr: NDArray[Any]) -> NDArray[np.bool_]:
    """Polygons with no area (up to rounding): they would be stored as polygons but act as lines."""
    with np.errstate(invalid="ignore"):
        b = shapely.bounds(arr)
        diag2 = (b[:, 2] - b[:, 0]) ** 2 + (b[:, 3] - b[:, 1]) ** 2
        return np.asarray(shapely.area(arr) <= FLAT_RATIO * diag2, dtype=bool) & ~shapely.is_missing(arr)


def _first_bad_coordinate(g: Any) -> str:
    xy = shapely.get_coordinates(g)
    bad = xy[~np.isfinite(xy).all(axis=1)]
    return f"({bad[0, 0]!r}, {bad[0, 1]!r})" if len(bad) else "?"


def _attributes(raw: RawSource, schema: LayerSchema, mapping: dict[str, str], out: pd.DataFrame,
                problems: Problems, notes: list[str]) -> None:
    """The schema's fields, parsed and checked, into ``out``."""
    labels = raw.row_labels
    n = len(raw.table)
    path = str(raw.path)
    for f in schema.fields:
        col = mapping.get(f.name)
        if col is None:
            # typed empty columns, so the store gets the right column types
            if f.dtype == "float":
                out[f.name] = np.nan
            elif f.dtype == "int":
                out[f.name] = pd.array([pd.NA] * n, dtype="Int64")
            else:
                out[f.name] = None
            continue
        values = raw.table[col]
        if f.dtype in ("float", "int"):
            out[f.name] = _parse_numbers(values, labels, col, f, problems)
        elif f.dtype == "date":
            out[f.name] = _parse_dates(values, labels, col, problems)
        else:
            out[f.name] = _text(values, labels, col, notes)
        if f.choices is not None:
            canon = out[f.name].map(lambda v, ch=f.choices: None if v is None else ch.get(str(v), ch.get(str(v).lower())))
            bad = out[f.name].notna() & canon.isna()
            for i in _first(bad.to_numpy(), problems):
                problems.append(FieldProblem(labels[i], col, repr(out[f.name].iloc[i]), "取值无效 not an allowed value",
                                             f"可选 use one of {sorted(set(f.choices.values()))}"))
            out[f.name] = canon
    for f in schema.fields:
        if f.required:
            col = mapping.get(f.name)
            if col is None:
                if f.name == "name":
                    out["name"] = out["feature_id"]
                    text_cols = [str(c) for c in raw.table.columns
                                 if raw.table[c].dtype == object or pd.api.types.is_string_dtype(raw.table[c])]
                    notes.append("未找到名称列 no name column: 以编号为名称 ids are used as names; 如有名称列 if a "
                                 f"column holds the names, pass --name-field COLUMN (text columns: {text_cols[:8]})")
                    continue
                msg = (f"{path}: 缺少必填列 required column for '{f.name}' ({f.label_zh}) not found; "
                       f"columns: {list(raw.table.columns)}. 用 pass --map {f.name}=COLUMN.")
                raise LayerError(msg)
            for i in _first(out[f.name].isna().to_numpy(), problems):
                problems.append(FieldProblem(labels[i], col, "空 empty", f"{f.label_zh or f.name}为必填 is required",
                                             "填写该值 fill it in"))


def _kind_and_level(raw: RawSource, layer_type: str, kind: str | None, level: str | None,
                    mapping: dict[str, str], out: pd.DataFrame, problems: Problems,
                    notes: list[str]) -> str | None:
    """Facility kind and status, admin level and parent names; returns the kind id given by --kind."""
    kind_id: str | None = None
    if layer_type == "facilities":
        kind_id = _facility_kinds(raw, kind, mapping, out, problems, notes)
        if out["status"].isna().all():
            notes.append(f"未给出状态 no status column: 全部记为 {OPERATING} (operating)")
        out["status"] = out["status"].fillna(OPERATING)
    if layer_type == "admin_units":
        _unit_levels(raw, level, mapping, out, problems, notes)
    return kind_id


def _facility_kinds(raw: RawSource, kind: str | None, mapping: dict[str, str], out: pd.DataFrame,
                    problems: Problems, notes: list[str]) -> str | None:
    """``out["kind"]`` from ``--kind`` (which overrides a column, said in the notes) or the column,
    each value resolved to a kind id; returns the id ``--kind`` gave."""
    labels = raw.row_labels
    if kind is not None:
        kind_id = get_kind(kind).id
        if "kind" in mapping:
            given = {v for v in out["kind"] if v is not None}
            if any(_kind_id_or_none(v) != kind_id for v in given):
                shown = ", ".join(sorted(given)[:5])
                notes.append(f"--kind {kind} 覆盖列 overrides column '{mapping['kind']}' (值 values: {shown}); "
                             f"若各行类型不同请去掉 --kind drop --kind to use the column")
        out["kind"] = kind_id
        return kind_id
    if "kind" not in mapping:
        msg = (f"{raw.path}: 未指定设施类型 no facility kind: pass --kind KIND (e.g. --kind 社区养老服务驿站) "
               "or add a 类型 column.")
        raise LayerError(msg)
    resolved: list[str | None] = []
    for i, v in enumerate(out["kind"]):
        if v is None:
            problems.append(FieldProblem(labels[i], mapping["kind"], "空 empty", "缺少设施类型 kind missing",
                                         "填写类型或用 --kind fill in or pass --kind"))
            resolved.append(None)
            continue
        try:
            resolved.append(get_kind(v).id)
        except LayerError:
            problems.append(FieldProblem(labels[i], mapping["kind"], repr(v), "不认识的设施类型 unknown facility kind",
                                         "可选 known kinds: " + ", ".join(k.name_zh for k in KINDS.values())))
            resolved.append(None)
    out["kind"] = resolved
    return None


def _unit_levels(raw: RawSource, level: str | None, mapping: dict[str, str], out: pd.DataFrame,
                 problems: Problems, notes: list[str]) -> None:
    """``out["level"]`` from ``--level`` (overriding a column) or the column, checked; parent names
    from a column such as 区县/街道 when none is mapped."""
    labels = raw.row_labels
    if level is not None:
        if level not in LEVELS:
            msg = f"--level {level}: use one of {', '.join(LEVELS)}"
            raise LayerError(msg)
        other = sorted({str(v) for v in out["level"] if v is not None and v != level})
        if "level" in mapping and other:
            notes.append(f"--level {level} 覆盖列 overrides column '{mapping['level']}' (值 values: "
                         f"{', '.join(other[:5])})")
        out["level"] = level
    elif out["level"].isna().any():
        msg = f"{raw.path}: 行政区划需要级别 admin units need a level: pass --level district|subdistrict|community"
        raise LayerError(msg)
    bad_level = ~out["level"].isin(LEVELS)
    for i in _first(bad_level.to_numpy(), problems):
        problems.append(FieldProblem(labels[i], mapping.get("level", "level"), repr(out["level"].iloc[i]),
                                     "级别无效 not a level", f"use one of {', '.join(LEVELS)}"))
    if "parent_name" not in mapping and "parent_code" not in mapping:
        parent_col = _find_column(list(raw.table.columns), ("县", "区县", "区", "乡", "街道", "上级"),
                                  set(mapping.values()))
        if parent_col is not None and level in ("subdistrict", "community"):
            out["parent_name"] = _text(raw.table[parent_col], labels, parent_col, notes)
            mapping["parent_name"] = parent_col
            notes.append(f"上级名称取自列 parent names taken from column '{parent_col}'")


def _kind_id_or_none(value: str) -> str | None:
    try:
        return get_kind(value).id
    except LayerError:
        return None


def _extra_columns(raw: RawSource, mapping: Mapping[str, str], out: pd.DataFrame, problems: Problems,
                   notes: list[str]) -> None:
    """Keep the source's other columns as they are; rename (with a note) the ones the store cannot keep.

    A column named like the geometry (``geom``, ``geometry``, ``wkt``), like mzgis's own columns
    (``fid``, ``feature_id``, ``mz_version`` …) or like another column of the layer ignoring case
    (``NAME`` next to ``name``) would be lost or refused in the GeoPackage; it is kept as
    ``<name>_src`` instead and the import report says so.
    """
    used = set(mapping.values())
    taken = {_key(c) for c in out.columns}
    for c in raw.table.columns:
        if c in used:
            continue
        new = c
        if _key(c) in _RESERVED or _key(c) in taken:
            new = f"{c}_src"
            k = 2
            while _key(new) in taken or _key(new) in _RESERVED or new in raw.table.columns:
                new = f"{c}_src{k}"
                k += 1
            why = ("几何列或 mzgis 保留名 the name of the geometry or an mzgis column"
                   if _key(c) in _RESERVED else f"与字段 '{c}' 同名（不分大小写）the name of a layer field (ignoring case)")
            notes.append(f"列 column '{c}' 是{why}: 保留为 kept as '{new}'")
        taken.add(_key(new))
        vals = raw.table[c]
        if vals.dtype == object or raw.is_table or pd.api.types.is_string_dtype(vals.dtype):
            out[new] = _text(vals, raw.row_labels, c, notes)
            continue
        if pd.api.types.is_float_dtype(vals.dtype):
            infinite = np.isinf(vals.to_numpy(dtype=float, na_value=np.nan))
            for i in _first(infinite, problems):
                problems.append(FieldProblem(raw.row_labels[i], c, _display(vals.iloc[i]),
                                             "不是有限数 not a finite number (infinity)",
                                             "填写实际数值或留空 enter the real value or leave it empty"))
        out[new] = vals.to_numpy()


def _key(name: str) -> str:
    return str(name).strip().casefold()


def _polygonal(g: Any) -> Any:
    """The polygonal part of a ``make_valid`` result (it may add stray lines or points), or None.

    None means nothing polygonal is left: the polygon had no area (a degenerate polygon).
    """
    if g is None:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return None if g.is_empty or _zero_area(np.array([g], dtype=object))[0] else g
    parts = [p for p in getattr(g, "geoms", [g])
             if p.geom_type in ("Polygon", "MultiPolygon") and not _zero_area(np.array([p], dtype=object))[0]]
    if not parts:
        return None
    return shapely.union_all(parts)
