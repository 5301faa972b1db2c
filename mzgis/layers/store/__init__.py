"""The project store: one interface, two back ends.

* :class:`~mzgis.layers.store.gpkg.GpkgStore` — the embedded default, ``project.gpkg`` in the
  workspace (one machine, or a shared folder).
* :class:`~mzgis.layers.store.postgis.PostgisStore` — PostgreSQL + PostGIS, for a team editing at
  once (``[store] url = "postgresql://…"`` in ``mzgis.toml``).

Both keep the same tables and guarantees (see :mod:`mzgis.layers.store.base`): every write is one
database transaction, history is written by database triggers, features are retired, never
deleted. Callers use :func:`open_store` (``Workspace.store``) and never need to know which back
end they have.
"""

from __future__ import annotations

from pathlib import Path

from mzgis.errors import StaleEditError
from mzgis.layers.store.base import INTERNAL_COLUMNS, ImportReport, ProjectStore, current_user
from mzgis.layers.store.gpkg import GpkgStore

__all__ = ["INTERNAL_COLUMNS", "GpkgStore", "ImportReport", "ProjectStore", "StaleEditError", "create_store",
           "current_user", "is_url", "open_store"]


def is_url(location: str | Path) -> bool:
    """Whether a store location is a PostgreSQL URL (rather than a GeoPackage path)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(location: str | Path) -> ProjectStore:
    """The store at a GeoPackage path or a ``postgresql://`` URL."""
    if is_url(location):
        from mzgis.layers.store.postgis import PostgisStore

        return PostgisStore(str(location))
    return GpkgStore(location)


def create_store(location: str | Path, *, overwrite: bool = False) -> ProjectStore:
    """Create an empty store at a GeoPackage path or in the database of a ``postgresql://`` URL."""
    if is_url(location):
        from mzgis.layers.store.postgis import PostgisStore

        return PostgisStore.create(str(location), overwrite=overwrite)
    return GpkgStore.create(location, overwrite=overwrite)
