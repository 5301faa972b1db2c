"""access and compare commands on the demo workspace (real Helsinki network, sample facilities)."""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
import tomli_w

from mzgis.gis.cli import main
from tests.conftest import copy_demo

KIND = "elderly_care_station"


@pytest.fixture(scope="module")
def demo_ws(demo_once, tmp_path_factory):
    return copy_demo(demo_once, tmp_path_factory.mktemp("acc") / "ws")


def _csv(path):
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"unit_code": str, "demand_id": str})


def test_access_files_units_and_equity(demo_ws, capsys):
    assert main(["access", str(demo_ws), "--kind", "社区养老服务驿站", "--supply", "floor_area_m2",
                 "--demand-field", "households", "--target", "30"]) == 0
    out = capsys.readouterr().out
    assert "每百户建筑面积(㎡)" in out
    assert "Gini" in out
    assert "15 分钟" in out
    o = demo_ws / "out"
    pts = _csv(o / f"access_{KIND}.csv")
    assert list(pts.columns[:5]) == ["demand_id", "district", "subdistrict", "community", "demand"]
    assert {"access", "supply_reachable", "access_unit"} <= set(pts.columns)
    assert set(pts["access_unit"]) == {"floor_area_m2_per_100_households"}
    units = _csv(o / f"access_{KIND}_units.csv")
    assert {"access", "demand", "supply_reachable", "share_below_target", "gini"} <= set(units.columns)
    jur = units[units["level"] == "jurisdiction"].iloc[0]
    # demand-weighted mean of the points, and the share below target from the points
    w, a = pts["demand"], pts["access"]
    assert jur["access"] == pytest.approx((w * a).sum() / w.sum(), rel=1e-6)
    assert jur["share_below_target"] == pytest.approx(w[a < 30].sum() / w.sum(), rel=1e-6)
    # 2SFCA-family methods hand out exactly the supply of the facilities within reach
    from mzgis.layers.store import open_store

    st = open_store(demo_ws / "project.gpkg")
    fac = st.read("elderly_stations")
    op = fac[fac["status"] == "建成运营"]
    assert (w * a).sum() / 100 == pytest.approx(op["floor_area_m2"].sum(), rel=1e-6)
    worst = _csv(o / f"access_{KIND}_worst.csv")
    assert len(worst) == min(10, int(((units["level"] == "community") & (units["demand"] > 0)).sum()))
    assert worst["access"].is_monotonic_increasing
    for f in ("access_{k}_lorenz.png", "access_{k}.html", "access_{k}_map.html", "access_{k}.xlsx"):
        assert (o / f.format(k=KIND)).stat().st_size > 0
    layer = st.read(f"access_{KIND}")
    assert len(layer) == len(pts)
    page = (o / f"access_{KIND}_map.html").read_text(encoding="utf-8")
    # the choropleth is a named overlay of the layer control (folium writes names JSON-escaped)
    assert json.dumps("可达性 access: 每百户建筑面积(㎡)")[1:-1] in page


def test_missing_beds_is_a_clear_error_and_writes_nothing(demo_ws, capsys):
    from mzgis.layers.store import open_store

    before = open_store(demo_ws / "project.gpkg").dump()
    assert main(["access", str(demo_ws), "--kind", KIND]) == 2
    err = capsys.readouterr().err
    assert "床位数" in err
    assert "--supply count" in err
    assert "Traceback" not in err
    assert open_store(demo_ws / "project.gpkg").dump() == before
    assert main(["access", str(demo_ws), "--kind", KIND, "--supply", "count", "--decay", "cubic"]) == 2
    assert "cubic" in capsys.readouterr().err
    # `report --access KIND` gives the same error with its own flag in the hint, and writes no report
    reports = sorted(p.name for p in (demo_ws / "out").glob("report*"))
    assert main(["report", str(demo_ws), "--access", "社区养老服务驿站"]) == 2
    err = capsys.readouterr().err
    assert "床位数" in err
    assert "--access 社区养老服务驿站:count" in err
    assert "--supply" not in err
    assert sorted(p.name for p in (demo_ws / "out").glob("report*")) == reports
    assert open_store(demo_ws / "project.gpkg").dump() == before


def test_compare_scenarios_conserve_per_unit(demo_ws, capsys):
    assert main(["compare", str(demo_ws), "--kind", KIND, "--scenario", "today,planned,proposed",
                 "--supply", "count"]) == 0
    out = capsys.readouterr().out
    assert "proposed" in out
    t = _csv(demo_ws / "out" / f"compare_{KIND}.csv")
    for s in ("planned", "proposed"):
        assert (t[f"households_covered_{s}"] >= t["households_covered_today"] - 1e-9).all()
        assert (t[f"access_{s}"].fillna(0) >= t["access_today"].fillna(0) - 1e-9).all()
    jur = t[t["level"] == "jurisdiction"].iloc[0]
    assert jur["facilities_planned"] > jur["facilities_today"]
    assert jur["households_covered_change_proposed"] > 0
    from mzgis.layers.store import open_store

    new = open_store(demo_ws / "project.gpkg").read(f"newly_covered_{KIND}_proposed")
    assert new["households"].sum() == pytest.approx(jur["households_covered_change_proposed"])
    assert (demo_ws / "out" / f"compare_{KIND}.xlsx").exists()
    assert (demo_ws / "out" / f"compare_{KIND}_lorenz.png").exists()
    assert main(["compare", str(demo_ws), "--kind", KIND, "--scenario", "today,tomorrow"]) == 2
    assert "tomorrow" in capsys.readouterr().err


def test_life_circle_distances_from_config(demo_ws, capsys):
    cfg_path = demo_ws / "mzgis.toml"
    original = cfg_path.read_bytes()
    cfg = tomllib.loads(original.decode("utf-8"))
    try:
        cfg["travel"]["threshold_mode"] = "distance"
        cfg["travel"]["circle_distances_m"] = [300, 500, 1000]
        cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
        assert main(["access", str(demo_ws), "--kind", KIND, "--supply", "count", "--method", "2sfca"]) == 0
        assert "1000 m 步行距离" in capsys.readouterr().out
        units = _csv(demo_ws / "out" / f"access_{KIND}_units.csv")
        assert set(units["threshold"]).pop().startswith("1000 m")
        # --minutes overrides the config
        assert main(["access", str(demo_ws), "--kind", KIND, "--supply", "count", "--minutes", "10"]) == 0
        assert "10 分钟" in capsys.readouterr().out
        cfg["travel"]["circle_distances_m"] = [300, 1000]
        cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
        assert main(["access", str(demo_ws), "--kind", KIND, "--supply", "count"]) == 2
        assert "circle_distances_m" in capsys.readouterr().err
    finally:
        cfg_path.write_bytes(original)


def test_compare_map_opens_offline_with_choropleths_and_newly_covered(demo_ws, tmp_path):
    from tests.maps.browser import non_blank, visit

    assert main(["compare", str(demo_ws), "--kind", KIND, "--scenario", "today,proposed", "--supply", "count"]) == 0
    page = demo_ws / "out" / f"compare_{KIND}_map.html"
    shot = tmp_path / "cmp.png"
    v = visit(page, screenshot=shot,
              script="Array.from(document.querySelectorAll('.leaflet-control-layers label')).map(e => e.innerText.trim())")
    assert v.network_requests == []
    assert v.console_errors == []
    layers = " | ".join(v.result)
    for name in ("可达性 access today", "可达性 access proposed", "新覆盖需求 newly covered demand: proposed"):
        assert name in layers, (name, layers)
    assert non_blank(shot)
