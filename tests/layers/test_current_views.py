"""What QGIS and pyogrio open: a view ``<layer>_current`` per layer with only the current (not
retired) features, registered like a layer, kept in step when a layer gains columns or geometry
types; the same views on PostGIS."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pyogrio
import shapely

from mzgis.layers.store.views import CURRENT_SUFFIX


def _layer(ids, **extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"feature_id": ids, "name": [f"桩{i}" for i in ids], **extra},
                            geometry=[shapely.Point(116.3 + k * 1e-3, 39.9) for k in range(len(ids))], crs=4326)


def _view_rows(ws, view: str) -> list[str]:
    if ws.store_url:
        import psycopg

        with psycopg.connect(ws.store_url) as con:
            return sorted(r[0] for r in con.execute(f'SELECT feature_id FROM "{view}"').fetchall())
    return sorted(pyogrio.read_dataframe(ws.store_path, layer=view)["feature_id"])


def test_current_view_lists_only_current_features(any_workspace):
    st = any_workspace.store
    assert CURRENT_SUFFIX == "_current"
    st.write_layer("markers", _layer(["A", "B", "C"]), layer_type="boundary_markers")
    st.write_layer("markers", _layer(["A", "C"]), layer_type="boundary_markers", retire_missing=True)
    assert sorted(st.read("markers", include_retired=True, internal=True)["feature_id"]) == ["A", "B", "C"]
    assert _view_rows(any_workspace, "markers_current") == ["A", "C"]
    # a new column: the view shows it; mixed geometries: the view still opens
    st.write_layer("markers", _layer(["D"], note=["新"]).assign(geometry=[shapely.box(116, 39, 116.1, 39.1)]),
                   layer_type="boundary_markers")
    assert _view_rows(any_workspace, "markers_current") == ["A", "C", "D"]
    assert "markers_current" not in st.layer_names()  # a view, not a layer of mzgis
    if not any_workspace.store_url:
        g = pyogrio.read_dataframe(any_workspace.store_path, layer="markers_current")
        assert "note" in g.columns
        assert g.set_index("feature_id").loc["D", "note"] == "新"


def test_geopackage_lists_the_views(gpkg_workspace, caplog):
    st = gpkg_workspace.store
    st.write_layer("markers", _layer(["A", "B"]), layer_type="boundary_markers")
    st.write_layer("markers", _layer(["A"]), layer_type="boundary_markers", retire_missing=True)
    with caplog.at_level("WARNING"):
        names = [n for n, _ in pyogrio.list_layers(gpkg_workspace.store_path)]
        info = pyogrio.read_info(gpkg_workspace.store_path, layer="markers_current")
        g = pyogrio.read_dataframe(gpkg_workspace.store_path, layer="markers_current")
    assert "markers_current" in names
    assert info["crs"] == "EPSG:4326"
    assert info["features"] == 1
    assert list(g["feature_id"]) == ["A"]
    assert "mz_retired_at" not in g.columns
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    con = sqlite3.connect(gpkg_workspace.store_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_a_store_without_views_gets_them_on_its_next_write(gpkg_workspace):
    st = gpkg_workspace.store
    st.write_layer("markers", _layer(["A", "B"]), layer_type="boundary_markers")
    con = sqlite3.connect(gpkg_workspace.store_path)
    con.execute('DROP VIEW IF EXISTS "markers_current"')
    con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'markers_current'")
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'markers_current'")
    con.commit()
    con.close()
    st.write_layer("markers", _layer(["A"]), layer_type="boundary_markers", retire_missing=True)
    assert _view_rows(gpkg_workspace, "markers_current") == ["A"]


def test_a_new_layer_named_like_a_view_is_refused(any_workspace):
    import pytest

    from mzgis.errors import LayerError

    st = any_workspace.store
    st.write_layer("markers", _layer(["A"]), layer_type="boundary_markers")
    before = _view_rows(any_workspace, "markers_current")
    with pytest.raises(LayerError, match="_current"):
        st.write_layer("markers_current", _layer(["Z"]), layer_type="boundary_markers")
    with pytest.raises(LayerError, match="_current"):  # even before its base layer exists
        st.write_layer("roads_current", _layer(["Z"]), layer_type="boundary_markers")
    assert "markers_current" not in st.layer_names()
    assert "roads_current" not in st.layer_names()
    assert _view_rows(any_workspace, "markers_current") == before == ["A"]
