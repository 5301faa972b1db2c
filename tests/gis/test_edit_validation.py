"""Edits are validated like imports: the same normalisation and the same refusals, store unchanged
on a refusal, and nothing an edit writes can break map or report afterwards."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from mzgis.gis.cli import main
from mzgis.layers import coords as cc
from tests.conftest import shared


@pytest.fixture
def ws(tmp_path):
    """Real Chaoyang subdistricts and one station inside each of five of them."""
    g = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    cy = g[g["县"] == "朝阳区"].head(5).reset_index(drop=True)
    p = cy.geometry.representative_point()
    src = tmp_path / "s.csv"
    src.write_text("编号,名称,经度,纬度,状态,床位数\n" + "\n".join(
        f"S{i},{n}驿站,{q.x:.7f},{q.y:.7f},建成运营,10" for i, (n, q) in enumerate(zip(cy["乡"], p, strict=True))),
        encoding="utf-8")
    w = tmp_path / "ws"
    assert main(["init", str(w), "--name", "朝阳区"]) == 0
    assert main(["import", str(w), str(src), "--layer", "st", "--type", "facilities", "--kind", "社区养老服务驿站",
                 "--coords", "wgs84"]) == 0
    return w


def _store(w):
    from mzgis.gis.workspace import Workspace

    return Workspace.open(w).store


def _row(w, fid):
    g = _store(w).read("st")
    return g[g["feature_id"] == fid].iloc[0]


@pytest.mark.parametrize(("sets", "field", "expect"), [
    (["status=operating"], "status", "建成运营"),
    (["status=under_construction"], "status", "在建"),
    (["kind=社区养老服务驿站"], "kind", "elderly_care_station"),
    (["kind=elderly_care_center"], "kind", "elderly_care_center"),
    (["beds=12张"], "beds", 12.0),
    (["beds=1,200"], "beds", 1200.0),
    (["floor_area_m2=320㎡"], "floor_area_m2", 320.0),
])
def test_values_are_normalised_like_imports(ws, sets, field, expect):
    args = [a for s in sets for a in ("--set", s)]
    assert main(["edit", str(ws), "st", "update", "S1", *args]) == 0
    assert _row(ws, "S1")[field] == expect


@pytest.mark.parametrize(("args", "said"), [
    (["update", "S1", "--set", "beds=-5"], "不能为负数"),
    (["update", "S1", "--set", "beds=many"], "not a number"),
    (["update", "S1", "--set", "kind=养老院子"], "unknown facility kind"),
    (["update", "S1", "--set", "status=废弃"], "not an allowed value"),
    (["update", "S1", "--lonlat", "39.9,116.4"], "swapped"),
    (["update", "S1", "--lonlat", "2.35,48.86"], "outside"),
    (["update", "S1", "--set", "nosuchfield=1"], "nosuchfield"),
    (["add", "S9", "--set", "name=新站"], "geometry"),
    # a word for "nothing" is neither a value nor the way to clear a field (that is beds=)
    (["update", "S1", "--set", "beds=nan"], "beds="),
    (["update", "S1", "--set", "beds= NULL "], "beds="),
    (["update", "S1", "--set", "name=None"], "name="),
])
def test_bad_edits_are_refused_and_change_nothing(ws, capsys, args, said):
    before = _store(ws).dump()
    assert main(["edit", str(ws), "st", *args]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err
    assert _store(ws).dump() == before


def test_add_fills_the_layers_kind_and_gcj02_is_converted(ws, capsys):
    lon, lat = 116.4600, 39.9900  # an Amap (GCJ-02) position in Chaoyang
    assert main(["edit", str(ws), "st", "add", "S9", "--set", "name=新驿站", "--lonlat", f"{lon},{lat}",
                 "--coords", "gcj02"]) == 0
    r = _row(ws, "S9")
    assert r["kind"] == "elderly_care_station"
    wx, wy = cc.gcj02_to_wgs84(lon, lat)
    assert abs(r.geometry.x - float(wx)) < 1e-7
    assert abs(r.geometry.y - float(wy)) < 1e-7
    # an edit, then a revert after the add, then the map: nothing crashes
    assert main(["edit", str(ws), "st", "update", "S9", "--set", "status=planned"]) == 0
    assert main(["revert", str(ws), "st", "S9", "--version", "1"]) == 0
    assert _row(ws, "S9")["status"] == "建成运营"
    assert main(["map", str(ws)]) == 0


def test_only_the_named_fields_are_written(ws):
    before = _row(ws, "S2")
    assert main(["edit", str(ws), "st", "update", "S2", "--set", "name=改名驿站"]) == 0
    after = _row(ws, "S2")
    assert after["name"] == "改名驿站"
    for c in ("kind", "status", "beds"):
        assert after[c] == before[c]
    assert after.geometry.equals(before.geometry)
    h = _store(ws).history("st", "S2")
    assert h["version"].tolist()[-1] == 2


def test_an_empty_set_clears_a_field(ws):
    assert main(["edit", str(ws), "st", "update", "S1", "--set", "beds="]) == 0
    assert pd.isna(_row(ws, "S1")["beds"])
