"""Network commands: ``mzgis network`` (build the pedestrian graph) and ``mzgis reach``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mzgis.gis.argtypes import (
    DEMAND_HELP,
    KIND_HELP,
    PROFILE_HELP,
    WS_HELP,
    add_output_coords,
    minutes_list,
    positive_float,
    positive_int,
    share,
)
from mzgis.gis.left_out import left_out_note


def add_counting_args(s: argparse.ArgumentParser) -> None:
    """``--status``, ``--scenario`` and ``--snap-to``: what an analysis counts, said in its output."""
    g = s.add_mutually_exclusive_group()
    g.add_argument("--status", help="计入的设施状态 facility statuses counted, comma-separated "
                                    "(建成运营, 在建, 规划; default 建成运营)")
    g.add_argument("--scenario", choices=["today", "planned"],
                   help="today = 建成运营 (default); planned = 建成运营 + 在建 + 规划")
    s.add_argument("--snap-to", choices=["main", "any"],
                   help="吸附 snapping: main (default, 主路网): snap points to the main network (largest connected piece); "
                        "any: to the nearest piece, islands included")


def counting(a: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the pipelines for :func:`add_counting_args`."""
    from mzgis.gis.pipelines import counted_statuses

    return {"statuses": counted_statuses(a.status, a.scenario), "snap_to": a.snap_to}


def cmd_network(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import build_network
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    t0 = time.perf_counter()
    g, cached = build_network(ws, a.source, profile=a.profile, keep_largest=a.largest)
    how = "从缓存载入 loaded from cache" if cached else "已构建并缓存 built and cached"
    print(f"路网 network {how}: {g.n_nodes} 节点 nodes, {g.n_edges} 边 edges, "
          f"{g.length_m.sum() / 1000:.1f} km, CRS {g.crs} ({time.perf_counter() - t0:.2f} s)")
    if a.largest:
        print(f"  最大连通分量 largest component kept: {g.dropped_nodes} nodes dropped (not connected to it)")
    return 0


def cmd_reach(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_reach
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    cnt = counting(a)
    out, res = run_reach(ws, facilities=a.facilities, demand=a.demand, profile=a.profile,
                         minutes=a.minutes, kind=a.kind, **cnt)
    d = res.demand
    print(f"可达分析 reach: {len(d)} 需求点 demand points, 最近设施距离 nearest-facility distance written to {out}")
    print(f"  计入设施 facilities counted: 图层 layer {a.facilities}{'、' + a.kind if a.kind else ''}，"
          f"状态 status {'、'.join(cnt['statuses'])}")
    print(f"  {res.island_summary()}")
    for t in res.thresholds_min:
        col = f"facilities_within_{t:g}min"
        if col in d:
            print(f"  {t:g} 分钟内 within {t:g} min: {int((d[col] > 0).sum())} / {len(d)}")
    if res.unsnapped_facilities:
        print(f"  注意 {len(res.unsnapped_facilities)} 个设施离路网过远未参与 facilities too far from the network: "
              f"{', '.join(res.unsnapped_facilities[:20])}")
    if res.unsnapped_demand:
        print(f"  注意 {len(res.unsnapped_demand)} 个需求点离路网过远 demand points too far from the network: "
              f"{', '.join(res.unsnapped_demand[:20])}")
    return 0


def add_commands(sub: Any) -> None:
    """Register the network commands on the top-level subparsers."""
    s = sub.add_parser("network", help="构建步行路网 build the pedestrian network (.osm/.osm.pbf or road lines)")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("source", help="路网来源 network source: .osm/.osm.pbf or a road-line file")
    s.add_argument("--profile", default="walk", choices=["walk"], help="出行方式 travel profile: walk 步行")
    s.add_argument("--largest", action="store_true", help="只保留最大连通分量 keep only the largest connected component")
    s.set_defaults(func=cmd_network)

    s = sub.add_parser("reach", help="可达分析 nearest facility and reach per demand point → out/reach.csv")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--facilities", required=True, help="设施图层 facility layer")
    s.add_argument("--demand", required=True, help="需求图层 demand layer")
    s.add_argument("--kind", help="只计此类设施 only facilities of this kind")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    s.add_argument("--minutes", type=minutes_list, help="分钟阈值 thresholds in minutes, e.g. 5,10,15 (default: mzgis.toml)")
    s.set_defaults(func=cmd_reach)
    add_analysis_commands(sub)
    add_map_commands(sub)
    add_site_command(sub)


def cmd_coverage(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_coverage
    from mzgis.gis.workspace import Workspace

    if (a.workers is not None or a.scheduler is not None) and a.by is None:
        print("错误 error: mzgis coverage: --workers/--scheduler 需要 need --by LEVEL (e.g. --by county, "
              "--by subdistrict): 按哪一级单位分区 the admin level to partition by", file=sys.stderr)
        return 2
    if a.workers is not None and a.scheduler is not None:
        print("错误 error: mzgis coverage: --workers 与 --scheduler 只能给一个 give either --workers N (a local "
              "cluster) or --scheduler tcp://HOST:PORT (an existing cluster), not both", file=sys.stderr)
        return 2
    ws = Workspace.open(a.dir)
    if a.by is not None:
        from mzgis.gis.partitioned import run_coverage_partitioned

        run = run_coverage_partitioned(ws, by=a.by, workers=a.workers or 2, scheduler=a.scheduler, kind=a.kind,
                                       minutes=a.minutes, demand=a.demand, profile=a.profile, **counting(a))
        where = a.scheduler or f"本机 local cluster of {a.workers or 2} worker processes"
        print(f"分区计算 partitioned by {a.by} on Dask ({where}); 结果与单进程相同 results identical to one process")
    else:
        run = run_coverage(ws, kind=a.kind, minutes=a.minutes, demand=a.demand, profile=a.profile,
                           **counting(a))
    t = run.table
    kind_zh = str(t["facility_kind"].iloc[0]) if len(t) else a.kind
    print(f"服务圈覆盖 coverage of {kind_zh}（{'、'.join(run.statuses)}，{run.facilities_counted} 处 facilities"
          f"{left_out_note(run.facilities_left_out)}）"
          f" (需求 demand: {run.demand_source}):")
    print(f"  {run.snapping}")
    for line in run.assumptions:
        print(f"  {line}")
    for _, r in t[t["level"] == "jurisdiction"].iterrows():
        print(f"  {r['minutes']:g} 分钟 min: 户数 households {r['households_covered']:.0f}/{r['households']:.0f} "
              f"({100 * r['share_covered']:.1f}%), 人口 residents {r['population_covered']:.0f}/{r['population']:.0f}, "
              f"老年人 elderly {r['elderly_covered']:.0f}/{r['elderly']:.0f}")
    if len(run.uncovered):
        top = run.uncovered.head(5)
        print("  未覆盖人口最多的单位 most uncovered: " + "; ".join(
            f"{r.unit_name} {r.population_uncovered:.0f}" for r in top.itertuples()))
    if run.unsnapped_demand:
        print(f"  注意 {run.unsnapped_demand} 个需求点离路网过远 demand points too far from the network (uncovered)")
    if run.unsnapped_facilities:
        print(f"  注意 设施离路网过远 facilities too far from the network: {', '.join(run.unsnapped_facilities[:20])}")
    for p in run.files:
        print(f"  → {p}")
    return 0


def indicator_line(r: Mapping[Any, Any], *, detail: bool = True) -> str:
    """One indicator as a line of the terminal report."""
    mark = "达标 pass" if r["passed"] is True else ("未达标 FAIL" if r["passed"] is False else "不适用 n/a")
    actual = "—" if r["actual"] != r["actual"] else f"{r['actual']:.4g}"
    line = (f"  {r['indicator_id']:<6} {mark:<10} {actual:>8} / {r['comparator']}{r['target']:g} {r['unit']:<6} "
            f"{r['binding']}  {r['name_zh']}")
    return line + (f"  {r['detail']}" if detail and r.get("detail") else "")


def cmd_standards(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_standards
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    from mzgis.analysis.indicators import indicator_set, plan_title
    from mzgis.errors import ConfigError

    cnt = counting(a)
    if a.plan and a.plan not in ("mentougou", "chifeng", "none") and Path(a.plan).exists():
        a.plan = str(Path(a.plan).resolve())  # a plan file named relative to where the command runs
    cfg = {**ws.config, "indicators": {"plan": a.plan}} if a.plan else ws.config
    if not indicator_set(cfg, ws.root):
        msg = (f"{ws.config_path}: 未指定规划指标集 no indicator set. 用 --plan mentougou|chifeng|FILE.toml，"
               "或在 mzgis.toml 中设 set [indicators] plan = \"mentougou\" (or \"chifeng\", or a plan file)")
        raise ConfigError(msg)
    run = run_standards(ws, plan=a.plan, profile=a.profile, **cnt)
    print(f"指标评估 indicators — {plan_title(cfg, ws.root)} (计入设施状态 facilities counted: "
          f"{'、'.join(cnt['statuses'])}, 除非指标另有规定 unless an indicator names its own):")
    for r in run.indicators.to_dict("records"):
        print(indicator_line(r))
    for line in run.assumptions:
        print(f"  {line}")
    if len(run.area):
        print(f"每百户面积 area standard: {int(run.area['passed'].sum())}/{len(run.area)} 个社区达标 communities pass")
    for p in run.files:
        print(f"  → {p}")
    return 0


def add_analysis_commands(sub: Any) -> None:
    """Register ``coverage`` and ``standards``."""
    s = sub.add_parser("coverage", help="服务圈覆盖 service-circle coverage per unit → out/coverage_<kind>.csv/.xlsx")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kind", required=True, help=KIND_HELP)
    s.add_argument("--minutes", type=minutes_list, help="分钟阈值 thresholds in minutes, e.g. 5,10,15 (default: mzgis.toml)")
    s.add_argument("--demand", help=DEMAND_HELP)
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    from mzgis.gis.partitioned import scheduler_address, worker_count

    s.add_argument("--by", help="分区计算 partition the run by this admin level on Dask: county (= district), "
                                "subdistrict, community (one task per unit, results identical)")
    s.add_argument("--workers", type=worker_count, help="本机工作进程数 with --by: local worker processes (default 2)")
    s.add_argument("--scheduler", type=scheduler_address,
                   help="已有的 Dask 调度器 with --by: an existing Dask scheduler, tcp://HOST:PORT, instead of a local cluster")
    s.set_defaults(func=cmd_coverage)

    s = sub.add_parser("standards", help="指标评估 indicators against plan targets → out/indicators.csv/.xlsx")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--plan", help="规划指标集 indicator set: mentougou | chifeng | FILE.toml (default: mzgis.toml [indicators] plan)")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    s.set_defaults(func=cmd_standards)


def cmd_map(a: argparse.Namespace) -> int:

    from mzgis.gis.pipelines import run_map
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    if a.out:
        ws.check_output(a.out, flag="map --out")
    kinds = [k for k in (a.kinds or "").split(",") if k.strip()] or None
    run = run_map(ws, kinds=kinds, basemap=a.basemap, out=Path(a.out) if a.out else None, profile=a.profile,
                  **counting(a))
    print(f"地图 map → {run.path} ({run.size_bytes / 1e6:.2f} MB; 离线 offline: no network requests"
          f"{'' if a.basemap in ('roads', 'none') else ', except the opt-in online basemap tiles'}"
          f"{', except the [maps] tiles server' if run.data.tiles else ''})")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_report
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    said: list[str] = []
    files = run_report(ws, kinds=[k for k in (a.kinds or "").split(",") if k.strip()] or None, profile=a.profile,
                       date=a.date, paper=a.paper, access=a.access, access_method=a.access_method,
                       access_decay=a.access_decay, said=said, **counting(a))
    for line in said:
        print(line)
    print("报告 report:")
    for p in files:
        print(f"  → {p}")
    return 0


def cmd_service_areas(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_service_areas
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    names = run_service_areas(ws, kind=a.kind, minutes=a.minutes, profile=a.profile, **counting(a))
    print(f"服务范围 service areas → 图层 layers {', '.join(names)} "
          f"(导出 export with: mzgis export {a.dir} {names[0]} areas.geojson)")
    return 0


def add_map_commands(sub: Any) -> None:
    """Register ``map``, ``report`` and ``service-areas``."""
    s = sub.add_parser("service-areas", help="服务范围 5/10/15-minute service areas as store layers")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kind", required=True, help=KIND_HELP)
    s.add_argument("--minutes", type=minutes_list, help="分钟阈值 thresholds in minutes, e.g. 5,10,15 (default: mzgis.toml)")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    s.set_defaults(func=cmd_service_areas)

    s = sub.add_parser("map", help="交互地图 interactive offline map → out/map.html")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kinds", help="设施类型，逗号分隔 comma-separated kinds (default: every kind in the store)")
    s.add_argument("--basemap", default="roads", choices=["none", "roads", "osm", "tianditu", "amap"],
                   help="底图 basemap: roads (default, 离线 offline) | none | osm | tianditu 天地图 | amap 高德 (online tiles)")
    s.add_argument("--out", help="输出 HTML 文件 output HTML (default: out/map.html)")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    s.set_defaults(func=cmd_map)

    s = sub.add_parser("report", help="报告 report → out/report.html (one file), report.docx, map_A4/A3_*.pdf")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kinds", help="设施类型，逗号分隔 comma-separated kinds (default: every kind in the store)")
    s.add_argument("--date", help="报告日期 the report's date, YYYY-MM-DD (default: today)")
    s.add_argument("--paper", default="all", help="PDF 地图纸张 print maps: all (default), A4, A3, A4-landscape, "
                                                  "A4-portrait, A3-landscape, A3-portrait; comma-separated")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    s.add_argument("--access", action="append", metavar="KIND[:SUPPLY]",
                   help="可达性与公平 compute accessibility of KIND first (supply beds|floor_area_m2|count, default "
                        "beds; method, decay and threshold as the last `mzgis access` of KIND, else its defaults) and report it; results of earlier `mzgis access` "
                        "runs are reported without this")
    s.add_argument("--access-method", choices=["2sfca", "e2sfca", "gravity"],
                   help="与 --access 同用：可达性方法（默认沿用上次 mzgis access 的方法，否则 e2sfca） with --access: "
                        "the method (default: that of the last `mzgis access` of the kind, else e2sfca)")
    s.add_argument("--access-decay", metavar="DECAY",
                   help="与 --access 同用：距离衰减（默认沿用上次 mzgis access 的设置） with --access: the distance "
                        "decay, as mzgis access --decay (default: that of the last `mzgis access` of the kind)")
    add_counting_args(s)
    s.set_defaults(func=cmd_report)


def cmd_site(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_site
    from mzgis.gis.workspace import Workspace

    if (a.add is None) == (a.target is None):
        print("错误 error: mzgis site: 请给出 --add N 或 --target SHARE 之一 give exactly one of --add N or "
              "--target SHARE (e.g. --target 0.9)", file=sys.stderr)
        return 2
    ws = Workspace.open(a.dir)
    run = run_site(ws, kind=a.kind, add=a.add, target=a.target, minutes=a.minutes, demand=a.demand,
                   candidates=a.candidates, capacity=a.capacity, decay=a.decay, method=a.method, profile=a.profile,
                   coords=a.coords, **counting(a))
    r = run.result
    print(f"选址 siting {a.kind}: 候选 candidates: {run.candidates_source}; 方法 method: {r.method} ({r.seconds:.2f} s)")
    base = r.covered - sum(r.gains)
    share = 100 / max(r.total, 1e-9)
    print(f"  视为已有的设施 held fixed: 状态 status {run.table['fixed_status'].iloc[0] if len(run.table) else '—'}; "
          f"现状覆盖 covered now {base:,.0f}/{r.total:,.0f} 户 households ({share * base:.1f}%); "
          f"加上 {len(r.chosen)} 个新址 with the {len(r.chosen)} new site{'s' if len(r.chosen) != 1 else ''} {r.covered:,.0f} ({share * r.covered:.1f}%)")
    for n in [*r.notes, *run.assumptions]:
        print(f"  {n}")
    for row in run.table.to_dict("records"):
        print(f"  {row['rank']:>3}. {row['candidate_id']}  ({row['x']:.6f}, {row['y']:.6f})  +{row['households_gained']:.0f} 户 "
              f"→ {100 * row['cumulative_share']:.1f}%")
    for p in run.files:
        print(f"  → {p}")
    return 0


def add_site_command(sub: Any) -> None:
    """Register ``site``."""
    s = sub.add_parser("site", help="选址 propose new sites (maximal or set covering) → out/sites_<kind>.csv")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kind", required=True, help=KIND_HELP)
    s.add_argument("--add", type=positive_int, help="新增站点数 number of new sites (maximal covering)")
    s.add_argument("--target", type=share, help="目标覆盖户数比例 target share of households covered, 0–1 (set covering)")
    s.add_argument("--minutes", type=positive_float, help="服务阈值（分钟）service threshold in minutes (default: the kind's, else the largest)")
    s.add_argument("--demand", help="需求图层 demand layer (default: every demand layer)")
    s.add_argument("--candidates", help="候选点图层 candidate layer (--type candidates); default: generated")
    s.add_argument("--capacity", type=positive_float, help="每个新设施可服务户数 households one new facility can serve")
    s.add_argument("--decay", choices=["linear"], help="阈值内覆盖的距离衰减 distance decay of coverage within the threshold")
    s.add_argument("--method", default="auto", choices=["auto", "exact", "greedy"],
                   help="求解方法 solver: auto (default) | exact 精确 | greedy 贪心")
    add_output_coords(s, "sites_<kind>.csv")
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)
    add_counting_args(s)
    s.set_defaults(func=cmd_site)
