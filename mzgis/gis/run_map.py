"""``mzgis map`` and ``report``: what the map shows, computed by the other runs, and the pages,
print sheets and documents written around it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from mzgis.analysis.indicators import (
    plan_title,
)
from mzgis.analysis.service_areas import service_areas
from mzgis.errors import ConfigError, DoubleCountError, LayerError, NetworkError
from mzgis.gis.basemap import roads_layer
from mzgis.gis.inputs import (
    SCENARIOS,
    all_facilities,
    counted_label,
    is_sample_workspace,
    load_demand,
    load_network,
    snap_setting,
    units_by_level,
)
from mzgis.gis.left_out import left_out_facilities, left_out_note
from mzgis.gis.run_coverage import CoverageRun, StandardsRun, run_coverage, run_standards
from mzgis.gis.workspace import Workspace
from mzgis.layers.kinds import KINDS, get_kind
from mzgis.layers.network import RoadGraph, file_hash, is_osm

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

log = logging.getLogger(__name__)


# -- maps and reports -------------------------------------------------------------------------------
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
    tiles = ws.settings.maps.tiles
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
    # one graph and one demand set for coverage, indicators and the map's extent: the graph's
    # snapping index (and its memory of snapped point sets) is then shared, so demand is snapped once
    demand_points: tuple[gpd.GeoDataFrame, str] | None = None
    if graph is not None:
        try:
            demand_points = load_demand(ws, None, graph)
        except DoubleCountError:
            raise  # the same buildings in two layers: refused, not left off the map
        except LayerError:
            demand_points = None
    if graph is not None and main_kind is not None:
        try:
            cov = run_coverage(ws, kind=main_kind, profile=profile, statuses=statuses, snap_to=snap_to,
                               graph=graph, demand_points=demand_points)
        except LayerError as exc:
            log.warning("no coverage on the map: %s", exc)
        speed = ws.walk_speed_m_per_min(profile)
        op = shown[shown["status"].isin(statuses) & shown["kind"].isin(walkable)]
        if len(op):
            # dissolved per kind on a grid (mzgis.maps.areas): the exact union is minutes at city scale
            sa = display_service_areas(graph, op, thresholds_min=ws.thresholds_min, speed_m_per_min=speed,
                                       buffer_m=ws.settings.travel.service_area_buffer_m,
                                       max_snap_m=ws.settings.travel.max_snap_distance_m, dissolve_by="kind",
                                       snap_to=snap_setting(ws, snap_to))
        gaps_layer = cov.gaps_layer if cov is not None and cov.gaps_layer else f"gaps_{main_kind}"
        if gaps_layer in store.layer_names():
            gaps = store.read(gaps_layer)
    std = run_standards(ws, profile=profile, statuses=statuses, snap_to=snap_to, graph=graph,
                        demand_points=demand_points)
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
                                           buffer_m=ws.settings.travel.service_area_buffer_m,
                                           dissolve_by="kind", snap_to=snap_setting(ws, snap_to))
    left_out = left_out_facilities(graph, shown[shown["kind"] == main_kind], cov.unsnapped_facilities) if graph is not None and cov else None
    sample = is_sample_workspace(ws)
    roads, labels = _map_roads(ws, graph)
    focus = demand_points[0] if demand_points is not None else None
    data = MapData(
        title=f"{ws.settings.project.title} 民政设施与服务圈",
        facilities=shown, units=units, coverage=cov.table if cov else None,
        coverage_kind=main_kind if cov is not None else None,
        service_areas=sa, gaps=gaps, markers=markers, roads=roads,
        sites=sites, site_areas=site_areas, left_out=left_out, indicators=std.indicators, sample=sample,
        tianditu_key=ws.settings.maps.tianditu_key, focus=focus, labels=labels, tiles=tiles)
    m = build_map(data, basemap=basemap)
    _add_saved_access(ws, m, units, kind_ids if kinds else None)
    path, size = save_map(m, out or ws.out_dir / "map.html")
    return MapRun(path, size, data, cov, std)


def _add_saved_access(ws: Workspace, m: Any, units: dict[str, gpd.GeoDataFrame], kinds: list[str] | None) -> None:
    """The access choropleth of every kind ``mzgis access`` has results for, as a layer of the map
    (in its grouped layer control, off until chosen)."""
    from mzgis.gis.access_results import saved_access
    from mzgis.maps.access_report import access_map_layer

    for acc in saved_access(ws.out_dir, kinds):
        access_map_layer(m, units, acc.by_unit, name=f"可达性 access: {KINDS[acc.kind].name_zh} {acc.unit_label}",
                         label=acc.unit_label)


def run_report(ws: Workspace, *, kinds: list[str] | None = None, profile: str = "walk",
               statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None,
               date: str | dt.date | None = None, paper: str = "all", access: list[str] | None = None,
               access_method: str | None = None, access_decay: str | None = None,
               said: list[str] | None = None) -> list[Path]:
    """``out/report.html`` (one self-contained file), ``out/report.docx`` and the print maps
    ``out/map_<A4|A3>_<landscape|portrait>.pdf``; see :func:`write_report`. ``access``: ``KIND`` or
    ``KIND:SUPPLY`` (beds, floor_area_m2, count; default beds) whose accessibility is computed first
    with the settings of the last ``mzgis access`` of that kind (its method, decay, threshold,
    demand; ``access_method``/``access_decay`` override them), else ``mzgis access``'s defaults;
    results of earlier ``mzgis access`` runs are shown too. ``said`` gets one line per rerun
    (method, decay, threshold, supply) for the console."""
    from mzgis.gis.run_access import run_access

    day = report_date(date)  # a bad --date, --paper or template fails before any work
    paper_names(paper)
    check_template(ws.root / "templates")
    runs = []
    for spec in access or []:
        name, _, supply = spec.partition(":")
        if supply not in ("", "beds", "floor_area_m2", "count"):
            msg = (f"--access {spec}: 供给 supply '{supply}' 应为 must be beds, floor_area_m2 or count "
                   "(e.g. --access 社区养老服务驿站:count)")
            raise LayerError(msg)
        runs.append((get_kind(name).id, supply or "beds", name))
    for k, supply, name in runs:
        kw = access_settings(ws, k, supply=supply, method=access_method, decay=access_decay, profile=profile)
        try:
            run = run_access(ws, kind=k, statuses=statuses, snap_to=snap_to, **kw)
        except LayerError as exc:  # the hint in this command's own words
            raise LayerError(str(exc).replace("--supply count", f"--access {name}:count")) from None
        if said is not None:
            said.append(f"可达性 access {name}: 方法 method {run.method}; 衰减 decay {run.decay}; 阈值 threshold "
                        f"{run.threshold.label}; 供给 supply {kw['supply']}; 需求 demand {kw.get('demand_field')}"
                        f" ({run.demand_source})")
    mp = run_map(ws, kinds=kinds, out=ws.out_dir / "map.html", profile=profile, statuses=statuses, snap_to=snap_to)
    if said is not None and mp.coverage is not None:
        said += mp.coverage.assumptions
    return write_report(ws, mp, date=day, paper=paper)


def access_settings(ws: Workspace, kind: str, *, supply: str, method: str | None, decay: str | None,
                    profile: str) -> dict[str, Any]:
    """The settings ``report --access`` reruns a kind's accessibility with: the last ``mzgis access``
    run's (out/access_<kind>_run.json: method, decay, threshold, demand) with the report's supply
    (``KIND:SUPPLY``, default beds) and explicit method/decay on top; a recorded decay is kept only
    with its own method, a recorded target only with its own supply."""
    from mzgis.gis.access_results import recorded_access_run

    rec = recorded_access_run(ws.out_dir, kind)
    kw: dict[str, Any] = {"supply": "beds", "demand_field": "elderly", "method": "e2sfca", "profile": profile}
    kw |= {k: v for k, v in rec.items() if k not in ("target", "supply")}
    kw["supply"] = supply or "beds"  # as the option says: KIND[:SUPPLY], default beds
    if method is not None and method != rec.get("method"):
        kw["method"] = method
        kw.pop("decay", None)
    if decay is not None:
        kw["decay"] = decay
    if "target" in rec and rec.get("supply") == kw["supply"]:
        kw["target"] = rec["target"]
    return kw


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
    unit = ws.settings.issuing_unit
    if unit is not None and not isinstance(unit, str):
        msg = f"{ws.config_path}: [report] issuing_unit = {unit!r} 应为文字 must be text, e.g. \"朝阳区民政局\""
        raise ConfigError(msg)
    return str(unit or ws.settings.project.name)


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
                     f"，共 {mp.coverage.facilities_counted} 处{left_out_note(mp.coverage.facilities_left_out)}; "
                     f"需求 demand: {mp.coverage.demand_source}. "
                     f"{mp.coverage.snapping}".strip())
        sources.append(f"需求 demand: {mp.coverage.demand_source}")
        notes += mp.coverage.assumptions  # what the figures assume, not only what they count
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
                             coverage_kind=mp.data.coverage_kind, uncovered=uncovered, area=std.area if std else None)
        + _saved_access_tables(ws, mp),
        notes=notes, images=pngs, map_html=mp.path.read_text(encoding="utf-8"), sample=mp.data.sample, pdfs=pdfs)
    templates = ws.root / "templates"
    rp = out / "report.html"
    rp.write_text(report_html(content, templates=templates), encoding="utf-8")
    docx = write_docx(content, out / "report.docx", templates=templates)
    return [rp, docx, *pdfs, mp.path, *pngs]


def _saved_access_tables(ws: Workspace, mp: MapRun) -> list[Any]:
    """The accessibility/equity section of every kind with saved results (of the map's kinds)."""
    from mzgis.gis.access_results import saved_access
    from mzgis.maps.access_report import access_report_tables

    kinds = sorted(set(mp.data.facilities["kind"].astype(str))) if mp.data.facilities is not None else None
    out: list[Any] = []
    for acc in saved_access(ws.out_dir, kinds):
        out += access_report_tables(acc.by_unit, acc.worst, lorenz=acc.lorenz, source=acc.source)
    return out
