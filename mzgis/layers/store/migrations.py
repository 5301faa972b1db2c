"""Versioned upgrades of a store's layout, applied in place.

``mzgis_meta.schema_version`` says which layout a store has. :data:`MIGRATIONS` lists, in order,
each later version with what turns the one before into it, once per back end. A store whose
version is lower than :data:`~mzgis.layers.store.base.SCHEMA_VERSION` is brought up to date the
first time mzgis writes to it: every pending step and the new ``schema_version`` in one
transaction, so a failed upgrade leaves the store as it was. On a GeoPackage that is the write's
own transaction (``BEGIN IMMEDIATE`` already keeps every other writer out); on PostGIS a
transaction of its own just before the write's, under an advisory lock, so that concurrent
first writers upgrade once and no writer holds its layer's lock while waiting for the upgrade.
A store newer than this mzgis is refused (reading and writing). Reading never upgrades (a
viewer role can read an old store, and this mzgis reads every older layout).

A new store is made by the same steps: ``create()`` writes the layout of :data:`BASELINE` (the
frozen DDL in ``gpkg.py``/``postgis.py``) and then applies every later migration, so a new store
and an upgraded one cannot differ. A layout change is a new entry here, with a test upgrading
the schema-2 fixtures in ``tests/fixtures``; the baseline DDL is never edited.

Why not Alembic: it is built for SQLAlchemy models and one database URL. Most of this layout is
not expressible as models (GeoPackage R-tree virtual tables and ``gpkg_*`` registrations, the
SQLite history triggers, the PL/pgSQL trigger function, roles and grants), so every step would be
raw SQL anyway; its ``alembic_version`` table, ``env.py`` and script folder would sit next to
``mzgis_meta.schema_version``, which stores have carried since the first release; and SQLite's
ALTER limits need its batch mode, which copies tables — losing the triggers this store depends
on. What Alembic would give — ordered revisions, one transaction, the version row updated in it —
is the few lines below.

On PostGIS a step needs the rights of the store's owner (it may create indexes or tables). A role
without them (``mzgis_placename``) gets a message saying so, and the store stays as it was
until the owner writes once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mzgis.errors import StoreError

__all__ = ["BASELINE", "MIGRATIONS", "Migration", "pending", "stored_version", "upgrade"]

#: The layout the ``create()`` DDL of both back ends writes (then upgraded by :data:`MIGRATIONS`).
BASELINE = 2

Step = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Migration:
    """One layout change: ``gpkg``/``postgis`` take ``(store, connection)`` inside the upgrade's
    transaction (None: nothing to do on that back end)."""

    version: int
    description: str
    gpkg: Step | None
    postgis: Step | None


# -- the steps (frozen: a step must keep doing what it did for the stores it upgraded) ---------------

def _gpkg_history_triggers(store: Any, con: Any) -> None:
    """Schema 1 (the first release): no history triggers, no session table, no unique ids."""
    con.execute("CREATE TABLE IF NOT EXISTS mzgis_session (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "user TEXT, note TEXT, ts TEXT)")
    for (name,) in con.execute("SELECT name FROM mzgis_layers").fetchall():
        con.execute(f'CREATE UNIQUE INDEX IF NOT EXISTS "mzgis_{name}_feature_id" ON "{name}" (feature_id)')
        store._install_history(con, name)


def _history_by_layer(store: Any, con: Any) -> None:
    """``history(layer)`` (``WHERE layer = ? ORDER BY id``) read from an index, without a sort."""
    con.execute("CREATE INDEX IF NOT EXISTS mzgis_history_layer ON mzgis_history (layer, id)")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "history triggers, session table, unique feature ids", _gpkg_history_triggers, None),
    Migration(3, "index mzgis_history (layer, id)", _history_by_layer, _history_by_layer),
)


# -- applying them ---------------------------------------------------------------------------------

def stored_version(store: Any, con: Any) -> int:
    """The store's ``schema_version`` (1 when missing or unreadable, as the first release wrote none);
    refuses a store made by a newer mzgis."""
    from mzgis.layers.store.base import SCHEMA_VERSION

    row = con.execute("SELECT value FROM mzgis_meta WHERE key = 'schema_version'").fetchone()
    try:
        v = int(row[0]) if row is not None else 1
    except (TypeError, ValueError):
        v = 1
    if v > SCHEMA_VERSION:
        msg = (f"项目库由更新版本的 mzgis 创建 {store.location} was made by a newer mzgis (store schema {v}, this "
               f"mzgis knows {SCHEMA_VERSION}); upgrade: 请升级 mzgis (pip install -U mzgis) before using it. "
               "Nothing was changed.")
        raise StoreError(msg)
    return v


def pending(version: int) -> list[Migration]:
    """The migrations a store at ``version`` still needs, in order."""
    return [m for m in MIGRATIONS if m.version > version]


def upgrade(store: Any, con: Any, dialect: str, *, version: int | None = None) -> list[int]:
    """Apply the pending migrations on ``con``, inside the caller's transaction, and set
    ``schema_version``; returns the versions applied (empty: the store was up to date).

    ``dialect`` is ``"gpkg"`` or ``"postgis"``; ``version`` the store's version when the caller
    has just read it (under the transaction's lock)."""
    v = stored_version(store, con) if version is None else version
    todo = pending(v)
    if not todo:
        return []
    for m in todo:
        step = m.gpkg if dialect == "gpkg" else m.postgis
        try:
            if step is not None:
                step(store, con)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(_failed(store, v, m, exc)) from exc
    new = str(todo[-1].version)
    if store._exec(con, "UPDATE mzgis_meta SET value = ? WHERE key = 'schema_version'", (new,)).rowcount == 0:
        store._exec(con, "INSERT INTO mzgis_meta (key, value) VALUES ('schema_version', ?)", (new,))
    return [m.version for m in todo]


def _failed(store: Any, v: int, m: Migration, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if getattr(exc, "sqlstate", None) == "42501":  # insufficient_privilege
        fix = ("升级需要项目库所有者的权限 the upgrade needs the rights of the store's owner: ask the database role "
               "that ran `mzgis init` (or an administrator) to run one mzgis write, e.g. an import, first.")
    else:
        fix = ("检查磁盘空间和权限 check free space and permissions and try again; if it fails again, keep a copy "
               "of the store and report this message.")
    return (f"项目库升级失败 upgrading the store {store.location} from schema {v} failed at step {m.version} "
            f"({m.description}): {text}. 已回滚，未做任何更改 it was rolled back, nothing was changed. {fix}")
