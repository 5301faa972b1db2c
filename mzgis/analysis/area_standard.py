"""Per-100-household floor-area standards for community service facilities (PLAN_REQUIREMENTS §2.5).

For every community the floor area (建筑面积) of its community comprehensive service facilities is
compared with the rule for its community type. A rule has a per-100-household rate and/or a
total-area floor; the required area is the larger of ``rate × households / 100`` and the floor.

Default rules (Chifeng plan [CF], 赤峰):

=====================================================  =================  ==========
community types                                        m² per 100 hh      total m²
=====================================================  =================  ==========
老旧城镇 (existing urban; also the default)             ≥ 30               ≥ 300
新建住宅小区 (new residential estates)                  ≥ 50               ≥ 500
苏木乡镇, 城中村, 城郊村 (township / urban village)       —                  ≥ 300
中心村, 传统农村, 牧区 (central / traditional villages)    —                  ≥ 150
=====================================================  =================  ==========

Rules are data: ``mzgis.toml`` may replace them with ``[[area_rules]]`` tables, e.g. the Chifeng
indicator's 35 m² per 100 households as the default rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.errors import ConfigError

__all__ = ["AREA_COLUMNS", "AREA_COLUMNS_ZH", "DEFAULT_RULES", "AreaRule", "area_standard", "rules_from_config"]


@dataclass(frozen=True)
class AreaRule:
    """One floor-area rule."""

    name: str
    community_types: tuple[str, ...]
    m2_per_100_households: float | None = None
    min_total_m2: float | None = None

    def required(self, households: float) -> float:
        """Required floor area for a community of ``households``."""
        rate = 0.0 if self.m2_per_100_households is None else self.m2_per_100_households * households / 100.0
        return max(rate, self.min_total_m2 or 0.0)


DEFAULT_RULES: tuple[AreaRule, ...] = (
    AreaRule("新建住宅小区 ≥50㎡/百户且≥500㎡", ("新建住宅小区", "新建小区", "new_estate"), 50.0, 500.0),
    AreaRule("苏木乡镇/城中村/城郊村 ≥300㎡", ("苏木乡镇", "城中村", "城郊村", "乡镇", "township"), None, 300.0),
    AreaRule("中心村/传统农村/牧区 ≥150㎡", ("中心村", "传统农村", "牧区", "村", "village"), None, 150.0),
    AreaRule("老旧城镇社区 ≥30㎡/百户且≥300㎡", ("老旧城镇", "城镇社区", "existing", "*"), 30.0, 300.0),
)

AREA_COLUMNS = ["unit_code", "unit_name", "community_type", "floor_area_m2", "households",
                "m2_per_100_households", "required_m2", "deficit_m2", "passed", "rule"]
AREA_COLUMNS_ZH = {
    "unit_code": "社区编码", "unit_name": "社区名称", "community_type": "社区类型", "floor_area_m2": "设施建筑面积(㎡)",
    "households": "户数", "m2_per_100_households": "每百户面积(㎡)", "required_m2": "应达面积(㎡)",
    "deficit_m2": "缺口(㎡)", "passed": "是否达标", "rule": "适用标准",
}


def rules_from_config(items: Sequence[Mapping[str, Any]] | None) -> tuple[AreaRule, ...]:
    """Rules from ``[[area_rules]]`` tables; the defaults when there are none."""
    if not items:
        return DEFAULT_RULES
    rules = []
    for i, it in enumerate(items):
        try:
            types = tuple(str(t) for t in it["community_types"])
            rate = it.get("m2_per_100_households")
            floor = it.get("min_total_m2")
            rules.append(AreaRule(str(it.get("name", f"rule {i + 1}")), types,
                                  None if rate is None else float(rate), None if floor is None else float(floor)))
        except (KeyError, TypeError, ValueError) as exc:
            msg = (f"mzgis.toml [[area_rules]] #{i + 1}: {exc!r}; each rule needs community_types = [...] and "
                   "m2_per_100_households and/or min_total_m2")
            raise ConfigError(msg) from exc
    if not any("*" in r.community_types for r in rules):
        msg = "mzgis.toml [[area_rules]]: one rule must have \"*\" in community_types (the default rule)"
        raise ConfigError(msg)
    return tuple(rules)


def _rule_for(ctype: str | None, rules: Sequence[AreaRule]) -> AreaRule:
    if ctype:
        for r in rules:
            if ctype in r.community_types:
                return r
        for r in rules:  # partial match: "城中村社区" → 城中村
            if any(t != "*" and t in ctype for t in r.community_types):
                return r
    return next(r for r in rules if "*" in r.community_types)


def area_standard(
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    households: pd.Series | None = None,
    rules: Sequence[AreaRule] = DEFAULT_RULES,
) -> pd.DataFrame:
    """Floor area per 100 households of each community against its rule.

    Parameters
    ----------
    communities
        Community polygons with ``feature_id``, ``name``, ``community_type`` and ``households``.
    facilities
        Community service facilities with ``floor_area_m2``; assigned to a community by
        ``community_code`` when it names one, else by location.
    households
        Households per community code, used where a community has no ``households`` value
        (e.g. summed from demand points).

    Returns
    -------
    pandas.DataFrame
        :data:`AREA_COLUMNS`, one row per community with the communities' index;
        ``m2_per_100_households`` is NaN for a community with no households.

    Examples
    --------
    An old urban community of 1,200 households needs max(30 × 12, 300) = 360 m²; its one
    centre of 400 m² passes. A new estate of 800 households needs max(50 × 8, 500) = 500 m²
    and has none:

    >>> import geopandas as gpd, shapely
    >>> com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["老城社区", "新苑社区"],
    ...                         "community_type": ["老旧城镇", "新建住宅小区"], "households": [1200, 800]},
    ...                        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
    ...                        crs="EPSG:32650", index=[10, 11])
    >>> fac = gpd.GeoDataFrame({"floor_area_m2": [400.0]}, geometry=[shapely.Point(50, 50)], crs="EPSG:32650")
    >>> t = area_standard(com, fac)
    >>> t[["unit_code", "required_m2", "floor_area_m2", "deficit_m2", "passed"]]
       unit_code  required_m2  floor_area_m2  deficit_m2  passed
    10        C1        360.0          400.0         0.0    True
    11        C2        500.0            0.0       500.0   False
    """
    guard.layer_crs(communities, "communities")
    guard.require_columns(communities, ["feature_id"], "communities",
                          fix="每个社区需要编码 every community needs a code (feature_id)")
    guard.require_unique(communities, "feature_id", "communities")
    if len(facilities):
        guard.layer_crs(facilities, "facilities")
        guard.require_columns(facilities, ["floor_area_m2"], "facilities",
                              fix="导入时映射建筑面积字段 map the 建筑面积 column to floor_area_m2 when importing")
        guard.warn_crs_mismatch(communities.crs, facilities.crs, "communities", "facilities")
    com = communities.reset_index(drop=True)
    codes = com["feature_id"].astype(str)
    fac = facilities.to_crs(com.crs) if len(facilities) else facilities
    area = pd.Series(0.0, index=codes.to_numpy())
    if len(fac):
        fa = pd.to_numeric(fac["floor_area_m2"], errors="coerce").fillna(0.0).to_numpy()
        named = fac["community_code"].astype(object).where(fac["community_code"].notna(), None) \
            if "community_code" in fac else pd.Series([None] * len(fac))
        named = named.map(lambda v: str(v) if v is not None and str(v) in set(codes) else None)
        j = gpd.sjoin(fac[["geometry"]].reset_index(drop=True), com[["geometry"]].assign(code=codes),
                      predicate="intersects", how="left")
        j = j[~j.index.duplicated(keep="first")]
        where = named.reset_index(drop=True).fillna(j["code"].reset_index(drop=True))
        sums = pd.Series(fa).groupby(where.to_numpy()).sum()
        area = area.add(sums, fill_value=0.0).reindex(codes.to_numpy(), fill_value=0.0)
    hh = pd.to_numeric(com.get("households"), errors="coerce") if "households" in com else pd.Series(np.nan, index=com.index)
    hh = pd.Series(hh.to_numpy(), index=codes.to_numpy())
    if households is not None:
        hh = hh.fillna(households.reindex(codes.to_numpy()))
    rows = []
    for i, code in enumerate(codes):
        ctype = com.at[i, "community_type"] if "community_type" in com else None
        ctype = None if ctype is None or (isinstance(ctype, float) and np.isnan(ctype)) else str(ctype)
        rule = _rule_for(ctype, rules)
        h: float = float(hh.iloc[i]) if pd.notna(hh.iloc[i]) else 0.0
        a = float(area.iloc[i])
        req = rule.required(h)
        per100 = a / h * 100.0 if h > 0 else np.nan
        rows.append((code, com.at[i, "name"] if "name" in com else code, ctype or "", a, h, per100, req,
                     max(0.0, req - a), bool(a >= req - 1e-9), rule.name))
    return pd.DataFrame(rows, columns=AREA_COLUMNS, index=communities.index)
