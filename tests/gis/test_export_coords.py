"""Outputs in the coordinates people paste into: GCJ-02 for Amap, BD-09, CGCS2000, EPSG codes;
Shapefiles in GBK; Chinese headers; service areas as exportable layers."""

from __future__ import annotations

import csv

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import pytest
from pyproj import Geod, Transformer

from mzgis.gis.cli import main
from mzgis.layers import coords as cc
from tests.conftest import shared


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Real Chaoyang subdistricts, and one point per subdistrict as a facility layer."""
    root = tmp_path_factory.mktemp("export")
    g = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    cy = g[g["县"] == "朝阳区"].reset_index(drop=True)
    pts = cy.geometry.representative_point()
    rows = [f"CY{i:02d},{n}养老驿站,{p.x:.8f},{p.y:.8f},建成运营" for i, (n, p) in enumerate(zip(cy["乡"], pts, strict=True))]
    src = root / "stations.csv"
    src.write_text("编号,名称,经度,纬度,状态\n" + "\n".join(rows) + "\n", encoding="utf-8")
    w = root / "ws"
    assert main(["init", str(w), "--name", "朝阳区民政局"]) == 0
    assert main(["import", str(w), str(src), "--layer", "stations", "--type", "facilities", "--kind", "社区养老服务驿站",
                 "--coords", "wgs84"]) == 0
    return w, cy


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_gcj02_csv_pastes_into_amap(ws, tmp_path):
    w, _ = ws
    assert main(["export", str(w), "stations", str(tmp_path / "a.csv"), "--coords", "gcj02"]) == 0
    assert main(["export", str(w), "stations", str(tmp_path / "w.csv")]) == 0
    a, o = _rows(tmp_path / "a.csv"), _rows(tmp_path / "w.csv")
    assert {r["coord_system"] for r in a} == {"GCJ-02"}
    assert {r["coord_system"] for r in o} == {"WGS-84"}
    lon, lat = np.array([float(r["lon"]) for r in a]), np.array([float(r["lat"]) for r in a])
    wl, wt = np.array([float(r["lon"]) for r in o]), np.array([float(r["lat"]) for r in o])
    # the inverse transform (an independent fixed-point iteration) gives the WGS-84 points back
    bx, by = cc.gcj02_to_wgs84(lon, lat)
    assert np.abs(bx - wl).max() < 2e-7
    assert np.abs(by - wt).max() < 2e-7
    # and the shift is the few hundred metres that misplace a point on Amap in WGS-84
    _, _, d = Geod(ellps="WGS84").inv(wl, wt, lon, lat)
    assert d.min() > 300
    assert d.max() < 800


def test_bd09_cgcs2000_and_epsg(ws, tmp_path):
    w, _ = ws
    assert main(["export", str(w), "stations", str(tmp_path / "b.xlsx"), "--coords", "bd09"]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "b.xlsx").active
    head = [c.value for c in sheet[1]]
    assert {"编号", "名称", "经度", "纬度", "坐标系"} <= set(head)  # Chinese headers in the spreadsheet
    assert {sheet.cell(row=2, column=head.index("坐标系") + 1).value} == {"BD-09"}
    assert main(["export", str(w), "stations", str(tmp_path / "g.gpkg"), "--coords", "EPSG:4547"]) == 0
    g = gpd.read_file(tmp_path / "g.gpkg", layer="stations")  # the file also holds its QGIS style (layer_styles)
    assert g.crs.to_epsg() == 4547
    src = gpd.read_file(tmp_path / "g.gpkg", layer="stations").to_crs(4326)
    w84 = _rows_points(w, tmp_path)
    t = Transformer.from_crs(4326, 4547, always_xy=True)
    x, y = t.transform(w84[:, 0], w84[:, 1])
    assert np.abs(g.geometry.x.to_numpy() - x).max() < 0.02  # the oracle starts from lon/lat rounded to 1e-7°
    assert np.abs(src.geometry.x.to_numpy() - w84[:, 0]).max() < 1e-7
    assert y.min() > 4e6
    # GCJ-02 cannot be declared by a GeoPackage: refused, nothing written
    assert main(["export", str(w), "stations", str(tmp_path / "x.gpkg"), "--coords", "gcj02"]) == 2
    assert not (tmp_path / "x.gpkg").exists()


def _rows_points(w, tmp_path):
    assert main(["export", str(w), "stations", str(tmp_path / "p.csv")]) == 0
    return np.array([[float(r["lon"]), float(r["lat"])] for r in _rows(tmp_path / "p.csv")])


def test_shapefile_in_gbk_with_chinese_fields(ws, tmp_path):
    w, _ = ws
    assert main(["import", str(w), str(shared("boundaries/beijing_subdistricts/beijing.shp")), "--layer", "subs",
                 "--type", "admin_units", "--level", "subdistrict", "--map", "name=乡"]) == 0
    assert main(["export", str(w), "subs", str(tmp_path / "s.shp")]) == 0
    assert (tmp_path / "s.cpg").read_text().strip().upper() == "GBK"
    info = pyogrio.read_info(tmp_path / "s.shp", encoding="GBK")
    assert all(len(f.encode("gbk")) <= 10 for f in info["fields"])
    back = gpd.read_file(tmp_path / "s.shp", encoding="GBK")
    assert set(back["name"]) == set(gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"))["乡"])
    raw = (tmp_path / "s.dbf").read_bytes()
    assert "望京街道".encode("gbk") in raw  # GBK bytes, as bureau tools read them


def test_service_areas_are_layers(ws, tmp_path, capsys):
    w, _ = ws
    assert main(["network", str(w), str(shared("osm/beijing_chaoyang_wangjing.osm"))]) == 0
    assert main(["service-areas", str(w), "--kind", "社区养老服务驿站", "--minutes", "5,10"]) == 0
    assert "service_areas_elderly_care_station_all" in capsys.readouterr().out
    assert main(["export", str(w), "service_areas_elderly_care_station_all", str(tmp_path / "sa.geojson")]) == 0
    sa = gpd.read_file(tmp_path / "sa.geojson")
    assert sorted(sa["minutes"]) == [5, 10]
    five = sa[sa["minutes"] == 5].geometry.iloc[0]
    ten = sa[sa["minutes"] == 10].geometry.iloc[0]
    assert ten.buffer(1e-9).contains(five)  # nested
    assert main(["export", str(w), "service_areas_elderly_care_station", str(tmp_path / "each.gpkg")]) == 0
    each = gpd.read_file(tmp_path / "each.gpkg", layer="service_areas_elderly_care_station")
    assert set(each["facility_status"]) == {"建成运营"}
    assert each["feature_id"].is_unique
