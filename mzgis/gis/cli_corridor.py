"""The command line of ``mzgis inspect WS corridor`` (its arguments and what it prints); the work
is :func:`mzgis.gis.run_corridor.run_corridor`. Kept light: nothing heavy is imported until it runs.
"""

from __future__ import annotations

import argparse
import math

from mzgis.gis.argtypes import positive_float

DONE_STATUS = "整治完成"  # mzgis.analysis.corridors.DONE_STATUS, spelled here so --help stays light


def _rate(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.1%}"


def cmd_corridor(a: argparse.Namespace) -> int:
    """``inspect corridor``: run, then print what was counted and the completion per unit."""
    from mzgis.errors import LayerError
    from mzgis.gis.run_corridor import run_corridor
    from mzgis.gis.workspace import Workspace
    from mzgis.layers.kinds import LEVEL_NAMES_ZH

    if not a.layer or not a.along or a.width_m is None:
        msg = ("inspect corridor 需要 needs --layer LAYER --along LINES --width-m M, "
               "e.g. --layer graves --along railways,highways --width-m 200")
        raise LayerError(msg)
    ws = Workspace.open(a.dir)
    run = run_corridor(ws, layer=a.layer, along=a.along, width_m=a.width_m, by=a.by, done=a.done,
                       status_field=a.status_field, coords=a.coords)
    r = run.result
    print(f"廊道检查 corridor: 图层 layer {run.layer}, 沿 along {', '.join(run.along)} ({run.n_lines} 条线 lines), "
          f"两侧 within {r.width_m:g} m, 计为完成 counted as done: {' / '.join(r.done_statuses)}")
    rows = r.summary.to_dict("records")
    for row in rows:
        if row["level"] != "all" and not row["inside"]:
            continue
        label = "辖区 all" if row["level"] == "all" else f"{LEVEL_NAMES_ZH.get(row['level'], row['level'])} {row['unit_name']}"
        print(f"  {label}: 廊道内 inside {row['inside']}, 完成 done {row['done']}, "
              f"完成率 completion {_rate(row['completion_rate'])}")
    empty = sum(1 for row in rows if row["level"] != "all" and not row["inside"])
    if empty:
        print(f"  另有 {empty} 个单位廊道内没有要素 more units with nothing inside (listed in the _units file)")
    for p in run.files:
        print(f"  → {p}")
    return 0


def add_corridor_args(s: argparse.ArgumentParser) -> None:
    """The arguments of ``inspect corridor`` (on the ``inspect`` parser)."""
    s.add_argument("--layer", help="廊道检查的要素图层 corridor: the feature layer to check, e.g. graves")
    s.add_argument("--along", help="廊道沿线图层 corridor: line layers, comma-separated, e.g. railways,highways")
    s.add_argument("--width-m", type=positive_float, help="廊道宽度 corridor: distance from the lines in metres (> 0)")
    s.add_argument("--by", help="按行政层级汇总 corridor: summarise per level: district | subdistrict | community "
                                "(comma-separated; default every level in the store)")
    s.add_argument("--done", help=f"计为完成的状态 corridor: statuses counted as done, comma-separated (default {DONE_STATUS})")
    s.add_argument("--status-field", default="status", help="状态字段 corridor: the status field (default status)")


def cmd_zones(a: argparse.Namespace) -> int:
    """``inspect zones``: per zone, population and facilities inside."""
    from mzgis.gis.run_zones import run_zones
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    files, table = run_zones(ws, zones=a.zones, demand=a.demand)
    print(f"分区叠加 zones: 图层 layer {a.zones}, {len(table)} 个分区 zones")
    kinds = [c for c in table.columns if c.startswith("facilities:")]
    for row in table.to_dict("records"):
        pop = f", 人口 population {row['population']:,.0f}" if "population" in row else ""
        fac = ", ".join(f"{c.split(':', 1)[1]} {row[c]}" for c in kinds if row[c])
        print(f"  {row['name'] or row['zone_id']} {row['zone_type']}: {row['area_km2']:g} km²{pop}, "
              f"设施 facilities {row['facilities']}" + (f" ({fac})" if fac else ""))
    for p in files:
        print(f"  → {p}")
    return 0


def cmd_proximity(a: argparse.Namespace) -> int:
    """``inspect proximity``: each facility's nearest of another set, those beyond --max-m."""
    from mzgis.gis.run_zones import run_proximity
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    run = run_proximity(ws, layer=a.layer, near=a.near, max_m=a.max_m)
    t = run.table
    far = t[t["far"]]
    print(f"最近设施 proximity: {run.what} → 最近的 nearest {run.near}, 直线距离 straight line, "
          f"上限 max {run.max_m:g} m: {len(t)} 个 features, {len(far)} 个超出 farther")
    for row in far.to_dict("records"):
        d = "无 none" if math.isnan(row["distance_m"]) else f"{row['distance_m']:,.0f} m"
        print(f"  超出 far: {row['name'] or row['feature_id']} → {row['nearest_name'] or row['nearest_id'] or '—'} {d}")
    for p in run.files:
        print(f"  → {p}")
    return 0


def add_zone_args(s: argparse.ArgumentParser) -> None:
    """The arguments of ``inspect zones`` and ``inspect proximity`` (on the ``inspect`` parser)."""
    s.add_argument("--zones", help="分区图层 zones: polygon layer of 火葬区/土葬改革区/禁建区 (import with --type zones)")
    s.add_argument("--demand", help="需求图层 zones: demand layer counted inside (default every demand layer)")
    s.add_argument("--near", help="对照设施 proximity: the layer or facility kind to find the nearest of")
    s.add_argument("--max-m", type=positive_float,
                   help="距离上限 proximity: list the features farther than this, straight-line metres (> 0)")
