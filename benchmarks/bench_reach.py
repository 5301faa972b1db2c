"""Benchmark: network reach against the approaches planners use today and the practical floor.

Workload: the largest real extract found (Heidelberg, ../shared/data/osm/heidelberg.osm.pbf,
~168k walkable nodes), 300 facilities at random nodes, every network node a demand point, the
15-minute walk at 4 km/h (1,000 m). Measured in one run, side by side:

(a) osmnx tutorial approach: one ``networkx.ego_graph`` per facility, union of the nodes
(b) ``networkx.multi_source_dijkstra_path_length`` with a cutoff
(c) mzgis nearest-facility reach (``nearest_facility``)
(d) mzgis per-facility reach for all thresholds (``facility_pairs`` + counts per threshold)
(e) a bare ``scipy.sparse.csgraph.dijkstra(min_only=True, limit=...)`` on the same arrays
(f) pandana: ``Network`` build + ``precompute``, and the ``nearest_pois`` query, timed apart

Snapping is excluded from (c)/(d) and reported on its own. Then a synthetic 1,000,000-node street
grid (for scale only): time and peak memory of (c) and (d), each in a fresh process.

Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_reach.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mzgis.analysis.reach import facility_pairs, nearest_facility  # noqa: E402
from mzgis.analysis.snapping import SegmentIndex  # noqa: E402
from mzgis.layers.crs import utm_crs  # noqa: E402
from mzgis.layers.network import RoadGraph, build_graph, graph_from_osm, osm_bounds  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "osm"
SPEED = 4000.0 / 60.0
THRESHOLDS = (5.0, 10.0, 15.0)
LIMIT = THRESHOLDS[-1] * SPEED  # 1,000 m


def largest_extract() -> Path:
    files = sorted(SHARED.glob("*.osm*"), key=lambda p: p.stat().st_size)
    if not files:
        sys.exit(f"no OSM extract in {SHARED}")
    pbf = [p for p in files if p.name.endswith(".pbf")]
    return (pbf or files)[-1]


def best_of(func, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def per_threshold_counts(f: np.ndarray, d: np.ndarray, dist: np.ndarray, n_dem: int) -> dict[float, np.ndarray]:
    out = {}
    for t in THRESHOLDS:
        within = dist <= t * SPEED
        out[t] = np.bincount(d[within], minlength=n_dem)
    return out


def real_workload(n_fac: int, skip_slow: bool) -> dict[str, float]:
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    src = largest_extract()
    t0 = time.perf_counter()
    b = osm_bounds(src)
    g = graph_from_osm(src, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    print(f"extract: {src.name}: {g.n_nodes:,} nodes, {g.n_edges:,} edges (built in {time.perf_counter() - t0:.1f} s)")
    rng = np.random.default_rng(2026)
    # nodes sharing their position with another node (bridges, layered ways) would make "the
    # facility at node k" ambiguous after snapping; the workload and the checks use unique ones
    _, inv, cnt = np.unique(np.column_stack([g.x, g.y]), axis=0, return_inverse=True, return_counts=True)
    unique_pos = cnt[inv.ravel()] == 1
    fac_nodes = rng.choice(np.flatnonzero(unique_pos), n_fac, replace=False)
    print(f"workload: {n_fac} facilities at random nodes, {g.n_nodes:,} demand points (every node), "
          f"limit {LIMIT:.0f} m (15 min at 4 km/h)")

    t_index = time.perf_counter()
    index = SegmentIndex(g, snap_to="any")  # engine benchmark: every node, islands included
    t_index = time.perf_counter() - t_index
    t_snap = time.perf_counter()
    fs = index.snap(g.x[fac_nodes], g.y[fac_nodes], max_distance_m=300)
    ds = index.snap(g.x, g.y, max_distance_m=300)
    t_snap = time.perf_counter() - t_snap
    print(f"snapping (excluded below): index {t_index:.2f} s, snap {n_fac + g.n_nodes:,} points {t_snap:.2f} s")

    m = g.csr()
    res: dict[str, float] = {}
    # the floor: SciPy's multi-source Dijkstra on the symmetric CSR (directed=True is the faster of
    # SciPy's two modes on a symmetric matrix, and gives the same distances)
    res["e"], e_out = best_of(lambda: dijkstra(m, directed=True, indices=fac_nodes, limit=LIMIT, min_only=True))
    res["c"], (c_dist, _c_who) = best_of(lambda: nearest_facility(g, fs, ds, limit_m=LIMIT))  # type: ignore[misc]

    def d_job():  # type: ignore[no-untyped-def]
        f, d, dist = facility_pairs(g, fs, ds, limit_m=LIMIT)
        return f, d, dist, per_threshold_counts(f, d, dist, g.n_nodes)

    res["d"], (_pf, _pd, _pdist, counts) = best_of(d_job, repeat=2)  # type: ignore[misc]
    e_dist = np.asarray(e_out)
    fin = np.isfinite(e_dist)
    chk = unique_pos
    assert (np.isfinite(c_dist[chk]) == fin[chk]).all(), "c and e disagree on what is reachable"
    diff = np.abs(c_dist[chk & fin] - e_dist[chk & fin]).max()
    print(f"  check c vs e: max |diff| = {diff:.2e} m over {(chk & fin).sum():,} nodes at unique positions")
    assert diff < 0.5
    assert ((counts[15.0] > 0)[chk] == fin[chk]).all(), "d and e disagree on coverage"

    nxg = g.to_networkx(node_key="index")
    res["b"], b_out = best_of(lambda: nx.multi_source_dijkstra_path_length(
        nxg, set(fac_nodes.tolist()), cutoff=LIMIT, weight="length"))
    assert len(b_out) == fin.sum()  # type: ignore[arg-type]  # same sources, same graph
    if skip_slow:
        res["a"] = float("nan")
    else:
        def ego():  # type: ignore[no-untyped-def]
            covered: set[int] = set()
            for node in fac_nodes:
                covered |= set(nx.ego_graph(nxg, int(node), radius=LIMIT, distance="length").nodes)
            return covered

        res["a"], a_out = best_of(ego, repeat=1)
        assert len(a_out) == fin.sum()  # type: ignore[arg-type]
    try:
        import pandana
        import pandas as pd

        def build():  # type: ignore[no-untyped-def]
            net = pandana.Network(pd.Series(g.x), pd.Series(g.y), pd.Series(g.u), pd.Series(g.v),
                                  pd.DataFrame({"length": g.length_m}), twoway=True)
            net.precompute(LIMIT)
            net.set_pois("fac", LIMIT, 1, pd.Series(g.x[fac_nodes]), pd.Series(g.y[fac_nodes]))
            return net

        res["f_build"], net = best_of(build, repeat=1)
        res["f"], f_out = best_of(lambda: net.nearest_pois(LIMIT, "fac", num_pois=1))  # type: ignore[attr-defined]
        pan = np.asarray(f_out[1])
        print(f"  check pandana vs e: {np.isfinite(pan[pan < LIMIT]).size:,} reached by pandana, {fin.sum():,} by e")
    except ImportError:
        res["f"] = res["f_build"] = float("nan")
        print("pandana not installed: (f) skipped")
    return res


GRID_SIDE = 1000
GRID_SPACING_M = 50.0
GRID_FACILITIES = 1000


def grid_graph() -> RoadGraph:
    n = GRID_SIDE
    idx = np.arange(n * n).reshape(n, n)
    x = (np.tile(np.arange(n), n) * GRID_SPACING_M).astype(float)
    y = (np.repeat(np.arange(n), n) * GRID_SPACING_M).astype(float)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return build_graph(x + 500_000.0, y + 4_400_000.0, np.arange(n * n), u, v, "EPSG:32650",
                       lengths=np.full(u.size, GRID_SPACING_M))


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> float:
    """Reset the peak-RSS mark (Linux clear_refs 5) and return the current RSS in MiB."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _peak() -> float:
    """Peak RSS in MiB since the last reset (VmHWM; ru_maxrss where /proc is missing)."""
    v = _status("VmHWM")
    return v if v == v else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def grid_prepare(folder: Path) -> float:
    """Build the grid and snap its points once; save both for the measuring processes."""
    from mzgis.analysis.snapping import Snapped  # noqa: F401 - documents what is saved

    g = grid_graph()
    rng = np.random.default_rng(1)
    fac = rng.choice(g.n_nodes, GRID_FACILITIES, replace=False)
    t0 = time.perf_counter()
    index = SegmentIndex(g, snap_to="any")  # engine benchmark: every node, islands included
    fs = index.snap(g.x[fac], g.y[fac], max_distance_m=1)
    ds = index.snap(g.x, g.y, max_distance_m=1)
    snap = time.perf_counter() - t0
    g.save(folder / "grid.npz")
    np.savez(folder / "snapped.npz", fe=fs.edge, ft=fs.t, fa=fs.access_m, de=ds.edge, dt=ds.t, da=ds.access_m)
    return snap


def grid_child(which: str, folder: Path) -> None:
    from mzgis.analysis.snapping import Snapped

    g = RoadGraph.load(folder / "grid.npz")
    with np.load(folder / "snapped.npz") as z:
        fs = Snapped(z["fe"], z["ft"], z["fa"])
        ds = Snapped(z["de"], z["dt"], z["da"])
    snap = float("nan")
    base = _reset_peak()
    t0 = time.perf_counter()
    if which == "c":
        dist, _ = nearest_facility(g, fs, ds, limit_m=LIMIT)
        covered = int(np.isfinite(dist).sum())
    else:
        f, d, dist = facility_pairs(g, fs, ds, limit_m=LIMIT)
        counts = per_threshold_counts(f, d, dist, g.n_nodes)
        covered = int((counts[15.0] > 0).sum())
    took = time.perf_counter() - t0
    peak = _peak()
    print(json.dumps({"which": which, "seconds": took, "snap_seconds": snap, "peak_rss_mib": peak,
                      "rss_before_mib": base, "covered": covered, "nodes": g.n_nodes}))


def grid_run() -> tuple[float, dict[str, dict[str, float]]]:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mzgis-grid-"))
    snap = grid_prepare(folder)
    out = {}
    for which in ("c", "d"):
        p = subprocess.run([sys.executable, __file__, "--grid-child", which, "--grid-dir", str(folder)],
                           capture_output=True, text=True, check=True)
        out[which] = json.loads(p.stdout.strip().splitlines()[-1])
    return snap, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid-child", choices=["c", "d"])
    ap.add_argument("--grid-dir", type=Path)
    ap.add_argument("--facilities", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="skip (a), the slow ego_graph baseline")
    ap.add_argument("--no-grid", action="store_true")
    a = ap.parse_args()
    if a.grid_child:
        grid_child(a.grid_child, a.grid_dir)
        return 0
    r = real_workload(a.facilities, a.quick)
    print()
    print(f"(a) osmnx ego_graph per facility        {r['a']:9.3f} s")
    print(f"(b) networkx multi-source Dijkstra      {r['b']:9.3f} s")
    print(f"(c) mzgis nearest-facility reach        {r['c']:9.3f} s")
    print(f"(d) mzgis per-facility reach, 5/10/15   {r['d']:9.3f} s")
    print(f"(e) scipy dijkstra min_only (floor)     {r['e']:9.3f} s")
    print(f"(f) pandana build + precompute          {r['f_build']:9.3f} s")
    print(f"(f) pandana nearest_pois query          {r['f']:9.3f} s")
    print()
    print(f"a/c = {r['a'] / r['c']:7.1f}   (target >= 100)")
    print(f"b/c = {r['b'] / r['c']:7.1f}   (target >= 10)")
    print(f"c/e = {r['c'] / r['e']:7.2f}   (target <= 2)")
    print(f"c/f = {r['c'] / r['f']:7.2f}   (target < 1, f = pandana query only)")
    print(f"a/e = {r['a'] / r['e']:7.1f}, b/e = {r['b'] / r['e']:.1f}, pandana query/e = {r['f'] / r['e']:.2f}, "
          f"pandana build+precompute+query/e = {(r['f'] + r['f_build']) / r['e']:.1f}")
    if not a.no_grid:
        print()
        snap, g = grid_run()
        print(f"grid: {GRID_SIDE}x{GRID_SIDE} = {GRID_SIDE**2:,} nodes, {GRID_SPACING_M:.0f} m blocks, "
              f"{GRID_FACILITIES} facilities; snapping 1,001,000 points {snap:.1f} s (excluded)")
        for which, label in (("c", "nearest-facility"), ("d", "per-facility, 5/10/15")):
            x = g[which]
            print(f"  ({which}) {label}: {x['seconds']:.2f} s, peak RSS {x['peak_rss_mib']:.0f} MiB "
                  f"(process at the start of the step, graph and snapped points loaded: {x['rss_before_mib']:.0f} MiB), "
                  f"covered {x['covered']:,} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
