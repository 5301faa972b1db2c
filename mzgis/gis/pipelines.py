"""Pipelines that chain layers → analysis → maps for the commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mzgis.errors import LayerError
from mzgis.gis.workspace import Workspace
from mzgis.layers.importer import prepare_layer
from mzgis.layers.sources import read_source
from mzgis.layers.store import ImportReport

__all__ = ["import_file", "parse_join_npy"]

log = logging.getLogger(__name__)


def parse_join_npy(spec: str) -> tuple[str, np.ndarray]:
    """Parse ``PATH:COLUMN:FIELD`` (``--join-npy``) and load that column of a ``.npy`` array."""
    parts = spec.rsplit(":", 2)
    if len(parts) != 3:
        msg = f"--join-npy {spec}: 格式应为 expected PATH:COLUMN:FIELD, e.g. worldpop.npy:0:population"
        raise LayerError(msg)
    path, col, fname = parts
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        msg = f"--join-npy: 无法读取 cannot read {path}: {exc}"
        raise LayerError(msg) from exc
    try:
        values = arr[:, int(col)] if arr.ndim == 2 else arr
    except (IndexError, ValueError) as exc:
        msg = f"--join-npy {spec}: {path} has shape {arr.shape}; column {col} does not exist"
        raise LayerError(msg) from exc
    return fname, values


def import_file(
    ws: Workspace,
    source: str | Path,
    *,
    layer: str,
    layer_type: str,
    kind: str | None = None,
    level: str | None = None,
    coords: str | None = None,
    field_map: Mapping[str, str] | None = None,
    id_field: str | None = None,
    sheet: str | None = None,
    source_layer: str | None = None,
    encoding: str | None = None,
    join_arrays: Mapping[str, np.ndarray] | None = None,
    retire_missing: bool = False,
) -> ImportReport:
    """Read, validate and store one source file as a layer, in one atomic step."""
    raw = read_source(source, sheet=sheet, source_layer=source_layer, encoding=encoding)
    if coords is None and raw.is_table:
        default = str(ws.config["import"].get("default_coords") or "").strip()
        coords = default or None
    prepared = prepare_layer(raw, layer_type, kind=kind, level=level, coords=coords, field_map=field_map,
                             id_field=id_field, extent=ws.extent, join_arrays=join_arrays)
    report = ws.store.write_layer(layer, prepared.gdf, layer_type=layer_type, kind=prepared.kind,
                                  level=prepared.level, source=str(source), source_coords=prepared.source_coords,
                                  retire_missing=retire_missing)
    report.notes = prepared.notes
    return report
