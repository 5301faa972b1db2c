"""Service-area polygons (服务圈) from the reachable parts of the network — never convex hulls.

For a threshold distance ``T`` and node distances ``D`` from a facility (or a set of them), an
edge ``(u, v)`` of length ``L`` is reached ``r_u = clip(T - D[u], 0, L)`` from ``u`` and
``r_v = clip(T - D[v], 0, L)`` from ``v``: wholly when ``r_u + r_v >= L``, else in one or two
pieces from its ends. The facility's own edge is reached from its snapped position in both
directions, and its access leg from the point itself. The reached pieces are buffered by a width
(default 40 m: the frontage a pedestrian street serves) and dissolved. Areas for larger thresholds
are unioned with the smaller ones, so the 5-minute area always lies inside the 10-minute area,
which lies inside the 15-minute area.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from tqdm import tqdm

from mzgis.analysis import _guards as guard
from mzgis.analysis.reach import multi_source_node_distances, points_xy
from mzgis.analysis.snapping import SegmentIndex, Snapped, SnapTo
from mzgis.layers.network import RoadGraph

__all__ = ["GroupReach", "nested_rings", "reach_groups", "reached_segments", "service_areas"]


def reached_segments(graph: RoadGraph, dist: NDArray[np.float64], threshold_m: float,
                     fac: Snapped, fac_xy: tuple[NDArray[np.float64], NDArray[np.float64]]) -> NDArray[np.float64]:
    """Segments reached within ``threshold_m`` as an array of shape ``(k, 2, 2)``.

    Parameters
    ----------
    dist
        Network distance from the source(s) to every node.
    fac, fac_xy
        The snapped sources and their original coordinates (for their own edges and access legs).
    """
    g = graph
    T = threshold_m
    L = g.length_m
    du, dv = dist[g.u], dist[g.v]
    ru = np.clip(np.where(np.isfinite(du), T - du, 0.0), 0.0, L)
    rv = np.clip(np.where(np.isfinite(dv), T - dv, 0.0), 0.0, L)
    ax, ay, bx, by = g.x[g.u], g.y[g.u], g.x[g.v], g.y[g.v]
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(L > 0, 1.0 / L, 0.0)
    full = (ru + rv >= L) & ((ru > 0) | (rv > 0) | (L == 0) & (np.isfinite(du) | np.isfinite(dv)))
    part_u = ~full & (ru > 0)
    part_v = ~full & (rv > 0)
    segs = []
    if full.any():
        segs.append(np.stack([np.column_stack([ax[full], ay[full]]), np.column_stack([bx[full], by[full]])], axis=1))
    if part_u.any():
        f = ru[part_u] * inv[part_u]
        ex = ax[part_u] + f * (bx[part_u] - ax[part_u])
        ey = ay[part_u] + f * (by[part_u] - ay[part_u])
        segs.append(np.stack([np.column_stack([ax[part_u], ay[part_u]]), np.column_stack([ex, ey])], axis=1))
    if part_v.any():
        f = rv[part_v] * inv[part_v]
        ex = bx[part_v] + f * (ax[part_v] - bx[part_v])
        ey = by[part_v] + f * (ay[part_v] - by[part_v])
        segs.append(np.stack([np.column_stack([bx[part_v], by[part_v]]), np.column_stack([ex, ey])], axis=1))
    # the sources' own edges and access legs
    e = fac.edge
    if e.size:
        le = L[e]
        sx = ax[e] + fac.t * (bx[e] - ax[e])
        sy = ay[e] + fac.t * (by[e] - ay[e])
        left = T - fac.access_m
        ok = left > 0
        to_u = np.minimum(fac.t * le, np.maximum(left, 0.0))
        to_v = np.minimum((1.0 - fac.t) * le, np.maximum(left, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            fu = np.where(le > 0, to_u / le, 0.0)
            fv = np.where(le > 0, to_v / le, 0.0)
        ux, uy = sx + fu * (ax[e] - bx[e]), sy + fu * (ay[e] - by[e])
        vx, vy = sx + fv * (bx[e] - ax[e]), sy + fv * (by[e] - ay[e])
        for px, py in ((ux, uy), (vx, vy)):
            segs.append(np.stack([np.column_stack([sx[ok], sy[ok]]), np.column_stack([px[ok], py[ok]])], axis=1))
        # access leg, cut at T
        fx, fy = fac_xy
        frac = np.clip(np.where(fac.access_m > 0, T / np.maximum(fac.access_m, 1e-12), 1.0), 0.0, 1.0)
        lx, ly = fx + frac * (sx - fx), fy + frac * (sy - fy)
        segs.append(np.stack([np.column_stack([fx, fy]), np.column_stack([lx, ly])], axis=1))
    if not segs:
        return np.empty((0, 2, 2))
    return np.concatenate(segs)


@dataclass
class GroupReach:
    """Walking distances from one group of facilities (one facility, or every one of a kind)."""

    graph: RoadGraph
    key: str
    sources: Snapped
    xy: tuple[NDArray[np.float64], NDArray[np.float64]]
    dist: NDArray[np.float64]

    def segments(self, threshold_m: float) -> NDArray[np.float64]:
        """The road segments reached within ``threshold_m`` (see :func:`reached_segments`)."""
        return reached_segments(self.graph, self.dist, threshold_m, self.sources, self.xy)


def reach_groups(graph: RoadGraph, facilities: gpd.GeoDataFrame, *, limit_m: float, max_snap_m: float = 300.0,
                 dissolve_by: str | None = None, facility_id: str = "feature_id", index: SegmentIndex | None = None,
                 snap_to: SnapTo = "main", progress: bool = False) -> tuple[str, Iterator[GroupReach]]:
    """Facilities snapped once and grouped (per ``dissolve_by`` value, else each on its own), with
    the node distances from each group up to ``limit_m``; returns the key's name and the groups
    (computed one at a time; groups with no facility on the network are left out)."""
    idx = index or SegmentIndex.shared(graph, snap_to=snap_to)
    fx, fy = points_xy(facilities, graph.crs)
    snapped = idx.snap(fx, fy, max_distance_m=max_snap_m)
    if dissolve_by is not None:
        keys = facilities[dissolve_by].astype(str).to_numpy()
        groups = [(k, np.flatnonzero((keys == k) & snapped.ok)) for k in pd.unique(keys)]
        key_name = dissolve_by
    else:
        ids = (facilities[facility_id].astype(str).to_numpy() if facility_id in facilities
               else facilities.index.astype(str).to_numpy())
        groups = [(ids[i], np.array([i])) for i in np.flatnonzero(snapped.ok)]
        key_name = "facility_id"

    def each() -> Iterator[GroupReach]:
        for key, members in tqdm(groups, desc="service areas", unit="area",
                                 disable=not progress or not sys.stderr.isatty() or len(groups) < 20):
            if members.size == 0:
                continue
            sub = snapped.take(members)
            yield GroupReach(graph, str(key), sub, (fx[members], fy[members]),
                             multi_source_node_distances(graph, sub, limit_m=limit_m))

    return key_name, each()


def nested_rings(key_name: str, key: str, thresholds_min: list[float], speed_m_per_min: float,
                 ring: Callable[[float], Any]) -> list[dict[str, Any]]:
    """One row per threshold (smallest first) with ``ring(minutes)`` unioned with the smaller
    rings, so 5 ⊂ 10 ⊂ 15 minutes holds whatever ``ring`` does at the edges."""
    rows: list[dict[str, Any]] = []
    prev = None
    for t in thresholds_min:
        poly = ring(t)
        if prev is not None:
            poly = shapely.union(poly, prev)
        prev = poly
        rows.append({key_name: key, "minutes": t, "distance_m": t * speed_m_per_min, "geometry": poly})
    return rows


def _ring_area(grp: GroupReach, speed_m_per_min: float, buffer_m: float, minutes: float) -> shapely.Geometry:
    return _area(grp.segments(minutes * speed_m_per_min), buffer_m)


def _area(segs: NDArray[np.float64], buffer_m: float) -> shapely.Geometry:
    if segs.shape[0] == 0:
        return shapely.Polygon()
    lines = shapely.linestrings(segs)
    # merge chains of segments first, buffer each line, then one cascaded union: two orders of
    # magnitude faster than buffering the whole multi-line at once (0.16 s vs 14 s on 6,000 edges)
    merged = shapely.line_merge(shapely.multilinestrings(lines))
    parts = np.asarray(getattr(merged, "geoms", [merged]))
    poly = shapely.union_all(shapely.buffer(parts, buffer_m, quad_segs=4))
    return shapely.make_valid(poly) if not shapely.is_valid(poly) else poly


def service_areas(
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    *,
    thresholds_min: list[float] | tuple[float, ...] = (5, 10, 15),
    speed_m_per_min: float = 4000.0 / 60.0,
    buffer_m: float = 40.0,
    max_snap_m: float = 300.0,
    dissolve_by: str | None = None,
    facility_id: str = "feature_id",
    index: SegmentIndex | None = None,
    snap_to: SnapTo = "main",
) -> gpd.GeoDataFrame:
    """Service-area polygons per facility, or dissolved per group, for each threshold.

    Parameters
    ----------
    facilities
        Points with a CRS; without ``dissolve_by`` their ``facility_id`` column (or index) must
        be unique, since each area is named by it.
    dissolve_by
        A column of ``facilities`` (e.g. ``"kind"``): one area per value instead of per facility.

    Returns
    -------
    geopandas.GeoDataFrame
        ``facility_id`` (or the ``dissolve_by`` value), ``minutes``, ``distance_m``, ``area_m2``
        (measured in the graph's metric CRS), geometry in the facilities' CRS (nested across
        thresholds).

    Examples
    --------
    A station in the middle of a 400 m street, 1 minute at 100 m/min: 100 m each way, buffered
    by 10 m (flat ends: ``quad_segs=4`` rounds them to an octagon-ish cap):

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from mzgis.layers.network import build_graph
    >>> g = build_graph(np.array([0.0, 200, 400]), np.zeros(3), np.arange(3), np.array([0, 1]),
    ...                 np.array([1, 2]), "EPSG:32650")
    >>> fac = gpd.GeoDataFrame({"feature_id": ["S1"]}, geometry=[shapely.Point(200, 0)], crs=g.crs)
    >>> a = service_areas(g, fac, thresholds_min=[1, 2], speed_m_per_min=100, buffer_m=10)
    >>> a[["facility_id", "minutes", "distance_m"]].to_dict("records")
    [{'facility_id': 'S1', 'minutes': 1.0, 'distance_m': 100.0}, {'facility_id': 'S1', 'minutes': 2.0, 'distance_m': 200.0}]
    >>> [round(b) for b in a.geometry.iloc[0].bounds]
    [90, -10, 310, 10]
    """
    guard.layer_crs(facilities, "facilities")
    guard.projected(graph.crs, "graph.crs")
    ths = guard.thresholds(thresholds_min)
    speed_m_per_min = guard.positive(speed_m_per_min, "speed_m_per_min", unit="m/min")
    buffer_m = guard.positive(buffer_m, "buffer_m", unit="m")
    max_snap_m = guard.positive(max_snap_m, "max_snap_m", unit="m")
    if dissolve_by is not None:
        guard.require_columns(facilities, [dissolve_by], "facilities")
    else:
        guard.require_unique(facilities, facility_id, "facilities")
    key_name, groups = reach_groups(graph, facilities, limit_m=ths[-1] * speed_m_per_min, max_snap_m=max_snap_m,
                                    dissolve_by=dissolve_by, facility_id=facility_id, index=index, snap_to=snap_to,
                                    progress=True)
    rows = []
    for grp in groups:
        rows += nested_rings(key_name, grp.key, ths, speed_m_per_min,
                             functools.partial(_ring_area, grp, speed_m_per_min, buffer_m))
    gdf = gpd.GeoDataFrame(rows, columns=[key_name, "minutes", "distance_m", "geometry"], geometry="geometry",
                           crs=graph.crs)
    gdf["area_m2"] = gdf.geometry.area
    return gdf.to_crs(facilities.crs)
