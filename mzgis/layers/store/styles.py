"""Default QGIS styles in a GeoPackage's ``layer_styles`` table (the table QGIS itself reads and
writes: a layer opened from the GeoPackage gets its ``useAsDefault`` style).

The store knows nothing of colours: the QML comes from a *styler* the application installs with
:func:`set_styler` (``mzgis.gis.workspace`` installs :func:`mzgis.maps.qgis_style.layer_qml`, the
web map's palette). After every write of a layer the store (re)writes mzgis's own row for the
layer and for its ``<layer>_current`` view — rows ``owner = 'mzgis'`` only: a style a QGIS user
saved into the GeoPackage is never touched, and when the user made theirs the default, mzgis's
row is written as a non-default alternative.

PostGIS: QGIS reads ``public.layer_styles`` (its own DDL); mzgis creates it when it may create in
``public`` (granting every mzgis role to read it and planners to save styles), else writes no style
and says so in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mzgis.layers.store.views import current_view

log = logging.getLogger(__name__)

__all__ = ["OWNER", "STYLE_NAME", "StyleTarget", "gpkg_ensure_style", "gpkg_put_style", "pg_ensure_style", "set_styler"]

OWNER = "mzgis"
STYLE_NAME = "mzgis"

#: QGIS's own DDL for the table in a GeoPackage (QgsOgrProvider / GDAL), so QGIS appends to it
_DDL = ("CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), "
        "f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), "
        "styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
        "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))")


@dataclass(frozen=True)
class StyleTarget:
    """What a styler knows of a layer: its registry row, geometry type and, for facilities, the
    position of its kind among the store's facility kinds (the web map colours kinds in that order)."""

    name: str
    layer_type: str
    kind: str | None
    level: str | None
    geometry: str  # POINT, LINESTRING, POLYGON, MULTI…, GEOMETRY
    kind_index: int = 0


Styler = Callable[[StyleTarget], "str | None"]
_STYLER: list[Styler] = []


def set_styler(fn: Styler | None) -> None:
    """Install the function that turns a layer into QML (None: write no styles)."""
    _STYLER.clear()
    if fn is not None:
        _STYLER.append(fn)


def gpkg_put_style(con: Any, table: str, qml: str, *, geom_col: str = "geom", description: str = "") -> None:
    """(Re)write mzgis's default style of ``table``, inside the caller's transaction."""
    con.execute(_DDL)
    if con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() is None:
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                    "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles')")
    con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND owner = ?", (table, OWNER))
    theirs = con.execute("SELECT 1 FROM layer_styles WHERE f_table_name = ? AND useAsDefault", (table,)).fetchone()
    con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                "styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES ('', '', ?, ?, ?, ?, '', ?, ?, ?, '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                (table, geom_col, STYLE_NAME, qml, 0 if theirs else 1, description, OWNER))


def _kind_index(con: Any, kind: str | None, order: str) -> int:
    kinds = [r[0] for r in con.execute(f"SELECT kind FROM mzgis_layers WHERE layer_type = 'facilities' ORDER BY {order}")]
    seen = list(dict.fromkeys(k for k in kinds if k))
    return seen.index(kind) if kind in seen else max(len(seen) - 1, 0)


def gpkg_ensure_style(con: Any, name: str, order: str = "rowid") -> None:
    """After a write of layer ``name``: its default style and its view's, from the installed styler."""
    if not _STYLER:
        return
    reg = con.execute("SELECT layer_type, kind, level FROM mzgis_layers WHERE name = ?", (name,)).fetchone()
    geom = con.execute("SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()
    if reg is None or geom is None:
        return
    target = StyleTarget(name, str(reg[0]), reg[1], reg[2], str(geom[0]).upper(),
                         _kind_index(con, reg[1], order) if reg[0] == "facilities" else 0)
    qml = _STYLER[0](target)
    if qml is None:
        return
    desc = f"mzgis: {target.layer_type} 默认样式 default style"
    gpkg_put_style(con, name, qml, description=desc)
    view = current_view(name)
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?", (view,)).fetchone() is not None:
        gpkg_put_style(con, view, qml, description=desc)


# -- PostGIS ------------------------------------------------------------------------------------
_PG_DDL = ("CREATE TABLE public.layer_styles (id serial PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar, "
           "f_table_name varchar, f_geometry_column varchar, styleName text, styleQML xml, styleSLD xml, "
           "useAsDefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
           "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)")


def _pg_table(con: Any) -> bool:
    """``public.layer_styles`` exists (made now if missing and allowed) and may be written."""
    missing = "SELECT to_regclass('public.layer_styles') IS NULL"
    if con.execute(missing).fetchone()[0]:
        # only the first write of a store locks (two first writes would race to create the table)
        con.execute("SELECT pg_advisory_xact_lock(hashtext('mzgis_layer_styles'))")
    if con.execute(missing).fetchone()[0]:
        if not con.execute("SELECT has_schema_privilege('public', 'CREATE')").fetchone()[0]:
            log.info("no QGIS styles: this role may not create public.layer_styles")
            return False
        con.execute(_PG_DDL)
        con.execute("GRANT SELECT ON public.layer_styles TO mzgis_viewer, mzgis_planner, mzgis_placename")
        con.execute("GRANT INSERT, UPDATE, DELETE ON public.layer_styles TO mzgis_planner")
        con.execute("GRANT USAGE ON SEQUENCE public.layer_styles_id_seq TO mzgis_planner")
    ok = con.execute("SELECT has_table_privilege('public.layer_styles', 'INSERT') AND "
                     "has_table_privilege('public.layer_styles', 'DELETE')").fetchone()[0]
    if not ok:
        log.info("no QGIS styles: this role may not write public.layer_styles")
    return bool(ok)


def _pg_put(con: Any, table: str, qml: str, description: str) -> None:
    cat, schema = con.execute("SELECT current_database(), current_schema()").fetchone()
    con.execute("DELETE FROM public.layer_styles WHERE f_table_catalog = %s AND f_table_schema = %s "
                "AND f_table_name = %s AND owner = %s", (cat, schema, table, OWNER))
    theirs = con.execute("SELECT 1 FROM public.layer_styles WHERE f_table_catalog = %s AND f_table_schema = %s "
                         "AND f_table_name = %s AND useAsDefault", (cat, schema, table)).fetchone()
    con.execute("INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                "styleName, styleQML, styleSLD, useAsDefault, description, owner, type) "
                "VALUES (%s, %s, %s, 'geom', %s, XMLPARSE(DOCUMENT %s), NULL, %s, %s, %s, %s)",
                (cat, schema, table, STYLE_NAME, qml, theirs is None, description, OWNER, _pg_type(con, table)))


def _pg_type(con: Any, table: str) -> str:
    row = con.execute("SELECT type FROM geometry_columns WHERE f_table_schema = current_schema() "
                      "AND f_table_name = %s", (table,)).fetchone()
    g = str(row[0]).upper() if row else ""
    return "Polygon" if "POLYGON" in g else "Line" if "LINE" in g else "Point" if "POINT" in g else ""


def pg_ensure_style(con: Any, name: str) -> None:
    """After a write of layer ``name`` in a PostGIS store: its default style and its view's."""
    if not _STYLER:
        return
    reg = con.execute("SELECT layer_type, kind, level FROM mzgis_layers WHERE name = %s", (name,)).fetchone()
    if reg is None:
        return
    row = con.execute("SELECT postgis_typmod_type(atttypmod) FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                      "AND attname = 'geom'", ('"' + name.replace('"', '""') + '"',)).fetchone()
    geom = str(row[0]).upper() if row and row[0] else "GEOMETRY"
    target = StyleTarget(name, str(reg[0]), reg[1], reg[2], geom,
                         _kind_index(con, reg[1], "seq") if reg[0] == "facilities" else 0)
    qml = _STYLER[0](target)
    if qml is None or not _pg_table(con):
        return
    desc = f"mzgis: {target.layer_type} 默认样式 default style"
    _pg_put(con, name, qml, desc)
    view = current_view(name)
    if con.execute("SELECT to_regclass(%s) IS NOT NULL", ('"' + view.replace('"', '""') + '"',)).fetchone()[0]:
        _pg_put(con, view, qml, desc)
