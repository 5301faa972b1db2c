"""Demand from footprints, units and a population raster."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.demand import (
    DemandSettings,
    demand_from_layer,
    demand_from_raster,
    demand_from_units,
)
from mzgis.layers.network import build_graph


def test_points_fill_missing_figures():
    g = gpd.GeoDataFrame({"feature_id": ["a", "b", "c"], "households": [100.0, np.nan, np.nan],
                          "population": [np.nan, 52.0, np.nan], "elderly": [np.nan, np.nan, 3.0]},
                         geometry=[shapely.Point(0, 0)] * 3, crs="EPSG:32650")
    d = demand_from_layer(g, "EPSG:32650", settings=DemandSettings(persons_per_household=2.6, elderly_share=0.2))
    assert d["population"].tolist() == pytest.approx([260.0, 52.0, 0.0])
    assert d["households"].tolist() == pytest.approx([100.0, 20.0, 0.0])
    assert d["elderly"].tolist() == pytest.approx([52.0, 10.4, 3.0])


def test_footprints_estimate_households():
    fp = gpd.GeoDataFrame({"feature_id": ["b1", "b2"], "floors": [6.0, np.nan]},
                          geometry=[shapely.box(0, 0, 30, 10), shapely.box(100, 0, 120, 10)], crs="EPSG:32650")
    d = demand_from_layer(fp, "EPSG:32650", settings=DemandSettings(floor_area_per_household_m2=90, default_floors=3))
    assert d["households"].tolist() == pytest.approx([300 * 6 / 90, 200 * 3 / 90])
    assert (d.geom_type == "Point").all()
    assert d["source"].tolist() == ["footprint", "footprint"]


def test_units_spread_over_nodes_inside():
    x = np.array([10.0, 20, 30, 110])
    g = build_graph(x, np.zeros(4) + 5, np.arange(4), np.array([0, 1, 2]), np.array([1, 2, 3]), "EPSG:32650")
    units = gpd.GeoDataFrame({"feature_id": ["A", "B", "C"], "households": [300.0, 50.0, 10.0]},
                             geometry=[shapely.box(0, 0, 50, 10), shapely.box(100, 0, 150, 10),
                                       shapely.box(500, 0, 510, 10)], crs="EPSG:32650")
    d = demand_from_units(units, g)
    by = d.groupby(d["demand_id"].str.split("#").str[0])["households"].agg(["sum", "count"])
    assert by.loc["A"].tolist() == [300.0, 3]
    assert by.loc["B"].tolist() == [50.0, 1]
    assert by.loc["C"].tolist() == [10.0, 1]  # no node inside: one point inside the unit
    assert d["households"].sum() == pytest.approx(360.0)


def test_population_raster(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    data = np.array([[0, 10], [5, 0]], dtype="float32")
    p = tmp_path / "pop.tif"
    with rasterio.open(p, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32", crs="EPSG:32650",
                       transform=from_origin(1000, 2000, 100, 100)) as dst:
        dst.write(data, 1)
    d = demand_from_raster(p)
    assert d["population"].sum() == 15
    assert sorted(d["population"].tolist()) == [5.0, 10.0]
    pt = d[d.population == 10].geometry.iloc[0]
    assert (pt.x, pt.y) == (1150.0, 1950.0)  # centre of row 0, column 1
    assert d["households"].sum() == pytest.approx(15 / 2.6)
