"""The indicator engine: every method on tiny hand-made layers, config overrides, custom indicators."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis.indicators import (
    PLAN_SETS,
    Indicator,
    IndicatorContext,
    evaluate,
    indicator_set,
)
from mzgis.errors import ConfigError

CRS = "EPSG:32650"


def units():
    sub = gpd.GeoDataFrame({"feature_id": ["S1", "S2", "S3"], "name": ["甲街道", "乙镇", "丙乡"],
                            "population": [1000.0, 2000.0, 3000.0]},
                           geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100),
                                     shapely.box(200, 0, 300, 100)], crs=CRS)
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["一社区", "二社区"], "households": [1000.0, 1000.0],
                            "community_type": ["老旧城镇", "新建住宅小区"]},
                           geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=CRS)
    return {"subdistrict": sub, "community": com}


def facilities():
    rows = [
        ("elderly_care_center", "建成运营", 50, 20, np.nan, None),
        ("elderly_care_center", "在建", 150, 20, np.nan, None),
        ("elderly_care_station", "建成运营", 60, 50, 10, None),
        ("elderly_care_station", "建成运营", 160, 50, 4, None),
        ("public_cemetery", "建成运营", 320, 50, np.nan, None),  # outside 丙乡, 20 m east of it
        ("community_service", "建成运营", 40, 40, np.nan, "是"),
        ("community_service", "建成运营", 140, 40, np.nan, None),
        ("volunteer_station", "建成运营", 141, 41, np.nan, None),
    ]
    f = gpd.GeoDataFrame({"kind": [r[0] for r in rows], "status": [r[1] for r in rows],
                          "beds": [r[4] for r in rows], "hosts_volunteer_station": [r[5] for r in rows],
                          "floor_area_m2": [np.nan, np.nan, np.nan, np.nan, np.nan, 300.0, 400.0, np.nan]},
                         geometry=[shapely.Point(r[2], r[3]) for r in rows], crs=CRS)
    return f


def ctx(**kw):
    return IndicatorContext(facilities(), units(), CRS, **kw)


def one(ind: Indicator, c=None):
    return evaluate([ind], c or ctx()).iloc[0]


def test_count_only_operating():
    r = one(Indicator("T", "照料中心", "count", 2, unit="家", kinds=("elderly_care_center",), binding=True))
    assert r["actual"] == 1
    assert r["passed"] is False
    assert r["binding"] == "约束性"
    assert r["gap"] == -1


def test_sum_of_beds():
    r = one(Indicator("T", "床位", "sum", 14, unit="张", kinds=("elderly_care_station",), params={"attribute": "beds"}))
    assert r["actual"] == 14
    assert r["passed"] is True


def test_unit_coverage_filter_and_distance():
    ind = Indicator("T", "中心", "unit_coverage", 100, kinds=("elderly_care_center",), level="subdistrict")
    r = one(ind)
    assert r["actual"] == pytest.approx(100 / 3)  # only 甲 (the one in 乙 is under construction)
    assert "乙镇" in r["detail"]
    towns = Indicator("FN", "公墓", "unit_coverage", 80, kinds=("public_cemetery",), level="subdistrict",
                      params={"unit_filter": "[乡镇]$"})
    assert one(towns)["actual"] == 0.0
    near = Indicator("FN", "公墓", "unit_coverage", 50, kinds=("public_cemetery",), level="subdistrict",
                     params={"unit_filter": "[乡镇]$", "within_m": 25.0})
    r = one(near)
    assert r["actual"] == 50.0  # 丙乡 is within 25 m of the cemetery; 乙镇 is not
    assert r["passed"] is True


def test_per_1000_beds():
    r = one(Indicator("T", "床位/千人", "per_1000", 7, unit="张/千人", kinds=("elderly_care_station",),
                      params={"attribute": "beds", "denominator": "population", "scale": 1000}))
    assert r["actual"] == pytest.approx(14 / 6000 * 1000)
    assert r["passed"] is False


def test_co_location_by_distance_or_flag():
    r = one(Indicator("T", "志愿", "co_location", 100, kinds=("community_service",),
                      params={"sub_kinds": ["volunteer_station"], "distance_m": 5, "flag": "hosts_volunteer_station"}))
    assert r["actual"] == 100.0
    r2 = one(Indicator("T", "志愿", "co_location", 100, kinds=("community_service",),
                       params={"sub_kinds": ["volunteer_station"], "distance_m": 1}))
    assert r2["actual"] == 0.0  # 1.4 m away, no flag used


def test_area_methods():
    agg = one(Indicator("CS-01", "每百户", "area_per_100_households", 35, unit="㎡/百户",
                        kinds=("community_service",), level="community"))
    assert agg["actual"] == pytest.approx(700 / 2000 * 100)
    assert agg["passed"] is True
    share = one(Indicator("CS-02", "达标率", "area_standard_pass", 100, kinds=("community_service",)))
    # C1 (old, 1000 hh): needs 300, has 300 → pass; C2 (new estate): needs 500, has 400 → fail
    assert share["actual"] == 50.0


def test_service_circle_uses_the_reach_callback():
    dem = gpd.GeoDataFrame({"households": [10.0, 30.0, 60.0]}, geometry=[shapely.Point(0, 0)] * 3, crs=CRS)
    seen = []

    def minutes(kinds):
        seen.append(tuple(kinds))
        return pd.Series([3.0, 14.9, np.nan])

    r = one(Indicator("SC", "15分钟", "service_circle", 100, kinds=("elderly_care_station",),
                      params={"minutes": 15, "weight": "households"}), ctx(demand=dem, minutes_to_nearest=minutes))
    assert seen == [("elderly_care_station",)]
    assert r["actual"] == 40.0
    no_net = one(Indicator("SC", "15分钟", "service_circle", 100, kinds=("x",)))
    assert np.isnan(no_net["actual"])
    assert no_net["passed"] is None
    assert "network" in no_net["detail"]


def test_plan_sets_ship_binding_flags_and_overrides():
    ids = {i.id: i for i in PLAN_SETS["mentougou"]}
    assert ids["EC-04"].target == 36
    assert ids["EC-04"].binding
    assert ids["FN-02"].target == 80
    assert not ids["EC-11"].binding
    cf = {i.id: i for i in PLAN_SETS["chifeng"]}
    assert cf["EC-06"].target == 90
    assert cf["EC-06"].binding
    assert cf["CS-01"].target == 35
    cfg = {"indicators": {"plan": "mentougou", "targets": {"EC-04": 40}, "params": {"FN-02": {"within_m": 3000}},
                          "custom": [{"id": "X-01", "name_zh": "儿童之家社区覆盖率", "method": "unit_coverage",
                                      "kinds": ["children_home"], "level": "community", "target": 60}]}}
    inds = {i.id: i for i in indicator_set(cfg)}
    assert inds["EC-04"].target == 40
    assert inds["FN-02"].params["within_m"] == 3000
    assert inds["FN-02"].params["name_suffix"] == ["乡", "镇"]
    assert inds["X-01"].method == "unit_coverage"
    assert inds["X-01"].target == 60
    r = evaluate([inds["X-01"]], ctx()).iloc[0]
    assert r["actual"] == 0.0


@pytest.mark.parametrize(("cfg", "match"), [
    ({"indicators": {"plan": "nowhere"}}, "plan"),
    ({"indicators": {"plan": "chifeng", "targets": {"EC-04": 3}}}, "EC-04"),
    ({"indicators": {"plan": "none", "custom": [{"id": "X", "name_zh": "x", "method": "magic", "target": 1}]}}, "magic"),
    ({"indicators": {"plan": "none", "custom": [{"id": "X", "name_zh": "x", "method": "count", "target": 1,
                                                 "comparator": "=>"}]}}, "comparator"),
])
def test_config_errors(cfg, match):
    with pytest.raises(ConfigError, match=match):
        indicator_set(cfg)


def test_plan_set_by_data_alone_every_problem_at_once(tmp_path):
    """A bureau's own plan file: loaded and evaluated with no code; a bad file lists every problem."""
    from mzgis.analysis.indicators import load_plan

    good = tmp_path / "plan.toml"
    good.write_text("""
[plan]
id = "xicheng"
name_zh = "西城区民政规划（测试）"

[[indicators]]
id = "T-01"
name_zh = "街道养老照料中心覆盖率"
method = "unit_coverage"
kinds = ["养老照料中心"]
level = "subdistrict"
target = 60
comparator = "≥"
source = "测试规划第1项"

[[indicators]]
id = "T-02"
name_zh = "养老照料中心不超过"
method = "count"
kinds = ["elderly_care_center"]
target = 1
unit = "家"
comparator = "<="
""", encoding="utf-8")
    plan = load_plan(good)
    assert [i.id for i in plan.indicators] == ["T-01", "T-02"]
    assert plan.indicators[0].kinds == ("elderly_care_center",)  # Chinese kind names accepted
    t = evaluate(list(plan.indicators), ctx()).set_index("indicator_id")
    assert t.loc["T-01", "comparator"] == "≥"
    assert t.loc["T-02", "comparator"] == "≤"
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[plan]
id = "x"
name_zh = "x"

[[indicators]]
id = "B-01"
name_zh = "a"
method = "unit_coverag"
target = 1

[[indicators]]
id = "B-02"
name_zh = "b"
method = "count"
target = "many"
comparator = "=>"
kinds = ["养老院子"]

[[indicators]]
id = "B-03"
name_zh = "c"
method = "count"
target = 1
levle = "community"
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_plan(bad)
    msg = str(err.value)
    for part in ("unit_coverag", "did you mean 'unit_coverage'", "many", "=>", "养老院子", "levle",
                 "did you mean 'level'"):
        assert part in msg, part
    assert "5 处问题" in msg


@pytest.mark.parametrize(("comparator", "at", "below", "above"), [
    ("≥", True, False, True), (">", False, False, True), ("≤", True, True, False), ("<", False, True, False),
    ("=", True, False, False),
])
def test_comparators_at_the_boundary(comparator, at, below, above):
    ind = Indicator("X", "x", "count", 10, comparator=comparator)
    assert ind.passes(10.0) is at
    assert ind.passes(9.999) is below
    assert ind.passes(10.001) is above


def test_shipped_plans_name_their_sources_in_plain_chinese():
    for name in PLAN_SETS:
        for ind in PLAN_SETS[name]:
            assert ind.plan, ind.id
            for jargon in ("[ASSUMPTION", "MTG", "CY/DX", "※", ">=", "$", "CF "):
                assert jargon not in ind.plan, (ind.id, ind.plan)
