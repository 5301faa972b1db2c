"""The project workspace: ``mzgis.toml``, ``project.gpkg``, ``cache/`` and ``out/``.

A workspace is a folder a planner can zip and hand over. Every command takes it as its first
argument.
"""

from __future__ import annotations

import logging
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pyproj import CRS

from mzgis.errors import ConfigError, WorkspaceError
from mzgis.gis.settings import Settings, settings_from_config, validate_config
from mzgis.layers.crs import CHINA_BOUNDS, resolve_metric_crs
from mzgis.layers.store import ProjectStore, create_store, open_store
from mzgis.layers.store.styles import set_styler
from mzgis.maps.qgis_style import layer_qml

__all__ = ["DEFAULT_CONFIG", "Workspace", "init_workspace"]

log = logging.getLogger(__name__)

CONFIG_NAME = "mzgis.toml"
STORE_NAME = "project.gpkg"

# every layer a workspace's store writes gets its QGIS default style in the web map's palette
set_styler(layer_qml)

#: The defaults ``mzgis init`` writes. Walking speeds: 4 km/h is the usual planning figure for the
#: 15-minute life circle (15 min ≈ 1 km); 3 km/h is used for elderly residents.
DEFAULT_CONFIG: dict[str, Any] = {
    "project": {
        "name": "",
        "jurisdiction": "",
        "metric_crs": "auto",
    },
    "travel": {
        "walk_speed_km_per_h": 4.0,
        "elderly_walk_speed_km_per_h": 3.0,
        "thresholds_min": [5, 10, 15],
        "max_snap_distance_m": 300.0,
        "service_area_buffer_m": 40.0,
    },
    "import": {
        "default_coords": "",
        "extent": list(CHINA_BOUNDS),
    },
    "demand": {
        "persons_per_household": 2.6,
        "elderly_share": 0.2,
        "floor_area_per_household_m2": 90.0,
        "default_floors": 3.0,
    },
    "markers": {
        "tolerance_m": 5.0,
        "near_m": 50.0,
        "spacing_m": 2000.0,
        "cycle_years": 5.0,
    },
    "inspection": {
        "sliver_m2": 100.0,
    },
    "indicators": {
        "plan": "none",
        "targets": {},
        "params": {},
    },
    "store": {
        "url": "",
    },
}

_HEADER = """# mzgis 工作区配置 workspace settings
# metric_crs: "auto" = UTM zone of the data, "auto-cgcs2000" = CGCS2000 3° Gauss-Krüger zone,
#             or a projected CRS such as "EPSG:4547".
# travel: walking speeds (km/h) and service-circle thresholds (minutes).
# import.default_coords: coordinates assumed for CSV/XLSX files when --coords is not given
#             ("" = always ask; wgs84, cgcs2000, gcj02 for Amap/Tencent, bd09 for Baidu).
# import.extent: lon/lat bounds [minx, miny, maxx, maxy] every coordinate must lie in.
# markers: boundary-marker checks — offset tolerance, "not near its line" distance, the longest
#   stretch of line without a marker, and the joint-inspection cycle (联检周期) in years.
# inspection.sliver_m2: overlaps, gaps and unit parts smaller than this are reported as slivers.
# demand: how households/residents/elderly are estimated where a layer lacks them.
# indicators.plan: the plan's indicator set, "mentougou", "chifeng", "none", or a plan file such as
#   "plan.toml" (same form as mzgis/data/plans/mentougou.toml; chosen with `mzgis init --plan`);
#   indicators.targets: override a target by id, e.g. "EC-04" = 40;
#   indicators.params: override parameters, e.g. [indicators.params.FN-02] within_m = 3000;
#   [[indicators.custom]]: declare new indicators (see mzgis/analysis/indicators.py).
# [[area_rules]] (optional): replace the per-100-household floor-area rules, e.g.
#   [[area_rules]]
#   name = "赤峰 35㎡/百户"
#   community_types = ["*"]
#   m2_per_100_households = 35
#   min_total_m2 = 300
# store.url: "" = project.gpkg in this folder; "postgresql://user@host:port/db" = a shared
#   PostgreSQL + PostGIS database (see scripts/postgis.sh).
"""


def _is_number(v: Any) -> bool:
    """A real number: ``true``/``false`` are not numbers (``isinstance(True, int)`` is True)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Path, b: Path) -> bool:
    from mzgis.layers.paths import same_or_inside

    return same_or_inside(a, files=[b]) is not None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


@dataclass
class Workspace:
    """An initialised workspace folder."""

    root: Path
    config: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """Open a workspace, reading and checking ``mzgis.toml``."""
        r = Path(root)
        cfg_path = r / CONFIG_NAME
        if not cfg_path.exists():
            msg = (f"{r} 不是 mzgis 工作区 is not an mzgis workspace (no {CONFIG_NAME}). "
                   f"先运行 create it with: mzgis init {r} --name NAME")
            raise WorkspaceError(msg)
        try:
            text = cfg_path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            msg = f"{cfg_path}: 不是 UTF-8 文本 not UTF-8 text ({exc.reason}); 请另存为 UTF-8 save it as UTF-8"
            raise ConfigError(msg) from exc
        except OSError as exc:
            msg = (f"{cfg_path}: 无法读取配置 cannot read the settings file ({exc.strerror or exc}); "
                   f"检查它是可读的文件 check it is a readable file")
            raise ConfigError(msg) from exc
        try:
            user = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"{cfg_path}: TOML 格式错误 syntax error: {exc}"
            raise ConfigError(msg) from exc
        validate_config(user, text, cfg_path)
        ws = cls(r, _merge(DEFAULT_CONFIG, user))
        ws._check()
        return ws

    def _check(self) -> None:
        t = self.config["travel"]
        for key in ("walk_speed_km_per_h", "elderly_walk_speed_km_per_h", "max_snap_distance_m",
                    "service_area_buffer_m"):
            v = t.get(key)
            if not _is_number(v) or not v > 0 or not math.isfinite(v):
                msg = f"{self.config_path}: [travel] {key} = {v!r} 应为正数 must be a positive number"
                raise ConfigError(msg)
        th = t.get("thresholds_min")
        if not isinstance(th, list) or not th or not all(_is_number(x) and math.isfinite(x) and x > 0 for x in th):
            msg = f"{self.config_path}: [travel] thresholds_min = {th!r} 应为正数列表 must be a list like [5, 10, 15]"
            raise ConfigError(msg)
        ext = self.config["import"].get("extent")
        if not (isinstance(ext, list) and len(ext) == 4 and all(_is_number(x) for x in ext)
                and ext[0] < ext[2] and ext[1] < ext[3]):
            msg = f"{self.config_path}: [import] extent = {ext!r} must be [minx, miny, maxx, maxy]"
            raise ConfigError(msg)

    @property
    def settings(self) -> Settings:
        """``mzgis.toml`` as typed settings (``ws.settings.travel.max_snap_distance_m``)."""
        return settings_from_config(self.config)

    @property
    def config_path(self) -> Path:
        """``mzgis.toml``."""
        return self.root / CONFIG_NAME

    @property
    def store_path(self) -> Path:
        """``project.gpkg``."""
        return self.root / STORE_NAME

    @property
    def store_url(self) -> str:
        """``[store] url``: a ``postgresql://`` URL, or "" for ``project.gpkg``."""
        return self.settings.store_url

    @property
    def store(self) -> ProjectStore:
        """The project store: ``[store] url`` if set, else ``project.gpkg``."""
        return open_store(self.store_url or self.store_path)

    def _folder(self, name: str) -> Path:
        d = self.root / name
        if d.exists() and not d.is_dir():
            msg = (f"{d} 是文件而不是文件夹 is a file, but the workspace needs a folder there; "
                   f"请改名或移走它 rename or move that file away")
            raise WorkspaceError(msg)
        d.mkdir(exist_ok=True)
        return d

    @property
    def cache_dir(self) -> Path:
        """``cache/`` (derived data that can be rebuilt)."""
        return self._folder("cache")

    @property
    def out_dir(self) -> Path:
        """``out/`` (maps, reports, exports)."""
        return self._folder("out")

    def check_output(self, out: str | Path, *, inputs: Sequence[str | Path] = (), flag: str = "--out") -> Path:
        """Refuse an output path that would overwrite the workspace's settings, store, its internal
        files (lock, journal, temporary copies), ``cache/`` or ``photos/``, or an input of the
        command — also through symlinks, ``.``/``..`` and letter case. Returns the path."""
        from mzgis.layers.paths import inside, real, same_or_inside

        p = Path(out)
        files: list[Path] = [self.config_path, self.store_path, *(Path(i) for i in inputs)]
        try:
            src = self.store.meta("network_source")
        except Exception:  # an unreadable store is reported by the command itself, not here
            src = None
        if src:
            files.append(Path(src))
        hit = same_or_inside(p, files=files, folders=[self.root / "cache", self.root / "photos"])
        r = real(p)
        if hit is None and real(r.parent) == real(self.root):
            low = r.name.casefold()
            internal = (self.store_path.name.casefold(), "." + self.store_path.stem.casefold(),
                        CONFIG_NAME.casefold())
            if low.startswith(internal):
                hit = r
        if hit is not None:
            what = ("配置文件 the workspace settings" if _same(hit, self.config_path) else
                    "项目库 the workspace store" if _same(hit, self.store_path) else
                    "工作区内部文件 a file the workspace keeps for itself" if inside(hit, self.root)
                    and not any(_same(hit, Path(i)) for i in inputs) else "输入文件 an input of this command (or the file a layer was imported from)")
            msg = (f"{flag} {out}: 指向{what} ({hit}); 不会覆盖 refusing to overwrite it. "
                   f"请换一个输出文件 choose another output file, e.g. {self.root / 'out' / ('result' + p.suffix)}")
            raise WorkspaceError(msg)
        if p.is_dir():
            msg = f"{flag} {out}: 是文件夹 is a folder; 请给出文件名 give a file name, e.g. {p / 'result.gpkg'}"
            raise WorkspaceError(msg)
        return p

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Lon/lat bounds imports must lie in."""
        return self.settings.import_.extent

    @property
    def thresholds_min(self) -> list[float]:
        """Service-circle thresholds in minutes, ascending."""
        return list(self.settings.travel.thresholds_min)

    def walk_speed_m_per_min(self, profile: str = "walk") -> float:
        """Walking speed of a profile (``walk`` or ``elderly``) in metres per minute."""
        t = self.settings.travel
        if profile == "walk":
            return t.walk_speed_km_per_h * 1000.0 / 60.0
        if profile == "elderly":
            return t.elderly_walk_speed_km_per_h * 1000.0 / 60.0
        msg = f"不认识的出行方式 unknown profile '{profile}'; use walk or elderly"
        raise ConfigError(msg)

    def metric_crs(self, bounds: tuple[float, float, float, float] | Callable[[], Any] | None = None) -> CRS:
        """The project's metric CRS, resolved once and remembered in the store.

        ``bounds`` may be a function, called only when the CRS has to be resolved."""
        setting = self.settings.project.metric_crs
        store = self.store
        saved = store.meta("metric_crs")
        saved_setting = store.meta("metric_crs_setting")
        if saved and saved_setting == setting:
            return CRS.from_user_input(saved)
        box = bounds() if callable(bounds) else bounds
        if box is None:
            box = self.data_bounds()
        crs = resolve_metric_crs(setting, box)
        store.set_meta("metric_crs", crs.to_string())
        store.set_meta("metric_crs_setting", setting)
        log.info("metric CRS: %s", crs.to_string())
        return crs

    def data_bounds(self) -> tuple[float, float, float, float] | None:
        """WGS-84 bounds of every layer in the store (None if empty), from the extents the store
        keeps (:meth:`ProjectStore.bounds`): no layer is read."""
        store = self.store
        bs = [b for b in (store.bounds(name) for name in store.layer_names()) if b is not None]
        if not bs:
            return None
        return (min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs))


def init_workspace(root: str | Path, *, name: str, jurisdiction: str | None = None,
                   metric_crs: str = "auto", force: bool = False, plan: str = "none",
                   store: str | None = None) -> Workspace:
    """Create a workspace: ``mzgis.toml`` with the defaults and an empty store (``project.gpkg``,
    or the PostGIS database ``store`` names).

    ``plan`` names the indicator set the workspace is measured against: ``mentougou``,
    ``chifeng``, ``none``, or a plan file (checked, then copied into the workspace as
    ``plan.toml`` so the folder stays self-contained)."""
    from mzgis.analysis.indicators import PLAN_NAMES, load_plan

    plan_file = None
    if plan not in (*PLAN_NAMES, "none"):
        load_plan(plan)  # every problem of the file, before anything is written
        plan_file = Path(plan)
    r = Path(root)
    if r.exists() and not r.is_dir():
        msg = (f"{r} 是文件不是文件夹 is a file, not a folder; 请给出新文件夹的路径 give the path of a new "
               f"folder for the workspace, e.g. {r.with_suffix('')}_workspace")
        raise WorkspaceError(msg)
    cfg_path = r / CONFIG_NAME
    if cfg_path.exists() and not force:
        msg = f"{cfg_path} 已存在 already exists; 不覆盖 not overwriting (use --force to start over)."
        raise WorkspaceError(msg)
    cfg = _merge(DEFAULT_CONFIG, {"project": {"name": name, "jurisdiction": jurisdiction or name,
                                              "metric_crs": metric_crs}, "store": {"url": store or ""},
                                  "indicators": {"plan": "plan.toml" if plan_file else plan}})
    text = _HEADER + tomli_w.dumps(cfg)
    validate_config(cfg, text, cfg_path)  # e.g. --metric-crs: refused before anything is written
    r.mkdir(parents=True, exist_ok=True)
    if plan_file is not None:
        (r / "plan.toml").write_bytes(plan_file.read_bytes())
    create_store(store or r / STORE_NAME, overwrite=force)
    cfg_path.write_text(text, encoding="utf-8")
    (r / "cache").mkdir(exist_ok=True)
    (r / "out").mkdir(exist_ok=True)
    return Workspace.open(r)
