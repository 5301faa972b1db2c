"""``inspect --coords``: every inspect_*.csv/.xlsx gives where to go (lon/lat) in the coordinates the
staff paste into (GCJ-02 for Amap, BD-09 for Baidu, CGCS2000 or EPSG:n), like ``export`` and ``site``.

Real 朝阳区 subdistricts (../shared/data); markers placed on their real shared boundaries. The
oracle for every point is its own source coordinate (the CSV we wrote, the line we measured on),
converted with pyproj or the GCJ-02/BD-09 formulas and checked by converting back.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from mzgis.gis.cli import main
from mzgis.gis.workspace import Workspace
from mzgis.layers import coords as cc
from tests.conftest import shared


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect_coords")
    g = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    chaoyang = g[g["县"] == "朝阳区"].copy()
    chaoyang["编码"] = [f"CY{i:02d}" for i in range(len(chaoyang))]
    src = root / "chaoyang.gpkg"
    chaoyang.drop(columns=["geom"]).to_file(src, engine="pyogrio")
    w = root / "ws"
    assert main(["init", str(w), "--name", "朝阳区地名办"]) == 0
    assert main(["import", str(w), str(src), "--layer", "chaoyang", "--type", "admin_units", "--level",
                 "subdistrict", "--map", "name=乡"]) == 0
    assert main(["boundaries", str(w), "--units", "chaoyang"]) == 0
    lines = Workspace.open(w).store.read("boundary_lines_chaoyang")
    lines = lines[lines["right_code"] != ""].head(2).to_crs(32650)
    rows = []
    for r in lines.to_dict("records"):
        for k, d in enumerate(np.arange(0, r["geometry"].length, 500)):
            p = gpd.GeoSeries([r["geometry"].interpolate(d)], crs=32650).to_crs(4326).iloc[0]
            rows.append((f"JZ-{r['feature_id']}-{k + 1:02d}", r["feature_id"], round(p.x, 7), round(p.y, 7)))
    pd.DataFrame(rows, columns=["界桩编号", "所属界线", "经度", "纬度"]).to_csv(root / "m.csv", index=False)
    assert main(["import", str(w), str(root / "m.csv"), "--layer", "markers", "--type", "boundary_markers",
                 "--coords", "wgs84", "--id-field", "界桩编号"]) == 0
    return w, pd.DataFrame(rows, columns=["code", "line", "lon", "lat"]).set_index("code")


def inspect(w, what: str, coords: str | None) -> pd.DataFrame:
    args = ["inspect", str(w), what, "--today", "2026-11-22"] + (["--coords", coords] if coords else [])
    assert main(args) == 0
    name = "inspection_plan" if what == "plan" else f"inspect_{what}"
    return pd.read_csv(w / "out" / f"{name}.csv", encoding="utf-8-sig")


def test_markers_in_wgs84_are_where_the_markers_are(ws):
    w, src = ws
    f = inspect(w, "markers", None)
    assert (f["coord_system"] == "WGS-84").all()
    never = f[f["finding"] == "overdue"].set_index("marker_code")  # every marker: never inspected
    assert set(never.index) == set(src.index)
    np.testing.assert_allclose(never.loc[src.index, "lon"], src["lon"], atol=1e-6)
    np.testing.assert_allclose(never.loc[src.index, "lat"], src["lat"], atol=1e-6)
    # a gap lies on its line, at the middle of the stretch without markers
    lines = Workspace.open(w).store.read("boundary_lines_chaoyang").set_index("feature_id").to_crs(32650)
    gaps = f[f["finding"] == "gap"]
    assert len(gaps) > 0
    pts = gpd.GeoSeries(gpd.points_from_xy(gaps["lon"], gaps["lat"]), crs=4326).to_crs(32650)
    d = [lines.loc[lid, "geometry"].distance(p) for lid, p in zip(gaps["line_id"], pts, strict=True)]
    assert max(d) < 0.5  # 6 decimals of a degree ≈ 0.1 m


@pytest.mark.parametrize("coords", ["gcj02", "bd09"])
def test_markers_and_plan_in_amap_or_baidu_coordinates(ws, coords):
    w, src = ws
    back = cc.gcj02_to_wgs84 if coords == "gcj02" else cc.bd09_to_wgs84
    label = "GCJ-02" if coords == "gcj02" else "BD-09"
    for what, code_col in (("markers", "marker_code"), ("plan", "marker_code")):
        f = inspect(w, what, coords)
        assert (f["coord_system"] == label).all()
        rows = f[f[code_col].isin(src.index)].drop_duplicates(code_col).set_index(code_col)
        assert len(rows) == len(src)
        lon, lat = back(rows["lon"].to_numpy(), rows["lat"].to_numpy())
        # converting back gives the marker's own WGS-84 position (the inverse is iterative: ~1e-6°)
        np.testing.assert_allclose(lon, src.loc[rows.index, "lon"], atol=2e-6)
        np.testing.assert_allclose(lat, src.loc[rows.index, "lat"], atol=2e-6)
        # and the shift is GCJ-02's hundreds of metres in Beijing, not nothing
        assert np.abs(rows["lon"].to_numpy() - src.loc[rows.index, "lon"].to_numpy()).min() > 1e-3


def test_plan_in_a_projected_crs(ws):
    w, src = ws
    f = inspect(w, "plan", "EPSG:4547")  # CGCS2000 / 3-degree Gauss-Krüger CM 114E
    rows = f[f["marker_code"].isin(src.index)].set_index("marker_code")
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(src.loc[rows.index, "lon"].to_numpy(),
                                                                      src.loc[rows.index, "lat"].to_numpy())
    np.testing.assert_allclose(rows["lon"], x, atol=0.05)
    np.testing.assert_allclose(rows["lat"], y, atol=0.05)
    assert (f["coord_system"] == "EPSG:4547").all()


def test_addresses_and_boundaries_take_coords(ws, tmp_path):
    w, _ = ws
    units = Workspace.open(w).store.read("chaoyang")
    inside = units.geometry.iloc[:3].representative_point()
    # the address names another subdistrict than the one it lies in: a finding at the point
    names = units["name"].tolist()
    csv = tmp_path / "a.csv"
    pd.DataFrame({"编号": ["D1", "D2", "D3"],
                  "地址": [f"北京市朝阳区{names[(i + 1) % 3]}幸福路{i + 1}号" for i in range(3)],
                  "经度": inside.x.round(7), "纬度": inside.y.round(7)}).to_csv(csv, index=False)
    assert main(["import", str(w), str(csv), "--layer", "doorplates", "--type", "addresses", "--coords", "wgs84"]) == 0
    f = inspect(w, "addresses", "gcj02")
    out = f[f["finding"] == "outside_named_unit"].set_index("feature_id").sort_index()
    assert out.index.tolist() == ["D1", "D2", "D3"]
    gx, gy = cc.wgs84_to_gcj02(inside.x.round(7).to_numpy(), inside.y.round(7).to_numpy())
    np.testing.assert_allclose(out["lon"], np.round(gx, 6), atol=2e-7)
    np.testing.assert_allclose(out["lat"], np.round(gy, 6), atol=2e-7)
    assert (f["coord_system"] == "GCJ-02").all()
    x = pd.read_excel(w / "out" / "inspect_addresses.xlsx")
    assert {"经度", "纬度", "坐标系"} <= set(x.columns)
    # boundaries: a gap between two subdistricts, located in the chosen coordinates
    cut = units.copy()
    c = cut.geometry.iloc[0].representative_point()
    cut.loc[cut.index[0], "geometry"] = cut.geometry.iloc[0].difference(shapely.box(c.x - 0.001, c.y - 0.001,
                                                                                    c.x + 0.001, c.y + 0.001))
    src = tmp_path / "cut.gpkg"
    cut.to_file(src, engine="pyogrio")
    assert main(["import", str(w), str(src), "--layer", "cut", "--type", "admin_units", "--level", "subdistrict"]) == 0
    b84 = inspect_units(w, "wgs84")
    bgc = inspect_units(w, "gcj02")
    assert len(b84) > 0
    gx, gy = cc.wgs84_to_gcj02(b84["lon"].to_numpy(), b84["lat"].to_numpy())
    np.testing.assert_allclose(bgc["lon"], np.round(gx, 7), atol=2e-7)
    np.testing.assert_allclose(bgc["lat"], np.round(gy, 7), atol=2e-7)


def inspect_units(w, coords: str) -> pd.DataFrame:
    assert main(["inspect", str(w), "boundaries", "--units", "cut", "--coords", coords]) == 0
    return pd.read_csv(w / "out" / "inspect_boundaries_cut.csv", encoding="utf-8-sig")


def test_a_bad_coords_value_is_refused(ws, capsys):
    w, _ = ws
    assert main(["inspect", str(w), "markers", "--coords", "wgs48"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "wgs48" in err
