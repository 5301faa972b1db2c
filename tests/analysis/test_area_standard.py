"""Per-100-household floor-area rules, case by case (PLAN_REQUIREMENTS §2.5, Chifeng)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from mzgis.analysis.area_standard import AreaRule, area_standard, rules_from_config
from mzgis.errors import ConfigError


def community(code, ctype, households, x0):
    return {"feature_id": code, "name": f"社区{code}", "community_type": ctype, "households": households,
            "geometry": shapely.box(x0, 0, x0 + 100, 100)}


def facility(x, area, community_code=None):
    return {"floor_area_m2": area, "community_code": community_code, "geometry": shapely.Point(x, 50)}


@pytest.mark.parametrize(("ctype", "households", "area", "required", "passed", "rule_fragment"), [
    # existing urban: 30 m²/100 hh and 300 m² total
    ("老旧城镇", 2000, 600.0, 600.0, True, "≥30㎡/百户"),
    ("老旧城镇", 2000, 599.0, 600.0, False, "≥30㎡/百户"),
    ("老旧城镇", 500, 200.0, 300.0, False, "≥30㎡/百户"),  # 150 by rate, but the 300 m² floor rules
    ("老旧城镇", 500, 300.0, 300.0, True, "≥30㎡/百户"),
    # new estates: 50 m²/100 hh and 500 m²
    ("新建住宅小区", 2000, 999.0, 1000.0, False, "≥50㎡/百户"),
    ("新建住宅小区", 600, 450.0, 500.0, False, "≥50㎡/百户"),  # rate gives 300; floor 500
    ("新建住宅小区", 600, 500.0, 500.0, True, "≥50㎡/百户"),
    # township / urban village: 300 m² whatever the size
    ("城中村", 5000, 300.0, 300.0, True, "≥300㎡"),
    ("苏木乡镇", 100, 299.0, 300.0, False, "≥300㎡"),
    # central / traditional village, pastoral: 150 m²
    ("中心村", 800, 150.0, 150.0, True, "≥150㎡"),
    ("牧区", 800, 100.0, 150.0, False, "≥150㎡"),
    # unknown or missing type: the default (existing urban) rule
    (None, 1000, 300.0, 300.0, True, "≥30㎡/百户"),
])
def test_rules_case_by_case(ctype, households, area, required, passed, rule_fragment):
    com = gpd.GeoDataFrame([community("C1", ctype, households, 0)], crs="EPSG:32650")
    fac = gpd.GeoDataFrame([facility(50, area)], crs="EPSG:32650")
    row = area_standard(com, fac).iloc[0]
    assert row["required_m2"] == pytest.approx(required)
    assert bool(row["passed"]) is passed
    assert row["deficit_m2"] == pytest.approx(max(0.0, required - area))
    assert row["m2_per_100_households"] == pytest.approx(area / households * 100)
    assert rule_fragment in row["rule"]


def test_facilities_assigned_by_code_then_location_and_summed():
    com = gpd.GeoDataFrame([community("C1", "老旧城镇", 1000, 0), community("C2", "老旧城镇", 1000, 200)],
                           crs="EPSG:32650")
    fac = gpd.GeoDataFrame([facility(50, 200.0), facility(60, 150.0),
                            facility(250, 100.0, community_code="C1")],  # inside C2 but registered to C1
                           crs="EPSG:32650")
    t = area_standard(com, fac).set_index("unit_code")
    assert t.loc["C1", "floor_area_m2"] == 450.0
    assert t.loc["C2", "floor_area_m2"] == 0.0
    assert t.loc["C2", "deficit_m2"] == 300.0


def test_households_from_demand_when_the_polygon_has_none():
    com = gpd.GeoDataFrame([community("C1", "老旧城镇", None, 0)], crs="EPSG:32650")
    fac = gpd.GeoDataFrame([facility(50, 400.0)], crs="EPSG:32650")
    t = area_standard(com, fac, households=pd.Series({"C1": 1200.0}))
    assert t["households"].iloc[0] == 1200
    assert t["required_m2"].iloc[0] == 360


def test_chifeng_35_per_100_households_is_expressible():
    rules = rules_from_config([{"name": "赤峰 35㎡/百户", "community_types": ["*"], "m2_per_100_households": 35,
                                "min_total_m2": 300}])
    com = gpd.GeoDataFrame([community("C1", "老旧城镇", 2000, 0)], crs="EPSG:32650")
    fac = gpd.GeoDataFrame([facility(50, 650.0)], crs="EPSG:32650")
    row = area_standard(com, fac, rules=rules).iloc[0]
    assert row["required_m2"] == 700
    assert not row["passed"]
    assert row["rule"] == "赤峰 35㎡/百户"


def test_rules_need_a_default():
    with pytest.raises(ConfigError, match="default rule"):
        rules_from_config([{"community_types": ["城中村"], "min_total_m2": 300}])
    assert AreaRule("x", ("*",), 30, 300).required(0) == 300
