"""Road classes and names from the local OpenStreetMap extract, and label points for the web map.

The network is built from an OSM file whose path the store remembers (meta ``network_source``);
the graph keeps no tags, so the map reads the ``highway`` and ``name`` tags of the ways again from
that file with pyosmium — no internet. Roads are ranked for the generalised basemap (major classes
drawn at every zoom, the rest only when zoomed in), and their names become labels.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mzgis.errors import NetworkError

__all__ = ["MAJOR", "osm_roads", "place_label_points", "road_label_points"]

#: OSM ``highway`` classes drawn at every zoom (the rest only zoomed in).
MAJOR = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
                   "primary_link", "secondary_link", "tertiary_link"})
_ARTERIAL = frozenset({"motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link"})
_SKIP = frozenset({"proposed", "construction", "abandoned", "planned", "platform", "raceway", "bus_stop",
                   "elevator", "corridor", "no", "razed", "disused"})


def osm_roads(path: str | Path, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """The ``highway`` ways of an OSM file as WGS-84 lines with ``highway``, ``name`` and ``rank``.

    ``rank`` is 0 for motorways, trunk and primary roads, 1 for the other major classes
    (:data:`MAJOR`: secondary, tertiary) and 2 otherwise. ``bbox`` (lon/lat
    ``minx, miny, maxx, maxy``) keeps the ways with a node inside it.
    """
    import osmium

    wkbs: list[str] = []
    hw: list[str] = []
    names: list[str] = []
    fab = osmium.geom.WKBFactory()  # builds each way's line in C++: 4× faster than node by node
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        fp = fp.with_filter(osmium.filter.KeyFilter("highway"))
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            h = obj.tags.get("highway")
            if h is None or h in _SKIP or obj.tags.get("area") == "yes":
                continue
            try:
                wkbs.append(fab.create_linestring(obj))
            except (RuntimeError, osmium.InvalidLocationError):  # fewer than two located nodes
                continue
            hw.append(h)
            names.append(obj.tags.get("name") or "")
    except (RuntimeError, OSError) as exc:
        msg = f"读取路网文件失败 cannot read the OSM file {path}: {exc}"
        raise NetworkError(msg) from exc
    if not hw:
        return gpd.GeoDataFrame({"highway": [], "name": [], "rank": []}, geometry=[], crs="EPSG:4326")
    lines = shapely.from_wkb(wkbs)
    rank = np.array([0 if h in _ARTERIAL else (1 if h in MAJOR else 2) for h in hw], dtype=np.int8)
    out = gpd.GeoDataFrame({"highway": hw, "name": names, "rank": rank}, geometry=lines, crs="EPSG:4326")
    if bbox is not None:
        out = out[shapely.intersects(lines, shapely.box(*bbox))].reset_index(drop=True)
    return out


def road_label_points(roads: gpd.GeoDataFrame, *, spacing_m: float = 900.0, min_length_m: float = 80.0) -> pd.DataFrame:
    """Label points along named roads: ``lon, lat, text, minzoom`` (arterials from zoom 14, other
    major roads from 15, the rest from 16), one per ``spacing_m`` of each merged named road."""
    named = roads[roads["name"].astype(str).str.len() > 0]
    rows: list[tuple[float, float, str, int]] = []
    if not len(named):
        return pd.DataFrame(rows, columns=["lon", "lat", "text", "minzoom"])
    lat0 = float(np.nanmean(named.geometry.bounds[["miny", "maxy"]].to_numpy()))
    m_per_deg = 111_320.0 * max(np.cos(np.radians(lat0)), 0.1)
    for name, grp in named.groupby("name", sort=False):
        hws = set(grp["highway"])
        minzoom = 14 if hws & _ARTERIAL else (15 if hws & MAJOR else 16)
        # OSM ways of one street share their end nodes: merging needs no (slow) noding union
        merged = shapely.line_merge(shapely.multilinestrings(grp.geometry.to_numpy()))
        kept: list[tuple[float, float]] = []
        parts = sorted(getattr(merged, "geoms", [merged]), key=lambda g: -g.length)
        for part in parts:
            length = part.length * m_per_deg
            if length < min_length_m:
                continue
            n = max(1, int(length // spacing_m))
            for i in range(n):
                p = part.interpolate((i + 0.5) / n, normalized=True)
                # the two carriageways of a dual road (and pieces of one street) get one label
                if any(np.hypot(p.x - x, p.y - y) * m_per_deg < spacing_m / 2 for x, y in kept):
                    continue
                kept.append((p.x, p.y))
                rows.append((p.x, p.y, str(name), minzoom))
    return pd.DataFrame(rows, columns=["lon", "lat", "text", "minzoom"])


PLACE_MINZOOM = {"district": 10, "subdistrict": 12, "community": 15}


def place_label_points(units: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Admin-unit names at a point inside each unit: ``lon, lat, text, minzoom, level``."""
    parts = []
    for level, u in units.items():
        if u is None or not len(u) or "name" not in u.columns:
            continue
        g = u.to_crs("EPSG:4326") if u.crs is not None else u
        pts = g.geometry.representative_point()
        parts.append(pd.DataFrame({"lon": pts.x.to_numpy(), "lat": pts.y.to_numpy(), "text": g["name"].astype(str).to_numpy(),
                                   "minzoom": PLACE_MINZOOM.get(level, 14), "level": level}))
    if not parts:
        return pd.DataFrame(columns=["lon", "lat", "text", "minzoom", "level"])
    out = pd.concat(parts, ignore_index=True)
    return out[out["text"].str.len() > 0]
