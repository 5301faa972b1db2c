"""Boundary-line layers that share ids (an imported layer and the one derived from the admin units):
markers are checked against the layer they belong to, and a real tie names both layers."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import shapely

from mzgis.errors import MzgisWarning
from mzgis.gis.cli import main
from mzgis.gis.pipelines import inspection_plan_table
from mzgis.gis.workspace import Workspace

W, MID, E, S, N = 116.300, 116.310, 116.320, 40.000, 40.010


def _geojson(path: Path, feats: list[tuple[dict, shapely.Geometry]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)} for p, g in feats]},
        ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Two communities; the bureau's line layer uses the derived ids (C1|C2, C1|, C2|) and its
    markers lie on the shared border; then `boundaries --units communities` derives the same ids."""
    ws = tmp_path / "ws"
    assert main(["init", str(ws), "--name", "界线测试"]) == 0
    units = _geojson(tmp_path / "communities.geojson", [
        ({"编码": "C1", "名称": "甲社区"}, shapely.box(W, S, MID, N)),
        ({"编码": "C2", "名称": "乙社区"}, shapely.box(MID, S, E, N))])
    assert main(["import", str(ws), str(units), "--layer", "communities", "--type", "admin_units",
                 "--level", "community"]) == 0
    lines = _geojson(tmp_path / "lines.geojson", [
        ({"编号": "C1|C2", "左侧编码": "C1", "右侧编码": "C2"}, shapely.LineString([(MID, S), (MID, N)])),
        ({"编号": "C1|", "左侧编码": "C1", "右侧编码": ""}, shapely.LineString([(W, S), (W, N)]))])
    assert main(["import", str(ws), str(lines), "--layer", "lines", "--type", "boundary_lines"]) == 0
    markers = _geojson(tmp_path / "markers.geojson", [
        ({"编号": "M1", "界线编号": "C1|C2", "状况": "完好", "最近检查日期": "2025-05-01"}, shapely.Point(MID, 40.003)),
        ({"编号": "M2", "界线编号": "C1|C2", "状况": "损坏", "最近检查日期": "2025-05-01"}, shapely.Point(MID, 40.007))])
    assert main(["import", str(ws), str(markers), "--layer", "markers", "--type", "boundary_markers"]) == 0
    assert main(["boundaries", str(ws), "--units", "communities"]) == 0
    return ws


def test_inspect_plan_uses_the_markers_line_layer(ws, capsys):
    capsys.readouterr()
    with warnings.catch_warnings():  # the CLI prints mzgis's warnings as one line on stderr
        warnings.simplefilter("always")
        assert main(["inspect", str(ws), "plan"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert re.search(r"注意 warning: .*checked against 'lines'.*'boundary_lines_communities' was derived", err)
    plan = pd.read_csv(ws / "out" / "inspection_plan.csv", dtype=str, keep_default_na=False)
    # the imported layer's two lines, each once (not the derived copies of C1|C2 and C1|)
    assert sorted(plan.iloc[:, 0].unique()) == ["C1|", "C1|C2"]
    assert sorted(plan.iloc[:, 5][plan.iloc[:, 5] != ""]) == ["M1", "M2"]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["inspect", str(ws), "markers"]) == 0
    with pytest.warns(MzgisWarning):  # the web's field pages read the same table
        table = inspection_plan_table(Workspace.open(ws))
    assert sorted(table["line_id"].unique()) == ["C1|", "C1|C2"]


def test_the_layer_the_markers_lie_on_wins_over_an_imported_twin(ws, tmp_path, capsys):
    """A second imported layer with the same ids but lines 500 m away: the markers are not on it."""
    far = _geojson(tmp_path / "far.geojson", [
        ({"编号": "C1|C2", "左侧编码": "C1", "右侧编码": "C2"}, shapely.LineString([(MID + 0.006, S), (MID + 0.006, N)]))])
    assert main(["import", str(ws), str(far), "--layer", "a_far", "--type", "boundary_lines"]) == 0
    with pytest.warns(MzgisWarning, match="checked against 'lines'.*not on the lines of 'a_far'"):
        table = inspection_plan_table(Workspace.open(ws))
    assert table.loc[table["marker_code"] == "M1", "chainage_m"].iloc[0] == pytest.approx(333, abs=5)
    assert (table["line_id"] == "C1|C2").sum() == 2  # one line, its two markers


def test_a_true_tie_names_both_layers_and_how_to_choose(ws, tmp_path, capsys):
    twin = _geojson(tmp_path / "twin.geojson", [
        ({"编号": "C1|C2", "左侧编码": "C1", "右侧编码": "C2"}, shapely.LineString([(MID, S), (MID, N)]))])
    assert main(["import", str(ws), str(twin), "--layer", "lines_copy", "--type", "boundary_lines"]) == 0
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["inspect", str(ws), "plan"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in ("lines", "lines_copy", "--lines", "C1|C2"):
        assert word in err
    assert "boundary_lines_communities" not in err  # derived: it is not one of the tied layers
    assert main(["inspect", str(ws), "plan", "--lines", "lines_copy"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["record", str(ws), "M1", "--condition", "完好", "--date", "2026-01-05", "--inspector", "王"]) == 0


def test_a_marker_code_in_two_marker_layers_asks_for_layer(ws, tmp_path, capsys):
    twin = _geojson(tmp_path / "m2.geojson", [
        ({"编号": "M1", "界线编号": "C1|", "状况": "完好", "最近检查日期": "2025-05-01"}, shapely.Point(W, 40.005))])
    assert main(["import", str(ws), str(twin), "--layer", "markers_west", "--type", "boundary_markers"]) == 0
    capsys.readouterr()
    args = ["record", str(ws), "M1", "--condition", "损坏", "--date", "2026-01-05", "--inspector", "王"]
    assert main(args) == 2
    err = capsys.readouterr().err
    for word in ("markers", "markers_west", "--layer"):
        assert word in err
    assert main([*args, "--layer", "markers_west"]) == 0
    assert Workspace.open(ws).store.feature("markers", "M1")["condition"] == "完好"  # the other one unchanged
