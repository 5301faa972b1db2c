"""``mzgis inspect WS corridor``: graves within --width-m of railway and highway layers imported
from files, per township, against shapely buffers; bad input refused with exit 2, nothing written."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from mzgis.gis.cli import main
from tests.analysis.test_corridors import UTM, _fixture, _oracle
from tests.conftest import sha256


@pytest.fixture
def corridor_ws(tmp_path):
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="测试旗")
    feats, lines, units = _fixture()
    feats = feats.assign(name=[f"坟{i}" for i in range(len(feats))])
    feats.loc[0, "name"] = "=HYPERLINK(\"x\")"  # a formula-like name: neutralised in the CSV
    files = {}
    for name, g in {"graves": feats, "rail": lines.iloc[[0]], "road": lines.iloc[[1]], "towns": units}.items():
        files[name] = tmp_path / f"{name}.geojson"
        g.to_crs("EPSG:4326").to_file(files[name], driver="GeoJSON")
    assert main(["import", str(ws.root), str(files["graves"]), "--layer", "graves", "--type", "graves",
                 "--id-field", "feature_id"]) == 0
    for name in ("rail", "road"):
        assert main(["import", str(ws.root), str(files[name]), "--layer", name, "--type", "lines",
                     "--id-field", "feature_id"]) == 0
    assert main(["import", str(ws.root), str(files["towns"]), "--layer", "towns", "--type", "admin_units",
                 "--level", "subdistrict", "--id-field", "feature_id"]) == 0
    return ws, feats, lines


def test_corridor_command_writes_what_buffers_give(corridor_ws, capsys):
    ws, feats, lines = corridor_ws
    capsys.readouterr()
    rc = main(["inspect", str(ws.root), "corridor", "--layer", "graves", "--along", "rail,road", "--width-m", "200",
               "--by", "subdistrict"])
    out = capsys.readouterr().out
    assert rc == 0
    inside, dist, _ = _oracle(feats, lines, 200)
    table = pd.read_csv(ws.root / "out" / "corridor_graves.csv", dtype={"feature_id": str})
    assert sorted(table["feature_id"]) == sorted(feats.loc[inside, "feature_id"])
    d = dict(zip(feats["feature_id"], dist, strict=True))
    assert table["distance_m"].tolist() == pytest.approx([d[i] for i in table["feature_id"]], abs=0.05)
    assert set(table["line_layer"]) == {"rail", "road"}
    assert table.loc[table["feature_id"] == "g1", "name"].iloc[0].startswith("'=")  # neutralised
    units = pd.read_csv(ws.root / "out" / "corridor_graves_units.csv")
    t1 = units[units["unit_code"] == "T1"].iloc[0]
    assert (t1["inside"], t1["done"], t1["width_m"], t1["done_status"]) == (3, 1, 200, "整治完成")
    assert "沿 along rail, road (2 条线 lines)" in out
    assert "计为完成 counted as done: 整治完成" in out
    assert "西乡: 廊道内 inside 3, 完成 done 1, 完成率 completion 33.3%" in out
    assert "辖区 all: 廊道内 inside 6, 完成 done 3, 完成率 completion 50.0%" in out
    g = gpd.read_file(ws.root / "out" / "corridor_graves.gpkg")
    assert len(g) == 6
    assert g.crs.to_epsg() == 4326


@pytest.mark.parametrize(("args", "said"), [
    (["--along", "graves", "--width-m", "200"], "不是线图层 the corridor layer 'graves' is not a line layer"),
    (["--along", "rail", "--width-m", "0"], "must be a positive number"),
    (["--along", "rail", "--width-m", "-3"], "must be a positive number"),
    (["--along", "rail", "--width-m", "wide"], "不是数字 is not a number"),
    (["--along", "rails", "--width-m", "200"], "--along rails: 没有图层 no such layer"),
    (["--along", "rail", "--width-m", "200", "--by", "village"], "--by village: 没有这一级的行政区划"),
    (["--along", "rail", "--width-m", "200", "--status-field", "整治"], "缺少字段"),
])
def test_bad_input_exit_2_nothing_written(corridor_ws, capsys, args, said):
    ws, _, _ = corridor_ws
    before = sha256(ws.store_path)
    rc = main(["inspect", str(ws.root), "corridor", "--layer", "graves", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert said in err
    assert "Traceback" not in err
    assert not list((ws.root / "out").glob("corridor_*"))
    assert sha256(ws.store_path) == before


def test_unknown_feature_layer(corridor_ws, capsys):
    ws, _, _ = corridor_ws
    assert main(["inspect", str(ws.root), "corridor", "--layer", "tombs", "--along", "rail", "--width-m", "9"]) == 2
    assert "--layer tombs: 没有图层 no such layer" in capsys.readouterr().err


def test_corridor_needs_its_arguments(corridor_ws, capsys):
    ws, _, _ = corridor_ws
    assert main(["inspect", str(ws.root), "corridor", "--layer", "graves"]) == 2
    assert "needs --layer LAYER --along LINES --width-m M" in capsys.readouterr().err


def test_points_into_a_line_layer_are_left_out(tmp_path, capsys):
    """The importer takes line files as --type lines (and leaves out points, with a note)."""
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="测试")
    f = tmp_path / "mixed.geojson"
    gpd.GeoDataFrame({"name": ["京通快速", "站"], "highway": ["trunk", "bus_stop"]},
                     geometry=[shapely.LineString([(116.5, 39.9), (116.6, 39.9)]), shapely.Point(116.5, 39.91)],
                     crs="EPSG:4326").to_file(f, driver="GeoJSON")
    assert main(["import", str(ws.root), str(f), "--layer", "roads", "--type", "lines"]) == 0
    g = ws.store.read("roads")
    assert g["class"].tolist() == ["trunk"]
    assert g.to_crs(UTM).length.iloc[0] == pytest.approx(8550, rel=0.01)


def test_osm_ways_import_as_corridor_lines(tmp_path, capsys):
    """An .osm file imports as --type lines: its railways, motorway/trunk/primary highways and rivers,
    the same ways an ElementTree reading of the XML selects."""
    import xml.etree.ElementTree as ET

    from mzgis.gis.workspace import init_workspace
    from mzgis.layers.osm_lines import CORRIDOR_CLASSES
    from tests.conftest import shared

    path = shared("osm/beijing_daxing_yizhuang_bda.osm")
    want = {}
    for way in ET.parse(path).getroot().iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if tags.get("area") == "yes":
            continue
        for key, vals in CORRIDOR_CLASSES.items():
            if tags.get(key) in vals:
                want[f"way/{way.get('id')}"] = (f"{key}={tags[key]}", tags.get("name", ""))
                break
    assert len(want) >= 15
    ws = init_workspace(tmp_path / "ws", name="大兴")
    assert main(["import", str(ws.root), str(path), "--type", "lines", "--layer", "highways"]) == 0
    assert "OSM ways kept as corridor lines: highway=motorway × 6" in capsys.readouterr().out
    g = ws.store.read("highways")
    assert dict(zip(g["feature_id"], zip(g["class"], g["name"].fillna(""), strict=True), strict=True)) == want
    assert set(g.geometry.geom_type) == {"LineString"}


def test_broken_osm_file_refused(tmp_path, capsys):
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="测试")
    bad = tmp_path / "cut.osm"
    bad.write_text("<?xml version='1.0'?><osm><way id='1'><nd ref=", encoding="utf-8")
    before = sha256(ws.store_path)
    assert main(["import", str(ws.root), str(bad), "--type", "lines"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "cut.osm" in err
    assert sha256(ws.store_path) == before


def test_units_with_nothing_inside_are_counted_not_listed(corridor_ws, capsys):
    ws, _, _ = corridor_ws
    capsys.readouterr()
    assert main(["inspect", str(ws.root), "corridor", "--layer", "graves", "--along", "road", "--width-m", "35"]) == 0
    out = capsys.readouterr().out
    assert "辖区 all: 廊道内 inside 1, 完成 done 1, 完成率 completion 100.0%" in out  # p1, 30 m from the road
    assert "东镇: 廊道内 inside 1" in out
    assert "西乡" not in out
    assert "另有 1 个单位廊道内没有要素" in out
    units = pd.read_csv(ws.root / "out" / "corridor_graves_units.csv")
    assert units.loc[units["unit_code"] == "T1", "inside"].tolist() == [0]
