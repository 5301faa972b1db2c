"""Corridors along lines (铁路、公路两侧): the features within a distance of railways, highways or
rivers, their distance and status, and the completion rate per admin unit (PLAN_REQUIREMENTS
Chifeng row 6, 铁路、公路两侧整治散埋乱葬完成率 = 整治完成 / all inside the corridor).

Distances are measured in the project's metric CRS (:func:`mzgis.layers.crs.resolve_metric_crs`),
from a feature's geometry (a point, or the nearest edge of a polygon) to the nearest line; a
feature is inside when that distance is at most ``width_m`` (the buffer of ``width_m`` around
every line, exactly, without the polygon approximation of a buffer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.analysis.coverage import assign_units
from mzgis.errors import GeometryKindError

__all__ = ["DONE_STATUS", "CorridorResult", "check_lines", "features_in_corridor"]

#: The status counted as done by default (整治完成: the grave has been dealt with).
DONE_STATUS = "整治完成"

#: The geometry kinds a corridor can run along.
LINE_KINDS = ("LineString", "MultiLineString", "LinearRing")


@dataclass(frozen=True)
class CorridorResult:
    """What :func:`features_in_corridor` found.

    Attributes
    ----------
    inside
        One row per feature inside the corridor: its ``feature_id``, ``status``, ``done``,
        ``distance_m`` to the nearest line and that line's ``line_id``, ``line_name``,
        ``line_class`` (and ``line_layer`` when the lines have one), the unit code and name of
        each level, ``lon``/``lat`` of a point on the feature (WGS-84), the geometry (the features' CRS).
    summary
        Per level and unit (and one jurisdiction row, level ``all``): ``inside``, ``done``,
        ``completion_rate`` (done / inside; empty where nothing is inside).
    width_m, done_statuses
        What was counted.
    """

    inside: gpd.GeoDataFrame
    summary: pd.DataFrame
    width_m: float
    done_statuses: tuple[str, ...]


def check_lines(lines: gpd.GeoDataFrame, layer: str = "lines") -> None:
    """Refuse a corridor layer whose features are not lines (:class:`GeometryKindError`)."""
    guard.layer_crs(lines, layer)
    kinds = lines.geometry.geom_type.dropna()
    bad = kinds[~kinds.isin(LINE_KINDS)]
    if len(kinds) == 0:
        msg = (f"廊道图层 {layer} 没有线要素 the corridor layer '{layer}' has no line features; "
               "请导入铁路、公路或河流线 import railway, highway or river lines (--type lines)")
        raise GeometryKindError(msg)
    if len(bad):
        found = ", ".join(f"{k} × {n}" for k, n in bad.value_counts().items())
        first = lines.index.get_loc(bad.index[0])
        msg = (f"廊道图层 {layer} 不是线图层 the corridor layer '{layer}' is not a line layer: 有 it has {found} "
               f"(第一个在第 {int(first) + 1} 行 first at row {int(first) + 1}); 廊道只能沿线 a corridor runs "
               "along lines: 请给出铁路、公路或河流的线图层 give a layer of railway, highway or river lines")
        raise GeometryKindError(msg)


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series([""] * len(df), index=df.index, dtype=object)
    return df[col].astype(object).where(df[col].notna(), "").astype(str)


def features_in_corridor(
    features: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    width_m: float,
    metric_crs: str,
    *,
    status: str = "status",
    done: Iterable[str] = (DONE_STATUS,),
    units: Mapping[str, gpd.GeoDataFrame] | None = None,
    line_name: str = "name",
    line_class: str = "class",
) -> CorridorResult:
    """Every feature within ``width_m`` metres of any line, and the completion rate per unit.

    Parameters
    ----------
    features
        Points or polygons (e.g. graves) with a ``status`` column and ids in ``feature_id``
        (the index when there is none).
    lines
        The corridor lines (railways, highways, rivers), with ``line_name`` / ``line_class``
        columns when they have them, ``line_layer`` when several layers were combined.
    width_m
        Half-width of the corridor: the distance from the line, in metres (> 0).
    metric_crs
        The projected CRS distances are measured in.
    done
        The statuses counted as done (default 整治完成).
    units
        Admin-unit layers by level (``feature_id``, ``name``, polygons); a feature belongs to the
        unit that holds a point on it.

    Examples
    --------
    >>> import shapely
    >>> ln = gpd.GeoDataFrame({"name": ["G1"]}, geometry=[shapely.LineString([(0, 0), (1000, 0)])], crs="EPSG:32650")
    >>> f = gpd.GeoDataFrame({"status": ["整治完成", "未整治", "未整治"]},
    ...                      geometry=[shapely.Point(10, 50), shapely.Point(500, -150), shapely.Point(0, 900)],
    ...                      crs="EPSG:32650")
    >>> r = features_in_corridor(f, ln, 200, "EPSG:32650")
    >>> r.inside["distance_m"].tolist(), r.summary[["inside", "done"]].values.tolist(), r.summary["completion_rate"].tolist()
    ([50.0, 150.0], [[2, 1]], [0.5])
    """
    width = guard.positive(width_m, "width_m", unit="米 metres")
    crs = guard.projected(metric_crs, "metric_crs")
    guard.layer_crs(features, "features")
    check_lines(lines)
    done_set = tuple(dict.fromkeys(str(d) for d in done))
    guard.require_columns(features, [status], "features",
                          fix=f"需要状态字段 the status field is needed to count {'/'.join(done_set)}")
    feats = features.copy()
    if "feature_id" not in feats.columns:
        feats["feature_id"] = feats.index.astype(str)
    feats = feats.reset_index(drop=True)
    feats = feats[feats.geometry.notna() & ~feats.geometry.is_empty].reset_index(drop=True)
    ln = lines[lines.geometry.notna() & ~lines.geometry.is_empty]
    ln_m = gpd.GeoDataFrame({
        "line_id": (ln["feature_id"].astype(str) if "feature_id" in ln.columns else ln.index.astype(str)).to_numpy(),
        "line_name": _text(ln, line_name).to_numpy(),
        "line_class": _text(ln, line_class).to_numpy(),
        "line_layer": _text(ln, "line_layer").to_numpy(),
    }, geometry=ln.geometry.to_crs(crs).to_numpy(), crs=crs)
    f_m = gpd.GeoDataFrame({"_row": np.arange(len(feats))}, geometry=feats.geometry.to_crs(crs).to_numpy(), crs=crs)
    near = gpd.sjoin_nearest(f_m, ln_m, how="inner", max_distance=width, distance_col="distance_m")
    near = near.sort_values(["_row", "distance_m", "line_id"]).drop_duplicates("_row", keep="first")
    near = near[near["distance_m"] <= width]
    rows = near["_row"].to_numpy()
    inside = feats.iloc[rows].reset_index(drop=True)
    inside["status"] = _text(inside, status)
    inside["done"] = inside["status"].isin(done_set)
    inside["distance_m"] = np.round(near["distance_m"].to_numpy(dtype=float), 2)
    for c in ("line_id", "line_name", "line_class", "line_layer"):
        inside[c] = near[c].to_numpy()
    if not inside["line_layer"].astype(bool).any():
        inside = inside.drop(columns="line_layer")
    pts = inside.geometry.representative_point()
    ll = gpd.GeoSeries(pts, crs=features.crs).to_crs("EPSG:4326")
    inside["lon"], inside["lat"] = np.round(ll.x.to_numpy(), 7), np.round(ll.y.to_numpy(), 7)
    levels = {lv: u for lv, u in (units or {}).items() if u is not None and len(u)}
    pt_frame = gpd.GeoDataFrame(geometry=pts, crs=features.crs)
    unit_of = assign_units(pt_frame, levels) if levels else pd.DataFrame(index=inside.index)
    summary = [_summary_row("all", "ALL", "", inside["done"])]
    for lv, layer in levels.items():
        names = dict(zip(layer["feature_id"].astype(str), _text(layer, "name"), strict=True))
        code = unit_of[lv] if lv in unit_of.columns else pd.Series([None] * len(inside), index=inside.index)
        inside[lv] = code.astype(object).to_numpy()
        inside[f"{lv}_name"] = [names.get(str(c), "") if c is not None else "" for c in code]
        for c, n in names.items():
            summary.append(_summary_row(lv, c, n, inside.loc[code.astype(object).to_numpy() == c, "done"]))
        outside = code.isna().to_numpy()
        if outside.any():
            summary.append(_summary_row(lv, "", "（不在任何单位内 outside every unit）", inside.loc[outside, "done"]))
    return CorridorResult(gpd.GeoDataFrame(inside, geometry=inside.geometry.name, crs=features.crs),
                          pd.DataFrame(summary), width, done_set)


def _summary_row(level: str, code: str, name: str, done: pd.Series) -> dict[str, object]:
    n, d = len(done), int(done.sum())
    return {"level": level, "unit_code": code, "unit_name": name, "inside": n, "done": d,
            "completion_rate": round(d / n, 4) if n else np.nan}
