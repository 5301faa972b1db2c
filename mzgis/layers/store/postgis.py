"""The shared back end: PostgreSQL + PostGIS, for a team editing at once.

* Every write is one PostgreSQL transaction (psycopg 3). A single-feature edit locks its row
  (``SELECT … FOR UPDATE``), so edits of different features run side by side and an edit of the
  same feature waits, then sees the new version (and is refused if ``--expect-version`` is stale).
  An import locks its layer (``LOCK TABLE … SHARE ROW EXCLUSIVE``) from the read to the commit.
* History comes from one PL/pgSQL trigger function on every feature table (``SECURITY
  DEFINER``, so roles cannot write the history themselves): it bumps ``mz_version``, records the
  old attributes (``to_jsonb``) and geometry, and turns a DELETE into a retirement. The user is
  ``SET LOCAL mzgis.user`` for mzgis, the login role for any other client (QGIS, psql).
* Roles, enforced by the database: ``mzgis_viewer`` reads; ``mzgis_planner`` imports, runs
  analyses and edits anything; ``mzgis_placename`` reads everything and edits only boundary
  lines, boundary markers, addresses and place names (and records inspections). Grant a login
  role one of them: ``GRANT mzgis_placename TO zhangsan``.
* Tables live in the schema the connection uses (``public`` unless the URL sets
  ``options=-csearch_path=…``); one workspace per database or schema.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely

from mzgis.errors import StoreError
from mzgis.layers.store.base import (
    ACCOUNTS_TABLE,
    PLACENAME_TYPES,
    SCHEMA_VERSION,
    SESSIONS_TABLE,
    ProjectStore,
    now_iso,
)
from mzgis.layers.store.migrations import BASELINE, stored_version, upgrade
from mzgis.layers.store.styles import pg_ensure_style
from mzgis.layers.store.views import pg_drop_view, pg_ensure_view, pg_refresh_view

__all__ = ["ROLES", "PostgisStore", "safe_url"]

#: The group roles of a shared store.
ROLES = ("mzgis_viewer", "mzgis_planner", "mzgis_placename")
_SQL_TYPES = {"integer": "bigint", "real": "double precision", "boolean": "boolean", "text": "text"}
_LOGICAL = {"bigint": "integer", "integer": "integer", "smallint": "integer", "double precision": "real",
            "real": "real", "numeric": "real", "boolean": "boolean", "text": "text", "character varying": "text",
            "character": "text", "date": "text", "timestamp without time zone": "text",
            "timestamp with time zone": "text"}
_PG_GEOM = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
            "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon",
            "GEOMETRY": "Geometry"}

_TRIGGER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION mzgis_feature_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $f$
DECLARE
  u text := COALESCE(NULLIF(current_setting('mzgis.user', true), ''), session_user::text);
  n text := NULLIF(current_setting('mzgis.note', true), '');
  t text := COALESCE(NULLIF(current_setting('mzgis.ts', true), ''),
                     to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
  skip text[] := ARRAY['fid', 'geom', 'feature_id', 'mz_version', 'mz_updated_at', 'mz_retired_at'];
  o jsonb;
  nw jsonb;
  act text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.feature_id IS NULL THEN
      RAISE EXCEPTION 'mzgis: feature_id 编号必填 is required';
    END IF;
    NEW.mz_version := 1;
    NEW.mz_updated_at := t;
    INSERT INTO mzgis_history (ts, "user", layer, feature_id, action, version, note)
      VALUES (t, u, TG_TABLE_NAME, NEW.feature_id, 'insert', 1, n);
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.feature_id IS DISTINCT FROM OLD.feature_id THEN
      RAISE EXCEPTION 'mzgis: feature_id 编号不能修改 cannot be changed; add a new feature instead';
    END IF;
    o := to_jsonb(OLD) - skip;
    nw := to_jsonb(NEW) - skip;
    IF o = nw AND ST_AsBinary(NEW.geom) IS NOT DISTINCT FROM ST_AsBinary(OLD.geom)
       AND NEW.mz_retired_at IS NOT DISTINCT FROM OLD.mz_retired_at THEN
      NEW.mz_version := OLD.mz_version;
      NEW.mz_updated_at := OLD.mz_updated_at;
      RETURN NEW;
    END IF;
    act := CASE WHEN NEW.mz_retired_at IS NOT NULL AND OLD.mz_retired_at IS NULL THEN 'retire' ELSE 'update' END;
    NEW.mz_version := COALESCE(OLD.mz_version, 0) + 1;
    NEW.mz_updated_at := t;
    INSERT INTO mzgis_history (ts, "user", layer, feature_id, action, version, old_attributes, old_geometry,
                               new_attributes, new_geometry, note)
      VALUES (t, u, TG_TABLE_NAME, NEW.feature_id, act, NEW.mz_version, o::text,
              encode(ST_AsBinary(OLD.geom), 'hex'), CASE WHEN act = 'retire' THEN NULL ELSE nw::text END,
              NULL, n);
    RETURN NEW;
  END IF;
  -- DELETE: features are retired, never deleted
  EXECUTE format('UPDATE %I.%I SET mz_retired_at = $1 WHERE fid = $2 AND mz_retired_at IS NULL',
                 TG_TABLE_SCHEMA, TG_TABLE_NAME) USING t, OLD.fid;
  RETURN NULL;
END
$f$;
"""

_INIT = """
CREATE TABLE mzgis_meta (key text PRIMARY KEY, value text);
CREATE TABLE mzgis_layers (
  seq bigserial, name text PRIMARY KEY, layer_type text NOT NULL, kind text, level text, source text,
  source_coords text, created_at text, updated_at text, "user" text, description text);
CREATE TABLE mzgis_history (
  id bigserial PRIMARY KEY, ts text NOT NULL, "user" text NOT NULL, layer text NOT NULL,
  feature_id text NOT NULL, action text NOT NULL, version integer NOT NULL,
  old_attributes text, old_geometry text, new_attributes text, new_geometry text, note text);
CREATE INDEX mzgis_history_feature ON mzgis_history (layer, feature_id);
CREATE TABLE mzgis_inspections (
  id bigserial PRIMARY KEY, ts text, layer text, marker_code text, date text, condition text, inspector text,
  photo text, note text, lon text, lat text, offset_m text, accuracy_m text, recorded_by text, client_key text);
"""


def safe_url(url: str) -> str:
    """A URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class _Con:
    """A psycopg connection with the two calls the store uses (``execute``, ``executemany``)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        # the store's own SQL (``ProjectStore._sql``: ``%`` doubled) always comes with a (maybe
        # empty) sequence, which makes psycopg read ``%%`` as ``%``; SQL without one is sent as it is
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.raw.cursor() as cur:
            cur.executemany(sql, rows)


class PostgisStore(ProjectStore):
    """A workspace's layers in a PostgreSQL + PostGIS database.

    Parameters
    ----------
    url
        ``postgresql://user[:password]@host:port/database`` (libpq's other settings, such as
        ``PGPASSWORD`` or ``~/.pgpass``, apply).
    """

    P = "%s"
    ORDER = "seq"

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = safe_url(url)
        with self._read_con() as con:
            exists = con.execute("SELECT to_regclass('mzgis_meta') IS NOT NULL").fetchone()[0]
            if not exists:
                msg = (f"{self.location} 中没有 mzgis 项目库 has no mzgis store. 先创建 create it with "
                       f"`mzgis init WS --store {self.location}`.")
                raise StoreError(msg)
            stored_version(self, con)  # refuses a store made by a newer mzgis

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            msg = (f"无法连接数据库 cannot connect to {self.location}: {str(exc).strip()}. 检查服务器是否运行 is the "
                   "server running (scripts/postgis.sh status DIR)? Are the user, password and database right?")
            raise StoreError(msg) from exc

    def _error(self, exc: Exception) -> StoreError:
        import psycopg

        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            msg = (f"数据库角色无权 your database role may not do this in {self.location}: {text}. 请管理员授予相应角色 "
                   "ask the administrator for mzgis_planner (import, analyses) or mzgis_placename (boundary lines, "
                   "markers, addresses); nothing was changed.")
        elif isinstance(exc, psycopg.errors.DiskFull):
            msg = f"数据库磁盘已满 the database disk is full ({text}); nothing was changed."
        elif text.startswith("mzgis:"):
            msg = f"{text} ({self.location}); nothing was changed."
        elif isinstance(exc, psycopg.OperationalError):
            msg = (f"数据库连接中断 the connection to {self.location} failed: {text}; the transaction was rolled back, "
                   "nothing was changed.")
        else:
            msg = f"数据库错误 database error in {self.location}: {text}; nothing was changed."
        return StoreError(msg)

    @contextlib.contextmanager
    def _read_con(self) -> Iterator[_Con]:
        import psycopg

        raw = self._connect()
        try:
            yield _Con(raw)
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        finally:
            raw.close()

    @contextlib.contextmanager
    def _write_tx(self, user: str, note: str | None, ts: str) -> Iterator[_Con]:
        import psycopg

        raw = self._connect()
        try:
            self._upgrade(_Con(raw))
            with raw.transaction():
                raw.execute("SELECT set_config('mzgis.user', %s, true), set_config('mzgis.note', %s, true), "
                            "set_config('mzgis.ts', %s, true)", (user, note or "", ts))
                yield _Con(raw)
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        finally:
            raw.close()

    def _upgrade(self, con: _Con) -> None:
        """Bring an older store to the current layout (:mod:`~mzgis.layers.store.migrations`) in a
        transaction of its own, before the write's: the write's locks are never held while waiting
        for the upgrade's (nor the other way round). Concurrent writers upgrade one at a time."""
        if stored_version(self, con) >= SCHEMA_VERSION:
            return
        with con.raw.transaction():
            con.execute("SELECT pg_advisory_xact_lock(hashtext('mzgis_schema'))")
            upgrade(self, con, "postgis")  # reads the version again, under the lock

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def create(cls, url: str, *, overwrite: bool = False) -> PostgisStore:
        """Create the mzgis tables, trigger function and roles in an (empty) database."""
        import psycopg

        where = safe_url(url)
        self = cls.__new__(cls)
        self.url, self.location = url, where
        raw = self._connect()
        try:
            with raw.transaction():
                exists = raw.execute("SELECT to_regclass('mzgis_meta') IS NOT NULL").fetchone()[0]
                if exists and not overwrite:
                    msg = f"{where} 已有 mzgis 项目库 already holds an mzgis store; 不会覆盖 not overwriting it."
                    raise StoreError(msg)
                if exists:
                    for (name,) in raw.execute("SELECT name FROM mzgis_layers").fetchall():
                        raw.execute(f"DROP TABLE IF EXISTS {cls.q(name)}")
                    raw.execute("DROP TABLE IF EXISTS mzgis_meta, mzgis_layers, mzgis_history, mzgis_inspections")
                raw.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                raw.execute(_INIT)
                raw.execute(_TRIGGER_FUNCTION)
                raw.execute("INSERT INTO mzgis_meta VALUES ('created_at', %s), ('schema_version', %s)",
                            (now_iso(), str(BASELINE)))
                upgrade(self, _Con(raw), "postgis", version=BASELINE)  # the layout changes since _INIT
                self._create_roles(_Con(raw))
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        finally:
            raw.close()
        return cls(url)

    def _create_roles(self, con: _Con) -> None:
        for role in ROLES:
            con.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role + "') THEN "
                        f"CREATE ROLE {role} NOLOGIN; END IF; END $$")
        con.execute("GRANT mzgis_viewer TO mzgis_planner, mzgis_placename")
        con.execute("GRANT USAGE ON SCHEMA " + self._schema(con) + " TO mzgis_viewer")
        con.execute("GRANT CREATE ON SCHEMA " + self._schema(con) + " TO mzgis_planner")
        con.execute("GRANT SELECT ON mzgis_meta, mzgis_layers, mzgis_history TO mzgis_viewer")
        con.execute("GRANT INSERT, UPDATE, DELETE ON mzgis_meta, mzgis_layers TO mzgis_planner")
        con.execute("GRANT USAGE ON SEQUENCE mzgis_layers_seq_seq TO mzgis_planner")
        for t in ("mzgis_meta", "mzgis_layers"):
            con.execute(f"ALTER TABLE {t} OWNER TO mzgis_planner")
        # inspection records (``mzgis record``): written by the place-name staff too
        self._grant(con, "mzgis_inspections", None)

    def _schema(self, con: _Con) -> str:
        return self.q(str(con.execute("SELECT current_schema()").fetchone()[0]))

    # -- dialect -------------------------------------------------------------------------------
    def _geom_param_sql(self) -> str:
        return "?::geometry"

    def _geom_select_sql(self) -> str:
        return "ST_AsBinary(geom)"

    def _encode_geoms(self, geoms: np.ndarray) -> list[Any]:
        arr = np.asarray(geoms, dtype=object)
        if not len(arr):
            return []
        flat = shapely.set_srid(shapely.force_2d(arr), 4326)
        hexes = shapely.to_wkb(flat, hex=True, include_srid=True, flavor="extended", output_dimension=2)
        return [None if g is None else h for g, h in zip(arr.tolist(), hexes.tolist(), strict=True)]

    def _decode_geoms(self, values: Sequence[Any]) -> np.ndarray:
        wkb = [None if v is None else bytes(v) for v in values]
        return np.asarray(shapely.from_wkb(np.array(wkb, dtype=object)), dtype=object) if wkb else \
            np.array([], dtype=object)

    def _columns(self, con: _Con, name: str) -> dict[str, str]:
        rows = con.execute("SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
                           "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                           (self.q(name),)).fetchall()
        skip = {"fid", "geom", "feature_id", "mz_version", "mz_updated_at", "mz_retired_at"}
        return {str(c): _LOGICAL.get(str(t), "text") for c, t in rows if c not in skip}

    def _table_names(self, con: _Con) -> list[str]:
        return [r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                          ).fetchall()]

    def _grant(self, con: _Con, table: str, layer_type: str | None) -> None:
        t = self.q(table)
        if con.execute("SELECT pg_has_role('mzgis_planner', 'MEMBER')").fetchone()[0]:
            con.execute(f"ALTER TABLE {t} OWNER TO mzgis_planner")
        con.execute(f"GRANT SELECT ON {t} TO mzgis_viewer")
        con.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO mzgis_planner")
        seq = con.execute("SELECT pg_get_serial_sequence(%s, %s)",
                          (t, "fid" if layer_type is not None else "id")).fetchone()[0]
        if layer_type is None or layer_type in PLACENAME_TYPES:
            con.execute(f"GRANT INSERT, UPDATE, DELETE ON {t} TO mzgis_placename")
            if seq:
                con.execute(f"GRANT USAGE ON SEQUENCE {seq} TO mzgis_placename")
        if seq:
            con.execute(f"GRANT USAGE ON SEQUENCE {seq} TO mzgis_planner")

    def _create_layer(self, con: _Con, name: str, kinds: dict[str, str], geom_type: str, layer_type: str, *,
                      history: bool = True) -> None:
        t = self.q(name)
        cols = "".join(f", {self.q(c)} {_SQL_TYPES[k]}" for c, k in kinds.items())
        con.execute(f"CREATE TABLE {t} (fid bigserial PRIMARY KEY, feature_id text NOT NULL UNIQUE{cols}, "
                    "mz_version integer NOT NULL DEFAULT 1, mz_updated_at text, mz_retired_at text, "
                    f"geom geometry({_PG_GEOM[geom_type]}, 4326))")
        con.execute(f"CREATE INDEX {self.q('mzgis_' + name + '_geom')} ON {t} USING gist (geom)")
        if history:
            self._install_history(con, name)
        self._grant(con, name, layer_type)
        pg_refresh_view(con, name, list(kinds))

    def _install_history(self, con: _Con, name: str) -> None:
        con.execute(f"CREATE TRIGGER mzgis_history BEFORE INSERT OR UPDATE OR DELETE ON {self.q(name)} "
                    "FOR EACH ROW EXECUTE FUNCTION mzgis_feature_trigger()")

    def _add_columns(self, con: _Con, name: str, kinds: dict[str, str]) -> None:
        for c, k in kinds.items():
            con.execute(f"ALTER TABLE {self.q(name)} ADD COLUMN {self.q(c)} {_SQL_TYPES[k]}")
        pg_refresh_view(con, name, list(self._columns(con, name)))

    def _declared_type(self, con: _Con, name: str) -> str:
        row = con.execute("SELECT postgis_typmod_type(atttypmod) FROM pg_attribute "
                          "WHERE attrelid = to_regclass(%s) AND attname = 'geom'", (self.q(name),)).fetchone()
        return "GEOMETRY" if row is None or row[0] is None else str(row[0]).upper()

    def _set_declared_type(self, con: _Con, name: str, geom_type: str) -> None:
        pg_drop_view(con, name)  # PostgreSQL changes no column type under a view
        con.execute(f"ALTER TABLE {self.q(name)} ALTER COLUMN geom TYPE geometry({_PG_GEOM[geom_type]}, 4326)")
        pg_refresh_view(con, name, list(self._columns(con, name)))

    def _bounds_sql(self, con: _Con, name: str) -> str | None:
        return ("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent(geom) AS e FROM {self.q(name)} WHERE mz_retired_at IS NULL) AS s")

    def _after_write(self, con: _Con, name: str, bounds: np.ndarray | None) -> None:
        # PostGIS computes extents when asked; a store made before the views gets its view here
        pg_ensure_view(con, name, list(self._columns(con, name)))
        pg_ensure_style(con, name)

    def _lock_layer(self, con: _Con, name: str) -> None:
        con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("mzgis_layer:" + name,))
        if con.execute("SELECT to_regclass(%s) IS NOT NULL", (self.q(name),)).fetchone()[0]:
            con.execute(f"LOCK TABLE {self.q(name)} IN SHARE ROW EXCLUSIVE MODE")

    def _lock_records(self, con: _Con, table: str) -> None:
        # every key check takes this lock: no table lock needed (place-name roles may only insert)
        con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("mzgis_records:" + table,))

    def _lock_feature_sql(self) -> str:
        return " FOR UPDATE"

    def _insert_rows(self, con: _Con, name: str, cols: list[str], rows: list[tuple[Any, ...]],
                     bounds: np.ndarray | None = None) -> None:
        names = ", ".join(self.q(c) for c in [*cols, "geom"])
        if len(rows) < 200:
            con.executemany(self._sql(f"INSERT INTO {self.q(name)} ({names}) VALUES ({', '.join('?' * len(cols))}, "
                                      "?::geometry)"), rows)
            return
        with con.raw.cursor() as cur, cur.copy(f"COPY {self.q(name)} ({names}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)

    def _stage_ids(self, con: _Con, ids: Sequence[str]) -> str:
        con.execute("DROP TABLE IF EXISTS pg_temp.mzgis_ids")
        con.execute("CREATE TEMP TABLE mzgis_ids (feature_id text PRIMARY KEY) ON COMMIT DROP")
        with con.raw.cursor() as cur, cur.copy("COPY pg_temp.mzgis_ids (feature_id) FROM STDIN") as cp:
            for i in dict.fromkeys(str(x) for x in ids):
                cp.write_row((i,))
        return "pg_temp.mzgis_ids"

    def _create_records_table(self, con: _Con, table: str, cols: list[str]) -> None:
        con.execute(f"CREATE TABLE {self.q(table)} (id bigserial PRIMARY KEY"
                    + "".join(f", {self.q(c)} text" for c in cols) + ")")
        if table not in (ACCOUNTS_TABLE, SESSIONS_TABLE):  # password hashes, sessions: the owner's (the web server's)
            self._grant(con, table, None)

    def _add_text_columns(self, con: _Con, table: str, cols: list[str]) -> None:
        for c in cols:
            con.execute(f"ALTER TABLE {self.q(table)} ADD COLUMN {self.q(c)} text")

    def _record_columns(self, con: _Con, table: str) -> list[str]:
        rows = con.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
                           "AND NOT attisdropped ORDER BY attnum", (self.q(table),)).fetchall()
        return [str(r[0]) for r in rows]
