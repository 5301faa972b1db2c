"""Stores made by an earlier mzgis upgrade in place: the schema-2 fixtures (made with the mzgis
of commit da8408e by tests/fixtures/make_store_v2.py, a GeoPackage and a pg_dump of the same
store on PostGIS) open, read as they are, and upgrade on the first write in one transaction —
layers, history, accounts and records intact, the history triggers still recording."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from pathlib import Path

import pytest

from mzgis.errors import StoreError
from mzgis.layers.store import migrations, open_store
from mzgis.layers.store.base import SCHEMA_VERSION
from tests.conftest import new_pg_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(params=["gpkg", "postgis"])
def v2_store(request, tmp_path):
    """A store at schema 2, as today's main made it, on each back end."""
    if request.param == "gpkg":
        path = tmp_path / "project.gpkg"
        shutil.copyfile(FIXTURES / "store_v2.gpkg", path)
        return open_store(path)
    import psycopg

    url = new_pg_database(request.getfixturevalue("pg_server"))
    sql = "\n".join(line for line in (FIXTURES / "store_v2_postgis.sql").read_text(encoding="utf-8").splitlines()
                    if not line.startswith("\\"))  # psql's \restrict lines
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql)
    return open_store(url)


def _indexes(st) -> set[str]:
    with st._read_con() as con:
        if st.location.endswith(".gpkg"):
            rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'mzgis_history'")
        else:
            rows = con.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'mzgis_history'")
        return {r[0] for r in rows.fetchall() if not r[0].startswith("sqlite_autoindex")}


def _without_version(dump: dict) -> dict:
    out = dict(dump)
    out["mzgis_meta"] = [r for r in dump["mzgis_meta"] if r[0] != "schema_version"]
    return out


def test_the_migrations_end_at_this_mzgis_schema():
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == list(range(2, SCHEMA_VERSION + 1))
    assert migrations.BASELINE <= SCHEMA_VERSION


def test_a_schema_2_store_upgrades_in_place_on_its_first_write(v2_store, request):
    st = v2_store
    assert st.meta("schema_version") == "2"
    before = st.dump()
    accounts, records = st.accounts(), st.records("mzgis_inspections")
    assert st.account("admin")["role"] == "admin"
    assert list(st.history("markers")["action"]) == ["insert"] * 5 + ["update", "retire"]
    assert "mzgis_history_layer" not in _indexes(st)
    # reading does not upgrade
    assert st.meta("schema_version") == "2"

    st.edit_feature("markers", "M2", changes={"condition": "丢失"}, user="升级后")
    assert st.meta("schema_version") == str(SCHEMA_VERSION)
    assert "mzgis_history_layer" in _indexes(st)
    after = st.dump()
    assert after["mzgis_history"][:len(before["mzgis_history"])] == before["mzgis_history"]
    assert after["mzgis_history"][-1][1:5] == ("升级后", "markers", "M2", "update")
    rows = {r[0]: r for r in after["layer:markers"]["rows"]}
    assert {k: v for k, v in rows.items() if k != "M2"} == \
        {r[0]: r for r in before["layer:markers"]["rows"] if r[0] != "M2"}
    assert rows["M2"][3] == 2  # version bumped by the (old) trigger
    assert _without_version(after)["mzgis_meta"] == _without_version(before)["mzgis_meta"]
    assert st.accounts().equals(accounts)
    assert st.records("mzgis_inspections").equals(records)
    assert st.account("admin")["password_hash"] == "$argon2id$fixture"
    # the upgraded store has the layout of a new one
    assert _indexes(_new_store(request, st)) == _indexes(st)


def _new_store(request, st):
    if st.location.endswith(".gpkg"):
        from mzgis.layers.store.gpkg import GpkgStore

        return GpkgStore.create(Path(st.location).with_name("new.gpkg"))
    from mzgis.layers.store.postgis import PostgisStore

    return PostgisStore.create(new_pg_database(request.getfixturevalue("pg_server")))


def test_a_second_write_does_not_upgrade_again(v2_store, monkeypatch):
    st = v2_store
    st.set_meta("first", "1")
    assert st.meta("schema_version") == str(SCHEMA_VERSION)

    def boom(store, con):
        msg = "a migration ran again"
        raise AssertionError(msg)

    monkeypatch.setattr(migrations, "MIGRATIONS",
                        tuple(dataclasses.replace(m, gpkg=boom, postgis=boom) for m in migrations.MIGRATIONS))
    st.set_meta("second", "2")
    st.edit_feature("markers", "M0", changes={"condition": "好"})
    assert st.meta("second") == "2"


def test_a_failed_upgrade_leaves_the_store_unchanged(v2_store, monkeypatch):
    st = v2_store
    before = st.dump()
    real = migrations.MIGRATIONS

    def half(store, con):
        con.execute("CREATE INDEX mzgis_history_layer ON mzgis_history (layer, id)")
        con.execute("INSERT INTO mzgis_meta (key, value) VALUES ('half', 'done')")
        msg = "disk I/O error (made by the test)"
        raise sqlite3.OperationalError(msg)

    monkeypatch.setattr(migrations, "MIGRATIONS",
                        (*real[:-1], dataclasses.replace(real[-1], gpkg=half, postgis=half)))
    with pytest.raises(StoreError, match=r"项目库升级失败 upgrading the store .* from schema 2 failed at step 3 .*"
                                         r"disk I/O error .*nothing was changed") as info:
        st.edit_feature("markers", "M2", changes={"condition": "丢失"})
    assert st.location in str(info.value)
    assert st.dump() == before
    assert st.meta("schema_version") == "2"
    assert "mzgis_history_layer" not in _indexes(st)
    monkeypatch.setattr(migrations, "MIGRATIONS", real)
    st.edit_feature("markers", "M2", changes={"condition": "丢失"})
    assert st.meta("schema_version") == str(SCHEMA_VERSION)


def test_postgis_upgrade_needs_the_owner_and_says_so(pg_url):
    """A place-name role's first write to an older store cannot upgrade it (the history table is
    the owner's): a clear message, nothing changed; once the owner has written, the role edits."""
    import psycopg

    from mzgis.layers.store.postgis import PostgisStore

    owner = PostgisStore.create(pg_url)
    owner.write_layer("markers", _markers(), layer_type="boundary_markers")
    with psycopg.connect(pg_url, autocommit=True) as con:  # back to schema 2 (3 added only this index)
        con.execute("DROP INDEX mzgis_history_layer")
        con.execute("UPDATE mzgis_meta SET value = '2' WHERE key = 'schema_version'")
        user = "alice_" + pg_url.rsplit("/", 1)[1]
        con.execute(f'CREATE ROLE "{user}" LOGIN IN ROLE mzgis_placename')
    alice = open_store(pg_url.replace("postgres@", f"{user}@"))
    before = owner.dump()
    with pytest.raises(StoreError, match=r"项目库升级失败 .*from schema 2 failed at step 3.*nothing was changed.*"
                                         r"rights of the store's owner") as info:
        alice.edit_feature("markers", "M1", changes={"condition": "损坏"})
    assert "password" not in str(info.value)
    assert owner.dump() == before
    owner.set_meta("upgraded", "yes")
    alice.edit_feature("markers", "M1", changes={"condition": "损坏"}, user="阿丽")
    assert owner.meta("schema_version") == str(SCHEMA_VERSION)
    assert owner.history("markers", "M1")["user"].iloc[-1] == "阿丽"


def _markers():
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame({"feature_id": ["M0", "M1"], "condition": ["完好", "完好"]},
                            geometry=[shapely.Point(116.3, 39.9), shapely.Point(116.31, 39.9)], crs="EPSG:4326")


def test_writers_arriving_together_upgrade_once_and_all_land(v2_store, monkeypatch):
    """Four editors' first writes to an older store start at once: one upgrades (the others wait
    for it, then see the new version), every edit lands with its history row."""
    from concurrent.futures import ThreadPoolExecutor

    st = v2_store
    applied = []
    real = migrations.upgrade

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        applied.extend(out)
        return out

    monkeypatch.setattr(f"mzgis.layers.store.{'gpkg' if st.location.endswith('.gpkg') else 'postgis'}.upgrade",
                        counting)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda fid: st.edit_feature("markers", fid, changes={"condition": "新"}, user=fid),
                      ["M0", "M1", "M2", "M3"]))
    assert applied == [3]
    assert st.meta("schema_version") == str(SCHEMA_VERSION)
    h = st.history("markers")
    assert sorted(h[h["user"].str.startswith("M")]["user"]) == ["M0", "M1", "M2", "M3"]
