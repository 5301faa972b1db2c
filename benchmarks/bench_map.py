"""Benchmark: a large district's map — 100,000 demand points and 2,000 facilities on the
Heidelberg network — must stay under 25 MB and be interactive in Chromium within 5 s.

Prints the build time, the file size and the load time (navigation to the layer control drawn, in
Debian's headless Chromium with the network cut off). Run: ``.venv/bin/python benchmarks/bench_map.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mzgis.analysis.coverage import assign_units, coverage_table  # noqa: E402
from mzgis.analysis.reach import network_reach  # noqa: E402
from mzgis.analysis.service_areas import service_areas  # noqa: E402
from mzgis.analysis.snapping import SegmentIndex  # noqa: E402
from mzgis.gis.pipelines import roads_layer  # noqa: E402
from mzgis.layers.crs import utm_crs  # noqa: E402
from mzgis.layers.network import load_or_build, osm_bounds  # noqa: E402
from mzgis.maps.webmap import MapData, build_map, save_map  # noqa: E402
from tests.maps.browser import visit  # noqa: E402

SRC = ROOT.parent / "shared" / "data" / "osm" / "heidelberg.osm.pbf"


def main() -> int:
    b = osm_bounds(SRC)
    g, _ = load_or_build(SRC, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), Path(tempfile.gettempdir()) / "mzgis-bench-cache")
    rng = np.random.default_rng(3)
    pick = rng.choice(g.n_nodes, 100_000)
    hh = rng.integers(10, 300, 100_000).astype(float)
    dem = gpd.GeoDataFrame({"feature_id": [f"R{i}" for i in range(100_000)], "households": hh, "population": hh * 2.6,
                            "elderly": hh * 0.5}, geometry=gpd.points_from_xy(g.x[pick] + rng.normal(0, 30, 100_000),
                                                                                 g.y[pick] + rng.normal(0, 30, 100_000)),
                           crs=g.crs)
    fn = rng.choice(g.n_nodes, 2000, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(2000)], "name": [f"驿站{i}" for i in range(2000)],
                            "kind": "elderly_care_station", "status": "建成运营"},
                           geometry=gpd.points_from_xy(g.x[fn], g.y[fn]), crs=g.crs)
    x0, y0, x1, y1 = g.x.min(), g.y.min(), g.x.max(), g.y.max()
    xs, ys = np.linspace(x0, x1, 21), np.linspace(y0, y1, 21)
    com = gpd.GeoDataFrame({"feature_id": [f"C{i}-{j}" for i in range(20) for j in range(20)],
                            "name": [f"社区{i}-{j}" for i in range(20) for j in range(20)]},
                           geometry=[shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(20) for j in range(20)],
                           crs=g.crs)
    t0 = time.perf_counter()
    idx = SegmentIndex(g)
    res = network_reach(g, fac, dem, pairs=False, index=idx)
    table = coverage_table(dem, res.demand["minutes"], [5, 10, 15], unit_of=assign_units(dem, {"community": com}),
                           unit_names={"community": dict(zip(com.feature_id, com.name, strict=True))})
    gaps = dem[~(res.demand["minutes"] <= 15)]
    t_an = time.perf_counter() - t0
    t0 = time.perf_counter()
    sa = service_areas(g, fac, dissolve_by="kind", index=idx)
    t_sa = time.perf_counter() - t0
    t0 = time.perf_counter()
    data = MapData(title="大型辖区测试 large-district test", facilities=fac, units={"community": com}, coverage=table,
                   coverage_kind="elderly_care_station", service_areas=sa, gaps=gaps, roads=roads_layer(g))
    out = Path(tempfile.mkdtemp()) / "large.html"
    path, size = save_map(build_map(data), out)
    t_map = time.perf_counter() - t0
    v = visit(path)
    print(f"network {g.n_nodes:,} nodes; 100,000 demand points ({len(gaps):,} uncovered), 2,000 facilities, 400 communities")
    print(f"coverage {t_an:.1f} s; service areas (dissolved) {t_sa:.1f} s; map build + write {t_map:.1f} s")
    print(f"map file {size / 1e6:.1f} MB (target < 25 MB); interactive in Chromium after {v.load_seconds:.2f} s "
          f"(target < 5 s); console errors {len(v.console_errors)}, network requests {len(v.network_requests)}")
    return 0 if size < 25e6 and v.load_seconds < 5 and not v.console_errors and not v.network_requests else 1


if __name__ == "__main__":
    sys.exit(main())
