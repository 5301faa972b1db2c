"""A small hand-made workspace whose every free-text field holds attacker-chosen text.

The street network is a 9 × 7 grid of surveyed road lines (~170 m × 220 m blocks) near
116.40°E 39.90°N; one district, two subdistricts (west/east), four communities; elderly-care
stations in the west, residential compounds both near them (covered) and in the far east column
(> 1 km of walking from every station: uncovered, so they appear on the map as gaps); a community
service facility; boundary lines and markers; addresses; candidate sites. One community names a
parent (S9) that does not exist, so ``inspect boundaries`` has a finding. Every text field of
feature ``i`` is ``texts[i % len(texts)]``; the values that exist once (jurisdiction, project name,
a custom indicator, an area rule) are given by the caller.

Commands run through the real command line: :func:`mzgis` in this process (the parser, the error
handling and the exit code of ``mzgis``), :func:`mzgis_process` as a separate ``mzgis`` process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapely
import tomli_w

from mzgis.gis.cli import main

LON0, LAT0, DX, DY = 116.40, 39.90, 0.002, 0.002
NX, NY = 9, 7  # grid lines
XS = [LON0 + DX * i for i in range(NX)]
YS = [LAT0 + DY * j for j in range(NY)]
WEST, EAST, MIDX = XS[0], XS[-1], XS[4]
SOUTH, NORTH, MIDY = YS[0], YS[-1], YS[3]


def mzgis(*args: str) -> int:
    """``mzgis ARGS`` in this process; its exit code."""
    return main([str(a) for a in args])


def mzgis_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mzgis ARGS`` as its own process in ``cwd``."""
    exe = Path(sys.executable).with_name("mzgis")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mzgis.gis.cli"]
    return subprocess.run([*cmd, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def _feature(props: dict[str, Any], geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}


def _write_geojson(path: Path, feats: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def build_workspace(root: Path, texts: Sequence[str], *, name: str, jurisdiction: str, single: str,
                    ids: Sequence[str] | None = None) -> Path:
    """Create the workspace at ``root / 'ws'`` and import every layer; returns the workspace folder.

    ``single`` goes into the custom indicator (name, unit, plan) and the area rule's name;
    ``ids``, when given, are used (cyclically) as the feature ids of facilities, compounds,
    communities, lines, markers, addresses and candidates.
    """
    ws = root / "ws"
    src = root / "inputs"
    src.mkdir(parents=True)

    def t(i: int) -> str:
        return texts[i % len(texts)]

    def fid(prefix: str, i: int) -> str:
        return f"{ids[i % len(ids)]}{prefix}{i}" if ids else f"{prefix}{i}"

    assert mzgis("init", ws, "--name", name, "--jurisdiction", jurisdiction, "--plan", "mentougou") == 0
    cfg_path = ws / "mzgis.toml"
    cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["import"]["extent"] = [LON0 - 0.5, LAT0 - 0.5, LON0 + 0.5, LAT0 + 0.5]
    cfg["indicators"]["custom"] = [{"id": "X-01", "name_zh": single, "method": "count",
                                    "kinds": ["elderly_care_station"], "target": 3, "unit": single,
                                    "plan": single}]
    cfg["area_rules"] = [{"name": single, "community_types": ["*"], "m2_per_100_households": 30,
                          "min_total_m2": 300}]
    cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")

    # roads: every line passes through every crossing, so the grid is connected
    roads = [_feature({"名称": f"横{j}"}, shapely.LineString([(x, y) for x in XS])) for j, y in enumerate(YS)]
    roads += [_feature({"名称": f"纵{i}"}, shapely.LineString([(x, y) for y in YS])) for i, x in enumerate(XS)]
    _write_geojson(src / "roads.geojson", roads)

    # admin units; a numeric attribute with a negative value stays a number everywhere
    _write_geojson(src / "districts.geojson", [_feature(
        {"编码": "D1", "名称": t(0), "级别": "district", "偏差": -5},
        shapely.box(WEST, SOUTH, EAST, NORTH))])
    _write_geojson(src / "subdistricts.geojson", [
        _feature({"编码": "S1", "名称": t(1), "级别": "subdistrict", "上级编码": "D1", "偏差": -1.5},
                 shapely.box(WEST, SOUTH, MIDX, NORTH)),
        _feature({"编码": "S2", "名称": t(2), "级别": "subdistrict", "上级编码": "D1", "偏差": -2.5},
                 shapely.box(MIDX, SOUTH, EAST, NORTH))])
    boxes = [(WEST, SOUTH, MIDX, MIDY, "S1"), (WEST, MIDY, MIDX, NORTH, "S1"),
             (MIDX, SOUTH, EAST, MIDY, "S2"), (MIDX, MIDY, EAST, NORTH, "S9")]  # S9: a finding for inspect
    _write_geojson(src / "communities.geojson", [
        _feature({"编码": fid("C", k), "名称": t(3 + k), "级别": "community", "上级编码": parent,
                  "社区类型": t(5 + k), "户数": 400 + 10 * k, "偏差": -k - 0.5}, shapely.box(a, b, c, d))
        for k, (a, b, c, d, parent) in enumerate(boxes)])

    n = len(texts)
    # stations in the two western columns, near crossings; 数据来源 is a real bureau's column
    pts = [(XS[i % 2] + 0.0002, YS[1 + i % 5] + 0.0002) for i in range(n)]
    _write_geojson(src / "stations.geojson", [
        _feature({"编号": fid("F", i), "名称": t(i), "地址": t(i + 1), "状态": "建成运营", "数据来源": t(i + 2),
                  "偏差": -0.25 * (i + 1)}, shapely.Point(p)) for i, p in enumerate(pts)])
    _write_geojson(src / "service.geojson", [
        _feature({"编号": fid("FW", 0), "名称": t(4), "地址": t(5), "状态": "建成运营", "建筑面积": 120},
                 shapely.Point(XS[1] + 0.0003, YS[1] + 0.0003))])
    # compounds: covered ones beside the stations, uncovered ones in the far east column
    near = [(XS[i % 2] + 0.0004, YS[1 + i % 5] - 0.0003) for i in range(n)]
    far = [(XS[-1] - 0.0003, YS[i % NY] + 0.0003) for i in range(n)]
    _write_geojson(src / "compounds.geojson", [
        _feature({"编号": fid("R", i), "名称": t(i), "地址": t(i + 3), "户数": 30 + i}, shapely.Point(p))
        for i, p in enumerate(near + far)])
    # candidates for new sites, in the east
    _write_geojson(src / "candidates.geojson", [
        _feature({"编号": fid("K", i), "名称": t(i)}, shapely.Point(XS[6 + i % 3] + 0.0002, YS[i % NY]))
        for i in range(n)])
    # boundary lines (along the grid) and markers on and off them
    lines = [_feature({"编号": fid("L", j), "名称": t(j), "左侧编码": t(j + 1), "右侧编码": t(j + 2)},
                      shapely.LineString([(MIDX, YS[j]), (MIDX, YS[j + 1])])) for j in range(NY - 1)]
    _write_geojson(src / "lines.geojson", lines)
    _write_geojson(src / "markers.geojson", [
        _feature({"编号": fid("M", i), "界线编号": fid("L", i % (NY - 1)), "状况": "损坏" if i % 2 else "完好",
                  "最近检查日期": "2015-05-01"}, shapely.Point(MIDX + (0.0 if i % 3 else 0.0003), YS[i % (NY - 1)] + 0.0005))
        for i in range(n)])
    _write_geojson(src / "addresses.geojson", [
        _feature({"编号": fid("A", i), "地址": t(i), "名称": t(i + 1)},
                 shapely.Point(XS[i % NX] + 0.0001, YS[i % NY] + 0.0001)) for i in range(n)])

    imports = [
        ("districts", "admin_units", ["--level", "district"]),
        ("subdistricts", "admin_units", ["--level", "subdistrict"]),
        ("communities", "admin_units", ["--level", "community"]),
        ("stations", "facilities", ["--kind", "社区养老服务驿站"]),
        ("service", "facilities", ["--kind", "社区综合服务设施"]),
        ("compounds", "demand", []),
        ("candidates", "candidates", []),
        ("lines", "boundary_lines", []),
        ("markers", "boundary_markers", []),
        ("addresses", "addresses", []),
    ]
    for layer, typ, extra in imports:
        assert mzgis("import", ws, src / f"{layer}.geojson", "--layer", layer, "--type", typ, *extra) == 0, layer
    assert mzgis("network", ws, src / "roads.geojson") == 0
    return ws
