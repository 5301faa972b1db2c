"""Hostile and awkward input through the real ``mzgis import`` command.

Every case runs the CLI entry point (``main``; a few through a separate process, to prove that no
Python traceback reaches stderr) and checks: the exit code (2 = refused, 0 = accepted with a note),
that a refusal names the file, the row and the field and what was found, and that a refusal leaves
the store unchanged — compared as a dump of every table's rows, not as file bytes, so that the
check does not depend on how the store writes.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from mzgis.gis.cli import main
from tests.conftest import shared

KIND = ["--type", "facilities", "--kind", "社区养老服务驿站"]
WGS = ["--coords", "wgs84"]


# -- helpers ------------------------------------------------------------------------------------
def dump(store: Path) -> dict[str, list[str]]:
    """Every table of the store with its rows, sorted: equal dumps mean an unchanged store."""
    con = sqlite3.connect(store)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(repr(row) for row in con.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        con.close()


@pytest.fixture
def ws(workspace, tmp_path):
    """A workspace that already holds one layer, so an unchanged store is a real claim."""
    src = tmp_path / "existing.csv"
    src.write_text("编号,名称,经度,纬度,床位数\nE1,现有驿站,116.40,39.90,5\n", encoding="utf-8")
    assert main(["import", str(workspace.root), str(src), *KIND, *WGS, "--layer", "existing"]) == 0
    return workspace


def run(ws, src: Path, *args: str, capsys) -> tuple[int, str, str]:
    """``mzgis import WS SRC ARGS`` in this process; returns the exit code, stdout and stderr."""
    capsys.readouterr()
    code = main(["import", str(ws.root), str(src), *args])
    out, err = capsys.readouterr()
    return code, out, err


def refused(ws, src: Path, *args: str, capsys, expect: tuple[str, ...] = ()) -> str:
    """The import must exit 2 with a message naming the file and every ``expect``; store unchanged."""
    before = dump(ws.store_path)
    code, _, err = run(ws, src, *args, capsys=capsys)
    assert code == 2, err
    assert "Traceback" not in err
    assert "错误 error:" in err
    assert src.name in err, err
    for e in expect:
        assert e in err, f"{e!r} not in:\n{err}"
    assert dump(ws.store_path) == before
    return err


def accepted(ws, src: Path, *args: str, capsys) -> str:
    code, out, err = run(ws, src, *args, capsys=capsys)
    assert code == 0, err
    return out


def geojson(path: Path, features: list[tuple[dict, dict | None]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": g} for p, g in features]}, ensure_ascii=False),
        encoding="utf-8")
    return path


def pt(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [x, y]}


# -- empty numeric values are missing values, in every format ----------------------------------
NULL_ROWS = {"编号": ["A1", "A2", "A3"], "名称": ["甲", "乙", "丙"],
             "床位数": [12, None, None], "面积": [None, 80.5, None]}  # short names: .dbf keeps 10 bytes
NULL_POINTS = [shapely.Point(116.40, 39.90), shapely.Point(116.41, 39.91), shapely.Point(116.42, 39.92)]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_null_numbers_in_vector_files_are_missing_values(ws, tmp_path, capsys, fmt):
    p = tmp_path / f"nulls.{fmt}"
    if fmt == "geojson":
        geojson(p, [({k: v[i] for k, v in NULL_ROWS.items()}, pt(*NULL_POINTS[i].coords[0])) for i in range(3)])
        assert '"床位数": null' in p.read_text(encoding="utf-8")
    else:
        gdf = gpd.GeoDataFrame(pd.DataFrame(NULL_ROWS).astype({"床位数": "Int64"}), geometry=NULL_POINTS,
                               crs="EPSG:4326")
        pyogrio.write_dataframe(gdf, p, encoding="UTF-8" if fmt == "shp" else None)
    raw = pyogrio.read_dataframe(p)
    assert raw["床位数"].isna().sum() == 2  # the file really holds empty numeric cells
    accepted(ws, p, *KIND, "--layer", "nulls", capsys=capsys)
    g = ws.store.read("nulls").set_index("feature_id")
    assert g.loc["A1", "beds"] == 12
    assert pd.isna(g.loc["A2", "beds"])
    assert pd.isna(g.loc["A3", "beds"])
    assert g.loc["A2", "floor_area_m2"] == 80.5
    assert pd.isna(g.loc["A1", "floor_area_m2"])


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "csv", "xlsx"])
def test_export_and_reimport_gives_the_same_features(ws, tmp_path, capsys, ext):
    src = tmp_path / "stations.csv"
    src.write_text("编号,名称,经度,纬度,建筑面积,床位数,地址,备注\n"
                   "YZ-001,和平里驿站,116.4171,39.9587,210.5,12,,一层\n"
                   "YZ-002,安贞驿站,116.4032,39.9712,,,安贞里 3 号,\n"
                   "0099,小关驿站,116.4262,39.9819,55,,,\n", encoding="utf-8")
    accepted(ws, src, *KIND, *WGS, "--layer", "stations", capsys=capsys)
    out = tmp_path / f"exported.{ext}"
    assert main(["export", str(ws.root), "stations", str(out)]) == 0
    coords = WGS if ext in ("csv", "xlsx") else []
    # the exported file carries its own kind column: no --kind needed
    accepted(ws, out, "--type", "facilities", *coords, "--layer", "again", capsys=capsys)
    a = ws.store.read("stations").sort_values("feature_id").reset_index(drop=True)
    b = ws.store.read("again").sort_values("feature_id").reset_index(drop=True)
    assert b["feature_id"].tolist() == ["0099", "YZ-001", "YZ-002"]
    assert set(a.columns) <= set(b.columns)
    for c in a.columns:
        if c == "geometry":
            continue
        left, right = a[c].tolist(), b[c].tolist()
        assert [None if pd.isna(v) else v for v in left] == [None if pd.isna(v) else v for v in right], c
    np.testing.assert_allclose(shapely.get_coordinates(b.geometry.values),
                               shapely.get_coordinates(a.geometry.values), atol=1e-7)
    # and re-importing into the same layer changes nothing
    code, stdout, _ = run(ws, out, "--type", "facilities", *coords, "--layer", "stations", capsys=capsys)
    assert code == 0
    assert "更新 updated 0" in stdout
    assert "未变 unchanged 3" in stdout


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_polygon_export_as_wkt_table_reimports(ws, tmp_path, capsys, ext):
    units = tmp_path / "units.geojson"
    geojson(units, [({"编码": "U1", "名称": "甲社区", "户数": 120}, shapely.geometry.mapping(shapely.box(116.40, 39.90, 116.41, 39.91))),
                    ({"编码": "U2", "名称": "乙社区", "户数": None}, shapely.geometry.mapping(shapely.box(116.41, 39.90, 116.42, 39.91)))])
    accepted(ws, units, "--type", "admin_units", "--level", "community", "--layer", "units", capsys=capsys)
    out = tmp_path / f"units_out.{ext}"
    assert main(["export", str(ws.root), "units", str(out)]) == 0
    stdout = accepted(ws, out, "--type", "admin_units", *WGS, "--layer", "units2", capsys=capsys)
    assert "WKT" in stdout
    assert "'wkt'" in stdout
    a = ws.store.read("units").sort_values("feature_id").reset_index(drop=True)
    b = ws.store.read("units2").sort_values("feature_id").reset_index(drop=True)
    assert b["households"].iloc[0] == 120
    assert pd.isna(b["households"].iloc[1])
    assert all(x.equals_exact(y, 1e-7) for x, y in zip(a.geometry, b.geometry, strict=True))


# -- non-finite coordinates and numbers ---------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "Infinity", "nan", "NaN"])
def test_non_finite_coordinate_is_refused(ws, tmp_path, capsys, value):
    p = tmp_path / "coords.csv"
    p.write_text(f"编号,名称,经度,纬度\nA1,甲,116.40,39.90\nA2,乙,{value},39.91\n", encoding="utf-8")
    err = refused(ws, p, *KIND, *WGS, capsys=capsys,
                  expect=("第 3 行", "'经度'", f"'{value}'", "not a finite number"))
    assert "第 2 行" not in err


@pytest.mark.parametrize("value", ["inf", "1e400", "-Infinity"])
def test_non_finite_number_in_a_numeric_field_is_refused(ws, tmp_path, capsys, value):
    p = tmp_path / "area.csv"
    p.write_text(f"编号,名称,经度,纬度,建筑面积\nA1,甲,116.40,39.90,{value}\n", encoding="utf-8")
    refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("第 2 行", "'建筑面积'", f"'{value}'", "not a finite number"))


@pytest.mark.parametrize("case", ["point-inf", "polygon-nan"])
def test_non_finite_vector_coordinates_are_refused(ws, tmp_path, capsys, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bad = (shapely.Point(float("inf"), 39.9) if case == "point-inf" else
               shapely.Polygon([(116.40, 39.90), (float("nan"), 39.90), (116.41, 39.91)]))
    good = shapely.Point(116.40, 39.90) if bad.geom_type == "Point" else shapely.box(116.40, 39.90, 116.41, 39.91)
    p = tmp_path / "nonfinite.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["好", "坏"]}, geometry=[good, bad], crs="EPSG:4326"), p)
    args = KIND if bad.geom_type == "Point" else ["--type", "admin_units", "--level", "community"]
    refused(ws, p, *args, capsys=capsys, expect=("feature #2", "'geometry'", "non-finite coordinate"))


# -- encodings ----------------------------------------------------------------------------------
def test_utf8_file_with_one_gbk_row_is_refused_with_its_line(ws, tmp_path, capsys):
    # every UTF-8 run of Chinese here is 6 bytes long, so the whole file also decodes as GB18030
    # (into mojibake): a decoder that falls back to GB18030 would store garbled names silently.
    body = (b"id,name,lon,lat\n" + "A1,和平,116.40,39.90\n".encode()
            + "A2,安贞,116.41,39.91\n".encode("gbk") + "A3,小关,116.42,39.92\n".encode())
    p = tmp_path / "mixed.csv"
    p.write_bytes(body)
    body.decode("gb18030")  # the trap: decodes without error
    err = refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("line(s) 3", "--encoding", "UTF-8"))
    assert "line(s) 3 " in err or "line(s) 3 are" in err


def test_whole_gbk_file_is_still_read(ws, tmp_path, capsys):
    p = tmp_path / "gbk.csv"
    p.write_bytes("编号,名称,经度,纬度\nA1,和平里驿站,116.40,39.90\nA2,安贞,116.41,39.91\n".encode("gbk"))
    accepted(ws, p, *KIND, *WGS, "--layer", "gbk", capsys=capsys)
    assert ws.store.read("gbk")["name"].tolist() == ["和平里驿站", "安贞"]


def test_forced_encoding_that_fails_names_the_lines(ws, tmp_path, capsys):
    p = tmp_path / "forced.csv"
    p.write_bytes("编号,名称,经度,纬度\n".encode("gbk") + "A1,和平里,116.40,39.90\n".encode())
    refused(ws, p, *KIND, *WGS, "--encoding", "ascii", capsys=capsys, expect=("line(s) 1, 2", "ascii"))


# -- column names -------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "first", "second"), [
    ("编号,name,NAME,经度,纬度", "name", "NAME"),
    ("编号,名称, 名称 ,经度,纬度", "名称", " 名称 "),
    ("编号,名称,经度,纬度,备注,备注", "备注", "备注"),
])
def test_columns_differing_by_case_or_spaces_are_both_kept(ws, tmp_path, capsys, header, first, second):
    p = tmp_path / "dup.csv"
    values = {"name": ("甲", "乙"), "名称": ("甲", "乙"), "备注": ("一", "二")}[first.strip()]
    row = {"编号,name,NAME,经度,纬度": f"A1,{values[0]},{values[1]},116.4,39.9",
           "编号,名称, 名称 ,经度,纬度": f"A1,{values[0]},{values[1]},116.4,39.9",
           "编号,名称,经度,纬度,备注,备注": f"A1,甲,116.4,39.9,{values[0]},{values[1]}"}[header]
    p.write_text(f"{header}\n{row}\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "dup", capsys=capsys)
    assert f"'{second.strip()}_2'" in out
    assert "--map" in out
    g = ws.store.read("dup")
    stored = {v for c in g.columns if c != "geometry" for v in g[c].astype(str)}
    assert values[0] in stored
    assert values[1] in stored


@pytest.mark.parametrize("column", ["Geometry", "geometry", "wkt", "WKT", "geom", "fid", "FID", "mz_version",
                                    "mz_retired_at"])
def test_columns_named_like_geometry_or_reserved_are_kept_with_a_note(ws, tmp_path, capsys, column):
    p = tmp_path / "reserved.csv"
    p.write_text(f"编号,名称,经度,纬度,{column}\nA1,甲,116.4,39.9,值-{column}\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "reserved", capsys=capsys)
    assert f"'{column}'" in out
    assert f"'{column}_src'" in out
    g = ws.store.read("reserved")
    assert g[f"{column}_src"].tolist() == [f"值-{column}"]
    assert g["feature_id"].tolist() == ["A1"]


def test_vector_properties_named_like_geometry_are_kept(ws, tmp_path, capsys):
    p = geojson(tmp_path / "props.geojson", [({"名称": "甲", "geom": "POLYGON((1 2,", "FID": 7}, pt(116.4, 39.9))])
    out = accepted(ws, p, *KIND, "--layer", "props", capsys=capsys)
    assert "'geom_src'" in out
    assert "'FID_src'" in out
    g = ws.store.read("props")
    assert g["geom_src"].tolist() == ["POLYGON((1 2,"]
    assert g["FID_src"].tolist() == [7]


# -- geometry kinds -----------------------------------------------------------------------------
UNIT = ["--type", "admin_units", "--level", "community"]
BOX = shapely.geometry.mapping(shapely.box(116.40, 39.90, 116.41, 39.91))


@pytest.mark.parametrize("bad", [
    {"type": "Polygon", "coordinates": [[[116.40, 39.90], [116.41, 39.91], [116.42, 39.92], [116.40, 39.90]]]},
    {"type": "Polygon", "coordinates": [[[116.40, 39.90], [116.41, 39.90], [116.40, 39.90], [116.41, 39.90],
                                         [116.40, 39.90]]]},
    {"type": "Polygon", "coordinates": [[[116.40, 39.90], [116.40, 39.90], [116.40, 39.90], [116.40, 39.90]]]},
], ids=["collinear", "back-and-forth", "one-point"])
def test_degenerate_polygon_in_admin_layer_is_refused(ws, tmp_path, capsys, bad):
    p = geojson(tmp_path / "deg.geojson", [({"编码": "U1", "名称": "好"}, BOX), ({"编码": "U2", "名称": "坏"}, bad)])
    err = refused(ws, p, *UNIT, capsys=capsys, expect=("feature #2", "'geometry'", "degenerate polygon"))
    assert "feature #1" not in err


@pytest.mark.parametrize(("bad", "what"), [
    ({"type": "Polygon", "coordinates": []}, "empty"),
    (None, "empty"),
])
def test_empty_geometries_in_a_polygon_layer_are_refused(ws, tmp_path, capsys, bad, what):
    p = geojson(tmp_path / "mixed.geojson",
                [({"编码": "U1", "名称": "好"}, BOX), ({"编码": "U2", "名称": "坏"}, bad), ({"编码": "U3", "名称": "好"}, BOX)])
    err = refused(ws, p, *UNIT, capsys=capsys, expect=("feature #2", "'geometry'", what))
    assert "feature #1" not in err
    assert "feature #3" not in err


LINE = {"type": "LineString", "coordinates": [[116.40, 39.90], [116.41, 39.91]]}


@pytest.mark.parametrize(("bad", "what"), [
    (pt(116.405, 39.905), "Point"),
    (LINE, "LineString"),
    ({"type": "MultiLineString", "coordinates": [LINE["coordinates"]]}, "MultiLineString"),
    ({"type": "GeometryCollection", "geometries": [BOX, pt(116.4, 39.9)]}, "GeometryCollection"),
])
def test_other_geometry_kinds_in_a_polygon_layer_are_left_out_and_reported(ws, tmp_path, capsys, bad, what):
    """The valid features are imported; the odd one is listed (row, kind found, expected, fix), exit 0."""
    p = geojson(tmp_path / "mixed.geojson",
                [({"编码": "U1", "名称": "好"}, BOX), ({"编码": "U2", "名称": "坏"}, bad), ({"编码": "U3", "名称": "好"}, BOX)])
    out = accepted(ws, p, *UNIT, "--layer", "mixed", capsys=capsys)
    skipped = [ln for ln in out.splitlines() if ln.strip().startswith("- ")]
    assert len(skipped) == 1, out
    for e in ("feature #2", "'geometry'", what, "expected Polygon", "wrong geometry type"):
        assert e in skipped[0], out
    assert "跳过 skipped 1" in out
    g = ws.store.read("mixed")
    assert sorted(g["feature_id"]) == ["U1", "U3"]
    assert g.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    # the store's history says rows were skipped
    assert "skipped 1 rows" in " ".join(str(v) for v in ws.store.history("mixed")["note"].dropna())


def test_points_in_a_line_layer_are_left_out_and_reported(ws, tmp_path, capsys):
    p = geojson(tmp_path / "lines.geojson", [({"编号": "L1"}, LINE), ({"编号": "L2"}, pt(116.4, 39.9)),
                                             ({"编号": "L3"}, BOX)])
    out = accepted(ws, p, "--type", "boundary_lines", "--layer", "bl", capsys=capsys)
    skipped = [ln for ln in out.splitlines() if ln.strip().startswith("- ")]
    assert len(skipped) == 2, out
    for e in ("feature #2", "Point", "expected LineString"):
        assert e in skipped[0], out
    for e in ("feature #3", "Polygon"):
        assert e in skipped[1], out
    assert ws.store.read("bl")["feature_id"].tolist() == ["L1"]


def test_no_feature_of_the_right_kind_is_refused_with_the_store_unchanged(ws, tmp_path, capsys):
    p = geojson(tmp_path / "lines.geojson", [({"编码": "U1"}, LINE), ({"编码": "U2"}, pt(116.4, 39.9))])
    err = refused(ws, p, *UNIT, capsys=capsys, expect=("feature #1", "feature #2", "LineString", "Point",
                                                        "expected Polygon"))
    assert "mixed" not in ws.store.layer_names()
    assert "lines" not in ws.store.layer_names()
    assert "store unchanged" in err


def test_a_left_out_feature_is_not_retired_by_an_update(ws, tmp_path, capsys):
    """--retire-missing retires what the file no longer holds, not what it holds in the wrong shape."""
    first = geojson(tmp_path / "u1.geojson", [({"编码": "U1", "名称": "甲"}, BOX), ({"编码": "U2", "名称": "乙"}, BOX)])
    accepted(ws, first, *UNIT, "--layer", "units", capsys=capsys)
    second = geojson(tmp_path / "u2.geojson", [({"编码": "U1", "名称": "甲"}, BOX), ({"编码": "U2", "名称": "乙"}, LINE)])
    out = accepted(ws, second, *UNIT, "--layer", "units", "--retire-missing", capsys=capsys)
    assert "退役 retired 0" in out
    assert sorted(ws.store.read("units")["feature_id"]) == ["U1", "U2"]


def test_other_faults_still_refuse_the_file_and_name_the_skipped_rows_too(ws, tmp_path, capsys):
    p = geojson(tmp_path / "mixed.geojson", [({"编码": "U1", "名称": "好"}, BOX), ({"编码": "U2", "名称": "坏"}, LINE),
                                             ({"编码": "U3", "名称": "空"}, None)])
    err = refused(ws, p, *UNIT, capsys=capsys, expect=("feature #3", "empty", "feature #2", "LineString"))
    assert "feature #1" not in err


# -- text ---------------------------------------------------------------------------------------
def test_nul_and_control_characters_are_removed_with_a_note(ws, tmp_path, capsys):
    p = tmp_path / "nul.csv"
    p.write_text("编号,名称,经度,纬度,地址\nA1,甲\x00乙,116.4,39.9,幸福\x01\x1b路\nA2,丙,116.41,39.91,正常\n",
                 encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "nul", capsys=capsys)
    assert "NUL" in out
    assert "第 2 行" in out
    assert "'名称'" in out
    assert "'地址'" in out
    g = ws.store.read("nul").set_index("feature_id")
    assert g.loc["A1", "name"] == "甲乙"  # not cut at the NUL
    assert g.loc["A1", "address"] == "幸福路"
    assert g.loc["A2", "address"] == "正常"


def test_very_long_text_is_kept_whole(ws, tmp_path, capsys):
    long = "长" * 100_000
    p = tmp_path / "long.csv"
    p.write_text(f"编号,名称,经度,纬度,备注\nA1,甲,116.4,39.9,{long}\n", encoding="utf-8")
    accepted(ws, p, *KIND, *WGS, "--layer", "long", capsys=capsys)
    assert ws.store.read("long")["备注"].iloc[0] == long


# -- files that are broken as a whole -----------------------------------------------------------
def _xlsx_with_formulas(p: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["编号", "名称", "经度", "纬度", "床位数"])
    sh.append(["A1", "甲", 116.40, 39.90, 10])
    sh.append(["A2", "乙", 116.41, 39.91, "=1/0"])
    sh.append(["A3", "丙", 116.42, 39.92, "#DIV/0!"])
    wb.save(p)


def test_excel_error_values_and_formulas_without_values_are_refused(ws, tmp_path, capsys):
    p = tmp_path / "formulas.xlsx"
    _xlsx_with_formulas(p)
    err = refused(ws, p, *KIND, *WGS, capsys=capsys,
                  expect=("row 3", "row 4", "'床位数'", "'=1/0'", "'#DIV/0!'", "Excel"))
    assert "row 2 " not in err


def _write(name: str, data: bytes | str):
    def make(tmp: Path) -> Path:
        p = tmp / name
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
        return p
    return make


def _empty_sheet(tmp: Path) -> Path:
    import openpyxl

    p = tmp / "empty_sheet.xlsx"
    openpyxl.Workbook().save(p)
    return p


def _header_only_sheet(tmp: Path) -> Path:
    p = tmp / "header_only.xlsx"
    pd.DataFrame(columns=["编号", "名称", "经度", "纬度"]).to_excel(p, index=False)
    return p


def _workbook_without_sheets(tmp: Path) -> Path:
    import re
    import zipfile

    import openpyxl

    base = tmp / "base.xlsx"
    openpyxl.Workbook().save(base)
    p = tmp / "no_sheets.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(p, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data, flags=re.S)
            zout.writestr(item, data)
    return p


def _shapefile_missing(part: str):
    def make(tmp: Path) -> Path:
        p = tmp / f"no_{part}.shp"
        pyogrio.write_dataframe(gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[shapely.Point(116.4, 39.9)],
                                                 crs="EPSG:4326"), p)
        p.with_suffix(f".{part}").unlink()
        return p
    return make


def _two_layer_gpkg(tmp: Path) -> Path:
    p = tmp / "two_layers.gpkg"
    g = gpd.GeoDataFrame({"名称": ["甲"]}, geometry=[shapely.Point(116.4, 39.9)], crs="EPSG:4326")
    pyogrio.write_dataframe(g, p, layer="a")
    pyogrio.write_dataframe(g, p, layer="b", append=True)
    return p


BROKEN = {
    "empty-csv": (_write("empty.csv", b""), "empty"),
    "bom-only-csv": (_write("bom.csv", b"\xef\xbb\xbf"), "empty"),
    "blank-lines-csv": (_write("blank.csv", b"\r\n\r\n  \n"), "empty"),
    "header-only-csv": (_write("header.csv", "编号,名称,经度,纬度\n"), "no data rows"),
    "ragged-csv": (_write("ragged.csv", '编号,名称,经度,纬度\nA1,"甲,116.4,39.9\n'), "CSV"),
    "empty-sheet": (_empty_sheet, "empty"),
    "workbook-without-sheets": (_workbook_without_sheets, "0 worksheets"),
    "header-only-sheet": (_header_only_sheet, "no data rows"),
    "not-a-workbook": (_write("fake.xlsx", b"PK\x03\x04 not really a zip"), "Excel"),
    "invalid-json": (_write("broken.geojson", '{"type": "FeatureCollection", "features": [{"type": '), "not valid JSON"),
    "json-list": (_write("list.geojson", "[1, 2, 3]"), "not GeoJSON"),
    "json-object": (_write("object.geojson", '{"hello": "world"}'), "not GeoJSON"),
    "empty-collection": (_write("none.geojson", '{"type": "FeatureCollection", "features": []}'), "no features"),
    "shapefile-without-shx": (_shapefile_missing("shx"), "no_shx.shx"),
    "shapefile-without-dbf": (_shapefile_missing("dbf"), "no_dbf.dbf"),
    "gpkg-with-two-layers": (_two_layer_gpkg, "--source-layer"),
    "unknown-suffix": (_write("data.docx", "hello"), "unsupported format"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_give_a_clear_error(ws, tmp_path, capsys, case):
    make, expect = BROKEN[case]
    src = make(tmp_path)
    refused(ws, src, *KIND, *WGS, capsys=capsys, expect=(expect,))


def test_bare_geometry_geojson_is_accepted(ws, tmp_path, capsys):
    p = _write("bare.geojson", json.dumps(pt(116.4, 39.9)))(tmp_path)
    accepted(ws, p, *KIND, "--layer", "bare", capsys=capsys)
    assert len(ws.store.read("bare")) == 1


def test_unexpected_failure_inside_the_importer_is_a_clear_error(ws, tmp_path, capsys, monkeypatch):
    """Whatever the importer trips over becomes an error naming the file, never a traceback."""
    import mzgis.layers.importer as importer

    def boom(*a, **k):
        msg = "simulated bug"
        raise KeyError(msg)

    monkeypatch.setattr(importer, "_extra_columns", boom)
    p = tmp_path / "ok.csv"
    p.write_text("编号,名称,经度,纬度\nA1,甲,116.4,39.9\n", encoding="utf-8")
    refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("simulated bug", "store unchanged"))


# -- through a separate process: no traceback on stderr ------------------------------------------
@pytest.mark.parametrize("case", ["mixed-encoding", "header-only", "inf-coordinate", "dup-header", "unclosed-ring"])
def test_cli_process_prints_no_traceback(ws, tmp_path, case):
    ring = {"type": "Polygon", "coordinates": [[[116.40, 39.90], [116.41, 39.90], [116.41, 39.91]]]}
    files = {
        "unclosed-ring": ("ring.geojson", json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"名称": "甲"}, "geometry": ring}]}).encode(), 2),
        "mixed-encoding": ("m.csv", b"id,name,lon,lat\n" + "A1,和平,116.4,39.9\n".encode()
                           + "A2,安贞,116.41,39.91\n".encode("gbk"), 2),
        "header-only": ("h.csv", "编号,名称,经度,纬度\n".encode(), 2),
        "inf-coordinate": ("i.csv", "编号,名称,经度,纬度\nA1,甲,Infinity,39.9\n".encode(), 2),
        "dup-header": ("d.csv", "编号,名称, 名称 ,经度,纬度\nA1,甲,乙,116.4,39.9\n".encode(), 0),
    }
    name, data, code = files[case]
    src = tmp_path / name
    src.write_bytes(data)
    before = dump(ws.store_path)
    proc = subprocess.run([sys.executable, "-m", "mzgis.gis.cli", "import", str(ws.root), str(src), *KIND, *WGS,
                           "--layer", "proc"], capture_output=True, text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr  # GDAL's remarks belong in the message, not as warnings
    assert proc.returncode == code, proc.stderr
    if code == 2:
        assert name in proc.stderr
        assert dump(ws.store_path) == before


# -- real data ----------------------------------------------------------------------------------
def test_beijing_subdistricts_import_with_a_note_about_geom(ws, capsys):
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    assert "geom" in pyogrio.read_info(shp)["fields"]  # the truncated WKT copy
    out = accepted(ws, shp, "--type", "admin_units", "--level", "subdistrict", "--layer", "subdistricts",
                   capsys=capsys)
    assert "'geom'" in out
    assert "'geom_src'" in out
    g = ws.store.read("subdistricts")
    assert len(g) == 331
    assert g.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    raw = pyogrio.read_dataframe(shp)
    assert g.sort_values("feature_id", key=lambda s: s.astype(int))["geom_src"].tolist() == raw["geom"].tolist()


# -- row numbers stay true to the file ----------------------------------------------------------
def test_line_numbers_count_blank_lines_and_line_breaks_inside_quotes(ws, tmp_path, capsys):
    p = tmp_path / "lines.csv"
    p.write_text('编号,名称,经度,纬度\n\nA1,"甲\n乙",116.40,39.90\n,,,\nA2,丙,116.41,abc\n', encoding="utf-8")
    err = refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("第 6 行 line 6", "'纬度'", "'abc'"))
    assert "line 3" not in err
    assert "line 4" not in err


def test_empty_rows_are_left_out_with_a_note(ws, tmp_path, capsys):
    p = tmp_path / "trailing.csv"
    p.write_text("编号,名称,经度,纬度\nA1,甲,116.40,39.90\n,,,\n , ,,\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "trailing", capsys=capsys)
    assert "2 个空行" in out
    assert "line 3" in out
    assert "line 4" in out
    assert ws.store.read("trailing")["feature_id"].tolist() == ["A1"]


def test_utf16_text_export_is_read(ws, tmp_path, capsys):
    p = tmp_path / "unicode.txt"  # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated
    p.write_bytes("编号\t名称\t经度\t纬度\nA1\t和平里\t116.40\t39.90\n".encode("utf-16"))
    accepted(ws, p, *KIND, *WGS, "--layer", "unicode", capsys=capsys)
    assert ws.store.read("unicode")["name"].tolist() == ["和平里"]


def test_unexpected_failure_inside_a_reader_is_a_clear_error(ws, tmp_path, capsys, monkeypatch):
    import mzgis.layers.sources as sources

    def boom(*a, **k):
        msg = "simulated reader bug"
        raise IndexError(msg)

    monkeypatch.setattr(sources, "_clean_columns", boom)
    p = tmp_path / "ok.csv"
    p.write_text("编号,名称,经度,纬度\nA1,甲,116.4,39.9\n", encoding="utf-8")
    refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("simulated reader bug", "cannot read"))


def test_infinite_value_in_an_extra_numeric_column_is_refused(ws, tmp_path, capsys):
    p = tmp_path / "extra_inf.gpkg"
    gdf = gpd.GeoDataFrame({"名称": ["甲", "乙"], "得分": [1.5, np.inf]},
                           geometry=[shapely.Point(116.40, 39.90), shapely.Point(116.41, 39.91)], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, p)
    err = refused(ws, p, *KIND, capsys=capsys, expect=("feature #2", "'得分'", "inf", "not a finite number"))
    assert "feature #1" not in err


def test_the_notes_advice_picks_the_other_column(ws, tmp_path, capsys):
    p = tmp_path / "pick.csv"
    p.write_text("编号,名称, 名称 ,经度,纬度\nA1,旧名,新名,116.4,39.9\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "pick0", capsys=capsys)
    assert "--map FIELD=名称_2" in out
    assert ws.store.read("pick0")["name"].tolist() == ["旧名"]
    accepted(ws, p, *KIND, *WGS, "--map", "name=名称_2", "--layer", "pick", capsys=capsys)
    g = ws.store.read("pick")
    assert g["name"].tolist() == ["新名"]
    assert g["名称"].tolist() == ["旧名"]


def test_field_map_accepts_a_renamed_column_by_its_name_in_the_file(ws, tmp_path):
    from mzgis.gis.pipelines import import_file

    p = tmp_path / "pick.csv"
    p.write_text("编号,名称, 名称 ,经度,纬度\nA1,旧名,新名,116.4,39.9\n", encoding="utf-8")
    import_file(ws, p, layer="pick", layer_type="facilities", kind="驿站", coords="wgs84",
                field_map={"name": " 名称 "})
    assert ws.store.read("pick")["name"].tolist() == ["新名"]


def _offset_sheet(p: Path, beds: object) -> None:
    """A sheet whose table starts at C3 (two empty rows and columns above and left of it)."""
    import openpyxl

    wb = openpyxl.Workbook()
    sh = wb.active
    rows = [["编号", "名称", "经度", "纬度", "床位数"], ["A1", "甲", 116.40, 39.90, 3], ["A2", "乙", 116.41, 39.91, beds]]
    for r, row in enumerate(rows, start=3):
        for c, v in enumerate(row, start=3):
            sh.cell(r, c, v)
    wb.save(p)


def test_sheet_starting_below_and_right_is_read_with_true_row_numbers(ws, tmp_path, capsys):
    good = tmp_path / "offset.xlsx"
    _offset_sheet(good, 7)
    out = accepted(ws, good, *KIND, *WGS, "--layer", "offset", capsys=capsys)
    assert "column_" not in out
    g = ws.store.read("offset")
    assert g["name"].tolist() == ["甲", "乙"]
    assert g["beds"].tolist() == [3, 7]
    assert not [c for c in g.columns if c.startswith("column_")]
    bad = tmp_path / "offset_formula.xlsx"
    _offset_sheet(bad, "=1/0")
    err = refused(ws, bad, *KIND, *WGS, capsys=capsys, expect=("row 5", "'床位数'", "'=1/0'"))
    assert "row 4 " not in err


def test_title_rows_above_the_header_are_skipped_with_a_note(ws, tmp_path, capsys):
    import openpyxl

    p = tmp_path / "titled.xlsx"
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(["门头沟区社区养老服务驿站一览表"])
    sh.merge_cells("A1:E1")
    sh.append(["制表日期：2024年5月"])
    sh.append(["编号", "名称", "经度", "纬度", "床位数"])
    sh.append(["A1", "甲", 116.10, 39.94, 4])
    sh.append(["A2", "乙", 116.11, 39.95, "多"])
    wb.save(p)
    err = refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("row 5", "'床位数'", "'多'"))
    assert "row 4 " not in err
    p2 = tmp_path / "titled_ok.xlsx"
    sh["E5"] = 6
    wb.save(p2)
    out = accepted(ws, p2, *KIND, *WGS, "--layer", "titled", capsys=capsys)
    assert "一览表" in out
    assert "制表日期" in out
    assert ws.store.read("titled")["beds"].tolist() == [4, 6]


def test_csv_title_line_saved_from_excel_is_skipped_with_true_line_numbers(ws, tmp_path, capsys):
    p = tmp_path / "titled.csv"
    p.write_text("驿站一览表,,,,\n编号,名称,经度,纬度,床位数\nA1,甲,116.40,39.90,2\nA2,乙,116.41,39.91,-1\n",
                 encoding="utf-8")
    err = refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("第 4 行 line 4", "'床位数'", "'-1'"))
    assert "line 3" not in err
    p.write_text("驿站一览表,,,,\n编号,名称,经度,纬度,床位数\nA1,甲,116.40,39.90,2\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "titled_csv", capsys=capsys)
    assert "驿站一览表" in out
    assert ws.store.read("titled_csv")["name"].tolist() == ["甲"]


def test_kind_flag_overriding_a_kind_column_is_noted(ws, tmp_path, capsys):
    p = tmp_path / "kinds.csv"
    p.write_text("编号,名称,类型,经度,纬度\nA1,甲,儿童之家,116.40,39.90\nA2,乙,社区养老服务驿站,116.41,39.91\n",
                 encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "kinds", capsys=capsys)
    assert "overrides column '类型'" in out
    assert "儿童之家" in out
    same = tmp_path / "same.csv"
    same.write_text("编号,名称,类型,经度,纬度\nA1,甲,社区养老服务驿站,116.40,39.90\n", encoding="utf-8")
    assert "overrides" not in accepted(ws, same, *KIND, *WGS, "--layer", "same", capsys=capsys)


def test_level_flag_overriding_a_level_column_is_noted(ws, tmp_path, capsys):
    p = geojson(tmp_path / "levels.geojson", [({"编码": "U1", "名称": "甲", "级别": "district"}, BOX)])
    out = accepted(ws, p, *UNIT, "--layer", "levels", capsys=capsys)
    assert "overrides column '级别'" in out
    assert "district" in out
    assert ws.store.read("levels")["level"].tolist() == ["community"]


def test_utf8_file_with_a_byte_order_mark_and_one_gbk_row_is_refused(ws, tmp_path, capsys):
    p = tmp_path / "bom_mixed.csv"  # ASCII header and Latin rows: only the BOM says "UTF-8"
    body = b"\xef\xbb\xbfid,name,lon,lat\nA1,Cafe,116.40,39.90\n" + "A2,安贞,116.41,39.91\n".encode("gbk")
    body[3:].decode("gb18030")  # would decode, garbled or not, without the BOM rule
    p.write_bytes(body)
    refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("line(s) 3", "--encoding"))


def test_a_shape_column_that_is_not_wkt_is_not_taken_for_the_geometry(ws, tmp_path, capsys):
    p = tmp_path / "arcgis.csv"  # an ArcGIS attribute table: SHAPE says "Polygon", no coordinates
    p.write_text("编号,名称,SHAPE\nA1,甲,Polygon\n", encoding="utf-8")
    refused(ws, p, *KIND, *WGS, capsys=capsys, expect=("no coordinate column", "--map lon=COLUMN"))
    p.write_text("编号,名称,SHAPE\nA1,甲,POINT (116.4 39.9)\n", encoding="utf-8")
    out = accepted(ws, p, *KIND, *WGS, "--layer", "shape_wkt", capsys=capsys)
    assert "'SHAPE'" in out
    assert ws.store.read("shape_wkt").geometry.iloc[0].equals(shapely.Point(116.4, 39.9))
