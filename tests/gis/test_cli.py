"""The command line end to end: init, import, network, reach, demo."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from mzgis.gis.cli import main
from tests.conftest import shared


def test_init_writes_config_and_store(tmp_path):
    assert main(["init", str(tmp_path / "w"), "--name", "门头沟区民政局"]) == 0
    cfg = tomllib.loads((tmp_path / "w" / "mzgis.toml").read_text(encoding="utf-8"))
    assert cfg["project"]["name"] == "门头沟区民政局"
    assert cfg["project"]["metric_crs"] == "auto"
    assert cfg["travel"]["walk_speed_km_per_h"] == 4.0
    assert cfg["travel"]["elderly_walk_speed_km_per_h"] == 3.0
    assert cfg["travel"]["thresholds_min"] == [5, 10, 15]
    assert cfg["indicators"]["plan"] == "none"  # no plan's targets applied silently
    assert cfg["demand"]["persons_per_household"] == 2.6
    assert (tmp_path / "w" / "project.gpkg").exists()
    # refuses to overwrite
    assert main(["init", str(tmp_path / "w"), "--name", "x"]) == 2


def test_init_names_the_plan(tmp_path, capsys):
    assert main(["init", str(tmp_path / "a"), "--name", "赤峰市民政局", "--plan", "chifeng"]) == 0
    assert "赤峰市“十四五”民政事业发展规划" in capsys.readouterr().out
    cfg = tomllib.loads((tmp_path / "a" / "mzgis.toml").read_text(encoding="utf-8"))
    assert cfg["indicators"]["plan"] == "chifeng"
    # standards without a plan: a clear error, not Mentougou's targets
    assert main(["init", str(tmp_path / "b"), "--name", "某区"]) == 0
    assert main(["standards", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "未指定规划指标集" in err
    assert "--plan" in err
    # a bureau's own plan file is checked, then copied into the workspace
    own = tmp_path / "own.toml"
    own.write_text('[plan]\nid = "own"\nname_zh = "本区规划"\n\n[[indicators]]\nid = "O-1"\nname_zh = "驿站数"\n'
                   'method = "count"\nkinds = ["社区养老服务驿站"]\ntarget = 3\nunit = "家"\n', encoding="utf-8")
    assert main(["init", str(tmp_path / "c"), "--name", "某区", "--plan", str(own), "--metric-crs", "EPSG:32650"]) == 0
    assert (tmp_path / "c" / "plan.toml").read_bytes() == own.read_bytes()
    assert "本区规划" in capsys.readouterr().out
    assert main(["standards", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "本区规划" in out
    assert "O-1" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[plan]\nid = "x"\nname_zh = "x"\n\n[[indicators]]\nid = "B"\nname_zh = "b"\n'
                   'method = "cnt"\ntarget = 1\n', encoding="utf-8")
    assert main(["init", str(tmp_path / "d"), "--name", "x", "--plan", str(bad)]) == 2
    assert "cnt" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # nothing written


def test_commands_need_a_workspace(tmp_path, capsys):
    assert main(["layers", str(tmp_path)]) == 2
    assert "mzgis init" in capsys.readouterr().err


def test_bad_config_is_reported(tmp_path, capsys):
    main(["init", str(tmp_path / "w"), "--name", "x"])
    p = tmp_path / "w" / "mzgis.toml"
    p.write_text(p.read_text(encoding="utf-8").replace("walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = -4"),
                 encoding="utf-8")
    assert main(["layers", str(tmp_path / "w")]) == 2
    assert "walk_speed_km_per_h" in capsys.readouterr().err


def test_network_and_reach_on_real_extract(tmp_path, capsys):
    osm = shared("osm/beijing_haidian_tsinghua_pku.osm")
    ws = tmp_path / "w"
    main(["init", str(ws), "--name", "海淀"])
    fac = tmp_path / "f.csv"
    fac.write_text("编号,名称,经度,纬度\nF1,清华驿站,116.3260,40.0030\nF2,燕园驿站,116.3100,39.9930\n"
                   "F3,远处驿站,116.2000,39.9000\n", encoding="utf-8")
    dem = tmp_path / "d.csv"
    dem.write_text("编号,名称,经度,纬度,户数\nD1,甲,116.3250,40.0020,100\nD2,乙,116.3200,40.0100,80\n"
                   "D3,丙,116.3300,39.9920,50\n", encoding="utf-8")
    assert main(["import", str(ws), str(fac), "--layer", "stations", "--type", "facilities", "--kind",
                 "社区养老服务驿站", "--coords", "wgs84"]) == 0
    assert main(["import", str(ws), str(dem), "--layer", "homes", "--type", "demand", "--coords", "wgs84"]) == 0
    assert main(["network", str(ws), str(osm)]) == 0
    assert "built and cached" in capsys.readouterr().out
    assert main(["network", str(ws), str(osm)]) == 0
    assert "loaded from cache" in capsys.readouterr().out
    assert main(["reach", str(ws), "--facilities", "stations", "--demand", "homes"]) == 0
    out = capsys.readouterr().out
    assert "F3" in out  # the far station is reported, not silently dropped
    table = pd.read_csv(ws / "out" / "reach.csv", dtype={"demand_id": str}, encoding="utf-8-sig")
    assert list(table.columns[:4]) == ["demand_id", "nearest_facility_id", "distance_m", "minutes"]
    assert table["demand_id"].tolist() == ["D1", "D2", "D3"]
    near = table.set_index("demand_id")
    assert near.loc["D1", "nearest_facility_id"] == "F1"
    assert near.loc["D1", "distance_m"] < 400
    assert near.loc["D1", "minutes"] == pytest.approx(near.loc["D1", "distance_m"] / (4000 / 60), abs=0.01)
    # elderly profile: slower, so more minutes
    assert main(["reach", str(ws), "--facilities", "stations", "--demand", "homes", "--profile", "elderly"]) == 0
    slow = pd.read_csv(ws / "out" / "reach.csv", encoding="utf-8-sig").set_index("demand_id")
    assert slow.loc["D1", "minutes"] == pytest.approx(near.loc["D1", "distance_m"] / 50, abs=0.01)


def test_reach_without_network_is_a_clear_error(tmp_path, capsys):
    main(["init", str(tmp_path / "w"), "--name", "x"])
    assert main(["reach", str(tmp_path / "w"), "--facilities", "a", "--demand", "b"]) == 2
    assert "mzgis network" in capsys.readouterr().err


def test_demo_runs_end_to_end(demo_once):
    ws, out = demo_once
    assert "reach.csv" in out
    reach = pd.read_csv(ws / "out" / "reach.csv", encoding="utf-8-sig")
    assert len(reach) == 400
    assert reach["snapped"].all()
    assert reach["distance_m"].notna().mean() > 0.5
    from mzgis.layers.store import open_store

    store = open_store(ws / "project.gpkg")
    names = store.layer_names()
    assert {"communities", "subdistricts", "residential", "elderly_stations"} <= set(names)
    res = store.read("residential")
    assert res["name"].str.startswith("示例").all()
    assert res["数据来源"].str.contains("示例/sample").all()
