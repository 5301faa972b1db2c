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


# -- merged cells: two-row headers, merged titles, section rows, 街道 merged down the rows ----------
def _chaoyang_stations(n: int = 6) -> gpd.GeoDataFrame:
    """Real 朝阳区 subdistricts (the shared Beijing outline); a station at a point inside each."""
    src = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    part = src[src["县"] == "朝阳区"].sort_values("乡").head(n).reset_index(drop=True)
    pts = part.geometry.representative_point()
    return gpd.GeoDataFrame({"乡": part["乡"], "lon": pts.x.round(6), "lat": pts.y.round(6)}, geometry=pts,
                            crs=src.crs)


def _merged_ledger(path, st: gpd.GeoDataFrame, *, bad_beds_row: int | None = None) -> list[int]:
    """A bureau ledger with merged cells; returns the Excel row of each station.

    Row 1: a title merged across the table. Rows 2–3: a two-row header (设施信息 over 名称/地址,
    坐标 over 经度/纬度; 编号, 床位数 and 所属街道 merged down both rows). Then a section row merged
    across, the stations (each 街道 merged down its two stations) and a 合计 row.
    """
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["朝阳区社区养老服务驿站台账"])
    sh.merge_cells("A1:G1")
    sh.append(["驿站编号", "设施信息", None, "坐标", None, "床位数", "所属街道"])
    sh.append([None, "名称", "地址", "经度", "纬度", None, None])
    for rng in ("B2:C2", "D2:E2", "A2:A3", "F2:F3", "G2:G3"):
        sh.merge_cells(rng)
    sh.append(["一、已建成驿站"])
    sh.merge_cells("A4:G4")
    rows = []
    for i, r in enumerate(st.itertuples()):
        beds = "十张" if bad_beds_row == i else 10 + i
        streets = r.乡 if i % 2 == 0 else None  # the 街道 of a pair is written once, merged down
        sh.append([f"YZ{i + 1:02d}", f"{r.乡}驿站", f"{r.乡}幸福路{i + 1}号", r.lon, r.lat, beds, streets])
        rows.append(sh.max_row)
        if i % 2 == 1:
            sh.merge_cells(f"G{sh.max_row - 1}:G{sh.max_row}")
    sh.append(["合计", None, None, None, None, sum(10 + i for i in range(len(st))), None])
    wb.save(path)
    return rows


def test_ledger_with_merged_header_title_section_and_street_cells(workspace, tmp_path, capsys):
    st = _chaoyang_stations(6)
    # the 街道 of each pair is that of its first station: what the merged cell says for both
    st["街道"] = [st["乡"].iloc[i - i % 2] for i in range(len(st))]
    src = tmp_path / "合并表头台账.xlsx"
    _merged_ledger(src, st)
    assert main(["import", str(workspace.root), str(src), "--layer", "stations", "--type", "facilities",
                 "--kind", "社区养老服务驿站", "--coords", "wgs84"]) == 0
    out = capsys.readouterr().out
    assert "two-row header" in out
    assert "section rows" in out
    assert "合计" in out
    g = workspace.store.read("stations").sort_values("feature_id").reset_index(drop=True)
    assert g["feature_id"].tolist() == [f"YZ{i + 1:02d}" for i in range(len(st))]
    assert g["name"].tolist() == [f"{n}驿站" for n in st["乡"]]  # 名称 under the merged 设施信息
    assert g["address"].tolist() == [f"{n}幸福路{i + 1}号" for i, n in enumerate(st["乡"])]
    assert g["beds"].tolist() == [10.0 + i for i in range(len(st))]  # 床位数 merged down both header rows
    assert g["subdistrict_code"].tolist() == st["街道"].tolist()  # 所属街道 merged down the pair: both rows hold it
    np.testing.assert_allclose(g.geometry.x, st["lon"], atol=1e-9)
    np.testing.assert_allclose(g.geometry.y, st["lat"], atol=1e-9)


def test_merged_ledger_errors_name_the_excel_row(workspace, tmp_path, capsys):
    st = _chaoyang_stations(4)
    src = tmp_path / "bad.xlsx"
    rows = _merged_ledger(src, st, bad_beds_row=2)
    before = workspace.store.dump()
    assert main(["import", str(workspace.root), str(src), "--layer", "stations", "--type", "facilities",
                 "--kind", "社区养老服务驿站", "--coords", "wgs84"]) == 2
    err = capsys.readouterr().err
    assert f"第 {rows[2]} 行" in err  # the row as Excel numbers it, below the title and both header rows
    assert "'床位数'" in err
    assert "十张" in err
    assert err.count("not a number") == 1
    assert workspace.store.dump() == before


def test_two_groups_with_the_same_sub_header_keep_both_columns(tmp_path):
    from mzgis.layers.sources import read_source

    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["编号", "设施信息", None, "运营单位", None, "经度", "纬度"])
    sh.append([None, "名称", "地址", "名称", "电话", None, None])
    for rng in ("B1:C1", "D1:E1", "A1:A2", "F1:F2", "G1:G2"):
        sh.merge_cells(rng)
    sh.append(["A1", "甲驿站", "幸福路1号", "甲公司", "010-1", 116.4, 39.9])
    src = tmp_path / "two_groups.xlsx"
    wb.save(src)
    raw = read_source(src)
    assert list(raw.table.columns) == ["编号", "设施信息名称", "地址", "运营单位名称", "电话", "经度", "纬度"]
    assert raw.table.iloc[0].tolist() == ["A1", "甲驿站", "幸福路1号", "甲公司", "010-1", "116.4", "39.9"]
    assert raw.row_labels == ["第 3 行 row 3 (工作表 sheet 1)"]


def test_a_merged_cell_with_nothing_beneath_is_a_one_row_header(tmp_path):
    from mzgis.layers.sources import read_source

    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["编号", "名称", None, "经度", "纬度"])  # 名称 merged over two columns, one header row
    sh.merge_cells("B1:C1")
    sh.append(["A1", "甲", "驿站", 116.4, 39.9])
    src = tmp_path / "one_row.xlsx"
    wb.save(src)
    raw = read_source(src)
    assert raw.table["名称"].tolist() == ["甲"]
    assert raw.row_labels == ["第 2 行 row 2 (工作表 sheet 1)"]
