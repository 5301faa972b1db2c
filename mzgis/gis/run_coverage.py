"""``mzgis reach``, ``coverage``, ``standards`` and ``service-areas``: inputs from the workspace,
the analysis of :mod:`mzgis.analysis`, outputs into ``out/`` and the store.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from mzgis.analysis.area_standard import (
    AREA_COLUMNS,
    AREA_COLUMNS_ZH,
    area_standard,
    rules_from_config,
)
from mzgis.analysis.coverage import (
    COVERAGE_COLUMNS_ZH,
    coverage_table,
    uncovered_units,
)
from mzgis.analysis.gaps import gap_points
from mzgis.analysis.indicators import (
    INDICATOR_COLUMNS_ZH,
    IndicatorContext,
    evaluate,
    indicator_set,
)
from mzgis.analysis.reach import (
    ReachResult,
    network_reach,
)
from mzgis.analysis.service_areas import service_areas
from mzgis.analysis.units import by_code, households_by_unit
from mzgis.errors import DoubleCountError, LayerError, NetworkError
from mzgis.gis.assumed import run_assumptions
from mzgis.gis.coverage_layer import write_coverage_layer
from mzgis.gis.inputs import (
    SCENARIOS,
    all_facilities,
    facilities_of,
    file_stem,
    load_demand,
    load_network,
    minutes_fn,
    snap_setting,
    unit_context,
    units_by_level,
)
from mzgis.gis.outnames import variant_suffix
from mzgis.gis.workspace import Workspace
from mzgis.layers.kinds import get_kind
from mzgis.layers.network import RoadGraph
from mzgis.layers.safe_text import write_csv
from mzgis.maps.tables import write_table

log = logging.getLogger(__name__)


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
                        max_snap_m=ws.settings.travel.max_snap_distance_m, snap_to=snap_setting(ws, snap_to))
    out = ws.out_dir / "reach.csv"
    table = res.demand.copy()
    table["facility_status"] = "、".join(statuses)
    table["snap_to"] = res.snap_to
    table["distance_m"] = table["distance_m"].round(1)
    table["minutes"] = table["minutes"].round(2)
    table["access_m"] = table["access_m"].round(1)
    write_csv(table, out)
    return out, res


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
    #: facilities the figures used (of ``statuses``, snapped to the network)
    facilities_counted: int = 0
    #: facilities of ``statuses`` too far from the network to count (listed in ``unsnapped_facilities``)
    facilities_left_out: int = 0
    snapping: str = ""
    gaps_layer: str = ""
    #: the assumptions of the run, one line each (:func:`mzgis.gis.assumed.run_assumptions`)
    assumptions: list[str] = field(default_factory=list)


def run_coverage(ws: Workspace, *, kind: str, minutes: list[float] | None = None, demand: str | None = None,
                 profile: str = "walk", statuses: tuple[str, ...] = SCENARIOS["today"],
                 snap_to: str | None = None, user: str | None = None, reach: Any = None,
                 graph: RoadGraph | None = None,
                 demand_points: tuple[gpd.GeoDataFrame, str] | None = None) -> CoverageRun:
    """15-minute service-circle coverage of a facility kind, per unit; see ``mzgis coverage``.

    ``reach`` replaces :func:`network_reach` (same signature and result), e.g. the partitioned run
    of :mod:`mzgis.gis.partitioned`.

    ``user`` is recorded in the history of the gaps layer it writes (default: the login name).

    Only facilities of ``statuses`` count (default 建成运营, operating); every table says which.
    ``graph`` and ``demand_points`` (as :func:`load_demand` returns them) are reused when the caller
    has them (the map): one graph object means one snapping index, so demand is snapped once.
    """
    k = get_kind(kind)
    graph = graph if graph is not None else load_network(ws)
    fac = facilities_of(ws, k.id, statuses)
    dem, source = demand_points if demand_points is not None else load_demand(ws, demand, graph)
    ths = minutes or ws.thresholds_min
    res = (reach or network_reach)(graph, fac, dem.rename(columns={"demand_id": "feature_id"}), thresholds_min=ths,
                        speed_m_per_min=ws.walk_speed_m_per_min(profile),
                        max_snap_m=ws.settings.travel.max_snap_distance_m, pairs=False,
                        snap_to=snap_setting(ws, snap_to))
    units, unit_of, names, jur = unit_context(ws, dem)
    table = coverage_table(dem, res.demand["minutes"], ths, unit_of=unit_of, unit_names=names, jurisdiction=jur)
    unc = uncovered_units(table, level="community" if "community" in units else "subdistrict")
    # say what was counted, in every row a planner may copy out
    for t in (table, unc):
        t["facility_kind"] = k.name_zh
        t["facility_status"] = "、".join(statuses)
    out = ws.out_dir
    # named by what differs from the default run (which keeps coverage_<kind>.csv): no run
    # overwrites another's figures
    suffix = variant_suffix(demand=demand, statuses=statuses, profile=profile, minutes=minutes,
                            default_minutes=ws.thresholds_min, snap_to=snap_to,
                            default_snap_to=ws.settings.travel.snap_to)
    stem = file_stem(k.id) + suffix
    files = write_table(table, out / f"coverage_{stem}.csv", xlsx_path=out / f"coverage_{stem}.xlsx",
                        headers_zh=COVERAGE_COLUMNS_ZH, sheet=f"{k.name_zh}覆盖")
    files += write_table(unc, out / f"uncovered_{stem}.csv")
    files += [p for p in [write_coverage_layer(table, units, out, stem)] if p is not None]  # polygons for QGIS
    # the uncovered demand as a layer, for siting and maps
    gaps = gap_points(dem, res.demand["minutes"], threshold_min=max(ths), kind=k.id)
    gaps_layer = re.sub(r"\W", "_", f"gaps_{k.id}{suffix}").encode()[:56].decode(errors="ignore")
    if len(gaps) or gaps_layer in ws.store.layer_names():
        ws.store.write_layer(gaps_layer, gaps, layer_type="gaps", kind=k.id, retire_missing=True,
                             note=f"coverage {k.id} {max(ths):g} min", user=user)
    return CoverageRun(table, unc, files, source, int((~res.demand["snapped"]).sum()), res.unsnapped_facilities,
                       statuses=statuses, facilities_counted=len(fac) - len(set(res.unsnapped_facilities)),
                       facilities_left_out=len(set(res.unsnapped_facilities)),
                       snapping=res.island_summary(dem["households"].reset_index(drop=True)
                                                   if "households" in dem else None), gaps_layer=gaps_layer,
                       assumptions=run_assumptions(ws, dem, profile=profile, snap_to=snap_to,
                                                   threshold=f"{'/'.join(f'{t:g}' for t in ths)} 分钟 min"))


@dataclass
class StandardsRun:
    """Outputs of :func:`run_standards`."""

    indicators: pd.DataFrame
    area: pd.DataFrame
    files: list[Path]
    assumptions: list[str] = field(default_factory=list)


def run_standards(ws: Workspace, *, plan: str | None = None, profile: str = "walk",
                  statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None,
                  graph: RoadGraph | None = None,
                  demand_points: tuple[gpd.GeoDataFrame, str] | None = None) -> StandardsRun:
    """Evaluate the workspace's indicators and the per-100-household area standard.

    Facilities of ``statuses`` count where an indicator does not name its own statuses. ``graph``
    and ``demand_points``: as for :func:`run_coverage`."""
    cfg = dict(ws.config)
    if plan is not None:
        cfg["indicators"] = {**cfg.get("indicators", {}), "plan": plan, "targets": {}, "params": {}}
    inds = indicator_set(cfg, ws.root)
    units = units_by_level(ws)
    fac = all_facilities(ws)
    if graph is None:
        try:
            graph = load_network(ws)
        except NetworkError:
            graph = None
    try:
        dem = demand_points[0] if demand_points is not None else load_demand(ws, None, graph)[0]
    except DoubleCountError:
        raise  # the same buildings in two layers: refused, never evaluated without a word
    except LayerError:
        dem = None
    rules = rules_from_config(ws.settings.area_rules)
    ctx = IndicatorContext(fac, units, ws.metric_crs().to_string(), demand=dem,
                           minutes_to_nearest=(minutes_fn(ws, graph, dem, fac, profile, statuses, snap_to)
                                               if dem is not None else None),
                           area_rules=rules, statuses=statuses)
    table = evaluate(inds, ctx)
    out = ws.out_dir
    files = write_table(table, out / "indicators.csv", xlsx_path=out / "indicators.xlsx",
                        headers_zh=INDICATOR_COLUMNS_ZH, sheet="指标")
    area = pd.DataFrame(columns=AREA_COLUMNS)
    if "community" in units:
        cs = fac[fac["kind"] == "community_service"]
        com = units["community"]
        hh = by_code(households_by_unit(dem, com), com) if dem is not None else None
        area = area_standard(com, cs, households=hh, rules=rules)
        files += write_table(area, out / "area_standard.csv", xlsx_path=out / "area_standard.xlsx",
                             headers_zh=AREA_COLUMNS_ZH, sheet="每百户面积")
    return StandardsRun(table, area, files, run_assumptions(ws, dem, profile=profile, snap_to=snap_to))


def run_service_areas(ws: Workspace, *, kind: str, minutes: list[float] | None = None, profile: str = "walk",
                      statuses: tuple[str, ...] = SCENARIOS["today"], snap_to: str | None = None) -> list[str]:
    """Service areas of a kind as two store layers (exportable like any other): per facility and
    threshold ``service_areas_<kind>``, and dissolved per threshold ``service_areas_<kind>_all``."""
    k = get_kind(kind)
    graph = load_network(ws)
    fac = facilities_of(ws, k.id, statuses)
    if fac.empty:
        msg = f"没有{'、'.join(statuses)}的{k.name_zh} no {k.id} facilities of status {'、'.join(statuses)}"
        raise LayerError(msg)
    ths = minutes or ws.thresholds_min
    kw: dict[str, Any] = {"thresholds_min": ths, "speed_m_per_min": ws.walk_speed_m_per_min(profile),
                          "buffer_m": ws.settings.travel.service_area_buffer_m,
                          "max_snap_m": ws.settings.travel.max_snap_distance_m,
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
