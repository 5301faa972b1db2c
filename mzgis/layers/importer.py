"""Turn a raw source into a validated layer: map columns, check every row, convert coordinates.

The checks follow the promise "bad input gets a clear error and loses nothing": every problem is
reported with the file, the row (or feature), the field, what was found and how to fix it, and
nothing is written unless every row passes. Fixable geometry faults (self-intersecting polygons)
are repaired with ``make_valid`` and reported, not refused.
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

from mzgis.errors import CrsError, FieldProblem, LayerError, ValidationFailed
from mzgis.layers import coords as cc
from mzgis.layers.crs import CHINA_BOUNDS, STORE_CRS, parse_source_coords
from mzgis.layers.kinds import KINDS, LEVELS, get_kind
from mzgis.layers.schemas import ID_ALIASES, LAT_ALIASES, LON_ALIASES, SCHEMAS, Field, LayerSchema
from mzgis.layers.sources import RawSource

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
    """

    gdf: gpd.GeoDataFrame
    layer_type: str
    kind: str | None = None
    level: str | None = None
    source_coords: str = "wgs84"
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


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


def _find_column(columns: Sequence[str], aliases: Sequence[str], taken: set[str]) -> str | None:
    normed = {_norm(c): c for c in columns if c not in taken}
    for a in aliases:
        c = normed.get(_norm(a))
        if c is not None:
            return c
    return None


def _map_columns(
    raw: RawSource,
    schema: LayerSchema,
    field_map: Mapping[str, str],
    id_field: str | None,
    need_xy: bool,
) -> tuple[dict[str, str], list[str]]:
    """Return ``{mzgis field: source column}`` and the problems with the mapping itself."""
    cols = list(raw.table.columns)
    problems: list[str] = []
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    known = {f.name for f in schema.fields} | {"id", "lon", "lat"}
    for fname, col in field_map.items():
        if fname not in known:
            problems.append(
                f"--map {fname}={col}: '{fname}' 不是 {schema.type} 的字段 is not a field of "
                f"{schema.type}; fields: {', '.join(sorted(known))}"
            )
            continue
        if col not in cols:
            problems.append(f"--map {fname}={col}: 文件中没有列 no column '{col}' in the file; columns: {cols}")
            continue
        mapping[fname] = col
        taken.add(col)
    if id_field is not None:
        if id_field not in cols:
            problems.append(f"--id-field {id_field}: 文件中没有列 no column '{id_field}'; columns: {cols}")
        else:
            mapping["id"] = id_field
            taken.add(id_field)
    if "id" not in mapping:
        c = _find_column(cols, ID_ALIASES, taken)
        if c is not None:
            mapping["id"] = c
            taken.add(c)
    if need_xy:
        for fname, aliases in (("lon", LON_ALIASES), ("lat", LAT_ALIASES)):
            if fname not in mapping:
                c = _find_column(cols, aliases, taken)
                if c is not None:
                    mapping[fname] = c
                    taken.add(c)
        missing = [f for f in ("lon", "lat") if f not in mapping]
        if missing:
            problems.append(
                f"找不到坐标列 no coordinate column for {missing}; columns: {cols}. "
                "列名用 name them 经度/纬度 (lon/lat, x/y) or pass --map lon=COLUMN --map lat=COLUMN."
            )
    for f in schema.fields:
        if f.name in mapping:
            continue
        c = _find_column(cols, (f.name, *f.aliases), taken)
        if c is not None:
            mapping[f.name] = c
            taken.add(c)
    return mapping, problems


def _parse_numbers(
    values: pd.Series, labels: Sequence[str], column: str, f: Field, problems: list[FieldProblem]
) -> pd.Series:
    text = values.astype(str).str.strip()
    text = text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    empty = text.isin(["", "nan", "None", "<NA>"])
    num = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = num.isna() & ~empty
    for i in _first(bad.to_numpy(), problems):
        problems.append(FieldProblem(labels[i], column, repr(values.iloc[i]), "不是数字 not a number",
                                     f"填写数字 enter a number ({f.label_zh or f.name})"))
    if f.nonneg:
        neg = num < 0
        for i in _first(neg.fillna(False).to_numpy(), problems):
            problems.append(FieldProblem(labels[i], column, repr(values.iloc[i]), "不能为负数 must not be negative",
                                         f"{f.label_zh or f.name} 应 ≥ 0; correct the value or leave it empty"))
    if f.dtype == "int":
        frac = num.notna() & (num % 1 != 0)
        for i in _first(frac.to_numpy(), problems):
            problems.append(FieldProblem(labels[i], column, repr(values.iloc[i]), "应为整数 must be a whole number",
                                         "填写整数 enter a whole number"))
        return num.astype("Int64") if not frac.any() else num
    return num.astype("float64")


def _parse_dates(
    values: pd.Series, labels: Sequence[str], column: str, problems: list[FieldProblem]
) -> pd.Series:
    text = values.astype(str).str.strip().replace({"nan": "", "None": "", "NaT": ""})
    text = text.str.replace(r"[年月/.]", "-", regex=True).str.replace("日", "", regex=False)
    empty = text == ""
    parsed = pd.to_datetime(text.where(~empty), errors="coerce", format="mixed")
    bad = parsed.isna() & ~empty
    for i in _first(bad.to_numpy(), problems):
        problems.append(FieldProblem(labels[i], column, repr(values.iloc[i]), "日期无法识别 not a date",
                                     "写成 write it as 2024-05-31"))
    return parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)


def _text(values: pd.Series) -> pd.Series:
    out = values.astype(object).where(values.notna(), None)
    out = out.map(lambda v: None if v is None else (str(v).strip() or None))
    return out


def _check_coordinates(
    lon: np.ndarray, lat: np.ndarray, labels: Sequence[str], cols: tuple[str, str],
    extent: tuple[float, float, float, float], problems: list[FieldProblem], geographic: bool,
) -> None:
    """Report swapped and out-of-extent coordinates (degrees)."""
    if not geographic:
        return
    minx, miny, maxx, maxy = extent
    inside = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    swapped = ~inside & (lat >= minx) & (lat <= maxx) & (lon >= miny) & (lon <= maxy)
    valid = np.isfinite(lon) & np.isfinite(lat)
    for i in _first(swapped & valid, problems):
        problems.append(FieldProblem(
            labels[i], f"{cols[0]}/{cols[1]}", f"经度 lon={lon[i]:.6f}, 纬度 lat={lat[i]:.6f}",
            "经纬度疑似填反 longitude and latitude look swapped",
            f"交换两列 swap the columns (or --map lon={cols[1]} --map lat={cols[0]})"))
    for i in _first(~inside & ~swapped & valid, problems):
        problems.append(FieldProblem(
            labels[i], f"{cols[0]}/{cols[1]}", f"lon={lon[i]:.6f}, lat={lat[i]:.6f}",
            f"坐标不在中国境内 outside China (lon {minx}–{maxx}, lat {miny}–{maxy})",
            "检查坐标是否为经纬度（度）、是否投影坐标（需 --coords EPSG:n）; check the values, "
            "or set [import] extent in mzgis.toml for work outside China"))


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


_BASE = {
    "Point": "Point", "MultiPoint": "Point",
    "LineString": "LineString", "MultiLineString": "LineString", "LinearRing": "LineString",
    "Polygon": "Polygon", "MultiPolygon": "Polygon",
}


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
    """
    if layer_type not in SCHEMAS:
        msg = f"不认识的图层类型 unknown layer type '{layer_type}'; use one of {', '.join(SCHEMAS)}"
        raise LayerError(msg)
    schema = SCHEMAS[layer_type]
    path = str(raw.path)
    labels = raw.row_labels
    n = len(raw.table)
    notes: list[str] = []
    problems = Problems()

    # -- coordinates: which system is the source in? -------------------------------------------
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
    geographic = bool(src_crs.is_geographic)

    mapping, map_problems = _map_columns(raw, schema, field_map or {}, id_field, raw.is_table)
    if map_problems:
        msg = f"{path}: " + "\n".join(map_problems)
        raise LayerError(msg)

    out = pd.DataFrame(index=pd.RangeIndex(n))
    col: str | None

    # -- ids ------------------------------------------------------------------------------------
    if "id" in mapping:
        col = mapping["id"]
        ids = _text(raw.table[col])
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
        out["feature_id"] = ids
    else:
        out["feature_id"] = [str(i + 1) for i in range(n)]
        notes.append("未找到编号列 no id column: 以行号为编号 row numbers are used as feature ids")

    # -- geometry -------------------------------------------------------------------------------
    if raw.is_table:
        cols = (mapping["lon"], mapping["lat"])
        xs = []
        for c in cols:
            text = raw.table[c].astype(str).str.strip()
            empty = text.isin(["", "nan", "None"])
            num = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float)
            for i in _first(empty.to_numpy(), problems):
                problems.append(FieldProblem(labels[i], c, "空 empty", "缺少坐标 missing coordinate",
                                             "填写坐标 fill in the coordinate, or remove the row"))
            for i in _first(np.isnan(num) & ~empty.to_numpy(), problems):
                problems.append(FieldProblem(labels[i], c, repr(raw.table[c].iloc[i]), "坐标不是数字 not a number",
                                             "使用十进制度 use decimal degrees such as 116.397 (not 116°23'49\")"))
            xs.append(num)
        x, y = xs
        _check_coordinates(x, y, labels, cols, extent, problems, geographic)
        ok = np.isfinite(x) & np.isfinite(y)
        wx = np.full(n, np.nan)
        wy = np.full(n, np.nan)
        if ok.any():
            wx[ok], wy[ok] = _to_wgs84(x[ok], y[ok], coords_name, src_crs)
        if not geographic:
            _check_coordinates(wx, wy, labels, cols, extent, problems, True)
        geometry = gpd.GeoSeries(shapely.points(wx, wy), crs=STORE_CRS)
    else:
        geoms = raw.geometry if raw.geometry is not None else gpd.GeoSeries([None] * n)
        missing = geoms.isna() | geoms.is_empty
        for i in _first(missing.to_numpy(), problems):
            problems.append(FieldProblem(labels[i], "geometry", "空几何 empty", "缺少几何 missing geometry",
                                         "补画几何或删除该要素 draw it or remove the feature"))
        gtypes = geoms.geom_type.fillna("")
        base = gtypes.map(lambda t: _BASE.get(t, t))
        wrong = ~base.isin(schema.geometry) & ~missing
        for i in _first(wrong.to_numpy(), problems):
            if "Point" in schema.geometry and base.iloc[i] == "Polygon" and schema.type in ("facilities", "boundary_markers", "addresses"):
                continue  # converted to a point inside the polygon below
            problems.append(FieldProblem(labels[i], "geometry", gtypes.iloc[i],
                                         f"几何类型不符 wrong geometry type for {schema.type}",
                                         f"需要 expected {'/'.join(schema.geometry)}"))
        # raw bounds for swapped / extent checks (in degrees for geographic sources)
        b = geoms.bounds.to_numpy()
        if geographic:
            cx = (b[:, 0] + b[:, 2]) / 2
            cy = (b[:, 1] + b[:, 3]) / 2
            _check_coordinates(cx, cy, labels, ("geometry", "geometry"), extent, problems, True)
        # repair invalid polygons
        poly = base == "Polygon"
        invalid = poly & ~missing & ~geoms.is_valid
        geoms = geoms.copy()
        if invalid.any():
            idx = np.flatnonzero(invalid.to_numpy())
            reasons = shapely.is_valid_reason(np.asarray(geoms.values)[idx])
            fixed = shapely.make_valid(np.asarray(geoms.values)[idx])
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            geoms.iloc[idx] = fixed
            repaired = [f"{labels[i]} ({r})" for i, r in zip(idx, reasons, strict=True)]
        else:
            repaired = []
        try:
            geometry = _transform_geoms(geoms, coords_name, src_crs)
        except Exception as exc:
            msg = f"{path}: 坐标转换失败 coordinate conversion from {src_crs.to_string()} failed: {exc}"
            raise CrsError(msg) from exc
        if not geographic:
            b2 = geometry.bounds.to_numpy()
            _check_coordinates((b2[:, 0] + b2[:, 2]) / 2, (b2[:, 1] + b2[:, 3]) / 2, labels,
                               ("geometry", "geometry"), extent, problems, True)
        if "Point" in schema.geometry and "Polygon" not in schema.geometry:
            is_poly = geometry.geom_type.isin(["Polygon", "MultiPolygon"])
            if is_poly.any():
                geometry[is_poly] = geometry[is_poly].representative_point()
                notes.append(f"{int(is_poly.sum())} 个面要素以内部点表示 polygons were replaced by a point inside them")
    if raw.is_table:
        repaired = []

    # -- attributes -----------------------------------------------------------------------------
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
            out[f.name] = _text(values)
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
                    notes.append("未找到名称列 no name column: 以编号为名称 ids are used as names")
                    continue
                msg = (f"{path}: 缺少必填列 required column for '{f.name}' ({f.label_zh}) not found; "
                       f"columns: {list(raw.table.columns)}. 用 pass --map {f.name}=COLUMN.")
                raise LayerError(msg)
            for i in _first(out[f.name].isna().to_numpy(), problems):
                problems.append(FieldProblem(labels[i], col, "空 empty", f"{f.label_zh or f.name}为必填 is required",
                                             "填写该值 fill it in"))

    # facility kind
    kind_id: str | None = None
    if layer_type == "facilities":
        if kind is not None:
            kind_id = get_kind(kind).id
            out["kind"] = kind_id
        elif "kind" in mapping:
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
        else:
            msg = (f"{path}: 未指定设施类型 no facility kind: pass --kind KIND (e.g. --kind 社区养老服务驿站) "
                   "or add a 类型 column.")
            raise LayerError(msg)
        if out["status"].isna().all():
            notes.append("未给出状态 no status column: 全部记为 建成运营 (operating)")
        out["status"] = out["status"].fillna("建成运营")

    if layer_type == "admin_units":
        if level is not None:
            if level not in LEVELS:
                msg = f"--level {level}: use one of {', '.join(LEVELS)}"
                raise LayerError(msg)
            out["level"] = level
        elif out["level"].isna().any():
            msg = f"{path}: 行政区划需要级别 admin units need a level: pass --level district|subdistrict|community"
            raise LayerError(msg)
        bad_level = ~out["level"].isin(LEVELS)
        for i in _first(bad_level.to_numpy(), problems):
            problems.append(FieldProblem(labels[i], mapping.get("level", "level"), repr(out["level"].iloc[i]),
                                         "级别无效 not a level", f"use one of {', '.join(LEVELS)}"))
        if "parent_name" not in mapping and "parent_code" not in mapping:
            parent_col = _find_column(list(raw.table.columns), ("县", "区县", "区", "乡", "街道", "上级"),
                                      set(mapping.values()))
            if parent_col is not None and level in ("subdistrict", "community"):
                out["parent_name"] = _text(raw.table[parent_col])
                mapping["parent_name"] = parent_col
                notes.append(f"上级名称取自列 parent names taken from column '{parent_col}'")

    # extra columns kept as they are
    used = set(mapping.values())
    for c in raw.table.columns:
        if c in used or c in out.columns or c.lower() in ("geom", "geometry", "wkt"):
            continue
        vals = raw.table[c]
        out[c] = _text(vals) if vals.dtype == object or raw.is_table else vals.to_numpy()

    for fname, arr in (join_arrays or {}).items():
        a = np.asarray(arr)
        if a.shape[0] != n:
            msg = (f"{path}: 按行合并的数组 the array joined by row order for '{fname}' has {a.shape[0]} rows, "
                   f"the file has {n}; they must match row for row.")
            raise LayerError(msg)
        out[fname] = a

    if problems:
        raise ValidationFailed(path, list(problems), total=problems.total)

    gdf = gpd.GeoDataFrame(out, geometry=geometry.reset_index(drop=True).values, crs=STORE_CRS)
    if repaired:
        notes.append(f"{len(repaired)} 个无效面已用 make_valid 修复 invalid polygons repaired: " + "; ".join(repaired[:20]))
    if coords_name in ("gcj02", "bd09"):
        notes.append(f"坐标已从 {coords_name.upper()} 转换为 WGS-84 converted from {coords_name.upper()} to WGS-84")
    return PreparedLayer(gdf, layer_type, kind=kind_id, level=level, source_coords=coords_name,
                         notes=notes, repaired=repaired)


def _polygonal(g: Any) -> Any:
    """Keep the polygonal part of a ``make_valid`` result (it may add stray lines or points)."""
    if g is None:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return g
    return shapely.union_all(parts)
