"""The project store: every layer of a workspace in one GeoPackage, with an edit history.

Guarantees
----------
* **Atomic.** Every write (an import, an edit) is made on a copy of ``project.gpkg`` in the same
  folder and moved over the original with one atomic rename when, and only when, everything
  succeeded. A failed write leaves the store byte-for-byte unchanged. A lock file keeps two writers
  apart.
* **Nothing is deleted.** Features are *retired* (``mz_retired_at`` set), never removed. Every
  insert, update, retirement and revert is recorded in ``mzgis_history`` with the time, the user,
  the layer, the feature id, the version, and the old attributes and geometry.

Tables
------
``mzgis_layers``  one row per layer: type, kind, level, source, coordinates, counts.
``mzgis_history`` one row per change of a feature.
``mzgis_meta``    key/value settings (the resolved metric CRS, the creation time).
Each layer is a GeoPackage feature table with ``feature_id`` (the source's id, as text),
``mz_version``, ``mz_updated_at``, ``mz_retired_at``, the attributes and the geometry (EPSG:4326).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from mzgis.errors import LayerError, StoreError
from mzgis.layers.crs import STORE_CRS

__all__ = ["INTERNAL_COLUMNS", "ImportReport", "ProjectStore", "current_user"]

log = logging.getLogger(__name__)

INTERNAL_COLUMNS = ("mz_version", "mz_updated_at", "mz_retired_at")
_META_TABLES = ("mzgis_layers", "mzgis_history", "mzgis_meta")
_RESERVED = {"fid", "feature_id", *INTERNAL_COLUMNS}


def current_user() -> str:
    """The user recorded in the history: ``MZGIS_USER`` or the login name."""
    env = os.environ.get("MZGIS_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


@dataclass
class ImportReport:
    """What one write to the store did."""

    layer: str
    layer_type: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    total_active: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the user."""
        return (
            f"图层 layer '{self.layer}' ({self.layer_type}): 新增 inserted {self.inserted}, "
            f"更新 updated {self.updated}, 未变 unchanged {self.unchanged}, 退役 retired {self.retired}; "
            f"现有 active {self.total_active}"
        )


_GPKG_INIT = """
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10400;
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
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326,
   'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
   'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE mzgis_meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE mzgis_layers (
  name TEXT PRIMARY KEY, layer_type TEXT NOT NULL, kind TEXT, level TEXT, source TEXT,
  source_coords TEXT, created_at TEXT, updated_at TEXT, user TEXT, description TEXT);
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


def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp | dt.date | dt.datetime):
        return v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    return v if isinstance(v, str | int | bool) else str(v)


def _row_attrs(df: pd.DataFrame, cols: Sequence[str]) -> list[dict[str, Any]]:
    records = df[list(cols)].to_dict("records")
    return [{str(k): _jsonable(v) for k, v in r.items()} for r in records]


class ProjectStore:
    """A workspace's GeoPackage of layers with history.

    Parameters
    ----------
    path
        The ``project.gpkg`` file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            msg = f"项目库不存在 project store not found: {self.path}. 先运行 run `mzgis init DIR` first."
            raise StoreError(msg)

    # -- creation and transactions -------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, *, overwrite: bool = False) -> ProjectStore:
        """Create an empty store (a valid GeoPackage with the mzgis tables)."""
        p = Path(path)
        if p.exists() and not overwrite:
            msg = f"{p} 已存在 already exists; 不会覆盖 not overwriting it."
            raise StoreError(msg)
        tmp = p.with_name(f".{p.name}.new")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.executescript(_GPKG_INIT)
            con.execute("INSERT INTO mzgis_meta VALUES ('created_at', ?)", (_now(),))
            con.execute("INSERT INTO mzgis_meta VALUES ('schema_version', '1')")
            con.commit()
        finally:
            con.close()
        os.replace(tmp, p)
        return cls(p)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError as exc:
            msg = (f"项目库正被另一进程写入 the store is being written by another process ({lock} exists). "
                   "If no mzgis command is running, delete that file.")
            raise StoreError(msg) from exc
        try:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            yield
        finally:
            lock.unlink(missing_ok=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Path]:
        """Yield a working copy of the store; it replaces the store only if the block succeeds."""
        with self._lock():
            fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".tmp.gpkg",
                                        dir=self.path.parent)
            os.close(fd)
            tmp = Path(name)
            try:
                shutil.copyfile(self.path, tmp)
                yield tmp
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)
                for suffix in ("-wal", "-shm", "-journal"):
                    Path(str(tmp) + suffix).unlink(missing_ok=True)

    def _connect(self, path: Path | None = None) -> sqlite3.Connection:
        return sqlite3.connect(path or self.path)

    # -- reading ----------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A value from ``mzgis_meta``."""
        con = self._connect()
        try:
            row = con.execute("SELECT value FROM mzgis_meta WHERE key = ?", (key,)).fetchone()
        finally:
            con.close()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in ``mzgis_meta`` (atomically)."""
        with self.transaction() as tmp:
            con = self._connect(tmp)
            try:
                con.execute("INSERT OR REPLACE INTO mzgis_meta VALUES (?, ?)", (key, value))
                con.commit()
            finally:
                con.close()

    def layer_info(self, name: str) -> dict[str, Any] | None:
        """The registry row of a layer, or None."""
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            row = con.execute("SELECT * FROM mzgis_layers WHERE name = ?", (name,)).fetchone()
        finally:
            con.close()
        return None if row is None else dict(row)

    def layer_names(self, layer_type: str | None = None) -> list[str]:
        """Names of the layers (optionally of one type), in creation order."""
        con = self._connect()
        try:
            if layer_type is None:
                rows = con.execute("SELECT name FROM mzgis_layers ORDER BY rowid").fetchall()
            else:
                rows = con.execute("SELECT name FROM mzgis_layers WHERE layer_type = ? ORDER BY rowid",
                                   (layer_type,)).fetchall()
        finally:
            con.close()
        return [r[0] for r in rows]

    def layers(self) -> pd.DataFrame:
        """One row per layer: name, type, kind, level, active and retired counts, CRS."""
        con = self._connect()
        try:
            reg = pd.read_sql_query("SELECT name, layer_type, kind, level, source, updated_at FROM mzgis_layers "
                                    "ORDER BY rowid", con)
            active, retired = [], []
            for name in reg["name"]:
                a, r = con.execute(
                    f'SELECT SUM(mz_retired_at IS NULL), SUM(mz_retired_at IS NOT NULL) FROM "{name}"'
                ).fetchone()
                active.append(int(a or 0))
                retired.append(int(r or 0))
        finally:
            con.close()
        reg["features"] = active
        reg["retired"] = retired
        reg["crs"] = STORE_CRS
        return reg

    def read(self, name: str, *, include_retired: bool = False, internal: bool = False) -> gpd.GeoDataFrame:
        """Read a layer as a GeoDataFrame in EPSG:4326, indexed 0..n-1.

        Parameters
        ----------
        include_retired
            Also return retired features.
        internal
            Keep the ``mz_*`` bookkeeping columns.
        """
        if self.layer_info(name) is None:
            msg = f"没有图层 no layer '{name}' in {self.path}; layers: {self.layer_names()}"
            raise LayerError(msg)
        where = None if include_retired else "mz_retired_at IS NULL"
        gdf = pyogrio.read_dataframe(self.path, layer=name, where=where, use_arrow=True, fid_as_index=False)
        if not internal:
            gdf = gdf.drop(columns=[c for c in INTERNAL_COLUMNS if c in gdf.columns])
        gdf = gdf.reset_index(drop=True)
        if gdf.crs is None:
            gdf = gdf.set_crs(STORE_CRS)
        return gdf

    def history(self, layer: str, feature_id: str | None = None) -> pd.DataFrame:
        """The history rows of a layer (or of one feature), oldest first."""
        con = self._connect()
        try:
            if feature_id is None:
                return pd.read_sql_query("SELECT * FROM mzgis_history WHERE layer = ? ORDER BY id", con,
                                         params=(layer,))
            return pd.read_sql_query("SELECT * FROM mzgis_history WHERE layer = ? AND feature_id = ? ORDER BY id",
                                     con, params=(layer, str(feature_id)))
        finally:
            con.close()

    # -- writing ----------------------------------------------------------------------------------
    def write_layer(
        self,
        name: str,
        gdf: gpd.GeoDataFrame,
        *,
        layer_type: str,
        kind: str | None = None,
        level: str | None = None,
        source: str | None = None,
        source_coords: str | None = None,
        retire_missing: bool = False,
        user: str | None = None,
        note: str | None = None,
    ) -> ImportReport:
        """Insert or update the features of a layer in one atomic step.

        Features are matched on ``feature_id``: new ids are inserted, changed ones updated (the old
        version goes to the history), unchanged ones left alone. Ids missing from ``gdf`` are
        retired if ``retire_missing``; otherwise they stay.
        """
        if not name.replace("_", "").isalnum() or name.startswith(("gpkg", "mzgis", "rtree", "sqlite")):
            msg = (f"图层名无效 invalid layer name '{name}': use letters, digits and _ "
                   "(not starting with gpkg/mzgis/rtree/sqlite)")
            raise LayerError(msg)
        if "feature_id" not in gdf.columns:
            msg = "internal: a layer needs a feature_id column"
            raise LayerError(msg)
        clash = [c for c in gdf.columns if c.lower() in {"fid", *INTERNAL_COLUMNS}]
        if clash:
            msg = f"列名 {clash} 为 mzgis 保留 are reserved by mzgis; rename them in the source."
            raise LayerError(msg)
        user = user or current_user()
        ts = _now()
        info = self.layer_info(name)
        new = gdf.to_crs(STORE_CRS).reset_index(drop=True).copy()
        new["feature_id"] = new["feature_id"].astype(str)
        attr_cols = [c for c in new.columns if c not in ("feature_id", new.geometry.name)]
        report = ImportReport(name, layer_type)

        if info is None:
            new["mz_version"] = 1
            new["mz_updated_at"] = ts
            new["mz_retired_at"] = None
            combined = new
            hist = [(ts, user, name, fid, "insert", 1, None, None, None, None, note)
                    for fid in new["feature_id"]]
            report.inserted = len(new)
        else:
            if info["layer_type"] != layer_type:
                msg = (f"图层 '{name}' 已存在且类型为 already exists as {info['layer_type']}, "
                       f"not {layer_type}; choose another --layer name.")
                raise LayerError(msg)
            old = self.read(name, include_retired=True, internal=True)
            combined, hist, report = self._merge(name, old, new, attr_cols, ts, user, note, retire_missing, report)

        report.total_active = int(pd.isna(combined["mz_retired_at"]).sum())
        combined = gpd.GeoDataFrame(combined, geometry=combined.geometry.name, crs=STORE_CRS)
        with self.transaction() as tmp:
            if info is not None:
                con = self._connect(tmp)
                try:
                    con.execute(f'DROP TABLE IF EXISTS "{name}"')
                    con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (name,))
                    con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (name,))
                    for t in [r[0] for r in con.execute(
                            "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE ?", (f"rtree_{name}_%",))]:
                        con.execute(f'DROP TABLE IF EXISTS "{t}"')
                    with contextlib.suppress(sqlite3.OperationalError):
                        con.execute("DELETE FROM gpkg_extensions WHERE table_name = ?", (name,))
                    con.commit()
                finally:
                    con.close()
            geom_type = _gpkg_geometry_type(combined)
            pyogrio.write_dataframe(combined, tmp, layer=name, driver="GPKG", use_arrow=True,
                                    geometry_type=geom_type, promote_to_multi=geom_type.startswith("Multi"))
            con = self._connect(tmp)
            try:
                con.executemany(
                    "INSERT INTO mzgis_history (ts, user, layer, feature_id, action, version, old_attributes, "
                    "old_geometry, new_attributes, new_geometry, note) VALUES (?,?,?,?,?,?,?,?,?,?,?)", hist)
                if info is None:
                    con.execute("INSERT INTO mzgis_layers VALUES (?,?,?,?,?,?,?,?,?,?)",
                                (name, layer_type, kind, level, source, source_coords, ts, ts, user, None))
                else:
                    con.execute("UPDATE mzgis_layers SET updated_at = ?, user = ?, source = COALESCE(?, source) "
                                "WHERE name = ?", (ts, user, source, name))
                con.commit()
            finally:
                con.close()
        return report

    @staticmethod
    def _merge(
        name: str, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, attr_cols: list[str], ts: str, user: str,
        note: str | None, retire_missing: bool, report: ImportReport,
    ) -> tuple[gpd.GeoDataFrame, list[tuple[Any, ...]], ImportReport]:
        old = old.copy()
        old["feature_id"] = old["feature_id"].astype(str)
        old_idx = pd.Index(old["feature_id"])
        if not old_idx.is_unique:
            msg = f"store: layer {name} has duplicate feature ids"
            raise StoreError(msg)
        for c in attr_cols:
            if c not in old.columns:
                old[c] = None
        old_attr_cols = [c for c in old.columns if c not in ("feature_id", old.geometry.name, *INTERNAL_COLUMNS)]
        pos = old_idx.get_indexer(new["feature_id"])
        hist: list[tuple[Any, ...]] = []
        new_rows = new[pos < 0].copy()
        new_rows["mz_version"] = 1
        new_rows["mz_updated_at"] = ts
        new_rows["mz_retired_at"] = None
        hist += [(ts, user, name, fid, "insert", 1, None, None, None, None, note) for fid in new_rows["feature_id"]]
        report.inserted = len(new_rows)

        match = np.flatnonzero(pos >= 0)
        old_geom = old.geometry.name
        if len(match):
            o = old.iloc[pos[match]]
            n_ = new.iloc[match]
            o_attrs = _row_attrs(o, attr_cols)
            n_attrs = _row_attrs(n_, attr_cols)
            o_wkb = shapely.to_wkb(np.asarray(o.geometry.values))
            n_wkb = shapely.to_wkb(np.asarray(n_.geometry.values))
            changed = [
                (oa != na) or (ow != nw) or not pd.isna(o["mz_retired_at"].iloc[k])
                for k, (oa, na, ow, nw) in enumerate(zip(o_attrs, n_attrs, o_wkb, n_wkb, strict=True))
            ]
            full_old = _row_attrs(o, old_attr_cols)
            for k, is_changed in enumerate(changed):
                if not is_changed:
                    report.unchanged += 1
                    continue
                oi = pos[match[k]]
                ver = int(old.at[oi, "mz_version"]) + 1
                g_old = o.geometry.iloc[k]
                hist.append((ts, user, name, str(old.at[oi, "feature_id"]), "update", ver,
                             json.dumps(full_old[k], ensure_ascii=False),
                             None if g_old is None else shapely.to_wkt(g_old, rounding_precision=-1),
                             json.dumps(n_attrs[k], ensure_ascii=False), None, note))
                for c in attr_cols:
                    old.at[oi, c] = n_.iloc[k][c]
                old.at[oi, old_geom] = n_.geometry.iloc[k]
                old.at[oi, "mz_version"] = ver
                old.at[oi, "mz_updated_at"] = ts
                old.at[oi, "mz_retired_at"] = None
                report.updated += 1
        if retire_missing:
            missing = ~old_idx.isin(new["feature_id"]) & pd.isna(old["mz_retired_at"]).to_numpy()
            for oi in np.flatnonzero(missing):
                ver = int(old.at[oi, "mz_version"]) + 1
                attrs = _row_attrs(old.iloc[[oi]], old_attr_cols)[0]
                g = old.geometry.iloc[oi]
                hist.append((ts, user, name, str(old.at[oi, "feature_id"]), "retire", ver,
                             json.dumps(attrs, ensure_ascii=False),
                             None if g is None else shapely.to_wkt(g, rounding_precision=-1), None, None, note))
                old.at[oi, "mz_version"] = ver
                old.at[oi, "mz_updated_at"] = ts
                old.at[oi, "mz_retired_at"] = ts
                report.retired += 1
        if new_rows.geometry.name != old_geom:
            new_rows = new_rows.rename_geometry(old_geom)
        combined = pd.concat([old, new_rows], ignore_index=True)
        return gpd.GeoDataFrame(combined, geometry=old_geom, crs=STORE_CRS), hist, report

    def retire(self, name: str, feature_ids: Sequence[str], *, user: str | None = None,
               note: str | None = None) -> ImportReport:
        """Retire features (they stay in the store, marked, with a history row)."""
        info = self.layer_info(name)
        if info is None:
            msg = f"没有图层 no layer '{name}'"
            raise LayerError(msg)
        cur = self.read(name, include_retired=False)
        keep = cur[~cur["feature_id"].astype(str).isin([str(f) for f in feature_ids])]
        unknown = set(map(str, feature_ids)) - set(cur["feature_id"].astype(str))
        if unknown:
            msg = f"图层 '{name}' 中没有这些在用要素 no active features with ids {sorted(unknown)}"
            raise LayerError(msg)
        return self.write_layer(name, keep, layer_type=info["layer_type"], retire_missing=True, user=user,
                                note=note)

    # -- editing single features ------------------------------------------------------------------

    def _current(self, name: str, feature_id: str) -> pd.Series:
        g = self.read(name, include_retired=True, internal=True)
        row = g[g["feature_id"].astype(str) == str(feature_id)]
        if row.empty:
            msg = f"图层 '{name}' 中没有要素 no feature '{feature_id}'"
            raise LayerError(msg)
        return row.iloc[0]

    def _check_version(self, name: str, feature_id: str, expect_version: int | None) -> pd.Series:
        row = self._current(name, feature_id)
        if expect_version is not None and int(row["mz_version"]) != int(expect_version):
            h = self.history(name, feature_id)
            last = h.iloc[-1] if len(h) else None
            who = f" by {last['user']} at {last['ts']}" if last is not None else ""
            msg = (f"要素 {feature_id} 已被修改 feature {feature_id} of '{name}' is at version {int(row['mz_version'])}"
                   f"{who}, not {expect_version}: your copy is stale. 重新读取后再修改 re-read it and apply your "
                   "change again; nothing was written.")
            raise StaleEditError(msg)
        return row

    def edit_feature(self, name: str, feature_id: str, *, changes: dict[str, Any] | None = None,
                     geometry: Any = None, expect_version: int | None = None, user: str | None = None,
                     note: str | None = None, add: bool = False) -> ImportReport:
        """Add a feature (``add=True``) or update one's attributes and/or geometry, with history."""
        info = self.layer_info(name)
        if info is None:
            msg = f"没有图层 no layer '{name}'"
            raise LayerError(msg)
        active = self.read(name)
        ids = active["feature_id"].astype(str)
        if add:
            if str(feature_id) in set(self.read(name, include_retired=True)["feature_id"].astype(str)):
                msg = f"编号已存在 feature id '{feature_id}' already exists in '{name}' (ids are never reused)"
                raise LayerError(msg)
            if geometry is None:
                msg = "a new feature needs a geometry (--lonlat X,Y or --wkt)"
                raise LayerError(msg)
            row: dict[str, Any] = {c: None for c in active.columns if c != active.geometry.name}
            row.update({"feature_id": str(feature_id), **(changes or {})})
            unknown = set(changes or {}) - set(active.columns)
            if unknown:
                msg = f"图层 '{name}' 没有字段 no fields {sorted(unknown)}; fields: {list(active.columns)}"
                raise LayerError(msg)
            new = gpd.GeoDataFrame([row], geometry=[geometry], crs=STORE_CRS)
            new = new.rename_geometry(active.geometry.name) if active.geometry.name != "geometry" else new
            merged = pd.concat([active, new], ignore_index=True)
        else:
            self._check_version(name, feature_id, expect_version)
            if str(feature_id) not in set(ids):
                msg = f"要素 {feature_id} 已退役 is retired; use `mzgis revert` to bring back a version"
                raise LayerError(msg)
            merged = active.copy()
            k = int(np.flatnonzero(ids.to_numpy() == str(feature_id))[0])
            for col, val in (changes or {}).items():
                if col not in merged.columns or col in ("feature_id", merged.geometry.name):
                    msg = f"图层 '{name}' 没有可改字段 no editable field '{col}'; fields: {list(merged.columns)}"
                    raise LayerError(msg)
                if pd.api.types.is_numeric_dtype(merged[col]) and val is not None:
                    try:
                        val = float(val)
                    except ValueError as exc:
                        msg = f"字段 {col} 需要数字 needs a number, got {val!r}"
                        raise LayerError(msg) from exc
                merged.loc[k, col] = val
            if geometry is not None:
                merged.loc[k, merged.geometry.name] = geometry
        merged = gpd.GeoDataFrame(merged, geometry=active.geometry.name, crs=STORE_CRS)
        return self.write_layer(name, merged, layer_type=info["layer_type"], user=user, note=note)

    def versions(self, name: str, feature_id: str) -> pd.DataFrame:
        """Every version of a feature: ``version, action, ts, user, attributes, geometry`` (oldest first)."""
        h = self.history(name, feature_id)
        cur = self._current(name, feature_id)
        rows = []
        for r in h.to_dict("records"):
            if isinstance(r["old_attributes"], str):
                rows.append({"version": int(r["version"]) - 1, "attributes": json.loads(r["old_attributes"]),
                             "geometry": r["old_geometry"]})
        attrs = {c: _jsonable(cur[c]) for c in cur.index if c not in ("feature_id", "geometry", *INTERNAL_COLUMNS)}
        rows.append({"version": int(cur["mz_version"]), "attributes": attrs,
                     "geometry": None if cur.geometry is None else shapely.to_wkt(cur.geometry, rounding_precision=-1)})
        out = pd.DataFrame(rows).drop_duplicates("version", keep="last").sort_values("version")
        meta = h.set_index("version")[["action", "ts", "user", "note"]]
        out = out.join(meta, on="version")
        out["retired"] = False
        if not pd.isna(cur["mz_retired_at"]):
            out.loc[out["version"] == int(cur["mz_version"]), "retired"] = True
        return out.reset_index(drop=True)

    def revert(self, name: str, feature_id: str, version: int, *, user: str | None = None,
               expect_version: int | None = None) -> ImportReport:
        """Restore a feature's attributes and geometry as they were at ``version`` (a new version)."""
        cur = self._check_version(name, feature_id, expect_version)
        vs = self.versions(name, feature_id)
        hit = vs[vs["version"] == int(version)]
        if hit.empty:
            msg = f"要素 {feature_id} 没有版本 no version {version}; versions: {vs['version'].tolist()}"
            raise LayerError(msg)
        info = self.layer_info(name) or {}
        attrs = dict(hit["attributes"].iloc[0])
        geom = _decode_geometry(hit["geometry"].iloc[0])
        active = self.read(name)
        others = active[active["feature_id"].astype(str) != str(feature_id)]
        row = {c: attrs.get(c) for c in active.columns if c not in ("feature_id", active.geometry.name)}
        row["feature_id"] = str(feature_id)
        restored = gpd.GeoDataFrame([row], geometry=[geom if geom is not None else cur.geometry], crs=STORE_CRS)
        if active.geometry.name != "geometry":
            restored = restored.rename_geometry(active.geometry.name)
        merged = gpd.GeoDataFrame(pd.concat([others, restored], ignore_index=True), geometry=active.geometry.name,
                                  crs=STORE_CRS)
        return self.write_layer(name, merged, layer_type=str(info.get("layer_type")), user=user,
                                note=f"revert to version {version}")

    def append_records(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to a plain attribute table of the store (created on first use), atomically."""
        if not rows:
            return
        cols = list(rows[0])
        with self.transaction() as tmp:
            con = self._connect(tmp)
            try:
                exists = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
                if not exists:
                    con.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
                                + ", ".join(f'"{c}" TEXT' for c in cols) + ")")
                    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES (?, 'attributes', ?)",
                                (table, table))
                con.executemany(f'INSERT INTO "{table}" (' + ", ".join(f'"{c}"' for c in cols) + ") VALUES ("
                                + ", ".join("?" for _ in cols) + ")",
                                [tuple(None if r.get(c) is None else str(r.get(c)) for c in cols) for r in rows])
                con.commit()
            finally:
                con.close()

    def records(self, table: str) -> pd.DataFrame:
        """A plain attribute table of the store (empty if it does not exist)."""
        con = self._connect()
        try:
            exists = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
            return pd.read_sql_query(f'SELECT * FROM "{table}" ORDER BY id', con) if exists else pd.DataFrame()
        finally:
            con.close()


def _gpkg_geometry_type(gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geometry.geom_type.dropna().unique())
    if not types:
        return "Unknown"
    if types <= {"Point"}:
        return "Point"
    if types <= {"Point", "MultiPoint"}:
        return "MultiPoint" if "MultiPoint" in types else "Point"
    if types <= {"LineString"}:
        return "LineString"
    if types <= {"LineString", "MultiLineString"}:
        return "MultiLineString"
    if types <= {"Polygon"}:
        return "Polygon"
    if types <= {"Polygon", "MultiPolygon"}:
        return "MultiPolygon"
    return "Unknown"


class StaleEditError(StoreError):
    """An edit was made from an out-of-date copy of a feature (its version moved on)."""


def _decode_geometry(wkt: str | None) -> Any:
    return None if wkt is None else shapely.from_wkt(wkt)
