"""Accessibility commands: ``mzgis access`` (2SFCA/E2SFCA/gravity with equity) and ``mzgis compare``
(scenarios side by side)."""

from __future__ import annotations

import argparse
from typing import Any

from mzgis.gis.argtypes import DEMAND_HELP, KIND_HELP, PROFILE_HELP, WS_HELP
from mzgis.gis.left_out import left_out_note


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--kind", required=True, help=KIND_HELP)
    s.add_argument("--supply", default="beds", choices=["beds", "floor_area_m2", "count"],
                   help="供给 supply per facility: beds (床位数), floor_area_m2 (建筑面积) or count (default beds)")
    s.add_argument("--demand-field", default="elderly", choices=["elderly", "population", "households"],
                   help="需求 demand per point (default elderly; per 1,000 persons, per 100 households)")
    s.add_argument("--method", default="e2sfca", choices=["2sfca", "e2sfca", "gravity"],
                   help="方法 method: 2sfca | e2sfca (default) | gravity")
    s.add_argument("--decay", help="距离衰减 decay: gaussian[:SIGMA] | linear | step:5,10,15 | step:5=1,10=0.68,15=0.22 | "
                                   "power:BETA[:MIN_COST] (default: gaussian for e2sfca, power:1 for gravity)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, help="步行分钟阈值 threshold in walking minutes (default: the kind's, or mzgis.toml)")
    g.add_argument("--distance-m", type=float,
                   help="步行距离阈值（米）threshold as walking distance in metres (life circles: 300/500/1000 m, GB 50180-2018)")
    s.add_argument("--demand", help=DEMAND_HELP)
    s.add_argument("--profile", default="walk", choices=["walk", "elderly"], help=PROFILE_HELP)


def cmd_access(a: argparse.Namespace) -> int:
    from mzgis.gis.cli_network import counting
    from mzgis.gis.pipelines import run_access
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    run = run_access(ws, kind=a.kind, supply=a.supply, demand_field=a.demand_field, method=a.method, decay=a.decay,
                     minutes=a.minutes, distance_m=a.distance_m, demand=a.demand, profile=a.profile,
                     target=a.target, **counting(a))
    j = run.by_unit.iloc[0]
    print(f"可达性 accessibility {run.method} ({run.decay}); 阈值 threshold {run.threshold.label}")
    print(f"  计入设施 facilities counted: {'、'.join(run.statuses)}，{run.facilities_counted} 处{left_out_note(run.facilities_left_out)}; 需求 demand: "
          f"{run.demand_source}")
    print(f"  全辖区 {j['unit_name']}: {run.measure_label} {j['access']:.3f}; 基尼系数 Gini "
          f"{'—' if run.gini != run.gini else f'{run.gini:.3f}'}"
          + (f"; 低于目标 below target {run.target:g}: {100 * run.share_below:.1f}% 的需求 of demand"
             if run.target is not None else "; 未设目标 no target (--target or [access.targets] in mzgis.toml)"))
    if len(run.worst):
        print("  服务最差的社区 worst served: " + "; ".join(
            f"{r['unit_name']} {r['access']:.3f}" for r in run.worst.head(10).to_dict("records")))
    for n in [*run.notes, *run.assumptions]:
        print(f"  {n}")
    for p in run.files:
        print(f"  → {p}")
    return 0


def cmd_compare(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_compare
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    run = run_compare(ws, kind=a.kind, scenarios=a.scenario, supply=a.supply, demand_field=a.demand_field,
                      method=a.method, decay=a.decay, minutes=a.minutes, distance_m=a.distance_m, demand=a.demand,
                      profile=a.profile, proposed_supply=a.proposed_supply, snap_to=a.snap_to)
    j = run.table[run.table["level"] == "jurisdiction"].iloc[0]
    print(f"情景对比 scenarios compared; 阈值 threshold {run.threshold.label}; {run.measure_label}")
    for s in run.scenarios:
        print(f"  {s:<9} {run.facilities[s]:>5} 处 facilities{left_out_note(run.left_out.get(s, 0))}  覆盖户数 households covered "
              f"{j[f'households_covered_{s}']:>10,.0f} / {j['households']:,.0f}  可达性 access {j[f'access_{s}']:.3f}")
    for n in run.notes:
        print(f"  {n}")
    for p in run.files:
        print(f"  → {p}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``access`` and ``compare``."""
    from mzgis.gis.cli_network import add_counting_args

    s = sub.add_parser("access", help="可达性与公平 capacity-aware accessibility (2SFCA/E2SFCA/gravity) and equity "
                                      "→ out/access_<kind>.csv/.xlsx")
    _common(s)
    add_counting_args(s)
    s.add_argument("--target", type=float, help="目标可达性 target access level (e.g. 40 beds per 1,000 elderly)")
    s.set_defaults(func=cmd_access)

    s = sub.add_parser("compare", help="情景对比 coverage and access per unit for today/planned/proposed "
                                       "→ out/compare_<kind>.csv/.xlsx")
    _common(s)
    s.add_argument("--scenario", default="today,planned",
                   help="情景，逗号分隔 scenarios, comma-separated: today, planned, proposed[:LAYER] (default today,planned)")
    s.add_argument("--snap-to", choices=["main", "any"], help="吸附到 snap to: main (default, 主路网) or any piece of the network (任一连通片)")
    s.add_argument("--proposed-supply", type=float,
                   help="拟建点的供给 supply of a proposed site without its own (default: median of today's facilities)")
    s.set_defaults(func=cmd_compare)
