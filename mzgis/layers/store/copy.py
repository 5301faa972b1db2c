"""Moving a store between back ends (GeoPackage ⇄ PostGIS) with its full history."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from mzgis.errors import StoreError
from mzgis.layers.store import create_store, is_url
from mzgis.layers.store.base import (
    HISTORY_COLUMNS,
    INTERNAL_COLUMNS,
    ProjectStore,
    current_user,
    now_iso,
    sql_values,
)
from mzgis.layers.store.postgis import safe_url

__all__ = ["CopyReport", "copy_store"]

_CORE = {"mzgis_meta", "mzgis_layers", "mzgis_history", "mzgis_session", "mzgis_web_sessions"}  # sessions stay


@dataclass
class CopyReport:
    """What was copied: features per layer, history rows, rows of plain tables."""

    destination: str
    layers: dict[str, int] = field(default_factory=dict)
    history: int = 0
    records: dict[str, int] = field(default_factory=dict)


def copy_store(src: ProjectStore, destination: str | Path, *, overwrite: bool = False) -> CopyReport:
    """Copy every layer (retired features, versions and all), the history, the registry, the
    settings and the plain tables of ``src`` into a new store at ``destination``.

    The copy is one transaction on the destination; the counts of features per layer and of
    history rows are checked against the source before it commits.
    """
    dst = create_store(destination, overwrite=overwrite)
    where = safe_url(str(destination)) if is_url(destination) else str(destination)
    report = CopyReport(where)
    with src._read_con() as scon:
        _snapshot(src, scon)
        names = src._layer_names(scon)
        with dst._write_tx(current_user(), "store copy", now_iso()) as dcon:
            for name in names:
                info = src._info(scon, name) or {}
                kinds = src._columns(scon, name)
                declared = src._declared_type(scon, name)
                df = src._select(scon, name, kinds)
                geoms = src._decode_geoms(df["mz_geom"].tolist())
                dst._create_layer(dcon, name, kinds, declared, str(info.get("layer_type")), history=False)
                cols = list(kinds)
                values = {c: sql_values(df[c], k) for c, k in kinds.items()}
                enc = dst._encode_geoms(geoms)
                ver = [int(v) for v in df["mz_version"].tolist()]
                upd = df["mz_updated_at"].tolist()
                ret = df["mz_retired_at"].tolist()
                rows = [(str(f), *(values[c][i] for c in cols), ver[i], upd[i], ret[i], enc[i])
                        for i, f in enumerate(df["feature_id"].tolist())]
                if rows:
                    dst._insert_rows(dcon, name, ["feature_id", *cols, *INTERNAL_COLUMNS], rows,
                                     bounds=shapely.bounds(geoms))
                dst._install_history(dcon, name)
                b = shapely.bounds(geoms) if len(geoms) else None
                dst._after_write(dcon, name, b if b is not None and not np.isnan(b).all() else None)
                reg = {k: info.get(k) for k in ("name", "layer_type", "kind", "level", "source", "source_coords",
                                                "created_at", "updated_at", "user", "description")}
                dst._exec(dcon, "INSERT INTO mzgis_layers (name, layer_type, kind, level, source, source_coords, "
                                "created_at, updated_at, \"user\", description) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          tuple(reg.values()))
                n_dst = int(dst._one(dcon, f"SELECT COUNT(*) FROM {dst.q(name)}") or 0)
                if n_dst != len(df):
                    msg = f"复制不完整 copy of layer '{name}' has {n_dst} features, the source {len(df)}; nothing was written."
                    raise StoreError(msg)
                report.layers[name] = n_dst
            cols_sql = ", ".join(src.q(c) for c in HISTORY_COLUMNS)
            hist = src._query(scon, f"SELECT {cols_sql} FROM mzgis_history ORDER BY id")
            if len(hist):
                dcon.executemany(dst._sql(f"INSERT INTO mzgis_history ({cols_sql}) VALUES "
                                          f"({', '.join('?' * len(HISTORY_COLUMNS))})"),
                                 [tuple(_plain(v) for v in r) for r in hist.itertuples(index=False)])
            n_hist = int(dst._one(dcon, "SELECT COUNT(*) FROM mzgis_history") or 0)
            if n_hist != len(hist):
                msg = f"复制不完整 copied history has {n_hist} rows, the source {len(hist)}; nothing was written."
                raise StoreError(msg)
            report.history = n_hist
            meta = src._query(scon, "SELECT key, value FROM mzgis_meta")
            for key, value in meta.itertuples(index=False):
                if key != "schema_version":
                    dst._exec(dcon, "DELETE FROM mzgis_meta WHERE key = ?", (key,))
                    dst._exec(dcon, "INSERT INTO mzgis_meta (key, value) VALUES (?, ?)", (key, value))
            for table in sorted(src._table_names(scon)):
                if not table.startswith("mzgis_") or table in _CORE or table in names:
                    continue
                rec = src._query(scon, f"SELECT * FROM {src.q(table)} ORDER BY id")
                rcols = [c for c in src._record_columns(scon, table) if c != "id"]
                if table in dst._table_names(dcon):
                    have = dst._record_columns(dcon, table)
                    missing = [c for c in rcols if c not in have]
                    if missing:
                        dst._add_text_columns(dcon, table, missing)
                else:
                    dst._create_records_table(dcon, table, rcols)
                if len(rec):
                    dcon.executemany(dst._sql(f"INSERT INTO {dst.q(table)} ({', '.join(dst.q(c) for c in rcols)}) "
                                              f"VALUES ({', '.join('?' * len(rcols))})"),
                                     [tuple(_plain(r[c]) for c in rcols) for r in rec.to_dict("records")])
                report.records[table] = len(rec)
    return report


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _snapshot(store: ProjectStore, con: Any) -> None:
    """Read the whole source as of one moment (writers may go on meanwhile)."""
    if store.P == "?":
        con.execute("BEGIN")
    else:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
