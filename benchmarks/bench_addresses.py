"""Benchmark: ``inspect addresses`` on 50,000 addresses against the 331 real Beijing subdistricts.

Addresses are built from the real unit names (``北京市{区}{街道}{路}{n}号院{楼}号楼{单元}单元{室}室``),
each point inside its named unit or, for one in ten, inside another. Prints the time of
:func:`mzgis.analysis.addresses.check_addresses` and the findings.
Run: ``.venv/bin/python benchmarks/bench_addresses.py [N]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mzgis.analysis.addresses import check_addresses  # noqa: E402

SHP = ROOT.parent / "shared" / "data" / "boundaries" / "beijing_subdistricts" / "beijing.shp"
ROADS = ["学院南路", "中关村大街", "阜通东大街", "朝阳北路", "建国门外大街", "广渠路", "京顺路", "北苑路"]


def main(n: int = 50_000) -> None:
    g = gpd.read_file(SHP, engine="pyogrio").drop(columns=["geom"]).rename(columns={"乡": "name", "县": "district"})
    g["feature_id"] = [f"S{i:03d}" for i in range(len(g))]
    rng = np.random.default_rng(0)
    unit = rng.integers(0, len(g), n)
    other = (unit + 1 + rng.integers(0, len(g) - 1, n)) % len(g)
    moved = rng.random(n) < 0.1
    inner = g.geometry.representative_point()
    pts = np.where(moved, inner.iloc[other].to_numpy(), inner.iloc[unit].to_numpy())
    texts = [f"北京市{g['district'].iat[u]}{g['name'].iat[u]}{ROADS[i % len(ROADS)]}{i % 300 + 1}号院"
             f"{i % 40 + 1}号楼{i % 6 + 1}单元{i}室" for i, u in enumerate(unit)]
    addr = gpd.GeoDataFrame({"feature_id": [f"A{i}" for i in range(n)], "address": texts}, geometry=list(pts),
                            crs=g.crs)
    t0 = time.perf_counter()
    found = check_addresses(addr, {"subdistrict": g})
    dt = time.perf_counter() - t0
    print(f"inspect addresses: {n:,} addresses × {len(g)} subdistricts in {dt:.2f} s "
          f"({1e6 * dt / n:.0f} µs per address)")
    print(found["finding"].value_counts().to_string())
    print(f"moved into another unit by construction: {int(moved.sum()):,}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
