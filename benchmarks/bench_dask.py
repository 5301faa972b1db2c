"""Benchmark: coverage partitioned by unit on Dask (issue 15, point 6) against the one-process run.

Workload: the tiled Heidelberg network of ``bench_city.py`` (``--tiles 2`` ≈ 0.67M walkable
nodes, ``--tiles 4`` ≈ 2.7M), its demand points (100,000 per tile), 3,000 facilities,
5/10/15 minutes at 4 km/h, and ``--grid``×``--grid`` square "counties" over the network as the
partitioning units (each with a buffer of 1,000 m reach + 300 m snapping).

Printed, all measured in the same run:

* the one-process run: ``network_reach`` (snapping + one multi-source pass, a fresh snapping
  index, nothing cached) + ``coverage_table``;
* the same partitions run one after another in this process (``workers=0``): the cost of the
  buffers' overlap without any parallelism;
* the Dask run on a ``LocalCluster`` of ``--workers`` worker processes (cluster start-up reported
  separately), with the time ratio to the one-process run;
* that the per-point frames and the coverage tables are identical (exact comparison);
* partition sizes (nodes per piece, overlap factor) and peak memory of the driver and workers.

Run: ``.venv/bin/python benchmarks/bench_dask.py --tiles 2``. Timings depend on the load of the
machine (2 cores shared): the ratio is measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np


def _timed(fn, *a, **k):
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t0


def _peak_gb() -> float:
    """Peak resident memory of this process since it started (VmHWM: unlike ``ru_maxrss`` it is
    not inherited from the parent by a spawned worker)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiles", type=int, default=2)
    ap.add_argument("--demand", type=int, default=0, help="demand points (default 100,000 per tile)")
    ap.add_argument("--facilities", type=int, default=3000)
    ap.add_argument("--grid", type=int, default=4, help="G for G×G partitioning units")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/mzgis-bench-city")
    a = ap.parse_args()

    import sys

    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely
    from distributed import Client, LocalCluster

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository on the path
    from benchmarks.bench_city import HEIDELBERG, demand_layer, tiled_pbf
    from mzgis.analysis.coverage import assign_units, coverage_table
    from mzgis.analysis.partition import partition_by_units, reach_partitioned
    from mzgis.analysis.reach import network_reach, points_xy
    from mzgis.analysis.snapping import SegmentIndex
    from mzgis.layers.crs import utm_crs
    from mzgis.layers.network import load_or_build

    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    n_dem = a.demand or 100_000 * a.tiles * a.tiles
    pbf = tiled_pbf(HEIDELBERG, a.tiles, work / f"heidelberg_{a.tiles}x{a.tiles}_joined2.osm.pbf")
    crs = utm_crs(8.9, 49.5)
    graph, _ = load_or_build(pbf, crs, work / f"cache_{a.tiles}")
    graph.cache_dir = ""  # no snapped positions from disk: every run snaps
    gpkg = demand_layer(graph, n_dem, work / f"demand_{a.tiles}_{n_dem}.gpkg")
    dem = pyogrio.read_dataframe(gpkg, use_arrow=True).rename(columns={"demand_id": "feature_id"})
    dem["population"] = dem["households"] * 2.6
    dem["elderly"] = dem["households"] * 0.52
    rng = np.random.default_rng(7)
    fn = rng.choice(graph.n_nodes, a.facilities, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(a.facilities)]},
                           geometry=gpd.points_from_xy(graph.x[fn] + rng.normal(0, 20, a.facilities),
                                                       graph.y[fn] + rng.normal(0, 20, a.facilities)), crs=graph.crs)
    x0, y0, x1, y1 = graph.x.min(), graph.y.min(), graph.x.max(), graph.y.max()
    k = a.grid
    xs, ys = np.linspace(x0, x1, k + 1), np.linspace(y0, y1, k + 1)
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(k) for i in range(k)]
    units = gpd.GeoDataFrame({"feature_id": [f"U{i:02d}" for i in range(k * k)],
                              "name": [f"单元{i:02d}" for i in range(k * k)]}, geometry=cells, crs=graph.crs)
    ths = [5.0, 10.0, 15.0]
    speed = 4000.0 / 60.0
    print(f"network {graph.n_nodes:,} nodes, {graph.n_edges:,} edges; {len(dem):,} demand points, "
          f"{len(fac):,} facilities; {k}×{k} units; 5/10/15 min; machine load {os.getloadavg()[0]:.1f}")

    names = {"district": dict(zip(units["feature_id"], units["name"], strict=True))}
    demand = dem.rename(columns={"feature_id": "demand_id"})
    unit_of = assign_units(demand, {"district": units})

    def table_of(res):
        return coverage_table(demand, res.demand["minutes"], ths, unit_of=unit_of, unit_names=names)

    # -- one process --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    ref = network_reach(graph, fac, dem, thresholds_min=ths, speed_m_per_min=speed, pairs=False,
                        index=SegmentIndex(graph))
    ref_table = table_of(ref)
    t_single = time.perf_counter() - t0
    print(f"  one process                         {t_single:7.2f} s")

    # -- the partitions, sizes ----------------------------------------------------------------------
    sizes = [(t.key, t.graph.n_nodes, t.graph.n_edges, t.dem_rows.size, t.fac_rows.size, t.nbytes)
             for t in partition_by_units(graph, points_xy(fac, graph.crs), points_xy(dem, graph.crs), units,
                                         limit_m=max(ths) * speed, max_snap_m=300.0)]
    edges = np.array([s[2] for s in sizes])
    print(f"  {len(sizes)} partitions: nodes per piece median {int(np.median([s[1] for s in sizes])):,}, "
          f"max {max(s[1] for s in sizes):,} (whole graph {graph.n_nodes:,}); overlap factor "
          f"{edges.sum() / graph.n_edges:.2f} (edges shipped / edges); largest task "
          f"{max(s[5] for s in sizes) / 1e6:.0f} MB")

    # -- in this process, one after another -----------------------------------------------------------
    t0 = time.perf_counter()
    seq = reach_partitioned(graph, fac, dem, units=units, thresholds_min=ths, speed_m_per_min=speed, workers=0)
    seq_table = table_of(seq)
    t_seq = time.perf_counter() - t0
    print(f"  partitions one by one, no Dask      {t_seq:7.2f} s  = {t_seq / t_single:.2f}x one process")

    # -- Dask ---------------------------------------------------------------------------------------
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    t0 = time.perf_counter()
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        dres = reach_partitioned(graph, fac, dem, units=units, thresholds_min=ths, speed_m_per_min=speed,
                                 client=client)
        d_table = table_of(dres)
        t_dask = time.perf_counter() - t0
        worker_rss = client.run(_peak_gb)
    print(f"  Dask, {a.workers} local worker processes     {t_dask:7.2f} s  = {t_dask / t_single:.2f}x one process "
          f"(cluster start-up {t_start:.1f} s more)")
    same = True
    for name, r, tab in (("one by one", seq, seq_table), ("Dask", dres, d_table)):
        try:
            pd.testing.assert_frame_equal(r.demand, ref.demand, check_exact=True)
            pd.testing.assert_frame_equal(tab, ref_table, check_exact=True)
        except AssertionError as exc:
            same = False
            print(f"  NOT IDENTICAL ({name}): {exc}")
    print(f"  identical to the one-process run (per point and per unit, exact): {same}")
    print(f"  peak memory: driver {_peak_gb():.2f} GB, workers {', '.join(f'{v:.2f}' for v in worker_rss.values())} GB")
    out = {"tiles": a.tiles, "nodes": graph.n_nodes, "demand": len(dem), "facilities": len(fac), "units": k * k,
           "single_s": t_single, "sequential_partitions_s": t_seq, "dask_s": t_dask, "dask_startup_s": t_start,
           "ratio_dask_over_single": t_dask / t_single, "identical": same,
           "overlap_factor": float(edges.sum() / graph.n_edges), "load": os.getloadavg()[0]}
    (work / f"result_dask_{a.tiles}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
