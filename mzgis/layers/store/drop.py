"""Dropping a layer: every feature retired in one transaction (kept, with its history), and the
layer marked as dropped so listings of current layers leave it out.

Nothing is deleted: ``mzgis history WS LAYER`` still shows every feature, and ``mzgis revert`` (or
importing into the layer again) brings features back; a layer with live features is never listed
as dropped.
"""

from __future__ import annotations

import pandas as pd

from mzgis.errors import LayerError
from mzgis.layers.store.base import ImportReport, ProjectStore, current_user, now_iso

__all__ = ["DROPPED_PREFIX", "check_droppable", "drop_layer", "dropped_layers", "live_layers"]

#: ``mzgis_meta`` key prefix: ``dropped:<layer>`` holds when it was dropped.
DROPPED_PREFIX = "dropped:"


def drop_layer(store: ProjectStore, name: str, *, user: str | None = None, note: str | None = None) -> ImportReport:
    """Retire every live feature of ``name`` in one transaction and mark the layer dropped."""
    ts = now_iso()
    with store._write_tx(user or current_user(), note or f"drop layer {name}", ts) as con:
        info = store._info(con, name)
        if info is None:
            raise store._missing_layer(name, con)
        report = ImportReport(name, str(info["layer_type"]))
        cur = store._exec(con, f"UPDATE {store.q(name)} SET mz_retired_at = ? WHERE mz_retired_at IS NULL", (ts,))
        report.retired = int(cur.rowcount)
        key = DROPPED_PREFIX + name
        store._exec(con, "DELETE FROM mzgis_meta WHERE key = ?", (key,))
        store._exec(con, "INSERT INTO mzgis_meta (key, value) VALUES (?, ?)", (key, ts))
        store._after_write(con, name, None)
    return report


def dropped_layers(store: ProjectStore) -> list[str]:
    """Layers dropped and not brought back (no live feature)."""
    df = store.layers()
    if df.empty:
        return []
    marked = {n for n in df["name"] if store.meta(DROPPED_PREFIX + str(n)) is not None}
    return [str(n) for n, a in zip(df["name"], df["features"], strict=True) if n in marked and int(a) == 0]


def live_layers(store: ProjectStore, *, include_dropped: bool = False) -> pd.DataFrame:
    """:meth:`ProjectStore.layers` without the dropped layers (with them, and a ``dropped``
    column, if ``include_dropped``)."""
    df = store.layers()
    gone = set(dropped_layers(store)) if not df.empty else set()
    df["dropped"] = [n in gone for n in df["name"]]
    if not include_dropped:
        df = df[~df["dropped"]].reset_index(drop=True)
    return df


def check_droppable(store: ProjectStore, name: str) -> None:
    """Refuse a missing or already dropped layer with the fix."""
    if store.layer_info(name) is None:
        msg = f"没有图层 no layer '{name}'; 图层 layers: {store.layer_names()}"
        raise LayerError(msg)
    if name in dropped_layers(store):
        msg = (f"图层 '{name}' 已删除 was already dropped (its features are retired); 历史见 see "
               f"`mzgis history WS {name}`")
        raise LayerError(msg)
