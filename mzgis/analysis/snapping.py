"""Snapping points to the nearest *edge* of a road graph, with the straight access leg.

A point is placed at its orthogonal projection on the nearest edge segment: it then lies at a
fraction ``t`` along the edge from ``u`` to ``v``, and its network distance gains the straight
"access leg" from the point to the edge. A point farther than the maximum snapping distance from
every edge is not snapped (``edge == -1``) and is reported by the callers, never silently dropped
or silently pulled across a river.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from mzgis.layers.network import RoadGraph

__all__ = ["SegmentIndex", "Snapped", "snap_points"]

#: Points snapped per query (bounds the memory of the temporary point geometries).
_CHUNK = 100_000


@dataclass
class Snapped:
    """Points placed on graph edges.

    Attributes
    ----------
    edge
        Index of the edge (``-1`` when no edge lies within the maximum distance).
    t
        Position along the edge from ``u`` (0) to ``v`` (1).
    access_m
        Straight distance from the point to the edge.
    """

    edge: NDArray[np.int64]
    t: NDArray[np.float64]
    access_m: NDArray[np.float64]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where the point was snapped."""
        return self.edge >= 0

    def __len__(self) -> int:
        return int(self.edge.size)

    def take(self, idx: NDArray[np.int64]) -> Snapped:
        """A subset of the points."""
        return Snapped(self.edge[idx], self.t[idx], self.access_m[idx])


class SegmentIndex:
    """An R-tree over a graph's edge segments, built once and reused for every snap."""

    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph
        g = graph
        coords = np.empty((g.n_edges, 2, 2))
        coords[:, 0, 0] = g.x[g.u]
        coords[:, 0, 1] = g.y[g.u]
        coords[:, 1, 0] = g.x[g.v]
        coords[:, 1, 1] = g.y[g.v]
        self.tree = shapely.STRtree(shapely.linestrings(coords))

    def snap(self, x: NDArray[np.float64], y: NDArray[np.float64], *, max_distance_m: float) -> Snapped:
        """Snap points (in the graph's CRS) to their nearest edges."""
        g = self.graph
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n = x.size
        edge = np.full(n, -1, dtype=np.int64)
        t = np.zeros(n)
        access = np.full(n, np.nan)
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.any():
            return Snapped(edge, t, access)
        where = np.flatnonzero(finite)
        srcs, edges = [], []
        for start in range(0, where.size, _CHUNK):
            part = where[start:start + _CHUNK]
            pts = shapely.points(x[part], y[part])
            idx = self.tree.query_nearest(pts, max_distance=max_distance_m, all_matches=False)
            srcs.append(part[idx[0]])
            edges.append(idx[1].astype(np.int64))
            del pts
        src = np.concatenate(srcs)
        e = np.concatenate(edges)
        ax, ay = g.x[g.u[e]], g.y[g.u[e]]
        bx, by = g.x[g.v[e]], g.y[g.v[e]]
        dx, dy = bx - ax, by - ay
        l2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            tt = np.where(l2 > 0, ((x[src] - ax) * dx + (y[src] - ay) * dy) / l2, 0.0)
        tt = np.clip(tt, 0.0, 1.0)
        px, py = ax + tt * dx, ay + tt * dy
        edge[src] = e
        t[src] = tt
        access[src] = np.hypot(x[src] - px, y[src] - py)
        return Snapped(edge, t, access)


def snap_points(graph: RoadGraph, x: NDArray[np.float64], y: NDArray[np.float64], *,
                max_distance_m: float = 300.0) -> Snapped:
    """Snap points (in the graph's CRS) to the nearest edges; see :class:`SegmentIndex`."""
    return SegmentIndex(graph).snap(x, y, max_distance_m=max_distance_m)
