"""The embedded back end: one GeoPackage file (``project.gpkg``), written in place.

* Every write is one SQLite transaction (``BEGIN IMMEDIATE``: the writer's lock is taken before
  anything is read, and held through the comparison and the write); other writers wait
  (``busy_timeout``) instead of failing. A failed or killed write is rolled back by SQLite —
  no copy of the file, no lock file, the file's mode and owner untouched.
* The file is a GeoPackage 1.2 that GDAL ≥ 3.6 (QGIS 3.22) opens without warnings: every layer
  is registered in ``gpkg_contents`` and ``gpkg_geometry_columns`` and has the standard R-tree
  spatial index with the standard triggers. Those triggers call ``ST_IsEmpty``/``ST_MinX``…,
  which every GeoPackage client provides (GDAL does); mzgis registers them on its connections.
* History comes from SQLite triggers on each feature table, so an edit made in QGIS is recorded
  like one made with ``mzgis edit``. mzgis writes the user and note of its transaction into the
  one-row table ``mzgis_session`` (inside the same transaction, so no one else ever sees it);
  other clients are recorded as ``mzgis_meta.mzgis_user`` or ``unknown``. A DELETE is turned
  into a retirement.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from mzgis.errors import StoreError
from mzgis.layers.store.base import ProjectStore, now_iso
from mzgis.layers.store.blobs import blob_wkb
from mzgis.layers.store.migrations import BASELINE, stored_version, upgrade
from mzgis.layers.store.styles import gpkg_ensure_style
from mzgis.layers.store.views import current_view, gpkg_ensure_view, gpkg_refresh_view

__all__ = ["GpkgStore", "blob_wkb"]

#: Seconds a writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_S = float(os.environ.get("MZGIS_BUSY_TIMEOUT", "120"))
_SQL_TYPES = {"integer": "INTEGER", "real": "REAL", "boolean": "BOOLEAN", "text": "TEXT"}
_LOGICAL = {"INTEGER": "integer", "INT": "integer", "BIGINT": "integer", "SMALLINT": "integer",
            "MEDIUMINT": "integer", "TINYINT": "integer", "REAL": "real", "FLOAT": "real", "DOUBLE": "real",
            "BOOLEAN": "boolean", "TEXT": "text", "DATE": "text", "DATETIME": "text"}
_SESSION_USER = ("COALESCE((SELECT \"user\" FROM mzgis_session WHERE id = 1), "
                 "(SELECT value FROM mzgis_meta WHERE key = 'mzgis_user'), 'unknown')")
_SESSION_NOTE = "(SELECT note FROM mzgis_session WHERE id = 1)"
_SESSION_TS = "COALESCE((SELECT ts FROM mzgis_session WHERE id = 1), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
_HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs", "<i4"),
                    ("minx", "<f8"), ("maxx", "<f8"), ("miny", "<f8"), ("maxy", "<f8")])

_GPKG_INIT = """
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10200;
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326,
   'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
   'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE mzgis_meta (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, value TEXT);
CREATE TABLE mzgis_layers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, layer_type TEXT NOT NULL, kind TEXT,
  level TEXT, source TEXT, source_coords TEXT, created_at TEXT, updated_at TEXT, user TEXT, description TEXT);
CREATE TABLE mzgis_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, user TEXT NOT NULL, layer TEXT NOT NULL,
  feature_id TEXT NOT NULL, action TEXT NOT NULL, version INTEGER NOT NULL,
  old_attributes TEXT, old_geometry TEXT, new_attributes TEXT, new_geometry TEXT, note TEXT);
CREATE INDEX mzgis_history_feature ON mzgis_history (layer, feature_id);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('mzgis_meta', 'attributes', 'mzgis_meta', 'mzgis settings'),
  ('mzgis_layers', 'attributes', 'mzgis_layers', 'mzgis layer registry'),
  ('mzgis_history', 'attributes', 'mzgis_history', 'mzgis edit history');
"""
_SESSION_DDL = ("CREATE TABLE IF NOT EXISTS mzgis_session (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "user TEXT, note TEXT, ts TEXT)")


# -- GeoPackage geometry blobs ----------------------------------------------------------------------

def encode_blobs(geoms: np.ndarray, srs_id: int = 4326) -> list[bytes | None]:
    """GeoPackage blobs (little-endian, XY envelope) of 2-D geometries."""
    n = len(geoms)
    if n == 0:
        return []
    flat = shapely.force_2d(geoms)
    wkb = shapely.to_wkb(flat, flavor="iso", output_dimension=2, byte_order=1)
    b = shapely.bounds(flat)
    empty = shapely.is_empty(flat) | np.isnan(b[:, 0])
    head = np.zeros(n, dtype=_HEADER)
    head["magic"] = b"GP"
    head["flags"] = np.where(empty, 0b00010001, 0b00000011)
    head["srs"] = srs_id
    head["minx"], head["maxx"], head["miny"], head["maxy"] = b[:, 0], b[:, 2], b[:, 1], b[:, 3]
    raw = head.tobytes()
    size = _HEADER.itemsize
    out: list[bytes | None] = []
    for i, (g, w, e) in enumerate(zip(flat.tolist(), wkb.tolist(), empty.tolist(), strict=True)):
        if g is None:
            out.append(None)
        elif e:
            out.append(raw[i * size:i * size + 8] + w)
        else:
            out.append(raw[i * size:(i + 1) * size] + w)
    return out


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    if blob is None or len(blob) < 8:
        return None
    flags = blob[3]
    if flags & 0b00010000:
        return None
    if (flags >> 1) & 7:
        fmt = "<4d" if flags & 1 else ">4d"
        minx, maxx, miny, maxy = struct.unpack(fmt, blob[8:40])
        return minx, maxx, miny, maxy
    g = shapely.from_wkb(blob_wkb(blob))
    if g is None or g.is_empty:
        return None
    x0, y0, x1, y1 = g.bounds
    return x0, x1, y0, y1


def _st(i: int) -> Any:
    def f(blob: bytes | None) -> float | None:
        e = _envelope(blob)
        return None if e is None else e[i]
    return f


def _st_is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    return int(_envelope(blob) is None)


def register_functions(con: sqlite3.Connection) -> None:
    """The SQL functions the GeoPackage R-tree triggers call (GDAL provides the same)."""
    con.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
    for i, fn in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(fn, 1, _st(i), deterministic=True)


# -- triggers ---------------------------------------------------------------------------------

def _qi(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _json(prefix: str, cols: Sequence[str]) -> str:
    """``json_object`` of the columns, in pieces of 50 (SQLite limits function arguments)."""
    if not cols:
        return "json_object()"
    first, rest = list(cols[:50]), list(cols[50:])
    expr = "json_object(" + ", ".join(f"{_lit(c)}, {prefix}.{_qi(c)}" for c in first) + ")"
    for i in range(0, len(rest), 50):
        part = rest[i:i + 50]
        pairs = [_lit('$."' + c + '"') + f", {prefix}.{_qi(c)}" for c in part]
        expr = "json_insert(" + expr + ", " + ", ".join(pairs) + ")"
    return expr


def trigger_sql(table: str, cols: Sequence[str]) -> list[str]:
    """The history and retirement triggers of a feature table (``cols``: its attribute columns)."""
    t = '"' + table + '"'
    lit = "'" + table.replace("'", "''") + "'"
    p = f"mzgis_{table}"
    changed = " AND ".join([*(f"NEW.{_qi(c)} IS OLD.{_qi(c)}" for c in cols), "NEW.geom IS OLD.geom",
                            "NEW.mz_retired_at IS OLD.mz_retired_at"])
    hist = ("INSERT INTO mzgis_history (ts, user, layer, feature_id, action, version, old_attributes, "
            "old_geometry, new_attributes, new_geometry, note)")
    return [
        f'CREATE TRIGGER "{p}_need_id" BEFORE INSERT ON {t} WHEN NEW.feature_id IS NULL BEGIN '
        "SELECT RAISE(ABORT, 'mzgis: feature_id 编号必填 is required'); END",
        f'CREATE TRIGGER "{p}_insert" AFTER INSERT ON {t} BEGIN '
        f"UPDATE {t} SET mz_version = 1, mz_updated_at = {_SESSION_TS} "
        "WHERE fid = NEW.fid AND (NEW.mz_version IS NOT 1 OR NEW.mz_updated_at IS NULL); "
        f"{hist} VALUES ({_SESSION_TS}, {_SESSION_USER}, {lit}, NEW.feature_id, 'insert', 1, NULL, NULL, NULL, "
        f"NULL, {_SESSION_NOTE}); END",
        f'CREATE TRIGGER "{p}_keep_id" BEFORE UPDATE OF feature_id ON {t} '
        "WHEN NEW.feature_id IS NOT OLD.feature_id BEGIN "
        "SELECT RAISE(ABORT, 'mzgis: feature_id 编号不能修改 cannot be changed; add a new feature instead'); END",
        f'CREATE TRIGGER "{p}_update" AFTER UPDATE ON {t} WHEN NOT ({changed}) BEGIN '
        f"{hist} VALUES ({_SESSION_TS}, {_SESSION_USER}, {lit}, NEW.feature_id, "
        "CASE WHEN NEW.mz_retired_at IS NOT NULL AND OLD.mz_retired_at IS NULL THEN 'retire' ELSE 'update' END, "
        f"COALESCE(OLD.mz_version, 0) + 1, {_json('OLD', cols)}, hex(OLD.geom), "
        f"CASE WHEN NEW.mz_retired_at IS NOT NULL AND OLD.mz_retired_at IS NULL THEN NULL ELSE {_json('NEW', cols)} END, "
        f"NULL, {_SESSION_NOTE}); "
        f"UPDATE {t} SET mz_version = COALESCE(OLD.mz_version, 0) + 1, mz_updated_at = {_SESSION_TS} "
        "WHERE fid = NEW.fid; END",
        f'CREATE TRIGGER "{p}_delete" BEFORE DELETE ON {t} BEGIN '
        f"UPDATE {t} SET mz_retired_at = {_SESSION_TS} WHERE fid = OLD.fid AND mz_retired_at IS NULL; "
        "SELECT RAISE(IGNORE); END",
    ]


def rtree_sql(table: str, col: str = "geom", key: str = "fid") -> list[str]:
    """The standard GeoPackage R-tree index and its triggers (as GDAL 3.6 creates them)."""
    t, c, i = f'"{table}"', f'"{col}"', f'"{key}"'
    r = f'"rtree_{table}_{col}"'
    vals = f"NEW.{i}, ST_MinX(NEW.{c}), ST_MaxX(NEW.{c}), ST_MinY(NEW.{c}), ST_MaxY(NEW.{c})"
    n = f"rtree_{table}_{col}"
    return [
        f"CREATE VIRTUAL TABLE {r} USING rtree(id, minx, maxx, miny, maxy)",
        f'CREATE TRIGGER "{n}_insert" AFTER INSERT ON {t} WHEN (new.{c} NOT NULL AND NOT ST_IsEmpty(NEW.{c})) '
        f"BEGIN INSERT OR REPLACE INTO {r} VALUES ({vals}); END",
        f'CREATE TRIGGER "{n}_update1" AFTER UPDATE OF {c} ON {t} WHEN OLD.{i} = NEW.{i} AND '
        f"(NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c})) BEGIN INSERT OR REPLACE INTO {r} VALUES ({vals}); END",
        f'CREATE TRIGGER "{n}_update2" AFTER UPDATE OF {c} ON {t} WHEN OLD.{i} = NEW.{i} AND '
        f"(NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c})) BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END",
        f'CREATE TRIGGER "{n}_update3" AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND '
        f"(NEW.{c} NOTNULL AND NOT ST_IsEmpty(NEW.{c})) BEGIN DELETE FROM {r} WHERE id = OLD.{i}; "
        f"INSERT OR REPLACE INTO {r} VALUES ({vals}); END",
        f'CREATE TRIGGER "{n}_update4" AFTER UPDATE ON {t} WHEN OLD.{i} != NEW.{i} AND '
        f"(NEW.{c} ISNULL OR ST_IsEmpty(NEW.{c})) BEGIN DELETE FROM {r} WHERE id IN (OLD.{i}, NEW.{i}); END",
        f'CREATE TRIGGER "{n}_delete" AFTER DELETE ON {t} WHEN old.{c} NOT NULL '
        f"BEGIN DELETE FROM {r} WHERE id = OLD.{i}; END",
    ]


def _fix(path: Path) -> str:
    return (f"检查文件 check {path}: 如有备份请恢复 restore it from a backup, or start a new workspace with "
            "`mzgis init DIR` and import the layers again")


class GpkgStore(ProjectStore):
    """A workspace's layers in one GeoPackage file.

    Parameters
    ----------
    path
        The ``project.gpkg`` file (it must exist: create it with :meth:`create`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._check_file()

    # -- opening -------------------------------------------------------------------------------
    def _check_file(self) -> None:
        p = self.path
        if p.is_dir():
            msg = (f"项目库应为文件却是文件夹 {p} is a directory, not a GeoPackage file. "
                   f"移走或改名该文件夹 move or rename that folder, then run `mzgis init {p.parent} --force`.")
            raise StoreError(msg)
        if not p.exists():
            msg = f"项目库不存在 project store not found: {p}. 先运行 run `mzgis init DIR` first."
            raise StoreError(msg)
        try:
            with open(p, "rb") as fh:
                head = fh.read(100)
        except PermissionError as exc:
            msg = (f"无权读取项目库 permission denied reading {p}. 请管理员授权 ask the owner to grant read access "
                   f"(chmod a+r '{p}') or run mzgis as a user who can read it.")
            raise StoreError(msg) from exc
        if not head:
            msg = f"项目库是空文件 {p} is empty (0 bytes), not a GeoPackage. {_fix(p)}."
            raise StoreError(msg)
        if not head.startswith(b"SQLite format 3\x00"):
            msg = f"项目库已损坏或不是 GeoPackage {p} is damaged or not a GeoPackage (not an SQLite file). {_fix(p)}."
            raise StoreError(msg)
        try:
            with self._read_con() as con:
                app = con.execute("PRAGMA application_id").fetchone()[0]
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                if app != 0x47504B47 or not {"mzgis_meta", "mzgis_layers", "mzgis_history"} <= tables:
                    msg = (f"{p} 不是 mzgis 项目库 is not an mzgis project store (a GeoPackage or SQLite file made "
                           "by another program). 用 use `mzgis import WS THAT_FILE` to import its layers into a "
                           "workspace, or `mzgis init` to start one.")
                    raise StoreError(msg)
                self._schema = stored_version(self, con)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc

    @contextlib.contextmanager
    def _read_con(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        register_functions(con)
        try:
            yield con
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        finally:
            con.close()

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        p = self.path
        low = text.lower()
        if "readonly" in low or "read-only" in low:
            msg = (f"项目库只读 the store {p} is read-only ({text}). 请授予写权限 give yourself write access to the file "
                   f"and its folder (chmod u+w '{p}' '{p.parent}'), or copy the workspace somewhere writable; "
                   "nothing was changed.")
        elif "disk is full" in low or "disk full" in low or "no space" in low:
            msg = (f"磁盘已满 the disk holding {p} is full ({text}). 请腾出空间 free some space and run the command "
                   "again; the store was rolled back, nothing was changed.")
        elif "locked" in low or "busy" in low:
            msg = (f"项目库正被另一写入者占用 another writer held {p} for more than {BUSY_TIMEOUT_S:.0f} s ({text}). "
                   "稍后重试 try again when it has finished (a QGIS edit session must be saved or closed); "
                   "nothing was changed.")
        elif "unable to open" in low or "permission" in low:
            msg = (f"无法打开项目库 cannot open {p} ({text}). 检查文件和文件夹的权限 check that you may read and write "
                   f"the file and its folder {p.parent}; nothing was changed.")
        elif "not a database" in low or "malformed" in low or "corrupt" in low:
            msg = f"项目库已损坏 the store {p} is damaged ({text}). {_fix(p)}."
        elif text.startswith("mzgis:"):
            msg = f"{text} ({p}); nothing was changed."
        else:
            msg = f"项目库错误 store error in {p}: {text}; nothing was changed."
        return StoreError(msg)

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, overwrite: bool = False) -> GpkgStore:
        """Create an empty store (a valid GeoPackage with the mzgis tables)."""
        p = Path(path)
        if p.is_dir():
            msg = f"{p} 是文件夹 is a directory; 不能在此创建项目库 cannot create the store there. Move it away."
            raise StoreError(msg)
        if p.exists() and not overwrite:
            msg = f"{p} 已存在 already exists; 不会覆盖 not overwriting it."
            raise StoreError(msg)
        tmp = p.with_name(f".{p.name}.new")
        tmp.unlink(missing_ok=True)
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.executescript(_GPKG_INIT)
                con.execute(_SESSION_DDL)
                con.execute("INSERT INTO mzgis_meta (key, value) VALUES ('created_at', ?)", (now_iso(),))
                con.execute("INSERT INTO mzgis_meta (key, value) VALUES ('schema_version', ?)", (str(BASELINE),))
                new = cls.__new__(cls)
                new.path, new.location = tmp, str(p)
                upgrade(new, con, "gpkg", version=BASELINE)  # the layout changes since the DDL above
            finally:
                con.close()
            os.replace(tmp, p)
        except (sqlite3.Error, OSError) as exc:
            tmp.unlink(missing_ok=True)
            msg = f"无法创建项目库 cannot create {p}: {exc}. 检查文件夹权限和磁盘空间 check the folder's permissions and free space."
            raise StoreError(msg) from exc
        return cls(p)

    # -- transactions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write_tx(self, user: str, note: str | None, ts: str) -> Iterator[sqlite3.Connection]:
        with self._read_con() as con:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                self._upgrade(con)
                con.execute("INSERT OR REPLACE INTO mzgis_session (id, user, note, ts) VALUES (1, ?, ?, ?)",
                            (user, note, ts))
                yield con
                con.execute("DELETE FROM mzgis_session")
                con.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from exc
                raise

    def _upgrade(self, con: sqlite3.Connection) -> None:
        """Bring an older store to the current layout (:mod:`~mzgis.layers.store.migrations`), in the
        write's transaction (``BEGIN IMMEDIATE`` already keeps every other writer out)."""
        upgrade(self, con, "gpkg")

    # -- dialect -------------------------------------------------------------------------------
    def _geom_param_sql(self) -> str:
        return "?"

    def _geom_select_sql(self) -> str:
        return "geom"

    def _encode_geoms(self, geoms: np.ndarray) -> list[Any]:
        return encode_blobs(np.asarray(geoms, dtype=object))

    def _decode_geoms(self, values: Sequence[Any]) -> np.ndarray:
        wkb = [None if v is None else blob_wkb(bytes(v)) for v in values]
        return np.asarray(shapely.from_wkb(np.array(wkb, dtype=object)), dtype=object) if wkb else \
            np.array([], dtype=object)

    def _columns(self, con: sqlite3.Connection, name: str) -> dict[str, str]:
        out = {}
        for _, col, decl, *_ in con.execute(f'PRAGMA table_info("{name}")').fetchall():
            if col in ("fid", "geom", "feature_id", "mz_version", "mz_updated_at", "mz_retired_at"):
                continue
            base = str(decl or "TEXT").upper().split("(")[0].strip()
            out[str(col)] = _LOGICAL.get(base, "text")
        return out

    def _bounds_sql(self, con: sqlite3.Connection, name: str) -> str | None:
        rtree = f"rtree_{name}_geom"
        if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (rtree,)).fetchone() is None:
            return None
        return (f"SELECT min(r.minx), min(r.miny), max(r.maxx), max(r.maxy) FROM {self.q(rtree)} r "
                f"JOIN {self.q(name)} t ON t.fid = r.id WHERE t.mz_retired_at IS NULL")

    def _table_names(self, con: sqlite3.Connection) -> list[str]:
        return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]

    def _install_triggers(self, con: sqlite3.Connection, name: str, cols: list[str]) -> None:
        for (trig,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                                   "AND substr(name, 1, ?) = ?", (name, len(name) + 7, f"mzgis_{name}_")).fetchall():
            con.execute(f'DROP TRIGGER "{trig}"')
        for sql in trigger_sql(name, cols):
            con.execute(sql)

    def _create_layer(self, con: sqlite3.Connection, name: str, kinds: dict[str, str], geom_type: str,
                      layer_type: str, *, history: bool = True) -> None:
        cols = ", ".join(f"{_qi(c)} {_SQL_TYPES[k]}" for c, k in kinds.items())
        con.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {geom_type}, '
                    f"feature_id TEXT NOT NULL{', ' + cols if cols else ''}, "
                    "mz_version INTEGER NOT NULL DEFAULT 1, mz_updated_at TEXT, mz_retired_at TEXT)")
        con.execute(f'CREATE UNIQUE INDEX "mzgis_{name}_feature_id" ON "{name}" (feature_id)')
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                    "VALUES (?, 'features', ?, ?, 4326)", (name, name, f"mzgis {layer_type}"))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, 4326, 0, 0)", (name, geom_type))
        con.execute("INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
                    "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (name,))
        for sql in rtree_sql(name):
            con.execute(sql)
        if history:
            self._install_triggers(con, name, list(kinds))
        gpkg_refresh_view(con, name, list(kinds))

    def _install_history(self, con: sqlite3.Connection, name: str) -> None:
        self._install_triggers(con, name, list(self._columns(con, name)))

    def _add_columns(self, con: sqlite3.Connection, name: str, kinds: dict[str, str]) -> None:
        for c, k in kinds.items():
            con.execute(f'ALTER TABLE "{name}" ADD COLUMN {_qi(c)} {_SQL_TYPES[k]}')
        self._install_triggers(con, name, list(self._columns(con, name)))
        gpkg_refresh_view(con, name, list(self._columns(con, name)))

    def _declared_type(self, con: sqlite3.Connection, name: str) -> str:
        row = con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?",
                          (name,)).fetchone()
        return "GEOMETRY" if row is None else str(row[0]).upper()

    def _set_declared_type(self, con: sqlite3.Connection, name: str, geom_type: str) -> None:
        con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ? WHERE table_name IN (?, ?)",
                    (geom_type, name, current_view(name)))
        # the column's declared type must say the same (GDAL checks): SQLite's documented way to change a
        # declaration that does not affect the stored content (same affinity), inside this transaction
        sql = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()[0]
        new = re.sub(r'(\(\s*|,\s*)("?geom"?\s+)([A-Za-z]+)', lambda m: m.group(1) + m.group(2) + geom_type, sql,
                     count=1)
        if new == sql:
            return
        version = con.execute("PRAGMA schema_version").fetchone()[0]
        con.execute("PRAGMA writable_schema = ON")
        try:
            con.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new, name))
            con.execute(f"PRAGMA schema_version = {int(version) + 1}")
        finally:
            con.execute("PRAGMA writable_schema = OFF")

    def _after_write(self, con: sqlite3.Connection, name: str, bounds: np.ndarray | None) -> None:
        if bounds is not None and len(bounds) and not np.isnan(bounds[:, 0]).all():
            x0, y0 = float(np.nanmin(bounds[:, 0])), float(np.nanmin(bounds[:, 1]))
            x1, y1 = float(np.nanmax(bounds[:, 2])), float(np.nanmax(bounds[:, 3]))
            con.execute("UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?1), ?1), "
                        "min_y = min(coalesce(min_y, ?2), ?2), max_x = max(coalesce(max_x, ?3), ?3), "
                        "max_y = max(coalesce(max_y, ?4), ?4) WHERE table_name = ?5", (x0, y0, x1, y1, name))
        con.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                    "WHERE table_name = ?", (name,))
        gpkg_ensure_view(con, name, list(self._columns(con, name)))
        gpkg_ensure_style(con, name, self.ORDER)

    def _lock_layer(self, con: sqlite3.Connection, name: str) -> None:
        return None  # BEGIN IMMEDIATE already holds the only writer's lock

    def _lock_feature_sql(self) -> str:
        return ""

    def _insert_rows(self, con: sqlite3.Connection, name: str, cols: list[str], rows: list[tuple[Any, ...]],
                     bounds: np.ndarray | None = None) -> None:
        names = ", ".join(_qi(c) for c in [*cols, "geom"])
        sql = f'INSERT INTO "{name}" ({names}) VALUES ({", ".join("?" * (len(cols) + 1))})'
        trig = f"rtree_{name}_geom_insert"
        ddl = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trig,)).fetchone()
        if bounds is None or len(rows) < 1000 or ddl is None:
            con.executemany(sql, rows)
            return
        # bulk: fill the R-tree from the bounds computed with numpy instead of five SQL function calls
        # per row; the standard trigger is put back in the same transaction
        first = int(con.execute("SELECT COALESCE(MAX(fid), 0) FROM \"" + name + "\"").fetchone()[0]) + 1
        con.execute(f'DROP TRIGGER "{trig}"')
        con.executemany(sql, rows)
        fids = np.array([r[0] for r in con.execute(f'SELECT fid FROM "{name}" WHERE fid >= ? ORDER BY fid',
                                                   (first,)).fetchall()], dtype=np.int64)
        if len(fids) != len(rows):
            msg = f"internal: {len(rows)} rows inserted into {name}, {len(fids)} new fids"
            raise StoreError(msg)
        ok = ~np.isnan(bounds).any(axis=1)
        con.executemany(f'INSERT OR REPLACE INTO "rtree_{name}_geom" VALUES (?, ?, ?, ?, ?)',
                        zip(fids[ok].tolist(), bounds[ok, 0].tolist(), bounds[ok, 2].tolist(),
                            bounds[ok, 1].tolist(), bounds[ok, 3].tolist(), strict=True))
        con.execute(ddl[0])

    def _stage_ids(self, con: sqlite3.Connection, ids: Sequence[str]) -> str:
        con.execute("DROP TABLE IF EXISTS temp.mzgis_ids")
        con.execute("CREATE TEMP TABLE mzgis_ids (feature_id TEXT PRIMARY KEY)")
        con.executemany("INSERT OR IGNORE INTO temp.mzgis_ids VALUES (?)", ((str(i),) for i in ids))
        return "temp.mzgis_ids"

    def _create_records_table(self, con: sqlite3.Connection, table: str, cols: list[str]) -> None:
        con.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
                    + ", ".join(f"{_qi(c)} TEXT" for c in cols) + ")")
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'attributes', ?)",
                    (table, table))

    def _add_text_columns(self, con: sqlite3.Connection, table: str, cols: list[str]) -> None:
        for c in cols:
            con.execute(f'ALTER TABLE "{table}" ADD COLUMN {_qi(c)} TEXT')

    def _record_columns(self, con: sqlite3.Connection, table: str) -> list[str]:
        return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall()]
