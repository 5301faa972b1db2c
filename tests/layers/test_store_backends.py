"""The store on both back ends: transactions in place, history by triggers, concurrent editors,
killed writers, edits from other clients, and every broken-store case with a clear message."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from mzgis.errors import LayerError, StaleEditError, StoreError
from mzgis.layers.store import open_store
from mzgis.layers.store.base import SCHEMA_VERSION

N_LAYER = 40


def layer(n: int = N_LAYER, value: float = 0.0, start: int = 0) -> gpd.GeoDataFrame:
    ids = [f"M{i:04d}" for i in range(start, start + n)]
    return gpd.GeoDataFrame(
        {"feature_id": ids, "name": [f"界桩{i}" for i in range(start, start + n)],
         "condition": ["完好"] * n, "value": [value] * n},
        geometry=[shapely.Point(116.3 + i * 1e-3, 39.9 + i * 1e-3) for i in range(start, start + n)],
        crs="EPSG:4326")


def location(ws):
    return ws.store_url or str(ws.store_path)


def plain_sql(ws, sql: str, params=(), *, role: str | None = None) -> None:
    """Run SQL as another client would (QGIS, psql): no mzgis session, no mzgis code."""
    if ws.store_url:
        import psycopg

        with psycopg.connect(ws.store_url, autocommit=True) as con:
            if role:
                con.execute(f"SET ROLE {role}")
            con.execute(sql.replace("?", "%s"), params)
    else:
        from mzgis.layers.store.gpkg import register_functions

        con = sqlite3.connect(ws.store_path)
        register_functions(con)  # what every GeoPackage client (GDAL/QGIS) provides for the R-tree triggers
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()


# -- one edit, many paths ----------------------------------------------------------------------

def test_edit_touches_one_row_and_bumps_version(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    before = st.read("markers", internal=True).set_index("feature_id")
    rep = st.edit_feature("markers", "M0003", changes={"condition": "损坏", "value": "2.5"}, expect_version=1,
                          user="张三")
    assert (rep.updated, rep.inserted) == (1, 0)
    after = st.read("markers", internal=True).set_index("feature_id")
    assert after.loc["M0003", "condition"] == "损坏"
    assert after.loc["M0003", "value"] == 2.5
    assert after.loc["M0003", "mz_version"] == 2
    others = after.drop(index="M0003")
    pd.testing.assert_frame_equal(others, before.drop(index="M0003"))
    h = st.history("markers", "M0003")
    assert h["action"].tolist() == ["insert", "update"]
    assert h["version"].tolist() == [1, 2]
    assert h["user"].iloc[-1] == "张三"
    assert json.loads(h["old_attributes"].iloc[-1])["condition"] == "完好"
    assert json.loads(h["new_attributes"].iloc[-1])["condition"] == "损坏"


def test_every_edit_path_refuses_a_stale_version(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    st.edit_feature("markers", "M0001", changes={"condition": "损坏"})
    before = st.dump()
    with pytest.raises(StaleEditError, match=r"version 2.*not 1.*stale"):
        st.edit_feature("markers", "M0001", changes={"condition": "丢失"}, expect_version=1)
    with pytest.raises(StaleEditError, match="stale"):
        st.edit_feature("markers", "M0001", geometry=shapely.Point(116.0, 39.0), expect_version=1)
    with pytest.raises(StaleEditError, match="stale"):
        st.retire("markers", ["M0001"], expect_version=1)
    with pytest.raises(StaleEditError, match="stale"):
        st.revert("markers", "M0001", 1, expect_version=1)
    assert st.dump() == before
    st.revert("markers", "M0001", 1, expect_version=2)
    assert st.feature("markers", "M0001")["condition"] == "完好"
    assert st.feature("markers", "M0001")["mz_version"] == 3


def test_unknown_field_and_bad_number_change_nothing(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    before = st.dump()
    with pytest.raises(LayerError, match="no editable field 'colour'"):
        st.edit_feature("markers", "M0001", changes={"colour": "红"})
    with pytest.raises(LayerError, match="needs a number"):
        st.edit_feature("markers", "M0001", changes={"value": "abc"})
    with pytest.raises(LayerError, match="no feature 'nope'"):
        st.edit_feature("markers", "nope", changes={"value": 1})
    with pytest.raises(LayerError, match="already exists"):
        st.edit_feature("markers", "M0001", add=True, geometry=shapely.Point(116, 39))
    assert st.dump() == before


def test_reimport_compares_rows_and_updates_only_changes(any_workspace):
    st = any_workspace.store
    g = layer(200)
    st.write_layer("markers", g, layer_type="boundary_markers")
    g2 = g.copy()
    g2.loc[5, "value"] = 7.0
    g2.loc[9, "geometry"] = shapely.Point(116.0, 39.0)
    g2 = pd.concat([g2, layer(3, start=500)], ignore_index=True)
    rep = st.write_layer("markers", gpd.GeoDataFrame(g2, crs="EPSG:4326"), layer_type="boundary_markers")
    assert (rep.inserted, rep.updated, rep.unchanged, rep.retired) == (3, 2, 198, 0)
    rep = st.write_layer("markers", g2.iloc[:50], layer_type="boundary_markers", retire_missing=True)
    assert (rep.inserted, rep.updated, rep.unchanged, rep.retired, rep.total_active) == (0, 0, 50, 153, 50)
    h = st.history("markers")
    assert (h["action"] == "retire").sum() == 153
    assert st.feature("markers", "M0009").geometry.equals(shapely.Point(116.0, 39.0))


def test_reimport_of_a_big_layer_reads_only_the_incoming_ids(any_workspace, monkeypatch):
    """Importing 10 rows into a layer compares those 10, not the layer (the cost follows the change)."""
    from mzgis.layers.store.base import ProjectStore

    st = any_workspace.store
    st.write_layer("markers", layer(3000), layer_type="boundary_markers")
    seen = []
    orig = ProjectStore._select

    def spy(self, con, name, kinds, **kw):
        df = orig(self, con, name, kinds, **kw)
        seen.append(len(df))
        return df

    monkeypatch.setattr(ProjectStore, "_select", spy)
    g = layer(10, value=1.0, start=2995)
    rep = st.write_layer("markers", g, layer_type="boundary_markers")
    assert (rep.inserted, rep.updated) == (5, 5)
    assert sum(seen) == 5


# -- history from any client -------------------------------------------------------------------

def test_plain_sql_edit_appears_in_mzgis_history(any_workspace, capsys):
    from mzgis.gis.cli import main

    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    plain_sql(any_workspace, "UPDATE markers SET condition = ? WHERE feature_id = ?", ("移位", "M0007"))
    row = st.feature("markers", "M0007")
    assert (row["condition"], row["mz_version"]) == ("移位", 2)
    h = st.history("markers", "M0007")
    assert h["action"].tolist() == ["insert", "update"]
    assert json.loads(h["old_attributes"].iloc[1])["condition"] == "完好"
    expected_user = "postgres" if any_workspace.store_url else "unknown"
    assert h["user"].iloc[1] == expected_user
    assert main(["history", str(any_workspace.root), "markers", "M0007"]) == 0
    out = capsys.readouterr().out
    assert "v2 update" in out
    assert "移位" in out
    # and revert works on it
    assert main(["revert", str(any_workspace.root), "markers", "M0007", "--version", "1"]) == 0
    assert st.feature("markers", "M0007")["condition"] == "完好"


def test_plain_sql_delete_becomes_a_retirement(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    plain_sql(any_workspace, "DELETE FROM markers WHERE feature_id = ?", ("M0002",))
    assert "M0002" not in set(st.read("markers")["feature_id"])
    everything = st.read("markers", include_retired=True, internal=True).set_index("feature_id")
    assert len(everything) == N_LAYER
    assert everything.loc["M0002", "mz_retired_at"] is not None
    assert st.history("markers", "M0002")["action"].tolist() == ["insert", "retire"]


def test_plain_sql_insert_gets_version_and_history(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    blob = st._encode_geoms(np.array([shapely.Point(116.2, 39.8)], dtype=object))[0]
    geom = "?::geometry" if any_workspace.store_url else "?"
    plain_sql(any_workspace, f"INSERT INTO markers (feature_id, name, geom) VALUES (?, ?, {geom})",
              ("Q1", "新桩", blob))
    row = st.feature("markers", "Q1")
    assert row["mz_version"] == 1
    assert row.geometry.equals(shapely.Point(116.2, 39.8))
    assert st.history("markers", "Q1")["action"].tolist() == ["insert"]
    with pytest.raises(Exception, match="feature_id"):
        plain_sql(any_workspace, "INSERT INTO markers (name) VALUES (?)", ("无编号",))
    with pytest.raises(Exception, match="cannot be changed"):
        plain_sql(any_workspace, "UPDATE markers SET feature_id = ? WHERE feature_id = ?", ("Z", "Q1"))


def test_gdal_reads_the_geopackage_with_its_spatial_index_and_writes_through_the_triggers(gpkg_workspace, caplog):
    st = gpkg_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    st.write_layer("markers2", layer(5), layer_type="boundary_markers")
    st.write_layer("markers", layer(value=1.0), layer_type="boundary_markers")
    with caplog.at_level("WARNING"):
        for name in ("markers", "markers2"):
            info = pyogrio.read_info(gpkg_workspace.store_path, layer=name)
            assert info["capabilities"]["fast_spatial_filter"], f"{name}: GDAL sees no spatial index"
            assert info["geometry_type"] == "Point"
            assert info["crs"] == "EPSG:4326"
        g = pyogrio.read_dataframe(gpkg_workspace.store_path, layer="markers",
                                   bbox=(116.3005, 39.9005, 116.3025, 39.9025))
    assert sorted(g["feature_id"]) == ["M0001", "M0002"]
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    # GDAL (as QGIS) appends a feature: the triggers version it and record it
    new = gpd.GeoDataFrame({"feature_id": ["G1"], "name": ["甲"]}, geometry=[shapely.Point(116.5, 39.5)],
                           crs="EPSG:4326")
    pyogrio.write_dataframe(new, gpkg_workspace.store_path, layer="markers", append=True)
    assert st.feature("markers", "G1")["mz_version"] == 1
    assert st.history("markers", "G1")["action"].tolist() == ["insert"]
    con = sqlite3.connect(gpkg_workspace.store_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_rtree = con.execute('SELECT COUNT(*) FROM "rtree_markers_geom"').fetchone()[0]
    assert n_rtree == N_LAYER + 1
    con.close()


# -- concurrent editors --------------------------------------------------------------------------

def _edit_worker(location, fid, expect, value, barrier, results):
    st = open_store(location)
    barrier.wait()
    try:
        st.edit_feature("markers", fid, changes={"condition": value}, expect_version=expect, user=f"u{value}")
        results.put((fid, value, "ok"))
    except StaleEditError:
        results.put((fid, value, "stale"))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((fid, value, repr(exc)))


def test_concurrent_editors(any_workspace):
    """8 processes edit 8 features at once and 4 edit one feature from the same version: all 8 and
    exactly 1 of the 4 are written, 3 refused, and the history holds every version."""
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(12)
    results = ctx.Queue()
    jobs = [(f"M{i:04d}", 1, f"v{i}") for i in range(8)] + [("M0020", 1, f"s{k}") for k in range(4)]
    procs = [ctx.Process(target=_edit_worker, args=(location(any_workspace), f, e, v, barrier, results))
             for f, e, v in jobs]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    status = {(f, v): s for f, v, s in out}
    assert all(status[(f"M{i:04d}", f"v{i}")] == "ok" for i in range(8)), status
    same = [status[("M0020", f"s{k}")] for k in range(4)]
    assert sorted(same) == ["ok", "stale", "stale", "stale"], status
    cur = st.read("markers", internal=True).set_index("feature_id")
    for i in range(8):
        assert cur.loc[f"M{i:04d}", "condition"] == f"v{i}"
        assert cur.loc[f"M{i:04d}", "mz_version"] == 2
    winner = f"s{same.index('ok')}"
    assert cur.loc["M0020", "condition"] == winner
    assert cur.loc["M0020", "mz_version"] == 2
    h = st.history("markers")
    upd = h[h["action"] == "update"]
    assert len(upd) == 9
    assert sorted(upd["feature_id"]) == sorted([f"M{i:04d}" for i in range(8)] + ["M0020"])
    assert (upd["version"] == 2).all()
    assert set(upd.loc[upd["feature_id"] == "M0020", "user"]) == {f"u{winner}"}


# -- killed writers ------------------------------------------------------------------------------

def _import_worker(location, k, conn=None):
    st = open_store(location)
    if conn is not None:  # stop inside the transaction, after every row was written, and tell the parent
        orig = type(st)._after_write

        def hold(self, *a, **kw):
            orig(self, *a, **kw)
            conn.send("in transaction")
            time.sleep(60)

        type(st)._after_write = hold
    st.write_layer("markers", layer(1500, value=float(k)), layer_type="boundary_markers")
    if k % 3 == 0:
        st.edit_feature("markers", "M0000", changes={"condition": f"k{k}"})


def test_sigkill_at_random_moments_leaves_before_or_after(any_workspace):
    """22 writes (a 1,500-row re-import, some followed by an edit) killed with SIGKILL: half at a
    random moment (from before the write starts to after it ends), half inside the transaction
    after every row was written. The store always opens, the layer is all-before or all-after,
    and the history matches the versions."""
    st = any_workspace.store
    st.write_layer("markers", layer(1500, value=0.0), layer_type="boundary_markers")
    ctx = mp.get_context("fork")
    t0 = time.perf_counter()
    p = ctx.Process(target=_import_worker, args=(location(any_workspace), 0))
    p.start()
    p.join(timeout=120)
    span = 1.5 * (time.perf_counter() - t0)  # how long one write takes here, with margin
    rng = random.Random(11)
    outcomes = []
    for k in range(1, 23):
        in_tx = k % 2 == 0
        h_before = st.history_count()
        v_before = st.read("markers", internal=True)
        dump_before = st.dump() if in_tx else None
        a, b = ctx.Pipe()
        p = ctx.Process(target=_import_worker, args=(location(any_workspace), k, b if in_tx else None))
        p.start()
        if in_tx:
            assert a.poll(120), "the writer never reached its transaction"
            a.recv()
        else:
            time.sleep(rng.uniform(0.0, span))
        if p.is_alive():
            os.kill(p.pid, signal.SIGKILL)
        p.join(timeout=30)
        st = open_store(location(any_workspace))  # opens (SQLite rolls back a hot journal)
        if in_tx:
            assert st.dump() == dump_before, "a write killed inside its transaction changed the store"
        cur = st.read("markers", internal=True)
        assert len(cur) == 1500
        vals = set(cur["value"])
        assert len(vals) == 1, "a write was half applied"
        value = vals.pop()
        h_after = st.history_count()
        if value == v_before["value"].iloc[0]:
            assert (cur["mz_version"].to_numpy() == v_before["mz_version"].to_numpy()).all()
            assert h_after == h_before
            outcomes.append("before")
        else:
            assert value == float(k)
            assert (cur["mz_version"].to_numpy() >= v_before["mz_version"].to_numpy() + 1).all()
            edited = int(cur.loc[cur["feature_id"] == "M0000", "condition"].iloc[0] == f"k{k}")
            assert h_after == h_before + 1500 + edited
            outcomes.append("after")
        if not any_workspace.store_url:
            con = sqlite3.connect(any_workspace.store_path)
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            con.close()
    assert outcomes[1::2] == ["before"] * 11
    # every history row of the layer matches a version of a feature
    h = st.history("markers")
    last = h.groupby("feature_id")["version"].max()
    cur = st.read("markers", internal=True).set_index("feature_id")
    assert (last.reindex(cur.index).to_numpy() == cur["mz_version"].to_numpy()).all()


# -- the file: permissions, bad stores, names ---------------------------------------------------

def test_file_mode_is_kept(gpkg_workspace):
    p = gpkg_workspace.store_path
    p.chmod(0o664)
    st = gpkg_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    st.edit_feature("markers", "M0001", changes={"condition": "损坏"})
    assert p.stat().st_mode & 0o777 == 0o664
    assert sorted(x.name for x in gpkg_workspace.root.iterdir()) == ["cache", "mzgis.toml", "out", "project.gpkg"]


def test_reimport_keeps_the_spatial_index_of_a_similar_name(gpkg_workspace):
    st = gpkg_workspace.store
    st.write_layer("stations", layer(), layer_type="facilities")
    st.write_layer("stations2", layer(5), layer_type="facilities")
    st.write_layer("stations", layer(value=3.0), layer_type="facilities")
    for name, n in (("stations", N_LAYER), ("stations2", 5)):
        assert pyogrio.read_info(gpkg_workspace.store_path, layer=name)["capabilities"]["fast_spatial_filter"]
        con = sqlite3.connect(gpkg_workspace.store_path)
        assert con.execute(f'SELECT COUNT(*) FROM "rtree_{name}_geom"').fetchone()[0] == n
        con.close()


@pytest.mark.parametrize("name", ["STATIONS", "Stations", "GPKG_contents", "gpkg_contents", "mzgis_history",
                                  "rtree_x", "1abc", "a b", "a;drop"])
def test_layer_names_that_clash_or_are_invalid(any_workspace, name):
    st = any_workspace.store
    st.write_layer("stations", layer(), layer_type="facilities")
    before = st.dump()
    with pytest.raises(LayerError, match=r"invalid layer name|differs only by case") as info:
        st.write_layer(name, layer(), layer_type="facilities")
    assert name in str(info.value)
    assert "--layer" in str(info.value)
    assert st.dump() == before


def test_newer_schema_is_refused(any_workspace):
    plain_sql(any_workspace, "UPDATE mzgis_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"newer mzgis.*upgrade"):
        any_workspace.store.layer_names()


def _cli(ws, *args):
    from mzgis.gis.cli import main

    return main([args[0], str(ws.root), *args[1:]])


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(b"PK\x03\x04 this is a zip file" * 10), "damaged or not a GeoPackage"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE t (a)").connection.commit(), "not an mzgis project store"),
    (lambda p: p.mkdir(), "is a directory"),
])
def test_broken_store_files(tmp_path, capsys, make, pattern):
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="x")
    ws.store_path.unlink()
    make(ws.store_path)
    with pytest.raises(StoreError, match=pattern) as info:
        ws.store.layer_names()
    assert str(ws.store_path) in str(info.value)
    assert _cli(ws, "layers") == 2
    err = capsys.readouterr().err
    assert "错误 error" in err
    assert pattern in err
    assert "Traceback" not in err


def _open_as_nobody(path, conn):
    try:
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        open_store(path).layer_names()
        conn.send("opened")
    except StoreError as exc:
        conn.send(str(exc))


def test_permission_denied_store(tmp_path):
    """A store the user may not read: a clear message naming the file (checked as an unprivileged user)."""
    import shutil
    import tempfile

    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="x")
    folder = tempfile.mkdtemp(prefix="mzgis-perm-")
    try:
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "project.gpkg")
        shutil.copy(ws.store_path, path)
        os.chmod(path, 0o600 if os.geteuid() == 0 else 0)
        ctx = mp.get_context("fork")
        a, b = ctx.Pipe()
        p = ctx.Process(target=_open_as_nobody, args=(path, b))
        p.start()
        msg = a.recv()
        p.join(timeout=30)
        assert "permission denied" in msg
        assert path in msg
        assert "chmod" in msg
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_read_only_store(gpkg_workspace, monkeypatch, capsys):
    """A store the user may read but not write (read-only file or folder): clear message, nothing changed."""
    import mzgis.layers.store.gpkg as gmod

    st = gpkg_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    before = st.dump()
    real = sqlite3.connect

    def read_only(path, *a, **k):
        return real(f"file:{path}?mode=ro", *a, uri=True, **k)

    monkeypatch.setattr(gmod.sqlite3, "connect", read_only)
    with pytest.raises(StoreError, match=r"read-only.*chmod u\+w") as info:
        st.edit_feature("markers", "M0001", changes={"condition": "损坏"})
    assert str(gpkg_workspace.store_path) in str(info.value)
    assert _cli(gpkg_workspace, "edit", "markers", "update", "M0001", "--set", "condition=损坏") == 2
    assert "read-only" in capsys.readouterr().err
    monkeypatch.undo()
    assert st.dump() == before


def test_disk_full(gpkg_workspace, monkeypatch):
    """SQLite's 'database or disk is full' (simulated with max_page_count): message, rolled back."""
    import mzgis.layers.store.gpkg as gmod

    st = gpkg_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    before = st.dump()
    real = sqlite3.connect

    def small_disk(*a, **k):
        con = real(*a, **k)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages + 2}")
        return con

    monkeypatch.setattr(gmod.sqlite3, "connect", small_disk)
    with pytest.raises(StoreError, match=r"disk .*is full.*nothing was changed") as info:
        st.write_layer("big", layer(3000), layer_type="boundary_markers")
    assert str(gpkg_workspace.store_path) in str(info.value)
    monkeypatch.undo()
    assert st.dump() == before


def test_old_turn1_store_is_upgraded_on_first_write(gpkg_workspace):
    """A store written by the previous mzgis (schema 1: no triggers) gets them in its first write."""
    st = gpkg_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    con = sqlite3.connect(gpkg_workspace.store_path)
    for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND name LIKE 'mzgis%'").fetchall():
        con.execute(f'DROP TRIGGER "{t}"')
    con.execute("DROP TABLE mzgis_session")
    con.execute("UPDATE mzgis_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    st = gpkg_workspace.store
    st.edit_feature("markers", "M0001", changes={"condition": "损坏"})
    assert st.feature("markers", "M0001")["mz_version"] == 2
    assert st.meta("schema_version") == str(SCHEMA_VERSION)
    plain_sql(gpkg_workspace, "UPDATE markers SET condition = '丢失' WHERE feature_id = 'M0002'")
    assert st.history("markers", "M0002")["action"].tolist() == ["insert", "update"]


# -- moving a store between back ends -------------------------------------------------------------

def test_store_copy_round_trip_keeps_everything(gpkg_workspace, pg_url, tmp_path, capsys):
    """GeoPackage → PostGIS → GeoPackage: layers (retired features, versions), history, registry,
    settings and inspection records read back identical; edits go on with history on the copy."""
    from mzgis.gis.cli import main
    from mzgis.gis.workspace import Workspace

    ws = gpkg_workspace
    st = ws.store
    st.write_layer("markers", layer(), layer_type="boundary_markers", kind=None, source="a.csv")
    st.write_layer("empty", layer(0), layer_type="facilities")
    st.edit_feature("markers", "M0001", changes={"condition": "损坏"}, user="张三")
    st.edit_feature("markers", "M0002", geometry=shapely.Point(116.0, 39.5))
    st.retire("markers", ["M0003"])
    st.set_meta("metric_crs", "EPSG:32650")
    st.append_records("mzgis_inspections", [{"marker_code": "M0001", "condition": "损坏", "photo": None}])
    before = st.dump()
    assert main(["store", "copy", str(ws.root), pg_url, "--use"]) == 0
    out = capsys.readouterr().out
    assert "counts checked" in out
    ws2 = Workspace.open(ws.root)
    assert ws2.store_url == pg_url
    assert ws2.store.dump() == before
    assert ws2.store.records("mzgis_inspections")["marker_code"].tolist() == ["M0001"]
    # editing the copy: versions continue
    ws2.store.edit_feature("markers", "M0001", changes={"condition": "完好"}, expect_version=2)
    assert ws2.store.versions("markers", "M0001")["version"].tolist() == [1, 2, 3]
    # and back into a new GeoPackage
    back = tmp_path / "back.gpkg"
    assert main(["store", "copy", str(ws.root), str(back)]) == 0
    assert open_store(back).dump() == ws2.store.dump()
    # a destination that already holds a store is refused
    assert main(["store", "copy", str(ws.root), str(back)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_init_with_a_postgis_store(tmp_path, pg_url, capsys):
    from mzgis.gis.cli import main
    from mzgis.gis.workspace import Workspace

    assert main(["init", str(tmp_path / "w"), "--name", "x", "--store", pg_url]) == 0
    ws = Workspace.open(tmp_path / "w")
    assert not ws.store_path.exists()
    assert ws.store.location == pg_url
    assert main(["init", str(tmp_path / "w2"), "--name", "x", "--store", pg_url]) == 2
    assert "already holds an mzgis store" in capsys.readouterr().err


# -- roles (PostGIS) --------------------------------------------------------------------------------

def test_postgis_roles_are_enforced_by_the_database(tmp_path, pg_url):
    """viewer reads; planner imports and edits anything; place-name staff edit boundary lines,
    markers and addresses only — refused by PostgreSQL itself, not only by mzgis."""
    import psycopg

    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", name="x", store=pg_url)
    admin = ws.store
    admin.write_layer("markers", layer(), layer_type="boundary_markers")
    admin.write_layer("stations", layer(5), layer_type="facilities")
    tag = pg_url.rsplit("/", 1)[1]
    users = {"viewer": f"bob_{tag}", "planner": f"carol_{tag}", "placename": f"alice_{tag}"}
    with psycopg.connect(pg_url, autocommit=True) as con:
        for role, user in users.items():
            con.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE mzgis_{role}')

    def as_user(role):
        return open_store(pg_url.replace("postgres@", f"{users[role]}@"))

    alice, bob, carol = as_user("placename"), as_user("viewer"), as_user("planner")
    # everyone reads
    for st in (alice, bob, carol):
        assert len(st.read("stations")) == 5
    # place-name staff: markers yes, facilities no, no new layers, no forged history
    alice.edit_feature("markers", "M0001", changes={"condition": "损坏"}, user="阿丽",
                       records={"mzgis_inspections": [{"marker_code": "M0001", "condition": "损坏"}]})
    assert admin.feature("markers", "M0001")["condition"] == "损坏"
    assert admin.records("mzgis_inspections")["marker_code"].tolist() == ["M0001"]
    before = admin.dump()
    with pytest.raises(StoreError, match="database role may not"):
        alice.edit_feature("stations", "M0001", changes={"condition": "损坏"})
    with pytest.raises(StoreError, match="database role may not"):
        alice.write_layer("mine", layer(3), layer_type="boundary_markers")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), \
            psycopg.connect(pg_url.replace("postgres@", f"{users['placename']}@"), autocommit=True) as con:
        con.execute("INSERT INTO mzgis_history (ts, \"user\", layer, feature_id, action, version) "
                    "VALUES ('t', 'x', 'markers', 'M0001', 'update', 9)")
    # viewer: nothing
    with pytest.raises(StoreError, match="database role may not"):
        bob.edit_feature("markers", "M0002", changes={"condition": "损坏"})
    with pytest.raises(StoreError, match="database role may not"):
        bob.retire("markers", ["M0002"])
    assert admin.dump() == before
    # planner: imports (new layers, new columns), edits facilities; the place-name staff may then
    # edit the boundary lines the planner derived
    rep = carol.write_layer("lines", layer(4), layer_type="boundary_lines")
    assert rep.inserted == 4
    carol.write_layer("stations", layer(5).assign(extra="新列"), layer_type="facilities")
    carol.edit_feature("stations", "M0002", changes={"condition": "停用"})
    alice.edit_feature("lines", "M0003", changes={"name": "新界线"})
    alice.retire("lines", ["M0002"])
    h = admin.history("lines")
    assert h["action"].tolist()[-2:] == ["update", "retire"]
    # a client's DELETE as the place-name role is a retirement, recorded with the role's name
    with psycopg.connect(pg_url.replace("postgres@", f"{users['placename']}@"), autocommit=True) as con:
        con.execute("DELETE FROM markers WHERE feature_id = 'M0005'")
    h = admin.history("markers", "M0005")
    assert h["action"].tolist() == ["insert", "retire"]
    assert h["user"].iloc[-1] == users["placename"]


def test_geopackage_stays_valid_when_a_layer_gets_mixed_geometries(gpkg_workspace, caplog):
    """The declared geometry type follows the data (POLYGON → GEOMETRY) in gpkg_geometry_columns and in
    the table's SQL, as GDAL requires; GDAL's own validator (validate_gpkg.py, when installed) agrees."""
    import glob
    import subprocess

    st = gpkg_workspace.store
    st.write_layer("polys", gpd.GeoDataFrame({"feature_id": ["p1"], "ok": [True]},
                                             geometry=[shapely.box(116, 39, 116.1, 39.1)], crs=4326),
                   layer_type="admin_units")
    st.write_layer("polys", gpd.GeoDataFrame({"feature_id": ["p2"], "ok": [False]},
                                             geometry=[shapely.Point(116, 39)], crs=4326), layer_type="admin_units")
    st.write_layer("lines", gpd.GeoDataFrame({"feature_id": ["l1", "l2"]}, geometry=[
        shapely.LineString([(116, 39), (116.1, 39.1)]), shapely.MultiLineString([[(116, 39), (116.2, 39.1)]])],
        crs=4326), layer_type="boundary_lines")
    st.append_records("mzgis_inspections", [{"marker_code": "x"}])
    assert st.read("polys").geom_type.tolist() == ["Polygon", "Point"]
    assert st.read("lines").geom_type.tolist() == ["MultiLineString", "MultiLineString"]
    con = sqlite3.connect(gpkg_workspace.store_path)
    assert con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'polys'"
                       ).fetchone()[0] == "GEOMETRY"
    assert "geom GEOMETRY" in con.execute("SELECT sql FROM sqlite_master WHERE name = 'polys'").fetchone()[0]
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    with caplog.at_level("WARNING"):
        info = pyogrio.read_info(gpkg_workspace.store_path, layer="polys")
        pyogrio.read_dataframe(gpkg_workspace.store_path, layer="polys")
    assert info["geometry_type"] == "Unknown"
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    import shutil

    if shutil.which("ogrinfo"):  # Debian's GDAL (3.6 on Debian 12, what QGIS 3.22 uses), when installed
        res = subprocess.run(["ogrinfo", "-so", "-al", str(gpkg_workspace.store_path)], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0, res.stderr
        assert "Warning" not in res.stdout + res.stderr
        assert "ERROR" not in res.stdout + res.stderr
    for script in glob.glob("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"):
        res = subprocess.run(["/usr/bin/python3", script, str(gpkg_workspace.store_path)],
                             capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stdout + res.stderr


def test_mzgis_edit_runs_started_together_all_land(any_workspace):
    """The reported loss: `mzgis edit` runs on different features, started together, all exit 0 —
    and every new value is in the layer (and in the history)."""
    import subprocess
    import sys

    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    procs = [subprocess.Popen([sys.executable, "-m", "mzgis.gis.cli", "edit", str(any_workspace.root), "markers",
                               "update", f"M{i:04d}", "--set", f"name=第{i}次", "--expect-version", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    results = [p.communicate(timeout=180) for p in procs]  # every pipe read and closed before asserting
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    cur = st.read("markers", internal=True).set_index("feature_id")
    for i in range(4):
        assert cur.loc[f"M{i:04d}", "name"] == f"第{i}次"
        assert st.history("markers", f"M{i:04d}")["action"].tolist() == ["insert", "update"]


def test_awkward_column_names_and_many_columns(any_workspace):
    """Column names are data: quotes, %, ?, spaces and Chinese punctuation are stored and recorded
    as they are; 120 columns fit the history triggers; a double quote is refused clearly."""
    st = any_workspace.store
    names = ["it's", "完成率%", "是否?", "a b", "建筑面积(㎡)", "x;DROP TABLE markers"] + [f"c{i}" for i in range(114)]
    base = layer(3)
    extra = pd.DataFrame({c: [float(i)] * 3 for i, c in enumerate(names)})
    g = gpd.GeoDataFrame(pd.concat([base.drop(columns="geometry"), extra], axis=1), geometry=base.geometry.values,
                         crs="EPSG:4326")
    st.write_layer("wide", g, layer_type="facilities")
    st.edit_feature("wide", "M0001", changes={"完成率%": "0.5", "是否?": 7, "it's": 1, "c113": 9})
    row = st.feature("wide", "M0001")
    assert (row["完成率%"], row["是否?"], row["it's"], row["c113"]) == (0.5, 7.0, 1.0, 9.0)
    old = json.loads(st.history("wide", "M0001")["old_attributes"].iloc[-1])
    assert old["完成率%"] == 1.0
    assert old["c113"] == 119.0
    assert len(old) == len(names) + 3
    assert st.revert("wide", "M0001", 1).updated == 1
    assert st.feature("wide", "M0001")["完成率%"] == 1.0
    # statements without bound values (a whole-layer read, the dump) name the columns the same way
    assert st.read("wide")["完成率%"].tolist() == [1.0, 1.0, 1.0]
    assert st.read("wide")["是否?"].tolist() == [2.0, 2.0, 2.0]
    assert st.dump()["layer:wide"]["columns"]["完成率%"] == "real"
    bad = layer(1)
    bad['say "hi"'] = 1
    with pytest.raises(LayerError, match="double quotes"):
        st.write_layer("bad", bad, layer_type="facilities")


def test_unreachable_server_is_a_clear_error(tmp_path, capsys):
    from mzgis.gis.cli import main

    url = "postgresql://mzgis:secret@127.0.0.1:1/nowhere"
    with pytest.raises(StoreError, match="cannot connect") as info:
        open_store(url)
    assert "secret" not in str(info.value)
    assert "postgresql://mzgis:***@127.0.0.1:1/nowhere" in str(info.value)
    assert main(["init", str(tmp_path / "w"), "--name", "x", "--store", url]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err
    assert "Traceback" not in err
    assert not (tmp_path / "w" / "mzgis.toml").exists()


def test_large_reimport_goes_through_a_temporary_id_table(any_workspace):
    """More than 10,000 incoming ids: compared through a join, retirements by one UPDATE; the counts
    agree with a pandas oracle."""
    st = any_workspace.store
    st.write_layer("markers", layer(12_000), layer_type="boundary_markers")
    g = layer(12_000).iloc[300:].reset_index(drop=True)  # 300 missing → retired
    rng = np.random.default_rng(3)
    changed = rng.choice(len(g), 500, replace=False)
    g.loc[changed, "value"] = 5.0
    g = gpd.GeoDataFrame(pd.concat([g, layer(200, start=20_000)], ignore_index=True), crs="EPSG:4326")
    rep = st.write_layer("markers", g, layer_type="boundary_markers", retire_missing=True)
    assert (rep.inserted, rep.updated, rep.unchanged, rep.retired) == (200, 500, 11_700 - 500, 300)
    assert rep.total_active == 11_900
    cur = st.read("markers").set_index("feature_id").sort_index()
    want = g.set_index("feature_id").sort_index()
    assert cur.index.equals(want.index)
    assert (cur["value"] == want["value"]).all()


def test_postgis_script_status_and_url(pg_cluster, tmp_path):
    import subprocess

    from tests.conftest import ROOT

    folder, url = pg_cluster
    script = str(ROOT / "scripts" / "postgis.sh")
    res = subprocess.run(["bash", script, "status", folder], capture_output=True, text=True, check=False)
    assert (res.returncode, res.stdout.strip()) == (0, f"running: {url}")
    assert subprocess.run(["bash", script, "url", folder], capture_output=True, text=True,
                          check=False).stdout.strip() == url
    res = subprocess.run(["bash", script, "status", str(tmp_path / "none")], capture_output=True, text=True,
                         check=False)
    assert (res.returncode, res.stdout.strip()) == (3, "not running")
    res = subprocess.run(["bash", script, "restart", folder], capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "unknown command" in res.stderr


def test_bounds_come_from_the_database_and_ignore_retired_features(any_workspace, monkeypatch):
    """``store.bounds`` equals the bounds of the features read back (R-tree floats: 1e-5 degree),
    follows retirements and new features, is None for an empty layer, and reads no features."""
    st = any_workspace.store
    st.write_layer("markers", layer(), layer_type="boundary_markers")
    st.write_layer("far", layer(3, start=500), layer_type="boundary_markers")
    monkeypatch.setattr(type(st), "read", lambda *a, **k: pytest.fail("bounds must not read the layer"))
    b = st.bounds("markers")
    np.testing.assert_allclose(b, layer().total_bounds, atol=1e-5)
    assert b[0] <= 116.3
    assert b[1] <= 39.9
    assert b[2] >= 116.3 + 39e-3
    assert b[3] >= 39.9 + 39e-3
    st.retire("markers", [f"M{i:04d}" for i in range(30, 40)])
    np.testing.assert_allclose(st.bounds("markers"), layer(30).total_bounds, atol=1e-5)
    st.retire("markers", [f"M{i:04d}" for i in range(30)])
    assert st.bounds("markers") is None
    # the workspace's data bounds: every layer, from the store's extents
    np.testing.assert_allclose(any_workspace.data_bounds(), layer(3, start=500).total_bounds, atol=1e-5)
    with pytest.raises(LayerError, match="no layer 'nope'"):
        st.bounds("nope")
