"""Views of the current features: ``<layer>_current`` holds a layer's features that are not
retired (``mz_retired_at`` is empty), without the ``mz_retired_at`` column — what a QGIS or
pyogrio user opens to see the layer as mzgis reads it.

* GeoPackage: a SQLite view registered in ``gpkg_contents`` and ``gpkg_geometry_columns`` (same
  geometry type, CRS and extent as its layer), so GDAL, QGIS and pyogrio list and open it like a
  layer (read-only; edit the layer itself).
* PostGIS: a view in the same schema, readable by every mzgis role (PostGIS lists it in
  ``geometry_columns``).

Each view is rebuilt when its layer is created or gains columns or a geometry type, and made on
the next write of a layer from a store that has none yet. A view is not a layer of mzgis
(``mzgis layers`` does not list it). A new layer may not be named ``<other>_current``; one made
so before this rule keeps its name and ``<other>`` gets no view.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

CURRENT_SUFFIX = "_current"

__all__ = ["CURRENT_SUFFIX", "current_view", "gpkg_ensure_view", "gpkg_refresh_view", "pg_drop_view",
           "pg_ensure_view", "pg_refresh_view"]


def current_view(name: str) -> str:
    """The name of the view of ``name``'s current features."""
    return name + CURRENT_SUFFIX


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(name: str, cols: Sequence[str]) -> str:
    listed = ", ".join(_q(c) for c in ("fid", "geom", "feature_id", *cols, "mz_version", "mz_updated_at"))
    return f"SELECT {listed} FROM {_q(name)} WHERE mz_retired_at IS NULL"


# -- GeoPackage ---------------------------------------------------------------------------------
def _gpkg_taken(con: Any, view: str) -> bool:
    """A table (a layer) already has the view's name."""
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (view,)).fetchone() is not None


def gpkg_refresh_view(con: Any, name: str, cols: Sequence[str]) -> None:
    """(Re)build ``<name>_current`` and its registration, inside the caller's transaction."""
    view = current_view(name)
    if _gpkg_taken(con, view):
        log.info("no view %s: a layer has that name", view)
        return
    con.execute(f"DROP VIEW IF EXISTS {_q(view)}")
    con.execute(f"CREATE VIEW {_q(view)} AS {_select(name, cols)}")
    con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (view,))
    con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (view,))
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, "
                "min_x, min_y, max_x, max_y, srs_id) SELECT ?1, 'features', ?1, ?2, last_change, min_x, min_y, "
                "max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = ?3",
                (view, f"mzgis: current features of {name} (retired left out) 现状要素", name))
    con.execute("INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) "
                "SELECT ?, column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns "
                "WHERE table_name = ?", (view, name))


def gpkg_ensure_view(con: Any, name: str, cols: Sequence[str]) -> None:
    """After a write: make the view when missing, else carry the layer's extent and time over."""
    view = current_view(name)
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?", (view,)).fetchone() is None:
        gpkg_refresh_view(con, name, cols)
        return
    con.execute("UPDATE gpkg_contents SET (last_change, min_x, min_y, max_x, max_y) = "
                "(SELECT last_change, min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?1) "
                "WHERE table_name = ?2", (name, view))


# -- PostGIS ------------------------------------------------------------------------------------
def pg_drop_view(con: Any, name: str) -> None:
    """Drop the view (before a change of the layer's column types, which PostgreSQL refuses under a view)."""
    con.execute(f"DROP VIEW IF EXISTS {_q(current_view(name))}")


def pg_refresh_view(con: Any, name: str, cols: Sequence[str]) -> None:
    """(Re)build ``<name>_current``, readable by every mzgis role, inside the caller's transaction."""
    view = current_view(name)
    kind = con.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (_q(view),)).fetchone()
    if kind is not None and kind[0] != "v":
        log.info("no view %s: a table has that name", view)
        return
    pg_drop_view(con, name)
    con.execute(f"CREATE VIEW {_q(view)} AS {_select(name, cols)}")
    if con.execute("SELECT pg_has_role('mzgis_planner', 'MEMBER')").fetchone()[0]:
        con.execute(f"ALTER VIEW {_q(view)} OWNER TO mzgis_planner")
    con.execute(f"GRANT SELECT ON {_q(view)} TO mzgis_viewer, mzgis_planner, mzgis_placename")


def pg_ensure_view(con: Any, name: str, cols: Sequence[str]) -> None:
    """After a write: make the view when missing (by a role that may create in the schema)."""
    if con.execute("SELECT to_regclass(%s) IS NULL AND has_schema_privilege(current_schema(), 'CREATE')",
                   (_q(current_view(name)),)).fetchone()[0]:
        pg_refresh_view(con, name, cols)
