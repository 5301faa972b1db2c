"""``mzgis qgis WS`` writes a ``.qgz`` project: the web map's groups, the ``<layer>_current`` views,
relative paths, the default styles; checked by reading the project XML and, where QGIS's own
Python is installed (``/usr/bin/python3`` with ``qgis.core``), by opening it in QGIS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from mzgis.gis.cli import main

PINK, PURPLE = "231,41,138", "117,112,179"  # the web map's first two kind colours
TITLE = 'A<&">区'


def _pts(ids, statuses, x0=116.3):
    return gpd.GeoDataFrame({"feature_id": ids, "name": [f"站{i}" for i in ids], "status": statuses},
                            geometry=[shapely.Point(x0 + k * 1e-3, 39.9) for k in range(len(ids))], crs=4326)


@pytest.fixture
def ws(tmp_path):
    from mzgis.gis.coverage_layer import write_coverage_layer
    from mzgis.gis.workspace import init_workspace

    w = init_workspace(tmp_path / "ws", name=TITLE)
    st = w.store
    st.write_layer("stations", _pts(["A", "B", "C"], ["建成运营", "在建", "规划"]), layer_type="facilities",
                   kind="elderly_care_station")
    st.write_layer("stations", _pts(["A", "B"], ["建成运营", "在建"]), layer_type="facilities",
                   kind="elderly_care_station", retire_missing=True)  # C retired: hidden in QGIS
    st.write_layer("canteens", _pts(["D"], ["建成运营"], 116.31), layer_type="facilities", kind="elderly_dining")
    comm = gpd.GeoDataFrame({"feature_id": ["c1"], "name": ["甲社区"]}, geometry=[shapely.box(116.29, 39.89, 116.32, 39.91)],
                            crs=4326)
    st.write_layer("communities", comm, layer_type="admin_units", level="community")
    demand = gpd.GeoDataFrame({"feature_id": ["h1"], "households": [3]}, geometry=[shapely.Point(116.3, 39.9)], crs=4326)
    st.write_layer("homes", demand, layer_type="demand")
    table = pd.DataFrame({"level": "community", "unit_code": ["c1"], "unit_name": ["甲社区"], "households": [10],
                          "minutes": [15.0], "households_covered": [8], "share_covered": [0.8]})
    write_coverage_layer(table, {"community": comm}, w.out_dir, "elderly_care_station")
    return w


def _project(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert len(names) == 1
        assert names[0].endswith(".qgs")
        text = z.read(names[0]).decode("utf-8")
    return ET.fromstring(text)


def test_project_groups_views_relative_paths_and_styles(ws, capsys):
    assert main(["qgis", str(ws.root)]) == 0
    qgz = ws.root / "ws.qgz"
    assert str(qgz) in capsys.readouterr().out
    root = _project(qgz)
    assert root.get("projectname") == TITLE
    assert root.findtext("title") == TITLE
    groups = [g.get("name") for g in root.findall("./layer-tree-group/layer-tree-group")]
    assert groups == ["设施 facilities", "需求 demand", "覆盖率 coverage", "行政区划 boundaries"]
    by_id = {m.findtext("id"): m for m in root.iter("maplayer")}
    tree = {g.get("name"): [n.get("id") for n in g.iter("layer-tree-layer")]
            for g in root.findall("./layer-tree-group/layer-tree-group")}
    assert sorted(i for ids in tree.values() for i in ids) == sorted(by_id)
    sources = {}
    for lid, m in by_id.items():
        src = m.findtext("datasource")
        path, _, layer = src.partition("|layername=")
        assert path.startswith("./")
        assert not os.path.isabs(path)
        assert (qgz.parent / path).is_file()
        sources[lid] = (path, layer)
    store_layers = [lay for p, lay in sources.values() if p == "./project.gpkg"]
    assert sorted(store_layers) == ["canteens_current", "communities_current", "homes_current", "stations_current"]
    assert ("./out/coverage_elderly_care_station.gpkg", "community") in sources.values()
    # the view hides the retired feature
    import pyogrio

    assert sorted(pyogrio.read_dataframe(ws.store_path, layer="stations_current")["feature_id"]) == ["A", "B"]
    # facilities: one layer per kind, categorized by status in the kind's web colour
    fac = [by_id[i] for i in tree["设施 facilities"]]
    colours = []
    for m in fac:
        r = m.find("renderer-v2")
        assert r is not None
        assert r.get("type") == "categorizedSymbol"
        assert r.get("attr") == "status"
        assert [c.get("value") for c in r.iter("category")] == ["建成运营", "在建", "规划", ""]
        colours.append(r.find("./symbols/symbol/layer/prop[@k='color']").get("v").rsplit(",", 1)[0])
    assert colours == [PINK, PURPLE]
    cov = by_id[tree["覆盖率 coverage"][0]].find("renderer-v2")
    assert cov is not None
    assert cov.get("type") == "graduatedSymbol"
    assert cov.get("attr") == "share_covered_15min"
    assert root.find("./properties/Paths/Absolute").text == "false"


def test_the_project_moves_with_the_workspace(ws, tmp_path):
    assert main(["qgis", str(ws.root), "--out", str(ws.root / "out" / "plan.qgz")]) == 0
    moved = shutil.move(str(ws.root), str(tmp_path / "elsewhere"))
    root = _project(Path(moved) / "out" / "plan.qgz")
    for m in root.iter("maplayer"):
        path = m.findtext("datasource").split("|")[0]
        assert (Path(moved) / "out" / path).is_file()
    assert "../project.gpkg|layername=stations_current" in [m.findtext("datasource") for m in root.iter("maplayer")]


def test_qgis_errors_are_bilingual_and_exit_2(ws, tmp_path, capsys):
    assert main(["qgis", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "不是 mzgis 工作区" in err
    assert "is not an mzgis workspace" in err
    assert "Traceback" not in err
    assert main(["qgis", str(ws.root), "--out", str(ws.root / "p.txt")]) == 2
    err = capsys.readouterr().err
    assert ".qgz" in err
    assert "结尾" in err
    assert "must end in" in err
    before = ws.store_path.read_bytes()
    assert main(["qgis", str(ws.root), "--out", str(ws.store_path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert ws.store_path.read_bytes() == before


_QGIS_PY = "/usr/bin/python3"
_OPEN = r"""
import json, sys
from qgis.core import QgsApplication, QgsProject
app = QgsApplication([], False); app.initQgis()
p = QgsProject.instance(); ok = p.read(sys.argv[1])
out = {"ok": ok, "crs": p.crs().authid(), "title": p.title(), "layers": {}}
for lay in p.mapLayers().values():
    r = lay.renderer()
    cats = [c.value() for c in r.categories()] if hasattr(r, "categories") else []
    out["layers"][lay.name()] = [lay.isValid(), lay.featureCount(), r.type(), cats]
out["groups"] = [g.name() for g in p.layerTreeRoot().children()]
print(json.dumps(out))
"""


def _has_qgis() -> bool:
    if not Path(_QGIS_PY).exists():
        return False
    r = subprocess.run([_QGIS_PY, "-c", "import qgis.core"], capture_output=True, timeout=60, check=False)
    return r.returncode == 0


@pytest.mark.skipif(not _has_qgis(), reason="QGIS's Python (python3-qgis) is not installed")
def test_qgis_opens_the_project(ws):
    assert main(["qgis", str(ws.root)]) == 0
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    r = subprocess.run([_QGIS_PY, "-c", _OPEN, str(ws.root / "ws.qgz")], capture_output=True, text=True, timeout=120,
                       env=env, check=True)
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["ok"]
    assert got["crs"] == "EPSG:4326"
    assert got["title"] == TITLE
    assert got["groups"] == ["设施 facilities", "需求 demand", "覆盖率 coverage", "行政区划 boundaries"]
    layers = got["layers"]
    assert all(v[0] for v in layers.values()), layers  # every path resolved, every layer valid
    station = next(v for k, v in layers.items() if "stations" in k)
    assert station[1] == 2  # the retired station is not shown
    assert station[2] == "categorizedSymbol"
    assert station[3] == ["建成运营", "在建", "规划", ""]
    assert any(v[2] == "graduatedSymbol" for v in layers.values())


def test_a_store_made_before_styles_gets_them_from_mzgis_qgis(ws):
    import sqlite3

    with sqlite3.connect(ws.store_path) as con:  # as a store written by an older mzgis: no layer_styles
        con.execute("DROP TABLE layer_styles")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
    assert main(["qgis", str(ws.root)]) == 0
    with sqlite3.connect(ws.store_path) as con:
        names = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles WHERE owner = 'mzgis'")}
    assert {"stations", "stations_current", "communities_current", "homes_current"} <= names
    root = _project(ws.root / "ws.qgz")
    assert all(m.find("renderer-v2") is not None for m in root.iter("maplayer"))


def test_an_exported_geopackage_carries_the_style(ws, capsys):
    import sqlite3

    out = ws.root / "out" / "canteens.gpkg"
    assert main(["export", str(ws.root), "canteens", str(out)]) == 0
    with sqlite3.connect(out) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, useAsDefault, styleQML FROM layer_styles").fetchall()
        assert con.execute("PRAGMA user_version").fetchone() == (10200,)  # GeoPackage 1.2: QGIS 3.22 opens it quietly
    assert [r[:3] for r in rows] == [("canteens", "geom", 1)]
    r = ET.fromstring(rows[0][3].split("\n", 1)[1]).find("renderer-v2")
    assert r is not None
    assert r.find("./symbols/symbol/layer/prop[@k='color']").get("v").startswith(PURPLE + ",")  # 2nd kind, as in the store


def test_an_exported_geopackage_imports_back_without_naming_its_layer(ws, capsys):
    out = ws.root / "out" / "canteens.gpkg"
    assert main(["export", str(ws.root), "canteens", str(out)]) == 0
    # QGIS's style table is not data: the round trip export → edit in QGIS → import needs no --source-layer
    rc = main(["import", str(ws.root), str(out), "--layer", "canteens_back", "--type", "facilities",
               "--kind", "elderly_dining"])
    assert rc == 0, capsys.readouterr().err
    assert list(ws.store.read("canteens_back")["feature_id"]) == ["D"]


def test_a_postgis_store_opens_from_the_database_without_its_password(tmp_path, pg_url):
    from mzgis.gis.workspace import init_workspace

    w = init_workspace(tmp_path / "pws", name=TITLE, store=pg_url)
    w.store.write_layer("stations", _pts(["A", "B"], ["建成运营", "规划"]), layer_type="facilities",
                        kind="elderly_care_station")
    w.store.write_layer("stations", _pts(["A"], ["建成运营"]), layer_type="facilities", kind="elderly_care_station",
                        retire_missing=True)
    assert main(["qgis", str(w.root)]) == 0
    root = _project(w.root / "pws.qgz")
    (m,) = list(root.iter("maplayer"))
    src = m.findtext("datasource")
    assert m.findtext("provider") == "postgres"
    assert 'table="public"."stations_current" (geom)' in src
    assert "key='fid'" in src
    assert "type=Point" in src
    assert "password" not in src
    r = m.find("renderer-v2")
    assert r is not None
    assert [c.get("value") for c in r.iter("category")] == ["建成运营", "在建", "规划", ""]
    if _has_qgis():
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
        out = subprocess.run([_QGIS_PY, "-c", _OPEN, str(w.root / "pws.qgz")], capture_output=True, text=True,
                             timeout=120, env=env, check=True)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        (lay,) = got["layers"].values()
        assert lay[:3] == [True, 1, "categorizedSymbol"]  # valid, the retired station hidden
