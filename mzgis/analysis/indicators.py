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

Methods
-------
``count``                   facilities of the kinds (status filter, default 建成运营) — M1 totals
``sum``                     Σ an attribute (``attribute``, e.g. beds) of the kinds
``unit_coverage``           % of units of ``level`` (optionally ``unit_filter`` regex on the name)
                            with a facility inside or within ``within_m`` — M1/M2
``service_circle``          % of ``weight`` (households/population/elderly) within ``minutes`` of
                            walking of a facility — M3
``area_per_100_households`` Σ floor area of the kinds ÷ Σ community households × 100 — M5
``area_standard_pass``      % of communities meeting their per-100-household rule — M5
``per_1000``                Σ ``attribute`` ÷ Σ ``denominator`` (population/elderly) × ``scale`` — M4
``co_location``             % of host facilities (kinds) with a ``sub_kinds`` facility within
                            ``distance_m`` or with the ``flag`` attribute set — M9
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis.area_standard import DEFAULT_RULES, AreaRule, area_standard
from mzgis.errors import ConfigError

__all__ = ["INDICATOR_COLUMNS", "INDICATOR_COLUMNS_ZH", "METHODS", "PLAN_SETS", "Indicator", "IndicatorContext",
           "evaluate", "indicator_set"]

log = logging.getLogger(__name__)

METHODS = ("count", "sum", "unit_coverage", "service_circle", "area_per_100_households", "area_standard_pass",
           "per_1000", "co_location")

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

    def passes(self, actual: float) -> bool | None:
        """Compare an actual value with the target (None when it could not be computed)."""
        if actual is None or not np.isfinite(actual):
            return None
        ops: dict[str, Callable[[float, float], bool]] = {
            ">=": lambda a, t: a >= t - 1e-9, ">": lambda a, t: a > t, "<=": lambda a, t: a <= t + 1e-9,
            "<": lambda a, t: a < t, "=": lambda a, t: abs(a - t) < 1e-9, "==": lambda a, t: abs(a - t) < 1e-9,
        }
        return bool(ops[self.comparator](actual, self.target))


def _ind(**kw: Any) -> Indicator:
    kw["kinds"] = tuple(kw.get("kinds", ()))
    return Indicator(**kw)


#: Default indicator sets, with targets and 约束性/预期性 from PLAN_REQUIREMENTS §2.
PLAN_SETS: dict[str, list[Indicator]] = {
    "mentougou": [
        _ind(id="EC-03", name_zh="建成运营街道乡镇养老照料中心数量", name_en="Operating subdistrict care centers",
             method="count", kinds=["elderly_care_center"], target=9, unit="家", binding=True, plan="MTG 指标4 ※"),
        _ind(id="EC-04", name_zh="建成运营社区养老服务驿站", name_en="Operating community care stations",
             method="count", kinds=["elderly_care_station"], target=36, unit="家", binding=True, plan="MTG 指标5 ※"),
        _ind(id="EC-01", name_zh="街道乡镇养老照料中心全覆盖", name_en="Care center in every subdistrict",
             method="unit_coverage", kinds=["elderly_care_center"], level="subdistrict", target=100, unit="%",
             plan="CY/DX 全覆盖"),
        _ind(id="EC-11", name_zh="每千名常住人口养老床位数", name_en="Elderly-care beds per 1,000 residents",
             method="per_1000", kinds=["elderly_institution", "elderly_care_center", "elderly_care_station"],
             target=7, unit="张/千人", plan="MTG 指标3",
             params={"attribute": "beds", "denominator": "population", "scale": 1000}),
        _ind(id="CW-02", name_zh="区级儿童福利机构数量", name_en="District child-welfare institutions",
             method="count", kinds=["child_welfare"], target=1, unit="所", binding=True, plan="MTG 指标11 ※"),
        _ind(id="SA-01", name_zh="临时救助和长期照料总床位数", name_en="Temporary relief and long-term care beds",
             method="sum", kinds=["relief_station"], target=50, unit="张", binding=True, plan="MTG 指标2 ※",
             params={"attribute": "beds"}),
        _ind(id="FN-02", name_zh="公益性公墓乡镇服务覆盖率", name_en="Township coverage of public cemeteries",
             method="unit_coverage", kinds=["public_cemetery"], level="subdistrict", target=80, unit="%",
             binding=True, plan="MTG 指标26 ※", params={"unit_filter": "[乡镇]$", "within_m": 0.0}),
        _ind(id="SO-09", name_zh="志愿服务站点在社区综合服务设施覆盖率", name_en="Volunteer stations in community facilities",
             method="co_location", kinds=["community_service"], target=100, unit="%", plan="MTG",
             params={"sub_kinds": ["volunteer_station"], "distance_m": 50.0, "flag": "hosts_volunteer_station"}),
        _ind(id="SC-15", name_zh="社区养老服务驿站15分钟步行覆盖率（户）", name_en="Households within 15 min walk of a station",
             method="service_circle", kinds=["elderly_care_station"], target=100, unit="%",
             plan="[ASSUMPTION] 一刻钟服务圈, no number in the plans", params={"minutes": 15, "weight": "households"}),
        _ind(id="CS-02", name_zh="社区综合服务设施面积达标率（每百户）", name_en="Communities meeting the area standard",
             method="area_standard_pass", kinds=["community_service"], level="community", target=100, unit="%",
             plan="CF 标准参照"),
    ],
    "chifeng": [
        _ind(id="EC-05", name_zh="每个街道具备综合功能的养老服务中心", name_en="Comprehensive elderly center per subdistrict",
             method="unit_coverage", kinds=["elderly_care_center"], level="subdistrict", target=100, unit="%",
             plan="CF 指标13 预期", params={"unit_filter": "街道$"}),
        _ind(id="EC-06", name_zh="社区日间照料机构覆盖率", name_en="Community day-care coverage",
             method="unit_coverage", kinds=["elderly_day_care", "elderly_care_station"], level="community",
             target=90, unit="%", binding=True, plan="CF 指标10 约束性"),
        _ind(id="CS-01", name_zh="每百户居民拥有的城乡社区综合服务设施建筑面积", name_en="Community facility m² per 100 households",
             method="area_per_100_households", kinds=["community_service"], level="community", target=35,
             unit="㎡/百户", binding=True, plan="CF 指标4 约束性"),
        _ind(id="CS-05", name_zh="城镇社区综合服务设施覆盖率", name_en="Urban communities with a service facility",
             method="unit_coverage", kinds=["community_service"], level="community", target=100, unit="%",
             binding=True, plan="CF 指标18 约束性"),
        _ind(id="CS-02", name_zh="社区综合服务设施面积达标率", name_en="Communities meeting the area standard",
             method="area_standard_pass", kinds=["community_service"], level="community", target=100, unit="%",
             plan="CF 30/300, 50/500, 300, 150"),
        _ind(id="CW-04", name_zh="乡镇(街道)未成年人保护工作站覆盖率", name_en="Minor-protection stations in subdistricts",
             method="unit_coverage", kinds=["minor_protection_station"], level="subdistrict", target=100, unit="%",
             plan="CF 指标16 预期"),
        _ind(id="FN-03", name_zh="旗县级城乡公益性安葬(放)设施覆盖率", name_en="Counties with public burial facilities",
             method="unit_coverage", kinds=["public_cemetery", "rural_cemetery"], level="district", target=100,
             unit="%", binding=True, plan="CF 指标5 约束性"),
        _ind(id="EC-08", name_zh="一刻钟居家养老服务圈覆盖率（户）", name_en="Households within 15 min of elderly care",
             method="service_circle", kinds=["elderly_care_center", "elderly_care_station", "elderly_day_care"],
             target=100, unit="%", plan="CF 一刻钟服务圈 [ASSUMPTION: target and 4 km/h walk not in the plan]",
             params={"minutes": 15, "weight": "households"}),
    ],
}


def indicator_set(config: Mapping[str, Any]) -> list[Indicator]:
    """The indicators of a workspace: the plan's defaults, targets and parameters overridden, plus
    custom indicators, from ``mzgis.toml [indicators]``."""
    section = dict(config.get("indicators", {}))
    plan = str(section.get("plan", "mentougou"))
    if plan not in PLAN_SETS and plan != "none":
        msg = f"mzgis.toml [indicators] plan = \"{plan}\": use one of {', '.join(PLAN_SETS)} or \"none\""
        raise ConfigError(msg)
    inds = list(PLAN_SETS.get(plan, []))
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
        msg = f"mzgis.toml [indicators.targets]: no indicator {sorted(targets)} in plan {plan}"
        raise ConfigError(msg)
    for i, c in enumerate(section.get("custom", [])):
        c = dict(c)
        try:
            if c.get("method") not in METHODS:
                msg = f"method {c.get('method')!r} is not one of {', '.join(METHODS)}"
                raise ValueError(msg)
            base = {k: c.pop(k) for k in list(c) if k in Indicator.__dataclass_fields__}
            base.setdefault("params", {})
            base["params"] = {**dict(base["params"]), **c}
            base["kinds"] = tuple(base.get("kinds", ()))
            base["target"] = float(base["target"])
            out.append(Indicator(**base))
        except (KeyError, TypeError, ValueError) as exc:
            msg = (f"mzgis.toml [[indicators.custom]] #{i + 1}: {exc}. Needs id, name_zh, method, target "
                   f"(and kinds, level, unit, comparator, binding as needed).")
            raise ConfigError(msg) from exc
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
    statuses: Sequence[str] = ("建成运营",)


def _facilities(ctx: IndicatorContext, kinds: Sequence[str], statuses: Sequence[str] | None) -> gpd.GeoDataFrame:
    f = ctx.facilities
    if f is None or f.empty:
        return gpd.GeoDataFrame(columns=["kind", "status", "geometry"], geometry="geometry", crs="EPSG:4326")
    sel = f["kind"].isin(kinds) if kinds else pd.Series(True, index=f.index)
    if statuses:
        sel &= f["status"].isin(statuses)
    return f[sel]


def _units(ctx: IndicatorContext, level: str | None, unit_filter: str | None) -> gpd.GeoDataFrame | None:
    if level is None or level not in ctx.units:
        return None
    u = ctx.units[level]
    if unit_filter:
        try:
            u = u[u["name"].astype(str).str.contains(unit_filter, regex=True)]
        except re.error as exc:
            msg = f"indicator unit_filter {unit_filter!r} is not a valid regular expression: {exc}"
            raise ConfigError(msg) from exc
    return u


def _value(ind: Indicator, ctx: IndicatorContext) -> tuple[float, str]:
    p = ind.params
    statuses = p.get("status", list(ctx.statuses))
    m = ind.method
    if m == "count":
        return float(len(_facilities(ctx, ind.kinds, statuses))), ""
    if m == "sum":
        f = _facilities(ctx, ind.kinds, statuses)
        attr = p.get("attribute", "beds")
        return float(pd.to_numeric(f.get(attr), errors="coerce").fillna(0).sum()) if len(f) else 0.0, ""
    if m == "unit_coverage":
        u = _units(ctx, ind.level, p.get("unit_filter"))
        if u is None:
            return np.nan, f"没有 {ind.level} 层级的行政区划 no admin units of level {ind.level}"
        if u.empty:
            return np.nan, f"没有名称符合 {p.get('unit_filter')!r} 的单位 no {ind.level} units match the filter (不适用 n/a)"
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
    if m == "service_circle":
        if ctx.minutes_to_nearest is None or ctx.demand is None or ctx.demand.empty:
            return np.nan, "需要路网和需求点 needs a network and demand (mzgis network …)"
        mins = ctx.minutes_to_nearest(ind.kinds)
        w = ctx.demand[p.get("weight", "households")].astype(float).to_numpy()
        cov = np.isfinite(mins.to_numpy()) & (mins.to_numpy() <= float(p.get("minutes", 15)) + 1e-9)
        tot = w.sum()
        return (100.0 * w[cov].sum() / tot if tot > 0 else np.nan), f"{w[cov].sum():.0f}/{tot:.0f}"
    if m in ("area_per_100_households", "area_standard_pass"):
        com = ctx.units.get("community")
        if com is None or com.empty:
            return np.nan, "没有社区层 no community layer"
        f = _facilities(ctx, ind.kinds, statuses)
        hh = None
        if ctx.demand is not None and not ctx.demand.empty:
            from mzgis.analysis.coverage import assign_units

            where = assign_units(ctx.demand, {"community": com})
            if "community" in where:
                hh = ctx.demand["households"].groupby(where["community"].to_numpy()).sum()
        table = area_standard(com, f, households=hh, rules=ctx.area_rules)
        if m == "area_standard_pass":
            return 100.0 * float(table["passed"].mean()), f"{int(table['passed'].sum())}/{len(table)}"
        total_hh = table["households"].sum()
        return (100.0 * table["floor_area_m2"].sum() / total_hh if total_hh > 0 else np.nan), \
            f"{table['floor_area_m2'].sum():.0f} ㎡ / {total_hh:.0f} 户"
    if m == "per_1000":
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
    if m == "co_location":
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
    msg = f"indicator {ind.id}: unknown method {m!r}; use one of {', '.join(METHODS)}"
    raise ConfigError(msg)


def evaluate(indicators: Sequence[Indicator], ctx: IndicatorContext) -> pd.DataFrame:
    """Evaluate indicators.

    Returns
    -------
    pandas.DataFrame
        :data:`INDICATOR_COLUMNS` plus ``gap`` (actual − target; NaN when not computable),
        ``detail``, ``plan`` and ``name_en``; ``passed`` is None where the value could not be
        computed, and ``binding`` is 约束性 or 预期性.
    """
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


