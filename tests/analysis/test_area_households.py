"""Area indicators take each community's households from the demand points inside it when the
community layer has none (hand-computed; a zero or missing sum would make C1 pass)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from mzgis.analysis.indicators import Indicator, IndicatorContext, evaluate

UTM = "EPSG:32650"


def test_area_indicators_sum_households_per_community_from_demand():
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["东社区", "西社区"]},
                           geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)], crs=UTM)
    dem = gpd.GeoDataFrame({"households": [500.0, 600.0, 400.0, 500.0]},
                           geometry=gpd.points_from_xy([100, 400, 900, 1500], [500] * 4), crs=UTM)
    fac = gpd.GeoDataFrame({"kind": ["community_service"] * 2, "status": ["建成运营"] * 2, "floor_area_m2": [400.0, 350.0]},
                           geometry=gpd.points_from_xy([500, 1500], [500, 500]), crs=UTM)
    inds = [Indicator("M5a", "达标率", "area_standard_pass", 100.0, kinds=("community_service",)),
            Indicator("M5b", "每百户面积", "area_per_100_households", 30.0, unit="㎡", kinds=("community_service",))]
    t = evaluate(inds, IndicatorContext(fac, {"community": com}, UTM, demand=dem)).set_index("indicator_id")
    # hand: C1 1,500 households needs max(30 x 15, 300) = 450 m2 and has 400 (fails);
    #       C2 500 households needs max(150, 300) = 300 m2 and has 350 (passes)
    assert t.loc["M5a", "actual"] == pytest.approx(50.0)
    assert t.loc["M5a", "detail"] == "1/2"
    assert t.loc["M5b", "actual"] == pytest.approx(100.0 * (400 + 350) / (1500 + 500))
    assert t.loc["M5b", "passed"] is True
