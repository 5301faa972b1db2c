"""The indicator engine: plan targets declared as data, evaluated against the layers.

An :class:`Indicator` names a *method* (one of :data:`METHODS`), the facility kinds and admin
level it concerns, its target and comparator, and whether it is 约束性 (binding) or 预期性
(expected). Adding an indicator needs no code: declare it in ``mzgis.toml``::

    [[indicators.custom]]
    id = "X-01"
    name_zh = "儿童之家社区覆盖率"
    method = "unit_coverage"
    kinds = ["children_home"]
    level = "community"
    target = 60
    unit = "%"

Plan sets are data too: ``mzgis/data/plans/<plan>.toml`` (one ``[plan]`` table and one
``[[indicators]]`` table per indicator, with its ``source`` in plain Chinese); a bureau's own set is
a file of the same form (``mzgis init WS --plan FILE.toml``). Every entry is checked when the set
is loaded and every problem is reported at once (:func:`load_plan`).

Methods
-------
``count``                   facilities of the kinds (status filter, default 建成运营) — M1 totals
``sum``                     Σ an attribute (``attribute``, e.g. beds) of the kinds
``unit_coverage``           % of units of ``level`` (optionally only those whose name ends with one
                            of ``name_suffix``, or matches the ``unit_filter`` regular expression)
                            with a facility inside or within ``within_m`` — M1/M2
``service_circle``          % of ``weight`` (households/population/elderly) within ``minutes`` of
                            walking of a facility — M3
``area_per_100_households`` Σ floor area of the kinds ÷ Σ community households × 100 — M5
``area_standard_pass``      % of communities meeting their per-100-household rule — M5
``per_1000``                Σ ``attribute`` ÷ Σ ``denominator`` (population/elderly) × ``scale`` — M4
``co_location``             % of host facilities (kinds) with a ``sub_kinds`` facility within
                            ``distance_m`` or with the ``flag`` attribute set — M9

Each method is a function registered in :data:`METHODS` with :func:`method`; a new method is one
decorated function, and the loader accepts it at once.
"""

from __future__ import annotations

import difflib
import logging
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.analysis.area_standard import DEFAULT_RULES, AreaRule, area_standard
from mzgis.errors import ConfigError
from mzgis.layers.schemas import SCENARIO_STATUSES

__all__ = ["COMPARATORS", "INDICATOR_COLUMNS", "INDICATOR_COLUMNS_ZH", "METHODS", "PLAN_NAMES", "PLAN_SETS",
           "Indicator", "IndicatorContext", "Plan", "evaluate", "indicator_set", "load_plan", "method"]

log = logging.getLogger(__name__)

#: Comparators as written in plan files (ASCII or the mathematical signs) → the sign shown to people.
COMPARATORS = {">=": "≥", "≥": "≥", ">": ">", "<=": "≤", "≤": "≤", "<": "<", "=": "=", "==": "="}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "≥": lambda a, t: a >= t - 1e-9, ">": lambda a, t: a > t + 1e-9, "≤": lambda a, t: a <= t + 1e-9,
    "<": lambda a, t: a < t - 1e-9, "=": lambda a, t: abs(a - t) < 1e-9,
}

INDICATOR_COLUMNS = ["indicator_id", "name_zh", "target", "comparator", "actual", "unit", "passed", "binding"]
INDICATOR_COLUMNS_ZH = {
    "indicator_id": "指标编号", "name_zh": "指标名称", "target": "目标值", "comparator": "比较", "actual": "现状值",
    "unit": "单位", "passed": "是否达标", "binding": "指标属性", "gap": "差距", "detail": "说明", "plan": "出处",
    "facility_status": "计入设施状态",
}


@dataclass(frozen=True)
class Indicator:
    """One declared indicator."""

    id: str
    name_zh: str
    method: str
    target: float
    unit: str = "%"
    comparator: str = ">="
    binding: bool = False
    kinds: tuple[str, ...] = ()
    level: str | None = None
    name_en: str = ""
    plan: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one spelling inside, whatever the file said (>= or ≥)
        if self.comparator not in COMPARATORS:
            msg = (f"指标 indicator {self.id}: 比较符 comparator {self.comparator!r} 无效 is not one of "
                   f"{' '.join(dict.fromkeys(COMPARATORS.values()))}")
            raise ConfigError(msg)
        object.__setattr__(self, "comparator", COMPARATORS[self.comparator])

    def passes(self, actual: float) -> bool | None:
        """Compare an actual value with the target (None when it could not be computed).

        Examples
        --------
        >>> Indicator("X", "x", "count", 9, comparator=">=").passes(9.0)
        True
        >>> Indicator("X", "x", "count", 9, comparator="≥").passes(8.0)
        False
        >>> Indicator("X", "x", "count", 9, comparator="<").passes(9.0)
        False
        """
        if actual is None or not np.isfinite(actual):
            return None
        return bool(_COMPARE[self.comparator](actual, self.target))


@dataclass(frozen=True)
class Plan:
    """A plan's indicator set: its id, its name in Chinese and English, and its indicators."""

    id: str
    name_zh: str
    name_en: str
    indicators: tuple[Indicator, ...]


_LEVELS = ("district", "subdistrict", "community")
_INDICATOR_KEYS = {"id", "name_zh", "name_en", "method", "kinds", "level", "target", "unit", "comparator",
                   "binding", "source", "params"}


def _did_you_mean(key: str, options: Sequence[str]) -> str:
    near = difflib.get_close_matches(key, list(options), n=1)
    return f"（是否应为 did you mean '{near[0]}'?）" if near else ""


def _check_entry(k: int, entry: Mapping[str, Any], where: str) -> tuple[Indicator | None, list[str]]:
    """One ``[[indicators]]`` entry as an :class:`Indicator`, or the problems found in it."""
    from mzgis.layers.kinds import KINDS, get_kind

    label = f"{where} [[indicators]] 第 {k + 1} 项 entry {k + 1} ({entry.get('id', '?')})"
    problems = []
    for key in entry:
        if key not in _INDICATOR_KEYS:
            problems.append(f"{label}: 不认识的键 unknown key '{key}'{_did_you_mean(key, sorted(_INDICATOR_KEYS))}")
    for key in ("id", "name_zh", "method", "target"):
        if key not in entry:
            problems.append(f"{label}: 缺少 missing '{key}'")
    m = entry.get("method")
    if m is not None and m not in METHODS:
        problems.append(f"{label}: 方法 method '{m}' 不存在 is not one of {', '.join(METHODS)}"
                        f"{_did_you_mean(str(m), list(METHODS))}")
    t = entry.get("target")
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not np.isfinite(t)):
        problems.append(f"{label}: 目标值 target {t!r} 应为数字 must be a number")
    c = entry.get("comparator", "≥")
    if c not in COMPARATORS:
        problems.append(f"{label}: 比较符 comparator {c!r} 无效 must be one of "
                        f"{' '.join(dict.fromkeys(COMPARATORS.values()))}")
    lv = entry.get("level")
    if lv is not None and lv not in _LEVELS:
        problems.append(f"{label}: 层级 level {lv!r} 应为 must be one of {', '.join(_LEVELS)}")
    b = entry.get("binding", False)
    if not isinstance(b, bool):
        problems.append(f"{label}: binding {b!r} 应为 true/false (约束性 true, 预期性 false)")
    kinds = entry.get("kinds", [])
    if not isinstance(kinds, list) or not all(isinstance(x, str) for x in kinds):
        problems.append(f"{label}: kinds 应为设施类型列表 must be a list of facility kinds")
        kinds = []
    ids = []
    for x in kinds:
        try:
            ids.append(get_kind(x).id)
        except ValueError:
            problems.append(f"{label}: 设施类型 kind '{x}' 不存在 unknown{_did_you_mean(x, list(KINDS))}")
    params = entry.get("params", {})
    if not isinstance(params, Mapping):
        problems.append(f"{label}: params 应为表 must be a table")
        params = {}
    if problems:
        return None, problems
    ind = Indicator(id=str(entry["id"]), name_zh=str(entry["name_zh"]), method=str(m), target=float(t or 0.0),
                    unit=str(entry.get("unit", "%")), comparator=str(c), binding=bool(b), kinds=tuple(ids),
                    level=lv, name_en=str(entry.get("name_en", "")), plan=str(entry.get("source", "")),
                    params=dict(params))
    return ind, []


def load_plan(source: str | Path) -> Plan:
    """Load and check a plan's indicator set: a shipped plan by name (``mentougou``, ``chifeng``)
    or a TOML file of the same form. Every problem in the file is reported at once.

    Examples
    --------
    >>> p = load_plan("mentougou")
    >>> p.name_zh, len(p.indicators), p.indicators[0].comparator
    ('门头沟区“十四五”时期民政事业规划', 10, '≥')
    """
    name = str(source)
    if name in PLAN_NAMES:
        text = resources.files("mzgis.data.plans").joinpath(f"{name}.toml").read_text(encoding="utf-8")
        where = f"mzgis/data/plans/{name}.toml"
    else:
        path = Path(name)
        if path.suffix.lower() != ".toml" or not path.is_file():
            msg = (f"指标集 indicator set '{name}' 不存在 not found: use {', '.join(PLAN_NAMES)}, none, "
                   "or the path of a .toml plan file (see mzgis/data/plans/mentougou.toml for the form)")
            raise ConfigError(msg)
        text = path.read_text(encoding="utf-8")
        where = str(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{where}: TOML 格式错误 syntax error: {exc}"
        raise ConfigError(msg) from exc
    head = doc.get("plan", {})
    problems = [f"{where}: 不认识的表 unknown table '{k}'" for k in doc if k not in ("plan", "indicators")]
    if not isinstance(head, Mapping) or "id" not in head or "name_zh" not in head:
        problems.append(f"{where}: 需要 [plan] 表含 id 和 name_zh — needs a [plan] table with id and name_zh")
        head = {}
    entries = doc.get("indicators", [])
    if not isinstance(entries, list) or not entries:
        problems.append(f"{where}: 没有指标 no [[indicators]] entries")
        entries = []
    out = []
    for k, e in enumerate(entries):
        ind, probs = _check_entry(k, e, where)
        problems += probs
        if ind is not None:
            out.append(ind)
    dup = sorted({i.id for i in out if sum(j.id == i.id for j in out) > 1})
    if dup:
        problems.append(f"{where}: 指标编号重复 duplicate indicator ids {dup}")
    if problems:
        msg = f"指标集有 {len(problems)} 处问题 the indicator set has {len(problems)} problems:\n  - " + \
            "\n  - ".join(problems)
        raise ConfigError(msg)
    return Plan(str(head["id"]), str(head["name_zh"]), str(head.get("name_en", "")), tuple(out))


#: The plans shipped with mzgis (``mzgis/data/plans/*.toml``).
PLAN_NAMES = ("mentougou", "chifeng")


class _PlanSets(Mapping[str, list[Indicator]]):
    """``PLAN_SETS[name]``: a shipped plan's indicators, loaded from its data file on first use."""

    def __getitem__(self, name: str) -> list[Indicator]:
        if name not in PLAN_NAMES:
            raise KeyError(name)
        return list(load_plan(name).indicators)

    def __iter__(self) -> Iterator[str]:
        return iter(PLAN_NAMES)

    def __len__(self) -> int:
        return len(PLAN_NAMES)


PLAN_SETS: Mapping[str, list[Indicator]] = _PlanSets()


def plan_source(config: Mapping[str, Any], root: Path | None = None) -> str:
    """The ``[indicators] plan`` setting, a relative file path resolved against the workspace."""
    plan = str(dict(config.get("indicators", {})).get("plan", "none") or "none")
    if plan not in (*PLAN_NAMES, "none") and root is not None and not Path(plan).is_absolute():
        plan = str(root / plan)
    return plan


def plan_title(config: Mapping[str, Any], root: Path | None = None) -> str:
    """The Chinese name of the workspace's plan ("未指定规划指标集" when none)."""
    src = plan_source(config, root)
    return "未指定规划指标集 no indicator set" if src == "none" else load_plan(src).name_zh


def indicator_set(config: Mapping[str, Any], root: Path | None = None) -> list[Indicator]:
    """The indicators of a workspace: the plan's set (``none`` = no plan), targets and parameters
    overridden, plus custom indicators, from ``mzgis.toml [indicators]``."""
    section = dict(config.get("indicators", {}))
    plan = plan_source(config, root)
    inds = [] if plan == "none" else list(load_plan(plan).indicators)
    targets = dict(section.get("targets", {}))
    params = dict(section.get("params", {}))
    out = []
    for ind in inds:
        new = ind
        if ind.id in targets:
            new = replace(new, target=float(targets.pop(ind.id)))
        if ind.id in params:
            new = replace(new, params={**new.params, **dict(params.pop(ind.id))})
        out.append(new)
    if targets:
        msg = f"mzgis.toml [indicators.targets]: 指标集 {plan} 中没有 no indicator {sorted(targets)} in plan {plan}"
        raise ConfigError(msg)
    customs = section.get("custom", [])
    problems: list[str] = []
    for k, c in enumerate(customs):
        c = dict(c)
        std = {key: c.pop(key) for key in list(c) if key in _INDICATOR_KEYS}
        std["params"] = {**dict(std.get("params", {})), **c}  # other keys of a custom entry are parameters
        if "plan" in std["params"]:
            std["source"] = std["params"].pop("plan")
        custom, probs = _check_entry(k, std, "mzgis.toml [indicators.custom]")
        problems += probs
        if custom is not None:
            out.append(custom)
    if problems:
        msg = "自定义指标有问题 custom indicators have problems:\n  - " + "\n  - ".join(problems)
        raise ConfigError(msg)
    return out


@dataclass
class IndicatorContext:
    """What indicators are evaluated against.

    Attributes
    ----------
    facilities
        Every facility layer, concatenated (``kind``, ``status``, ``beds``, ``floor_area_m2``…).
    units
        Admin-unit layers by level.
    demand
        Demand points (``households``, ``population``, ``elderly``), or None.
    minutes_to_nearest
        ``f(kinds) -> Series`` of walking minutes from each demand point to the nearest facility
        of the kinds (None when there is no network).
    metric_crs
        CRS for distances.
    statuses
        Facility statuses counted where an indicator does not name its own (default 建成运营;
        ``("建成运营", "在建", "规划")`` for the planned scenario).
    """

    facilities: gpd.GeoDataFrame
    units: Mapping[str, gpd.GeoDataFrame]
    metric_crs: str
    demand: gpd.GeoDataFrame | None = None
    minutes_to_nearest: Callable[[Sequence[str]], pd.Series] | None = None
    area_rules: Sequence[AreaRule] = DEFAULT_RULES
    statuses: Sequence[str] = SCENARIO_STATUSES["today"]


def _facilities(ctx: IndicatorContext, kinds: Sequence[str], statuses: Sequence[str] | None) -> gpd.GeoDataFrame:
    f = ctx.facilities
    if f is None or f.empty:
        return gpd.GeoDataFrame(columns=["kind", "status", "geometry"], geometry="geometry", crs="EPSG:4326")
    sel = f["kind"].isin(kinds) if kinds else pd.Series(True, index=f.index)
    if statuses:
        sel &= f["status"].isin(statuses)
    return f[sel]


MethodFn = Callable[["Indicator", "IndicatorContext", Sequence[str]], tuple[float, str]]

#: The indicator methods by name: ``f(indicator, context, statuses) -> (value, detail)``.
METHODS: dict[str, MethodFn] = {}


def method(name: str) -> Callable[[MethodFn], MethodFn]:
    """Register an indicator method under ``name`` (then usable in plan files and mzgis.toml)."""

    def register(fn: MethodFn) -> MethodFn:
        METHODS[name] = fn
        return fn

    return register


def _units(ctx: IndicatorContext, ind: Indicator) -> gpd.GeoDataFrame | None:
    level = ind.level
    if level is None or level not in ctx.units:
        return None
    u = ctx.units[level]
    suffix = ind.params.get("name_suffix")
    if suffix:
        u = u[u["name"].astype(str).str.endswith(tuple([suffix] if isinstance(suffix, str) else suffix))]
    unit_filter = ind.params.get("unit_filter")
    if unit_filter:
        try:
            u = u[u["name"].astype(str).str.contains(unit_filter, regex=True)]
        except re.error as exc:
            msg = f"指标 {ind.id} 的 unit_filter {unit_filter!r} 不是有效的正则表达式 is not a valid regular expression: {exc}"
            raise ConfigError(msg) from exc
    return u


def _which_units(ind: Indicator) -> str:
    suffix = ind.params.get("name_suffix")
    if suffix:
        return "名称以" + "、".join([suffix] if isinstance(suffix, str) else suffix) + "结尾的单位"
    return "符合筛选条件的单位" if ind.params.get("unit_filter") else "单位"


@method("count")
def _count(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    return float(len(_facilities(ctx, ind.kinds, statuses))), ""


@method("sum")
def _sum(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    f = _facilities(ctx, ind.kinds, statuses)
    attr = ind.params.get("attribute", "beds")
    return float(pd.to_numeric(f.get(attr), errors="coerce").fillna(0).sum()) if len(f) else 0.0, ""


@method("unit_coverage")
def _unit_coverage(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    p = ind.params
    u = _units(ctx, ind)
    if u is None:
        return np.nan, f"没有 {ind.level} 层级的行政区划 no admin units of level {ind.level}"
    if u.empty:
        return np.nan, f"没有{_which_units(ind)} no {ind.level} units of that kind (不适用 n/a)"
    f = _facilities(ctx, ind.kinds, statuses)
    if f.empty:
        return 0.0, f"0/{len(u)}"
    within = float(p.get("within_m", 0.0))
    um = u.to_crs(ctx.metric_crs)
    fm = f.to_crs(ctx.metric_crs)
    if within > 0:
        j = gpd.sjoin_nearest(um[["geometry"]], fm[["geometry"]], max_distance=within, how="inner")
    else:
        j = gpd.sjoin(um[["geometry"]], fm[["geometry"]], predicate="intersects", how="inner")
    served = j.index.unique()
    missing = [str(n) for n in u.loc[~u.index.isin(served), "name"].tolist()[:10]]
    detail = f"{len(served)}/{len(u)}" + (f"; 未覆盖 missing: {', '.join(missing)}" if missing else "")
    return 100.0 * len(served) / len(u), detail


@method("service_circle")
def _service_circle(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    p = ind.params
    if ctx.minutes_to_nearest is None or ctx.demand is None or ctx.demand.empty:
        return np.nan, "需要路网和需求点 needs a network and demand (mzgis network …)"
    mins = ctx.minutes_to_nearest(ind.kinds)
    w = ctx.demand[p.get("weight", "households")].astype(float).to_numpy()
    cov = np.isfinite(mins.to_numpy()) & (mins.to_numpy() <= float(p.get("minutes", 15)) + 1e-9)
    tot = w.sum()
    return (100.0 * w[cov].sum() / tot if tot > 0 else np.nan), f"{w[cov].sum():.0f}/{tot:.0f}"


def _area_table(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> pd.DataFrame | None:
    com = ctx.units.get("community")
    if com is None or com.empty:
        return None
    f = _facilities(ctx, ind.kinds, statuses)
    hh = None
    if ctx.demand is not None and not ctx.demand.empty:
        from mzgis.analysis.units import by_code, households_by_unit

        hh = by_code(households_by_unit(ctx.demand, com), com)
    return area_standard(com, f, households=hh, rules=ctx.area_rules)


@method("area_standard_pass")
def _area_standard_pass(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    table = _area_table(ind, ctx, statuses)
    if table is None:
        return np.nan, "没有社区层 no community layer"
    return 100.0 * float(table["passed"].mean()), f"{int(table['passed'].sum())}/{len(table)}"


@method("area_per_100_households")
def _area_per_100(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    table = _area_table(ind, ctx, statuses)
    if table is None:
        return np.nan, "没有社区层 no community layer"
    total_hh = table["households"].sum()
    return (100.0 * table["floor_area_m2"].sum() / total_hh if total_hh > 0 else np.nan), \
        f"{table['floor_area_m2'].sum():.0f} ㎡ / {total_hh:.0f} 户"


@method("per_1000")
def _per_1000(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    p = ind.params
    f = _facilities(ctx, ind.kinds, statuses)
    num = float(pd.to_numeric(f.get(p.get("attribute", "beds")), errors="coerce").fillna(0).sum()) if len(f) else 0.0
    den_col = p.get("denominator", "population")
    den = np.nan
    for level in ("district", "subdistrict", "community"):
        u = ctx.units.get(level)
        if u is not None and den_col in u and pd.to_numeric(u[den_col], errors="coerce").notna().any():
            den = float(pd.to_numeric(u[den_col], errors="coerce").fillna(0).sum())
            break
    if not np.isfinite(den) and ctx.demand is not None and den_col in ctx.demand:
        den = float(ctx.demand[den_col].sum())
    if not np.isfinite(den) or den <= 0:
        return np.nan, f"没有 {den_col} 数据 no {den_col} figures"
    return num / den * float(p.get("scale", 1000)), f"{num:.0f} / {den:.0f}"


@method("co_location")
def _co_location(ind: Indicator, ctx: IndicatorContext, statuses: Sequence[str]) -> tuple[float, str]:
    p = ind.params
    hosts = _facilities(ctx, ind.kinds, statuses)
    if hosts.empty:
        return np.nan, "没有主设施 no host facilities"
    flag = p.get("flag")
    ok = pd.Series(False, index=hosts.index)
    if flag and flag in hosts:
        ok |= hosts[flag].astype(str).str.lower().isin(["1", "true", "是", "yes", "y"])
    subs = _facilities(ctx, p.get("sub_kinds", []), None)
    if not subs.empty:
        j = gpd.sjoin_nearest(hosts.to_crs(ctx.metric_crs)[["geometry"]], subs.to_crs(ctx.metric_crs)[["geometry"]],
                              max_distance=float(p.get("distance_m", 50.0)), how="inner")
        ok |= hosts.index.isin(j.index)
    return 100.0 * float(ok.mean()), f"{int(ok.sum())}/{len(ok)}"


def _value(ind: Indicator, ctx: IndicatorContext) -> tuple[float, str]:
    fn = METHODS.get(ind.method)
    if fn is None:
        msg = f"指标 indicator {ind.id}: 方法 unknown method {ind.method!r}; use one of {', '.join(METHODS)}"
        raise ConfigError(msg)
    return fn(ind, ctx, ind.params.get("status", list(ctx.statuses)))


def evaluate(indicators: Sequence[Indicator], ctx: IndicatorContext) -> pd.DataFrame:
    """Evaluate indicators.

    Returns
    -------
    pandas.DataFrame
        :data:`INDICATOR_COLUMNS` plus ``gap`` (actual − target; NaN when not computable),
        ``detail``, ``plan`` and ``name_en``; ``passed`` is None where the value could not be
        computed, and ``binding`` is 约束性 or 预期性.

    Raises
    ------
    mzgis.errors.CrsError
        ``ctx.metric_crs`` not projected, or a layer of ``ctx`` without a CRS.
    mzgis.errors.MissingColumnError
        Facilities without ``kind``/``status``, or demand without ``households``.

    Examples
    --------
    Four operating stations against a target of at least 4, one planned one not counted:

    >>> import geopandas as gpd
    >>> fac = gpd.GeoDataFrame({"kind": ["elderly_care_station"] * 5, "status": ["建成运营"] * 4 + ["规划"]},
    ...                        geometry=gpd.points_from_xy(range(5), [0] * 5), crs="EPSG:32650")
    >>> ind = Indicator("EC-04", "驿站数量", "count", 4, unit="个", kinds=("elderly_care_station",))
    >>> evaluate([ind], IndicatorContext(fac, {}, "EPSG:32650"))[["indicator_id", "actual", "passed"]]
      indicator_id  actual passed
    0        EC-04     4.0   True
    """
    guard.projected(ctx.metric_crs, "IndicatorContext.metric_crs")
    if ctx.facilities is not None and len(ctx.facilities):
        guard.layer_crs(ctx.facilities, "IndicatorContext.facilities")
        guard.require_columns(ctx.facilities, ["kind", "status"], "IndicatorContext.facilities")
    for level, u in ctx.units.items():
        if u is not None and len(u):
            guard.layer_crs(u, f"IndicatorContext.units['{level}']")
    if ctx.demand is not None and len(ctx.demand):
        guard.layer_crs(ctx.demand, "IndicatorContext.demand")
        guard.require_columns(ctx.demand, ["households"], "IndicatorContext.demand")
    rows = []
    for ind in indicators:
        actual, detail = _value(ind, ctx)
        rows.append({
            "indicator_id": ind.id, "name_zh": ind.name_zh, "target": ind.target, "comparator": ind.comparator,
            "actual": float(actual) if np.isfinite(actual) else np.nan, "unit": ind.unit,
            "passed": ind.passes(actual), "binding": "约束性" if ind.binding else "预期性",
            "gap": actual - ind.target if np.isfinite(actual) else np.nan, "detail": detail, "plan": ind.plan,
            "name_en": ind.name_en,
            "facility_status": "、".join(ind.params.get("status", list(ctx.statuses))) if ind.kinds else "",
        })
    out = pd.DataFrame(rows, columns=[*INDICATOR_COLUMNS, "gap", "detail", "plan", "name_en", "facility_status"])
    out["passed"] = pd.Series([r["passed"] for r in rows], index=out.index, dtype=object)
    return out


