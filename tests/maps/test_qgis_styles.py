"""QGIS users at home: every layer mzgis writes into a GeoPackage carries a default style in the
``layer_styles`` table (QGIS's convention), in the web map's palette."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import shapely

QGIS_COLUMNS = {"f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName", "styleQML",
                "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"}
# the web map's colours, spelled out here (not imported) so a change of either side is noticed
PINK, PURPLE = "#e7298a", "#7570b3"
SHARE_BLUES = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]


def _rgb(hex_colour: str) -> str:
    return ",".join(str(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))


def _styles(path) -> dict[str, tuple[str, int, str]]:
    """f_table_name → (styleQML, useAsDefault, owner) of mzgis's rows."""
    with sqlite3.connect(path) as con:
        cols = {r[1] for r in con.execute("PRAGMA table_info(layer_styles)")}
        assert cols >= QGIS_COLUMNS
        kind = con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
        assert kind == ("attributes",)
        rows = con.execute("SELECT f_table_name, styleQML, useAsDefault, owner, f_geometry_column FROM layer_styles "
                           "WHERE owner = 'mzgis'").fetchall()
    assert all(r[4] == "geom" for r in rows)
    return {r[0]: (r[1], int(r[2]), r[3]) for r in rows}


def _option(symbol: ET.Element, key: str) -> str:
    opt = symbol.find(f"./layer/Option/Option[@name='{key}']")
    prop = symbol.find(f"./layer/prop[@k='{key}']")
    assert opt is not None
    assert prop is not None
    assert opt.get("value") == prop.get("v")
    return str(opt.get("value"))


def _facilities(ids, statuses) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"feature_id": ids, "name": [f"站{i}" for i in ids], "status": statuses},
                            geometry=[shapely.Point(116.3 + k * 1e-3, 39.9) for k in range(len(ids))], crs=4326)


def test_store_layers_get_default_styles_in_the_web_palette(gpkg_workspace):
    st = gpkg_workspace.store
    st.write_layer("stations", _facilities(["A", "B", "C"], ["建成运营", "在建", "规划"]), layer_type="facilities",
                   kind="elderly_care_station")
    st.write_layer("canteens", _facilities(["D"], ["建成运营"]), layer_type="facilities", kind="elderly_dining")
    markers = gpd.GeoDataFrame({"feature_id": ["M1"], "condition": ["损坏"]},
                               geometry=[shapely.Point(116.3, 39.9)], crs=4326)
    st.write_layer("markers", markers, layer_type="boundary_markers")
    styles = _styles(gpkg_workspace.store_path)
    assert {"stations", "stations_current", "canteens", "canteens_current", "markers", "markers_current"} <= set(styles)
    qml, default, owner = styles["stations_current"]
    assert default == 1
    assert owner == "mzgis"
    root = ET.fromstring(qml.split("\n", 1)[1])
    r = root.find("renderer-v2")
    assert r is not None
    assert r.get("type") == "categorizedSymbol"
    assert r.get("attr") == "status"
    cats = [(c.get("value"), c.get("symbol")) for c in r.iter("category")]
    assert [v for v, _ in cats] == ["建成运营", "在建", "规划", ""]
    syms = {s.get("name"): s for s in r.iter("symbol")}
    by_status = {v: syms[i] for v, i in cats}
    # the kind's colour; 建成运营 filled (0.9), 在建 half (0.45) dashed, 规划 hollow dotted — as on the web map
    assert _option(by_status["建成运营"], "color") == f"{_rgb(PINK)},{round(0.9 * 255)}"
    assert _option(by_status["在建"], "color") == f"{_rgb(PINK)},{round(0.45 * 255)}"
    assert _option(by_status["规划"], "color") == f"{_rgb(PINK)},0"
    assert [_option(by_status[s], "outline_style") for s in ("建成运营", "在建", "规划")] == ["solid", "dash", "dot"]
    second = ET.fromstring(styles["canteens"][0].split("\n", 1)[1]).find("renderer-v2")
    assert second is not None
    assert _option(second.find("./symbols/symbol"), "color").startswith(_rgb(PURPLE) + ",")  # the second kind
    mk = ET.fromstring(styles["markers"][0].split("\n", 1)[1]).find("renderer-v2")
    assert mk is not None
    assert mk.get("attr") == "condition"
    assert "损坏" in [c.get("value") for c in mk.iter("category")]


def test_a_style_the_user_saved_in_qgis_is_kept(gpkg_workspace):
    st = gpkg_workspace.store
    st.write_layer("stations", _facilities(["A"], ["建成运营"]), layer_type="facilities", kind="elderly_care_station")
    with sqlite3.connect(gpkg_workspace.store_path) as con:
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = 'stations'")
        con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                    "VALUES ('', '', 'stations', 'geom', '我的 mine', '<qgis/>', '', 1, '', 'planner', '')")
    st.write_layer("stations", _facilities(["A", "B"], ["建成运营", "规划"]), layer_type="facilities",
                   kind="elderly_care_station")
    with sqlite3.connect(gpkg_workspace.store_path) as con:
        rows = sorted(con.execute("SELECT owner, useAsDefault, styleQML FROM layer_styles "
                                  "WHERE f_table_name = 'stations'").fetchall())
    assert [(o, d) for o, d, _ in rows] == [("mzgis", 0), ("planner", 1)]
    assert rows[1][2] == "<qgis/>"


def test_coverage_polygons_carry_a_graduated_style(tmp_path):
    from mzgis.gis.coverage_layer import write_coverage_layer

    units = {"community": gpd.GeoDataFrame({"feature_id": ["c1", "c2"]},
                                           geometry=[shapely.box(116, 39, 116.1, 39.1), shapely.box(116.1, 39, 116.2, 39.1)],
                                           crs=4326)}
    table = pd.DataFrame({"level": "community", "unit_code": ["c1", "c2", "c1", "c2"], "unit_name": ["甲", "乙"] * 2,
                          "households": [10, 20] * 2, "minutes": [5.0, 5.0, 15.0, 15.0],
                          "households_covered": [1, 2, 9, 20], "share_covered": [0.1, 0.1, 0.9, 1.0]})
    path = write_coverage_layer(table, units, tmp_path / "out", "elderly_care_station")
    assert path is not None
    qml, default, _ = _styles(path)["community"]
    assert default == 1
    r = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert r is not None
    assert r.get("type") == "graduatedSymbol"
    assert r.get("attr") == "share_covered_15min"  # the largest threshold, as the web map shades
    ranges = [(float(x.get("lower")), float(x.get("upper"))) for x in r.iter("range")]
    assert ranges[0] == (0.0, 0.5)
    assert ranges[-1][0] == 0.9
    assert ranges[-1][1] >= 1.0
    syms = {s.get("name"): s for s in r.iter("symbol")}
    fills = [_option(syms[x.get("symbol")], "color") for x in r.iter("range")]
    assert fills == [f"{_rgb(c)},{round(0.55 * 255)}" for c in SHARE_BLUES]


def test_postgis_store_writes_public_layer_styles(tmp_path, pg_url):
    import psycopg

    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "pws", name="测试区", store=pg_url)
    st = ws.store
    st.write_layer("stations", _facilities(["A", "B"], ["建成运营", "规划"]), layer_type="facilities",
                   kind="elderly_care_station")
    st.write_layer("stations", _facilities(["A", "B", "C"], ["建成运营", "规划", "在建"]), layer_type="facilities",
                   kind="elderly_care_station")  # rewritten, not duplicated
    with psycopg.connect(pg_url) as con:
        rows = con.execute("SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, useasdefault, "
                           "owner, type, styleqml::text FROM public.layer_styles ORDER BY f_table_name").fetchall()
        db = con.execute("SELECT current_database()").fetchone()[0]
        readable = con.execute("SELECT has_table_privilege('mzgis_viewer', 'public.layer_styles', 'SELECT')").fetchone()[0]
    assert [r[2] for r in rows] == ["stations", "stations_current"]
    assert all(r[0] == db and r[1] == "public" and r[3] == "geom" and r[4] is True and r[5] == "mzgis"
               and r[6] == "Point" for r in rows)
    assert readable
    r = ET.fromstring(rows[0][7]).find("renderer-v2")
    assert r is not None
    assert r.get("attr") == "status"
    assert [c.get("value") for c in r.iter("category")] == ["建成运营", "在建", "规划", ""]


def test_coverage_geopackage_is_version_1_2_for_qgis_3_22(tmp_path):
    from mzgis.gis.coverage_layer import write_coverage_layer

    units = {"community": gpd.GeoDataFrame({"feature_id": ["c1"]}, geometry=[shapely.box(116, 39, 116.1, 39.1)], crs=4326)}
    table = pd.DataFrame({"level": "community", "unit_code": ["c1"], "unit_name": ["甲"], "households": [10],
                          "minutes": [15.0], "households_covered": [9], "share_covered": [0.9]})
    path = write_coverage_layer(table, units, tmp_path / "out", "k")
    with sqlite3.connect(path) as con:  # GDAL 3.6 (QGIS 3.22) warns on a GeoPackage 1.4
        assert con.execute("PRAGMA user_version").fetchone() == (10200,)
