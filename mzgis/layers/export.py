"""Writing layers out: GeoPackage, GeoJSON, CSV (lon/lat or WKT) and XLSX."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from mzgis.errors import LayerError
from mzgis.layers.safe_text import write_csv, write_xlsx

__all__ = ["EXPORT_FORMATS", "export_frame"]

EXPORT_FORMATS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV", ".xlsx": "XLSX"}


def _tabular(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes plus lon/lat for point layers, WKT for others."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geom = gdf.geometry
    if len(gdf) and geom.geom_type.isin(["Point"]).all():
        df["lon"] = geom.x.round(7)
        df["lat"] = geom.y.round(7)
    else:
        df["wkt"] = shapely.to_wkt(geom.values, rounding_precision=7)
    return df


def export_frame(gdf: gpd.GeoDataFrame | pd.DataFrame, out: str | Path, *, layer: str = "layer") -> Path:
    """Write a layer or a table to ``out``; the format follows the file suffix.

    Tables (plain DataFrames) go to CSV or XLSX only. CSV is written as UTF-8 with a byte-order
    mark so that Excel on Chinese Windows opens it correctly. Text that a spreadsheet would read as
    a formula is neutralised in both (:mod:`mzgis.layers.safe_text`).
    """
    p = Path(out)
    fmt = EXPORT_FORMATS.get(p.suffix.lower())
    if fmt is None:
        msg = f"{p}: 不支持的导出格式 unsupported export format; use {', '.join(EXPORT_FORMATS)}"
        raise LayerError(msg)
    p.parent.mkdir(parents=True, exist_ok=True)
    is_geo = isinstance(gdf, gpd.GeoDataFrame)
    if fmt in ("GPKG", "GeoJSON"):
        if not is_geo:
            msg = f"{p}: 表格只能导出为 CSV/XLSX a table can only be written as CSV or XLSX"
            raise LayerError(msg)
        if p.exists():
            p.unlink()
        pyogrio.write_dataframe(gdf, p, layer=layer, driver=fmt, use_arrow=True)
        return p
    df = _tabular(gdf) if is_geo else pd.DataFrame(gdf)
    if fmt == "CSV":
        return write_csv(df, p)
    return write_xlsx(df, p, sheet=layer or "layer")
