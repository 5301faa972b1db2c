"""Benchmark: importing 100,000 rows (CSV and XLSX with GCJ-02 conversion, GeoPackage) and the
GCJ-02 inverse on 1,000,000 points.

Targets (issue 2): each import under 10 s; the inverse under 1 s. Run: ``make bench`` or
``.venv/bin/python benchmarks/bench_import.py``. Inputs are generated (seeded) in a temp folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.gis.pipelines import import_file
from mzgis.gis.workspace import init_workspace
from mzgis.layers import coords as cc

N = 100_000


def rows(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    lon = rng.uniform(115.5, 117.4, n)
    lat = rng.uniform(39.5, 41.0, n)
    glon, glat = cc.wgs84_to_gcj02(lon, lat)
    return pd.DataFrame({
        "编号": [f"R{i:06d}" for i in range(n)],
        "名称": [f"小区{i}" for i in range(n)],
        "经度": np.round(glon, 7), "纬度": np.round(glat, 7),
        "户数": rng.integers(20, 800, n), "人口": rng.integers(50, 2000, n),
        "地址": ["北京市朝阳区望京街道某路1号"] * n,
    })


def timed(label: str, func) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    func()
    dt = time.perf_counter() - t0
    print(f"{label:<48} {dt:7.2f} s")
    return dt


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="mzgis-bench-"))
    df = rows(N)
    csv = tmp / "demand.csv"
    df.to_csv(csv, index=False, encoding="gbk")
    xlsx = tmp / "demand.xlsx"
    df.to_excel(xlsx, index=False, engine="xlsxwriter")
    lon, lat = cc.gcj02_to_wgs84(df["经度"].to_numpy(), df["纬度"].to_numpy())
    gpkg = tmp / "demand.gpkg"
    gpd.GeoDataFrame(df.drop(columns=["经度", "纬度"]), geometry=gpd.points_from_xy(lon, lat),
                     crs="EPSG:4326").to_file(gpkg, engine="pyogrio")

    results = {}
    for name, src, coords in (("CSV (GBK) + GCJ-02", csv, "gcj02"), ("XLSX + GCJ-02", xlsx, "gcj02"),
                              ("GeoPackage", gpkg, None)):
        ws = init_workspace(tmp / f"ws-{src.suffix[1:]}", name="bench")
        results[name] = timed(f"import {N:,} points, {name}",
                              lambda ws=ws, src=src, coords=coords: import_file(
                                  ws, src, layer="demand", layer_type="demand", coords=coords))
        assert len(ws.store.read("demand")) == N
    big = np.random.default_rng(1)
    x = big.uniform(73.5, 135, 1_000_000)
    y = big.uniform(18.2, 53.5, 1_000_000)
    cc.gcj02_to_wgs84(x[:1000], y[:1000])  # warm up
    results["gcj"] = min(timed("GCJ-02 → WGS-84 inverse, 1,000,000 points", lambda: cc.gcj02_to_wgs84(x, y))
                         for _ in range(3))
    ok = all(v < 10 for k, v in results.items() if k != "gcj") and results["gcj"] < 1.0
    print("targets (imports < 10 s, inverse < 1 s):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
