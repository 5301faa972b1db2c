"""Commands of the place-name staff: boundaries, inspect, record, edit, history, revert."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mzgis.gis.argtypes import (
    EXPECT_HELP,
    ID_HELP,
    LAYER_HELP,
    WS_HELP,
    add_output_coords,
    coords_name,
    iso_date,
    positive_int,
)


def cmd_boundaries(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_boundaries
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    res = run_boundaries(ws, units=a.units)
    ln = res.lines
    shared = ln[ln["right_code"] != ""]
    print(f"界线 boundary lines → layer boundary_lines_{a.units}: {len(shared)} 条相邻界线 between neighbours "
          f"({shared['length_m'].sum() / 1000:.1f} km), {len(ln) - len(shared)} 条外边界 outer "
          f"({ln.loc[ln['right_code'] == '', 'length_m'].sum() / 1000:.1f} km)")
    for n in res.notes:
        print(f"  注意 note: {n}")
    return 0


def cmd_inspect(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_inspect
    from mzgis.gis.workspace import Workspace

    if a.what in ("corridor", "zones", "proximity"):
        from mzgis.gis import cli_corridor

        return int({"corridor": cli_corridor.cmd_corridor, "zones": cli_corridor.cmd_zones,
                    "proximity": cli_corridor.cmd_proximity}[a.what](a))
    ws = Workspace.open(a.dir)
    files, table = run_inspect(ws, a.what, units=a.units, parents=a.parents, markers=a.markers, lines=a.lines,
                               addresses=a.addresses, names_file=a.names, today=a.today, coords=a.coords)
    if a.what == "plan":
        print(f"联检任务 inspection plan: {table['line_id'].nunique() if len(table) else 0} 条界线 lines, "
              f"{int((table['marker_code'] != '').sum()) if len(table) else 0} 个界桩 markers")
    else:
        col = "finding"
        counts = table[col].value_counts().to_dict() if len(table) else {}
        print(f"检查 inspect {a.what}: {len(table)} 个问题 findings " + json.dumps(counts, ensure_ascii=False))
    for p in files:
        print(f"  → {p}")
    return 0


def cmd_record(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import run_record
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    rec = run_record(ws, a.marker, condition=a.condition, date=a.date, inspector=a.inspector, photo=a.photo,
                     note=a.note, layer=a.layer)
    print(f"已记录 recorded: 界桩 {rec['marker_code']} {rec['date']} {rec['condition']} ({rec['inspector']})"
          + (f", 照片 photo {rec['photo']}" if rec["photo"] else ""))
    if rec.get("superseded"):
        print(f"注意 note: 界桩 {rec['marker_code']} 已有更晚的检查 has a later inspection on record: 其状况和检查日期未改 "
              f"its condition and date are kept; 本次检查已存入记录 this inspection is kept in the records")
    if rec.get("warning"):
        print(rec["warning"])
    return 0


def _changes(items: list[str] | None) -> dict[str, Any]:
    from mzgis.gis.argtypes import key_values

    return {k: (None if v == "" else v) for k, v in key_values(items, "--set").items()}


def _geometry(a: argparse.Namespace) -> Any:
    import math
    import warnings

    import shapely

    from mzgis.errors import LayerError

    geom = None
    flag = "--lonlat" if a.lonlat else "--wkt"
    if a.lonlat:
        try:
            x, y = (float(v) for v in a.lonlat.split(","))
        except ValueError as exc:
            msg = f"--lonlat {a.lonlat}: 格式应为 expected LON,LAT in WGS-84 degrees, e.g. 116.397,39.909"
            raise LayerError(msg) from exc
        if not (math.isfinite(x) and math.isfinite(y)):
            msg = f"--lonlat {a.lonlat}: 坐标应为有限数字 coordinates must be finite numbers"
            raise LayerError(msg)
        geom = shapely.Point(x, y)
    elif a.wkt:
        try:
            with warnings.catch_warnings():  # overflowing numbers become inf, refused below
                warnings.simplefilter("ignore", RuntimeWarning)
                geom = shapely.from_wkt(a.wkt)
        except shapely.errors.GEOSException as exc:
            msg = f"--wkt: 不是有效的 WKT not valid WKT ({exc})"
            raise LayerError(msg) from exc
        if geom is None or geom.is_empty:
            msg = "--wkt: 几何为空 the geometry is empty"
            raise LayerError(msg)
    if geom is not None and not all(math.isfinite(v) for v in geom.bounds):
        msg = f"{flag}: 坐标应为有限数字 coordinates must be finite numbers"
        raise LayerError(msg)
    return geom


def cmd_edit(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    store = ws.store
    if a.action == "retire":
        rep = store.retire(a.layer, [a.id], note=a.note, expect_version=a.expect_version)
    else:
        from mzgis.gis.pipelines import edit_feature

        rep = edit_feature(ws, a.layer, a.id, changes=_changes(a.set), geometry=_geometry(a),
                           expect_version=a.expect_version, note=a.note, add=a.action == "add", coords=a.coords)
    print(rep.summary())
    return 0


def cmd_history(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    if a.layer not in ws.store.layer_names():
        from mzgis.errors import LayerError

        msg = f"没有图层 no layer '{a.layer}'; 图层 layers: {ws.store.layer_names()}"
        raise LayerError(msg)
    if a.id:
        v = ws.store.versions(a.layer, a.id)
        for r in v.to_dict("records"):
            state = "（已退役 retired）" if r["retired"] else ""
            print(f"版本 v{r['version']} {r.get('action') or ''} {r.get('ts') or ''} {r.get('user') or ''}{state}")
            print("   " + json.dumps(r["attributes"], ensure_ascii=False))
            print(f"   {r['geometry']}")
    else:
        h = ws.store.history(a.layer)
        print(h[["id", "ts", "user", "feature_id", "action", "version", "note"]].to_string(index=False))
    return 0


def cmd_revert(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    rep = ws.store.revert(a.layer, a.id, a.version, expect_version=a.expect_version)
    print(f"已恢复 reverted {a.layer}/{a.id} to version {a.version}: " + rep.summary())
    return 0


def add_commands(sub: Any) -> None:
    """Register the place-name staff's commands."""
    s = sub.add_parser("boundaries", help="界线 derive boundary lines between admin units")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--units", required=True, help="行政区划图层 admin-unit layer")
    s.set_defaults(func=cmd_boundaries)

    s = sub.add_parser("inspect", help="检查 inspect boundaries | markers | plan | addresses | corridor | zones | proximity")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("what", choices=["boundaries", "markers", "plan", "addresses", "corridor", "zones", "proximity"],
                   help="检查内容 what to inspect: boundaries 界线拓扑 | markers 界桩 | plan 联检任务 | addresses 地址 "
                        "| corridor 铁路公路两侧廊道 | zones 分区叠加 | proximity 最近设施")
    s.add_argument("--units", help="行政区划图层 admin-unit layer (boundaries)")
    s.add_argument("--parents", help="上级行政区划图层 parent admin-unit layer (boundaries: containment, parent codes)")
    s.add_argument("--markers", help="界桩图层 boundary-marker layer (default: all)")
    s.add_argument("--lines", help="界线图层 boundary-line layer (default: all; of layers sharing line ids, the one the markers lie on)")
    s.add_argument("--addresses", help="地址图层 address layer (default: all)")
    s.add_argument("--names", help="标准地名表 standard place-name list (CSV, one name per line)")
    s.add_argument("--today", type=iso_date, help="到期判断的日期 inspection date for due checks, YYYY-MM-DD (default: today)")
    add_output_coords(s, "inspect_*.csv/.xlsx lon/lat")
    from mzgis.gis.cli_corridor import add_corridor_args, add_zone_args

    add_corridor_args(s)
    add_zone_args(s)
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("record", help="记录检查 record a boundary-marker inspection")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("marker", help="界桩编号 marker code")
    s.add_argument("--condition", required=True, help="状况 condition: 完好 intact | 损坏 damaged | 丢失 lost | 移位 moved")
    s.add_argument("--date", required=True, type=iso_date, help="检查日期 inspection date, YYYY-MM-DD")
    s.add_argument("--inspector", required=True, help="检查人 inspector's name")
    s.add_argument("--photo", help="照片文件 photo file (JPEG, PNG, HEIC …), copied into the workspace")
    s.add_argument("--note", help="备注 note")
    s.add_argument("--layer", help="界桩图层 marker layer (default: search all)")
    s.set_defaults(func=cmd_record)

    s = sub.add_parser("edit", help="编辑要素 add | update | retire a feature, with history")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("layer", help=LAYER_HELP)
    s.add_argument("action", choices=["add", "update", "retire"], help="操作 action: add 新增 | update 修改 | retire 退役")
    s.add_argument("id", help=ID_HELP)
    s.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="设置字段值 set a field (repeatable; FIELD= empties it)")
    s.add_argument("--lonlat", help="新的点位 new point geometry LON,LAT (WGS-84, or --coords)")
    s.add_argument("--wkt", help="新的几何 WKT new geometry as WKT (WGS-84, or --coords)")
    s.add_argument("--coords", type=coords_name,
                   help="--lonlat/--wkt 的坐标系 coordinates of --lonlat/--wkt: wgs84 (default) | gcj02 | bd09 | cgcs2000 | EPSG:n")
    s.add_argument("--expect-version", type=positive_int, help=EXPECT_HELP)
    s.add_argument("--note", help="修改说明（记入历史）note kept in the history")
    s.set_defaults(func=cmd_edit)

    s = sub.add_parser("history", help="历史 versions of a feature, or the layer's history")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("layer", help=LAYER_HELP)
    s.add_argument("id", nargs="?", help="要素编号 feature id (default: the layer's whole history)")
    s.set_defaults(func=cmd_history)

    s = sub.add_parser("revert", help="恢复 restore a feature to an earlier version")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("layer", help=LAYER_HELP)
    s.add_argument("id", help=ID_HELP)
    s.add_argument("--version", type=positive_int, required=True, help="恢复到的版本 the version to restore (see mzgis history)")
    s.add_argument("--expect-version", type=positive_int, help=EXPECT_HELP)
    s.set_defaults(func=cmd_revert)
