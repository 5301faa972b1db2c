"""Input guards shared by the public analysis functions, written once.

Every public function of :mod:`mzgis.analysis` checks the frames and arguments it is handed
before it computes anything, the way geopandas and r5py do: a missing CRS, a geographic CRS where
metres are computed, a missing column, a duplicate id or an empty or non-positive threshold raises
a named error from :mod:`mzgis.errors` that says which layer or argument is wrong and how to fix
it (Chinese first, English alongside). Without these checks such input either fails deep inside
geopandas with a message that names nothing of the caller's (no CRS), or — worse — returns a
plausible but wrong number (areas in square degrees: 3.3e-08 households instead of 316).

Layers in *different* CRSs are not an error: each function reprojects one to the other, but it
says so with a :class:`~mzgis.errors.CrsMismatchWarning` naming both CRSs, because mixing CRSs is
more often a mistake of import (a layer labelled WGS-84 that is really in CGCS2000 Gauss-Krüger)
than a choice.

Examples
--------
>>> import geopandas as gpd, shapely
>>> pts = gpd.GeoDataFrame({"feature_id": ["a", "a"]}, geometry=[shapely.Point(0, 0)] * 2)
>>> layer_crs(pts, "demand")
Traceback (most recent call last):
...
mzgis.errors.CrsError: 图层 demand 没有坐标系 the layer 'demand' has no CRS; ...
>>> require_unique(pts.set_crs("EPSG:4326"), "feature_id", "demand")
Traceback (most recent call last):
...
mzgis.errors.DuplicateIdError: 图层 demand 的编号重复 ...
>>> thresholds([15, 5, 10])
[5.0, 10.0, 15.0]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from mzgis.errors import (
    CrsError,
    CrsMismatchWarning,
    DuplicateIdError,
    LayerError,
    MissingColumnError,
    ParameterError,
)

__all__ = ["as_crs", "layer_crs", "positive", "projected", "require_columns", "require_frame",
           "require_unique", "thresholds", "warn_crs_mismatch"]

_SHOW = 5  # how many offending values a message lists


@lru_cache(maxsize=64)
def _parse(text: str) -> CRS:
    return CRS.from_user_input(text)


def as_crs(crs: Any, what: str) -> CRS:
    """``crs`` (a CRS, ``"EPSG:n"``, WKT…) as a :class:`pyproj.CRS`; :class:`CrsError` naming
    ``what`` when it is missing or unknown."""
    if crs is None:
        msg = f"{what} 没有坐标系 has no CRS; 请给出 give one, e.g. 'EPSG:4326' or the workspace's metric CRS"
        raise CrsError(msg)
    if isinstance(crs, CRS):
        return crs
    try:
        return _parse(crs) if isinstance(crs, str) else CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError) as exc:
        msg = f"{what} 的坐标系无法识别 has an unknown CRS {crs!r}: {exc}; 请用 use e.g. 'EPSG:32650'"
        raise CrsError(msg) from exc


def require_frame(gdf: Any, layer: str) -> None:
    """``gdf`` must be a GeoDataFrame (a plain DataFrame or None is named, not failed on later)."""
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (f"图层 {layer} 应为 GeoDataFrame the layer '{layer}' must be a GeoDataFrame, got "
               f"{type(gdf).__name__}; 用 build it with geopandas.GeoDataFrame(..., geometry=..., crs=...)")
        raise LayerError(msg)


def layer_crs(gdf: Any, layer: str) -> CRS:
    """The CRS of a layer; :class:`CrsError` naming the layer when it has none."""
    require_frame(gdf, layer)
    if gdf.crs is None:
        msg = (f"图层 {layer} 没有坐标系 the layer '{layer}' has no CRS; 请设置 set it with "
               f"{layer}.set_crs('EPSG:4326') (or the CRS its coordinates are really in), or re-import the "
               "file with --crs")
        raise CrsError(msg)
    return CRS.from_user_input(gdf.crs)


def projected(crs: Any, what: str) -> CRS:
    """``crs`` checked to be projected (metres): areas and distances in degrees are refused."""
    c = as_crs(crs, what)
    if not c.is_projected:
        msg = (f"{what} {c.to_string()} 不是投影坐标系 is not a projected CRS: 面积和距离会以度计算 areas and "
               "distances would come out in degrees; 请用米制投影坐标系 use a metric CRS such as the "
               "workspace's UTM zone (e.g. 'EPSG:32650', or mzgis.layers.crs.utm_crs(lon, lat))")
        raise CrsError(msg)
    return c


def require_columns(df: pd.DataFrame, columns: Iterable[str], layer: str, *, fix: str = "") -> None:
    """Every column of ``columns`` must be in ``df``; :class:`MissingColumnError` lists the absent
    ones and the ones there are."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = [str(c) for c in df.columns if c != getattr(df, "_geometry_column_name", None)]
        msg = (f"图层 {layer} 缺少字段 the layer '{layer}' lacks the column(s) {missing}; 现有字段 it has "
               f"{have[:20]}{' …' if len(have) > 20 else ''}; "
               + (fix or "导入时映射这些字段 map them when importing, or rename the columns"))
        raise MissingColumnError(msg)


def require_unique(df: pd.DataFrame, column: str, layer: str) -> None:
    """The ids in ``column`` (the index when there is no such column) must be unique."""
    ids = df[column].astype(str) if column in df.columns else pd.Series(df.index.astype(str), index=df.index)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        pos = pd.Series(range(len(ids)), index=ids.index)[dup.index]
        shown = [f"'{v}' (第 {p + 1} 行 row {p + 1})" for v, p in zip(dup.iloc[:_SHOW], pos.iloc[:_SHOW], strict=True)]
        where = f"'{column}'" if column in df.columns else "the index"
        msg = (f"图层 {layer} 的编号重复 the layer '{layer}' has duplicate ids in {where}: {', '.join(shown)}"
               f"{' …' if len(dup) > _SHOW else ''}; 每个要素需要唯一编号 give every feature its own id")
        raise DuplicateIdError(msg)


def thresholds(values: Any, arg: str = "thresholds_min", *, unit: str = "分钟 minutes") -> list[float]:
    """Thresholds checked (not empty, every one finite and positive), sorted, without repeats."""
    if isinstance(values, int | float):
        values = [values]
    try:
        vals = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        msg = f"{arg} 应为数字列表 must be a list of numbers ({unit}), got {values!r}; e.g. {arg}=[5, 10, 15]"
        raise ParameterError(msg) from exc
    if not vals:
        msg = f"{arg} 为空 is empty: 至少给一个阈值 give at least one threshold ({unit}), e.g. {arg}=[5, 10, 15]"
        raise ParameterError(msg)
    bad = [v for v in vals if not (math.isfinite(v) and v > 0)]
    if bad:
        msg = (f"{arg} 须为正数 must be positive numbers ({unit}), got {bad[:_SHOW]}; "
               f"e.g. {arg}=[5, 10, 15]")
        raise ParameterError(msg)
    return sorted(set(vals))


def positive(value: Any, arg: str, *, unit: str = "", allow_zero: bool = False) -> float:
    """A finite positive number (or ≥ 0 with ``allow_zero``); :class:`ParameterError` naming ``arg``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        msg = f"{arg} 应为数字 must be a number{f' ({unit})' if unit else ''}, got {value!r}"
        raise ParameterError(msg) from exc
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        need = "≥ 0" if allow_zero else "> 0"
        msg = f"{arg} 须{need} must be {need}{f' ({unit})' if unit else ''}, got {value!r}"
        raise ParameterError(msg)
    return v


def warn_crs_mismatch(target: Any, other: Any, target_name: str, other_name: str, *, stacklevel: int = 3) -> None:
    """Warn that ``other`` (in another CRS) is reprojected to ``target``'s CRS, naming both."""
    if target is None or other is None:
        return
    a, b = as_crs(target, target_name), as_crs(other, other_name)
    if a == b:
        return
    msg = (f"坐标系不一致 CRS mismatch: {other_name} 是 is {b.to_string()}, {target_name} 是 is {a.to_string()}; "
           f"{other_name} 已转换到 was reprojected to {a.to_string()} for this analysis. 如非有意请检查导入时的 "
           "--crs check the layers were imported with the right --crs if this is unexpected")
    warnings.warn(CrsMismatchWarning(msg), stacklevel=stacklevel)

