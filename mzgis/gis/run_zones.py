"""``mzgis inspect WS zones`` (火葬区/土葬改革区/禁建区 overlaid with demand and facilities) and
``mzgis inspect WS proximity`` (M6: each facility with its nearest of another set, those farther
than ``--max-m`` listed). Every input is checked before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.analysis.zones import check_zones, nearest_between, zone_overlay
from mzgis.errors import LayerError
from mzgis.gis.inputs import all_facilities, counted_statuses, file_stem, layers_of
from mzgis.gis.workspace import Workspace
from mzgis.layers.kinds import get_kind
from mzgis.maps.tables import write_table

__all__ = ["Proximity", "run_proximity", "run_zones"]

_ZONES_ZH = {"zone_id": "分区编号", "name": "名称", "zone_type": "分区类型", "area_km2": "面积(km²)",
             "population": "人口", "households": "户数", "elderly": "老年人口", "facilities": "设施数"}
_NEAR_ZH = {"feature_id": "编号", "name": "名称", "nearest_id": "最近设施编号", "nearest_name": "最近设施",
            "distance_m": "直线距离(m)", "far": "超出距离", "max_m": "距离上限(m)", "near": "对照设施"}


def run_zones(ws: Workspace, *, zones: str | None, demand: str | None = None) -> tuple[list[Path], pd.DataFrame]:
    """Per zone of layer ``zones``: population of the demand (``demand``, default every demand
    layer) and the facilities by kind inside; ``out/zones_<layer>.csv/.xlsx``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    if not zones:
        msg = "inspect zones 需要 needs --zones LAYER (火葬区、土葬改革区、禁建区的面图层 a polygon layer of zones)"
        raise LayerError(msg)
    if zones not in ws.store.layer_names():
        msg = f"--zones {zones}: 没有图层 no such layer; 图层 layers: {ws.store.layer_names()}"
        raise LayerError(msg)
    if demand and demand not in ws.store.layer_names():
        msg = f"--demand {demand}: 没有图层 no such layer; 图层 layers: {ws.store.layer_names()}"
        raise LayerError(msg)
    zone_layer = ws.store.read(zones)
    check_zones(zone_layer, zones)  # every input checked before the metric CRS is chosen (and remembered)
    dem = layers_of(ws, "demand", demand) if demand or ws.store.layer_names("demand") else None
    fac = all_facilities(ws)
    table = zone_overlay(zone_layer, ws.metric_crs().to_string(), demand=dem, facilities=fac)
    stem = f"zones_{file_stem(zones)}"
    files = write_table(table, out / f"{stem}.csv", xlsx_path=out / f"{stem}.xlsx", headers_zh=_ZONES_ZH, sheet="分区")
    return files, table


@dataclass(frozen=True)
class Proximity:
    """What ``inspect proximity`` found and wrote."""

    table: pd.DataFrame
    what: str
    near: str
    max_m: float
    files: list[Path]


def _set(ws: Workspace, name: str, flag: str) -> tuple[gpd.GeoDataFrame, str]:
    """A store layer by name, or the operating facilities of a kind."""
    if name in ws.store.layer_names():
        return ws.store.read(name), f"图层 layer {name}"
    try:
        kind = get_kind(name)
    except LayerError as exc:
        msg = f"{flag} {name}: 既不是图层也不是设施类型 neither a layer nor a facility kind. {exc}"
        raise LayerError(msg) from exc
    statuses = counted_statuses()
    fac = all_facilities(ws)
    return (fac[(fac["kind"] == kind.id) & fac["status"].isin(statuses)].reset_index(drop=True),
            f"{kind.name_zh} ({'/'.join(statuses)})")


def run_proximity(ws: Workspace, *, layer: str | None, near: str | None, max_m: Any) -> Proximity:
    """Each feature of ``layer`` (a layer or a facility kind) with its nearest of ``near``,
    straight-line metres, ``far`` beyond ``max_m``; ``out/proximity_<layer>_<near>.csv/.xlsx``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    if not layer or not near or max_m is None:
        msg = ("inspect proximity 需要 needs --layer A --near B --max-m M, e.g. --layer 养老服务中心 "
               "--near health_stations --max-m 1000")
        raise LayerError(msg)
    limit = guard.positive(max_m, "--max-m", unit="米 metres")
    a, what = _set(ws, layer, "--layer")
    b, against = _set(ws, near, "--near")
    table = nearest_between(a, b, ws.metric_crs().to_string(), max_m=limit).assign(max_m=limit, near=against)
    stem = f"proximity_{file_stem(layer)}_{file_stem(near)}"
    files = write_table(table, out / f"{stem}.csv", xlsx_path=out / f"{stem}.xlsx", headers_zh=_NEAR_ZH, sheet="最近设施")
    return Proximity(table, what, against, limit, files)
