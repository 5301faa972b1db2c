"""The coverage per unit as polygons to shade in QGIS: ``out/coverage_<kind>.gpkg``, one layer per
level (``community``, ``subdistrict``, ``district``), one row per unit with its polygon and the
numbers of the coverage CSV — ``households``, ``population``, ``elderly`` and, for each
threshold ``T``, ``households_covered_Tmin``, ``population_covered_Tmin``,
``elderly_covered_Tmin`` and ``share_covered_Tmin`` (0–1) — plus what was counted
(``facility_kind``, ``facility_status``). The jurisdiction's row and unassigned demand have no
polygon and stay in the CSV only. Written to a temporary file and moved into place, so QGIS never
opens half a file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd

__all__ = ["coverage_layer_path", "write_coverage_layer"]

_TOTALS = ("households", "population", "elderly")
_COVERED = ("households_covered", "population_covered", "elderly_covered", "share_covered")


def coverage_layer_path(out_dir: Path, stem: str) -> Path:
    """Where the coverage polygons go (the one place that names the file)."""
    return out_dir / f"coverage_{stem}.gpkg"


def _minutes_tag(m: float) -> str:
    return f"{m:g}".replace(".", "_") + "min"


def coverage_polygons(table: pd.DataFrame, units: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Per level with polygons, the units (``feature_id`` = the table's ``unit_code``) with the
    table's numbers, one column per threshold."""
    out: dict[str, gpd.GeoDataFrame] = {}
    for level, u in units.items():
        rows = table[table["level"] == level]
        if u is None or not len(u) or not len(rows):
            continue
        rows = rows.assign(unit_code=rows["unit_code"].astype(str))
        first = rows.drop_duplicates("unit_code").set_index("unit_code")
        keep = [c for c in ("unit_name", "level", *_TOTALS, "facility_kind", "facility_status") if c in first]
        wide = first[keep].copy()
        for m in sorted(rows["minutes"].astype(float).unique()):
            g = rows[rows["minutes"].astype(float) == m].drop_duplicates("unit_code").set_index("unit_code")
            for col in _COVERED:
                if col in g:
                    wide[f"{col}_{_minutes_tag(float(m))}"] = g[col].reindex(wide.index)
        poly = u[["feature_id", "geometry"]].assign(unit_code=u["feature_id"].astype(str))
        poly = poly[poly["unit_code"].isin(wide.index)].drop(columns="feature_id")
        joined = poly.join(wide, on="unit_code")
        cols = ["unit_code", *wide.columns, "geometry"]
        out[level] = gpd.GeoDataFrame(joined[cols], geometry="geometry", crs=u.crs).to_crs(4326)
    return out


def _write_styles(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Each level's QGIS default style: shaded by the share covered within the largest threshold
    (as the web map shades it)."""
    import sqlite3

    from mzgis.layers.store.styles import gpkg_put_style
    from mzgis.maps.qgis_style import coverage_qml

    con = sqlite3.connect(path)
    try:
        with con:
            for level, g in layers.items():
                shares = [c for c in g.columns if c.startswith("share_covered_")]
                if not shares:
                    continue
                # the columns follow the thresholds in ascending order
                gpkg_put_style(con, level, coverage_qml(shares[-1]), description="mzgis: 覆盖率 coverage share")
    finally:
        con.close()


def write_coverage_layer(table: pd.DataFrame, units: dict[str, gpd.GeoDataFrame], out_dir: Path,
                         stem: str) -> Path | None:
    """Write :func:`coverage_polygons` to :func:`coverage_layer_path`; None when no level has polygons."""
    import pyogrio

    layers = coverage_polygons(table, units)
    if not layers:
        return None
    path = coverage_layer_path(out_dir, stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.gpkg")
    try:
        for level, g in layers.items():
            pyogrio.write_dataframe(g, tmp, layer=level, driver="GPKG", dataset_options={"VERSION": "1.2"})
        _write_styles(tmp, layers)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
