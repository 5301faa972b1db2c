"""Bureau files as they come: title rows, 驿站名称-style headers, 320㎡ and 1,200, a 合计 row,
GBK Shapefiles without .cpg, real unit names, and all of China's territory."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pytest

from mzgis.gis.cli import main
from tests.conftest import shared


def test_ledger_with_title_units_and_total_row(workspace, tmp_path, capsys):
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["朝阳区社区养老服务驿站台账（2026年11月）"])
    sh.append(["驿站编号", "驿站名称", "设施地址", "经度", "纬度", "建筑面积", "床位数", "服务户数"])
    sh.append(["YZ01", "和平里驿站", "和平里北街5号", 116.4171, 39.9587, "320㎡", "12张", "1,200"])
    sh.append(["YZ02", "安贞驿站", "安贞里3号", 116.4032, 39.9712, "1,050 平方米", 8, "860户"])
    sh.append(["合计", None, None, None, None, "1370", 20, "2060"])
    src = tmp_path / "台账.xlsx"
    wb.save(src)
    assert main(["import", str(workspace.root), str(src), "--layer", "stations", "--type", "facilities",
                 "--kind", "社区养老服务驿站", "--coords", "gcj02"]) == 0
    out = capsys.readouterr().out
    assert "合计" in out  # the total row is said to be left out
    g = workspace.store.read("stations").sort_values("feature_id")
    assert g["feature_id"].tolist() == ["YZ01", "YZ02"]
    assert g["name"].tolist() == ["和平里驿站", "安贞驿站"]  # 驿站名称 read as the name
    assert g["address"].tolist() == ["和平里北街5号", "安贞里3号"]  # 设施地址 read as the address
    assert g["floor_area_m2"].tolist() == [320.0, 1050.0]
    assert g["beds"].tolist() == [12.0, 8.0]


def test_gbk_shapefile_without_cpg(workspace, tmp_path):
    src = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    part = src[src["县"] == "门头沟区"][["乡", "县", "geometry"]].reset_index(drop=True)
    shp = tmp_path / "mtg.shp"
    part.to_file(shp, engine="pyogrio", encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    assert "门头沟区".encode("gbk") in shp.with_suffix(".dbf").read_bytes()
    assert main(["import", str(workspace.root), str(shp), "--layer", "mtg", "--type", "admin_units", "--level",
                 "subdistrict", "--name-field", "乡"]) == 0
    g = workspace.store.read("mtg")
    assert sorted(g["name"]) == sorted(part["乡"])


def test_readme_join_npy_example_gives_real_names(workspace, capsys):
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    npy = shared("boundaries/beijing_subdistricts/worldpop.npy")
    assert main(["import", str(workspace.root), str(shp), "--layer", "subs", "--type", "admin_units", "--level",
                 "subdistrict", "--name-field", "乡", "--join-npy", f"{npy}:0:population"]) == 0
    g = workspace.store.read("subs")
    assert len(g) == 331
    assert {"望京街道", "学院路街道", "大峪街道"} <= set(g["name"])
    assert int(g["population"].sum()) == int(np.load(npy)[:, 0].sum()) == 20_755_648
    # without --name-field the ids stand in for names, and the note says how to fix it
    assert main(["import", str(workspace.root), str(shp), "--layer", "subs2", "--type", "admin_units", "--level",
                 "subdistrict"]) == 0
    assert "--name-field" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "lon", "lat", "ok"), [
    ("永兴岛 三沙市 Sansha", 112.3387, 16.8317, True),
    ("永暑礁 南沙 Nansha", 112.8833, 9.55, True),
    ("曾母暗沙 James Shoal", 112.2833, 3.9667, True),
    ("Paris", 2.3522, 48.8566, False),
])
def test_all_of_china_is_inside(workspace, tmp_path, capsys, name, lon, lat, ok):
    src = tmp_path / "p.csv"
    src.write_text(f"编号,名称,经度,纬度\nP1,{name},{lon},{lat}\n", encoding="utf-8")
    code = main(["import", str(workspace.root), str(src), "--layer", "p", "--type", "facilities",
                 "--kind", "社区养老服务驿站", "--coords", "wgs84"])
    err = capsys.readouterr().err
    assert code == (0 if ok else 2)
    assert "outside China" not in err
    if not ok:
        assert "outside the import extent" in err
