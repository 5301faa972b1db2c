"""Writing layers out: GeoPackage, GeoJSON, Shapefile (GBK), CSV (lon/lat or WKT) and XLSX.

Coordinates are written in the system the reader needs (``coords``): WGS-84 by default, GCJ-02 for
pasting into Amap/Tencent (≈ 500 m off in WGS-84), BD-09 for Baidu, CGCS2000 or any EPSG code.
GCJ-02 and BD-09 are not coordinate reference systems a GIS file can declare, so they are written
only to CSV, XLSX and GeoJSON (which declares no CRS), with a ``coord_system`` column in tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from mzgis.errors import LayerError
from mzgis.layers.crs import parse_source_coords, to_output_coords
from mzgis.layers.safe_text import write_csv, write_xlsx

__all__ = ["EXPORT_FORMATS", "export_frame"]

EXPORT_FORMATS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile",
                  ".csv": "CSV", ".xlsx": "XLSX"}

#: Shapefile text encoding: what Chinese desktop GIS and bureau tools expect (written to the .cpg).
SHAPEFILE_ENCODING = "GBK"


def _in_coords(gdf: gpd.GeoDataFrame, coords: str) -> tuple[gpd.GeoDataFrame, str]:
    """The layer in the output coordinates (GCJ-02/BD-09 by transforming every vertex)."""
    name, crs = parse_source_coords(coords)
    g = gdf.to_crs("EPSG:4326")
    if name in ("gcj02", "bd09"):
        def shift(xy: np.ndarray) -> np.ndarray:
            x, y, _ = to_output_coords(xy[:, 0], xy[:, 1], name)
            return np.column_stack([x, y])

        out = g.copy()
        out[out.geometry.name] = shapely.transform(np.asarray(g.geometry.values), shift)
        return gpd.GeoDataFrame(out, geometry=g.geometry.name, crs=None), "GCJ-02" if name == "gcj02" else "BD-09"
    if name == "wgs84" or crs is None:
        return g, "WGS-84"
    return g.to_crs(crs), "CGCS2000" if name == "cgcs2000" else crs.to_string()


def _tabular(gdf: gpd.GeoDataFrame, label: str) -> pd.DataFrame:
    """Attributes plus lon/lat (x/y in projected systems) for point layers, WKT for others, and the
    coordinate system they are in."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geom = gdf.geometry
    projected = gdf.crs is not None and gdf.crs.is_projected
    digits = 3 if projected else 7
    if len(gdf) and geom.geom_type.isin(["Point"]).all():
        df["x" if projected else "lon"] = geom.x.round(digits)
        df["y" if projected else "lat"] = geom.y.round(digits)
    else:
        df["wkt"] = shapely.to_wkt(geom.values, rounding_precision=digits)
    df["coord_system"] = label
    return df


def _shapefile_names(columns: list[str]) -> dict[str, str]:
    """Field names that fit the Shapefile's 10 bytes in GBK, cut on character boundaries, unique."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for c in columns:
        name = ""
        for ch in str(c):
            if len((name + ch).encode(SHAPEFILE_ENCODING, errors="replace")) > 10:
                break
            name += ch
        base, k = name, 1
        while name.lower() in used:
            suffix = f"_{k}"
            name = base
            while len((name + suffix).encode(SHAPEFILE_ENCODING, errors="replace")) > 10:
                name = name[:-1]
            name += suffix
            k += 1
        used.add(name.lower())
        out[c] = name
    return out


def export_frame(gdf: gpd.GeoDataFrame | pd.DataFrame, out: str | Path, *, layer: str = "layer",
                 coords: str = "wgs84", headers_zh: Mapping[str, str] | None = None) -> Path:
    """Write a layer or a table to ``out``; the format follows the file suffix.

    Parameters
    ----------
    gdf
        A layer (GeoDataFrame) or a table (DataFrame: CSV or XLSX only).
    out
        ``.gpkg``, ``.geojson``, ``.shp`` (GBK ``.cpg``), ``.csv`` (UTF-8 with BOM, for Excel on
        Chinese Windows) or ``.xlsx``.
    coords
        ``wgs84`` (default), ``gcj02``, ``bd09``, ``cgcs2000`` or ``EPSG:n``.
    headers_zh
        Chinese column headers for XLSX (the CSV keeps the field names, for machines).

    Text that a spreadsheet would read as a formula is neutralised in CSV and XLSX
    (:mod:`mzgis.layers.safe_text`).
    """
    p = Path(out)
    fmt = EXPORT_FORMATS.get(p.suffix.lower())
    if fmt is None:
        msg = f"{p}: 不支持的导出格式 unsupported export format; use {', '.join(EXPORT_FORMATS)}"
        raise LayerError(msg)
    is_geo = isinstance(gdf, gpd.GeoDataFrame)
    if is_geo:
        name, _ = parse_source_coords(coords)
        if name in ("gcj02", "bd09") and fmt in ("GPKG", "ESRI Shapefile"):
            msg = (f"{p}: {coords} 不是 GIS 文件能声明的坐标系 is not a CRS a {fmt} file can declare; "
                   "导出为 write .csv, .xlsx or .geojson for Amap/Baidu, or use --coords wgs84/cgcs2000/EPSG:n")
            raise LayerError(msg)
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("GPKG", "GeoJSON", "ESRI Shapefile"):
        if not is_geo:
            msg = f"{p}: 表格只能导出为 CSV/XLSX a table can only be written as CSV or XLSX"
            raise LayerError(msg)
        g, _label = _in_coords(gpd.GeoDataFrame(gdf), coords)
        if p.exists():
            p.unlink()
        if fmt == "ESRI Shapefile":
            g = g.rename(columns=_shapefile_names([c for c in g.columns if c != g.geometry.name]))
            for ext in (".shx", ".dbf", ".prj", ".cpg"):
                p.with_suffix(ext).unlink(missing_ok=True)
            pyogrio.write_dataframe(g, p, layer=layer, driver=fmt, encoding=SHAPEFILE_ENCODING)
        else:
            opts = {"VERSION": "1.2"} if fmt == "GPKG" else None  # GeoPackage 1.2: QGIS 3.22 opens it quietly
            pyogrio.write_dataframe(g, p, layer=layer, driver=fmt, use_arrow=True, dataset_options=opts)
        return p
    if is_geo:
        g, label = _in_coords(gpd.GeoDataFrame(gdf), coords)
        df = _tabular(g, label)
    else:
        df = pd.DataFrame(gdf)
    if fmt == "CSV":
        return write_csv(df, p)
    return write_xlsx(df.rename(columns=dict(headers_zh or {})), p, sheet=layer or "layer")
