"""The schema of ``mzgis.toml`` and its validator.

The schema is data: a nested dict of key → rule. A rule has a ``type`` (``number``, ``int``,
``str``, ``bool``, ``list``, ``table``, ``tables`` for an array of tables, ``any``), and as
needed a range (``min``/``max``, ``gt``/``lt`` for open bounds), ``choices``, the ``items`` rule
of a list, the ``keys`` of a table (``extra`` = the rule for keys not listed, else unknown keys are
errors) and a ``check`` function for what a rule cannot say.

:func:`validate_config` checks a parsed file against :data:`SCHEMA` and reports every problem
with its line in the file; misspelt keys get a "did you mean" (difflib). Booleans are never
numbers, and ``nan``/``inf`` are never valid numbers.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mzgis.errors import ConfigError

if TYPE_CHECKING:
    from mzgis.analysis.demand import DemandSettings
    from mzgis.analysis.markers import MarkerSettings

__all__ = ["SCHEMA", "Settings", "key_lines", "settings_from_config", "validate_config"]

Rule = dict[str, Any]
Check = Callable[[Any], str | None]


def _num(*, gt: float | None = None, ge: float | None = None, le: float | None = None, lt: float | None = None,
         doc: str = "") -> Rule:
    r: Rule = {"type": "number", "doc": doc}
    if gt is not None:
        r["gt"] = gt
    if ge is not None:
        r["min"] = ge
    if le is not None:
        r["max"] = le
    if lt is not None:
        r["lt"] = lt
    return r


def _metric_crs(v: Any) -> str | None:
    if str(v).strip().lower() in ("auto", "auto-cgcs2000"):
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(v)
    except CRSError:
        return "不认识的坐标系 unknown CRS; use \"auto\", \"auto-cgcs2000\" or a projected CRS such as \"EPSG:4547\""
    if not crs.is_projected:
        return "不是投影坐标系 not a projected (metric) CRS; use \"auto\" or e.g. \"EPSG:4547\""
    return None


def _coords(v: Any) -> str | None:
    if str(v).strip() == "":
        return None
    from mzgis.errors import CrsError
    from mzgis.layers.crs import parse_source_coords

    try:
        parse_source_coords(str(v))
    except CrsError:
        return "不认识的坐标 unknown coordinates; use \"\", wgs84, cgcs2000, gcj02, bd09 or EPSG:n"
    return None


def _extent(v: Any) -> str | None:
    minx, miny, maxx, maxy = (float(x) for x in v)
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        return "应为 must be [minx, miny, maxx, maxy] in degrees with minx < maxx and miny < maxy"
    return None


def _plan(v: Any) -> str | None:
    from mzgis.analysis.indicators import PLAN_NAMES

    plans = (*PLAN_NAMES, "none")
    if v not in plans and not str(v).lower().endswith(".toml"):
        close = difflib.get_close_matches(str(v), plans, n=1)
        hint = f"; 是否应为 did you mean '{close[0]}'?" if close else ""
        return f"应为 must be one of {', '.join(repr(p) for p in plans)} or a plan file \"….toml\"{hint}"
    return None


def _method(v: Any) -> str | None:
    from mzgis.analysis.indicators import METHODS

    if v not in METHODS:
        close = difflib.get_close_matches(str(v), METHODS, n=1)
        hint = f"; 是否应为 did you mean '{close[0]}'?" if close else ""
        return f"应为 must be one of {', '.join(METHODS)}{hint}"
    return None


def _regex(v: Any) -> str | None:
    try:
        re.compile(str(v))
    except re.error as exc:
        return f"不是有效的正则表达式 not a valid regular expression ({exc})"
    return None


_POS = _num(gt=0)
_NONNEG = _num(ge=0)
_STR: Rule = {"type": "str"}

#: Parameters of indicator methods (``[indicators.params.ID]`` and ``[[indicators.custom]]``), as
#: read by mzgis/analysis/indicators.py.
_PARAMS: dict[str, Rule] = {
    "status": {"type": "list", "items": _STR},
    "attribute": _STR,
    "unit_filter": {"type": "str", "check": _regex},
    "within_m": _num(ge=0),
    "weight": {"type": "str", "choices": ["households", "population", "elderly"]},
    "minutes": _num(gt=0, le=600),
    "denominator": _STR,
    "scale": _num(gt=0),
    "flag": _STR,
    "sub_kinds": {"type": "list", "items": _STR},
    "distance_m": _num(ge=0),
    "name_suffix": _STR,
}
_PARAMS_TABLE: Rule = {"type": "table", "keys": _PARAMS}

#: The schema of ``mzgis.toml`` (every key the code reads; see DEFAULT_CONFIG in workspace.py).
SCHEMA: Rule = {"type": "table", "keys": {
    "project": {"type": "table", "keys": {
        "name": _STR,
        "jurisdiction": _STR,
        "metric_crs": {"type": "str", "check": _metric_crs},
    }},
    "travel": {"type": "table", "keys": {
        "walk_speed_km_per_h": _num(gt=0, le=50, doc="km/h"),
        "elderly_walk_speed_km_per_h": _num(gt=0, le=50, doc="km/h"),
        "thresholds_min": {"type": "list", "min_len": 1, "max_len": 20, "items": _num(gt=0, le=600)},
        "max_snap_distance_m": _num(gt=0, le=100_000),
        "service_area_buffer_m": _num(gt=0, le=10_000),
        "snap_to": {"type": "str", "choices": ["main", "any"]},  # snap to the main network or any piece
        "threshold_mode": {"type": "str", "choices": ["minutes", "distance"]},  # access: life circles by
        "circle_distances_m": {"type": "list", "min_len": 1, "max_len": 20,    # time or walking distance
                               "items": _num(gt=0, le=100_000)},
    }},
    "import": {"type": "table", "keys": {
        "default_coords": {"type": "str", "check": _coords},
        "extent": {"type": "list", "min_len": 4, "max_len": 4, "items": _num(ge=-180, le=180), "check": _extent},
    }},
    "demand": {"type": "table", "keys": {
        "persons_per_household": _num(gt=0, le=50),
        "elderly_share": _num(ge=0, le=1),
        "floor_area_per_household_m2": _num(gt=0, le=10_000),
        "default_floors": _num(gt=0, le=300),
    }},
    "markers": {"type": "table", "keys": {
        "tolerance_m": _NONNEG,
        "near_m": _POS,
        "spacing_m": _POS,
        "cycle_years": _POS,
    }},
    "inspection": {"type": "table", "keys": {
        "sliver_m2": _NONNEG,
    }},
    "indicators": {"type": "table", "keys": {
        "plan": {"type": "str", "check": _plan},
        "targets": {"type": "table", "keys": {}, "extra": _num()},
        "params": {"type": "table", "keys": {}, "extra": _PARAMS_TABLE},
        "custom": {"type": "tables", "items": {"type": "table", "required": ["id", "name_zh", "method", "target"],
                                               "keys": {
            "id": _STR, "name_zh": _STR, "name_en": _STR, "method": {"type": "str", "check": _method},
            "target": _num(), "unit": _STR,
            "comparator": {"type": "str", "choices": [">=", "≥", ">", "<=", "≤", "<", "=", "=="]},
            "binding": {"type": "bool"}, "kinds": {"type": "list", "items": _STR},
            "level": {"type": "str", "choices": ["district", "subdistrict", "community"]}, "plan": _STR,
            "source": _STR,
            "params": _PARAMS_TABLE, **_PARAMS,  # parameters may also stand beside the fields
        }}},
    }},
    "area_rules": {"type": "tables", "items": {"type": "table", "required": ["community_types"], "keys": {
        "name": _STR,
        "community_types": {"type": "list", "min_len": 1, "items": _STR},
        "m2_per_100_households": _NONNEG,
        "min_total_m2": _NONNEG,
    }}},
    "maps": {"type": "table", "keys": {
        "tianditu_key": _STR,
        "tiles": _STR,  # an intranet tile URL template; its form is checked by mzgis.maps.webmap.tile_url
    }},
    "access": {"type": "table", "keys": {
        "targets": {"type": "table", "keys": {}, "extra": _num()},  # e.g. beds_per_1000_elderly = 40
    }},
    "store": {"type": "table", "keys": {
        "url": _STR,
    }},
    "report": {"type": "table", "keys": {
        "issuing_unit": _STR,  # 编制单位 on the report's cover
    }},
}}

_TYPE_ZH = {"number": "数字 a number", "int": "整数 an integer", "str": "文本 a string (in quotes)",
            "bool": "true/false", "list": "列表 a list [...]", "table": "表 a table [...] / {...}",
            "tables": "表数组 an array of tables [[...]]"}

# -- line numbers -------------------------------------------------------------------------------
_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})(?:\s*\.\s*(?:{_BARE}|{_QUOTED}))*"
_AOT = re.compile(rf"^\[\[\s*({_KEY})\s*\]\]")
_TABLE = re.compile(rf"^\[\s*({_KEY})\s*\]")
_ASSIGN = re.compile(rf"^({_KEY})\s*=")


def _split_key(key: str) -> tuple[str, ...]:
    """The parts of a TOML key expression (``a."b.c"`` → ``("a", "b.c")``), escapes decoded."""
    try:
        d: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        parts = re.findall(rf"{_BARE}|{_QUOTED}", key)
        return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)
    path = []
    while isinstance(d, dict) and d:
        k = next(iter(d))
        path.append(k)
        d = d[k]
    return tuple(path)


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line number (1-based) of every table header and key of a TOML text, by key path.

    Arrays of tables get their index in the path: ``("area_rules", 0, "name")``.
    """
    out: dict[tuple[Any, ...], int] = {}
    current: tuple[Any, ...] = ()
    counts: dict[tuple[Any, ...], int] = {}
    path: tuple[Any, ...]
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if m := _AOT.match(s):
            path = _split_key(m.group(1))
            counts[path] = counts.get(path, -1) + 1
            current = (*path, counts[path])
            out.setdefault(current, no)
        elif m := _TABLE.match(s):
            path = _split_key(m.group(1))
            # a sub-table of the last element of an array of tables
            for base, n in counts.items():
                if path[: len(base)] == base and len(path) > len(base):
                    path = (*base, n, *path[len(base):])
                    break
            current = path
            out.setdefault(current, no)
        elif m := _ASSIGN.match(s):
            out.setdefault((*current, *_split_key(m.group(1))), no)
    return out


# -- validation ---------------------------------------------------------------------------------
def _label(path: tuple[Any, ...]) -> str:
    """``[travel] walk_speed_km_per_h``, ``[[area_rules]] #2 name``."""
    if not path:
        return "(file)"
    parts: list[str] = []
    for p in path:
        if isinstance(p, int):
            parts[-1] = f"[[{parts[-1].strip('[]')}]] #{p + 1}"
        else:
            parts.append(str(p))
    if len(parts) == 1:
        return parts[0] if parts[0].startswith("[[") else f"[{parts[0]}]"
    head = parts[:-1]
    sect = ".".join(h for h in head if not h.startswith("[["))
    aot = [h for h in head if h.startswith("[[")]
    where = aot[-1] if aot else f"[{sect}]"
    return f"{where} {parts[-1]}"


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict):
        return "{…}"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "…"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _range_text(rule: Rule) -> str:
    parts = []
    if "gt" in rule:
        parts.append(f"> {rule['gt']:g}")
    if "min" in rule:
        parts.append(f"≥ {rule['min']:g}")
    if "lt" in rule:
        parts.append(f"< {rule['lt']:g}")
    if "max" in rule:
        parts.append(f"≤ {rule['max']:g}")
    return " and ".join(parts)


Problems = list[tuple[tuple[Any, ...], str]]


def _check(value: Any, rule: Rule, path: tuple[Any, ...], problems: Problems) -> None:
    t = rule["type"]
    if t == "any":
        return
    ok_type = {
        "number": _is_number(value), "int": isinstance(value, int) and not isinstance(value, bool),
        "str": isinstance(value, str), "bool": isinstance(value, bool), "list": isinstance(value, list),
        "table": isinstance(value, dict), "tables": isinstance(value, list) and all(isinstance(x, dict) for x in value),
    }[t]
    if not ok_type:
        why = " (true/false 不是数字 booleans are not numbers)" if t in ("number", "int") and isinstance(value, bool) else ""
        problems.append((path, f"= {_show(value)}: 应为 must be {_TYPE_ZH[t]}{why}"))
        return
    if t in ("number", "int") and not _check_range(value, rule, path, problems):
        return
    if "choices" in rule and value not in rule["choices"]:
        problems.append((path, f"= {_show(value)}: 应为 must be one of {', '.join(map(repr, rule['choices']))}"))
        return
    if t == "list" and not _check_list(value, rule, path, problems):
        return
    if t == "tables":
        for i, item in enumerate(value):
            _check(item, rule["items"], (*path, i), problems)
        return
    if t == "table":
        _check_table(value, rule, path, problems)
    if "check" in rule:
        msg = rule["check"](value)
        if msg:
            problems.append((path, f"= {_show(value)}: {msg}"))


def _check_range(value: float, rule: Rule, path: tuple[Any, ...], problems: Problems) -> bool:
    """A finite number inside the rule's bounds (else a problem, and False)."""
    if not math.isfinite(value):
        problems.append((path, f"= {_show(value)}: 应为有限数字 must be a finite number (not nan or inf)"))
        return False
    bad = (("gt" in rule and not value > rule["gt"]) or ("min" in rule and not value >= rule["min"])
           or ("lt" in rule and not value < rule["lt"]) or ("max" in rule and not value <= rule["max"]))
    if bad:
        problems.append((path, f"= {_show(value)}: 超出范围 out of range; 应为 must be {_range_text(rule)}"))
        return False
    return True


def _check_list(value: list[Any], rule: Rule, path: tuple[Any, ...], problems: Problems) -> bool:
    """A list of the allowed length whose items pass the item rule (the first bad one reported)."""
    n = len(value)
    if n < rule.get("min_len", 0) or n > rule.get("max_len", 10**9):
        want = (f"{rule['min_len']}" if rule.get("min_len") == rule.get("max_len")
                else f"{rule.get('min_len', 0)}–{rule.get('max_len', '…')}")
        problems.append((path, f"= {_show(value)}: 应有 must have {want} 项 items"))
        return False
    before = len(problems)
    for i, item in enumerate(value):
        _check(item, rule["items"], path, problems)
        if len(problems) > before:
            problems[-1] = (path, f"第 {i + 1} 项 item {i + 1} {problems[-1][1]}")
            return False
    return True


def _check_table(value: dict[str, Any], rule: Rule, path: tuple[Any, ...], problems: Problems) -> None:
    """Every key known (or allowed by ``extra``) and checked; the required keys present."""
    keys: Mapping[str, Rule] = rule.get("keys", {})
    extra: Rule | None = rule.get("extra")
    for k, v in value.items():
        if k in keys:
            _check(v, keys[k], (*path, k), problems)
        elif extra is not None:
            _check(v, extra, (*path, k), problems)
        else:
            close = difflib.get_close_matches(k, list(keys), n=1, cutoff=0.6)
            hint = (f"; 是否应为 did you mean '{close[0]}'?" if close
                    else f"; 可用 known keys: {', '.join(keys) or '(none)'}")
            problems.append(((*path, k), f": 未知的设置 unknown setting{hint}"))
    missing = [k for k in rule.get("required", []) if k not in value]
    if missing:
        problems.append((path, f": 缺少 missing {', '.join(missing)}"))


def validate_config(data: Mapping[str, Any], text: str, path: Path | str, *, max_shown: int = 20) -> None:
    """Check a parsed ``mzgis.toml`` against :data:`SCHEMA`; raise :class:`ConfigError` listing every
    problem with its line, or return None."""
    problems: Problems = []
    _check(dict(data), SCHEMA, (), problems)
    if not problems:
        return
    lines = key_lines(text)
    out = []
    for p, msg in problems[:max_shown]:
        line = None
        for n in range(len(p), 0, -1):
            if p[:n] in lines:
                line = lines[p[:n]]
                break
        where = f"{path}:{line}" if line else str(path)
        sep = "" if msg.startswith(":") else " "
        out.append(f"  - {where}: {_label(p)}{sep}{msg}")
    more = f"\n  …另有 and {len(problems) - max_shown} more" if len(problems) > max_shown else ""
    head = (f"配置错误 invalid settings in {path} ({len(problems)} 处 problems); "
            "请修改后重试 fix the file and run the command again:")
    raise ConfigError(head + "\n" + "\n".join(out) + more)


# -- the typed settings ---------------------------------------------------------------------------
# Built from the checked, defaults-merged config: the code reads ``ws.settings.travel.max_snap_distance_m``
# (a float, spelled once) instead of ``float(ws.config["travel"]["max_snap_distance_m"])`` here and
# there. Frozen: a command cannot change what the next one reads.
@dataclass(frozen=True)
class ProjectSettings:
    """``[project]``."""

    name: str = ""
    jurisdiction: str = ""
    metric_crs: str = "auto"

    @property
    def title(self) -> str:
        """The jurisdiction's name for titles (jurisdiction, else the project name; may be "")."""
        return self.jurisdiction or self.name

    @property
    def jurisdiction_name(self) -> str:
        """The name of the whole-jurisdiction rows of the tables (辖区 when neither is set)."""
        return self.title or "辖区"


@dataclass(frozen=True)
class TravelSettings:
    """``[travel]``: walking speeds, thresholds, snapping."""

    walk_speed_km_per_h: float = 4.0
    elderly_walk_speed_km_per_h: float = 3.0
    thresholds_min: tuple[float, ...] = (5.0, 10.0, 15.0)  # ascending
    max_snap_distance_m: float = 300.0
    service_area_buffer_m: float = 40.0
    snap_to: str = "main"
    threshold_mode: str = "minutes"
    circle_distances_m: Any = None  # as written (checked where used: it must match thresholds_min)


@dataclass(frozen=True)
class ImportSettings:
    """``[import]``."""

    default_coords: str = ""
    extent: tuple[float, float, float, float] = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class MapSettings:
    """``[maps]``."""

    tianditu_key: str = ""
    tiles: Any = None  # as written; None or "" = the built-in basemaps (checked by maps.webmap.tile_url)


@dataclass(frozen=True)
class Settings:
    """The whole of ``mzgis.toml``, typed: see :func:`settings_from_config`.

    ``demand`` and ``markers`` are the analysis' own settings objects; ``indicators`` stays the
    raw ``[indicators]`` table (the plan loader validates it); ``area_rules`` are the
    ``[[area_rules]]`` tables as written (none = the built-in rules). Built on every access of
    ``Workspace.settings``; a setting a later check refuses (an area rule, the issuing unit) fails
    the command that reads it, not every command."""

    project: ProjectSettings
    travel: TravelSettings
    import_: ImportSettings
    demand: DemandSettings
    markers: MarkerSettings
    sliver_m2: float
    area_rules: tuple[Mapping[str, Any], ...]  # [[area_rules]] as written; rules_from_config reads them
    maps: MapSettings
    access_targets: dict[str, float]
    store_url: str
    issuing_unit: Any  # [report] issuing_unit as written (None = the project name)


def settings_from_config(cfg: Mapping[str, Any]) -> Settings:
    """The typed settings of a validated config merged with the defaults (``Workspace.config``)."""
    from mzgis.analysis.demand import DemandSettings
    from mzgis.analysis.markers import MarkerSettings

    def section(name: str) -> Mapping[str, Any]:
        s = cfg.get(name)
        return s if isinstance(s, Mapping) else {}

    p, t, i, d, m = (section(n) for n in ("project", "travel", "import", "demand", "markers"))
    maps, report = section("maps"), section("report")
    travel = TravelSettings(
        walk_speed_km_per_h=float(t.get("walk_speed_km_per_h", 4.0)),
        elderly_walk_speed_km_per_h=float(t.get("elderly_walk_speed_km_per_h", 3.0)),
        thresholds_min=tuple(sorted(float(x) for x in t.get("thresholds_min", (5, 10, 15)))),
        max_snap_distance_m=float(t.get("max_snap_distance_m", 300.0)),
        service_area_buffer_m=float(t.get("service_area_buffer_m", 40.0)),
        snap_to=str(t.get("snap_to", "main")), threshold_mode=str(t.get("threshold_mode", "minutes")),
        circle_distances_m=t.get("circle_distances_m"))
    ext = [float(x) for x in i.get("extent", (-180.0, -90.0, 180.0, 90.0))]
    rules = cfg.get("area_rules")
    unit = report.get("issuing_unit")
    return Settings(
        project=ProjectSettings(str(p.get("name") or ""), str(p.get("jurisdiction") or ""),
                                str(p.get("metric_crs", "auto"))),
        travel=travel,
        import_=ImportSettings(str(i.get("default_coords") or "").strip(), (ext[0], ext[1], ext[2], ext[3])),
        demand=DemandSettings(float(d["persons_per_household"]), float(d["elderly_share"]),
                              float(d["floor_area_per_household_m2"]), float(d["default_floors"])),
        markers=MarkerSettings(float(m["tolerance_m"]), float(m["near_m"]), float(m["spacing_m"]),
                               float(m["cycle_years"])),
        sliver_m2=float(section("inspection").get("sliver_m2", 100.0)),
        area_rules=tuple(rules) if isinstance(rules, list) else (),
        maps=MapSettings(str(maps.get("tianditu_key", "")), maps.get("tiles")),
        access_targets=dict(section("access").get("targets") or {}),
        store_url=str(section("store").get("url") or ""),
        issuing_unit=unit,
    )
