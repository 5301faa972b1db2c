"""Benchmark: city-scale maps stay light.

The Heidelberg extract (../shared/data/osm/heidelberg.osm.pbf, ≈168k walkable nodes) is tiled
1×1, 2×2 and 4×4 side by side (≈168k, 671k and 2.7M nodes — all of Beijing is about the last),
with its OSM ways (classes and names, as ``mzgis map`` reads them) tiled the same way. On each:
100,000 demand points, 2,000 facilities, 20×20 communities per tile. Measured: the time to build
everything the map command computes for the page (coverage, service areas dissolved per kind,
road basemap and labels, the page itself), the page size, and the time to interactive in Debian's
headless Chromium with the network cut off (navigation until the layer control is drawn).

Targets: page < 25 MB, interactive < 5 s, build < 60 s. Run:
``.venv/bin/python benchmarks/bench_map.py [--tiles 1,2,4]`` (the 4×4 case takes minutes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mzgis.analysis.coverage import assign_units, coverage_table  # noqa: E402
from mzgis.analysis.reach import network_reach  # noqa: E402
from mzgis.analysis.snapping import SegmentIndex  # noqa: E402
from mzgis.layers.crs import utm_crs  # noqa: E402
from mzgis.layers.network import RoadGraph, build_graph, load_or_build, osm_bounds  # noqa: E402
from mzgis.maps.areas import display_service_areas  # noqa: E402
from mzgis.maps.labels import osm_roads, road_label_points  # noqa: E402
from mzgis.maps.webmap import MapData, build_map, save_map  # noqa: E402
from tests.maps.browser import visit  # noqa: E402

SRC = ROOT.parent / "shared" / "data" / "osm" / "heidelberg.osm.pbf"
N_DEMAND = 100_000
N_FAC = 2_000


def tiled(g: RoadGraph, roads: gpd.GeoDataFrame, k: int) -> tuple[RoadGraph, gpd.GeoDataFrame]:
    """``k×k`` copies of the graph and its roads side by side (200 m apart), as one network."""
    if k == 1:
        return g, roads
    w = float(g.x.max() - g.x.min()) + 200.0
    h = float(g.y.max() - g.y.min()) + 200.0
    offs = [(i * w, j * h) for i in range(k) for j in range(k)]
    n = g.n_nodes
    x = np.concatenate([g.x + dx for dx, _ in offs])
    y = np.concatenate([g.y + dy for _, dy in offs])
    ids = np.arange(x.size, dtype=np.int64)
    u = [g.u.astype(np.int64) + t * n for t in range(len(offs))]
    v = [g.v.astype(np.int64) + t * n for t in range(len(offs))]
    lengths = [g.length_m] * len(offs)
    # join neighbouring tiles into one network (else every tile but one is an island, and
    # facilities and demand there are not snapped): 25 links per side between the tiles' main
    # components, each from one of the 25 nodes nearest the side to its counterpart
    _, comp = sp.csgraph.connected_components(g.csr(), directed=False)
    main = np.flatnonzero(comp == np.bincount(comp).argmax())
    east, west = main[np.argsort(-g.x[main])[:25]], main[np.argsort(g.x[main])[:25]]
    north, south = main[np.argsort(-g.y[main])[:25]], main[np.argsort(g.y[main])[:25]]
    east, west = east[np.argsort(g.y[east])], west[np.argsort(g.y[west])]
    north, south = north[np.argsort(g.x[north])], south[np.argsort(g.x[south])]
    for i in range(k):
        for j in range(k):
            t = i * k + j
            for a_nodes, b_nodes, nb in ((east, west, (i + 1) * k + j if i + 1 < k else None),
                                         (north, south, i * k + j + 1 if j + 1 < k else None)):
                if nb is None:
                    continue
                a, b = a_nodes + t * n, b_nodes + nb * n
                u.append(a)
                v.append(b)
                lengths.append(np.hypot(x[a] - x[b], y[a] - y[b]))
    big = build_graph(x, y, ids, np.concatenate(u), np.concatenate(v), g.crs, lengths=np.concatenate(lengths),
                      source="tiled")
    geoms = np.asarray(roads.geometry.values)
    parts = [roads.assign(geometry=shapely.transform(geoms, lambda c, dx=dx, dy=dy: c + np.array([dx, dy]))) for dx, dy in offs]
    return big, gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=roads.crs)


def case(g: RoadGraph, roads_m: gpd.GeoDataFrame, k: int, out_dir: Path) -> dict[str, float]:
    rng = np.random.default_rng(3)
    pick = rng.choice(g.n_nodes, N_DEMAND)
    hh = rng.integers(10, 300, N_DEMAND).astype(float)
    dem = gpd.GeoDataFrame({"feature_id": [f"R{i}" for i in range(N_DEMAND)], "households": hh,
                            "population": hh * 2.6, "elderly": hh * 0.5},
                           geometry=gpd.points_from_xy(g.x[pick] + rng.normal(0, 30, N_DEMAND),
                                                       g.y[pick] + rng.normal(0, 30, N_DEMAND)), crs=g.crs)
    fn = rng.choice(g.n_nodes, N_FAC, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(N_FAC)], "name": [f"驿站{i}" for i in range(N_FAC)],
                            "kind": "elderly_care_station", "status": "建成运营"},
                           geometry=gpd.points_from_xy(g.x[fn], g.y[fn]), crs=g.crs)
    nc = 20 * k
    x0, y0, x1, y1 = g.x.min(), g.y.min(), g.x.max(), g.y.max()
    xs, ys = np.linspace(x0, x1, nc + 1), np.linspace(y0, y1, nc + 1)
    com = gpd.GeoDataFrame({"feature_id": [f"C{i}-{j}" for i in range(nc) for j in range(nc)],
                            "name": [f"社区{i}-{j}" for i in range(nc) for j in range(nc)]},
                           geometry=[shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(nc) for j in range(nc)],
                           crs=g.crs)
    t = {}
    t0 = time.perf_counter()
    idx = SegmentIndex(g)
    t["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = network_reach(g, fac, dem, pairs=False, index=idx)  # demand snapped once, reused below
    table = coverage_table(dem, res.demand["minutes"], [5, 10, 15], unit_of=assign_units(dem, {"community": com}),
                           unit_names={"community": dict(zip(com.feature_id, com.name, strict=True))})
    gaps = dem[~(res.demand["minutes"] <= 15)]
    t["coverage"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sa = display_service_areas(g, fac, dissolve_by="kind", index=idx)
    t["service_areas"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    roads = roads_m.to_crs("EPSG:4326")
    labels = road_label_points(roads)
    t["roads_labels"] = time.perf_counter() - t0  # the first map only: mzgis map caches both
    t0 = time.perf_counter()
    data = MapData(title="城市规模测试 city-scale test", facilities=fac, units={"community": com}, coverage=table,
                   coverage_kind="elderly_care_station", service_areas=sa, gaps=gaps, roads=roads, focus=dem,
                   labels=labels)
    path, size = save_map(build_map(data), out_dir / f"city_{k}x{k}.html")
    t["page"] = time.perf_counter() - t0
    v = visit(path)
    t["build"] = sum(t.values())
    t["size_mb"] = size / 1e6
    t["interactive_s"] = v.load_seconds
    t["errors"] = len(v.console_errors) + len(v.network_requests)
    t["unsnapped_fac"] = len(res.unsnapped_facilities)
    t["unsnapped_dem"] = int((~res.demand["snapped"]).sum())
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", default="1,2,4", help="tile counts per side, e.g. 1,2,4")
    a = ap.parse_args()
    b = osm_bounds(SRC)
    crs = utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    g0, _ = load_or_build(SRC, crs, Path(tempfile.gettempdir()) / "mzgis-bench-cache")
    t0 = time.perf_counter()
    roads0 = osm_roads(SRC).to_crs(crs)
    t_osm = time.perf_counter() - t0
    print(f"reading the OSM ways (classes, names) of one tile: {t_osm:.1f} s ({len(roads0):,} ways)")
    out_dir = Path(tempfile.mkdtemp())
    ok = True
    print("| nodes | page MB (< 25) | interactive s (< 5) | build s (< 60) | coverage | service areas | roads+labels "
          "| page | not snapped: facilities / demand | build s, roads cached |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in (int(s) for s in a.tiles.split(",")):
        g, roads_m = tiled(g0, roads0, k)
        t = case(g, roads_m, k, out_dir)
        t["build"] += t_osm * k * k  # what reading a k×k-sized extract would cost (first map only)
        print(f"| {g.n_nodes:,} | {t['size_mb']:.1f} | {t['interactive_s']:.2f} | {t['build']:.1f} | {t['coverage']:.1f} | "
              f"{t['service_areas']:.1f} | {t['roads_labels'] + t_osm * k * k:.1f} | {t['page']:.1f} | "
              f"{t['unsnapped_fac']} / {t['unsnapped_dem']:,} | {t['build'] - t['roads_labels'] - t_osm * k * k:.1f} |",
              flush=True)
        ok &= t["size_mb"] < 25 and t["interactive_s"] < 5 and t["build"] < 60 and t["errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
