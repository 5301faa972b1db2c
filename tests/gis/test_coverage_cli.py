"""coverage and standards commands on a workspace of real network data."""

from __future__ import annotations

import pandas as pd
import pytest

from mzgis.gis.cli import main
from tests.conftest import copy_demo, shared


@pytest.fixture(scope="module")
def demo_ws(demo_once, tmp_path_factory):
    return copy_demo(demo_once, tmp_path_factory.mktemp("demo") / "ws")


def test_demo_ends_with_coverage_and_indicator_tables(demo_once):
    ws, out = demo_once
    assert "服务圈覆盖" in out
    assert "指标评估" in out
    assert "EC-04" in out
    assert "coverage_elderly_care_station.csv" in out
    assert "indicators.csv" in out
    assert "map.html" in out
    assert "report.html" in out
    assert (ws / "out" / "map_coverage.png").exists()


def test_coverage_files_and_conservation(demo_ws, capsys):
    assert main(["coverage", str(demo_ws), "--kind", "社区养老服务驿站", "--minutes", "5,10,15"]) == 0
    out = capsys.readouterr().out
    assert "15 分钟" in out
    t = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station.csv", encoding="utf-8-sig",
                    dtype={"unit_code": str})
    assert list(t.columns) == ["unit_code", "unit_name", "level", "minutes", "households", "households_covered",
                               "population", "population_covered", "elderly", "elderly_covered", "share_covered",
                               "facility_kind", "facility_status"]
    # every row says what it counted: the kind and the statuses (default: operating only)
    assert set(t["facility_kind"]) == {"社区养老服务驿站"}
    assert set(t["facility_status"]) == {"建成运营"}
    assert "建成运营" in out
    assert set(t["level"]) == {"jurisdiction", "district", "subdistrict", "community"}
    for (_level, m), grp in t.groupby(["level", "minutes"]):
        jur = t[(t.level == "jurisdiction") & (t.minutes == m)].iloc[0]
        assert grp["households"].sum() == pytest.approx(jur["households"])
        assert grp["households_covered"].sum() == pytest.approx(jur["households_covered"])
    assert t["share_covered"].dropna().between(0, 1).all()
    x = pd.read_excel(demo_ws / "out" / "coverage_elderly_care_station.xlsx")
    assert "户数覆盖率" in x.columns
    assert "单位名称" in x.columns
    unc = pd.read_csv(demo_ws / "out" / "uncovered_elderly_care_station.csv", encoding="utf-8-sig")
    assert unc["population_uncovered"].is_monotonic_decreasing
    from mzgis.layers.store import open_store

    gaps = open_store(demo_ws / "project.gpkg").read("gaps_elderly_care_station")
    jur15 = t[(t.level == "jurisdiction") & (t.minutes == 15)].iloc[0]
    assert gaps["households"].sum() == pytest.approx(jur15["households"] - jur15["households_covered"])


def test_coverage_polygon_layer_has_the_csv_numbers(demo_ws):
    """A GeoPackage of unit polygons with the coverage fields (one column per threshold), for QGIS
    users to shade: every number equal to the CSV's."""
    import numpy as np
    import pyogrio

    from mzgis.gis.coverage_layer import coverage_layer_path

    assert main(["coverage", str(demo_ws), "--kind", "社区养老服务驿站", "--minutes", "5,15"]) == 0
    t = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station.csv", encoding="utf-8-sig",
                    dtype={"unit_code": str})
    path = coverage_layer_path(demo_ws / "out", "elderly_care_station")
    assert path.parent == demo_ws / "out"
    listed = {str(n): g for n, g in pyogrio.list_layers(path)}
    layers = {n for n, g in listed.items() if g}
    assert layers == {"community", "subdistrict", "district"}
    assert set(listed) - layers == {"layer_styles"}  # their QGIS styles (a table without geometry)
    for level in layers:
        g = pyogrio.read_dataframe(path, layer=level).set_index("unit_code")
        assert g.geometry.notna().all()
        assert set(g.geom_type) <= {"Polygon", "MultiPolygon"}
        rows = t[t["level"] == level]
        assert set(rows.loc[~rows["unit_code"].isin(g.index), "unit_name"]) <= {"未归属 unassigned"}  # no polygon
        rows = rows[rows["unit_code"].isin(g.index)]
        assert len(g) == rows["unit_code"].nunique() > 0
        for m in (5, 15):
            r = rows[rows["minutes"] == m].set_index("unit_code").loc[g.index]
            for col in ("households_covered", "population_covered", "elderly_covered", "share_covered"):
                np.testing.assert_allclose(g[f"{col}_{m}min"].to_numpy(float), r[col].to_numpy(float),
                                           rtol=0, atol=1e-9, equal_nan=True)
            np.testing.assert_allclose(g["households"].to_numpy(float), r["households"].to_numpy(float))
            assert (g["unit_name"] == r["unit_name"]).all()
        assert set(g["facility_status"]) == {"建成运营"}


def test_elderly_profile_covers_less(demo_ws):
    main(["coverage", str(demo_ws), "--kind", "elderly_care_station"])
    walk = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station.csv", encoding="utf-8-sig")
    main(["coverage", str(demo_ws), "--kind", "elderly_care_station", "--profile", "elderly"])
    slow = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station_elderly.csv", encoding="utf-8-sig")  # its own file: the walk run is not overwritten
    j = (walk.level == "jurisdiction") & (walk.minutes == 15)
    assert slow.loc[j, "households_covered"].iloc[0] < walk.loc[j, "households_covered"].iloc[0]


def test_standards_files(demo_ws, capsys):
    assert main(["standards", str(demo_ws)]) == 0
    out = capsys.readouterr().out
    assert "EC-04" in out
    ind = pd.read_csv(demo_ws / "out" / "indicators.csv", encoding="utf-8-sig")
    assert list(ind.columns[:8]) == ["indicator_id", "name_zh", "target", "comparator", "actual", "unit", "passed",
                                     "binding"]
    assert set(ind["binding"]) <= {"约束性", "预期性"}
    assert ind.set_index("indicator_id").loc["EC-04", "actual"] == 4  # 4 of the 6 sample stations operate
    x = pd.read_excel(demo_ws / "out" / "indicators.xlsx")
    assert {"指标名称", "目标值", "现状值", "是否达标", "指标属性"} <= set(x.columns)
    area = pd.read_csv(demo_ws / "out" / "area_standard.csv", encoding="utf-8-sig")
    assert len(area) == 12
    assert (area["deficit_m2"] >= 0).all()
    assert main(["standards", str(demo_ws), "--plan", "chifeng"]) == 0
    cf = pd.read_csv(demo_ws / "out" / "indicators.csv", encoding="utf-8-sig")
    assert "CS-01" in set(cf["indicator_id"])


def test_coverage_on_real_extract_with_community_polygons(tmp_path, capsys):
    osm = shared("osm/beijing_haidian_tsinghua_pku.osm")
    ws = tmp_path / "w"
    main(["init", str(ws), "--name", "海淀"])
    com = tmp_path / "com.geojson"
    com.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"编码":"C1","名称":"清华社区","户数":3000,"人口":8000},'
        '"geometry":{"type":"Polygon","coordinates":[[[116.315,39.998],[116.332,39.998],[116.332,40.012],[116.315,40.012],[116.315,39.998]]]}},'
        '{"type":"Feature","properties":{"编码":"C2","名称":"燕园社区","户数":2000,"人口":5000},'
        '"geometry":{"type":"Polygon","coordinates":[[[116.300,39.990],[116.315,39.990],[116.315,40.005],[116.300,40.005],[116.300,39.990]]]}}]}',
        encoding="utf-8")
    fac = tmp_path / "f.csv"
    fac.write_text("编号,名称,经度,纬度\nS1,清华驿站,116.3260,40.0030\n", encoding="utf-8")
    assert main(["import", str(ws), str(com), "--layer", "communities", "--type", "admin_units",
                 "--level", "community"]) == 0
    assert main(["import", str(ws), str(fac), "--layer", "stations", "--type", "facilities", "--kind",
                 "社区养老服务驿站", "--coords", "wgs84"]) == 0
    assert main(["network", str(ws), str(osm)]) == 0
    capsys.readouterr()
    assert main(["coverage", str(ws), "--kind", "社区养老服务驿站"]) == 0
    assert "community polygons spread over network nodes" in capsys.readouterr().out
    t = pd.read_csv(ws / "out" / "coverage_elderly_care_station.csv", encoding="utf-8-sig")
    c = t[(t.level == "community") & (t.minutes == 15)].set_index("unit_code")
    assert c.loc["C1", "households"] == pytest.approx(3000)
    assert c.loc["C1", "share_covered"] > c.loc["C2", "share_covered"]


def test_site_command_and_map_layer(demo_ws, capsys):
    assert main(["site", str(demo_ws), "--kind", "社区养老服务驿站", "--add", "2"]) == 0
    out = capsys.readouterr().out
    assert "exact" in out or "greedy" in out
    t = pd.read_csv(demo_ws / "out" / "sites_elderly_care_station.csv", encoding="utf-8-sig")
    assert list(t.columns) == ["rank", "candidate_id", "x", "y", "households_gained", "cumulative_share",
                               "fixed_status", "coord_system"]
    assert set(t["coord_system"]) == {"WGS-84"}
    assert t["rank"].tolist() == [1, 2]
    assert t["cumulative_share"].is_monotonic_increasing
    assert (t["households_gained"] > 0).all()
    # "covered now" is what the stations held fixed cover: the coverage command's figure at 15 min
    assert main(["coverage", str(demo_ws), "--kind", "社区养老服务驿站", "--minutes", "15"]) == 0
    cov = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station_15min.csv", encoding="utf-8-sig")
    jur = cov[cov["level"] == "jurisdiction"].iloc[0]
    now = f"现状覆盖 covered now {jur['households_covered']:,.0f}/{jur['households']:,.0f} 户 households"
    assert now in out
    after = jur["households_covered"] + t["households_gained"].sum()
    assert f"with the 2 new sites {after:,.0f} ({100 * after / jur['households']:.1f}%)" in out
    assert main(["site", str(demo_ws), "--kind", "社区养老服务驿站", "--target", "0.99"]) == 0
    t2 = pd.read_csv(demo_ws / "out" / "sites_elderly_care_station.csv", encoding="utf-8-sig")
    assert len(t2) >= 1
    assert t2["cumulative_share"].iloc[-1] >= 0.99
    assert main(["map", str(demo_ws), "--kinds", "社区养老服务驿站"]) == 0
    page = (demo_ws / "out" / "map.html").read_text(encoding="utf-8")
    assert "proposed sites" in page  # the layer names are JSON-escaped in the page; the ASCII part is plain
    assert main(["site", str(demo_ws), "--kind", "社区养老服务驿站"]) == 2


def test_site_says_when_candidates_were_thinned(demo_ws, capsys, monkeypatch):
    """Above the cap (forced small here) the CLI output says the candidates were thinned and how."""
    from functools import partial

    import mzgis.gis.run_site as run_site_module
    from mzgis.analysis.siting import site_on_network

    monkeypatch.setattr(run_site_module, "site_on_network", partial(site_on_network, max_candidates=200))
    assert main(["site", str(demo_ws), "--kind", "社区养老服务驿站", "--add", "2"]) == 0
    out = capsys.readouterr().out
    assert "抽稀为 thinned to" in out
    assert "候选已抽稀 candidates thinned" in out
    assert "局部调整 local refinement" in out
    t = pd.read_csv(demo_ws / "out" / "sites_elderly_care_station.csv", encoding="utf-8-sig")
    assert t["rank"].tolist() == [1, 2]
    assert t["candidate_id"].str.fullmatch(r"N\d+").all()


def test_inspect_boundaries_uses_the_level_above_by_default(demo_ws):
    assert main(["inspect", str(demo_ws), "boundaries", "--units", "communities"]) == 0
    t = pd.read_csv(demo_ws / "out" / "inspect_boundaries_communities.csv", encoding="utf-8-sig")
    assert len(t) == 0  # the sample grid tiles its subdistricts exactly
    assert main(["edit", str(demo_ws), "communities", "update", "C01", "--set", "parent_code=S9"]) == 0
    assert main(["inspect", str(demo_ws), "boundaries", "--units", "communities"]) == 0
    t = pd.read_csv(demo_ws / "out" / "inspect_boundaries_communities.csv", encoding="utf-8-sig")
    assert t["finding"].tolist() == ["parent_missing"]
    assert t["units"].tolist() == ["C01"]
    assert main(["revert", str(demo_ws), "communities", "C01", "--version", "1"]) == 0


def test_scenario_planned_counts_more_and_says_so(demo_ws, capsys):
    """The demo has 在建 stations: the planned scenario counts them, unit by unit never less."""
    kw = ["--kind", "社区养老服务驿站", "--minutes", "5,10,15"]
    assert main(["coverage", str(demo_ws), *kw]) == 0
    out_today = capsys.readouterr().out
    today = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station.csv", encoding="utf-8-sig",
                        dtype={"unit_code": str})
    assert main(["coverage", str(demo_ws), *kw, "--scenario", "planned"]) == 0
    out_planned = capsys.readouterr().out
    planned = pd.read_csv(demo_ws / "out" / "coverage_elderly_care_station_planned.csv", encoding="utf-8-sig",
                          dtype={"unit_code": str})
    assert "（建成运营，4 处" in out_today
    assert "（建成运营、在建、规划，6 处" in out_planned
    assert set(planned["facility_status"]) == {"建成运营、在建、规划"}
    m = today.merge(planned, on=["unit_code", "level", "minutes"], suffixes=("_t", "_p"))
    assert len(m) == len(today)
    assert (m["households_covered_p"] >= m["households_covered_t"] - 1e-9).all()
    assert (m["households_covered_p"] > m["households_covered_t"]).any()
    # --status names statuses explicitly, in Chinese or English
    assert main(["coverage", str(demo_ws), *kw, "--status", "operating,under_construction"]) == 0
    assert "（建成运营、在建，6 处" in capsys.readouterr().out
    assert main(["coverage", str(demo_ws), *kw, "--status", "废弃"]) == 2
    assert "--status" in capsys.readouterr().err


def test_reach_counts_operating_only_by_default(demo_ws, capsys):
    assert main(["reach", str(demo_ws), "--facilities", "elderly_stations", "--demand", "residential"]) == 0
    out = capsys.readouterr().out
    assert "状态 status 建成运营" in out
    assert "吸附到主路网 snapped to the main network" in out
    t = pd.read_csv(demo_ws / "out" / "reach.csv", encoding="utf-8-sig")
    assert set(t["facility_status"]) == {"建成运营"}
    assert set(t["nearest_facility_id"].dropna()) <= {"YZ01", "YZ02", "YZ04", "YZ05"}


def test_analyses_give_the_same_results_on_postgis(demo_ws, tmp_path, pg_url):
    """The demo workspace moved into PostGIS (`mzgis store copy … --use`): coverage, standards and
    siting write the same tables as on the GeoPackage, and their derived layers land in PostGIS."""
    import shutil

    from mzgis.gis.workspace import Workspace

    pg_ws = tmp_path / "pg"
    shutil.copytree(demo_ws, pg_ws)
    assert main(["store", "copy", str(pg_ws), pg_url, "--use"]) == 0
    (pg_ws / "project.gpkg").unlink()  # nothing can fall back to the file
    assert Workspace.open(pg_ws).store_url == pg_url
    for ws in (demo_ws, pg_ws):
        assert main(["coverage", str(ws), "--kind", "社区养老服务驿站"]) == 0
        assert main(["standards", str(ws)]) == 0
        assert main(["site", str(ws), "--kind", "社区养老服务驿站", "--add", "2"]) == 0
    for name in ("coverage_elderly_care_station.csv", "uncovered_elderly_care_station.csv", "indicators.csv",
                 "sites_elderly_care_station.csv"):
        a = pd.read_csv(demo_ws / "out" / name, encoding="utf-8-sig", dtype=str)
        b = pd.read_csv(pg_ws / "out" / name, encoding="utf-8-sig", dtype=str)
        pd.testing.assert_frame_equal(a, b, obj=name)
    st = Workspace.open(pg_ws).store
    assert {"gaps_elderly_care_station", "sites_elderly_care_station"} <= set(st.layer_names())
    assert main(["reach", str(pg_ws), "--facilities", "elderly_stations", "--demand", "residential"]) == 0
    assert main(["map", str(pg_ws)]) == 0
    assert main(["report", str(pg_ws)]) == 0
    assert (pg_ws / "out" / "report.html").stat().st_size > 0
