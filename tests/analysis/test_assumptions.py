"""Issue 23: every assumption that moves a number is said, and only where it was used.

Footprints without floors use the default floors; points without residents use persons per
household; points without elderly use the elderly share; a raster's elderly are entirely assumed."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from mzgis.analysis.assumptions import demand_assumptions
from mzgis.analysis.demand import DemandSettings, demand_from_layer

UTM = "EPSG:32650"
S = DemandSettings(persons_per_household=2.5, elderly_share=0.25, floor_area_per_household_m2=90.0, default_floors=4.0)


def _said(items) -> str:
    return "\n".join(str(a) for a in items)


def test_footprints_say_floors_persons_and_elderly_share():
    fp = gpd.GeoDataFrame({"feature_id": ["B1", "B2", "B3"], "floors": [np.nan, 6.0, np.nan],
                           "elderly": [np.nan, 10.0, np.nan]},
                          geometry=[shapely.box(0, 0, 30, 30), shapely.box(100, 0, 130, 30), shapely.box(200, 0, 230, 30)],
                          crs=UTM)
    d = demand_from_layer(fp, UTM, settings=S)
    # the figures the assumptions produce, independently: 900 m² × 4 floors / 90 = 40 households
    assert d["households"].iloc[0] == 40.0
    assert d["population"].iloc[0] == 100.0
    items = demand_assumptions(d, S)
    text = _said(items)
    assert "4 层 floors" in text
    assert "2 / 3" in text  # two of three footprints had no floors
    assert "2.5" in text
    assert "25%" in text
    assert "90" in text  # floor area per household
    by = {a.key: a for a in items}
    assert by["default_floors"].count == 2
    assert by["elderly_share"].count == 2  # B2 gave its own elderly
    assert by["persons_per_household"].count == 3


def test_counted_points_assume_nothing():
    pts = gpd.GeoDataFrame({"feature_id": ["P"], "households": [10.0], "population": [30.0], "elderly": [5.0]},
                           geometry=[shapely.Point(0, 0)], crs=UTM)
    d = demand_from_layer(pts, UTM, settings=S)
    assert demand_assumptions(d, S) == []


def test_raster_elderly_is_said_to_be_assumed(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    from mzgis.analysis.demand import demand_from_raster

    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32", crs=UTM,
                       transform=from_origin(0, 100, 100, 100)) as dst:
        dst.write(np.array([[100.0, 0.0]], dtype="float32"), 1)
    d = demand_from_raster(path, settings=S)
    assert d["elderly"].sum() == 25.0
    text = _said(demand_assumptions(d, S))
    assert "假设" in text
    assert "assumed" in text
    assert "不是统计数 not counted" in text
    assert "25%" in text
