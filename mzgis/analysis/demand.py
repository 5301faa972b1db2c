"""Demand: households, residents and elderly residents as points on the network.

Sources, in the order a bureau usually has them:

* **Residential points** (compounds, buildings as points) with 户数/人口/老年人口.
* **Building footprints** (polygons): households = footprint area × floors ÷ area per household
  (default 90 m² of floor area per household, 3 floors where a footprint has none — both settings
  in ``mzgis.toml [demand]``); the point is a point inside the footprint.
* **Community/village polygons** with households and population: each unit's totals are spread
  evenly over the network nodes inside it (a unit with no node inside gets one point inside it).
* **A population raster** (GeoTIFF): every cell with people becomes a point at its centre carrying
  the cell's value; the reach engine then snaps it to the nearest edge.

Residents default to households × persons per household (2.6) and households to residents ÷ that
figure; elderly residents default to a configurable share of residents (20 %). Every point carries
``households``, ``population`` and ``elderly`` as floats so shares add up exactly, and
``estimated``: which of its figures are assumed rather than counted (``default_floors``,
``floor_area_per_household``, ``persons_per_household``, ``elderly_share``, ``;``-separated; see
:mod:`mzgis.analysis.assumptions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.errors import LayerError
from mzgis.layers.network import RoadGraph

__all__ = ["DemandSettings", "demand_from_layer", "demand_from_raster", "demand_from_units"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemandSettings:
    """How missing demand figures are estimated (``mzgis.toml [demand]``)."""

    persons_per_household: float = 2.6
    elderly_share: float = 0.2
    floor_area_per_household_m2: float = 90.0
    default_floors: float = 3.0


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as floats (NaN where missing or not a number; all NaN if there is no column)."""
    if col not in df:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.Series(pd.to_numeric(df[col], errors="coerce"), index=df.index).astype(float)


def _estimated(df: pd.DataFrame) -> pd.Series:
    """The ``estimated`` column so far (which figures of each point are assumed, not counted)."""
    if "estimated" in df:
        return df["estimated"].fillna("").astype(str)
    return pd.Series("", index=df.index, dtype=object)


def add_estimated(current: pd.Series, where: pd.Series, key: str) -> pd.Series:
    """``current`` with ``key`` added (``;``-separated) where ``where`` holds."""
    tagged = current.where(current == "", current + ";") + key
    return tagged.where(where.to_numpy(), current)


def _complete(df: pd.DataFrame, s: DemandSettings) -> pd.DataFrame:
    hh = _num(df, "households")
    pop = _num(df, "population")
    eld = _num(df, "elderly")
    hh = hh.astype(float)
    pop = pop.astype(float)
    by_pph = (pop.isna() & hh.notna()) | (hh.isna() & pop.notna())
    by_share = eld.isna() & (pop.notna() | hh.notna())
    pop = pop.fillna(hh * s.persons_per_household)
    hh = hh.fillna(pop / s.persons_per_household)
    eld = eld.astype(float).fillna(pop * s.elderly_share)
    out = df.copy()
    out["estimated"] = add_estimated(add_estimated(_estimated(df), by_pph, "persons_per_household"),
                                     by_share, "elderly_share")
    out["households"] = hh.fillna(0.0)
    out["population"] = pop.fillna(0.0)
    out["elderly"] = eld.fillna(0.0)
    return out


def demand_from_layer(layer: gpd.GeoDataFrame, metric_crs: str, *, settings: DemandSettings | None = None) -> gpd.GeoDataFrame:
    """Demand points from a demand layer of points or building footprints.

    Parameters
    ----------
    layer
        Points or footprints, with ``households``/``population``/``elderly`` where known (and
        ``floors`` for footprints); must have a CRS.
    metric_crs
        A projected CRS (metres) for footprint areas; a geographic one is refused, since areas in
        square degrees would give almost no households.

    Returns
    -------
    geopandas.GeoDataFrame
        ``demand_id``, ``households``, ``population``, ``elderly``, ``source``, point geometry in
        the layer's CRS, with the layer's index.

    Examples
    --------
    A 30 m × 30 m footprint of 3 floors at 90 m² a household holds 30 households:

    >>> import geopandas as gpd, shapely
    >>> fp = gpd.GeoDataFrame({"feature_id": ["B1"]}, geometry=[shapely.box(0, 0, 30, 30)], crs="EPSG:32650")
    >>> d = demand_from_layer(fp, "EPSG:32650")
    >>> d[["demand_id", "households", "population", "source"]].round(1).to_dict("records")
    [{'demand_id': 'B1', 'households': 30.0, 'population': 78.0, 'source': 'footprint'}]
    >>> demand_from_layer(fp, "EPSG:4326")
    Traceback (most recent call last):
    ...
    mzgis.errors.CrsError: metric_crs EPSG:4326 不是投影坐标系 is not a projected CRS: ...
    """
    guard.layer_crs(layer, "layer")
    guard.projected(metric_crs, "metric_crs")
    s = settings or DemandSettings()
    g = layer.copy()
    is_poly = g.geom_type.isin(["Polygon", "MultiPolygon"])
    if is_poly.any():
        metric = g.loc[is_poly].to_crs(metric_crs)
        area = metric.geometry.area
        polys = pd.DataFrame(g.loc[is_poly])
        floors = _num(polys, "floors")
        est = area * floors.fillna(s.default_floors) / s.floor_area_per_household_m2
        has = _num(polys, "households")
        if "households" not in g:
            g["households"] = np.nan
        g.loc[is_poly, "households"] = has.fillna(est)
        est_col = _estimated(g)
        est_col.loc[is_poly] = add_estimated(est_col.loc[is_poly], has.isna() & floors.isna(), "default_floors")
        est_col.loc[is_poly] = add_estimated(est_col.loc[is_poly], has.isna(), "floor_area_per_household")
        g["estimated"] = est_col
        g.loc[is_poly, "geometry"] = g.loc[is_poly].geometry.representative_point()
    g = _complete(g, s)
    ids = g["feature_id"].astype(str) if "feature_id" in g else g.index.astype(str)
    out = gpd.GeoDataFrame({"demand_id": ids.to_numpy(), "households": g["households"].to_numpy(),
                            "population": g["population"].to_numpy(), "elderly": g["elderly"].to_numpy(),
                            "source": np.where(is_poly.to_numpy(), "footprint", "point"),
                            "estimated": g["estimated"].to_numpy()},
                           geometry=g.geometry.to_numpy(), crs=layer.crs, index=layer.index)
    return out


def demand_from_units(units: gpd.GeoDataFrame, graph: RoadGraph, *,
                      settings: DemandSettings | None = None) -> gpd.GeoDataFrame:
    """Spread each unit's households/residents evenly over the network nodes inside it.

    ``units`` needs a CRS and unique ``feature_id`` codes (the demand ids are ``<code>#<k>``);
    the points come back in the units' CRS.

    Examples
    --------
    Two nodes inside a community of 100 households share them equally:

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from mzgis.layers.network import build_graph
    >>> g = build_graph(np.array([0.0, 100, 300]), np.zeros(3), np.arange(3), np.array([0, 1]),
    ...                 np.array([1, 2]), "EPSG:32650")
    >>> com = gpd.GeoDataFrame({"feature_id": ["C1"], "households": [100]},
    ...                        geometry=[shapely.box(-10, -10, 150, 10)], crs="EPSG:32650")
    >>> demand_from_units(com, g)[["demand_id", "households"]].to_dict("records")
    [{'demand_id': 'C1#1', 'households': 50.0}, {'demand_id': 'C1#2', 'households': 50.0}]
    """
    guard.layer_crs(units, "units")
    guard.projected(graph.crs, "graph.crs")
    guard.require_unique(units, "feature_id", "units")
    s = settings or DemandSettings()
    u = gpd.GeoDataFrame(_complete(units, s), geometry=units.geometry.name, crs=units.crs).to_crs(graph.crs)
    nodes = gpd.GeoDataFrame({"node": np.arange(graph.n_nodes)}, geometry=gpd.points_from_xy(graph.x, graph.y),
                             crs=graph.crs)
    joined = gpd.sjoin(nodes, u[["geometry"]].reset_index(names="unit_row"), predicate="within", how="inner")
    joined = joined.drop_duplicates("node")
    parts = []
    for row, grp in joined.groupby("unit_row"):
        parts.append((row, grp.geometry.x.to_numpy(), grp.geometry.y.to_numpy()))
    have = {p[0] for p in parts}
    for row in u.index:
        if row not in have:
            pt = u.geometry.loc[row].representative_point()
            parts.append((row, np.array([pt.x]), np.array([pt.y])))
    recs = []
    for row, xs, ys in parts:
        k = xs.size
        code = str(u.at[row, "feature_id"]) if "feature_id" in u else str(row)
        for j in range(k):
            recs.append((f"{code}#{j + 1}", u.at[row, "households"] / k, u.at[row, "population"] / k,
                         u.at[row, "elderly"] / k, u.at[row, "estimated"], xs[j], ys[j]))
    df = pd.DataFrame(recs, columns=["demand_id", "households", "population", "elderly", "estimated", "x", "y"])
    out = gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(df.x, df.y), crs=graph.crs)
    out["source"] = "unit"
    return out.to_crs(units.crs)


def demand_from_raster(path: str | Path, *, settings: DemandSettings | None = None,
                       band: int = 1) -> gpd.GeoDataFrame:
    """Points at the centres of populated raster cells, carrying the cell's residents."""
    import rasterio

    s = settings or DemandSettings()
    try:
        with rasterio.open(path) as src:
            data = src.read(band, masked=True).astype(float)
            transform = src.transform
            crs = src.crs
    except Exception as exc:
        msg = f"{path}: 无法读取栅格 cannot read the population raster: {exc}"
        raise LayerError(msg) from exc
    if crs is None:
        msg = f"{path}: 栅格没有坐标系 the raster has no CRS; add one (gdal_edit.py -a_srs EPSG:4326)"
        raise LayerError(msg)
    values = np.ma.filled(data, 0.0)
    rows, cols = np.nonzero(values > 0)
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    pop = values[rows, cols]
    df = pd.DataFrame({"demand_id": [f"cell_{r}_{c}" for r, c in zip(rows, cols, strict=True)],
                       "population": pop})
    df = _complete(df, s)
    return gpd.GeoDataFrame(df.assign(source="raster"), geometry=gpd.points_from_xy(xs, ys), crs=crs)
