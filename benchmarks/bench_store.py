"""Benchmark: the store's cost follows the change, not the layer.

For a boundary-marker layer of 10,000, 100,000 and 1,000,000 features, on the GeoPackage and on
PostGIS (a throwaway server started with scripts/postgis.sh), prints the time and the extra peak
memory (resident set, reset before each step) of

* one ``edit`` of one feature (``edit_feature``, with ``expect_version``), and
* importing 10 rows into the layer (5 changed, 5 new; ``write_layer``).

Targets (issue 11): at 1,000,000 features one edit under 0.5 s and 300 MB, a 10-row import
under 2 s. Run: ``.venv/bin/python benchmarks/bench_store.py [--sizes 10000,100000,1000000]
[--backends gpkg,postgis]``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from mzgis.layers.store import create_store

ROOT = Path(__file__).resolve().parents[1]


def markers(n: int, start: int = 0, value: float = 0.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(start)
    idx = np.arange(start, start + n)
    return gpd.GeoDataFrame(
        {"feature_id": [f"JZ{i:07d}" for i in idx], "name": [f"界桩{i}" for i in idx],
         "line_id": [f"L{i // 50:05d}" for i in idx], "condition": ["完好"] * n,
         "last_inspection_date": ["2024-05-31"] * n, "value": np.full(n, value)},
        geometry=shapely.points(rng.uniform(115.5, 117.4, n), rng.uniform(39.5, 41.0, n)),
        crs="EPSG:4326")


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def measure(func: Any) -> tuple[float, float]:
    """Seconds and extra peak resident memory (MB) of one call."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    base = _status("VmRSS")
    t0 = time.perf_counter()
    func()
    dt = time.perf_counter() - t0
    return dt, max(0, _status("VmHWM") - base) / 1e6


def run(location: str, n: int) -> dict[str, float]:
    st = create_store(location, overwrite=True)
    t0 = time.perf_counter()
    chunk = 1_000_000
    for s in range(0, n, chunk):
        st.write_layer("markers", markers(min(chunk, n - s), start=s), layer_type="boundary_markers")
    build = time.perf_counter() - t0
    fid = f"JZ{n // 2:07d}"
    edit_t, edit_m = measure(lambda: st.edit_feature("markers", fid, changes={"condition": "损坏"},
                                                     expect_version=1, user="bench"))
    ten = markers(10, start=n - 5, value=1.0)
    imp_t, imp_m = measure(lambda: st.write_layer("markers", ten, layer_type="boundary_markers"))
    return {"build_s": build, "edit_s": edit_t, "edit_mb": edit_m, "import10_s": imp_t, "import10_mb": imp_m}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--backends", default="gpkg,postgis")
    a = ap.parse_args(argv)
    sizes = [int(x) for x in a.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="mzgis-bench-store-"))
    pg_dir = None
    url = None
    ok = True
    try:
        if "postgis" in a.backends:
            pg_dir = tempfile.mkdtemp(prefix="mzgis-bench-pg-")
            url = subprocess.run(["bash", str(ROOT / "scripts" / "postgis.sh"), "start", pg_dir], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
        print(f"{'back end':<9} {'features':>9} {'build':>8} {'edit':>8} {'edit mem':>9} {'10-row import':>14} "
              f"{'import mem':>11}")
        for backend in a.backends.split(","):
            for n in sizes:
                loc = str(tmp / f"s{n}.gpkg") if backend == "gpkg" else str(url)
                r = run(loc, n)
                print(f"{backend:<9} {n:>9,} {r['build_s']:>7.1f}s {r['edit_s']:>7.3f}s {r['edit_mb']:>6.1f} MB "
                      f"{r['import10_s']:>13.3f}s {r['import10_mb']:>8.1f} MB", flush=True)
                if n >= 1_000_000:
                    ok &= r["edit_s"] < 0.5 and r["edit_mb"] < 300 and r["import10_s"] < 2
    finally:
        if pg_dir:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgis.sh"), "stop", pg_dir], check=False,
                           capture_output=True)
            shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
