"""Snapping points to the nearest *edge* of a road graph, with the straight access leg.

A point is placed at its orthogonal projection on the nearest edge segment: it then lies at a
fraction ``t`` along the edge from ``u`` to ``v``, and its network distance gains the straight
"access leg" from the point to the edge. A point farther than the maximum snapping distance from
every edge is not snapped (``edge == -1``) and is reported by the callers, never silently dropped
or silently pulled across a river.

Which edges a point may snap to
-------------------------------
OpenStreetMap extracts hold small pieces of footpath that are joined to no street (campus paths,
paths inside a compound whose gate is not mapped). A home snapped onto such an island reaches
nothing and counts as uncovered, and a station snapped onto one serves nobody, so one misplaced
point can move a headline figure. By default (``snap_to="main"``) points snap only to the *main
network*: the largest connected component of the graph, as osmnx keeps by default
(``retain_all=False``). The points that had an island edge nearer than their main-network edge are
counted (:attr:`Snapped.moved`) with how much farther they had to go, so the callers can report
them. ``snap_to="any"`` snaps to the nearest edge of any piece (the behaviour before 0.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from mzgis.layers.network import RoadGraph

__all__ = ["SNAP_TO", "SegmentIndex", "Snapped", "main_component_edges", "snap_points"]

#: The choices of ``snap_to``: the main network (default) or any piece of it.
SNAP_TO = ("main", "any")
SnapTo = Literal["main", "any"]

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
    moved
        True where an edge off the main network lay nearer than the edge the point was snapped to
        (only with ``snap_to="main"``; all False otherwise).
    moved_extra_m
        For those points, how much longer the access leg became (0 elsewhere).
    """

    edge: NDArray[np.int64]
    t: NDArray[np.float64]
    access_m: NDArray[np.float64]
    moved: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    moved_extra_m: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # built by hand from (edge, t, access) alone: nothing was moved
        if self.moved.size != self.edge.size:
            self.moved = np.zeros(self.edge.size, dtype=bool)
        if self.moved_extra_m.size != self.edge.size:
            self.moved_extra_m = np.zeros(self.edge.size)

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where the point was snapped."""
        return self.edge >= 0

    def __len__(self) -> int:
        return int(self.edge.size)

    def take(self, idx: NDArray[np.int64]) -> Snapped:
        """A subset of the points."""
        return Snapped(self.edge[idx], self.t[idx], self.access_m[idx], self.moved[idx], self.moved_extra_m[idx])


def main_component_edges(graph: RoadGraph) -> NDArray[np.bool_]:
    """True for the edges of the graph's largest connected component (by node count).

    Ties go to the component holding the lowest node index, so the choice is deterministic.
    """
    if graph.n_edges == 0:
        return np.zeros(0, dtype=bool)
    m = sp.csr_matrix((np.ones(graph.u.size), (graph.u, graph.v)), shape=(graph.n_nodes, graph.n_nodes))
    _, labels = sp.csgraph.connected_components(m, directed=False)
    # only nodes that touch an edge count: isolated nodes are not a "piece of network"
    touched = np.zeros(graph.n_nodes, dtype=bool)
    touched[graph.u] = True
    touched[graph.v] = True
    sizes = np.bincount(labels[touched], minlength=int(labels.max()) + 1)
    main = int(np.argmax(sizes))
    return np.asarray(labels[graph.u] == main)


def _segments(graph: RoadGraph, edges: NDArray[np.int64]) -> NDArray[np.object_]:
    g = graph
    coords = np.empty((edges.size, 2, 2))
    coords[:, 0, 0] = g.x[g.u[edges]]
    coords[:, 0, 1] = g.y[g.u[edges]]
    coords[:, 1, 0] = g.x[g.v[edges]]
    coords[:, 1, 1] = g.y[g.v[edges]]
    return np.asarray(shapely.linestrings(coords))


class SegmentIndex:
    """An R-tree over a graph's edge segments, built once and reused for every snap.

    Parameters
    ----------
    graph
        The road graph.
    snap_to
        ``"main"`` (default): only edges of the main network (the largest connected component)
        receive points, and points that lay nearer an island are flagged; ``"any"``: every edge.
    """

    def __init__(self, graph: RoadGraph, *, snap_to: SnapTo = "main") -> None:
        if snap_to not in SNAP_TO:
            msg = f"snap_to 应为 must be one of {SNAP_TO}, got {snap_to!r}"
            raise ValueError(msg)
        self.graph = graph
        self.snap_to = snap_to
        if snap_to == "main":
            on_main = main_component_edges(graph)
        else:
            on_main = np.ones(graph.n_edges, dtype=bool)
        self.edges = np.flatnonzero(on_main).astype(np.int64)
        self.island_edges = np.flatnonzero(~on_main).astype(np.int64)
        self.tree = shapely.STRtree(_segments(graph, self.edges))
        self.island_tree = shapely.STRtree(_segments(graph, self.island_edges)) if self.island_edges.size else None

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
            edges.append(self.edges[idx[1]])
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
        moved, extra = self._moved(x, y, where, access, max_distance_m)
        return Snapped(edge, t, access, moved, extra)

    def _moved(self, x: NDArray[np.float64], y: NDArray[np.float64], where: NDArray[np.int64],
               access: NDArray[np.float64], max_distance_m: float) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """Which points had an island edge nearer than the main-network edge they were given."""
        n = x.size
        moved = np.zeros(n, dtype=bool)
        extra = np.zeros(n)
        if self.island_tree is None or where.size == 0:
            return moved, extra
        for start in range(0, where.size, _CHUNK):
            part = where[start:start + _CHUNK]
            pts = shapely.points(x[part], y[part])
            idx, dist = self.island_tree.query_nearest(pts, max_distance=max_distance_m, all_matches=False,
                                                       return_distance=True)
            p = part[idx[0]]
            # a point not snapped at all (no main edge in range) but near an island counts as moved too
            nearer = ~(access[p] <= dist + 1e-9)
            moved[p[nearer]] = True
            extra[p[nearer]] = access[p[nearer]] - dist[nearer]
        return moved, extra


def snap_points(graph: RoadGraph, x: NDArray[np.float64], y: NDArray[np.float64], *,
                max_distance_m: float = 300.0, snap_to: SnapTo = "main") -> Snapped:
    """Snap points (in the graph's CRS) to the nearest edges; see :class:`SegmentIndex`."""
    return SegmentIndex(graph, snap_to=snap_to).snap(x, y, max_distance_m=max_distance_m)
