"""Partitioned reach and coverage: one task per administrative unit, on Dask distributed.

A province or a country is too large for one process, but the question "how far is the nearest
facility?" is local: a demand point is covered within ``T`` minutes only by a facility within
network distance ``limit = T_max × speed``, and a network path is never shorter than the straight
line. So each unit (a county, a subdistrict, …) can be computed on its own with

* its own demand points (each point belongs to exactly one unit: the first polygon that holds it;
  points outside every unit go to square cells of :data:`CELL_M`),
* the facilities within ``limit`` (straight line) of the unit,
* the road edges within ``limit + max_snap`` of the unit (the facilities' own edges and every
  edge a shortest path of length ≤ ``limit`` can use),

and the answer is *identical* (bit for bit) to the single-process :func:`~.reach.network_reach`:
see ``docs/scale.md`` for the argument, including the snapping rule — a clipped graph's largest
connected piece is not the whole graph's, so each partition receives the whole graph's
main-network flag of its edges (:func:`~.snapping.main_component_edges`, computed once) and
snaps with it.

:func:`partition_by_units` cuts the tasks, :func:`reach_partition` runs one (on a worker, or in
this process), and :func:`reach_partitioned` / :func:`coverage_partitioned` run them all on a Dask
``Client`` (a ``LocalCluster`` of worker *processes* by default, or a scheduler address) and put
the per-point answers back in the input order.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from mzgis.analysis.coverage import assign_units, coverage_table
from mzgis.analysis.reach import ReachResult, nearest_facility, points_xy
from mzgis.analysis.snapping import SegmentIndex, SnapTo, main_component_edges
from mzgis.errors import ClusterError, MzgisError, NetworkError
from mzgis.layers.network import MIN_EDGE_M, RoadGraph

__all__ = ["CELL_M", "ClusterError", "PartitionResult", "PartitionTask", "coverage_partitioned", "open_client",
           "partition_by_units", "reach_partition", "reach_partitioned", "subgraph"]

log = logging.getLogger(__name__)

#: Side of the square cells that hold the points outside every unit (metres).
CELL_M = 5000.0
#: How long to try to reach a scheduler given by address.
CONNECT_TIMEOUT = "20s"
#: Added to every clipping distance: far above float rounding, far below anything that matters.
MARGIN_M = 1.0


@dataclass
class PartitionTask:
    """What one worker needs for one unit — a piece of the graph, not the whole graph.

    Attributes
    ----------
    key
        The unit's code (or ``cell:i:j`` for points outside every unit).
    graph
        The edges within ``limit + max_snap`` of the unit, nodes renumbered in their original order.
    edge_ids
        The whole graph's index of each edge of ``graph`` (increasing, so the tie rule of snapping —
        the lowest edge index — is the same).
    on_main
        Per edge of ``graph``: on the *whole* graph's main network (largest connected component).
    fac_rows, fac_x, fac_y
        The facilities within ``limit`` of the unit: positions in the facility layer (increasing)
        and coordinates in the graph's CRS.
    fac_owned
        Per facility of the task: this partition reports its snapping (each facility is owned by
        exactly one partition, the one whose unit holds it).
    dem_rows, dem_x, dem_y
        The unit's own demand points.
    """

    key: str
    graph: RoadGraph
    edge_ids: NDArray[np.int64]
    on_main: NDArray[np.bool_]
    fac_rows: NDArray[np.int64]
    fac_x: NDArray[np.float64]
    fac_y: NDArray[np.float64]
    fac_owned: NDArray[np.bool_]
    dem_rows: NDArray[np.int64]
    dem_x: NDArray[np.float64]
    dem_y: NDArray[np.float64]
    limit_m: float
    max_snap_m: float
    snap_to: SnapTo = "main"

    @property
    def nbytes(self) -> int:
        """Approximate size shipped to the worker."""
        g = self.graph
        return int(sum(a.nbytes for a in (g.x, g.y, g.node_ids, g.u, g.v, g.length_m, g.indptr, g.indices,
                                          g.weights, self.edge_ids, self.fac_x, self.dem_x)) * 1.3)


@dataclass
class PartitionResult:
    """The answer of one partition, by position in the input layers."""

    key: str
    dem_rows: NDArray[np.int64]
    distance_m: NDArray[np.float64]
    facility: NDArray[np.int64]
    access_m: NDArray[np.float64]
    snapped: NDArray[np.bool_]
    moved: NDArray[np.bool_]
    moved_extra_m: NDArray[np.float64]
    fac_rows: NDArray[np.int64]
    fac_snapped: NDArray[np.bool_]
    fac_access_m: NDArray[np.float64]
    fac_moved: NDArray[np.bool_]
    nodes: int = 0
    edges: int = 0


def subgraph(graph: RoadGraph, edges: NDArray[np.int64]) -> RoadGraph:
    """The graph made of ``edges`` (increasing indices) and their end nodes, renumbered in order.

    Lengths and weights are copied, not recomputed, so every distance is the same float."""
    e = np.asarray(edges, dtype=np.int64)
    keep = np.zeros(graph.n_nodes, dtype=bool)
    keep[graph.u[e]] = True
    keep[graph.v[e]] = True
    nodes = np.flatnonzero(keep)
    local = np.cumsum(keep, dtype=np.int64) - 1
    a = local[graph.u[e]].astype(np.int32)
    b = local[graph.v[e]].astype(np.int32)
    n = nodes.size
    w = np.maximum(graph.length_m[e], MIN_EDGE_M)
    m = sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    m.sort_indices()
    return RoadGraph(graph.x[nodes], graph.y[nodes], graph.node_ids[nodes], a, b, graph.length_m[e].copy(),
                     graph.crs, m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(float),
                     graph.source, graph.profile, 0)


def _owner(x: NDArray[np.float64], y: NDArray[np.float64], geoms: NDArray[np.object_],
           tree: shapely.STRtree) -> NDArray[np.int64]:
    """The first unit (by position) whose polygon holds each point, or -1."""
    out = np.full(x.size, -1, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if ok.size == 0 or len(geoms) == 0:
        return out
    p, u = tree.query(shapely.points(x[ok], y[ok]), predicate="intersects")
    order = np.lexsort((u, p))
    p, u = p[order], u[order]
    first = np.ones(p.size, dtype=bool)
    first[1:] = p[1:] != p[:-1]
    out[ok[p[first]]] = u[first]
    return out


def _groups(keys: NDArray[np.int64]) -> dict[int, NDArray[np.int64]]:
    """Positions of each key, increasing."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.size == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    uniq, start = np.unique(keys[order], return_index=True)
    return {int(k): part for k, part in zip(uniq.tolist(), np.split(order.astype(np.int64), start[1:]), strict=True)}


def partition_by_units(
    graph: RoadGraph,
    fac_xy: tuple[NDArray[np.float64], NDArray[np.float64]],
    dem_xy: tuple[NDArray[np.float64], NDArray[np.float64]],
    units: gpd.GeoDataFrame,
    *,
    limit_m: float,
    max_snap_m: float,
    snap_to: SnapTo = "main",
    unit_id: str = "feature_id",
    cell_m: float = CELL_M,
    on_main: NDArray[np.bool_] | None = None,
) -> Iterator[PartitionTask]:
    """Cut the work into one task per unit (lazily: one partition's graph piece at a time).

    Parameters
    ----------
    graph
        The whole road graph.
    fac_xy, dem_xy
        Facility and demand coordinates in the graph's CRS (as :func:`~.reach.points_xy` gives).
    units
        The units of the partitioning level (polygons, any CRS) with ``unit_id``.
    limit_m
        The largest service distance (largest threshold × speed).
    max_snap_m
        The maximum snapping distance.
    on_main
        The whole graph's main-network flag per edge (computed when not given).

    Yields
    ------
    PartitionTask
        One per unit holding demand points or facilities, then one per cell of points outside
        every unit.
    """
    fx, fy = (np.asarray(a, dtype=float) for a in fac_xy)
    dx, dy = (np.asarray(a, dtype=float) for a in dem_xy)
    if snap_to == "main":
        main = main_component_edges(graph) if on_main is None else np.asarray(on_main, dtype=bool)
    else:
        main = np.ones(graph.n_edges, dtype=bool)
    geoms = np.asarray(units.to_crs(graph.crs).geometry.to_numpy(), dtype=object) if len(units) else np.empty(0, object)
    codes = units[unit_id].astype(str).to_numpy() if unit_id in units else units.index.astype(str).to_numpy()
    utree = shapely.STRtree(geoms)
    d_own = _owner(dx, dy, geoms, utree)
    f_own = _owner(fx, fy, geoms, utree)
    seg = shapely.linestrings(np.stack([np.column_stack([graph.x[graph.u], graph.y[graph.u]]),
                                        np.column_stack([graph.x[graph.v], graph.y[graph.v]])], axis=1))
    etree = shapely.STRtree(seg)
    f_fin = np.flatnonzero(np.isfinite(fx) & np.isfinite(fy))
    ftree = shapely.STRtree(shapely.points(fx[f_fin], fy[f_fin]))
    r_fac = limit_m + MARGIN_M
    r_edge = limit_m + max_snap_m + MARGIN_M

    def task(key: str, region: Any, d_rows: NDArray[np.int64], f_owned_rows: NDArray[np.int64]) -> PartitionTask:
        near = f_fin[ftree.query(region, predicate="dwithin", distance=r_fac)]
        f_rows = np.union1d(near, f_owned_rows).astype(np.int64)
        e = np.sort(etree.query(region, predicate="dwithin", distance=r_edge)).astype(np.int64)
        if e.size == 0:  # nothing to snap to: keep one edge so the piece is a graph; nothing snaps to it
            e = np.zeros(1, dtype=np.int64)
        sub = subgraph(graph, e)
        on = main[e] if e.size else np.zeros(0, dtype=bool)
        return PartitionTask(key, sub, e, on, f_rows, fx[f_rows], fy[f_rows], np.isin(f_rows, f_owned_rows),
                             d_rows, dx[d_rows], dy[d_rows], float(limit_m), float(max_snap_m), snap_to)

    d_by = _groups(d_own)
    f_by = _groups(f_own)
    none = np.zeros(0, dtype=np.int64)
    for u in sorted(set(d_by) | set(f_by)):
        if u < 0:
            continue
        yield task(str(codes[u]), geoms[u], d_by.get(u, none), f_by.get(u, none))
    # outside every unit: square cells (closed boxes hold their points); non-finite points alone
    d_out = d_by.get(-1, none)
    f_out = f_by.get(-1, none)
    xs = np.concatenate([dx[d_out], fx[f_out]])
    ys = np.concatenate([dy[d_out], fy[f_out]])
    fin = np.isfinite(xs) & np.isfinite(ys)
    ci = np.where(fin, np.floor(np.where(fin, xs, 0) / cell_m), np.iinfo(np.int64).min).astype(np.int64)
    cj = np.where(fin, np.floor(np.where(fin, ys, 0) / cell_m), 0).astype(np.int64)
    is_dem = np.arange(xs.size) < d_out.size
    rows = np.concatenate([d_out, f_out])
    cell_keys, cell_of = np.unique(np.column_stack([ci, cj]), axis=0, return_inverse=True)
    for c, pos in sorted(_groups(cell_of.ravel()).items()):
        i, j = int(cell_keys[c, 0]), int(cell_keys[c, 1])
        if i == np.iinfo(np.int64).min:
            region: Any = shapely.Point()  # not snappable: an empty region
        else:
            region = shapely.box(i * cell_m, j * cell_m, (i + 1) * cell_m, (j + 1) * cell_m)
        yield task(f"cell:{i}:{j}", region, np.sort(rows[pos[is_dem[pos]]]), np.sort(rows[pos[~is_dem[pos]]]))


def reach_partition(task: PartitionTask) -> PartitionResult:
    """Snap and reach for one partition (runs on a worker): the same functions as the whole run."""
    g = task.graph
    idx = SegmentIndex(g, snap_to=task.snap_to, main_edges=task.on_main if task.snap_to == "main" else None)
    fs = idx.snap(task.fac_x, task.fac_y, max_distance_m=task.max_snap_m)
    ds = idx.snap(task.dem_x, task.dem_y, max_distance_m=task.max_snap_m)
    f_ok = np.flatnonzero(fs.ok)
    d_ok = np.flatnonzero(ds.ok)
    dist_ok, who = nearest_facility(g, fs.take(f_ok), ds.take(d_ok), limit_m=task.limit_m)
    n = task.dem_rows.size
    dist = np.full(n, np.inf)
    fac = np.full(n, -1, dtype=np.int64)
    dist[d_ok] = dist_ok
    has = who >= 0
    fac[d_ok[has]] = task.fac_rows[f_ok[who[has]]]
    own = task.fac_owned
    return PartitionResult(task.key, task.dem_rows, dist, fac, ds.access_m, ds.ok, ds.moved, ds.moved_extra_m,
                           task.fac_rows[own], fs.ok[own], fs.access_m[own], fs.moved[own], g.n_nodes, g.n_edges)


@contextmanager
def open_client(client: Any = None, *, workers: int | None = None, scheduler: str | None = None,
                memory_limit: str | float | None = "auto") -> Iterator[Any]:
    """A Dask ``Client``: the one given, one connected to ``scheduler`` (``tcp://host:port``), or a
    ``LocalCluster`` of ``workers`` single-threaded worker *processes* (closed afterwards)."""
    if client is not None:
        yield client
        return
    import os

    # Dask's own INFO lines (scheduler, nannies, workers) would drown the command's output, and a
    # worker closing while it sends a heartbeat logs a traceback: the worker processes read their
    # level from the environment (their failures reach us as the tasks' exceptions); this process
    # keeps Dask's warnings (a worker lost and restarted)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)

    if scheduler:
        try:
            c = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            msg = (f"无法连接 Dask 调度器 cannot reach the Dask scheduler {scheduler!r}: {exc}. "
                   "检查地址 check the address (tcp://host:port) and that `dask scheduler` runs there")
            raise ClusterError(msg) from exc
        try:
            yield c
        finally:
            c.close()
        return
    with LocalCluster(n_workers=max(int(workers or 2), 1), threads_per_worker=1, processes=True,
                      dashboard_address=":0", memory_limit=memory_limit) as cluster, Client(cluster) as c:
        yield c


def run_partitions(tasks: Iterator[PartitionTask], client: Any, *, retries: int = 2,
                   in_flight: int | None = None) -> Iterator[PartitionResult]:
    """Run the tasks on the client, at most ``in_flight`` at a time (the graph pieces are cut as
    they are needed, so the driver never holds them all), yielding results as they finish.

    Each task carries its data (no scattered futures), so a task lost with its worker is simply
    run again elsewhere by the scheduler; ``retries`` re-runs a task that raised."""
    from distributed import as_completed

    width = in_flight or max(2 * len(client.scheduler_info().get("workers", {})), 2)
    run = uuid.uuid4().hex[:12]
    count = 0

    def submit(t: PartitionTask) -> Any:
        nonlocal count
        count += 1
        with warnings.catch_warnings():  # the data travels with the task on purpose (see docs/scale.md)
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
            return client.submit(reach_partition, t, key=f"mzgis-reach-{run}-{count}", retries=retries, pure=False)

    ac = as_completed([submit(t) for t in islice(tasks, width)])
    try:
        for fut in ac:
            try:
                res = fut.result()
            except MzgisError:
                raise
            except Exception as exc:
                msg = (f"分区计算失败 a partition failed on the Dask cluster ({type(exc).__name__}: {exc}); "
                       "重试后仍失败 it failed after its retries — see the worker logs")
                raise ClusterError(msg) from exc
            finally:
                fut.release()
            nxt = next(tasks, None)
            if nxt is not None:
                ac.add(submit(nxt))
            yield res
    finally:  # stopped early (an error, or the caller gave up): the tasks still queued are not needed
        pending = list(getattr(ac, "futures", ()))
        if pending:
            client.cancel(pending)


@contextmanager
def _results(tasks: Iterator[PartitionTask], client: Any, *, workers: int | None, scheduler: str | None,
             retries: int) -> Iterator[Iterator[PartitionResult]]:
    if client is None and not scheduler and workers == 0:  # in this process, one partition after another
        yield (reach_partition(t) for t in tasks)
        return
    with open_client(client, workers=workers, scheduler=scheduler) as c:
        yield run_partitions(tasks, c, retries=retries)


def reach_partitioned(
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    units: gpd.GeoDataFrame,
    thresholds_min: Sequence[float] = (5, 10, 15),
    speed_m_per_min: float = 4000.0 / 60.0,
    max_snap_m: float = 300.0,
    facility_id: str = "feature_id",
    demand_id: str = "feature_id",
    snap_to: SnapTo = "main",
    client: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    cell_m: float = CELL_M,
    pairs: bool = False,
    index: Any = None,
) -> ReachResult:
    """:func:`~.reach.network_reach` (nearest facility, ``pairs=False``) computed unit by unit on Dask.

    The result is identical to ``network_reach(..., pairs=False)``: the same ``demand`` frame (every
    value, bit for bit), the same snapping report. ``units`` is the partitioning level (e.g. the
    counties); ``client`` an existing ``distributed.Client``, else ``scheduler`` (an address) or a
    ``LocalCluster`` of ``workers`` processes (``workers=0``: no Dask, the partitions one after another
    in this process). ``pairs`` and ``index`` are accepted for the signature
    of :func:`~.reach.network_reach` only (per-facility pairs are not computed partitioned).
    """
    if pairs:
        msg = "reach_partitioned computes the nearest facility only (pairs=False)"
        raise NetworkError(msg)
    if speed_m_per_min <= 0:
        msg = f"speed_m_per_min must be positive, got {speed_m_per_min}"
        raise NetworkError(msg)
    ths = sorted(float(t) for t in thresholds_min)
    limit = ths[-1] * speed_m_per_min
    fx, fy = points_xy(facilities, graph.crs)
    dx, dy = points_xy(demand, graph.crs)
    nf, nd = fx.size, dx.size
    dist = np.full(nd, np.inf)
    who = np.full(nd, -1, dtype=np.int64)
    access = np.full(nd, np.nan)
    snapped = np.zeros(nd, dtype=bool)
    moved = np.zeros(nd, dtype=bool)
    extra = np.zeros(nd)
    f_snapped = np.zeros(nf, dtype=bool)
    f_access = np.full(nf, np.nan)
    f_moved = np.zeros(nf, dtype=bool)
    d_seen = np.zeros(nd, dtype=np.int64)
    tasks = partition_by_units(graph, (fx, fy), (dx, dy), units, limit_m=limit, max_snap_m=max_snap_m,
                               snap_to=snap_to, cell_m=cell_m)
    n_parts = 0
    with _results(tasks, client, workers=workers, scheduler=scheduler, retries=retries) as results:
        for r in results:
            n_parts += 1
            rows = r.dem_rows
            dist[rows], who[rows], access[rows] = r.distance_m, r.facility, r.access_m
            snapped[rows], moved[rows], extra[rows] = r.snapped, r.moved, r.moved_extra_m
            d_seen[rows] += 1
            f_snapped[r.fac_rows], f_access[r.fac_rows], f_moved[r.fac_rows] = r.fac_snapped, r.fac_access_m, r.fac_moved
    if not (d_seen == 1).all():  # every point in exactly one partition
        msg = f"internal: {int((d_seen != 1).sum())} demand points were not computed exactly once"
        raise NetworkError(msg)
    log.info("reach in %d partitions", n_parts)
    fid = facilities[facility_id].astype(str).to_numpy() if facility_id in facilities else facilities.index.astype(str).to_numpy()
    did = demand[demand_id].astype(str).to_numpy() if demand_id in demand else demand.index.astype(str).to_numpy()
    if not f_snapped.all():
        log.warning("%d facilities are more than %.0f m from the network and were not snapped",
                    int((~f_snapped).sum()), max_snap_m)
    if not snapped.all():
        log.warning("%d demand points are more than %.0f m from the network and were not snapped",
                    int((~snapped).sum()), max_snap_m)
    out = pd.DataFrame(index=demand.index)
    out["demand_id"] = did
    nearest = np.full(nd, None, dtype=object)
    distance = np.full(nd, np.nan)
    has = who >= 0
    nearest[has] = fid[who[has]]
    distance[has] = dist[has]
    out["nearest_facility_id"] = nearest
    out["distance_m"] = distance
    out["minutes"] = distance / speed_m_per_min
    out["access_m"] = access
    out["snapped"] = snapped
    out["moved_from_island"] = moved
    out["moved_extra_m"] = extra
    pair_df = pd.DataFrame(columns=["facility_id", "demand_id", "distance_m", "minutes"])
    fsnap = pd.DataFrame({"facility_id": fid, "snapped": f_snapped, "access_m": f_access,
                          "moved_from_island": f_moved}, index=facilities.index)
    return ReachResult(out, pair_df, ths, speed_m_per_min, unsnapped_facilities=list(fid[~f_snapped]),
                       unsnapped_demand=list(did[~snapped]), facility_snap=fsnap, snap_to=snap_to)


def coverage_partitioned(
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    units: Mapping[str, gpd.GeoDataFrame],
    *,
    by: str,
    thresholds_min: Sequence[float] = (5, 10, 15),
    speed_m_per_min: float = 4000.0 / 60.0,
    max_snap_m: float = 300.0,
    snap_to: SnapTo = "main",
    jurisdiction: tuple[str, str] = ("ALL", "辖区"),
    client: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
) -> tuple[pd.DataFrame, ReachResult]:
    """Coverage per unit (:func:`~.coverage.coverage_table`) with the reach computed per unit of
    level ``by`` on Dask. ``demand`` has ``households``, ``population``, ``elderly`` and
    ``demand_id``; ``units`` maps levels to unit layers (``feature_id``, ``name``).

    Returns the table and the per-point :class:`~.reach.ReachResult`, both identical to the
    single-process run. The per-point minutes are gathered and the table is summed once, here, so
    not even the last bit of a sum depends on the partitioning."""
    if by not in units:
        msg = f"没有 {by} 级单位 no units of level {by!r}; levels: {', '.join(units) or '—'}"
        raise NetworkError(msg)
    res = reach_partitioned(graph, facilities, demand.rename(columns={"demand_id": "feature_id"}), units=units[by],
                            thresholds_min=thresholds_min, speed_m_per_min=speed_m_per_min, max_snap_m=max_snap_m,
                            snap_to=snap_to, client=client, workers=workers, scheduler=scheduler, retries=retries)
    unit_of = assign_units(demand, units)
    names = {lv: dict(zip(u["feature_id"].astype(str), u["name"].astype(str), strict=True)) for lv, u in units.items()}
    table = coverage_table(demand, res.demand["minutes"], thresholds_min, unit_of=unit_of, unit_names=names,
                           jurisdiction=jurisdiction)
    return table, res
