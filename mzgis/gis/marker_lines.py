"""The boundary-line layer the markers belong to (``inspect markers``, ``inspect plan``, the field pages).

A store may hold several boundary-line layers whose ids collide, e.g. the bureau's imported lines
and ``boundary_lines_<units>`` derived from the admin units (ids ``C1|C2``). Combining them would
give two lines with one id. Layers whose ids are their own are all used; of layers that share ids,
the one the markers lie on (their ``line_id``'s line within ``[markers] near_m``) is used, then an
imported layer before a derived one; if that still leaves a tie, the error names the layers and
says how to choose (``--lines LAYER``).
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import pandas as pd
import shapely

from mzgis.errors import LayerError, MzgisWarning
from mzgis.gis.inputs import layers_of
from mzgis.gis.workspace import Workspace

__all__ = ["lines_for_markers"]

log = logging.getLogger(__name__)


def _ids(gdf: gpd.GeoDataFrame) -> set[str]:
    return set(gdf["feature_id"].astype(str)) if "feature_id" in gdf else set()


def _groups(names: list[str], ids: dict[str, set[str]]) -> list[list[str]]:
    """The layers in groups that share ids (connected through shared ids), in creation order."""
    groups: list[list[str]] = []
    for n in names:
        touching = [g for g in groups if any(ids[m] & ids[n] for m in g)]
        merged = [m for g in touching for m in g] + [n]
        groups = [g for g in groups if g not in touching] + [merged]
    return [sorted(g, key=names.index) for g in groups]


def _on_line(mk: gpd.GeoDataFrame, ln: gpd.GeoDataFrame, metric_crs: str, near_m: float) -> int:
    """How many markers lie within ``near_m`` of the line of this layer their ``line_id`` names."""
    if "line_id" not in mk or not len(mk) or not len(ln):
        return 0
    geo = dict(zip(ln["feature_id"].astype(str), ln.to_crs(metric_crs).geometry, strict=True))
    pts = mk.to_crs(metric_crs)
    n = 0
    for lid, pt in zip(pts["line_id"].astype(str), pts.geometry, strict=True):
        line = geo.get(lid)
        if line is not None and pt is not None and not pt.is_empty and shapely.distance(pt, line) <= near_m:
            n += 1
    return n


def _derived(ws: Workspace, name: str) -> bool:
    return str((ws.store.layer_info(name) or {}).get("source") or "").startswith("derived from")


def lines_for_markers(ws: Workspace, mk: gpd.GeoDataFrame, lines: str | None) -> gpd.GeoDataFrame:
    """The boundary lines for the markers ``mk``: layer ``lines`` when given, else the layers they
    belong to (see the module docstring); ids are unique across the result."""
    if lines:
        return layers_of(ws, "boundary_lines", lines)
    names = ws.store.layer_names("boundary_lines")
    if len(names) <= 1:
        return layers_of(ws, "boundary_lines", None)
    frames = {n: ws.store.read(n) for n in names}
    ids = {n: _ids(f) for n, f in frames.items()}
    metric = ws.metric_crs().to_string()
    near = ws.settings.markers.near_m
    chosen: list[str] = []
    for group in _groups(names, ids):
        if len(group) == 1:
            chosen += group
            continue
        score = {n: (_on_line(mk, frames[n], metric, near), not _derived(ws, n)) for n in group}
        best = max(score.values())
        top = [n for n in group if score[n] == best]
        if len(top) > 1:
            shared = sorted(set.intersection(*(ids[n] for n in top)))[:5]
            msg = (f"界线图层 {'、'.join(top)} 有相同的界线编号 the boundary-line layers {top} share line ids "
                   f"({', '.join(shared)}{' …' if len(shared) == 5 else ''}) and the markers fit each alike: "
                   f"无法判断界桩属于哪一个 cannot tell which one the markers belong to. 用 --lines LAYER 选择 choose "
                   f"one with --lines LAYER (e.g. --lines {top[0]}), 或退役其中一个图层 or retire one of the layers")
            raise LayerError(msg)
        winner = top[0]
        left = [n for n in group if n != winner]
        why = "; ".join(f"界桩不在 {n} 的界线上 the markers are not on the lines of '{n}'"
                        if score[winner][0] > score[n][0] else f"{n} 由 mzgis 派生 '{n}' was derived by mzgis"
                        for n in left)
        note = (f"界线图层 {winner} 与 {'、'.join(left)} 有相同的界线编号 boundary-line layers {[winner, *left]} share "
                f"line ids: 界桩按图层 {winner} 检查 the markers are checked against '{winner}' ({why}); "
                f"用 --lines LAYER 另选 choose another with --lines LAYER")
        warnings.warn(note, MzgisWarning, stacklevel=2)
        log.info(note)
        chosen.append(winner)
    parts = [frames[n] for n in names if n in chosen]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
