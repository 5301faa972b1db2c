"""``mzgis qgis WS``: write a QGIS project of the workspace (:mod:`mzgis.gis.qgis_project`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mzgis.gis.argtypes import WS_HELP


def cmd_qgis(a: argparse.Namespace) -> int:
    from mzgis.gis.qgis_project import default_project_path, write_qgis_project
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(a.dir)
    out = ws.check_output(a.out) if a.out else default_project_path(ws)
    path, layers = write_qgis_project(ws, Path(out))
    groups = list(dict.fromkeys(lay.group for lay in layers))
    print(f"已写出 QGIS 工程 QGIS project written: {path} — {len(layers)} 个图层 layers in {len(groups)} 组 groups "
          f"({', '.join(groups) or '无 none'}); 相对路径 relative paths, 只显示现状要素 current features only")
    print(f"  在 QGIS 中打开 open it in QGIS: 工程 Project → 打开 Open → {path.name}")
    if ws.store_url:
        print("  PostGIS: 密码不写入工程 no password is written into the project; QGIS 会询问 QGIS asks for it "
              "(或读取 or reads ~/.pgpass, PGPASSWORD)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``qgis``."""
    s = sub.add_parser("qgis", help="写出 QGIS 工程 write a QGIS project (.qgz) of the workspace, styled as the web map")
    s.add_argument("dir", help=WS_HELP)
    s.add_argument("--out", help="工程文件 project file (.qgz); 默认 default WS/<folder name>.qgz")
    s.set_defaults(func=cmd_qgis)
