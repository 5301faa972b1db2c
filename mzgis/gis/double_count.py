"""Refuse figures that would count the same thing twice.

* **Facilities**: two layers of one facility kind holding the same station (the same id with the
  same name, or the same place within :data:`SAME_PLACE_M` metres) — e.g. a spreadsheet imported
  once as ``stations`` and again as ``stations2``.
* **Demand**: two demand layers describing the same buildings (points of one inside footprints
  of the other, footprints overlapping, or points within :data:`SAME_PLACE_M` metres) — e.g. the
  buildings as points and as footprints.

Layers that only sit side by side (two districts, two kinds) are not refused.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mzgis.errors import DoubleCountError

__all__ = ["SAME_PLACE_M", "check_demand_layers", "check_facility_layers"]

#: Two features of two layers this close (metres) are taken as one place.
SAME_PLACE_M = 5.0
_EXAMPLES = 5


def _pairs_near(a: np.ndarray, b: np.ndarray, dist: float) -> np.ndarray:
    """Index pairs (i in a, j in b) of geometries within ``dist`` of each other (metric)."""
    if not len(a) or not len(b):
        return np.empty((2, 0), dtype=int)
    tree = shapely.STRtree(b)
    return np.asarray(tree.query(a, predicate="dwithin", distance=dist))


def _fix_hint(names: list[str], ws_hint: str, flag: str) -> str:
    drops = " 或 or ".join(f"`mzgis layers {ws_hint} drop {n}`" for n in names[1:])
    return (f"请删除重复的图层 drop the duplicate layer: {drops}"
            + (f"；或只用一个图层 or use one layer: {flag}" if flag else ""))


def check_facility_layers(fac: gpd.GeoDataFrame, metric_crs: str, *, ws_hint: str = "WS") -> None:
    """Refuse facilities of one kind found in two layers (``fac`` has a ``layer`` column, as
    :func:`mzgis.gis.inputs.all_facilities` builds it)."""
    if fac.empty or "layer" not in fac or fac["layer"].nunique() < 2:
        return
    problems: list[str] = []
    for kind, grp in fac.groupby("kind", sort=False):
        layers = list(dict.fromkeys(grp["layer"]))
        if len(layers) < 2:
            continue
        pts = grp.geometry.to_crs(metric_crs)
        pts = gpd.GeoSeries(shapely.point_on_surface(pts.to_numpy()), index=grp.index, crs=metric_crs)
        for la, lb in itertools.combinations(layers, 2):
            a, b = grp[grp["layer"] == la], grp[grp["layer"] == lb]
            ia, ib = _pairs_near(pts.loc[a.index].to_numpy(), pts.loc[b.index].to_numpy(), SAME_PLACE_M)
            same = {(a.index[i], b.index[j]) for i, j in zip(ia, ib, strict=True)}
            # the same id with the same real name (a name that is not just the id), anywhere
            if "name" in grp:
                ka = a[a["name"].astype(str) != a["feature_id"].astype(str)]
                kb = b[b["name"].astype(str) != b["feature_id"].astype(str)]
                m = (ka.reset_index().merge(kb.reset_index(), on=["feature_id", "name"], suffixes=("_a", "_b")))
                same |= set(zip(m["index_a"], m["index_b"], strict=True))
            if not same:
                continue
            ex = sorted(same)[:_EXAMPLES]
            shown = "; ".join(
                f"{la}:{grp.at[i, 'feature_id']}"
                + (f"（{grp.at[i, 'name']}）" if "name" in grp else "")
                + f" = {lb}:{grp.at[j, 'feature_id']}"
                + f" ({pts.at[i].distance(pts.at[j]):.0f} m)"
                for i, j in ex)
            problems.append(f"{kind}: 图层 layers '{la}' 与 and '{lb}' 有 {len(same)} 处相同设施 hold {len(same)} "
                            f"same facilities (same id and name, or within {SAME_PLACE_M:g} m), e.g. {shown}. "
                            + _fix_hint([la, lb], ws_hint, ""))
    if problems:
        msg = ("同一设施在两个图层中，会被重复计数 the same facilities are in two layers and would be counted twice: "
               + " | ".join(problems))
        raise DoubleCountError(msg)


def _as_points(g: gpd.GeoSeries) -> np.ndarray:
    return np.asarray(shapely.point_on_surface(g.to_numpy()))


def _overlap_count(a: gpd.GeoSeries, b: gpd.GeoSeries) -> int:
    """How many features of ``a`` are the same place as some feature of ``b`` (both metric):
    a point inside a footprint, a footprint's inner point inside another footprint, or two
    points within :data:`SAME_PLACE_M`."""
    ga, gb = a.to_numpy(), b.to_numpy()
    poly_a = np.asarray(shapely.get_type_id(ga) >= 3) & np.asarray(shapely.get_type_id(ga) != 4)
    poly_b = np.asarray(shapely.get_type_id(gb) >= 3) & np.asarray(shapely.get_type_id(gb) != 4)
    hit = np.zeros(len(ga), dtype=bool)
    pa = _as_points(a)
    if poly_b.any():  # a's points (or footprints' inner points) inside b's footprints
        tree = shapely.STRtree(gb[poly_b])
        ia, _ = tree.query(pa, predicate="within")
        hit[ia] = True
    if poly_a.any():  # b's points inside a's footprints
        tree = shapely.STRtree(ga[poly_a])
        _, ja = tree.query(_as_points(b), predicate="within")
        hit[np.flatnonzero(poly_a)[ja]] = True
    if (~poly_a).any() and (~poly_b).any():
        ia, _ = _pairs_near(ga[~poly_a], gb[~poly_b], SAME_PLACE_M)
        hit[np.flatnonzero(~poly_a)[ia]] = True
    return int(hit.sum())


def check_demand_layers(layers: dict[str, gpd.GeoDataFrame], metric_crs: str, *, ws_hint: str = "WS") -> None:
    """Refuse demand layers that describe the same buildings (the layers as read from the store,
    before they become demand points)."""
    live = {n: g for n, g in layers.items() if len(g)}
    if len(live) < 2:
        return
    geo = {n: g.geometry.to_crs(metric_crs) for n, g in live.items()}
    problems = []
    names: list[str] = []
    for la, lb in itertools.combinations(live, 2):
        n = _overlap_count(geo[la], geo[lb])
        if n:
            problems.append(f"'{la}' 中 {n} 个要素与 '{lb}' 重叠 {n} features of '{la}' lie on features of '{lb}'")
            names += [x for x in (la, lb) if x not in names]
    if problems:
        hh = {n: float(pd.to_numeric(live[n].get("households", pd.Series(dtype=float)), errors="coerce").sum())
              for n in names}
        msg = ("需求图层重叠，同一建筑会被计算两次 demand layers overlap, the same buildings would be counted twice: "
               + "; ".join(problems)
               + f" (户数 households given per layer: {', '.join(f'{k} {v:,.0f}' for k, v in hh.items())}). "
               + f"请只用一个图层 use one layer: --demand {names[0]}；或删除重复的图层 or drop the duplicate: "
               + f"`mzgis layers {ws_hint} drop {names[1]}`")
        raise DoubleCountError(msg)
