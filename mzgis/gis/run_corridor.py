"""``mzgis inspect WS corridor``: the features of a layer (graves) within ``--width-m`` of line
layers (railways, highways, rivers), their distance and status, and the completion rate per
township and county (铁路、公路两侧整治散埋乱葬完成率).

Writes ``out/corridor_<layer>.csv/.xlsx`` (every feature inside), ``out/corridor_<layer>_units.csv/.xlsx``
(per unit) and ``out/corridor_<layer>.gpkg`` (the features inside, for QGIS). Every input is
checked before anything is written.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.analysis.corridors import DONE_STATUS, CorridorResult, check_lines, features_in_corridor
from mzgis.errors import LayerError
from mzgis.gis.inputs import file_stem, units_by_level
from mzgis.gis.workspace import Workspace
from mzgis.layers.crs import with_output_coords
from mzgis.layers.kinds import LEVEL_NAMES_ZH
from mzgis.maps.tables import write_table

__all__ = ["CorridorRun", "run_corridor"]

_INSIDE_ZH = {"feature_id": "编号", "name": "名称", "status": "状态", "done": "已完成", "distance_m": "距线距离(m)",
              "line_layer": "线图层", "line_id": "线编号", "line_name": "线名称", "line_class": "线类别",
              "lon": "经度", "lat": "纬度", "coord_system": "坐标系",
              **{lv: LEVEL_NAMES_ZH[lv] + "编码" for lv in ("district", "subdistrict", "community")},
              **{f"{lv}_name": LEVEL_NAMES_ZH[lv] for lv in ("district", "subdistrict", "community")}}
_UNITS_ZH = {"level": "层级", "unit_code": "单位编码", "unit_name": "单位名称", "inside": "廊道内数量",
             "done": "完成数量", "completion_rate": "完成率", "layer": "图层", "along": "沿线图层",
             "width_m": "宽度(m)", "done_status": "计为完成的状态"}


@dataclass(frozen=True)
class CorridorRun:
    """What ``inspect corridor`` found and wrote."""

    result: CorridorResult
    layer: str
    along: tuple[str, ...]
    n_lines: int
    files: list[Path]


def _names(text: str | None, flag: str) -> list[str]:
    parts = [p.strip() for p in (text or "").split(",")]
    if not text or any(p == "" for p in parts):
        msg = f"{flag} {text or ''}: 请给出图层名 give layer name(s), comma-separated, e.g. {flag} railways,highways"
        raise LayerError(msg)
    return list(dict.fromkeys(parts))


def _layer(ws: Workspace, name: str, flag: str) -> gpd.GeoDataFrame:
    names = ws.store.layer_names()
    if name not in names:
        msg = f"{flag} {name}: 没有图层 no such layer; 图层 layers: {names}"
        raise LayerError(msg)
    return ws.store.read(name)


def _units(ws: Workspace, by: str | None) -> dict[str, gpd.GeoDataFrame]:
    have = units_by_level(ws)
    if not by:
        return {lv: have[lv] for lv in ("district", "subdistrict", "community") if lv in have}
    out = {}
    for lv in _names(by, "--by"):
        if lv not in have:
            msg = (f"--by {lv}: 没有这一级的行政区划 no admin units of level '{lv}' in the store; "
                   f"已有 levels there are: {sorted(have) or '无 none'} (import units with --type admin_units --level …)")
            raise LayerError(msg)
        out[lv] = have[lv]
    return out


def run_corridor(ws: Workspace, *, layer: str, along: str, width_m: Any, by: str | None = None,
                 done: str | None = None, status_field: str = "status", coords: str = "wgs84") -> CorridorRun:
    """The features of ``layer`` within ``width_m`` of the line layers ``along`` (comma-separated),
    per unit of the levels ``by`` (default: every level in the store); see the module."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    width = guard.positive(width_m, "--width-m", unit="米 metres")
    feats = _layer(ws, layer, "--layer")
    parts = []
    along_names = _names(along, "--along")
    for name in along_names:
        g = _layer(ws, name, "--along")
        check_lines(g, name)
        parts.append(g.assign(line_layer=name))
    lines = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    done_set = tuple(_names(done, "--done")) if done else (DONE_STATUS,)
    guard.require_columns(feats, [status_field], layer,
                          fix="用 --status-field 指定状态字段 name the status field with --status-field")
    levels = _units(ws, by)  # every input checked before the metric CRS is chosen (and remembered)
    res = features_in_corridor(feats, lines, width, ws.metric_crs().to_string(), status=status_field,
                               done=done_set, units=levels)
    inside = res.inside
    cols = [c for c in ["feature_id", "name", "status", "done", "distance_m", "line_layer", "line_id", "line_name",
                        "line_class"] if c in inside.columns]
    cols += [c for lv in levels for c in (lv, f"{lv}_name")]
    table = with_output_coords(pd.DataFrame(inside[[*cols, "lon", "lat"]]), coords)
    units = res.summary.assign(layer=layer, along=",".join(along_names), width_m=width,
                               done_status=",".join(done_set))
    stem = f"corridor_{file_stem(layer)}"
    files = write_table(table, out / f"{stem}.csv", xlsx_path=out / f"{stem}.xlsx", headers_zh=_INSIDE_ZH,
                        sheet="廊道内要素")
    files += write_table(units, out / f"{stem}_units.csv", xlsx_path=out / f"{stem}_units.xlsx",
                         headers_zh=_UNITS_ZH, sheet="完成率")
    files.append(_write_gpkg(inside[[*cols, inside.geometry.name]], out / f"{stem}.gpkg"))
    return CorridorRun(res, layer, tuple(along_names), len(lines), files)


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    import pyogrio

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.gpkg")
    try:
        pyogrio.write_dataframe(gdf.to_crs("EPSG:4326"), tmp, layer="corridor", driver="GPKG")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path
