"""Corridor lines from OpenStreetMap: railways, major highways and rivers of an ``.osm`` /
``.osm.pbf`` file, read as a line source for ``mzgis import … --type lines``.

Only the ways a corridor runs along are kept (:data:`CORRIDOR_CLASSES`: ``railway=rail|
narrow_gauge|light_rail``, ``highway=motorway|trunk|primary``, ``waterway=river|canal``); each
becomes a feature with the way's id (``way/<osm id>``), ``name`` and ``class`` (e.g.
``highway=primary``). Read with GDAL's OSM driver (its ``lines`` layer: the ways that are not areas).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
from pyproj import CRS

from mzgis.errors import LayerError
from mzgis.layers.raw import RawSource

__all__ = ["CORRIDOR_CLASSES", "OSM_LINE_SUFFIXES", "is_osm_file", "read_osm_lines"]

#: The OSM tag values kept as corridor lines, per key.
CORRIDOR_CLASSES: dict[str, tuple[str, ...]] = {
    "railway": ("rail", "narrow_gauge", "light_rail"),
    "highway": ("motorway", "trunk", "primary"),
    "waterway": ("river", "canal"),
}

OSM_LINE_SUFFIXES = (".osm", ".osm.pbf", ".pbf")


def is_osm_file(path: str | Path) -> bool:
    """True for an OpenStreetMap XML or PBF file (by suffix)."""
    return Path(path).name.lower().endswith(OSM_LINE_SUFFIXES)


def read_osm_lines(path: str | Path) -> RawSource:
    """The railways, major highways and rivers of an OSM file as a line source (see the module)."""
    p = Path(path)
    where = " OR ".join(f"{key} IN ({', '.join(repr(v) for v in vals)})" for key, vals in CORRIDOR_CLASSES.items())
    try:
        gdf = pyogrio.read_dataframe(p, layer="lines", columns=["osm_id", "name", *CORRIDOR_CLASSES], where=where)
    except Exception as exc:  # a broken or hostile file gives a message, never a traceback
        msg = (f"{p}: 无法读取 OSM 文件 cannot read the OSM file ({type(exc).__name__}: {exc}); "
               "请给出完整的 .osm 或 .osm.pbf 导出 give a complete .osm or .osm.pbf export")
        raise LayerError(msg) from exc
    cls = pd.Series([""] * len(gdf), index=gdf.index, dtype=object)
    for key, vals in CORRIDOR_CLASSES.items():
        col = gdf[key] if key in gdf.columns else pd.Series([None] * len(gdf), index=gdf.index)
        hit = (cls == "") & col.isin(vals)
        cls[hit] = key + "=" + col[hit].astype(str)
    keep = cls != ""
    gdf, cls = gdf[keep].reset_index(drop=True), cls[keep].reset_index(drop=True)
    counts = cls.value_counts().to_dict()
    notes = ["OSM 线要素 OSM ways kept as corridor lines: "
             + (", ".join(f"{k} × {n}" for k, n in sorted(counts.items())) or "无 none")
             + " (© OpenStreetMap contributors, ODbL 1.0)"]
    table = pd.DataFrame({"id": "way/" + gdf["osm_id"].astype(str), "name": gdf["name"].fillna("").astype(str),
                          "class": cls})
    labels = [f"OSM way {i}" for i in gdf["osm_id"].astype(str)]
    return RawSource(p, table, gdf.geometry.reset_index(drop=True), CRS.from_epsg(4326), labels, "utf-8", notes=notes)
