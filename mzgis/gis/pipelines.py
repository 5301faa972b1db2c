"""Pipelines that chain layers → analysis → maps for the commands."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from mzgis.analysis.addresses import check_addresses, check_place_names
from mzgis.analysis.area_standard import (
    AREA_COLUMNS,
    AREA_COLUMNS_ZH,
    area_standard,
    rules_from_config,
)
from mzgis.analysis.boundaries import BoundaryLines, derive_boundary_lines, inspect_units
from mzgis.analysis.coverage import (
    COVERAGE_COLUMNS_ZH,
    assign_units,
    coverage_table,
    uncovered_units,
)
from mzgis.analysis.demand import (
    DemandSettings,
    demand_from_layer,
    demand_from_raster,
    demand_from_units,
)
from mzgis.analysis.indicators import (
    INDICATOR_COLUMNS_ZH,
    IndicatorContext,
    evaluate,
    indicator_set,
    plan_title,
)
from mzgis.analysis.markers import MarkerSettings, inspect_markers, inspection_plan
from mzgis.analysis.reach import (
    ReachResult,
    facility_pairs,
    nearest_facility,
    network_reach,
    points_xy,
)
from mzgis.analysis.service_areas import service_areas
from mzgis.analysis.siting import CoverageProblem, SitingResult, network_candidates, solve
from mzgis.analysis.snapping import SegmentIndex
from mzgis.errors import ConfigError, DuplicateRecordError, LayerError, NetworkError
from mzgis.gis.workspace import Workspace
from mzgis.layers.importer import prepare_layer
from mzgis.layers.kinds import KINDS, get_kind
from mzgis.layers.network import RoadGraph, file_hash, is_osm, load_or_build, osm_bounds
from mzgis.layers.safe_text import write_csv
from mzgis.layers.sources import read_source
from mzgis.layers.store import ImportReport
from mzgis.maps.tables import write_table

if TYPE_CHECKING:
    from mzgis.maps.areas import display_service_areas
    from mzgis.maps.docx_report import write_docx
    from mzgis.maps.labels import osm_roads, road_label_points
    from mzgis.maps.print_map import SheetInfo, paper_names, render_sheets
    from mzgis.maps.report import ReportContent, check_template, cjk_font, report_html, static_map
    from mzgis.maps.summary import conclusion, report_tables
    from mzgis.maps.webmap import MapData, build_map, save_map, tile_url
else:
    # the map modules (folium, branca: ~1 s) load when a map or report is made, not at start-up
    def _lazy(module: str, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(module), name)(*args, **kwargs)

        call.__name__ = name
        return call

    cjk_font, report_html, static_map = (_lazy("mzgis.maps.report", n) for n in ("cjk_font", "report_html",
                                                                                    "static_map"))
    MapData, build_map, save_map, tile_url = (_lazy("mzgis.maps.webmap", n)
                                              for n in ("MapData", "build_map", "save_map", "tile_url"))
    (display_service_areas,) = (_lazy("mzgis.maps.areas", n) for n in ("display_service_areas",))
    osm_roads, road_label_points = (_lazy("mzgis.maps.labels", n) for n in ("osm_roads", "road_label_points"))
    ReportContent, check_template = (_lazy("mzgis.maps.report", n) for n in ("ReportContent", "check_template"))
    (write_docx,) = (_lazy("mzgis.maps.docx_report", n) for n in ("write_docx",))
    SheetInfo, paper_names, render_sheets = (_lazy("mzgis.maps.print_map", n) for n in ("SheetInfo", "paper_names",
                                                                                        "render_sheets"))
    conclusion, report_tables = (_lazy("mzgis.maps.summary", n) for n in ("conclusion", "report_tables"))

__all__ = [
    "SAMPLE_DATA_KEY",
    "all_facilities",
    "build_network",
    "import_file",
    "inspection_plan_table",
    "is_sample_workspace",
    "latest_today",
    "load_demand",
    "load_network",
    "parse_join_npy",
    "roads_layer",
    "run_boundaries",
    "run_coverage",
    "run_inspect",
    "run_map",
    "run_reach",
    "run_record",
    "run_report",
    "run_site",
    "run_standards",
    "units_by_level",
    "write_report",
]

log = logging.getLogger(__name__)

#: Which facility statuses each scenario counts. "today" is what operates now; "planned" adds the
#: stations under construction and in the plan, so "today" and "when the committed stations open"
#: can be reported side by side.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "today": ("建成运营",),
    "planned": ("建成运营", "在建", "规划"),
}


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
            msg = (f"不认识的状态 unknown --status '{part}'; use 建成运营 (operating), 在建 (under_construction) "
                   "or 规划 (planned), comma-separated")
            raise LayerError(msg)
        out.append(FACILITY_STATUSES[part])
    return tuple(dict.fromkeys(out))


def snap_setting(ws: Workspace, override: str | None = None) -> Any:
    """``main`` or ``any``: ``--snap-to`` if given, else ``[travel] snap_to`` (default ``main``)."""
    from mzgis.analysis.snapping import SNAP_TO

    value = override or str(ws.config["travel"].get("snap_to", "main"))
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
        if b is None and str(ws.config["project"].get("metric_crs", "auto")).startswith("auto"):
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


def run_reach(ws: Workspace, *, facilities: str, demand: str, profile: str = "walk",
              minutes: list[float] | None = None, kind: str | None = None,
              statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None,
              ) -> tuple[Path, ReachResult]:
    """Reach from a facility layer to a demand layer; writes ``out/reach.csv``.

    ``out/reach.csv`` has one row per demand point: ``demand_id, nearest_facility_id, distance_m,
    minutes`` (empty distance when no facility is within the largest threshold), then the snapping
    leg and the number of facilities within each threshold. Only facilities of ``statuses`` count
    (default 建成运营); the file says which in its ``facility_status`` column.
    """
    graph = load_network(ws)
    store = ws.store
    fac = store.read(facilities)
    if kind is not None:
        fac = fac[fac["kind"] == get_kind(kind).id].reset_index(drop=True)
    if "status" in fac.columns:
        fac = fac[fac["status"].isin(statuses)].reset_index(drop=True)
    dem = store.read(demand)
    ths = minutes or ws.thresholds_min
    res = network_reach(graph, fac, dem, thresholds_min=ths, speed_m_per_min=ws.walk_speed_m_per_min(profile),
                        max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]),
                        snap_to=snap_setting(ws, snap_to))
    out = ws.out_dir / "reach.csv"
    table = res.demand.copy()
    table["facility_status"] = "、".join(statuses)
    table["snap_to"] = res.snap_to
    table["distance_m"] = table["distance_m"].round(1)
    table["minutes"] = table["minutes"].round(2)
    table["access_m"] = table["access_m"].round(1)
    write_csv(table, out)
    return out, res


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
    """Every facility layer of the store, concatenated (a ``layer`` column says which)."""
    store = ws.store
    parts = [store.read(n).assign(layer=n) for n in store.layer_names("facilities")]
    parts = [p for p in parts if len(p)]
    if not parts:
        return gpd.GeoDataFrame({"feature_id": [], "kind": [], "status": [], "layer": []},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def demand_settings(ws: Workspace) -> DemandSettings:
    """``[demand]`` of mzgis.toml."""
    d = ws.config["demand"]
    return DemandSettings(float(d["persons_per_household"]), float(d["elderly_share"]),
                          float(d["floor_area_per_household_m2"]), float(d["default_floors"]))


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
        parts = [demand_from_layer(store.read(n), ws.metric_crs().to_string(), settings=s) for n in names]
        return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs), "layers " + ", ".join(names)
    units = units_by_level(ws)
    for level in ("community", "subdistrict"):
        if level in units and graph is not None:
            return demand_from_units(units[level], graph, settings=s), f"{level} polygons spread over network nodes"
    msg = ("没有需求数据 no demand: import residential points (--type demand), or community polygons with 户数/人口, "
           "or pass --demand population.tif")
    raise LayerError(msg)


def _minutes_fn(ws: Workspace, graph: RoadGraph | None, demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                profile: str, statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None) -> Any:
    if graph is None:
        return None
    index = SegmentIndex.shared(graph, snap_to=snap_setting(ws, snap_to))
    speed = ws.walk_speed_m_per_min(profile)
    ths = ws.thresholds_min
    snap = float(ws.config["travel"]["max_snap_distance_m"])
    dem = demand.rename(columns={"demand_id": "feature_id"})

    def minutes(kinds: Any) -> pd.Series:
        fac = facilities[facilities["kind"].isin(list(kinds)) & facilities["status"].isin(statuses)]
        res = network_reach(graph, fac, dem, thresholds_min=ths, speed_m_per_min=speed, max_snap_m=snap,
                            pairs=False, index=index)
        return res.demand["minutes"]

    return minutes


# -- coverage and standards ------------------------------------------------------------------------
@dataclass
class CoverageRun:
    """Outputs of :func:`run_coverage`."""

    table: pd.DataFrame
    uncovered: pd.DataFrame
    files: list[Path]
    demand_source: str
    unsnapped_demand: int
    unsnapped_facilities: list[str]
    statuses: tuple[str, ...] = SCENARIOS["today"]
    facilities_counted: int = 0
    snapping: str = ""


def run_coverage(ws: Workspace, *, kind: str, minutes: list[float] | None = None, demand: str | None = None,
                 profile: str = "walk", statuses: tuple[str, ...] = SCENARIOS["today"],
                 snap_to: str | None = None, user: str | None = None) -> CoverageRun:
    """15-minute service-circle coverage of a facility kind, per unit; see ``mzgis coverage``.

    ``user`` is recorded in the history of the gaps layer it writes (default: the login name).

    Only facilities of ``statuses`` count (default 建成运营, operating); every table says which.
    """
    k = get_kind(kind)
    graph = load_network(ws)
    fac_all = all_facilities(ws)
    fac = fac_all[(fac_all["kind"] == k.id) & fac_all["status"].isin(statuses)].reset_index(drop=True)
    dem, source = load_demand(ws, demand, graph)
    ths = minutes or ws.thresholds_min
    res = network_reach(graph, fac, dem.rename(columns={"demand_id": "feature_id"}), thresholds_min=ths,
                        speed_m_per_min=ws.walk_speed_m_per_min(profile),
                        max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]), pairs=False,
                        snap_to=snap_setting(ws, snap_to))
    units = units_by_level(ws)
    unit_of = assign_units(dem, units)
    names = {lv: dict(zip(u["feature_id"].astype(str), u["name"].astype(str), strict=True)) for lv, u in units.items()}
    jname = str(ws.config["project"].get("jurisdiction") or ws.config["project"].get("name") or "辖区")
    table = coverage_table(dem, res.demand["minutes"], ths, unit_of=unit_of, unit_names=names,
                           jurisdiction=("ALL", jname))
    unc = uncovered_units(table, level="community" if "community" in units else "subdistrict")
    # say what was counted, in every row a planner may copy out
    for t in (table, unc):
        t["facility_kind"] = k.name_zh
        t["facility_status"] = "、".join(statuses)
    out = ws.out_dir
    stem = _file_stem(k.id)
    files = write_table(table, out / f"coverage_{stem}.csv", xlsx_path=out / f"coverage_{stem}.xlsx",
                        headers_zh=COVERAGE_COLUMNS_ZH, sheet=f"{k.name_zh}覆盖")
    files += write_table(unc, out / f"uncovered_{stem}.csv")
    # the uncovered demand as a layer, for siting and maps
    far = ~(res.demand["minutes"] <= max(ths) + 1e-9)
    gaps = dem.loc[far.to_numpy()].rename(columns={"demand_id": "feature_id"}).copy()
    gaps["minutes_to_nearest"] = res.demand.loc[far, "minutes"].to_numpy()
    gaps["kind"] = k.id
    gaps["threshold_min"] = max(ths)
    if len(gaps) or f"gaps_{k.id}" in ws.store.layer_names():
        ws.store.write_layer(f"gaps_{k.id}", gaps, layer_type="gaps", kind=k.id, retire_missing=True,
                             note=f"coverage {k.id} {max(ths):g} min", user=user)
    return CoverageRun(table, unc, files, source, int((~res.demand["snapped"]).sum()), res.unsnapped_facilities,
                       statuses=statuses, facilities_counted=len(fac),
                       snapping=res.island_summary(dem["households"].reset_index(drop=True)
                                                   if "households" in dem else None))


@dataclass
class StandardsRun:
    """Outputs of :func:`run_standards`."""

    indicators: pd.DataFrame
    area: pd.DataFrame
    files: list[Path]


def run_standards(ws: Workspace, *, plan: str | None = None, profile: str = "walk",
                  statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None) -> StandardsRun:
    """Evaluate the workspace's indicators and the per-100-household area standard.

    Facilities of ``statuses`` count where an indicator does not name its own statuses."""
    cfg = dict(ws.config)
    if plan is not None:
        cfg["indicators"] = {**cfg.get("indicators", {}), "plan": plan, "targets": {}, "params": {}}
    inds = indicator_set(cfg, ws.root)
    units = units_by_level(ws)
    fac = all_facilities(ws)
    try:
        graph: RoadGraph | None = load_network(ws)
    except NetworkError:
        graph = None
    try:
        dem, _ = load_demand(ws, None, graph)
    except LayerError:
        dem = None
    rules = rules_from_config(ws.config.get("area_rules"))
    ctx = IndicatorContext(fac, units, ws.metric_crs().to_string(), demand=dem,
                           minutes_to_nearest=(_minutes_fn(ws, graph, dem, fac, profile, statuses, snap_to)
                                               if dem is not None else None),
                           area_rules=rules, statuses=statuses)
    table = evaluate(inds, ctx)
    out = ws.out_dir
    files = write_table(table, out / "indicators.csv", xlsx_path=out / "indicators.xlsx",
                        headers_zh=INDICATOR_COLUMNS_ZH, sheet="指标")
    area = pd.DataFrame(columns=AREA_COLUMNS)
    if "community" in units:
        cs = fac[fac["kind"] == "community_service"]
        hh = None
        if dem is not None:
            where = assign_units(dem, {"community": units["community"]})
            hh = dem["households"].groupby(where["community"].to_numpy()).sum() if "community" in where else None
        area = area_standard(units["community"], cs, households=hh, rules=rules)
        files += write_table(area, out / "area_standard.csv", xlsx_path=out / "area_standard.xlsx",
                             headers_zh=AREA_COLUMNS_ZH, sheet="每百户面积")
    return StandardsRun(table, area, files)


# -- maps and reports -------------------------------------------------------------------------------
def roads_layer(graph: RoadGraph) -> gpd.GeoDataFrame:
    """The network's edges merged into lines, for the offline vector basemap."""
    segs = np.stack([np.column_stack([graph.x[graph.u], graph.y[graph.u]]),
                     np.column_stack([graph.x[graph.v], graph.y[graph.v]])], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(segs)))
    parts = list(getattr(merged, "geoms", [merged]))
    return gpd.GeoDataFrame(geometry=parts, crs=graph.crs)


#: Store meta key that only the demo sets (:func:`mzgis.gis.demo.run_demo`): the workspace holds
#: generated sample data, and maps and reports carry the 示例数据 banner. Never inferred from the
#: data: a bureau's real table may well have a 数据来源 column.
SAMPLE_DATA_KEY = "sample_data"


def is_sample_workspace(ws: Workspace) -> bool:
    """True only for a workspace the demo built (its store is marked, see :data:`SAMPLE_DATA_KEY`)."""
    return ws.store.meta(SAMPLE_DATA_KEY) == "demo"


@dataclass
class MapRun:
    """Outputs of :func:`run_map`."""

    path: Path
    size_bytes: int
    data: MapData
    coverage: CoverageRun | None
    standards: StandardsRun | None


def _map_roads(ws: Workspace, graph: RoadGraph | None) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """The map's road basemap and road-name labels: the OSM ways (classes, names) of the network's
    local source file when it is an OSM extract, else the network's own edges (no names)."""
    if graph is None:
        return None, None
    src = ws.store.meta("network_source")
    if src and is_osm(Path(src)) and Path(src).exists():
        from pyproj import Transformer

        lon, lat = Transformer.from_crs(graph.crs, "EPSG:4326", always_xy=True).transform(
            [graph.x.min(), graph.x.max()], [graph.y.min(), graph.y.max()])
        bbox = (min(lon), min(lat), max(lon), max(lat))
        # read once per extract and network extent (a city's extract takes tens of seconds to read)
        key = file_hash(src)[:16] + "_" + "_".join(f"{v:.4f}" for v in bbox)
        cache = ws.cache_dir / f"map_roads_{hashlib.sha256(key.encode()).hexdigest()[:20]}.parquet"
        label_cache = cache.with_name(cache.stem + "_labels.parquet")
        try:
            if cache.exists() and label_cache.exists():
                return gpd.read_parquet(cache), pd.read_parquet(label_cache)
            roads = osm_roads(src, bbox=bbox)
        except (NetworkError, OSError, ValueError) as exc:
            log.warning("map roads from the network instead: %s", exc)
        else:
            if len(roads):
                labels = road_label_points(roads)
                try:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    roads.to_parquet(cache)
                    labels.to_parquet(label_cache)
                except (OSError, ValueError) as exc:
                    log.warning("map roads not cached: %s", exc)
                return roads, labels
    return roads_layer(graph), None


def run_map(ws: Workspace, *, kinds: list[str] | None = None, basemap: str = "roads", out: Path | None = None,
            profile: str = "walk", statuses: tuple[str, ...] = SCENARIOS["today"],
            snap_to: str | None = None) -> MapRun:
    """Compute what the map shows (coverage, service areas, indicators) and write the page.

    Coverage, service areas and indicators count facilities of ``statuses`` (default 建成运营)."""
    store = ws.store
    tiles = ws.config.get("maps", {}).get("tiles")
    tiles = tile_url(tiles) if tiles not in (None, "") else ""  # checked first: a bad value costs no analysis
    fac = all_facilities(ws)
    kind_ids = [get_kind(k).id for k in kinds] if kinds else list(dict.fromkeys(fac["kind"].astype(str)))
    shown = fac[fac["kind"].isin(kind_ids)] if kinds else fac
    units = units_by_level(ws)
    try:
        graph: RoadGraph | None = load_network(ws)
    except NetworkError:
        graph = None
    cov = None
    sa = None
    gaps = None
    walkable = [k for k in kind_ids if KINDS[k].threshold_min is not None] or kind_ids[:1]
    main_kind = walkable[0] if walkable else None
    if graph is not None and main_kind is not None:
        try:
            cov = run_coverage(ws, kind=main_kind, profile=profile, statuses=statuses, snap_to=snap_to)
        except LayerError as exc:
            log.warning("no coverage on the map: %s", exc)
        speed = ws.walk_speed_m_per_min(profile)
        op = shown[shown["status"].isin(statuses) & shown["kind"].isin(walkable)]
        if len(op):
            # dissolved per kind on a grid (mzgis.maps.areas): the exact union is minutes at city scale
            sa = display_service_areas(graph, op, thresholds_min=ws.thresholds_min, speed_m_per_min=speed,
                                       buffer_m=float(ws.config["travel"]["service_area_buffer_m"]),
                                       max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]), dissolve_by="kind",
                                       snap_to=snap_setting(ws, snap_to))
        if f"gaps_{main_kind}" in store.layer_names():
            gaps = store.read(f"gaps_{main_kind}")
    std = run_standards(ws, profile=profile, statuses=statuses, snap_to=snap_to)
    markers = None
    for name in store.layer_names("boundary_markers"):
        markers = store.read(name)
    sites = None
    site_areas = None
    for k in kind_ids:
        if f"sites_{k}" in store.layer_names():
            sites = store.read(f"sites_{k}").rename(columns={"feature_id": "candidate_id"})
            if graph is not None and len(sites):
                site_areas = service_areas(graph, sites.assign(kind="proposed", feature_id=sites["candidate_id"]),
                                           thresholds_min=ws.thresholds_min, speed_m_per_min=ws.walk_speed_m_per_min(profile),
                                           buffer_m=float(ws.config["travel"]["service_area_buffer_m"]),
                                           dissolve_by="kind", snap_to=snap_setting(ws, snap_to))
    sample = is_sample_workspace(ws)
    roads, labels = _map_roads(ws, graph)
    try:
        focus = load_demand(ws, None, graph)[0] if graph is not None else None
    except LayerError:
        focus = None
    data = MapData(
        title=f"{ws.config['project'].get('jurisdiction') or ws.config['project'].get('name')} 民政设施与服务圈",
        facilities=shown, units=units, coverage=cov.table if cov else None,
        coverage_kind=main_kind if cov is not None else None,
        service_areas=sa, gaps=gaps, markers=markers, roads=roads,
        sites=sites, site_areas=site_areas, indicators=std.indicators, sample=sample,
        tianditu_key=str(ws.config.get("maps", {}).get("tianditu_key", "")), focus=focus, labels=labels, tiles=tiles)
    m = build_map(data, basemap=basemap)
    path, size = save_map(m, out or ws.out_dir / "map.html")
    return MapRun(path, size, data, cov, std)


def run_report(ws: Workspace, *, kinds: list[str] | None = None, profile: str = "walk",
               statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None,
               date: str | dt.date | None = None, paper: str = "all") -> list[Path]:
    """``out/report.html`` (one self-contained file), ``out/report.docx`` and the print maps
    ``out/map_<A4|A3>_<landscape|portrait>.pdf``; see :func:`write_report`."""
    day = report_date(date)  # a bad --date, --paper or template fails before any work
    paper_names(paper)
    check_template(ws.root / "templates")
    return write_report(ws, run_map(ws, kinds=kinds, out=ws.out_dir / "map.html", profile=profile,
                                    statuses=statuses, snap_to=snap_to), date=day, paper=paper)


def report_date(value: str | dt.date | None) -> dt.date:
    """The report's date: ``--date YYYY-MM-DD``, else today."""
    if value is None or value == "":
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        msg = f"错误的日期 bad --date '{value}': 应为 use the form YYYY-MM-DD, e.g. 2026-11-20"
        raise ConfigError(msg) from None


def issuing_unit(ws: Workspace) -> str:
    """制图单位/发布单位: ``[report] issuing_unit``, else ``[project] name``."""
    rep = ws.config.get("report", {})
    unit = rep.get("issuing_unit") if isinstance(rep, dict) else None
    if unit is not None and not isinstance(unit, str):
        msg = f"{ws.config_path}: [report] issuing_unit = {unit!r} 应为文字 must be text, e.g. \"朝阳区民政局\""
        raise ConfigError(msg)
    return str(unit or ws.config["project"].get("name") or "")


def write_report(ws: Workspace, mp: MapRun, *, date: dt.date | None = None, paper: str = "all") -> list[Path]:
    """Write the report around a map that :func:`run_map` made: ``report.html`` (the PNG and the
    interactive map embedded), ``report.docx``, ``map_coverage.png`` and the PDF map sheets."""
    out = ws.out_dir
    day = date or dt.date.today()
    unit = issuing_unit(ws)
    notes = []
    sources = ["路网 street network © OpenStreetMap contributors (ODbL 1.0)"]
    if mp.coverage is not None:
        t = mp.coverage.table
        kind_zh = str(t["facility_kind"].iloc[0]) if len(t) else ""
        notes.append(f"覆盖与指标计入的设施 facilities counted: {counted_label(kind_zh, mp.coverage.statuses)}"
                     f"，共 {mp.coverage.facilities_counted} 处; 需求 demand: {mp.coverage.demand_source}. "
                     f"{mp.coverage.snapping}".strip())
        sources.append(f"需求 demand: {mp.coverage.demand_source}")
    notes.append(f"规划指标集 indicator set: {plan_title(ws.config, ws.root)}")
    notes.append(f"数据来源 data sources: {'；'.join(sources)}")
    if cjk_font() is None:
        notes.append("未找到中文字体 no CJK font: install fonts-noto-cjk so Chinese labels render in the PNG maps.")
    std = mp.standards
    cov_table = mp.coverage.table if mp.coverage else None
    uncovered = mp.coverage.uncovered if mp.coverage else None
    title = f"{mp.data.title} 分析报告"
    sheet_title = mp.data.title + ("（示例数据）" if mp.data.sample else "")
    subtitle = ""
    if mp.coverage is not None and len(mp.coverage.table):
        subtitle = (f"{mp.coverage.table['facility_kind'].iloc[0]} "
                    f"{float(mp.coverage.table['minutes'].max()):g} 分钟服务圈户数覆盖")
    info = SheetInfo(title=sheet_title, issuing_unit=unit, date=day, sources=sources,
                     notes=[n for n in notes if not n.startswith("数据来源")], subtitle=subtitle)
    pngs: list[Path] = []
    pdfs: list[Path] = []
    try:
        pngs.append(static_map(mp.data, out / "map_coverage.png", info=info))
        pdfs = render_sheets(mp.data, out, info, paper=paper)
    except ValueError as exc:
        log.warning("no static map: %s", exc)
    content = ReportContent(
        title=title, issuing_unit=unit, date=day,
        conclusion=conclusion(indicators=std.indicators if std else None, coverage=cov_table,
                              coverage_kind=mp.data.coverage_kind, uncovered=uncovered),
        tables=report_tables(indicators=std.indicators if std else None, coverage=cov_table,
                             coverage_kind=mp.data.coverage_kind, uncovered=uncovered, area=std.area if std else None),
        notes=notes, images=pngs, map_html=mp.path.read_text(encoding="utf-8"), sample=mp.data.sample, pdfs=pdfs)
    templates = ws.root / "templates"
    rp = out / "report.html"
    rp.write_text(report_html(content, templates=templates), encoding="utf-8")
    docx = write_docx(content, out / "report.docx", templates=templates)
    return [rp, docx, *pdfs, mp.path, *pngs]


# -- siting ------------------------------------------------------------------------------------------
@dataclass
class SiteRun:
    """Outputs of :func:`run_site`."""

    table: pd.DataFrame
    result: SitingResult
    files: list[Path]
    candidates_source: str


def _node_candidates(graph: RoadGraph, nodes: NDArray[np.int64]) -> gpd.GeoDataFrame:
    """Network nodes as a candidate layer (ids ``N<osm node id>``, the graph's CRS)."""
    return gpd.GeoDataFrame({"feature_id": [f"N{int(graph.node_ids[n])}" for n in nodes]},
                            geometry=gpd.points_from_xy(graph.x[nodes], graph.y[nodes]), crs=graph.crs)


def run_site(ws: Workspace, *, kind: str, add: int | None = None, target: float | None = None,
             minutes: float | None = None, demand: str | None = None, candidates: str | None = None,
             capacity: float | None = None, decay: str | None = None, method: str = "auto",
             profile: str = "walk", statuses: tuple[str, ...] = SCENARIOS["today"],
             snap_to: str | None = None, coords: str = "wgs84") -> SiteRun:
    """Propose new sites for a kind; writes ``out/sites_<kind>.csv`` and the layer ``sites_<kind>``.

    Facilities of ``statuses`` are held fixed (default 建成运营; the planned scenario also holds the
    在建/规划 stations fixed). Without a candidate layer the candidates are every network node
    within the service distance of uncovered demand (:func:`network_candidates`)."""
    k = get_kind(kind)
    graph = load_network(ws)
    index = SegmentIndex.shared(graph, snap_to=snap_setting(ws, snap_to))
    speed = ws.walk_speed_m_per_min(profile)
    t_min = float(minutes) if minutes is not None else float(k.threshold_min or max(ws.thresholds_min))
    limit = t_min * speed
    snap = float(ws.config["travel"]["max_snap_distance_m"])
    dem, _ = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    fac = all_facilities(ws)
    fac = fac[(fac["kind"] == k.id) & fac["status"].isin(statuses)].reset_index(drop=True)
    dx, dy = points_xy(dem, graph.crs)
    ds = index.snap(dx, dy, max_distance_m=snap)
    d_ok = np.flatnonzero(ds.ok)
    base = np.zeros(len(dem))
    if len(fac):
        fx, fy = points_xy(fac, graph.crs)
        fs = index.snap(fx, fy, max_distance_m=snap)
        dist, _ = nearest_facility(graph, fs.take(np.flatnonzero(fs.ok)), ds.take(d_ok), limit_m=limit)
        reached = np.isfinite(dist)
        val = np.where(reached, 1.0 if decay is None else np.clip(1.0 - dist / limit, 0.0, 1.0), 0.0)
        base[d_ok] = val
    if candidates is not None:
        cand = ws.store.read(candidates).reset_index(drop=True)
        source = f"layer {candidates}"
    else:
        nodes = network_candidates(graph, ds, base < 1.0, limit_m=limit)
        cand = _node_candidates(graph, nodes)
        source = (f"{len(cand)} 个路网节点 network nodes within {t_min:g} min of uncovered demand "
                  "(every such node: 'exact' is exact over all of them)")
    if cand.empty:
        msg = "没有候选址 no candidates: every demand point is covered, or the candidate layer is empty"
        raise LayerError(msg)
    cx, cy = points_xy(cand, graph.crs)
    cs = index.snap(cx, cy, max_distance_m=snap)
    c_ok = np.flatnonzero(cs.ok)
    pf, pd_, pdist = facility_pairs(graph, cs.take(c_ok), ds.take(d_ok), limit_m=limit)
    vals = np.ones_like(pdist) if decay is None else np.clip(1.0 - pdist / limit, 1e-9, 1.0)
    matrix = sp.csr_matrix((vals, (pf, d_ok[pd_])), shape=(len(c_ok), len(dem)))
    problem = CoverageProblem(matrix, dem["households"].astype(float).to_numpy(), base, capacity)
    result = solve(problem, add=add, target_share=target, method=method)
    ids = (cand["feature_id"].astype(str).to_numpy() if "feature_id" in cand else cand.index.astype(str).to_numpy())[c_ok]
    lonlat = gpd.GeoSeries(gpd.points_from_xy(cx[c_ok], cy[c_ok]), crs=graph.crs).to_crs("EPSG:4326")
    xy = np.column_stack([lonlat.x.to_numpy(), lonlat.y.to_numpy()])
    table = result.table(list(ids), xy)
    table["fixed_status"] = "、".join(statuses)
    out = ws.out_dir
    shown = table.copy()
    if len(shown):
        from mzgis.layers.crs import to_output_coords

        ox, oy, label = to_output_coords(shown["x"].to_numpy(), shown["y"].to_numpy(), coords)
        shown["x"], shown["y"] = np.round(ox, 7), np.round(oy, 7)
        shown["coord_system"] = label
    stem = _file_stem(k.id)
    files = write_table(shown, out / f"sites_{stem}.csv", xlsx_path=out / f"sites_{stem}.xlsx",
                        headers_zh={"rank": "排序", "candidate_id": "候选址编号", "x": "经度", "y": "纬度",
                                    "households_gained": "新增覆盖户数", "cumulative_share": "累计户数覆盖率",
                                    "fixed_status": "视为已有的设施状态", "coord_system": "坐标系"},
                        sheet="建议选址")
    layer = gpd.GeoDataFrame(table.rename(columns={"candidate_id": "feature_id"}).assign(kind=k.id, minutes=t_min),
                             geometry=gpd.points_from_xy(table["x"], table["y"]), crs="EPSG:4326")
    ws.store.write_layer(f"sites_{k.id}", layer, layer_type="sites", kind=k.id, retire_missing=True,
                         note=f"site {k.id} {result.method}")
    return SiteRun(shown, result, files, source)


def run_service_areas(ws: Workspace, *, kind: str, minutes: list[float] | None = None, profile: str = "walk",
                      statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None) -> list[str]:
    """Service areas of a kind as two store layers (exportable like any other): per facility and
    threshold ``service_areas_<kind>``, and dissolved per threshold ``service_areas_<kind>_all``."""
    k = get_kind(kind)
    graph = load_network(ws)
    fac = all_facilities(ws)
    fac = fac[(fac["kind"] == k.id) & fac["status"].isin(statuses)].reset_index(drop=True)
    if fac.empty:
        msg = f"没有{'、'.join(statuses)}的{k.name_zh} no {k.id} facilities of status {'、'.join(statuses)}"
        raise LayerError(msg)
    ths = minutes or ws.thresholds_min
    kw: dict[str, Any] = {"thresholds_min": ths, "speed_m_per_min": ws.walk_speed_m_per_min(profile),
                          "buffer_m": float(ws.config["travel"]["service_area_buffer_m"]),
                          "max_snap_m": float(ws.config["travel"]["max_snap_distance_m"]),
                          "snap_to": snap_setting(ws, snap_to)}
    each = service_areas(graph, fac, **kw)
    each = each.assign(feature_id=[f"{f}-{m:g}min" for f, m in zip(each["facility_id"], each["minutes"], strict=True)],
                       kind=k.id, facility_status="、".join(statuses))
    merged = service_areas(graph, fac.assign(kind=k.id), dissolve_by="kind", **kw)
    merged = merged.assign(feature_id=[f"{k.id}-{m:g}min" for m in merged["minutes"]],
                           facility_status="、".join(statuses))
    names = [f"service_areas_{k.id}", f"service_areas_{k.id}_all"]
    for name, g in zip(names, (each, merged), strict=True):
        ws.store.write_layer(name, g, layer_type="service_areas", kind=k.id, retire_missing=True,
                             note=f"service areas {k.id} {'/'.join(f'{t:g}' for t in ths)} min")
    return names


# -- boundaries, markers, addresses (place-name staff) -------------------------------------------
def _check_admin_layer(ws: Workspace, name: str, flag: str) -> None:
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


def run_boundaries(ws: Workspace, *, units: str) -> BoundaryLines:
    """Derive the boundary lines of an admin-unit layer into layer ``boundary_lines_<units>``."""
    _check_admin_layer(ws, units, "--units")
    layer = ws.store.read(units)
    res = derive_boundary_lines(layer, ws.metric_crs().to_string())
    name = f"boundary_lines_{units}"
    level = ws.store.layer_info(units) or {}
    lines = res.lines.assign(level=level.get("level"))
    ws.store.write_layer(name, lines, layer_type="boundary_lines", level=level.get("level"), source=f"derived from {units}",
                         retire_missing=True, note=f"boundaries --units {units}")
    return res


def _marker_settings(ws: Workspace) -> MarkerSettings:
    m = ws.config["markers"]
    return MarkerSettings(float(m["tolerance_m"]), float(m["near_m"]), float(m["spacing_m"]), float(m["cycle_years"]))


def _layers_of(ws: Workspace, layer_type: str, name: str | None) -> gpd.GeoDataFrame:
    store = ws.store
    names = [name] if name else store.layer_names(layer_type)
    if not names:
        msg = f"没有 {layer_type} 图层 no {layer_type} layer in the store: import one with --type {layer_type}"
        raise LayerError(msg)
    parts = [store.read(n) for n in names]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def run_inspect(ws: Workspace, what: str, *, units: str | None = None, parents: str | None = None,
                markers: str | None = None, lines: str | None = None, addresses: str | None = None,
                names_file: str | None = None, today: str | None = None) -> tuple[list[Path], pd.DataFrame]:
    """The place-name staff's inspections: ``boundaries``, ``markers``, ``plan`` or ``addresses``."""
    out = ws.out_dir
    day = pd.Timestamp(today).date() if today else None
    if what == "boundaries":
        if not units:
            msg = "inspect boundaries needs --units LAYER"
            raise LayerError(msg)
        _check_admin_layer(ws, units, "--units")
        if parents:
            _check_admin_layer(ws, parents, "--parents")
        crs = ws.metric_crs().to_string()
        parent_layer = ws.store.read(parents) if parents else None
        if parent_layer is None:
            # by default the units of the level above, when the store has them
            level = (ws.store.layer_info(units) or {}).get("level")
            above = {"subdistrict": "district", "community": "subdistrict"}.get(str(level))
            parent_layer = units_by_level(ws).get(above) if above else None
        found = inspect_units(ws.store.read(units), crs, parents=parent_layer,
                              sliver_m2=float(ws.config["inspection"]["sliver_m2"]))
        table = pd.DataFrame(found.drop(columns="geometry"))
        # one file per inspected layer, so inspecting communities does not overwrite subdistricts
        stem = f"inspect_boundaries_{_file_stem(units)}"
        files = write_table(table, out / f"{stem}.csv", xlsx_path=out / f"{stem}.xlsx",
                            headers_zh={"finding": "问题", "units": "涉及单位", "area_m2": "面积(㎡)", "lon": "经度",
                                        "lat": "纬度", "detail": "说明"}, sheet="界线拓扑检查")
        name = f"inspect_boundaries_{units}"
        if len(found) or name in ws.store.layer_names():
            geo = found.assign(feature_id=[f"P{i + 1}" for i in range(len(found))])
            ws.store.write_layer(name, geo, layer_type="findings", retire_missing=True, note="inspect boundaries")
        return files, table
    if what in ("markers", "plan"):
        if what == "markers":
            mk = _layers_of(ws, "boundary_markers", markers)
            ln = _layers_of(ws, "boundary_lines", lines)
            crs = ws.metric_crs().to_string()
            table = inspect_markers(mk, ln, crs, settings=_marker_settings(ws), today=day)
            files = write_table(table, out / "inspect_markers.csv", xlsx_path=out / "inspect_markers.xlsx",
                                headers_zh={"marker_code": "界桩编号", "line_id": "界线", "finding": "问题",
                                            "detail": "说明", "distance_m": "距离(m)"}, sheet="界桩检查")
        else:
            table = inspection_plan_table(ws, markers=markers, lines=lines, today=day)
            files = write_table(table, out / "inspection_plan.csv", xlsx_path=out / "inspection_plan.xlsx",
                                headers_zh={"line_id": "界线", "left_code": "左侧", "right_code": "右侧",
                                            "line_length_m": "界线长度(m)", "seq": "序号", "marker_code": "界桩编号",
                                            "chainage_m": "里程(m)", "condition": "状况",
                                            "last_inspection_date": "最近检查", "task": "任务"}, sheet="联检任务")
        return files, table
    if what == "addresses":
        ad = _layers_of(ws, "addresses", addresses)
        table = check_addresses(ad, units_by_level(ws))
        if names_file:
            std = _read_names(names_file)
            pn = ws.store.layer_names("place_names")
            if pn:
                table = pd.concat([table, check_place_names(_layers_of(ws, "place_names", None), std)],
                                  ignore_index=True)
        files = write_table(table, out / "inspect_addresses.csv", xlsx_path=out / "inspect_addresses.xlsx",
                            headers_zh={"feature_id": "编号", "address": "地址", "finding": "问题", "detail": "说明"},
                            sheet="地址检查")
        return files, table
    msg = f"inspect {what}: use boundaries, markers, plan or addresses"
    raise LayerError(msg)


def inspection_plan_table(ws: Workspace, *, markers: str | None = None, lines: str | None = None,
                          today: dt.date | None = None) -> pd.DataFrame:
    """The inspection task list (``inspect plan``) without writing its files: per boundary line,
    its markers in order along the line with what is due (the web app's field pages show it)."""
    mk = _layers_of(ws, "boundary_markers", markers)
    ln = _layers_of(ws, "boundary_lines", lines)
    return inspection_plan(mk, ln, ws.metric_crs().to_string(), settings=_marker_settings(ws), today=today)


def _read_names(path: str) -> list[str]:
    """``--names``: a standard place-name list, one name per line (UTF-8 or GBK/GB18030)."""
    raw = Path(path).read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        msg = f"--names {path}: 无法识别编码 neither UTF-8 nor GBK/GB18030 text; 请另存为 UTF-8 save it as UTF-8"
        raise LayerError(msg)
    if not text.strip():
        return []
    col = pd.read_csv(io.StringIO(text), header=None, dtype=str, skip_blank_lines=True)[0]
    return [str(n).strip() for n in col.dropna() if str(n).strip()]


def _file_stem(name: str) -> str:
    """A kind id or layer name as a safe part of an output file name."""
    from mzgis.layers.paths import safe_filename

    return safe_filename(name, default="layer")


#: Largest photo ``mzgis record`` copies into the workspace.
MAX_PHOTO_BYTES = 50 * 1024 * 1024

#: Image types accepted as inspection photos: leading bytes → file extension.
_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, ".jpg"), (b"\x89PNG\r\n\x1a\n", 0, ".png"), (b"GIF87a", 0, ".gif"),
    (b"GIF89a", 0, ".gif"), (b"II*\x00", 0, ".tif"), (b"MM\x00*", 0, ".tif"), (b"BM", 0, ".bmp"),
    (b"WEBP", 8, ".webp"), (b"ftypheic", 4, ".heic"), (b"ftypheix", 4, ".heic"), (b"ftypmif1", 4, ".heif"),
)


def _photo_extension(src: Path) -> str:
    """Check ``--photo`` is a readable image file of sensible size; its extension by content."""
    if not src.is_file():
        what = "是文件夹 is a folder" if src.is_dir() else "文件不存在 file not found"
        msg = f"--photo {src}: {what}; 请给出照片文件 give the photo's file (JPEG, PNG, …)"
        raise LayerError(msg)
    size = src.stat().st_size
    if size == 0 or size > MAX_PHOTO_BYTES:
        msg = (f"--photo {src}: 文件大小 {size} 字节 size {size} bytes; 照片应在 1 字节到 {MAX_PHOTO_BYTES // 2**20} MB "
               f"之间 a photo must be between 1 byte and {MAX_PHOTO_BYTES // 2**20} MB")
        raise LayerError(msg)
    with open(src, "rb") as fh:
        head = fh.read(16)
    for magic, at, ext in _IMAGE_MAGIC:
        if head[at:at + len(magic)] == magic:
            return ext
    msg = (f"--photo {src}: 不是图片 not an image (its content is not JPEG, PNG, GIF, TIFF, BMP, WebP or HEIC); "
           "请给出照片文件 give the photo's file")
    raise LayerError(msg)


def _marker_row(ws: Workspace, marker_code: str, layer: str | None) -> tuple[str, int]:
    """The marker layer holding ``marker_code`` and the marker's current version."""
    store = ws.store
    names = [layer] if layer else store.layer_names("boundary_markers")
    if layer and layer not in store.layer_names():
        msg = f"--layer {layer}: 没有图层 no such layer; layers: {store.layer_names('boundary_markers')}"
        raise LayerError(msg)
    for n in names:
        try:
            row = store.feature(n, str(marker_code))
        except LayerError:
            continue
        missing = {"condition", "last_inspection_date"} - set(row.index)
        if missing:
            msg = (f"图层 layer '{n}' 没有字段 has no fields {sorted(missing)}: 它不是界桩图层 it is not a "
                   "boundary-marker layer (import markers with --type boundary_markers)")
            raise LayerError(msg)
        if not pd.isna(row.get("mz_retired_at")):
            msg = f"界桩 marker '{marker_code}' 已退役 is retired in '{n}'; 用 use `mzgis revert` to bring it back"
            raise LayerError(msg)
        return n, int(row["mz_version"])
    msg = f"没有界桩 no boundary marker '{marker_code}' in {names}; 请检查编号 check the code"
    raise LayerError(msg)


#: China has one time zone (UTC+8) and no daylight saving time.
_CHINA_TZ = dt.timezone(dt.timedelta(hours=8))


def latest_today() -> dt.date:
    """The latest date that is not in the future for the inspectors: today here or in China
    (a phone in Beijing may already be a day ahead of a server's UTC clock)."""
    return max(dt.date.today(), dt.datetime.now(_CHINA_TZ).date())


def check_position(lon: float, lat: float, flag: str = "position") -> tuple[float, float]:
    """A WGS-84 position (degrees) that is finite and inside the valid ranges, else LayerError."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        msg = (f"{flag} {lon},{lat}: 不是有效的 WGS-84 坐标 not a valid WGS-84 position (经度 longitude -180…180, "
               "纬度 latitude -90…90 degrees)")
        raise LayerError(msg)
    return float(lon), float(lat)


def geodesic_offset_m(a: Any, lon: float, lat: float) -> float:
    """Distance in metres on the WGS-84 ellipsoid from point ``a`` (lon/lat) to (lon, lat)."""
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(float(a.x), float(a.y), lon, lat)
    return float(d)


def run_record(ws: Workspace, marker_code: str, *, condition: str, date: str, inspector: str,
               photo: str | None = None, note: str | None = None, layer: str | None = None,
               user: str | None = None, photo_name: str | None = None,
               position: tuple[float, float] | None = None, accuracy_m: float | None = None,
               client_key: str | None = None) -> dict[str, Any]:
    """Record one marker inspection: the marker's condition and date updated (history kept) and an
    inspection record appended (``mzgis_inspections``); a photo is copied to
    ``photos/<date>/<code>_<name><ext>`` (a safe, unique name inside the workspace).

    Everything is checked first; the photo is copied under a temporary name, the store is written,
    and only then the photo is moved in place: a failure leaves no photo and no half record.

    ``user`` is who the store's history names (default the inspector; the web app passes the
    logged-in user); ``photo_name`` the name the photo's file name is made from (default the
    photo's own; an upload's name is only a hint); ``position`` (lon, lat in WGS-84) where the
    marker was found, stored with its offset in metres from the marker's recorded position (the
    marker's geometry is not moved); ``client_key`` a key the record is stored with: a record
    whose key the store already holds is not written again (the result has ``duplicate=True``).
    """
    from mzgis.layers.paths import inside, safe_filename
    from mzgis.layers.schemas import MARKER_CONDITIONS

    cond = MARKER_CONDITIONS.get(condition, MARKER_CONDITIONS.get(condition.lower()))
    if cond is None:
        msg = f"--condition {condition}: 应为 use one of {sorted(set(MARKER_CONDITIONS.values()))}"
        raise LayerError(msg)
    try:
        day = pd.Timestamp(date).date().isoformat()
    except ValueError as exc:
        msg = f"--date {date}: 日期无法识别 not a date; write it as 2026-11-20"
        raise LayerError(msg) from exc
    if day > latest_today().isoformat():
        msg = f"--date {day}: 日期在将来 the date is in the future (today is {latest_today()}); 请给出检查日期 give the day of the inspection"
        raise LayerError(msg)
    if not inspector.strip() or "\x00" in inspector:
        msg = f"--inspector {inspector!r}: 请给出检查人姓名 give the inspector's name"
        raise LayerError(msg)
    if client_key is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", client_key):
        msg = f"client_key {client_key!r}: 应为 8–64 个字母、数字、_ 或 - must be 8-64 letters, digits, '_' or '-'"
        raise LayerError(msg)
    where, _ = _marker_row(ws, marker_code, layer)
    extra: dict[str, Any] = {}
    if position is not None:
        lon, lat = check_position(*position)
        here = ws.store.feature(where, str(marker_code)).geometry
        extra = {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}",
                 "offset_m": None if here is None or here.is_empty else f"{geodesic_offset_m(here.centroid, lon, lat):.2f}"}
        if accuracy_m is not None and math.isfinite(accuracy_m) and accuracy_m >= 0:
            extra["accuracy_m"] = f"{accuracy_m:.1f}"
    if user is not None:
        extra["recorded_by"] = user
    if client_key is not None:
        extra["client_key"] = client_key
    ext = _photo_extension(Path(photo)) if photo else None
    store = ws.store
    final: Path | None = None
    part: Path | None = None
    try:
        if photo and ext:
            folder = ws.root / "photos" / day
            if not inside(folder, ws.root):
                msg = f"{folder}: 照片文件夹不在工作区内 the photo folder lies outside the workspace (a symlink?)"
                raise LayerError(msg)
            stem = safe_filename(f"{marker_code}_{Path(photo_name or photo).stem}", default="photo")
            final = folder / f"{stem}{ext}"
            n = 1
            while final.exists():  # a unique name: never overwrite an earlier photo
                n += 1
                final = folder / f"{stem}-{n}{ext}"
            if not inside(final, ws.root):
                msg = f"{final}: 照片路径不在工作区内 the photo path lies outside the workspace"
                raise LayerError(msg)
            # the copy waits in cache/ (same disk) until the store has the record: a killed or failed
            # command leaves nothing in photos/
            fd, tmp = tempfile.mkstemp(prefix=".photo-", suffix=".part", dir=ws.cache_dir)
            os.close(fd)
            part = Path(tmp)
            shutil.copyfile(photo, part)
        rec = {"ts": pd.Timestamp.now().isoformat(timespec="seconds"), "layer": where,
               "marker_code": str(marker_code), "date": day, "condition": cond, "inspector": inspector,
               "photo": None if final is None else final.relative_to(ws.root).as_posix(), "note": note, **extra}
        # the marker's new condition and the inspection record: one transaction
        try:
            # no expect_version: an inspection is a new observation, not an edit of what was shown, so
            # another inspection of the marker landing meanwhile is no conflict; edit_feature locks the
            # row and refuses a marker retired meanwhile in its own transaction
            store.edit_feature(where, marker_code, changes={"condition": cond, "last_inspection_date": day},
                               user=user or inspector, note=f"inspection {day}" + (f": {note}" if note else ""),
                               records={"mzgis_inspections": [rec]},
                               unique_record=None if client_key is None else ("mzgis_inspections", "client_key",
                                                                                client_key))
        except DuplicateRecordError:
            if part is not None:
                part.unlink(missing_ok=True)
                part = None
            return {**rec, "photo": None, "duplicate": True}
        if part is not None and final is not None:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)
            part = None
        return {**rec, "duplicate": False}
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise


# -- accessibility, equity and scenarios ------------------------------------------------------------
@dataclass
class Threshold:
    """The service threshold an accessibility run used, and which convention it follows."""

    mode: str  # "minutes" or "distance"
    value: float
    speed_m_per_min: float

    @property
    def label(self) -> str:
        if self.mode == "distance":
            return f"{self.value:g} m 步行距离 walking distance (生活圈 life-circle distance, GB 50180-2018)"
        return f"{self.value:g} 分钟 min at {self.speed_m_per_min:.1f} m/min"


def threshold_setting(ws: Workspace, *, kind_threshold_min: float | None, minutes: float | None = None,
                      distance_m: float | None = None, profile: str = "walk") -> Threshold:
    """The threshold of an accessibility run: ``--minutes`` or ``--distance-m`` if given, else
    ``[travel] threshold_mode`` — ``"minutes"`` (default: the kind's threshold, else the largest of
    ``thresholds_min``) or ``"distance"`` (the ``circle_distances_m`` entry of the same circle level,
    e.g. ``[300, 500, 1000]`` for 5/10/15 minutes)."""
    from mzgis.errors import ConfigError

    speed = ws.walk_speed_m_per_min(profile)
    if minutes is not None and distance_m is not None:
        msg = "--minutes 与 --distance-m 只能给一个 give either --minutes or --distance-m, not both"
        raise LayerError(msg)
    for flag, v in (("--minutes", minutes), ("--distance-m", distance_m)):
        if v is not None and not (np.isfinite(v) and v > 0):
            msg = f"{flag} {v}: 必须为正数 must be a positive number"
            raise LayerError(msg)
    if minutes is not None:
        return Threshold("minutes", float(minutes), speed)
    if distance_m is not None:
        return Threshold("distance", float(distance_m), speed)
    travel = ws.config["travel"]
    mode = str(travel.get("threshold_mode", "minutes"))
    if mode not in ("minutes", "distance"):
        msg = f"{ws.config_path}: [travel] threshold_mode = {mode!r} 应为 must be \"minutes\" or \"distance\""
        raise ConfigError(msg)
    level_min = float(kind_threshold_min or max(ws.thresholds_min))
    if mode == "minutes":
        return Threshold("minutes", level_min, speed)
    dists = travel.get("circle_distances_m")
    ok = isinstance(dists, list) and len(dists) > 0 and all(
        isinstance(x, int | float) and not isinstance(x, bool) and x > 0 for x in dists)
    if not ok or list(dists) != sorted(dists):
        msg = (f"{ws.config_path}: [travel] threshold_mode = \"distance\" 需要 needs circle_distances_m, a rising list "
               f"of positive metres per circle level, e.g. circle_distances_m = [300, 500, 1000] (GB 50180-2018); "
               f"found {dists!r}")
        raise ConfigError(msg)
    ths = ws.thresholds_min
    if len(dists) != len(ths):
        msg = (f"{ws.config_path}: [travel] circle_distances_m has {len(dists)} entries but thresholds_min has "
               f"{len(ths)}; give one distance per circle level ({', '.join(f'{t:g}' for t in ths)} min)")
        raise ConfigError(msg)
    pos = int(np.argmin([abs(t - level_min) for t in ths]))
    return Threshold("distance", float(sorted(dists)[pos]), speed)


def access_target(ws: Workspace, measure_name: str, override: float | None) -> float | None:
    """``--target`` or ``[access.targets] <measure>`` (e.g. ``beds_per_1000_elderly = 40``), else None."""
    from mzgis.errors import ConfigError

    if override is not None:
        if not (np.isfinite(override) and override >= 0):
            msg = f"--target {override}: 必须为非负数 must be a non-negative number"
            raise LayerError(msg)
        return float(override)
    v = ws.config.get("access", {}).get("targets", {}).get(measure_name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        msg = f"{ws.config_path}: [access.targets] {measure_name} = {v!r} 应为非负数 must be a non-negative number"
        raise ConfigError(msg)
    return float(v)


@dataclass
class AccessRun:
    """Outputs of :func:`run_access`."""

    by_unit: pd.DataFrame
    points: pd.DataFrame
    worst: pd.DataFrame
    gini: float
    share_below: float
    target: float | None
    threshold: Threshold
    measure_label: str
    method: str
    decay: str
    statuses: tuple[str, ...]
    facilities_counted: int
    demand_source: str
    notes: list[str]
    files: list[Path]


def _unit_context(ws: Workspace, dem: gpd.GeoDataFrame) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame,
                                                                    dict[str, dict[str, str]], tuple[str, str]]:
    units = units_by_level(ws)
    unit_of = assign_units(dem, units)
    names = {lv: dict(zip(u["feature_id"].astype(str), u["name"].astype(str), strict=True)) for lv, u in units.items()}
    jname = str(ws.config["project"].get("jurisdiction") or ws.config["project"].get("name") or "辖区")
    return units, unit_of, names, ("ALL", jname)


def _access_map(ws: Workspace, path: Path, *, title: str, facilities: gpd.GeoDataFrame,
                units: dict[str, gpd.GeoDataFrame], graph: RoadGraph,
                choropleths: list[tuple[str, pd.DataFrame, str]],
                newly: Mapping[str, gpd.GeoDataFrame] | None = None) -> Path:
    """A map page: the usual base (roads, units, facilities) plus access choropleths per community
    (or subdistrict) and newly covered demand, added through folium without changing the base map."""
    from mzgis.maps.access_report import (
        access_breaks,
        access_layer,
        access_legend,
        layer_control_last,
        newly_covered_layer,
    )

    level = "community" if "community" in units else ("subdistrict" if "subdistrict" in units else None)
    m = build_map(MapData(title=title, facilities=facilities, units=units, roads=roads_layer(graph)), basemap="roads")
    if level is not None and choropleths:
        # one set of classes for every layer, so scenarios can be compared by colour
        br = access_breaks(np.concatenate([t.loc[t["level"] == level, "access"].to_numpy(dtype=float)
                                           for _, t, _ in choropleths]))
        for i, (name, table, label) in enumerate(choropleths):
            access_layer(m, units[level], table[table["level"] == level], name=name, label=label, show=i == 0,
                         breaks=br)
        access_legend(m, br, label=choropleths[0][2])
    for s, pts in (newly or {}).items():
        newly_covered_layer(m, pts, name=f"新覆盖需求 newly covered demand: {s}")
    layer_control_last(m)
    out, _ = save_map(m, path)
    return out


def run_access(ws: Workspace, *, kind: str, supply: str = "beds", demand_field: str = "elderly",
               method: str = "e2sfca", decay: str | None = None, minutes: float | None = None,
               distance_m: float | None = None, demand: str | None = None, profile: str = "walk",
               target: float | None = None, statuses: tuple[str, ...] = SCENARIOS["today"],
               snap_to: str | None = None) -> AccessRun:
    """Capacity-aware accessibility of a kind (2SFCA/E2SFCA/gravity), per demand point and unit,
    with equity; writes ``out/access_<kind>*`` and the layer ``access_<kind>``."""
    from mzgis.analysis.access import access_by_unit, accessibility
    from mzgis.analysis.equity import gini, lorenz, share_below, worst_served
    from mzgis.maps.access_report import access_section_html, lorenz_png

    k = get_kind(kind)
    graph = load_network(ws)
    th = threshold_setting(ws, kind_threshold_min=k.threshold_min, minutes=minutes, distance_m=distance_m,
                           profile=profile)
    fac = all_facilities(ws)
    fac = fac[(fac["kind"] == k.id) & fac["status"].isin(statuses)].reset_index(drop=True)
    dem, source = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    res = accessibility(graph, fac, dem, supply=supply, demand_field=demand_field, method=method, decay=decay,
                        threshold=th.value, mode="distance" if th.mode == "distance" else "minutes",
                        speed_m_per_min=th.speed_m_per_min,
                        max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]),
                        snap_to=snap_setting(ws, snap_to))
    ms = res.measure
    tgt = access_target(ws, ms.name, target)
    units, unit_of, names, jur = _unit_context(ws, dem)
    by_unit = access_by_unit(res, unit_of, unit_names=names, jurisdiction=jur, target=tgt)
    worst = worst_served(by_unit, level="community" if "community" in units else "subdistrict")
    v, w = res.demand["access"].to_numpy(), res.demand["demand"].to_numpy()
    g = gini(v, w)
    below = share_below(v, w, tgt) if tgt is not None else float("nan")
    what = {"facility_kind": k.name_zh, "facility_status": "、".join(statuses), "access_unit": ms.name,
            "access_unit_zh": ms.label_zh, "method": method, "decay": res.decay, "threshold": th.label}
    points = pd.concat([res.demand[["demand_id"]], unit_of.reindex(res.demand.index),
                        res.demand[["demand", "access", "supply_reachable", "cost_to_nearest", "snapped"]]], axis=1)
    points = points.assign(**what)
    by_unit = by_unit.assign(**what, target=tgt)
    out = ws.out_dir
    zh = {"demand_id": "需求点编号", "district": "区县", "subdistrict": "街道", "community": "社区",
          "demand": f"需求({demand_field})", "access": f"可达性({ms.label_zh})", "supply_reachable": "可达供给(加权)",
          "cost_to_nearest": "至最近设施(分钟或米)", "snapped": "已吸附路网", "facility_kind": "计入设施类型",
          "facility_status": "计入设施状态", "access_unit": "可达性单位", "access_unit_zh": "可达性单位(中文)",
          "method": "方法", "decay": "距离衰减", "threshold": "阈值", "level": "层级", "unit_code": "单位编码",
          "unit_name": "单位名称", "facilities_reachable": "可达设施数", "share_below_target": "低于目标的需求占比",
          "gini": "基尼系数", "target": "目标值"}
    files = write_table(points, out / f"access_{k.id}.csv", xlsx_path=out / f"access_{k.id}.xlsx", headers_zh=zh,
                        sheet="需求点可达性")
    files += write_table(by_unit, out / f"access_{k.id}_units.csv", xlsx_path=out / f"access_{k.id}_units.xlsx",
                         headers_zh={**zh, "supply_reachable": "可达供给(不加权)"}, sheet="分单位可达性")
    files += write_table(worst, out / f"access_{k.id}_worst.csv")
    lc = lorenz(v, w)
    files += write_table(lc, out / f"access_{k.id}_lorenz.csv")
    png = lorenz_png({"全辖区 jurisdiction": lc}, out / f"access_{k.id}_lorenz.png", gini={"全辖区 jurisdiction": g},
                     title=f"{k.name_zh} {ms.label_zh} 洛伦兹曲线 Lorenz curve")
    files.append(png)
    # the store layer: demand points with their access
    layer = dem[["geometry"]].copy()
    for c in ("demand_id", "demand", "access", "supply_reachable"):
        layer[c] = points[c].to_numpy()
    layer = layer.rename(columns={"demand_id": "feature_id"}).assign(kind=k.id, access_unit=ms.name)
    ws.store.write_layer(f"access_{k.id}", layer, layer_type="access", kind=k.id, retire_missing=True,
                         note=f"access {k.id} {method} {th.label}")
    notes = list(res.notes)
    if fac.empty:
        notes.insert(0, f"没有计入的设施 no facilities counted: no {k.name_zh} with status {'、'.join(statuses)}; "
                        "access is 0 everywhere")
    summary = [f"方法 method: {method}; 衰减 decay: {res.decay}; 阈值 threshold: {th.label}",
               f"计入设施 facilities counted: {counted_label(k.name_zh, statuses)}，共 {len(fac)} 处; 需求 demand: {source}",
               f"全辖区 jurisdiction: {ms.label_zh} {by_unit['access'].iloc[0]:.3f}; Gini {g:.3f}"
               + (f"; 低于目标 {tgt:g} 的需求占比 share of demand below the target: {100 * below:.1f}%"
                  if tgt is not None else "; 未设目标 no target (--target or [access.targets])")]
    map_path = _access_map(ws, out / f"access_{k.id}_map.html", title=f"{k.name_zh} {ms.label_zh}",
                           facilities=fac, units=units, graph=graph,
                           choropleths=[(f"可达性 access: {ms.label_zh}", by_unit, ms.label_zh)])
    page = access_section_html(title=f"{k.name_zh} 可达性与公平 accessibility and equity", summary=summary,
                               by_unit=by_unit, worst=worst, pngs=[png.name], map_file=map_path.name)
    (out / f"access_{k.id}.html").write_text(page, encoding="utf-8")
    files += [out / f"access_{k.id}.html", map_path]
    return AccessRun(by_unit, points, worst, g, below, tgt, th, ms.label_zh, method, res.decay, statuses, len(fac),
                     source, notes, files)


def parse_scenarios(spec: str, kind_id: str) -> list[tuple[str, str | None]]:
    """``today,planned,proposed[:LAYER]`` → ``[(name, proposed layer or None), …]``."""
    out: list[tuple[str, str | None]] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, layer = part.partition(":")
        if name not in ("today", "planned", "proposed"):
            msg = f"不认识的情景 unknown scenario '{name}' in --scenario {spec}; use today, planned, proposed[:LAYER]"
            raise LayerError(msg)
        if layer and name != "proposed":
            msg = f"--scenario {spec}: 只有 proposed 可指定图层 only proposed takes a layer (proposed:LAYER)"
            raise LayerError(msg)
        out.append((name, layer or (f"sites_{kind_id}" if name == "proposed" else None)))
    if len({n for n, _ in out}) != len(out):
        msg = f"--scenario {spec}: 情景重复 a scenario is named twice"
        raise LayerError(msg)
    if len(out) < 2:
        msg = f"--scenario {spec}: 至少两个情景 compare needs at least two scenarios, e.g. today,planned"
        raise LayerError(msg)
    return out


@dataclass
class CompareRun:
    """Outputs of :func:`run_compare`."""

    table: pd.DataFrame
    scenarios: list[str]
    facilities: dict[str, int]
    threshold: Threshold
    measure_label: str
    notes: list[str]
    files: list[Path]


def run_compare(ws: Workspace, *, kind: str, scenarios: str = "today,planned", supply: str = "beds",
                demand_field: str = "elderly", method: str = "e2sfca", decay: str | None = None,
                minutes: float | None = None, distance_m: float | None = None, demand: str | None = None,
                profile: str = "walk", proposed_supply: float | None = None,
                snap_to: str | None = None) -> CompareRun:
    """Coverage and accessibility per unit for several scenarios side by side (``mzgis compare``);
    writes ``out/compare_<kind>.csv/.xlsx``, ``out/compare_<kind>.html`` (report section and Lorenz
    curves), a map page and the layers ``newly_covered_<kind>_<scenario>``.

    ``today`` counts 建成运营, ``planned`` adds 在建/规划, ``proposed`` adds to today the sites of
    ``mzgis site`` (layer ``sites_<kind>``) or any candidate layer (``proposed:LAYER``); a proposed
    site's supply is its own ``supply`` field if it has one, else ``proposed_supply``, else the median
    supply of today's facilities of the kind (said in the notes)."""
    from mzgis.analysis.access import SUPPLY_FIELDS
    from mzgis.analysis.equity import gini, lorenz
    from mzgis.analysis.scenarios import compare_scenarios
    from mzgis.maps.access_report import access_section_html, lorenz_png

    k = get_kind(kind)
    spec = parse_scenarios(scenarios, k.id)
    if proposed_supply is not None and not (np.isfinite(proposed_supply) and proposed_supply >= 0):
        msg = f"--proposed-supply {proposed_supply}: 必须为非负数 must be a non-negative number"
        raise LayerError(msg)
    graph = load_network(ws)
    th = threshold_setting(ws, kind_threshold_min=k.threshold_min, minutes=minutes, distance_m=distance_m,
                           profile=profile)
    fac = all_facilities(ws)
    fac = fac[fac["kind"] == k.id].reset_index(drop=True)
    today = fac[fac["status"].isin(SCENARIOS["today"])]
    notes: list[str] = []
    sets: dict[str, gpd.GeoDataFrame] = {}
    for name, layer in spec:
        if name in ("today", "planned"):
            sets[name] = fac[fac["status"].isin(SCENARIOS[name])].reset_index(drop=True)
            continue
        assert layer is not None
        if layer not in ws.store.layer_names():
            msg = (f"没有图层 no layer '{layer}' for the proposed scenario: run `mzgis site {ws.root} --kind {k.id} "
                   f"--add N` first, or give proposed:LAYER (a candidates layer)")
            raise LayerError(msg)
        prop = ws.store.read(layer).to_crs(fac.crs)
        if supply != "count" and (supply not in prop.columns or prop[supply].isna().any()):
            if supply not in SUPPLY_FIELDS:
                msg = f"不认识的供给 unknown --supply '{supply}'"
                raise LayerError(msg)
            fill = proposed_supply
            if fill is None:
                vals = pd.to_numeric(today.get(supply, pd.Series(dtype=float)), errors="coerce").dropna()
                if vals.empty:
                    msg = (f"建议选址没有 the proposed sites have no '{supply}' and no operating facility has one to "
                           f"take the median from; give --proposed-supply N")
                    raise LayerError(msg)
                fill = float(vals.median())
                notes.append(f"建议选址的供给取现有设施中位数 proposed sites' {supply} = {fill:g} "
                             "(median of today's facilities; --proposed-supply to change)")
            else:
                notes.append(f"建议选址的供给 proposed sites' {supply} = {fill:g} (--proposed-supply)")
            col = pd.to_numeric(prop[supply], errors="coerce") if supply in prop.columns else pd.Series(np.nan, index=prop.index)
            prop[supply] = col.fillna(fill)
        prop = prop.assign(feature_id="P:" + prop["feature_id"].astype(str), kind=k.id, status="proposed")
        sets[name] = gpd.GeoDataFrame(pd.concat([today, prop[[c for c in prop.columns if c in fac.columns or c == supply]]],
                                                ignore_index=True), crs=fac.crs)
        notes.append(f"proposed = 建成运营 today + {len(prop)} 个建议选址 proposed sites from layer {layer}")
    dem, source = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    units, unit_of, names, jur = _unit_context(ws, dem)
    cmp = compare_scenarios(graph, sets, dem, unit_of=unit_of, unit_names=names, jurisdiction=jur, supply=supply,
                            demand_field=demand_field, method=method, decay=decay, threshold=th.value,
                            mode="distance" if th.mode == "distance" else "minutes",
                            speed_m_per_min=th.speed_m_per_min,
                            max_snap_m=float(ws.config["travel"]["max_snap_distance_m"]),
                            snap_to=snap_setting(ws, snap_to))
    first = next(iter(cmp.results.values()))
    ms = first.measure
    table = cmp.table.assign(facility_kind=k.name_zh, access_unit=ms.name, access_unit_zh=ms.label_zh,
                             method=method, decay=first.decay, threshold=th.label)
    names_list = list(sets)
    out = ws.out_dir
    zh = {"level": "层级", "unit_code": "单位编码", "unit_name": "单位名称", "households": "户数",
          "facility_kind": "设施类型", "access_unit": "可达性单位", "access_unit_zh": "可达性单位(中文)",
          "method": "方法", "decay": "距离衰减", "threshold": "阈值"}
    for s in names_list:
        zh |= {f"facilities_{s}": f"设施数 {s}", f"households_covered_{s}": f"覆盖户数 {s}",
               f"share_covered_{s}": f"户数覆盖率 {s}", f"access_{s}": f"可达性 {s}",
               f"households_covered_change_{s}": f"覆盖户数变化 {s}", f"access_change_{s}": f"可达性变化 {s}"}
    files = write_table(table, out / f"compare_{k.id}.csv", xlsx_path=out / f"compare_{k.id}.xlsx",
                        headers_zh=zh, sheet="情景对比")
    for s, pts in cmp.newly_covered.items():
        lname = f"newly_covered_{k.id}_{s}"
        if len(pts) or lname in ws.store.layer_names():
            ws.store.write_layer(lname, pts.rename(columns={"demand_id": "feature_id"}).assign(kind=k.id),
                                 layer_type="newly_covered", kind=k.id, retire_missing=True,
                                 note=f"compare {k.id} {s} vs {names_list[0]}")
    curves, ginis = {}, {}
    for s, r in cmp.results.items():
        v, w = r.demand["access"].to_numpy(), r.demand["demand"].to_numpy()
        curves[s], ginis[s] = lorenz(v, w), gini(v, w)
    png = lorenz_png(curves, out / f"compare_{k.id}_lorenz.png", gini=ginis,
                     title=f"{k.name_zh} {ms.label_zh} 情景对比 scenarios")
    files.append(png)
    counts = {s: len(f) for s, f in sets.items()}
    jrow = table[table["level"] == "jurisdiction"].iloc[0]
    summary = [f"阈值 threshold: {th.label}; 方法 method: {method}, {first.decay}; 需求 demand: {source}",
               *(f"{s}: {counts[s]} 处设施 facilities, 覆盖户数 households covered {jrow[f'households_covered_{s}']:,.0f}"
                 f" / {jrow['households']:,.0f}, {ms.label_zh} {jrow[f'access_{s}']:.3f}, Gini {ginis[s]:.3f}"
                 for s in names_list), *notes]
    map_path = _access_map(ws, out / f"compare_{k.id}_map.html", title=f"{k.name_zh} 情景对比 scenarios",
                           facilities=sets[names_list[-1]], units=units, graph=graph,
                           choropleths=[(f"可达性 access {s}: {ms.label_zh}",
                                         table.rename(columns={f"access_{s}": "access"}).assign(demand=table["households"]),
                                         ms.label_zh) for s in names_list],
                           newly=cmp.newly_covered)
    page = access_section_html(title=f"{k.name_zh} 情景对比 scenarios compared", summary=summary, compare=table,
                               scenario_names=names_list, pngs=[png.name], map_file=map_path.name)
    (out / f"compare_{k.id}.html").write_text(page, encoding="utf-8")
    files += [out / f"compare_{k.id}.html", map_path]
    return CompareRun(table, names_list, counts, th, ms.label_zh, notes, files)


# -- single-feature edits, validated like imports -----------------------------------------------------
def edit_feature(ws: Workspace, layer: str, feature_id: str, *, changes: dict[str, Any] | None = None,
                 geometry: Any = None, add: bool = False, expect_version: int | None = None,
                 note: str | None = None, coords: str | None = None, user: str | None = None) -> ImportReport:
    """Add or update one feature through the importer's validation, then the store's history.

    The feature as it would be after the edit (its current attributes with the changes; for a new
    feature, the layer's kind and level) is checked exactly as an imported row is: kinds, statuses
    and conditions normalised from Chinese or English names, numbers parsed and non-negative,
    coordinates inside the extent with swapped lon/lat detected, ``coords`` (gcj02, bd09,
    cgcs2000, EPSG:n) converted. A bad value is refused with the importer's message and nothing is
    written. Only the fields named in ``changes`` (and, for a new feature, the layer's kind and
    level) are written; the others stay as they are.
    """
    from mzgis.layers.schemas import SCHEMAS
    from mzgis.layers.sources import RawSource

    store = ws.store
    info = store.layer_info(layer)
    if info is None:
        msg = f"没有图层 no layer '{layer}'; 图层 layers: {store.layer_names()}"
        raise LayerError(msg)
    layer_type = str(info["layer_type"])
    changes = dict(changes or {})
    if layer_type not in SCHEMAS:  # derived layers (gaps, sites, findings): no import schema
        return store.edit_feature(layer, feature_id, changes=changes, geometry=geometry,
                                  expect_version=expect_version, note=note, add=add, user=user)
    internal = {"feature_id", "geometry", "mz_version", "mz_updated_at", "mz_retired_at"}
    if add:
        row: dict[str, Any] = {}
        geom = geometry
        if geom is None:
            msg = "新要素需要位置 a new feature needs a geometry: --lonlat X,Y or --wkt …"
            raise LayerError(msg)
    else:
        cur = store.feature(layer, feature_id)
        if not _missing(cur.get("mz_retired_at")):
            msg = f"要素 {feature_id} 已退役 is retired; 用 use `mzgis revert` to bring back a version"
            raise LayerError(msg)
        row = {str(k): v for k, v in cur.items() if k not in internal and not _missing(v)}
        geom = geometry if geometry is not None else cur["geometry"]
    row.update(changes)
    row["feature_id"] = str(feature_id)
    table = pd.DataFrame([{k: (None if v is None else v) for k, v in row.items()}])
    raw = RawSource(Path(f"mzgis edit {layer} {feature_id}"), table, gpd.GeoSeries([geom]), None, ["--set"])
    # the layer's kind and level fill a new feature; a kind or level the edit gives is checked itself
    prepared = prepare_layer(raw, layer_type, kind=None if "kind" in changes else (str(info.get("kind") or "") or None),
                             level=None if "level" in changes else (str(info.get("level") or "") or None),
                             coords=coords or "wgs84", id_field="feature_id", extent=ws.extent)
    new = prepared.gdf.iloc[0]
    schema_fields = {f.name for f in SCHEMAS[layer_type].fields}
    write = {k: (None if _missing(new[k]) else new[k]) for k in changes if k in new.index}
    unknown = sorted(set(changes) - set(new.index))
    if unknown:
        msg = f"图层 '{layer}' 没有字段 no fields {unknown}; 字段 fields: {sorted(c for c in new.index if c not in internal)}"
        raise LayerError(msg)
    if add:
        for k in ("kind", "level", "status"):
            if k in schema_fields and k in new.index and not _missing(new[k]):
                write.setdefault(k, new[k])
    new_geom = prepared.gdf.geometry.iloc[0] if geometry is not None else None
    return store.edit_feature(layer, feature_id, changes=write, geometry=new_geom, expect_version=expect_version,
                              note=note, add=add, user=user)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA
