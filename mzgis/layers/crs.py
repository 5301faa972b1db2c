"""Coordinate reference systems: source coordinate names, and the project's metric CRS.

Layers are stored in WGS-84 longitude/latitude (EPSG:4326). Metric work happens in one projected
CRS per project, either a UTM zone or a CGCS2000 3-degree Gauss-Krüger zone, chosen from the data
(``auto``) or named in ``mzgis.toml``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from mzgis.errors import CrsError

__all__ = [
    "CHINA_BOUNDS",
    "SOURCE_COORDS",
    "STORE_CRS",
    "cgcs2000_gk3_crs",
    "is_projected",
    "parse_source_coords",
    "resolve_metric_crs",
    "to_output_coords",
    "utm_crs",
    "with_output_coords",
]

#: The CRS every layer is stored in.
STORE_CRS = "EPSG:4326"

#: Longitude/latitude bounds of China (mainland, Hainan, Taiwan, the islands near the coast) used
#: to catch coordinates that cannot be right; with :data:`CHINA_SOUTH_SEA` it is the default
#: import extent.
CHINA_BOUNDS = (73.4, 18.0, 135.1, 53.6)

#: The South China Sea islands south of 18° N (三沙市: 西沙、中沙、南沙 down to 曾母暗沙 at 3.9° N),
#: part of the default extent whenever ``[import] extent`` is :data:`CHINA_BOUNDS`.
CHINA_SOUTH_SEA = (108.0, 3.4, 118.5, 18.0)


def in_extent(lon: NDArray[np.float64], lat: NDArray[np.float64],
              extent: tuple[float, float, float, float]) -> NDArray[np.bool_]:
    """True where a point lies in the import extent (China's default covers the South China Sea
    islands too).

    Examples
    --------
    >>> in_extent(np.array([112.33, 116.4, 2.35]), np.array([16.83, 39.9, 48.86]), CHINA_BOUNDS).tolist()
    [True, True, False]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    boxes = [tuple(extent)]
    if tuple(float(v) for v in extent) == CHINA_BOUNDS:
        boxes.append(CHINA_SOUTH_SEA)
    inside = np.zeros(lon.shape, dtype=bool)
    for minx, miny, maxx, maxy in boxes:
        inside |= (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    return inside

#: Names accepted by ``--coords``.
SOURCE_COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")


def parse_source_coords(value: str) -> tuple[str, CRS | None]:
    """Parse a ``--coords`` value.

    Returns
    -------
    tuple
        ``(name, crs)``: ``name`` is one of ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or
        ``crs`` for an explicit CRS; ``crs`` is the pyproj CRS the raw coordinates are in
        (WGS-84 for GCJ-02 and BD-09, whose offsets are applied separately).
    """
    v = value.strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84", "4326": "wgs84", "epsg:4326": "wgs84",
        "cgcs2000": "cgcs2000", "4490": "cgcs2000", "epsg:4490": "cgcs2000",
        "gcj02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "mars": "gcj02",
        "bd09": "bd09", "bd09ll": "bd09", "baidu": "bd09",
    }
    if v in aliases:
        name = aliases[v]
        crs = CRS.from_epsg(4490) if name == "cgcs2000" else CRS.from_epsg(4326)
        return name, crs
    try:
        return "crs", CRS.from_user_input(value)
    except PyprojCRSError as exc:
        msg = (
            f"不认识的坐标系 unknown coordinate system '{value}'. "
            f"请用 use one of {', '.join(SOURCE_COORDS)} or EPSG:n "
            "(高德/腾讯 Amap/Tencent = gcj02, 百度 Baidu = bd09, "
            "CGCS2000 3° Gauss-Krüger = EPSG:4534…4554 or 4513…4533)."
        )
        raise CrsError(msg) from exc


def is_projected(crs: CRS | str | None) -> bool:
    """Return True if ``crs`` is a projected (metric) CRS."""
    if crs is None:
        return False
    return bool(CRS.from_user_input(crs).is_projected)


def utm_crs(lon: float, lat: float) -> CRS:
    """WGS-84 / UTM zone containing a longitude/latitude."""
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    epsg = (32600 if lat >= 0 else 32700) + zone
    return CRS.from_epsg(epsg)


def cgcs2000_gk3_crs(lon: float) -> CRS:
    """CGCS2000 3-degree Gauss-Krüger CRS (no zone prefix on eastings) for a longitude.

    EPSG:4534 is central meridian 75 E, EPSG:4554 is 135 E, one code every 3 degrees.
    """
    cm = round(lon / 3.0) * 3
    if not 75 <= cm <= 135:
        msg = (
            f"经度 {lon:.3f} 不在 CGCS2000 3° 高斯-克吕格带 (75–135 E) 范围内; "
            "longitude outside the CGCS2000 Gauss-Krüger zones. Use metric_crs = \"auto\" (UTM)."
        )
        raise CrsError(msg)
    return CRS.from_epsg(4534 + (cm - 75) // 3)


def resolve_metric_crs(setting: str, bounds: tuple[float, float, float, float] | None) -> CRS:
    """Resolve the ``metric_crs`` setting of ``mzgis.toml`` to a projected CRS.

    Parameters
    ----------
    setting
        ``"auto"`` (UTM zone of the data's centre), ``"auto-cgcs2000"`` (CGCS2000 3° Gauss-Krüger
        zone of the data's centre) or any CRS pyproj understands (``"EPSG:4547"``).
    bounds
        WGS-84 ``(minx, miny, maxx, maxy)`` of the data, needed for the ``auto`` settings.
    """
    s = setting.strip().lower()
    if s in {"auto", "auto-utm", "auto-cgcs2000", "auto-gk"}:
        if bounds is None or not np.all(np.isfinite(bounds)):
            msg = (
                f"metric_crs = \"{setting}\" needs data to choose a zone from, and the project has "
                "none yet. Import a layer first or set metric_crs = \"EPSG:n\" in mzgis.toml."
            )
            raise CrsError(msg)
        lon = (bounds[0] + bounds[2]) / 2.0
        lat = (bounds[1] + bounds[3]) / 2.0
        return cgcs2000_gk3_crs(lon) if s in {"auto-cgcs2000", "auto-gk"} else utm_crs(lon, lat)
    try:
        crs = CRS.from_user_input(setting)
    except PyprojCRSError as exc:
        msg = f"mzgis.toml: metric_crs = \"{setting}\" is not a CRS pyproj knows; use auto or EPSG:n"
        raise CrsError(msg) from exc
    if not crs.is_projected:
        msg = (
            f"mzgis.toml: metric_crs = \"{setting}\" is geographic (degrees); metric work needs a "
            "projected CRS. Use auto, auto-cgcs2000 or a projected EPSG code."
        )
        raise CrsError(msg)
    return crs


def to_output_coords(lon: NDArray[np.float64], lat: NDArray[np.float64],
                     coords: str) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """WGS-84 lon/lat to the coordinates people paste into: ``wgs84``, ``gcj02`` (高德/腾讯),
    ``bd09`` (百度), ``cgcs2000`` or ``EPSG:n``. Returns ``(x, y, label)``; the label names the
    system in the file (e.g. ``GCJ-02``).

    Examples
    --------
    >>> x, y, label = to_output_coords(np.array([116.4]), np.array([39.9]), "gcj02")
    >>> label, round(float(x[0]), 4), round(float(y[0]), 4)
    ('GCJ-02', 116.4062, 39.9014)
    """
    from mzgis.layers import coords as cc

    name, crs = parse_source_coords(coords)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if name == "wgs84":
        return lon, lat, "WGS-84"
    if name == "gcj02":
        x, y = cc.wgs84_to_gcj02(lon, lat)
        return np.asarray(x), np.asarray(y), "GCJ-02"
    if name == "bd09":
        x, y = cc.wgs84_to_bd09(lon, lat)
        return np.asarray(x), np.asarray(y), "BD-09"
    if crs is None:  # parse_source_coords gives a CRS for every other name
        msg = f"不认识的坐标系 unknown coordinate system '{coords}'"
        raise CrsError(msg)
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = t.transform(lon, lat)
    return np.asarray(x), np.asarray(y), "CGCS2000" if name == "cgcs2000" else crs.to_string()


def with_output_coords(table: pd.DataFrame, coords: str, *, x: str = "lon", y: str = "lat",
                       digits: int = 7) -> pd.DataFrame:
    """A copy of a table whose ``x``/``y`` columns (WGS-84 lon/lat) are given in ``coords`` (see
    :func:`to_output_coords`), with a ``coord_system`` column saying which system they are in.

    Every CSV/XLSX with coordinates goes through this (``sites_*``, ``inspect_*``), so the file
    always names its coordinate system; rows without coordinates keep them empty.

    Examples
    --------
    >>> t = with_output_coords(pd.DataFrame({"lon": [116.4, None], "lat": [39.9, None]}), "gcj02")
    >>> t["coord_system"].tolist(), round(float(t["lon"][0]), 4), bool(t["lon"].isna()[1])
    (['GCJ-02', 'GCJ-02'], 116.4062, True)
    """
    out = table.copy()
    label = to_output_coords(np.zeros(1), np.zeros(1), coords)[2]  # checks the name, on empty tables too
    if len(out) == 0:
        out["coord_system"] = pd.Series(dtype=object)
        return out
    lon = pd.to_numeric(out[x], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(out[y], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    ox, oy = np.full(lon.size, np.nan), np.full(lat.size, np.nan)
    if ok.any():
        ox[ok], oy[ok], label = to_output_coords(lon[ok], lat[ok], coords)
    out[x], out[y] = np.round(ox, digits), np.round(oy, digits)
    out["coord_system"] = label
    return out
