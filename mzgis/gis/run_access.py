"""``mzgis access`` and ``compare``: accessibility, equity and scenarios from
:mod:`mzgis.analysis.access` and :mod:`mzgis.analysis.scenarios`, written as tables, pages
and layers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.errors import LayerError
from mzgis.gis.access_results import record_access_run
from mzgis.gis.assumed import run_assumptions
from mzgis.gis.basemap import roads_layer
from mzgis.gis.inputs import (
    SCENARIOS,
    all_facilities,
    counted_label,
    facilities_of,
    load_demand,
    load_network,
    snap_setting,
    unit_context,
)
from mzgis.gis.left_out import left_out_note
from mzgis.gis.workspace import Workspace
from mzgis.layers.kinds import get_kind
from mzgis.layers.network import RoadGraph
from mzgis.maps.tables import write_table

log = logging.getLogger(__name__)


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
    travel = ws.settings.travel
    mode = travel.threshold_mode
    if mode not in ("minutes", "distance"):
        msg = f"{ws.config_path}: [travel] threshold_mode = {mode!r} 应为 must be \"minutes\" or \"distance\""
        raise ConfigError(msg)
    level_min = float(kind_threshold_min or max(ws.thresholds_min))
    if mode == "minutes":
        return Threshold("minutes", level_min, speed)
    dists = travel.circle_distances_m
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
    v = ws.settings.access_targets.get(measure_name)
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
    assumptions: list[str] = field(default_factory=list)
    #: facilities of the kind left out, too far from the network (not in ``facilities_counted``)
    facilities_left_out: int = 0


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
    from mzgis.maps.webmap import MapData, build_map, save_map

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
    from mzgis.analysis.access import access_summary, accessibility
    from mzgis.maps.access_report import access_section_html, lorenz_png

    k = get_kind(kind)
    graph = load_network(ws)
    th = threshold_setting(ws, kind_threshold_min=k.threshold_min, minutes=minutes, distance_m=distance_m,
                           profile=profile)
    fac = facilities_of(ws, k.id, statuses)
    dem, source = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    res = accessibility(graph, fac, dem, supply=supply, demand_field=demand_field, method=method, decay=decay,
                        threshold=th.value, mode="distance" if th.mode == "distance" else "minutes",
                        speed_m_per_min=th.speed_m_per_min, max_snap_m=ws.settings.travel.max_snap_distance_m,
                        snap_to=snap_setting(ws, snap_to))
    ms = res.measure
    tgt = access_target(ws, ms.name, target)
    units, unit_of, names, jur = unit_context(ws, dem)
    summ = access_summary(res, unit_of, unit_names=names, jurisdiction=jur, target=tgt,
                          worst_level="community" if "community" in units else "subdistrict")
    worst, g, below = summ.worst, summ.gini, summ.share_below
    what = {"facility_kind": k.name_zh, "facility_status": "、".join(statuses), "access_unit": ms.name,
            "access_unit_zh": ms.label_zh, "method": method, "decay": res.decay, "threshold": th.label,
            "supply": supply}
    points = summ.points.assign(**what)
    by_unit = summ.by_unit.assign(**what, target=tgt)
    out = ws.out_dir
    zh = {"demand_id": "需求点编号", "district": "区县", "subdistrict": "街道", "community": "社区",
          "demand": f"需求({demand_field})", "access": f"可达性({ms.label_zh})", "supply_reachable": "可达供给(加权)",
          "cost_to_nearest": "至最近设施(分钟或米)", "snapped": "已吸附路网", "facility_kind": "计入设施类型",
          "facility_status": "计入设施状态", "access_unit": "可达性单位", "access_unit_zh": "可达性单位(中文)",
          "method": "方法", "decay": "距离衰减", "threshold": "阈值", "level": "层级", "unit_code": "单位编码",
          "unit_name": "单位名称", "facilities_reachable": "可达设施数", "share_below_target": "低于目标的需求占比",
          "gini": "基尼系数", "target": "目标值", "supply": "供给"}
    files = write_table(points, out / f"access_{k.id}.csv", xlsx_path=out / f"access_{k.id}.xlsx", headers_zh=zh,
                        sheet="需求点可达性")
    files += write_table(by_unit, out / f"access_{k.id}_units.csv", xlsx_path=out / f"access_{k.id}_units.xlsx",
                         headers_zh={**zh, "supply_reachable": "可达供给(不加权)"}, sheet="分单位可达性")
    files += write_table(worst, out / f"access_{k.id}_worst.csv")
    lc = summ.lorenz
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
    left = int((~res.facilities["snapped"].astype(bool)).sum()) if len(res.facilities) else 0
    if fac.empty:
        notes.insert(0, f"没有计入的设施 no facilities counted: no {k.name_zh} with status {'、'.join(statuses)}; "
                        "access is 0 everywhere")
    summary = [f"方法 method: {method}; 衰减 decay: {res.decay}; 阈值 threshold: {th.label}",
               f"计入设施 facilities counted: {counted_label(k.name_zh, statuses)}，共 {len(fac) - left} 处{left_out_note(left)}; "
               f"需求 demand: {source}",
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
    files.append(record_access_run(out, k.id, {"supply": supply, "demand_field": demand_field, "method": method,
                                               "decay": decay, "minutes": minutes, "distance_m": distance_m,
                                               "demand": demand, "profile": profile, "target": target}))
    return AccessRun(by_unit, points, worst, g, below, tgt, th, ms.label_zh, method, res.decay, statuses, len(fac) - left,
                     source, notes, files, run_assumptions(ws, dem, profile=profile, snap_to=snap_to,
                                                           threshold=th.label, method=method, decay=res.decay),
                     facilities_left_out=left)


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


def _proposed_sites(ws: Workspace, layer: str, kind_id: str) -> gpd.GeoDataFrame:
    """The proposed scenario's sites: the layer, or a message saying how to make it."""
    if layer not in ws.store.layer_names():
        msg = (f"没有图层 no layer '{layer}' for the proposed scenario: run `mzgis site {ws.root} --kind {kind_id} "
               f"--add N` first, or give proposed:LAYER (a candidates layer)")
        raise LayerError(msg)
    return ws.store.read(layer)


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
    #: per scenario, facilities too far from the network (not in ``facilities``)
    left_out: dict[str, int] = field(default_factory=dict)


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
    from mzgis.analysis.scenarios import compare_scenarios, scenario_facilities
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
    sets, notes = scenario_facilities(fac, [(name, layer, _proposed_sites(ws, layer, k.id) if layer else None)
                                            for name, layer in spec],
                                      kind=k.id, supply=supply, proposed_supply=proposed_supply)
    dem, source = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    units, unit_of, names, jur = unit_context(ws, dem)
    cmp = compare_scenarios(graph, sets, dem, unit_of=unit_of, unit_names=names, jurisdiction=jur, supply=supply,
                            demand_field=demand_field, method=method, decay=decay, threshold=th.value,
                            mode="distance" if th.mode == "distance" else "minutes",
                            speed_m_per_min=th.speed_m_per_min, max_snap_m=ws.settings.travel.max_snap_distance_m,
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
        zh |= {f"facilities_{s}": f"设施数 {s}", f"facilities_left_out_{s}": f"未计入设施数(离路网过远) {s}", f"households_covered_{s}": f"覆盖户数 {s}",
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
    curves, ginis = cmp.equity()
    png = lorenz_png(curves, out / f"compare_{k.id}_lorenz.png", gini=ginis,
                     title=f"{k.name_zh} {ms.label_zh} 情景对比 scenarios")
    files.append(png)
    jrow = table[table["level"] == "jurisdiction"].iloc[0]
    counts = {s: int(jrow[f"facilities_{s}"]) for s in names_list}  # those the figures used
    left = {s: int(jrow[f"facilities_left_out_{s}"]) for s in names_list}
    summary = [f"阈值 threshold: {th.label}; 方法 method: {method}, {first.decay}; 需求 demand: {source}",
               *(f"{s}: {counts[s]} 处设施 facilities{left_out_note(left[s])}, 覆盖户数 households covered {jrow[f'households_covered_{s}']:,.0f}"
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
    return CompareRun(table, names_list, counts, th, ms.label_zh, notes, files, left)
