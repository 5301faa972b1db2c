"""The assumptions of a run, in one place: every setting that moved a number (floors, persons
per household, elderly share, floor area per household; snapping, walking speed and threshold;
the access method and decay), said with how many demand points it was used for, so that every
command prints the same lines and the report writes them in its "what was counted" section.

A figure is *assumed* when a setting produced it, *counted* when the data gave it; the demand
points say which in their ``estimated`` column (:mod:`mzgis.analysis.demand`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mzgis.analysis.demand import DemandSettings

__all__ = ["Assumption", "demand_assumptions", "travel_assumptions"]


@dataclass(frozen=True)
class Assumption:
    """One assumption: what (Chinese and English), the value, and where it was used."""

    key: str
    label: str
    value: str
    scope: str = ""
    count: int = 0

    def __str__(self) -> str:
        return f"假设 assumed — {self.label}: {self.value}" + (f"（{self.scope}）" if self.scope else "")


def _used(dem: pd.DataFrame, key: str) -> pd.Series:
    if "estimated" not in dem or not len(dem):
        return pd.Series(False, index=dem.index)
    return dem["estimated"].fillna("").astype(str).str.split(";").apply(lambda parts: key in parts)


def demand_assumptions(dem: pd.DataFrame, settings: DemandSettings) -> list[Assumption]:
    """The demand settings that produced figures of ``dem`` (points of :mod:`mzgis.analysis.demand`).

    >>> import geopandas as gpd, shapely
    >>> from mzgis.analysis.demand import demand_from_layer
    >>> fp = gpd.GeoDataFrame({"feature_id": ["B1"]}, geometry=[shapely.box(0, 0, 30, 30)], crs="EPSG:32650")
    >>> for a in demand_assumptions(demand_from_layer(fp, "EPSG:32650"), DemandSettings()):
    ...     print(a.key, a.value, a.count)
    default_floors 3 层 floors 1
    floor_area_per_household 90 m²/户 per household 1
    persons_per_household 2.6 人/户 persons per household 1
    elderly_share 20% 1
    """
    n = len(dem)
    src = dem["source"].astype(str) if "source" in dem else pd.Series("", index=dem.index)
    raster = bool(n) and bool((src == "raster").all())
    out = []
    for key, label, value, what in (
            ("default_floors", "缺层数的建筑按 floors where a footprint has none", f"{settings.default_floors:g} 层 floors",
             "建筑轮廓 footprints"),
            ("floor_area_per_household", "每户建筑面积 floor area per household",
             f"{settings.floor_area_per_household_m2:g} m²/户 per household", "由轮廓面积估算户数 households "
             "estimated from footprint area"),
            ("persons_per_household", "每户人数 persons per household",
             f"{settings.persons_per_household:g} 人/户 persons per household",
             "人口或户数由此换算 residents or households converted with it"),
            ("elderly_share", "老年人口占比 elderly share", f"{100 * settings.elderly_share:g}%",
             "老年人口 = 人口 × 占比 elderly = residents × share")):
        used = int(_used(dem, key).sum())
        if used:
            scope = f"{what}: {used} / {n} 个需求点 demand points"
            if key == "elderly_share" and raster:
                scope += "; 栅格的老年人数全部为假设，不是统计数 not counted: every elderly figure of the raster is assumed"
            out.append(Assumption(key, label, value, scope, used))
    return out


def travel_assumptions(*, speed_m_per_min: float | None = None, threshold: str | None = None,
                       max_snap_m: float | None = None, snap_to: str | None = None,
                       method: str | None = None, decay: str | None = None) -> list[Assumption]:
    """The travel and method settings of a run, as assumptions (each only when given).

    >>> [str(a) for a in travel_assumptions(speed_m_per_min=66.7, max_snap_m=300, snap_to="main")]
    ['假设 assumed — 步行速度 walking speed: 66.7 m/min', '假设 assumed — 吸附规则 snapping rule: 离路网 ≤ 300 m 吸附到主路网 main network (更远的不计入 farther: not counted)']
    """
    out = []
    if speed_m_per_min is not None:
        out.append(Assumption("speed", "步行速度 walking speed", f"{speed_m_per_min:.1f} m/min"))
    if threshold:
        out.append(Assumption("threshold", "服务阈值 threshold", threshold))
    if max_snap_m is not None:
        net = {"main": "主路网 main network", "any": "任一路网片段 any piece of the network"}.get(str(snap_to), str(snap_to))
        out.append(Assumption("snapping", "吸附规则 snapping rule",
                              f"离路网 ≤ {max_snap_m:g} m 吸附到{net} (更远的不计入 farther: not counted)"))
    if method:
        out.append(Assumption("method", "可达性方法 access method", method))
    if decay:
        out.append(Assumption("decay", "距离衰减 distance decay", decay))
    return out
