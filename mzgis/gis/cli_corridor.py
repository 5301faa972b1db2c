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
    for row in r.summary.to_dict("records"):
        label = "辖区 all" if row["level"] == "all" else f"{LEVEL_NAMES_ZH.get(row['level'], row['level'])} {row['unit_name']}"
        print(f"  {label}: 廊道内 inside {row['inside']}, 完成 done {row['done']}, "
              f"完成率 completion {_rate(row['completion_rate'])}")
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
