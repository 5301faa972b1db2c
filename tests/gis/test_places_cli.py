"""Place-name staff's commands end to end on the real Chaoyang subdistricts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from mzgis.errors import StoreError
from mzgis.gis.cli import main
from tests.conftest import new_pg_database, shared


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def ws(tmp_path_factory, request):
    """The workflow on each store back end."""
    store = [] if request.param == "gpkg" else ["--store", new_pg_database(request.getfixturevalue("pg_server"))]
    root = tmp_path_factory.mktemp("places")
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    g = gpd.read_file(shp)
    chaoyang = g[g["县"] == "朝阳区"].copy()
    chaoyang["编码"] = [f"CY{i:02d}" for i in range(len(chaoyang))]
    src = root / "chaoyang.gpkg"
    chaoyang.drop(columns=["geom"]).to_file(src, engine="pyogrio")
    w = root / "ws"
    assert main(["init", str(w), "--name", "朝阳区地名办", *store]) == 0
    assert main(["import", str(w), str(src), "--layer", "chaoyang", "--type", "admin_units", "--level",
                 "subdistrict", "--map", "name=乡"]) == 0
    return w


def test_boundaries_and_topology(ws, capsys):
    assert main(["boundaries", str(ws), "--units", "chaoyang"]) == 0
    out = capsys.readouterr().out
    assert "boundary_lines_chaoyang" in out
    from mzgis.gis.workspace import Workspace

    lines = Workspace.open(ws).store.read("boundary_lines_chaoyang")
    assert {"left_code", "right_code", "length_m"} <= set(lines.columns)
    assert (lines["right_code"] == "").any()  # outer lines
    assert set(lines["left_code"]) | set(lines["right_code"][lines["right_code"] != ""]) >= {f"CY{i:02d}" for i in range(43)}
    assert main(["export", str(ws), "boundary_lines_chaoyang", str(ws / "lines.geojson")]) == 0
    assert main(["inspect", str(ws), "boundaries", "--units", "chaoyang"]) == 0
    t = pd.read_csv(ws / "out" / "inspect_boundaries_chaoyang.csv", encoding="utf-8-sig")
    assert len(t) == 0  # the real subdistricts have no gaps or overlaps


def markers_csv(ws, path):
    from mzgis.gis.workspace import Workspace

    lines = Workspace.open(ws).store.read("boundary_lines_chaoyang")
    lines = lines[lines["right_code"] != ""].head(3).to_crs(32650)
    rows = []
    for r in lines.to_dict("records"):
        for k, d in enumerate(np.arange(0, r["geometry"].length, 400)):
            p = gpd.GeoSeries([r["geometry"].interpolate(d)], crs=32650).to_crs(4326).iloc[0]
            rows.append((f"JZ-{r['feature_id']}-{k + 1:02d}", r["feature_id"], f"{p.x:.8f}", f"{p.y:.8f}", "完好",
                         "2023-04-01"))
    pd.DataFrame(rows, columns=["界桩编号", "所属界线", "经度", "纬度", "状况", "最近检查日期"]).to_csv(path, index=False)
    return rows


def test_markers_plan_record_edit_history_revert(ws, tmp_path, capsys):
    rows = markers_csv(ws, tmp_path / "m.csv")
    assert main(["import", str(ws), str(tmp_path / "m.csv"), "--layer", "markers", "--type", "boundary_markers",
                 "--coords", "wgs84", "--id-field", "界桩编号"]) == 0
    assert main(["inspect", str(ws), "markers", "--today", "2026-11-22"]) == 0
    f = pd.read_csv(ws / "out" / "inspect_markers.csv", encoding="utf-8-sig")
    assert list(f.columns) == ["marker_code", "line_id", "finding", "detail", "distance_m", "lon", "lat", "coord_system"]
    marked = {r[1] for r in rows}
    assert len(f[f.line_id.isin(marked)]) == 0  # the marked lines are clean
    assert set(f["finding"]) == {"gap"}  # the other lines have no markers at all
    assert main(["inspect", str(ws), "plan"]) == 0
    plan = pd.read_csv(ws / "out" / "inspection_plan.csv", encoding="utf-8-sig")
    assert set(plan["marker_code"].dropna()) == {r[0] for r in rows}
    code = rows[1][0]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    assert main(["record", str(ws), code, "--condition", "损坏", "--date", "2026-11-20", "--inspector", "张三",
                 "--photo", str(photo), "--note", "桩体倾斜"]) == 0
    from mzgis.gis.workspace import Workspace

    store = Workspace.open(ws).store
    m = store.read("markers").set_index("feature_id")
    assert m.loc[code, "condition"] == "损坏"
    assert m.loc[code, "last_inspection_date"] == "2026-11-20"
    rec = store.records("mzgis_inspections")
    assert rec["marker_code"].tolist() == [code]
    assert (ws / rec["photo"].iloc[0]).exists()
    h = store.history("markers", code)
    assert h["action"].tolist() == ["insert", "update"]
    assert h["user"].iloc[-1] == "张三"
    assert main(["inspect", str(ws), "markers", "--today", "2026-11-22"]) == 0
    f = pd.read_csv(ws / "out" / "inspect_markers.csv", encoding="utf-8-sig")
    assert f.loc[f.marker_code == code, "finding"].tolist() == ["condition"]
    assert len(f[f.line_id.isin(marked) & (f.finding != "condition")]) == 0
    # an edit from a stale copy (still at version 1) is refused and writes nothing
    before = store.dump()
    with pytest.raises(StoreError, match="stale"):
        store.edit_feature("markers", code, changes={"condition": "完好"}, expect_version=1)
    assert main(["edit", str(ws), "markers", "update", code, "--set", "condition=完好", "--expect-version", "1"]) == 2
    assert store.dump() == before
    # the current version edits fine; history shows the versions; revert brings back version 1
    assert main(["edit", str(ws), "markers", "update", code, "--set", "condition=移位", "--expect-version", "2"]) == 0
    capsys.readouterr()
    assert main(["history", str(ws), "markers", code]) == 0
    out = capsys.readouterr().out
    assert "v1" in out
    assert "v2" in out
    assert "v3" in out
    assert main(["revert", str(ws), "markers", code, "--version", "1"]) == 0
    m = Workspace.open(ws).store.read("markers", internal=True).set_index("feature_id")
    assert m.loc[code, "condition"] == "完好"
    assert m.loc[code, "last_inspection_date"] == "2023-04-01"
    assert m.loc[code, "mz_version"] == 4
    # add and retire
    assert main(["edit", str(ws), "markers", "add", "JZ-NEW", "--lonlat", "116.47,39.99", "--set",
                 f"line_id={rows[0][1]}"]) == 0
    assert main(["edit", str(ws), "markers", "retire", "JZ-NEW"]) == 0
    allm = Workspace.open(ws).store.read("markers", include_retired=True, internal=True)
    assert allm.loc[allm.feature_id == "JZ-NEW", "mz_retired_at"].notna().all()
    assert main(["edit", str(ws), "markers", "add", "JZ-NEW", "--lonlat", "116.47,39.99"]) == 2  # ids never reused


def test_address_inspection(ws, tmp_path):
    from mzgis.gis.workspace import Workspace

    units = Workspace.open(ws).store.read("chaoyang").set_index("name")
    wj = units.loc["望京街道"].geometry.representative_point()
    sj = units.loc["双井街道"].geometry.representative_point()
    rows = [
        ("A1", "北京市朝阳区望京街道望京西路48号", wj),
        ("A2", "北京市朝阳区望京街道阜通东大街6号", sj),  # the point is in 双井, not 望京
        ("A3", "北京市朝阳区火星街道某路1号", wj),  # no such subdistrict
        ("A4", "北京市朝阳区望京街道望京西路48号", wj),  # duplicate of A1
        ("A5", "北京市朝阳区望京街道望京西路48#", wj),  # non-standard
    ]
    csv = tmp_path / "addr.csv"
    pd.DataFrame([(i, a, p.x, p.y) for i, a, p in rows], columns=["编号", "地址", "经度", "纬度"]).to_csv(csv, index=False)
    assert main(["import", str(ws), str(csv), "--layer", "doorplates", "--type", "addresses", "--coords", "wgs84"]) == 0
    assert main(["inspect", str(ws), "addresses"]) == 0
    f = pd.read_csv(ws / "out" / "inspect_addresses.csv", encoding="utf-8-sig")
    got = set(zip(f["feature_id"], f["finding"], strict=True))
    assert ("A2", "outside_named_unit") in got
    assert ("A3", "unknown_unit") in got
    assert ("A1", "duplicate_address") in got
    assert ("A4", "duplicate_address") in got
    assert ("A5", "non_standard") in got
    assert ("A1", "outside_named_unit") not in got
    assert "双井街道" in f.loc[(f.feature_id == "A2") & (f.finding == "outside_named_unit"), "detail"].iloc[0]
