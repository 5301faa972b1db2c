"""Benchmark: siting on the Heidelberg network.

(1) greedy siting of 20 new facilities among 5,000 candidates with every network node as demand
    (target < 30 s, coverage matrix included);
(2) the exact model (PuLP/CBC) on a 300-candidate × 20,000-demand instance (target < 120 s), with
    the greedy's optimality gap on that instance.
Existing facilities: 100 at random nodes; threshold 1,000 m (15 min at 4 km/h).
Run: ``.venv/bin/python benchmarks/bench_siting.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mzgis.analysis.reach import facility_pairs, nearest_facility  # noqa: E402
from mzgis.analysis.siting import GREEDY_BOUND, CoverageProblem, solve_exact, solve_greedy  # noqa: E402
from mzgis.analysis.snapping import SegmentIndex  # noqa: E402
from mzgis.layers.crs import utm_crs  # noqa: E402
from mzgis.layers.network import load_or_build, osm_bounds  # noqa: E402

SRC = ROOT.parent / "shared" / "data" / "osm" / "heidelberg.osm.pbf"
LIMIT = 1000.0


def problem(g, index, cand_nodes, dem_nodes, existing, weight):  # type: ignore[no-untyped-def]
    cs = index.snap(g.x[cand_nodes], g.y[cand_nodes], max_distance_m=1)
    ds = index.snap(g.x[dem_nodes], g.y[dem_nodes], max_distance_m=1)
    es = index.snap(g.x[existing], g.y[existing], max_distance_m=1)
    dist, _ = nearest_facility(g, es, ds, limit_m=LIMIT)
    base = np.isfinite(dist).astype(float)
    f, d, _ = facility_pairs(g, cs, ds, limit_m=LIMIT)
    m = sp.csr_matrix((np.ones(f.size), (f, d)), shape=(cand_nodes.size, dem_nodes.size))
    return CoverageProblem(m, weight, base)


def main() -> int:
    b = osm_bounds(SRC)
    g, _ = load_or_build(SRC, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), Path(tempfile.gettempdir()) / "mzgis-bench-cache")
    index = SegmentIndex(g, snap_to="any")  # engine benchmark: every node, islands included
    rng = np.random.default_rng(12)
    existing = rng.choice(g.n_nodes, 100, replace=False)
    weight_all = rng.integers(1, 40, g.n_nodes).astype(float)

    t0 = time.perf_counter()
    cand = rng.choice(g.n_nodes, 5000, replace=False)
    p1 = problem(g, index, cand, np.arange(g.n_nodes), existing, weight_all)
    t_matrix = time.perf_counter() - t0
    r1 = solve_greedy(p1, add=20)
    t1 = time.perf_counter() - t0
    print(f"(1) greedy: 20 of 5,000 candidates, {g.n_nodes:,} demand points ({p1.value.nnz:,} pairs): "
          f"{t1:.1f} s total (matrix {t_matrix:.1f} s, greedy {r1.seconds:.2f} s); coverage "
          f"{100 * (p1.total - (p1.weight * (1 - p1.base)).sum()) / p1.total:.1f}% → {100 * r1.covered / p1.total:.1f}%  "
          f"(target < 30 s)")

    dem = rng.choice(g.n_nodes, 20_000, replace=False)
    cand2 = rng.choice(g.n_nodes, 300, replace=False)
    p2 = problem(g, index, cand2, dem, existing, weight_all[dem])
    t0 = time.perf_counter()
    ex = solve_exact(p2, add=20, time_limit_s=300)
    t_ex = time.perf_counter() - t0
    gr = solve_greedy(p2, add=20)
    exact_val = ex.exact_value or ex.covered
    gap = (exact_val - gr.covered) / exact_val
    print(f"(2) exact (PuLP/CBC): 20 of 300 candidates × 20,000 demand ({p2.value.nnz:,} pairs): {t_ex:.1f} s "
          f"(target < 120 s); optimum {exact_val:,.0f} households covered, greedy {gr.covered:,.0f} "
          f"in {gr.seconds:.3f} s: gap {100 * gap:.3f}% (bound: greedy ≥ {100 * GREEDY_BOUND:.1f}% of optimum)")
    return 0 if t1 < 30 and t_ex < 120 else 1


if __name__ == "__main__":
    sys.exit(main())
