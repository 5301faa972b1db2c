"""Siting and the area standard on a hand-made workspace, against hand-computed answers.

These go through the public entry points (``mzgis.gis.pipelines.run_site``/``run_standards``) so
they hold wherever the computation lives. Each case is built so that a known mistake changes the
answer: siting that forgets what the existing stations already cover puts the new site beside
them; households per community summed to zero (or not summed) make an under-provided community
pass its per-100-household rule.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.gis.pipelines import build_network, run_site, run_standards
from mzgis.gis.workspace import init_workspace

UTM = "EPSG:32650"  # UTM 50N; the street below lies in Beijing (about 116.3° E, 39.9° N)
X0, Y0 = 440_000.0, 4_420_000.0


def _write(ws, name, gdf, layer_type, **kw):
    ws.store.write_layer(name, gdf, layer_type=layer_type, **kw)


def _points(ids, xs, **cols):
    return gpd.GeoDataFrame({"feature_id": ids, **cols}, geometry=gpd.points_from_xy(np.asarray(xs) + X0,
                                                                                       [Y0] * len(ids)), crs=UTM)


@pytest.fixture
def street_ws(tmp_path):
    """A 4 km straight street (vertices every 100 m), one operating station at its west end and
    three compounds: A (100 households) 100 m from the station, B (60) at 2 km, C (40) at 3 km."""
    ws = init_workspace(tmp_path / "ws", name="测试区", metric_crs=UTM)
    xs = np.arange(0.0, 4001.0, 100.0)
    roads = gpd.GeoDataFrame({"name": ["长街"]}, geometry=[shapely.LineString(np.column_stack([xs + X0, [Y0] * xs.size]))],
                             crs=UTM)
    path = tmp_path / "roads.gpkg"
    roads.to_file(path, driver="GPKG")
    build_network(ws, path)
    _write(ws, "stations", _points(["S1"], [0.0], kind=["elderly_care_station"], status=["建成运营"], name=["驿站"]),
           "facilities", kind="elderly_care_station")
    _write(ws, "homes", _points(["A", "B", "C"], [100.0, 2000.0, 3000.0], households=[100.0, 60.0, 40.0]), "demand")
    return ws


def _utm_x(table):
    pts = gpd.GeoSeries(gpd.points_from_xy(table["x"], table["y"]), crs="EPSG:4326").to_crs(UTM)
    return pts.x.to_numpy() - X0


def test_site_adds_coverage_where_the_existing_station_does_not_reach(street_ws):
    ws = street_ws
    t_min = 5.0
    limit = t_min * ws.walk_speed_m_per_min("walk")  # 333 m: the station covers A only
    run = run_site(ws, kind="elderly_care_station", add=1, minutes=t_min, method="exact")
    t = run.table
    # hand: A (100) is already covered; the best single new site covers B (60), not A again
    assert t["households_gained"].tolist() == [60.0]
    assert t["cumulative_share"].iloc[0] == pytest.approx((100 + 60) / 200)
    assert abs(_utm_x(t)[0] - 2000.0) <= limit + 1e-6
    assert run.result.covered == pytest.approx(160.0)


def test_site_target_share_counts_the_existing_coverage(street_ws):
    # 80 % of 200 households: A (already covered) + B; one new site is enough
    run = run_site(street_ws, kind="elderly_care_station", target=0.8, minutes=5.0, method="exact")
    assert len(run.table) == 1
    assert run.table["cumulative_share"].iloc[-1] == pytest.approx(0.8)
    # 100 %: B and C are 1 km apart, more than twice 333 m, so two new sites
    run = run_site(street_ws, kind="elderly_care_station", target=1.0, minutes=5.0, method="exact")
    assert sorted(np.round(run.table["households_gained"], 6)) == [40.0, 60.0]


@pytest.fixture
def communities_ws(tmp_path):
    """Two communities without household figures; the households come from demand points."""
    ws = init_workspace(tmp_path / "ws", name="测试区", metric_crs=UTM)
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["东社区", "西社区"], "level": ["community"] * 2},
                           geometry=[shapely.box(X0, Y0 - 500, X0 + 1000, Y0 + 500),
                                     shapely.box(X0 + 1000, Y0 - 500, X0 + 2000, Y0 + 500)], crs=UTM)
    _write(ws, "communities", com, "admin_units", level="community")
    # C1: 500 + 600 + 400 = 1,500 households; C2: 500
    _write(ws, "homes", _points(["h1", "h2", "h3", "h4"], [100.0, 400.0, 900.0, 1500.0],
                                households=[500.0, 600.0, 400.0, 500.0]), "demand")
    _write(ws, "centres", _points(["K1"], [500.0], kind=["community_service"], status=["建成运营"],
                                  floor_area_m2=[400.0], name=["东社区服务中心"]), "facilities", kind="community_service")
    return ws


def test_area_standard_uses_the_households_of_each_community(communities_ws):
    area = run_standards(communities_ws).area.set_index("unit_code")
    # hand: default rule max(30 m² per 100 households, 300 m²)
    assert area.loc["C1", "households"] == 1500.0
    assert area.loc["C1", "required_m2"] == pytest.approx(max(30 * 1500 / 100, 300))  # 450
    assert area.loc["C1", "floor_area_m2"] == 400.0
    assert area.loc["C1", "deficit_m2"] == pytest.approx(50.0)
    assert not area.loc["C1", "passed"]
    assert area.loc["C1", "m2_per_100_households"] == pytest.approx(400 / 1500 * 100)
    assert area.loc["C2", "households"] == 500.0
    assert area.loc["C2", "required_m2"] == 300.0
    assert area.loc["C2", "deficit_m2"] == 300.0
