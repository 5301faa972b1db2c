"""``mzgis inspect WS zones`` and ``inspect WS proximity`` on files imported into a workspace,
against shapely; bad input refused with exit 2, nothing written."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.gis.cli import main
from tests.analysis.test_zones import UTM, X0, Y0, _zones
from tests.conftest import sha256


@pytest.fixture
def zones_ws(tmp_path):
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="测试旗")
    rng = np.random.default_rng(5)
    xy = rng.uniform([X0 - 500, Y0 - 500], [X0 + 5500, Y0 + 3500], size=(40, 2))
    dem = gpd.GeoDataFrame({"名称": [f"村{i}" for i in range(40)], "人口": rng.integers(10, 500, 40)},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM)
    centers = gpd.GeoDataFrame({"feature_id": ["C1", "C2", "C3"], "名称": ["甲中心", "乙中心", "丙中心"],
                                "状态": ["建成运营", "建成运营", "规划"]},
                               geometry=[shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 4000, Y0 + 2500),
                                         shapely.Point(X0 + 1000, Y0 + 500)], crs=UTM)
    health = gpd.GeoDataFrame({"feature_id": ["H1", "H2"], "名称": ["卫生站一", "卫生站二"], "类别": ["卫生服务站"] * 2},
                              geometry=[shapely.Point(X0 + 400, Y0 + 500), shapely.Point(X0 + 9000, Y0)], crs=UTM)
    for name, g, args in [("zones", _zones(), ["--type", "zones", "--id-field", "feature_id"]),
                          ("villages", dem, ["--type", "demand"]),
                          ("centers", centers, ["--type", "facilities", "--kind", "街道乡镇养老照料中心", "--id-field", "feature_id"]),
                          ("health", health, ["--type", "place_names", "--id-field", "feature_id"])]:
        f = tmp_path / f"{name}.geojson"
        g.to_crs(4326).to_file(f, driver="GeoJSON")
        assert main(["import", str(ws.root), str(f), "--layer", name, *args]) == 0
    return ws, dem, centers, health


def test_zones_command(zones_ws, capsys):
    ws, dem, _, _ = zones_ws
    capsys.readouterr()
    assert main(["inspect", str(ws.root), "zones", "--zones", "zones"]) == 0
    out = capsys.readouterr().out
    t = pd.read_csv(ws.root / "out" / "zones_zones.csv").set_index("zone_id")
    for zid, poly in zip(["Z1", "Z2"], _zones().geometry, strict=True):
        inside = [shapely.within(p, poly) for p in dem.geometry]
        assert t.loc[zid, "population"] == dem.loc[inside, "人口"].sum()
    # C1 (operating) and C3 (planned) in Z1, C2 in Z2: every status is a facility inside
    assert t["facilities:elderly_care_center"].tolist() == [2, 1]
    assert "城区 火葬区: 2 km²" in out
    assert "设施 facilities 2 (elderly_care_center 2)" in out


def test_proximity_command(zones_ws, capsys):
    ws, _, centers, health = zones_ws
    capsys.readouterr()
    assert main(["inspect", str(ws.root), "proximity", "--layer", "街道乡镇养老照料中心", "--near", "health",
                 "--max-m", "1000"]) == 0
    out = capsys.readouterr().out
    t = pd.read_csv(next((ws.root / "out").glob("proximity_*.csv")))
    ops = centers[centers["状态"] == "建成运营"]  # the planned one is not counted
    d = np.array([[shapely.distance(p, q) for q in health.geometry] for p in ops.geometry])
    assert t["feature_id"].tolist() == ops["feature_id"].tolist()
    assert t["nearest_id"].tolist() == [health["feature_id"].iloc[j] for j in d.argmin(axis=1)]
    assert t["distance_m"].to_numpy() == pytest.approx(d.min(axis=1), abs=0.05)
    assert t["far"].tolist() == [False, True]
    assert "2 个 features, 1 个超出 farther" in out
    assert "超出 far: 乙中心 → 卫生站一" in out


@pytest.mark.parametrize(("args", "said"), [
    (["zones", "--zones", "health"], "not a polygon layer"),
    (["zones", "--zones", "nope"], "--zones nope: 没有图层 no such layer"),
    (["zones"], "needs --zones LAYER"),
    (["proximity", "--layer", "centers", "--near", "health", "--max-m", "0"], "must be a positive number"),
    (["proximity", "--layer", "centers", "--near", "health", "--max-m", "far"], "不是数字 is not a number"),
    (["proximity", "--layer", "centers", "--near", "医院", "--max-m", "100"], "neither a layer nor a facility kind"),
    (["proximity", "--layer", "centers", "--near", "health"], "needs --layer A --near B --max-m M"),
])
def test_bad_input_exit_2_nothing_written(zones_ws, capsys, args, said):
    ws, _, _, _ = zones_ws
    before = sha256(ws.store_path)
    rc = main(["inspect", str(ws.root), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert said in err
    assert "Traceback" not in err
    assert not list((ws.root / "out").glob("*.csv"))
    assert sha256(ws.store_path) == before
