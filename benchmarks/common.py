"""What the city-scale benchmarks share: the cached Heidelberg walking graph, seeded points near its
streets, a grid of communities over it, and the process's memory from /proc."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mzgis.layers.crs import utm_crs  # noqa: E402
from mzgis.layers.network import RoadGraph, load_or_build, osm_bounds  # noqa: E402

SRC = ROOT.parent / "shared" / "data" / "osm" / "heidelberg.osm.pbf"
SPEED = 4000 / 60


def status_mib(key: str) -> float:
    """``VmRSS``, ``VmHWM`` … of this process in MiB (NaN where /proc is missing)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return float("nan")


def cached_heidelberg() -> tuple[RoadGraph, float]:
    """The Heidelberg graph as a workspace loads it: built into the cache first (not timed), then
    loaded from it; returns the graph and the load time in seconds."""
    cache = Path(tempfile.gettempdir()) / "mzgis-bench-cache"
    b = osm_bounds(SRC)
    crs = utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    load_or_build(SRC, crs, cache)  # make sure the cache exists (not timed)
    t0 = time.perf_counter()
    g, cached = load_or_build(SRC, crs, cache)
    t_load = time.perf_counter() - t0
    if not cached:
        msg = "the graph cache was not used"
        raise RuntimeError(msg)
    return g, t_load


def near_streets(g: RoadGraph, rng: np.random.Generator, n: int, sd_m: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points scattered (normal, ``sd_m``) around random nodes: homes near the streets."""
    pick = rng.choice(g.n_nodes, n)
    return g.x[pick] + rng.normal(0, sd_m, n), g.y[pick] + rng.normal(0, sd_m, n)


def grid_cells(g: RoadGraph, n: int = 20) -> tuple[list[tuple[int, int, shapely.Geometry]], np.ndarray, np.ndarray]:
    """An ``n`` × ``n`` grid of boxes over the graph's extent: ``(i, j, box)`` and the grid lines."""
    xs, ys = np.linspace(g.x.min(), g.x.max(), n + 1), np.linspace(g.y.min(), g.y.max(), n + 1)
    return [(i, j, shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])) for i in range(n) for j in range(n)], xs, ys
