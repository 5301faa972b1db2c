"""Every bad-input case: a message naming file, row, field, what was found and the fix — and the
store unchanged (feature tables, history and metadata read back identical)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from mzgis.errors import CrsError, LayerError, ValidationFailed
from mzgis.gis.pipelines import import_file

HEADER = "编号,名称,经度,纬度,建筑面积,户数\n"


def write_csv(path: Path, body: str, *, encoding: str = "utf-8") -> Path:
    path.write_text(HEADER + body, encoding=encoding)
    return path


def import_fails(ws, src: Path, exc_type, *patterns: str, **kw):
    """Import must raise; the message must contain every pattern; the store must be unchanged."""
    before = ws.store.dump()
    kw.setdefault("layer", "x")
    kw.setdefault("layer_type", "facilities")
    kw.setdefault("kind", "社区养老服务驿站")
    kw.setdefault("coords", "wgs84")
    with pytest.raises(exc_type) as info:
        import_file(ws, src, **kw)
    msg = str(info.value)
    for p in patterns:
        assert p in msg, f"{p!r} not in message:\n{msg}"
    assert ws.store.dump() == before
    assert ws.store.layer_names() == [] or "x" not in ws.store.layer_names()
    return msg


def test_missing_coordinate(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\nA2,乙,,39.91,100,\n")
    import_fails(workspace, src, ValidationFailed, "a.csv", "第 3 行", "'经度'", "缺少坐标 missing coordinate")


def test_non_numeric_coordinate(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\nA2,乙,116.41,北纬39度,100,\n")
    import_fails(workspace, src, ValidationFailed, "第 3 行", "'纬度'", "not a number", "北纬39度", "decimal degrees")


def test_outside_china(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,2.35,48.85,100,\n")
    import_fails(workspace, src, ValidationFailed, "第 2 行", "outside the import extent", "lon=2.350000")


def test_lat_lon_swapped(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\nA2,乙,39.91,116.41,100,\n")
    msg = import_fails(workspace, src, ValidationFailed, "第 3 行", "swapped", "swap the columns")
    assert "第 2 行" not in msg


def test_duplicate_ids(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\nA1,乙,116.41,39.91,100,\n")
    import_fails(workspace, src, ValidationFailed, "第 3 行", "'编号'", "duplicate id", "also 第 2 行", "'A1'")


def test_unknown_kind(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\n")
    import_fails(workspace, src, LayerError, "养老院所", "unknown facility kind", "社区养老服务驿站", kind="养老院所")


def test_unknown_kind_in_column(workspace, tmp_path):
    src = tmp_path / "k.csv"
    src.write_text("编号,名称,类型,经度,纬度\nA1,甲,社区养老服务驿站,116.4,39.9\nA2,乙,火星站,116.41,39.91\n",
                   encoding="utf-8")
    import_fails(workspace, src, ValidationFailed, "第 3 行", "'类型'", "火星站", "unknown facility kind", kind=None)


@pytest.mark.parametrize(("column", "value", "label"), [("建筑面积", "-5", "建筑面积")])
def test_negative_area(workspace, tmp_path, column, value, label):
    src = write_csv(tmp_path / "a.csv", f"A1,甲,116.40,39.90,{value},\n")
    import_fails(workspace, src, ValidationFailed, "第 2 行", f"'{column}'", "must not be negative", "'-5'")


@pytest.mark.parametrize("column", ["户数", "人口"])
def test_negative_households_and_population(workspace, tmp_path, column):
    src = tmp_path / "d.csv"
    src.write_text(f"编号,经度,纬度,{column}\nR1,116.4,39.9,10\nR2,116.41,39.91,-3\n", encoding="utf-8")
    import_fails(workspace, src, ValidationFailed, "第 3 行", f"'{column}'", "must not be negative",
                 layer_type="demand", kind=None)


def test_table_without_coords_flag(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\n")
    import_fails(workspace, src, CrsError, "a.csv", "--coords", "gcj02", "bd09", coords=None)


def test_shapefile_without_prj(workspace, tmp_path):
    gdf = gpd.GeoDataFrame({"编号": ["1"], "名称": ["甲"]}, geometry=[shapely.Point(116.4, 39.9)], crs=None)
    p = tmp_path / "noprj.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(p, engine="pyogrio")
    assert not p.with_suffix(".prj").exists()
    import_fails(workspace, p, CrsError, "noprj.shp", "declares no CRS", "--coords", coords=None)


def test_invalid_polygon_is_repaired_and_reported(workspace, tmp_path):
    bowtie = shapely.Polygon([(116.40, 39.90), (116.42, 39.92), (116.42, 39.90), (116.40, 39.92)])
    good = shapely.box(116.43, 39.90, 116.44, 39.91)
    assert not bowtie.is_valid
    p = tmp_path / "units.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"编码": "U1", "名称": "甲"}, "geometry": shapely.geometry.mapping(bowtie)},
        {"type": "Feature", "properties": {"编码": "U2", "名称": "乙"}, "geometry": shapely.geometry.mapping(good)},
    ]}), encoding="utf-8")
    rep = import_file(workspace, p, layer="units", layer_type="admin_units", level="community")
    note = " ".join(rep.notes)
    assert "make_valid" in note
    assert "feature #1" in note
    assert "Self-intersection" in note
    assert "feature #2" not in note
    units = workspace.store.read("units")
    assert units.is_valid.all()
    repaired = units.loc[units.feature_id == "U1"].geometry.iloc[0]
    assert repaired.area == pytest.approx(shapely.make_valid(bowtie).area, rel=1e-6)
    assert repaired.area > 0


def test_wrong_geometry_type(workspace, tmp_path):
    p = tmp_path / "lines.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"名称": "甲"},
         "geometry": {"type": "LineString", "coordinates": [[116.4, 39.9], [116.41, 39.91]]}}]}), encoding="utf-8")
    import_fails(workspace, p, ValidationFailed, "feature #1", "wrong geometry type", "Polygon",
                 layer_type="admin_units", kind=None, level="community")


def test_many_problems_reported_together(workspace, tmp_path):
    rows = "".join(f"A{i},n,abc,39.9,1,\n" for i in range(30))
    src = write_csv(tmp_path / "a.csv", rows)
    msg = import_fails(workspace, src, ValidationFailed, "30 处问题", "and 10 more")
    assert msg.count("not a number") == 20


def test_bad_status_value(workspace, tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("编号,名称,经度,纬度,状态\nA1,甲,116.4,39.9,已拆除\n", encoding="utf-8")
    import_fails(workspace, src, ValidationFailed, "'状态'", "已拆除", "建成运营")


def test_unknown_map_column(workspace, tmp_path):
    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\n")
    import_fails(workspace, src, LayerError, "--map name=不存在", "no column", field_map={"name": "不存在"})


def test_cli_reports_error_and_exit_code(workspace, tmp_path, capsys):
    from mzgis.gis.cli import main

    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,-1,\n")
    before = workspace.store.dump()
    code = main(["import", str(workspace.root), str(src), "--type", "facilities", "--kind", "elderly_care_station",
                 "--coords", "wgs84"])
    err = capsys.readouterr().err
    assert code == 2
    assert "a.csv" in err
    assert "第 2 行" in err
    assert "store unchanged" in err
    assert workspace.store.dump() == before


def test_failure_inside_the_store_write_leaves_store_unchanged(workspace, tmp_path, monkeypatch):
    """A crash after validation, in the middle of writing (rows already inserted), changes nothing."""
    from mzgis.layers.store.gpkg import GpkgStore

    src = write_csv(tmp_path / "a.csv", "A1,甲,116.40,39.90,100,\n")
    import_file(workspace, src, layer="ok", layer_type="facilities", kind="驿站", coords="wgs84")
    before = workspace.store.dump()
    mode = workspace.store_path.stat().st_mode

    def boom(*a, **k):
        msg = "disk full (simulated)"
        raise OSError(msg)

    monkeypatch.setattr(GpkgStore, "_after_write", boom)
    with pytest.raises(OSError, match="disk full"):
        import_file(workspace, src, layer="second", layer_type="facilities", kind="驿站", coords="wgs84")
    with pytest.raises(OSError, match="disk full"):
        import_file(workspace, write_csv(tmp_path / "b.csv", "A1,甲,116.40,39.90,200,\n"), layer="ok",
                    layer_type="facilities", kind="驿站", coords="wgs84")
    monkeypatch.undo()
    assert workspace.store.dump() == before
    assert workspace.store_path.stat().st_mode == mode
    assert sorted(p.name for p in workspace.root.iterdir()) == ["cache", "mzgis.toml", "out", "project.gpkg"]


def test_problem_total_counts_rows_beyond_the_listing_limit(workspace, tmp_path):
    rows = "".join(f"A{i},n,abc,39.9,1,\n" for i in range(250))
    src = write_csv(tmp_path / "a.csv", rows)
    import_fails(workspace, src, ValidationFailed, "250 处问题", "and 230 more")
