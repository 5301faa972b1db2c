"""``mzgis site``: the siting model of :mod:`mzgis.analysis.siting` on the workspace's inputs,
the proposed sites written as tables and a store layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from mzgis.analysis.siting import SitingResult, site_on_network
from mzgis.analysis.siting_enough import drop_idle_sites
from mzgis.analysis.snapping import SegmentIndex
from mzgis.gis.assumed import run_assumptions
from mzgis.gis.inputs import (
    SCENARIOS,
    facilities_of,
    file_stem,
    load_demand,
    load_network,
    snap_setting,
)
from mzgis.gis.workspace import Workspace
from mzgis.layers.crs import with_output_coords
from mzgis.layers.kinds import get_kind
from mzgis.maps.tables import write_table

log = logging.getLogger(__name__)


# -- siting ------------------------------------------------------------------------------------------
@dataclass
class SiteRun:
    """Outputs of :func:`run_site`."""

    table: pd.DataFrame
    result: SitingResult
    files: list[Path]
    candidates_source: str
    assumptions: list[str] = field(default_factory=list)


def run_site(ws: Workspace, *, kind: str, add: int | None = None, target: float | None = None,
             minutes: float | None = None, demand: str | None = None, candidates: str | None = None,
             capacity: float | None = None, decay: str | None = None, method: str = "auto",
             profile: str = "walk", statuses: tuple[str, ...] = SCENARIOS["today"],
             snap_to: str | None = None, coords: str = "wgs84") -> SiteRun:
    """Propose new sites for a kind; writes ``out/sites_<kind>.csv`` and the layer ``sites_<kind>``.

    Facilities of ``statuses`` are held fixed (default 建成运营; the planned scenario also holds the
    在建/规划 stations fixed). Without a candidate layer the candidates are every network node
    within the service distance of uncovered demand (:func:`~mzgis.analysis.siting.generate_candidates`),
    thinned when there are more than :data:`~mzgis.analysis.siting.MAX_CANDIDATES`."""
    k = get_kind(kind)
    graph = load_network(ws)
    index = SegmentIndex.shared(graph, snap_to=snap_setting(ws, snap_to))
    t_min = float(minutes) if minutes is not None else float(k.threshold_min or max(ws.thresholds_min))
    limit = t_min * ws.walk_speed_m_per_min(profile)
    snap = ws.settings.travel.max_snap_distance_m
    dem, _ = load_demand(ws, demand, graph)
    dem = dem.reset_index(drop=True)
    fac = facilities_of(ws, k.id, statuses)
    cand = ws.store.read(candidates) if candidates is not None else None
    result, problem, used = site_on_network(graph, dem, fac, limit_m=limit, candidates=cand, add=add,
                                            target_share=target, decay=decay, capacity_households=capacity,
                                            method=method, max_snap_m=snap, index=index)
    result = drop_idle_sites(result, asked=add)
    thin = result.thinning
    source = (f"layer {candidates}" if candidates is not None else
              f"{len(used)} 个路网节点 network nodes within {t_min:g} min of uncovered demand "
              "(every such node: 'exact' is exact over all of them)" if thin is None else
              f"{thin.nodes} 个路网节点 network nodes within {t_min:g} min of uncovered demand, 抽稀为 thinned to "
              f"{thin.representatives} (每 {thin.cell_m:g} m 网格一个 one per {thin.cell_m:g} m cell; see the notes)")
    table = result.table(problem.candidate_ids, problem.candidate_lonlat)
    table["fixed_status"] = "、".join(statuses)
    out = ws.out_dir
    shown = with_output_coords(table, coords, x="x", y="y") if len(table) else table.copy()
    stem = file_stem(k.id)
    files = write_table(shown, out / f"sites_{stem}.csv", xlsx_path=out / f"sites_{stem}.xlsx",
                        headers_zh={"rank": "排序", "candidate_id": "候选址编号", "x": "经度", "y": "纬度",
                                    "households_gained": "新增覆盖户数", "cumulative_share": "累计户数覆盖率",
                                    "fixed_status": "视为已有的设施状态", "coord_system": "坐标系"},
                        sheet="建议选址")
    notes_file = out / f"sites_{stem}_notes.txt"
    notes_file.write_text("\n".join([f"选址 siting {k.id}: 方法 method {result.method}", *result.notes]) + "\n",
                          encoding="utf-8")
    files.append(notes_file)
    layer = gpd.GeoDataFrame(table.rename(columns={"candidate_id": "feature_id"}).assign(kind=k.id, minutes=t_min),
                             geometry=gpd.points_from_xy(table["x"], table["y"]), crs="EPSG:4326")
    ws.store.write_layer(f"sites_{k.id}", layer, layer_type="sites", kind=k.id, retire_missing=True,
                         note=f"site {k.id} {result.method}")
    said = run_assumptions(ws, dem, profile=profile, snap_to=snap_to, threshold=f"{t_min:g} 分钟 min")
    return SiteRun(shown, result, files, source, said)
