"""The store interface and everything its two back ends share.

A store holds the layers of a workspace, each a feature table with

``fid``            the integer key of the database (GeoPackage ``fid``, PostGIS ``fid``)
``feature_id``     the source's id, as text, unique in the layer (ids are never reused)
attributes         integer / real / boolean / text columns
``mz_version``     1 for a new feature, +1 per change — kept by a database trigger
``mz_updated_at``  time of the last change — kept by the trigger
``mz_retired_at``  set when the feature is retired (features are never deleted)
``geom``           the geometry, EPSG:4326

and three tables of its own: ``mzgis_layers`` (registry), ``mzgis_history`` (one row per
change, written by the triggers — so edits from QGIS or any other client are recorded too),
``mzgis_meta`` (settings).

Every write is one database transaction on the store itself: it takes the writer's lock, reads
what it needs, compares and writes, and commits — or changes nothing. The user and note of a
change reach the triggers through the session (a one-row table in the GeoPackage, ``SET LOCAL``
settings in PostgreSQL); other clients are recorded with their database role or as
``unknown``.

Subclasses provide the dialect: connections and transactions, placeholders, geometry encoding,
table creation and triggers.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import getpass
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from mzgis.errors import DuplicateRecordError, LayerError, StaleEditError, StoreError
from mzgis.layers.crs import STORE_CRS
from mzgis.layers.store.blobs import blob_wkb
from mzgis.layers.store.views import CURRENT_SUFFIX

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["ACCOUNTS_TABLE", "INTERNAL_COLUMNS", "SCHEMA_VERSION", "SESSIONS_TABLE", "ImportReport", "ProjectStore", "current_user",
           "decode_geometry"]

log = logging.getLogger(__name__)

#: Bookkeeping columns every feature table has (kept by the triggers).
INTERNAL_COLUMNS = ("mz_version", "mz_updated_at", "mz_retired_at")
#: Version of the store layout this mzgis writes; a higher one is refused, a lower one upgraded (migrations.py).
SCHEMA_VERSION = 3
#: Columns of ``mzgis_history`` in order.
HISTORY_COLUMNS = ("ts", "user", "layer", "feature_id", "action", "version", "old_attributes",
                   "old_geometry", "new_attributes", "new_geometry", "note")
#: Layer types whose features the place-name staff edit (PostGIS role ``mzgis_placename``).
PLACENAME_TYPES = ("boundary_lines", "boundary_markers", "addresses", "place_names")
#: Plain table of the web app's accounts (password hashes: never granted to the viewer roles).
ACCOUNTS_TABLE = "mzgis_users"
#: web sessions (see :mod:`mzgis.layers.store.sessions`)
SESSIONS_TABLE = "mzgis_web_sessions"

_RESERVED_COLUMNS = {"fid", "feature_id", "geom", "geometry", *INTERNAL_COLUMNS}
_RESERVED_PREFIXES = ("gpkg", "mzgis", "rtree", "sqlite", "pg_", "spatial_ref_sys", "geometry_columns",
                      "geography_columns", "raster_", "topology")
_NAME_RE = re.compile(r"^[^\W\d]\w{0,59}$")
_IN_CHUNK = 500


def current_user() -> str:
    """The user recorded in the history: ``MZGIS_USER`` or the login name."""
    env = os.environ.get("MZGIS_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def now_iso() -> str:
    """The current time, local, ISO 8601 with offset, to the second."""
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _later(current: Any, new: Any) -> bool:
    """True when the date ``current`` is after ``new`` (both dates or ISO text; a missing or
    unreadable one is never later)."""
    a = pd.to_datetime(pd.Series([current, new], dtype=object).astype(str), errors="coerce", format="mixed")
    return bool(pd.notna(a[0]) and pd.notna(a[1]) and a[0] > a[1])


@dataclass
class ImportReport:
    """What one write to the store did."""

    layer: str
    layer_type: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    #: active features of the layer after the write (None for single-feature edits, which do not count)
    total_active: int | None = None
    notes: list[str] = field(default_factory=list)
    #: rows of the source left out (wrong geometry kind), each "row [field]: found — problem → fix"
    skipped: list[str] = field(default_factory=list)
    #: an edit with ``keep_newer`` found a later date in place and left the feature unchanged
    kept_newer: bool = False

    def summary(self) -> str:
        """One line for the user (and one more per skipped row)."""
        line = (
            f"图层 layer '{self.layer}' ({self.layer_type}): 新增 inserted {self.inserted}, "
            f"更新 updated {self.updated}, 未变 unchanged {self.unchanged}, 退役 retired {self.retired}"
            + ("" if self.total_active is None else f"; 现有 active {self.total_active}")
        )
        if not self.skipped:
            return line
        return "\n".join([line + f"; 跳过 skipped {len(self.skipped)}",
                          f"  跳过的行 rows left out ({len(self.skipped)}):", *(f"  - {s}" for s in self.skipped)])


# -- values ---------------------------------------------------------------------------------------

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


def logical_type(s: pd.Series) -> str:
    """The store type of a column: ``integer``, ``real``, ``boolean`` or ``text``."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        return "real"
    if s.dtype == object:
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "integer":
            return "integer"
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            return "real"
        if inferred == "boolean":
            return "boolean"
    return "text"


def _null_mask(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.isna(s), dtype=bool)


def sql_values(s: pd.Series, kind: str) -> list[Any]:
    """A column as the Python values to bind for a store column of ``kind``."""
    null = _null_mask(s)
    if kind in ("integer", "real"):
        num = pd.to_numeric(s.where(~null, np.nan), errors="coerce").to_numpy(dtype=float)
        if kind == "integer":
            out: list[Any] = [None if n else (int(v) if v.is_integer() else float(v))
                              for v, n in zip(num.tolist(), np.isnan(num).tolist(), strict=True)]
            return out
        return [None if n else v for v, n in zip(num.tolist(), np.isnan(num).tolist(), strict=True)]
    if kind == "boolean":
        return [None if n else bool(v) for v, n in zip(s.tolist(), null.tolist(), strict=True)]
    vals = s.tolist()
    return [None if n else (v if isinstance(v, str) else str(_jsonable(v)))
            for v, n in zip(vals, null.tolist(), strict=True)]


def _canonical(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Columns in one comparable form: numbers as float64 (NaN = null), text as str with a null mark."""
    out = {}
    for c, kind in kinds.items():
        s = df[c] if c in df.columns else pd.Series([None] * len(df), index=df.index, dtype=object)
        null = _null_mask(s)
        if kind in ("integer", "real", "boolean"):
            num = pd.to_numeric(s.where(~null, np.nan).astype(object), errors="coerce")
            out[c] = num.astype("float64").to_numpy()
        else:
            txt = np.array([_text(v) for v in s.tolist()], dtype=object)
            txt[null] = "\x00null"
            out[c] = txt
    return pd.DataFrame(out, index=df.index)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else str(_jsonable(v))


def row_hashes(df: pd.DataFrame, kinds: dict[str, str], wkb: Sequence[bytes | None]) -> np.ndarray:
    """One 64-bit hash per row of the attributes (``kinds``) and the geometry's WKB."""
    h = (pd.util.hash_pandas_object(_canonical(df, kinds), index=False).to_numpy()
         if kinds else np.zeros(len(df), dtype=np.uint64))
    g = pd.util.hash_array(np.array([b"" if w is None else bytes(w) for w in wkb], dtype=object))
    return np.asarray(h * np.uint64(31) + g, dtype=np.uint64)


def to_wkb(geoms: Any) -> list[bytes | None]:
    """2-D ISO WKB of each geometry (None for missing)."""
    arr = np.asarray(geoms, dtype=object)
    out = shapely.to_wkb(shapely.force_2d(arr), flavor="iso", output_dimension=2)
    return [None if g is None else bytes(w) for g, w in zip(arr.tolist(), out.tolist(), strict=True)]


def decode_geometry(value: Any) -> Any:
    """A geometry from the history: WKT, hex WKB, or hex GeoPackage blob (None stays None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        b = bytes(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if not re.fullmatch(r"[0-9A-Fa-f]+", text):
            return shapely.from_wkt(text)
        b = bytes.fromhex(text)
    if b[:2] == b"GP":
        return shapely.from_wkb(blob_wkb(b))
    return shapely.from_wkb(b)


def geometry_type(geoms: gpd.GeoSeries) -> str:
    """The type a new layer is declared with (``GEOMETRY`` when mixed)."""
    types = set(geoms.geom_type.dropna().unique())
    for single in ("Point", "LineString", "Polygon"):
        if types and types <= {single}:
            return single.upper()
        if types and types <= {single, f"Multi{single}"}:
            return f"MULTI{single.upper()}"
    return "GEOMETRY"


def promote(geoms: np.ndarray, declared: str) -> np.ndarray:
    """Single geometries made multi where the layer is declared multi."""
    if not declared.startswith("MULTI"):
        return geoms
    out = geoms.copy()
    types = shapely.get_type_id(out)
    single = {"MULTIPOINT": 0, "MULTILINESTRING": 1, "MULTIPOLYGON": 3}[declared]
    idx = np.flatnonzero(types == single)
    if len(idx):
        fn = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}[single]
        out[idx] = [fn([g]) for g in out[idx]]
    return out


def compatible(declared: str, geoms: np.ndarray) -> bool:
    """Whether geometries fit a declared layer type."""
    if declared == "GEOMETRY":
        return True
    ok = {"POINT": {0}, "MULTIPOINT": {0, 4}, "LINESTRING": {1}, "MULTILINESTRING": {1, 5},
          "POLYGON": {3}, "MULTIPOLYGON": {3, 6}}.get(declared, set())
    ids = set(shapely.get_type_id(geoms[pd.notna(geoms)]).tolist())
    return ids <= ok


# -- the interface -------------------------------------------------------------------------------

class ProjectStore(abc.ABC):
    """A workspace's layers with history, in a GeoPackage or a PostGIS database.

    Obtain one with :func:`mzgis.layers.store.open_store` (or ``Workspace.store``).
    """

    #: where the store is, for messages (a path, or a URL without password)
    location: str
    #: placeholder of the dialect
    P = "?"
    #: column of ``mzgis_layers`` that orders layers by creation
    ORDER = "rowid"

    # ---- dialect (subclasses) ----------------------------------------------------------------
    @abc.abstractmethod
    def _read_con(self) -> contextlib.AbstractContextManager[Any]:
        """A connection for reading."""

    @abc.abstractmethod
    def _write_tx(self, user: str, note: str | None, ts: str) -> contextlib.AbstractContextManager[Any]:
        """A connection inside one write transaction, with the session's user and note set."""

    @abc.abstractmethod
    def _geom_param_sql(self) -> str:
        """SQL for a bound geometry value."""

    @abc.abstractmethod
    def _geom_select_sql(self) -> str:
        """SQL that selects the geometry as something :meth:`_decode_geoms` reads."""

    @abc.abstractmethod
    def _encode_geoms(self, geoms: np.ndarray) -> list[Any]:
        """Geometries as bind values."""

    @abc.abstractmethod
    def _decode_geoms(self, values: Sequence[Any]) -> np.ndarray:
        """Geometries from the selected values."""

    @abc.abstractmethod
    def _bounds_sql(self, con: Any, name: str) -> str | None:
        """SQL giving one row ``(min_x, min_y, max_x, max_y)`` of the layer's active features, or
        None when the store cannot answer from an index (the layer is then read)."""

    @abc.abstractmethod
    def _columns(self, con: Any, name: str) -> dict[str, str]:
        """Attribute columns of a feature table with their logical types (table order)."""

    @abc.abstractmethod
    def _table_names(self, con: Any) -> list[str]:
        """Every table name in the store."""

    @abc.abstractmethod
    def _create_layer(self, con: Any, name: str, kinds: dict[str, str], geom_type: str,
                      layer_type: str, *, history: bool = True) -> None:
        """Create an empty feature table with its indexes, metadata and (if ``history``) triggers."""

    @abc.abstractmethod
    def _install_history(self, con: Any, name: str) -> None:
        """(Re)create the history triggers of a feature table."""

    @abc.abstractmethod
    def _add_columns(self, con: Any, name: str, kinds: dict[str, str]) -> None:
        """Add attribute columns (and refresh the triggers that list them)."""

    @abc.abstractmethod
    def _declared_type(self, con: Any, name: str) -> str:
        """The declared geometry type of a layer."""

    @abc.abstractmethod
    def _set_declared_type(self, con: Any, name: str, geom_type: str) -> None:
        """Change the declared geometry type (to ``GEOMETRY`` when a write mixes types)."""

    @abc.abstractmethod
    def _after_write(self, con: Any, name: str, bounds: np.ndarray | None) -> None:
        """Bring metadata up to date (extent, last change) after rows of ``name`` changed."""

    @abc.abstractmethod
    def _lock_layer(self, con: Any, name: str) -> None:
        """Keep other writers of ``name`` out until the transaction ends."""

    @abc.abstractmethod
    def _lock_feature_sql(self) -> str:
        """Suffix of a SELECT that locks the row read (``FOR UPDATE`` or nothing)."""

    @abc.abstractmethod
    def _insert_rows(self, con: Any, name: str, cols: list[str], rows: list[tuple[Any, ...]],
                     bounds: np.ndarray | None = None) -> None:
        """Insert rows (``cols`` then the encoded geometry last); ``bounds`` (n × 4) of their geometries
        when known, so a back end can fill its spatial index in bulk."""

    @abc.abstractmethod
    def _stage_ids(self, con: Any, ids: Sequence[str]) -> str:
        """Put feature ids in a temporary table of this transaction (column ``feature_id``); its name."""

    @abc.abstractmethod
    def _create_records_table(self, con: Any, table: str, cols: list[str]) -> None:
        """Create a plain attribute table of text columns with an ``id`` key."""

    @abc.abstractmethod
    def _add_text_columns(self, con: Any, table: str, cols: list[str]) -> None:
        """Add text columns to a plain table."""

    @abc.abstractmethod
    def _record_columns(self, con: Any, table: str) -> list[str]:
        """Columns of a plain table."""

    # ---- small helpers -------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        """The SQL with ``?`` placeholders in the dialect's style (``%s``: ``?`` inside quoted names or
        strings is kept, every ``%`` doubled)."""
        if self.P == "?":
            return sql
        out, quote = [], ""
        for ch in sql:
            if quote:
                quote = "" if ch == quote else quote
                out.append("%%" if ch == "%" else ch)
            elif ch in "\"'":
                quote = ch
                out.append(ch)
            elif ch == "?":
                out.append(self.P)
            else:
                out.append("%%" if ch == "%" else ch)
        return "".join(out)

    def _exec(self, con: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return con.execute(self._sql(sql), tuple(params))

    def _query(self, con: Any, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        cur = self._exec(con, sql, params)
        rows = cur.fetchall()
        cols = [d[0] for d in cur.description]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame.from_records(rows, columns=cols, coerce_float=False)
        for c in df.columns:
            if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype):
                s = df[c].astype(object)
                null = s.isna().to_numpy()
                if null.any():
                    s[null] = None
                df[c] = s
        return df

    def _one(self, con: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._exec(con, sql, params).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def q(name: str) -> str:
        """A quoted identifier (names are validated before; quotes doubled anyway)."""
        return '"' + name.replace('"', '""') + '"'

    def _missing_layer(self, name: str, con: Any) -> LayerError:
        names = self._layer_names(con)
        msg = (f"没有图层 no layer '{name}' in {self.location}; 现有图层 layers: {names}. "
               "先导入 import it first (`mzgis import`).")
        return LayerError(msg)

    def _layer_names(self, con: Any, layer_type: str | None = None) -> list[str]:
        if layer_type is None:
            df = self._query(con, f"SELECT name FROM mzgis_layers ORDER BY {self.ORDER}")
        else:
            df = self._query(con, f"SELECT name FROM mzgis_layers WHERE layer_type = ? ORDER BY {self.ORDER}",
                             (layer_type,))
        return [str(x) for x in df["name"]]

    def _info(self, con: Any, name: str) -> dict[str, Any] | None:
        df = self._query(con, "SELECT * FROM mzgis_layers WHERE name = ?", (name,))
        return None if df.empty else {str(k): _jsonable(v) for k, v in df.iloc[0].to_dict().items()}

    # ---- reading -------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A value from ``mzgis_meta``."""
        with self._read_con() as con:
            v = self._one(con, "SELECT value FROM mzgis_meta WHERE key = ?", (key,))
        return None if v is None else str(v)

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in ``mzgis_meta`` (one transaction)."""
        with self._write_tx(current_user(), None, now_iso()) as con:
            self._exec(con, "DELETE FROM mzgis_meta WHERE key = ?", (key,))
            self._exec(con, "INSERT INTO mzgis_meta (key, value) VALUES (?, ?)", (key, value))

    def layer_info(self, name: str) -> dict[str, Any] | None:
        """The registry row of a layer, or None."""
        with self._read_con() as con:
            return self._info(con, name)

    def layer_names(self, layer_type: str | None = None) -> list[str]:
        """Names of the layers (optionally of one type), in creation order."""
        with self._read_con() as con:
            return self._layer_names(con, layer_type)

    def layers(self) -> pd.DataFrame:
        """One row per layer: name, type, kind, level, active and retired counts, CRS."""
        with self._read_con() as con:
            reg = self._query(con, "SELECT name, layer_type, kind, level, source, updated_at FROM mzgis_layers "
                                   f"ORDER BY {self.ORDER}")
            active, retired = [], []
            for name in reg["name"]:
                a, r = self._exec(con, f"SELECT SUM(CASE WHEN mz_retired_at IS NULL THEN 1 ELSE 0 END), "
                                       f"SUM(CASE WHEN mz_retired_at IS NULL THEN 0 ELSE 1 END) FROM {self.q(name)}"
                                  ).fetchone()
                active.append(int(a or 0))
                retired.append(int(r or 0))
        reg["features"] = active
        reg["retired"] = retired
        reg["crs"] = STORE_CRS
        return reg

    def _select(self, con: Any, name: str, kinds: dict[str, str], *, where: str = "",
                params: Sequence[Any] = (), internal: bool = True, suffix: str = "") -> pd.DataFrame:
        cols = ["feature_id", *kinds, *(INTERNAL_COLUMNS if internal else ())]
        sql = (f"SELECT {', '.join(self.q(c) for c in cols)}, {self._geom_select_sql()} AS mz_geom "
               f"FROM {self.q(name)}" + (f" WHERE {where}" if where else "") + " ORDER BY fid" + suffix)
        return self._query(con, sql, params)

    def _select_ids(self, con: Any, name: str, kinds: dict[str, str], ids: Sequence[str]) -> pd.DataFrame:
        """Rows of the given feature ids (many ids go through a temporary table and a join)."""
        if len(ids) > 20 * _IN_CHUNK:
            tmp = self._stage_ids(con, ids)
            return self._select(con, name, kinds, where=f"feature_id IN (SELECT feature_id FROM {tmp})")
        parts = []
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[i:i + _IN_CHUNK])
            parts.append(self._select(con, name, kinds, where=f"feature_id IN ({', '.join('?' * len(chunk))})",
                                      params=chunk))
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else self._select(con, name, kinds, where="1 = 0")

    def _frame(self, df: pd.DataFrame, kinds: dict[str, str], *, internal: bool) -> gpd.GeoDataFrame:
        data: dict[str, Any] = {"feature_id": df["feature_id"].astype(str).to_numpy(dtype=object)}
        for c, kind in kinds.items():
            data[c] = _typed(df[c], kind)
        if internal:
            data["mz_version"] = pd.to_numeric(df["mz_version"]).fillna(0).astype("int64").to_numpy()
            for c in ("mz_updated_at", "mz_retired_at"):
                data[c] = df[c].astype(object).where(df[c].notna(), None).to_numpy(dtype=object)
        geoms = self._decode_geoms(df["mz_geom"].tolist())
        import geopandas as gpd  # not at start-up: `mzgis layers` and friends never need it

        return gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.GeoSeries(geoms, crs=STORE_CRS), crs=STORE_CRS)

    def read(self, name: str, *, include_retired: bool = False, internal: bool = False) -> gpd.GeoDataFrame:
        """Read a layer as a GeoDataFrame in EPSG:4326, indexed 0..n-1.

        Parameters
        ----------
        include_retired
            Also return retired features.
        internal
            Keep the ``mz_*`` bookkeeping columns.
        """
        with self._read_con() as con:
            if self._info(con, name) is None:
                raise self._missing_layer(name, con)
            kinds = self._columns(con, name)
            df = self._select(con, name, kinds, where="" if include_retired else "mz_retired_at IS NULL",
                              internal=internal)
        return self._frame(df, kinds, internal=internal)

    def bounds(self, name: str) -> tuple[float, float, float, float] | None:
        """Lon/lat bounds ``(min_x, min_y, max_x, max_y)`` of a layer's active features, or None
        when it has none, computed by the database (the GeoPackage R-tree, PostGIS ``ST_Extent``)
        without reading the features. The GeoPackage R-tree keeps 32-bit floats rounded outwards,
        so its bounds may be wider by about 1e-5 degree."""
        with self._read_con() as con:
            if self._info(con, name) is None:
                raise self._missing_layer(name, con)
            sql = self._bounds_sql(con, name)
            row = None if sql is None else self._exec(con, sql).fetchone()
        if sql is None:
            g = self.read(name)
            if g.empty or g.geometry.is_empty.all():
                return None
            b = g.total_bounds
            return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        if row is None or any(v is None for v in row):
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def feature(self, name: str, feature_id: str) -> pd.Series:
        """One feature (retired or not) with its bookkeeping columns, read by its id."""
        with self._read_con() as con:
            return self._feature(con, name, feature_id)

    def _feature(self, con: Any, name: str, feature_id: str, *, lock: bool = False) -> pd.Series:
        if self._info(con, name) is None:
            raise self._missing_layer(name, con)
        kinds = self._columns(con, name)
        df = self._select(con, name, kinds, where="feature_id = ?", params=(str(feature_id),),
                          suffix=self._lock_feature_sql() if lock else "")
        if df.empty:
            msg = f"图层 '{name}' 中没有要素 no feature '{feature_id}' in layer '{name}' ({self.location})"
            raise LayerError(msg)
        return self._frame(df, kinds, internal=True).iloc[0]

    def history(self, layer: str, feature_id: str | None = None) -> pd.DataFrame:
        """The history rows of a layer (or of one feature), oldest first."""
        cols = "id, ts, \"user\", layer, feature_id, action, version, old_attributes, old_geometry, " \
               "new_attributes, new_geometry, note"
        with self._read_con() as con:
            if feature_id is None:
                df = self._query(con, f"SELECT {cols} FROM mzgis_history WHERE layer = ? ORDER BY id", (layer,))
            else:
                df = self._query(con, f"SELECT {cols} FROM mzgis_history WHERE layer = ? AND feature_id = ? "
                                      "ORDER BY id", (layer, str(feature_id)))
        if len(df):
            df["id"] = df["id"].astype("int64")
            df["version"] = df["version"].astype("int64")
            for c in ("old_geometry", "new_geometry"):
                df[c] = [_wkt(decode_geometry(v)) for v in df[c].tolist()]
        return df

    def history_count(self) -> int:
        """Rows in ``mzgis_history`` (all layers)."""
        with self._read_con() as con:
            return int(self._one(con, "SELECT COUNT(*) FROM mzgis_history") or 0)

    # ---- writing -------------------------------------------------------------------------------
    def _check_name(self, con: Any, name: str) -> None:
        low = name.lower()
        if not _NAME_RE.match(name) or low.startswith(_RESERVED_PREFIXES) or len(name.encode()) > 56:
            msg = (f"图层名无效 invalid layer name '{name}': 用字母、数字和下划线 use letters, digits and _ "
                   "(不以数字开头 not starting with a digit; 不以 not starting with gpkg/mzgis/rtree/sqlite/pg_; "
                   "至多 at most 56 bytes), "
                   "e.g. --layer stations_2024")
            raise LayerError(msg)
        tables = self._table_names(con)
        if low.endswith(CURRENT_SUFFIX) and name not in tables:
            msg = (f"图层名 '{name}' 以 {CURRENT_SUFFIX} 结尾 ends with {CURRENT_SUFFIX}: 这是现状视图的名字 that is the name "
                   f"of the view of a layer's current features; 换一个名字 choose another --layer name, "
                   f"e.g. {name[: -len(CURRENT_SUFFIX)]}_now")
            raise LayerError(msg)
        clash = [t for t in tables if t.lower() == low and t != name]
        if clash:
            msg = (f"图层名 '{name}' 与已有的表 '{clash[0]}' 只差大小写 differs only by case from the existing "
                   f"table '{clash[0]}' in {self.location}; 数据库不区分大小写 names are case-insensitive there. "
                   f"换一个名字 choose another --layer name (or use '{clash[0]}' to update it).")
            raise LayerError(msg)

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
        keep_ids: Sequence[str] = (),
        user: str | None = None,
        note: str | None = None,
    ) -> ImportReport:
        """Insert or update the features of a layer in one transaction.

        Features are matched on ``feature_id``: new ids are inserted, changed ones updated (the
        triggers record the old version), unchanged ones left alone. Ids missing from ``gdf`` are
        retired if ``retire_missing``; otherwise they stay. Only the ids in ``gdf`` are read, so the
        cost follows the size of ``gdf``, not of the layer (except with ``retire_missing``, which
        reads the ids of the layer). ``keep_ids`` are not retired either (features the source holds
        but the import left out).
        """
        _check_reserved_columns(gdf)
        user = user or current_user()
        ts = now_iso()
        new, ids, attr_cols = _checked_features(name, gdf)
        geoms = np.asarray(new.geometry.values, dtype=object)
        report = ImportReport(name, layer_type)
        with self._write_tx(user, note, ts) as con:
            self._lock_layer(con, name)
            info = self._info(con, name)
            if info is None:
                table_kinds, declared = self._register_layer(con, name, new, attr_cols, layer_type=layer_type,
                                                             kind=kind, level=level, source=source,
                                                             source_coords=source_coords, ts=ts, user=user)
            else:
                new, attr_cols, table_kinds, declared = self._update_layer_meta(
                    con, name, info, new, attr_cols, layer_type=layer_type, source=source, ts=ts, user=user)
            if not compatible(declared, geoms):
                declared = "GEOMETRY"
                self._set_declared_type(con, name, declared)
            geoms = promote(geoms, declared)
            kinds = {c: table_kinds[c] for c in attr_cols}
            self._merge(con, name, new, ids, geoms, kinds, info is None, retire_missing, ts, report,
                        keep=[str(k) for k in keep_ids])
            report.total_active = int(self._one(con, f"SELECT COUNT(*) FROM {self.q(name)} "
                                                     "WHERE mz_retired_at IS NULL") or 0)
        return report

    def _register_layer(self, con: Any, name: str, new: gpd.GeoDataFrame, attr_cols: list[str], *,
                        layer_type: str, kind: str | None, level: str | None, source: str | None,
                        source_coords: str | None, ts: str, user: str) -> tuple[dict[str, str], str]:
        """Create a new layer's table and catalogue row (the first-write path of :meth:`write_layer`);
        returns its column kinds and declared geometry type."""
        self._check_name(con, name)
        kinds = {c: logical_type(new[c]) for c in attr_cols}
        declared = geometry_type(new.geometry)
        self._create_layer(con, name, kinds, declared, layer_type)
        self._exec(con, "INSERT INTO mzgis_layers (name, layer_type, kind, level, source, source_coords, "
                        "created_at, updated_at, \"user\", description) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (name, layer_type, kind, level, source, source_coords, ts, ts, user, None))
        return kinds, declared

    def _update_layer_meta(self, con: Any, name: str, info: dict[str, Any], new: gpd.GeoDataFrame, attr_cols: list[str], *,
                           layer_type: str, source: str | None, ts: str, user: str,
                           ) -> tuple[gpd.GeoDataFrame, list[str], dict[str, str], str]:
        """Fit an existing layer and the incoming columns to each other (type check, case-only
        renames, added columns, catalogue row) before :meth:`write_layer` merges the features."""
        if info["layer_type"] != layer_type:
            msg = (f"图层 '{name}' 已存在且类型为 already exists as {info['layer_type']}, "
                   f"not {layer_type}; choose another --layer name.")
            raise LayerError(msg)
        table_kinds = self._columns(con, name)
        by_lower = {c.lower(): c for c in table_kinds}
        rename = {c: by_lower[c.lower()] for c in attr_cols if c.lower() in by_lower and by_lower[c.lower()] != c}
        if rename:
            new = new.rename(columns=rename)
            attr_cols = [rename.get(c, c) for c in attr_cols]
        added = {c: logical_type(new[c]) for c in attr_cols if c not in table_kinds}
        if added:
            self._add_columns(con, name, added)
            table_kinds = {**table_kinds, **added}
        self._exec(con, "UPDATE mzgis_layers SET updated_at = ?, \"user\" = ?, source = COALESCE(?, source) "
                        "WHERE name = ?", (ts, user, source, name))
        declared = self._declared_type(con, name)
        return new, attr_cols, table_kinds, declared

    def _merge(self, con: Any, name: str, new: pd.DataFrame, ids: pd.Series, geoms: np.ndarray,
               kinds: dict[str, str], fresh: bool, retire_missing: bool, ts: str, report: ImportReport,
               keep: Sequence[str] = ()) -> None:
        new_wkb = to_wkb(geoms)
        if fresh:
            insert = np.ones(len(new), dtype=bool)
            upd_idx = np.array([], dtype=int)
        else:
            old = self._select_ids(con, name, kinds, ids.tolist())
            old_ids = pd.Index(old["feature_id"].astype(str))
            pos = old_ids.get_indexer(pd.Index(ids))
            insert = pos < 0
            match = np.flatnonzero(~insert)
            if len(match):
                o = old.iloc[pos[match]].reset_index(drop=True)
                old_wkb = to_wkb(self._decode_geoms(o["mz_geom"].tolist()))
                h_old = row_hashes(o, kinds, old_wkb)
                h_new = row_hashes(new.iloc[match].reset_index(drop=True), kinds, [new_wkb[i] for i in match])
                changed = (h_old != h_new) | o["mz_retired_at"].notna().to_numpy()
                upd_idx = match[changed]
                report.unchanged = int((~changed).sum())
            else:
                upd_idx = np.array([], dtype=int)
        cols = list(kinds)
        values = {c: sql_values(new[c], k) for c, k in kinds.items()}
        enc = self._encode_geoms(geoms)
        ins_idx = np.flatnonzero(insert)
        id_list = ids.tolist()
        if len(ins_idx):
            rows = [(id_list[i], *(values[c][i] for c in cols), 1, ts, None, enc[i]) for i in ins_idx.tolist()]
            self._insert_rows(con, name, ["feature_id", *cols, *INTERNAL_COLUMNS], rows,
                              bounds=shapely.bounds(geoms[ins_idx]))
            report.inserted = len(rows)
        if len(upd_idx):
            sets = ", ".join([*(f"{self.q(c)} = ?" for c in cols), f"geom = {self._geom_param_sql()}",
                              "mz_retired_at = NULL"])
            rows = [(*(values[c][i] for c in cols), enc[i], id_list[i]) for i in upd_idx.tolist()]
            con.executemany(self._sql(f"UPDATE {self.q(name)} SET {sets} WHERE feature_id = ?"), rows)
            report.updated = len(rows)
        if retire_missing and not fresh:
            tmp = self._stage_ids(con, [*id_list, *keep])
            cur = self._exec(con, f"UPDATE {self.q(name)} SET mz_retired_at = ? WHERE mz_retired_at IS NULL "
                                  f"AND feature_id NOT IN (SELECT feature_id FROM {tmp})", (ts,))
            report.retired = int(cur.rowcount)
        touched = np.concatenate([ins_idx, upd_idx]).astype(int)
        bounds = shapely.bounds(geoms[touched]) if len(touched) else None
        self._after_write(con, name, bounds)

    def retire(self, name: str, feature_ids: Sequence[str], *, user: str | None = None,
               note: str | None = None, expect_version: int | None = None) -> ImportReport:
        """Retire features (they stay in the store, marked, with a history row)."""
        ids = [str(f) for f in feature_ids]
        with self._write_tx(user or current_user(), note, now_iso()) as con:
            info = self._info(con, name)
            if info is None:
                raise self._missing_layer(name, con)
            report = ImportReport(name, str(info["layer_type"]))
            ts = now_iso()
            for fid in ids:
                row = self._feature(con, name, fid, lock=True)
                self._stale(con, name, fid, row, expect_version)
                if row["mz_retired_at"] is not None:
                    msg = f"图层 '{name}' 中没有这些在用要素 no active features with ids ['{fid}'] (已退役 already retired)"
                    raise LayerError(msg)
                self._exec(con, f"UPDATE {self.q(name)} SET mz_retired_at = ? WHERE feature_id = ?", (ts, fid))
                report.retired += 1
            self._after_write(con, name, None)
        return report

    # ---- single features -------------------------------------------------------------------------
    def _stale(self, con: Any, name: str, feature_id: str, row: pd.Series, expect_version: int | None) -> None:
        if expect_version is None or int(row["mz_version"]) == int(expect_version):
            return
        last = self._query(con, "SELECT ts, \"user\" FROM mzgis_history WHERE layer = ? AND feature_id = ? "
                                "ORDER BY id DESC LIMIT 1", (name, str(feature_id)))
        who = f" by {last['user'].iloc[0]} at {last['ts'].iloc[0]}" if len(last) else ""
        msg = (f"要素 {feature_id} 已被修改 feature {feature_id} of '{name}' is at version {int(row['mz_version'])}"
               f"{who}, not {expect_version}: your copy is stale. 重新读取后再修改 re-read it and apply your "
               "change again; nothing was written.")
        raise StaleEditError(msg)

    def _check_version(self, name: str, feature_id: str, expect_version: int | None) -> pd.Series:
        """The feature, after checking (without a lock) that it is at ``expect_version``."""
        with self._read_con() as con:
            row = self._feature(con, name, feature_id)
            self._stale(con, name, feature_id, row, expect_version)
        return row

    def _coerce(self, name: str, kinds: dict[str, str], changes: dict[str, Any]) -> dict[str, Any]:
        out = {}
        by_lower = {c.lower(): c for c in kinds}
        for col, val in changes.items():
            c = by_lower.get(str(col).lower())
            if c is None:
                msg = (f"图层 '{name}' 没有可改字段 no editable field '{col}'; "
                       f"fields: {['feature_id', *kinds]} (feature_id 不可改 cannot change)")
                raise LayerError(msg)
            kind = kinds[c]
            if val is not None and kind in ("integer", "real"):
                try:
                    num = float(val)
                except (TypeError, ValueError) as exc:
                    msg = f"字段 {c} 需要数字 needs a number, got {val!r}"
                    raise LayerError(msg) from exc
                val = int(num) if kind == "integer" and num.is_integer() else num
            elif val is not None and kind == "boolean":
                text = str(val).strip().lower()
                if text not in ("1", "0", "true", "false", "yes", "no", "是", "否"):
                    msg = f"字段 {c} 需要 是/否 needs true/false, got {val!r}"
                    raise LayerError(msg)
                val = text in ("1", "true", "yes", "是")
            elif val is not None:
                val = _text(val)
            out[c] = val
        return out

    def edit_feature(self, name: str, feature_id: str, *, changes: dict[str, Any] | None = None,
                     geometry: Any = None, expect_version: int | None = None, user: str | None = None,
                     note: str | None = None, add: bool = False,
                     records: dict[str, list[dict[str, Any]]] | None = None,
                     unique_record: tuple[str, str, str] | None = None,
                     keep_newer: str | None = None) -> ImportReport:
        """Add a feature (``add=True``) or update one's attributes and/or geometry, with history.

        One transaction that reads and writes this one row: the version check (``expect_version``)
        and the write cannot be separated by another writer. ``records`` (table → rows) are
        appended to plain tables in the same transaction (an inspection and its marker's new
        condition are written together or not at all). ``unique_record`` = (table, column, value):
        when ``table`` already holds a row whose ``column`` is ``value`` (a record sent twice),
        :class:`~mzgis.errors.DuplicateRecordError` (with the stored row) is raised and nothing is written; the check
        holds ``table``'s lock, so two writers of the same key cannot both pass it.
        ``keep_newer`` (a date column in ``changes``): when the feature already holds a later date
        there (an older observation arriving late, e.g. an inspection queued offline), the feature
        is left as it is — the check is made on the locked row — while ``records`` are still
        appended; the report's ``kept_newer`` says so.
        """
        fid = str(feature_id)
        with self._write_tx(user or current_user(), note, now_iso()) as con:
            if unique_record is not None:
                self._check_unique(con, *unique_record)
            info = self._info(con, name)
            if info is None:
                raise self._missing_layer(name, con)
            report = ImportReport(name, str(info["layer_type"]))
            kinds = self._columns(con, name)
            vals = self._coerce(name, kinds, changes or {})
            declared = self._declared_type(con, name)
            if geometry is not None:
                g = np.array([geometry], dtype=object)
                if not compatible(declared, g):
                    msg = (f"几何类型不符 geometry type {geometry.geom_type} does not fit layer '{name}' "
                           f"({declared})")
                    raise LayerError(msg)
                geometry = promote(g, declared)[0]
            if add:
                exists = self._one(con, f"SELECT COUNT(*) FROM {self.q(name)} WHERE feature_id = ?", (fid,))
                if exists:
                    msg = f"编号已存在 feature id '{fid}' already exists in '{name}' (ids are never reused)"
                    raise LayerError(msg)
                if geometry is None:
                    msg = "新要素需要几何 a new feature needs a geometry (--lonlat X,Y or --wkt)"
                    raise LayerError(msg)
                cols = list(vals)
                self._insert_rows(con, name, ["feature_id", *cols, *INTERNAL_COLUMNS],
                                  [(fid, *vals.values(), 1, now_iso(), None,
                                    self._encode_geoms(np.array([geometry], dtype=object))[0])])
                report.inserted = 1
            else:
                row = self._feature(con, name, fid, lock=True)
                self._stale(con, name, fid, row, expect_version)
                if row["mz_retired_at"] is not None:
                    msg = f"要素 {fid} 已退役 is retired; 用 use `mzgis revert` to bring back a version"
                    raise LayerError(msg)
                if keep_newer is not None and keep_newer in vals and _later(row.get(keep_newer), vals[keep_newer]):
                    vals, geometry = {}, None
                    report.kept_newer = True
                sets = [f"{self.q(c)} = ?" for c in vals]
                params: list[Any] = list(vals.values())
                if geometry is not None:
                    sets.append(f"geom = {self._geom_param_sql()}")
                    params.append(self._encode_geoms(np.array([geometry], dtype=object))[0])
                if sets:
                    self._exec(con, f"UPDATE {self.q(name)} SET {', '.join(sets)} WHERE feature_id = ?",
                               (*params, fid))
                    after = int(self._one(con, f"SELECT mz_version FROM {self.q(name)} WHERE feature_id = ?", (fid,)))
                    report.updated = int(after != int(row["mz_version"]))
                report.unchanged = 1 - report.updated
            if geometry is not None:
                self._after_write(con, name, shapely.bounds(np.array([geometry], dtype=object)))
            for table, rows in (records or {}).items():
                self._append(con, table, rows)
        return report

    def _lock_records(self, con: Any, table: str) -> None:
        """Keep other writers that check keys of ``table`` out until the transaction ends."""
        self._lock_layer(con, table)

    def _check_unique(self, con: Any, table: str, column: str, value: str) -> None:
        self._check_table(table)
        self._check_table(column)
        self._lock_records(con, table)
        if table not in self._table_names(con) or column not in self._record_columns(con, table):
            return
        held = self._query(con, f"SELECT * FROM {self.q(table)} WHERE {self.q(column)} = ? ORDER BY id LIMIT 1",
                           (str(value),))
        if len(held):  # the stored row goes with the error: the caller tells a resend from a conflict
            msg = f"记录已存在 {table}.{column} = {value!r} is already stored; 未重复写入 nothing written again"
            raise DuplicateRecordError(msg, held.iloc[0].to_dict())

    def _versions(self, con: Any, name: str, feature_id: str, cur: pd.Series) -> pd.DataFrame:
        h = self._query(con, "SELECT id, ts, \"user\", action, version, old_attributes, old_geometry, note "
                             "FROM mzgis_history WHERE layer = ? AND feature_id = ? ORDER BY id",
                        (name, str(feature_id)))
        rows = []
        for r in h.to_dict("records"):
            if isinstance(r["old_attributes"], str):
                g = decode_geometry(r["old_geometry"])
                rows.append({"version": int(r["version"]) - 1, "attributes": json.loads(r["old_attributes"]),
                             "geometry": None if g is None else shapely.to_wkt(g, rounding_precision=-1)})
        attrs = {c: _jsonable(cur[c]) for c in cur.index if c not in ("feature_id", "geometry", *INTERNAL_COLUMNS)}
        rows.append({"version": int(cur["mz_version"]), "attributes": attrs,
                     "geometry": None if cur.geometry is None else shapely.to_wkt(cur.geometry, rounding_precision=-1)})
        out = pd.DataFrame(rows).drop_duplicates("version", keep="last").sort_values("version")
        if len(h):
            h["version"] = h["version"].astype("int64")
            meta = h.drop_duplicates("version", keep="last").set_index("version")[["action", "ts", "user", "note"]]
            out = out.join(meta, on="version")
        else:
            out = out.assign(action=None, ts=None, user=None, note=None)
        out["retired"] = False
        if cur["mz_retired_at"] is not None:
            out.loc[out["version"] == int(cur["mz_version"]), "retired"] = True
        return out.reset_index(drop=True)

    def versions(self, name: str, feature_id: str) -> pd.DataFrame:
        """Every version of a feature: ``version, action, ts, user, attributes, geometry`` (oldest first)."""
        with self._read_con() as con:
            cur = self._feature(con, name, feature_id)
            return self._versions(con, name, feature_id, cur)

    def revert(self, name: str, feature_id: str, version: int, *, user: str | None = None,
               expect_version: int | None = None) -> ImportReport:
        """Restore a feature's attributes and geometry as they were at ``version`` (a new version)."""
        fid = str(feature_id)
        with self._write_tx(user or current_user(), f"revert to version {version}", now_iso()) as con:
            info = self._info(con, name) or {}
            cur = self._feature(con, name, fid, lock=True)
            self._stale(con, name, fid, cur, expect_version)
            vs = self._versions(con, name, fid, cur)
            hit = vs[vs["version"] == int(version)]
            if hit.empty:
                msg = f"要素 {fid} 没有版本 no version {version}; versions: {vs['version'].tolist()}"
                raise LayerError(msg)
            kinds = self._columns(con, name)
            attrs = dict(hit["attributes"].iloc[0])
            vals = {c: attrs.get(c) for c in kinds}
            geom = decode_geometry(hit["geometry"].iloc[0])
            sets = [f"{self.q(c)} = ?" for c in vals] + ["mz_retired_at = NULL"]
            params: list[Any] = list(vals.values())
            if geom is not None:
                sets.append(f"geom = {self._geom_param_sql()}")
                params.append(self._encode_geoms(np.array([geom], dtype=object))[0])
            self._exec(con, f"UPDATE {self.q(name)} SET {', '.join(sets)} WHERE feature_id = ?", (*params, fid))
            after = int(self._one(con, f"SELECT mz_version FROM {self.q(name)} WHERE feature_id = ?", (fid,)))
            report = ImportReport(name, str(info.get("layer_type")))
            report.updated = int(after != int(cur["mz_version"]))
            report.unchanged = 1 - report.updated
            if geom is not None:
                self._after_write(con, name, shapely.bounds(np.array([geom], dtype=object)))
        return report

    # ---- plain tables ---------------------------------------------------------------------------
    def _check_table(self, table: str) -> None:
        if not _NAME_RE.match(table):
            msg = f"表名无效 invalid table name '{table}'"
            raise StoreError(msg)

    def append_records(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append rows to a plain attribute table of the store (created on first use), in one transaction."""
        if not rows:
            return
        with self._write_tx(current_user(), None, now_iso()) as con:
            self._append(con, table, rows)

    def _append(self, con: Any, table: str, rows: list[dict[str, Any]]) -> None:
        self._check_table(table)
        cols = list(dict.fromkeys(str(k) for r in rows for k in r))
        for c in cols:
            self._check_table(c)
        if rows:
            if table not in self._table_names(con):
                self._create_records_table(con, table, cols)
            else:
                have = self._record_columns(con, table)
                missing = [c for c in cols if c not in have]
                if missing:
                    self._add_text_columns(con, table, missing)
            con.executemany(self._sql(f"INSERT INTO {self.q(table)} (" + ", ".join(self.q(c) for c in cols)
                                      + ") VALUES (" + ", ".join("?" for _ in cols) + ")"),
                            [tuple(None if r.get(c) is None else str(r.get(c)) for c in cols) for r in rows])

    def records(self, table: str) -> pd.DataFrame:
        """A plain attribute table of the store (empty if it does not exist)."""
        self._check_table(table)
        with self._read_con() as con:
            if table not in self._table_names(con):
                return pd.DataFrame()
            df = self._query(con, f"SELECT * FROM {self.q(table)} ORDER BY id")
        if len(df):
            df["id"] = df["id"].astype("int64")
        return df

    # ---- accounts (``mzgis serve``) ---------------------------------------------------------------
    def account(self, login: str) -> dict[str, Any] | None:
        """The current state of a web account (its latest row in ``mzgis_users``), or None.

        ``mzgis_users`` is append-only: every change of an account (added, password, role,
        disabled) is a new row with who made it and when, so the table is its own audit trail
        and works alike on both back ends (a team on PostGIS shares its accounts with its data).
        """
        self._check_table(ACCOUNTS_TABLE)
        with self._read_con() as con:
            if ACCOUNTS_TABLE not in self._table_names(con):
                return None
            df = self._query(con, f"SELECT * FROM {self.q(ACCOUNTS_TABLE)} WHERE login = ? ORDER BY id DESC LIMIT 1",
                             (str(login),))
        return None if df.empty else {str(k): _jsonable(v) for k, v in df.iloc[0].to_dict().items()}

    def accounts(self) -> pd.DataFrame:
        """The current state of every web account, one row per login (sorted by login)."""
        df = self.records(ACCOUNTS_TABLE)
        if df.empty:
            return df
        return df.sort_values("id").drop_duplicates("login", keep="last").sort_values("login").reset_index(drop=True)

    def put_account(self, login: str, *, by: str, create: bool = False, **fields: str) -> dict[str, Any]:
        """Change a web account (or add it, ``create=True``) in one transaction: the new state is
        the latest row with ``fields`` replaced. Refuses to add an existing login or change a
        missing one. Returns the new state."""
        login = str(login)
        with self._write_tx(by, f"account {login}", now_iso()) as con:
            self._lock_layer(con, ACCOUNTS_TABLE)
            cur = None
            if ACCOUNTS_TABLE in self._table_names(con):
                df = self._query(con, f"SELECT * FROM {self.q(ACCOUNTS_TABLE)} WHERE login = ? "
                                      "ORDER BY id DESC LIMIT 1", (login,))
                cur = None if df.empty else {str(k): _jsonable(v) for k, v in df.iloc[0].to_dict().items()}
            if create and cur is not None:
                msg = f"账号已存在 account '{login}' already exists; 改密码用 use `mzgis users WS passwd {login}`"
                raise StoreError(msg)
            if not create and cur is None:
                msg = f"没有账号 no account '{login}'; 先添加 add it with `mzgis users WS add {login} --role ROLE`"
                raise StoreError(msg)
            row = {k: v for k, v in (cur or {}).items() if k != "id"}
            row.update({k: str(v) for k, v in fields.items()})
            row.update({"login": login, "changed_at": now_iso(), "changed_by": by})
            self._append(con, ACCOUNTS_TABLE, [row])
        return row

    # ---- whole-store views (tests, copy) -----------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        """Every feature table, the history, the registry and the settings, in a comparable form.

        Two stores (or one store before and after a failed write) hold the same data when their
        dumps are equal.
        """
        out: dict[str, Any] = {}
        with self._read_con() as con:
            for t in ("mzgis_layers", "mzgis_meta"):
                df = self._query(con, f"SELECT * FROM {t}")
                df = df[[c for c in df.columns if c not in ("seq", "id")]]
                out[t] = sorted(tuple(str(v) for v in r) for r in df.itertuples(index=False))
            h = self._query(con, "SELECT " + ", ".join(self.q(c) for c in HISTORY_COLUMNS) + " FROM mzgis_history "
                                 "ORDER BY id")
            out["mzgis_history"] = [tuple(_norm_hist(c, v) for c, v in zip(HISTORY_COLUMNS, r, strict=True))
                                    for r in h.itertuples(index=False)]
            for name in self._layer_names(con):
                kinds = self._columns(con, name)
                df = self._select(con, name, kinds)
                wkb = [None if w is None else w.hex() for w in to_wkb(self._decode_geoms(df["mz_geom"].tolist()))]
                body = _canonical(df, kinds)
                out[f"layer:{name}"] = {
                    "columns": kinds,
                    "rows": [(str(f), *(_cell(v) for v in b), int(v), str(u), None if r is None else str(r), w)
                             for f, b, v, u, r, w in zip(df["feature_id"], body.itertuples(index=False),
                                                         df["mz_version"], df["mz_updated_at"], df["mz_retired_at"],
                                                         wkb, strict=True)],
                }
        return out


def _wkt(g: Any) -> str | None:
    return None if g is None else shapely.to_wkt(g, rounding_precision=-1)


def _cell(v: Any) -> Any:
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _norm_hist(col: str, v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if col in ("old_attributes", "new_attributes"):
        return json.dumps(json.loads(v), sort_keys=True, ensure_ascii=False)
    if col in ("old_geometry", "new_geometry"):
        g = decode_geometry(v)
        return None if g is None else to_wkb(np.array([g], dtype=object))[0]
    if col == "version":
        return int(v)
    return str(v)


def _typed(s: pd.Series, kind: str) -> Any:
    null = _null_mask(s)
    if kind == "real":
        return pd.to_numeric(s.where(~null, np.nan).astype(object), errors="coerce").astype("float64").to_numpy()
    if kind == "integer":
        num = pd.to_numeric(s.where(~null, np.nan).astype(object), errors="coerce")
        return num.astype("float64").to_numpy() if null.any() or (num % 1 != 0).any() else num.astype("int64").to_numpy()
    if kind == "boolean":
        if null.any():
            return np.array([None if n else bool(v) for v, n in zip(s.tolist(), null.tolist(), strict=True)], dtype=object)
        return s.astype(bool).to_numpy()
    return np.array([None if n else _text(v) for v, n in zip(s.tolist(), null.tolist(), strict=True)], dtype=object)


def _check_reserved_columns(gdf: gpd.GeoDataFrame) -> None:
    """The column checks of :meth:`ProjectStore.write_layer` that come before any reprojection."""
    if "feature_id" not in gdf.columns:
        msg = "internal: a layer needs a feature_id column"
        raise LayerError(msg)
    gname = gdf.geometry.name
    clash = [c for c in gdf.columns if c != gname and str(c).lower() in _RESERVED_COLUMNS - {"feature_id"}]
    if clash:
        msg = f"列名 {clash} 为 mzgis 保留 are reserved by mzgis; rename them in the source."
        raise LayerError(msg)


def _checked_features(name: str, gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.Series, list[str]]:
    """The features in the store CRS, their ids and attribute columns, checked (unique ids, usable
    column names) before :meth:`ProjectStore.write_layer` opens a transaction."""
    gname = gdf.geometry.name
    new = gdf.to_crs(STORE_CRS) if gdf.crs is not None and gdf.crs != STORE_CRS else gdf
    new = new.reset_index(drop=True)
    ids = new["feature_id"].astype(str)
    if not ids.is_unique:
        dup = ids[ids.duplicated()].iloc[0]
        msg = f"图层 '{name}' 的编号重复 duplicate feature id '{dup}'; ids must be unique"
        raise LayerError(msg)
    attr_cols = [str(c) for c in new.columns if c not in ("feature_id", gname)]
    bad = [c for c in attr_cols if '"' in c or any(ord(ch) < 32 for ch in c) or not c.strip()]
    if bad:
        msg = (f"列名无效 invalid column names {bad}: 不能含双引号或控制字符 no double quotes, control characters "
               "or empty names; rename them in the source (or --map FIELD=COLUMN).")
        raise LayerError(msg)
    long = [c for c in attr_cols if len(c.encode()) > 63]
    if long:
        msg = f"列名太长 column names longer than 63 bytes: {long}; 请缩短 shorten them (--map FIELD=COLUMN)."
        raise LayerError(msg)
    lowered = [c.lower() for c in attr_cols]
    if len(set(lowered)) != len(lowered):
        msg = f"列名只差大小写 column names differ only by case: {attr_cols}; rename one in the source."
        raise LayerError(msg)
    return new, ids, attr_cols
