"""Importing good data: encodings, formats, column mapping, ids, coordinate systems."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from mzgis.gis.pipelines import import_file
from mzgis.layers import coords as cc

ROWS = [("YZ-001", "和平里驿站", 116.4171, 39.9587, 210.5, 12, "建成运营"),
        ("YZ-002", "安贞驿站", 116.4032, 39.9712, 180.0, 0, "在建"),
        ("0099", "小关驿站", 116.4262, 39.9819, "", "", "规划")]


def frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["编号", "名称", "经度", "纬度", "建筑面积", "床位数", "状态"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_and_chinese_columns(workspace, tmp_path, encoding):
    p = tmp_path / "stations.csv"
    frame().to_csv(p, index=False, encoding=encoding)
    rep = import_file(workspace, p, layer="stations", layer_type="facilities", kind="社区养老服务驿站", coords="wgs84")
    assert rep.inserted == 3
    g = workspace.store.read("stations")
    assert g["feature_id"].tolist() == ["YZ-001", "YZ-002", "0099"]  # ids unchanged, leading zeros kept
    assert g["name"].tolist() == ["和平里驿站", "安贞驿站", "小关驿站"]
    assert g["kind"].unique().tolist() == ["elderly_care_station"]
    assert g["floor_area_m2"].iloc[0] == 210.5
    assert pd.isna(g["floor_area_m2"].iloc[2])
    assert g["status"].tolist() == ["建成运营", "在建", "规划"]
    assert g.geometry.x.iloc[0] == pytest.approx(116.4171)


def test_xlsx_with_gcj02_conversion(workspace, tmp_path):
    p = tmp_path / "stations.xlsx"
    frame().to_excel(p, index=False, engine="openpyxl")
    import_file(workspace, p, layer="stations", layer_type="facilities", kind="elderly_care_station", coords="gcj02")
    g = workspace.store.read("stations")
    wx, wy = cc.gcj02_to_wgs84(np.array([r[2] for r in ROWS]), np.array([r[3] for r in ROWS]))
    np.testing.assert_allclose(g.geometry.x, wx, atol=1e-9)
    np.testing.assert_allclose(g.geometry.y, wy, atol=1e-9)
    assert g["feature_id"].tolist() == ["YZ-001", "YZ-002", "0099"]  # text cells stay text


def test_bd09_source(workspace, tmp_path):
    p = tmp_path / "bd.csv"
    bx, by = cc.wgs84_to_bd09(116.40, 39.90)
    p.write_text(f"id,name,lng,lat\nB1,甲,{float(bx):.9f},{float(by):.9f}\n", encoding="utf-8")
    import_file(workspace, p, layer="bd", layer_type="facilities", kind="儿童之家", coords="bd09")
    g = workspace.store.read("bd")
    assert abs(g.geometry.x.iloc[0] - 116.40) < 1e-7
    assert abs(g.geometry.y.iloc[0] - 39.90) < 1e-7


def test_cgcs2000_gauss_kruger_projected_csv(workspace, tmp_path):
    # EPSG:4527 = CGCS2000 / 3-degree Gauss-Kruger zone 39 (eastings with zone prefix), Beijing
    tr = Transformer.from_crs("EPSG:4490", "EPSG:4527", always_xy=True)
    x, y = tr.transform(116.40, 39.90)
    p = tmp_path / "gk.csv"
    p.write_text(f"编号,名称,X坐标,Y坐标\nG1,甲,{x:.3f},{y:.3f}\n", encoding="utf-8")
    import_file(workspace, p, layer="gk", layer_type="facilities", kind="儿童之家", coords="EPSG:4527")
    g = workspace.store.read("gk")
    assert g.geometry.x.iloc[0] == pytest.approx(116.40, abs=1e-6)
    assert g.geometry.y.iloc[0] == pytest.approx(39.90, abs=1e-6)


def test_cgcs2000_geographic_is_understood(workspace, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("编号,名称,经度,纬度\nC1,甲,116.4,39.9\n", encoding="utf-8")
    import_file(workspace, p, layer="c", layer_type="facilities", kind="儿童之家", coords="cgcs2000")
    assert workspace.store.read("c").geometry.x.iloc[0] == pytest.approx(116.4, abs=1e-6)


def test_map_flags_override_automatic_mapping(workspace, tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("序号,机构,东,北,面积\n1,甲,116.4,39.9,50\n", encoding="utf-8")
    import_file(workspace, p, layer="m", layer_type="facilities", kind="儿童之家", coords="wgs84", id_field="序号",
                field_map={"name": "机构", "lon": "东", "lat": "北", "floor_area_m2": "面积"})
    g = workspace.store.read("m")
    assert g[["feature_id", "name", "floor_area_m2"]].iloc[0].tolist() == ["1", "甲", 50.0]


def test_extra_columns_are_kept(workspace, tmp_path):
    p = tmp_path / "e.csv"
    p.write_text("编号,名称,经度,纬度,负责人\nE1,甲,116.4,39.9,王五\n", encoding="utf-8")
    import_file(workspace, p, layer="e", layer_type="facilities", kind="儿童之家", coords="wgs84")
    assert workspace.store.read("e")["负责人"].iloc[0] == "王五"


def test_default_coords_from_config(workspace, tmp_path):
    cfg = workspace.config_path.read_text(encoding="utf-8").replace('default_coords = ""', 'default_coords = "gcj02"')
    workspace.config_path.write_text(cfg, encoding="utf-8")
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(workspace.root)
    p = tmp_path / "d.csv"
    p.write_text("编号,名称,经度,纬度\nD1,甲,116.4,39.9\n", encoding="utf-8")
    import_file(ws, p, layer="d", layer_type="facilities", kind="儿童之家")
    x, _ = cc.gcj02_to_wgs84(116.4, 39.9)
    assert ws.store.read("d").geometry.x.iloc[0] == pytest.approx(float(x), abs=1e-9)


def test_geopackage_and_shapefile_with_cpg(workspace, tmp_path):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"编码": ["110105001", "110105002"], "名称": ["建外街道", "朝外街道"], "户数": [100, 200]},
                           geometry=[shapely.box(116.44, 39.90, 116.45, 39.91), shapely.box(116.45, 39.90, 116.46, 39.91)],
                           crs="EPSG:4326")
    gp = tmp_path / "units.gpkg"
    gdf.to_file(gp, layer="units", engine="pyogrio")
    import_file(workspace, gp, layer="units_gpkg", layer_type="admin_units", level="subdistrict")
    shp = tmp_path / "units.shp"
    pyogrio.write_dataframe(gdf, shp, encoding="GBK")
    assert shp.with_suffix(".cpg").read_text().upper().startswith(("GBK", "CP936", "936"))
    import_file(workspace, shp, layer="units_shp", layer_type="admin_units", level="subdistrict")
    for name in ("units_gpkg", "units_shp"):
        g = workspace.store.read(name)
        assert g["name"].tolist() == ["建外街道", "朝外街道"]
        assert g["feature_id"].tolist() == ["110105001", "110105002"]
        assert g["households"].tolist() == [100, 200]
