"""Inputs chosen from the workspace: layers by role, the network, demand, and the settings
that several commands share (counted statuses, snapping).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis.coverage import (
    assign_units,
)
from mzgis.analysis.demand import (
    DemandSettings,
    demand_from_layer,
    demand_from_raster,
    demand_from_units,
)
from mzgis.analysis.reach import (
    network_reach,
)
from mzgis.analysis.snapping import SegmentIndex
from mzgis.analysis.units import unit_names
from mzgis.errors import LayerError, NetworkError
from mzgis.gis.workspace import Workspace
from mzgis.layers.importer import prepare_layer
from mzgis.layers.network import RoadGraph, is_osm, load_or_build, osm_bounds
from mzgis.layers.schemas import OPERATING, PLANNED, SCENARIO_STATUSES, UNDER_CONSTRUCTION
from mzgis.layers.sources import read_source
from mzgis.layers.store import ImportReport

log = logging.getLogger(__name__)


#: Which facility statuses each scenario counts (:data:`mzgis.layers.schemas.SCENARIO_STATUSES`).
SCENARIOS = SCENARIO_STATUSES


def counted_statuses(status: str | None = None, scenario: str | None = None) -> tuple[str, ...]:
    """The facility statuses an analysis counts: ``--status`` (comma-separated, Chinese or English)
    or ``--scenario today|planned``; default 建成运营 (operating only)."""
    from mzgis.layers.schemas import FACILITY_STATUSES

    if status and scenario:
        msg = "--status 与 --scenario 只能给一个 give either --status or --scenario, not both"
        raise LayerError(msg)
    if scenario:
        if scenario not in SCENARIOS:
            msg = f"不认识的情景 unknown --scenario '{scenario}'; use one of {', '.join(SCENARIOS)}"
            raise LayerError(msg)
        return SCENARIOS[scenario]
    if not status:
        return SCENARIOS["today"]
    out = []
    for part in (x.strip() for x in status.split(",")):
        if part not in FACILITY_STATUSES:
            msg = (f"不认识的状态 unknown --status '{part}'; use {OPERATING} (operating), {UNDER_CONSTRUCTION} "
                   f"(under_construction) or {PLANNED} (planned), comma-separated")
            raise LayerError(msg)
        out.append(FACILITY_STATUSES[part])
    return tuple(dict.fromkeys(out))


def snap_setting(ws: Workspace, override: str | None = None) -> Any:
    """``main`` or ``any``: ``--snap-to`` if given, else ``[travel] snap_to`` (default ``main``)."""
    from mzgis.analysis.snapping import SNAP_TO

    value = override or ws.settings.travel.snap_to
    if value not in SNAP_TO:
        msg = f"{ws.config_path}: [travel] snap_to = {value!r} 应为 must be one of {', '.join(SNAP_TO)}"
        raise LayerError(msg)
    return value


def counted_label(kind_zh: str, statuses: tuple[str, ...]) -> str:
    """What a figure counted, for the console, the tables and the report."""
    return f"{kind_zh}（{'、'.join(statuses)}）"


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
    user: str | None = None,
    source_label: str | None = None,
) -> ImportReport:
    """Read, validate and store one source file as a layer, in one atomic step.

    ``user`` names who imported it in the store's history (default: the current user, as
    ``mzgis import`` does); ``source_label`` is recorded as the layer's source instead of the path
    (the web app imports from a temporary copy of the upload)."""
    raw = read_source(source, sheet=sheet, source_layer=source_layer, encoding=encoding)
    if coords is None and raw.is_table:
        coords = ws.settings.import_.default_coords or None
    prepared = prepare_layer(raw, layer_type, kind=kind, level=level, coords=coords, field_map=field_map,
                             id_field=id_field, extent=ws.extent, join_arrays=join_arrays)
    report = ws.store.write_layer(layer, prepared.gdf, layer_type=layer_type, kind=prepared.kind,
                                  level=prepared.level, source=source_label or str(source),
                                  source_coords=prepared.source_coords, user=user,
                                  retire_missing=retire_missing, keep_ids=prepared.skipped_ids,
                                  note=(f"跳过 skipped {len(prepared.skipped)} rows of the wrong geometry kind: "
                                        + "; ".join(p.row for p in prepared.skipped[:20])) if prepared.skipped else None)
    report.notes = prepared.notes
    report.skipped = [str(p) for p in prepared.skipped]
    return report


# -- network -----------------------------------------------------------------------------------
def build_network(ws: Workspace, source: str | Path, *, profile: str = "walk",
                  keep_largest: bool = False) -> tuple[RoadGraph, bool]:
    """Build (or load from cache) the workspace's pedestrian network and remember its source."""
    src = Path(source).resolve()
    if not src.is_file():
        what = "是文件夹 is a folder" if src.is_dir() else "不存在 not found"
        msg = (f"路网文件 network source {source} {what}; 请给出 .osm/.osm.pbf 或道路线文件 give an .osm, .osm.pbf "
               "or road-line file")
        raise NetworkError(msg)
    if not is_osm(src) and src.suffix.lower() not in (".shp", ".geojson", ".json", ".gpkg"):
        msg = (f"路网文件 network source {source}: 不支持的格式 unsupported format '{src.suffix}'; 请给出 use an "
               ".osm, .osm.pbf, .osm.bz2 file or road lines as .shp, .geojson or .gpkg")
        raise NetworkError(msg)

    def bounds() -> tuple[float, float, float, float] | None:  # only when the CRS is not known yet
        b = ws.data_bounds()
        if b is None and ws.settings.project.metric_crs.startswith("auto"):
            b = osm_bounds(src) if is_osm(src) else None
        return b

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


# -- layers by role ------------------------------------------------------------------------------
def units_by_level(ws: Workspace) -> dict[str, gpd.GeoDataFrame]:
    """The admin-unit layers of the store by level (several layers of one level are combined)."""
    store = ws.store
    out: dict[str, list[gpd.GeoDataFrame]] = {}
    for name in store.layer_names("admin_units"):
        g = store.read(name)
        for level, part in g.groupby("level"):
            out.setdefault(str(level), []).append(part)
    return {lv: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs) for lv, parts in out.items()}


def all_facilities(ws: Workspace) -> gpd.GeoDataFrame:
    """Every facility layer of the store, concatenated (a ``layer`` column says which).

    The one place analyses gather facilities: the same station in two layers of one kind is
    refused (:func:`mzgis.gis.double_count.check_facility_layers`), never counted twice."""
    from mzgis.gis.double_count import check_facility_layers

    store = ws.store
    parts = [store.read(n).assign(layer=n) for n in store.layer_names("facilities")]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame({"feature_id": [], "kind": [], "status": [], "layer": []},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    if len(parts) > 1:
        check_facility_layers(out, ws.metric_crs().to_string(), ws_hint=str(ws.root))
    return out


def demand_settings(ws: Workspace) -> DemandSettings:
    """``[demand]`` of mzgis.toml."""
    return ws.settings.demand


def load_demand(ws: Workspace, demand: str | None = None, graph: RoadGraph | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Demand points: a named layer, a raster file, every demand layer, or else spread from the
    community (or subdistrict) polygons. Returns the points and a description of the source."""
    store = ws.store
    s = demand_settings(ws)
    if demand is not None and Path(demand).suffix.lower() in (".tif", ".tiff"):
        return demand_from_raster(demand, settings=s), f"raster {demand}"
    if demand is not None:
        return demand_from_layer(store.read(demand), ws.metric_crs().to_string(), settings=s), f"layer {demand}"
    names = store.layer_names("demand")
    if names:
        from mzgis.gis.double_count import check_demand_layers

        read = {n: store.read(n) for n in names}
        check_demand_layers(read, ws.metric_crs().to_string(), ws_hint=str(ws.root))
        read = {n: g for n, g in read.items() if len(g)} or read  # a dropped layer has no features
        names = list(read)
        parts = [demand_from_layer(g, ws.metric_crs().to_string(), settings=s) for g in read.values()]
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs), "layers " + ", ".join(names)
    units = units_by_level(ws)
    for level in ("community", "subdistrict"):
        if level in units and graph is not None:
            return demand_from_units(units[level], graph, settings=s), f"{level} polygons spread over network nodes"
    msg = ("没有需求数据 no demand: import residential points (--type demand), or community polygons with 户数/人口, "
           "or pass --demand population.tif")
    raise LayerError(msg)


def minutes_fn(ws: Workspace, graph: RoadGraph | None, demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
               profile: str, statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None) -> Any:
    """``f(kinds) -> Series``: walking minutes from each demand point to the nearest facility of
    the kinds and ``statuses`` (the indicators' ``minutes_to_nearest``); None without a network."""
    if graph is None:
        return None
    index = SegmentIndex.shared(graph, snap_to=snap_setting(ws, snap_to))
    speed = ws.walk_speed_m_per_min(profile)
    ths = ws.thresholds_min
    snap = ws.settings.travel.max_snap_distance_m
    dem = demand.rename(columns={"demand_id": "feature_id"})

    def minutes(kinds: Any) -> pd.Series:
        fac = facilities[facilities["kind"].isin(list(kinds)) & facilities["status"].isin(statuses)]
        res = network_reach(graph, fac, dem, thresholds_min=ths, speed_m_per_min=speed, max_snap_m=snap,
                            pairs=False, index=index)
        return res.demand["minutes"]

    return minutes


#: Store meta key that only the demo sets (:func:`mzgis.gis.demo.run_demo`): the workspace holds
#: generated sample data, and maps and reports carry the 示例数据 banner. Never inferred from the
#: data: a bureau's real table may well have a 数据来源 column.
SAMPLE_DATA_KEY = "sample_data"


def is_sample_workspace(ws: Workspace) -> bool:
    """True only for a workspace the demo built (its store is marked, see :data:`SAMPLE_DATA_KEY`)."""
    return ws.store.meta(SAMPLE_DATA_KEY) == "demo"


def check_admin_layer(ws: Workspace, name: str, flag: str) -> None:
    """Refuse a missing layer, or one that is not admin units (polygons), where one is needed."""
    info = ws.store.layer_info(name)
    if info is None:
        msg = f"{flag} {name}: 没有图层 no such layer; 图层 layers: {ws.store.layer_names('admin_units')}"
        raise LayerError(msg)
    if info.get("layer_type") != "admin_units":
        kind = info.get("layer_type")
        msg = (f"{flag} {name}: 图层类型为 {kind}，不是行政区划 is a {kind} layer, not admin units (polygons); "
               "请给出以 --type admin_units 导入的图层 give a layer imported with --type admin_units")
        raise LayerError(msg)


def layers_of(ws: Workspace, layer_type: str, name: str | None) -> gpd.GeoDataFrame:
    """The layer ``name``, or every layer of ``layer_type`` combined; an error when there is none."""
    store = ws.store
    names = [name] if name else store.layer_names(layer_type)
    if not names:
        msg = f"没有 {layer_type} 图层 no {layer_type} layer in the store: import one with --type {layer_type}"
        raise LayerError(msg)
    parts = [store.read(n) for n in names]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def file_stem(name: str) -> str:
    """A kind id or layer name as a safe part of an output file name."""
    from mzgis.layers.paths import safe_filename

    return safe_filename(name, default="layer")


def facilities_of(ws: Workspace, kind_id: str, statuses: tuple[str, ...]) -> gpd.GeoDataFrame:
    """The facilities of one kind and the counted ``statuses``, from every facility layer."""
    fac = all_facilities(ws)
    return fac[(fac["kind"] == kind_id) & fac["status"].isin(statuses)].reset_index(drop=True)


def unit_context(ws: Workspace, dem: gpd.GeoDataFrame) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame,
                                                                 dict[str, dict[str, str]], tuple[str, str]]:
    """The admin units by level, the unit of each demand point per level, the units' names and the
    jurisdiction's row (code ``ALL``, name from ``[project]``): what the per-unit tables need."""
    units = units_by_level(ws)
    return units, assign_units(dem, units), unit_names(units), ("ALL", ws.settings.project.jurisdiction_name)
