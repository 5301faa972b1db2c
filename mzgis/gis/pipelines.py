"""Pipelines that chain layers → analysis → maps for the commands."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mzgis.analysis.reach import ReachResult, network_reach
from mzgis.errors import LayerError, NetworkError
from mzgis.gis.workspace import Workspace
from mzgis.layers.importer import prepare_layer
from mzgis.layers.network import RoadGraph, is_osm, load_or_build, osm_bounds
from mzgis.layers.sources import read_source
from mzgis.layers.store import ImportReport

__all__ = ["build_network", "import_file", "load_network", "parse_join_npy", "run_reach"]

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


# -- network -----------------------------------------------------------------------------------
def build_network(ws: Workspace, source: str | Path, *, profile: str = "walk",
                  keep_largest: bool = False) -> tuple[RoadGraph, bool]:
    """Build (or load from cache) the workspace's pedestrian network and remember its source."""
    src = Path(source).resolve()
    bounds = ws.data_bounds()
    if bounds is None and str(ws.config["project"].get("metric_crs", "auto")).startswith("auto"):
        bounds = osm_bounds(src) if is_osm(src) else None
    crs = ws.metric_crs(bounds)
    graph, cached = load_or_build(src, crs, ws.cache_dir, profile=profile, keep_largest=keep_largest)
    store = ws.store
    store.set_meta("network_source", str(src))
    store.set_meta("network_profile", profile)
    store.set_meta("network_keep_largest", "1" if keep_largest else "0")
    return graph, cached


def load_network(ws: Workspace) -> RoadGraph:
    """The workspace's network (from the cache; rebuilt if the cache was cleared)."""
    store = ws.store
    src = store.meta("network_source")
    if not src:
        msg = f"工作区还没有路网 the workspace has no network yet: run `mzgis network {ws.root} SOURCE` first"
        raise NetworkError(msg)
    graph, _ = load_or_build(src, ws.metric_crs(), ws.cache_dir, profile=store.meta("network_profile") or "walk",
                             keep_largest=store.meta("network_keep_largest") == "1")
    return graph


def run_reach(ws: Workspace, *, facilities: str, demand: str, profile: str = "walk",
              minutes: list[float] | None = None, kind: str | None = None) -> tuple[Path, ReachResult]:
    """Reach from a facility layer to a demand layer; writes ``out/reach.csv``.

    ``out/reach.csv`` has one row per demand point: ``demand_id, nearest_facility_id, distance_m,
    minutes`` (empty distance when no facility is within the largest threshold), then the snapping
    leg and the number of facilities within each threshold.
    """
    graph = load_network(ws)
    store = ws.store
    fac = store.read(facilities)
    if kind is not None:
        from mzgis.layers.kinds import get_kind

        fac = fac[fac["kind"] == get_kind(kind).id].reset_index(drop=True)
    dem = store.read(demand)
    ths = minutes or ws.thresholds_min
    res = network_reach(graph, fac, dem, thresholds_min=ths, speed_m_per_min=ws.walk_speed_m_per_min(profile),
                        max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]))
    out = ws.out_dir / "reach.csv"
    table = res.demand.copy()
    table["distance_m"] = table["distance_m"].round(1)
    table["minutes"] = table["minutes"].round(2)
    table["access_m"] = table["access_m"].round(1)
    table.to_csv(out, index=False, encoding="utf-8-sig")
    return out, res
