"""A station too far from the network to be counted is handed to the map with its distance."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from mzgis.gis.left_out import left_out_facilities
from mzgis.layers.network import build_graph


def test_left_out_distance():
    g = build_graph(np.array([0.0, 100, 300]), np.zeros(3), np.arange(3), np.array([0, 1]), np.array([1, 2]),
                    "EPSG:32650")
    fac = gpd.GeoDataFrame({"feature_id": ["S1", "S2"]}, geometry=[shapely.Point(50, 10), shapely.Point(200, 512)],
                           crs=g.crs).to_crs("EPSG:4326")
    out = left_out_facilities(g, fac, ["S2"])
    assert list(out["feature_id"]) == ["S2"]
    assert abs(float(out["distance_m"].iloc[0]) - 512.0) < 0.5
    assert left_out_facilities(g, fac, []) is None
