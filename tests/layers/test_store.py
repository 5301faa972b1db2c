"""The project store: atomic writes, history, retirement, export."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pyogrio
import pytest

from mzgis.errors import LayerError
from mzgis.gis.pipelines import import_file
from mzgis.layers.export import export_frame


@pytest.fixture
def workspace(any_workspace):
    """Every test here runs on both back ends (GeoPackage and PostGIS)."""
    return any_workspace


def write(tmp_path, name, rows):
    p = tmp_path / name
    pd.DataFrame(rows, columns=["编号", "名称", "经度", "纬度", "建筑面积"]).to_csv(p, index=False)
    return p


def test_empty_store_is_a_geopackage(gpkg_workspace):
    workspace = gpkg_workspace
    con = sqlite3.connect(workspace.store_path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    assert {"mzgis_layers", "mzgis_history", "mzgis_meta"} <= tables
    con.close()
    assert pyogrio.list_layers(workspace.store_path) is not None


def test_insert_update_retire_with_history(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("MZGIS_USER", "张三")
    a = write(tmp_path, "a.csv", [("F1", "甲", 116.40, 39.90, 100), ("F2", "乙", 116.41, 39.91, 200)])
    r1 = import_file(workspace, a, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    assert (r1.inserted, r1.updated, r1.unchanged) == (2, 0, 0)
    # second import: F1 changed area, F2 unchanged, F3 new
    b = write(tmp_path, "b.csv", [("F1", "甲", 116.40, 39.90, 150), ("F2", "乙", 116.41, 39.91, 200),
                                  ("F3", "丙", 116.42, 39.92, 300)])
    monkeypatch.setenv("MZGIS_USER", "李四")
    r2 = import_file(workspace, b, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    assert (r2.inserted, r2.updated, r2.unchanged) == (1, 1, 1)
    h = workspace.store.history("fac", "F1")
    assert h["action"].tolist() == ["insert", "update"]
    assert h["user"].tolist() == ["张三", "李四"]
    old = json.loads(h["old_attributes"].iloc[1])
    assert old["floor_area_m2"] == 100
    assert h["old_geometry"].iloc[1].startswith("POINT (116.4 39.9")
    # retire F2: gone from reads, still in the store, history kept
    workspace.store.retire("fac", ["F2"], user="王五")
    active = workspace.store.read("fac")
    assert sorted(active["feature_id"]) == ["F1", "F3"]
    everything = workspace.store.read("fac", include_retired=True, internal=True)
    assert len(everything) == 3
    f2 = everything[everything.feature_id == "F2"].iloc[0]
    assert f2["mz_retired_at"] is not None
    assert f2["mz_version"] == 2
    assert workspace.store.history("fac", "F2")["action"].tolist() == ["insert", "retire"]
    listing = workspace.store.layers()
    row = listing[listing.name == "fac"].iloc[0]
    assert (row["features"], row["retired"]) == (2, 1)


def test_retire_missing_on_reimport(workspace, tmp_path):
    a = write(tmp_path, "a.csv", [("F1", "甲", 116.40, 39.90, 100), ("F2", "乙", 116.41, 39.91, 200)])
    import_file(workspace, a, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    b = write(tmp_path, "b.csv", [("F1", "甲", 116.40, 39.90, 100)])
    r = import_file(workspace, b, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84",
                    retire_missing=True)
    assert (r.retired, r.unchanged, r.total_active) == (1, 1, 1)


def test_layer_type_clash(workspace, tmp_path):
    a = write(tmp_path, "a.csv", [("F1", "甲", 116.40, 39.90, 100)])
    import_file(workspace, a, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    before = workspace.store.dump()
    with pytest.raises(LayerError, match="already exists as facilities"):
        import_file(workspace, a, layer="fac", layer_type="candidates", coords="wgs84")
    assert workspace.store.dump() == before


def test_stale_lock_file_is_ignored(gpkg_workspace, tmp_path):
    workspace = gpkg_workspace
    """A lock file left by the old store (or anything else) does not block writers: the lock is the database's."""
    a = write(tmp_path, "a.csv", [("F1", "甲", 116.40, 39.90, 100)])
    (workspace.root / "project.gpkg.lock").write_text("12345")
    rep = import_file(workspace, a, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    assert rep.inserted == 1


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv", ".xlsx"])
def test_export_formats_keep_ids(workspace, tmp_path, suffix):
    a = write(tmp_path, "a.csv", [("007", "甲", 116.40, 39.90, 100), ("F2", "乙", 116.41, 39.91, 200)])
    import_file(workspace, a, layer="fac", layer_type="facilities", kind="驿站", coords="wgs84")
    out = export_frame(workspace.store.read("fac"), tmp_path / f"out{suffix}", layer="fac")
    if suffix in (".gpkg", ".geojson"):
        back = pyogrio.read_dataframe(out)
    elif suffix == ".csv":
        back = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
        assert back["lon"].astype(float).iloc[0] == pytest.approx(116.40)
    else:
        back = pd.read_excel(out, dtype=str)
    assert back["feature_id"].tolist() == ["007", "F2"]
    assert back["name"].tolist() == ["甲", "乙"]


def test_cli_layers_and_export(workspace, tmp_path, capsys):
    from mzgis.gis.cli import main

    a = write(tmp_path, "a.csv", [("F1", "甲", 116.40, 39.90, 100)])
    assert main(["import", str(workspace.root), str(a), "--layer", "fac", "--type", "facilities", "--kind",
                 "社区养老服务驿站", "--coords", "wgs84"]) == 0
    assert main(["layers", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "fac" in out
    assert "EPSG:4326" in out
    assert main(["export", str(workspace.root), "fac", str(tmp_path / "fac.geojson")]) == 0
    assert (tmp_path / "fac.geojson").exists()
