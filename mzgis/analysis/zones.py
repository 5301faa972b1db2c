"""Zones and proximity (PLAN_REQUIREMENTS PL-13/PL-14, M6).

* :func:`zone_overlay`: per zone polygon (火葬区, 土葬改革区, 禁建区 …) the population and
  households of the demand inside and the facilities inside by kind.
* :func:`nearest_between`: each facility of one set with its nearest of another by straight-line
  distance in the metric CRS, and whether that is farther than a threshold (each 养老服务中心
  with its nearest 卫生服务站).

A demand polygon or a facility counts in the zone that holds a point on it (its
``representative_point``), so nothing is counted in two zones that do not overlap.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.errors import GeometryKindError

__all__ = ["check_zones", "nearest_between", "zone_overlay"]


def _points(gdf: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    out = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return gpd.GeoDataFrame(out.drop(columns=out.geometry.name), geometry=out.geometry.representative_point().to_crs(crs),
                            crs=crs)


def _ids(gdf: pd.DataFrame) -> pd.Series:
    return gdf["feature_id"].astype(str) if "feature_id" in gdf.columns else pd.Series(gdf.index.astype(str),
                                                                                       index=gdf.index)


def check_zones(zones: gpd.GeoDataFrame, layer: str = "zones") -> None:
    """Refuse a zone layer whose features are not polygons (:class:`GeometryKindError`)."""
    guard.layer_crs(zones, layer)
    kinds = zones.geometry.geom_type.dropna()
    if len(kinds) == 0 or not kinds.isin(["Polygon", "MultiPolygon"]).all():
        found = ", ".join(f"{k} × {n}" for k, n in kinds.value_counts().items()) or "无 none"
        msg = (f"分区图层 {layer} 不是面图层 the zone layer '{layer}' is not a polygon layer (found {found}); "
               "火葬区、土葬改革区、禁建区应为面 zones must be polygons: 请用 --type zones 导入面 import polygons with --type zones")
        raise GeometryKindError(msg)


def zone_overlay(zones: gpd.GeoDataFrame, metric_crs: str, *, demand: gpd.GeoDataFrame | None = None,
                 facilities: gpd.GeoDataFrame | None = None, kind: str = "kind",
                 zone_type: str = "zone_type") -> pd.DataFrame:
    """Per zone: ``zone_id``, ``name``, ``zone_type``, ``area_km2``, the ``population`` and
    ``households`` of the demand inside (where the demand has them), ``facilities`` inside and one
    ``facilities:<kind>`` column per kind.

    Examples
    --------
    >>> import shapely
    >>> z = gpd.GeoDataFrame({"name": ["火葬区"]}, geometry=[shapely.box(0, 0, 1000, 1000)], crs="EPSG:32650")
    >>> d = gpd.GeoDataFrame({"population": [10, 5]}, geometry=[shapely.Point(5, 5), shapely.Point(2000, 5)],
    ...                      crs="EPSG:32650")
    >>> f = gpd.GeoDataFrame({"kind": ["funeral_home"]}, geometry=[shapely.Point(9, 9)], crs="EPSG:32650")
    >>> zone_overlay(z, "EPSG:32650", demand=d, facilities=f)[["area_km2", "population", "facilities:funeral_home"]]
       area_km2  population  facilities:funeral_home
    0       1.0        10.0                        1
    """
    crs = guard.projected(metric_crs, "metric_crs")
    check_zones(zones)
    z = zones.reset_index(drop=True)
    zm = gpd.GeoDataFrame({"zone_id": _ids(z).to_numpy()}, geometry=z.geometry.to_crs(crs).to_numpy(), crs=crs)
    out = pd.DataFrame({"zone_id": zm["zone_id"],
                        "name": z["name"].astype(object).where(z["name"].notna(), "") if "name" in z else "",
                        "zone_type": z[zone_type].astype(object).where(z[zone_type].notna(), "") if zone_type in z else "",
                        "area_km2": np.round(zm.area.to_numpy() / 1e6, 4)})

    def inside(points: gpd.GeoDataFrame) -> pd.DataFrame:
        j = gpd.sjoin(points, zm, predicate="within", how="inner")
        return pd.DataFrame(j.drop(columns=[j.geometry.name, "index_right"]))

    if demand is not None and len(demand):
        guard.layer_crs(demand, "demand")
        j = inside(_points(demand, crs))
        for col in ("population", "households", "elderly"):
            if col in j.columns:
                s = pd.to_numeric(j[col], errors="coerce").groupby(j["zone_id"]).sum()
                out[col] = out["zone_id"].map(s).fillna(0.0).astype(float)
    if facilities is not None:
        guard.layer_crs(facilities, "facilities")
        j = inside(_points(facilities, crs)) if len(facilities) else pd.DataFrame({"zone_id": [], kind: []})
        out["facilities"] = out["zone_id"].map(j.groupby("zone_id").size()).fillna(0).astype(int)
        if kind in j.columns:
            for k, part in j.groupby(j[kind].astype(str)):
                out[f"facilities:{k}"] = out["zone_id"].map(part.groupby("zone_id").size()).fillna(0).astype(int)
    return out


def nearest_between(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, metric_crs: str, *,
                    max_m: float | None = None) -> pd.DataFrame:
    """Each feature of ``a`` with its nearest of ``b`` (straight line, metres in ``metric_crs``):
    ``feature_id``, ``name``, ``nearest_id``, ``nearest_name``, ``distance_m`` and, with ``max_m``,
    ``far`` (farther than ``max_m``, or no ``b`` at all).

    Examples
    --------
    >>> import shapely
    >>> a = gpd.GeoDataFrame({"feature_id": ["A1", "A2"]}, geometry=[shapely.Point(0, 0), shapely.Point(5000, 0)],
    ...                      crs="EPSG:32650")
    >>> b = gpd.GeoDataFrame({"feature_id": ["B1"], "name": ["卫生站"]}, geometry=[shapely.Point(300, 400)],
    ...                      crs="EPSG:32650")
    >>> nearest_between(a, b, "EPSG:32650", max_m=1000)[["feature_id", "nearest_id", "distance_m", "far"]]
      feature_id nearest_id  distance_m    far
    0         A1         B1      500.00  False
    1         A2         B1     4716.99   True
    """
    crs = guard.projected(metric_crs, "metric_crs")
    guard.layer_crs(a, "a")
    guard.layer_crs(b, "b")
    limit = guard.positive(max_m, "max_m", unit="米 metres") if max_m is not None else None
    pa = _points(a, crs).reset_index(drop=True)
    pa["feature_id"] = _ids(pa).to_numpy()
    out = pd.DataFrame({"feature_id": pa["feature_id"],
                        "name": pa["name"].astype(object).where(pa["name"].notna(), "") if "name" in pa else "",
                        "nearest_id": "", "nearest_name": "", "distance_m": np.nan})
    pb = _points(b, crs).reset_index(drop=True)
    if len(pb) and len(pa):
        pb = gpd.GeoDataFrame({"nearest_id": _ids(pb).to_numpy(),
                               "nearest_name": (pb["name"].astype(object).where(pb["name"].notna(), "")
                                                if "name" in pb else "")},
                              geometry=pb.geometry.to_numpy(), crs=crs)
        j = gpd.sjoin_nearest(pa[["geometry"]], pb, how="left", distance_col="distance_m")
        j = j[~j.index.duplicated(keep="first")].reindex(pa.index)
        out["nearest_id"] = j["nearest_id"].to_numpy()
        out["nearest_name"] = j["nearest_name"].to_numpy()
        out["distance_m"] = np.round(j["distance_m"].to_numpy(dtype=float), 2)
    if limit is not None:
        out["far"] = ~(out["distance_m"] <= limit)
    return out
