"""Service-circle coverage (服务圈覆盖): households, residents and elderly within reach, per unit.

A demand point is *covered* at threshold ``T`` minutes when its network walking time to the
nearest facility of the kind is at most ``T``. Coverage is summed per community, subdistrict,
district and for the whole jurisdiction; each unit gets every demand point inside it (point in
polygon), and points outside every unit of a level are summed in an ``未归属 unassigned`` row, so
at every level covered + uncovered = total, and the units of a level add up to the jurisdiction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["COVERAGE_COLUMNS", "COVERAGE_COLUMNS_ZH", "assign_units", "coverage_table", "uncovered_units"]

COVERAGE_COLUMNS = ["unit_code", "unit_name", "level", "minutes", "households", "households_covered",
                    "population", "population_covered", "elderly", "elderly_covered", "share_covered"]

COVERAGE_COLUMNS_ZH = {
    "unit_code": "单位编码", "unit_name": "单位名称", "level": "层级", "minutes": "服务圈(分钟)",
    "households": "户数", "households_covered": "覆盖户数", "population": "常住人口",
    "population_covered": "覆盖人口", "elderly": "老年人口", "elderly_covered": "覆盖老年人口",
    "share_covered": "户数覆盖率", "facility_kind": "计入设施类型", "facility_status": "计入设施状态",
}

UNASSIGNED = "未归属 unassigned"


def assign_units(points: gpd.GeoDataFrame, units: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """The unit code of every point at every level (``None`` outside all units of the level).

    ``units`` maps a level name to a layer with ``feature_id`` and polygons; a point on a shared
    border goes to one unit only.
    """
    out = pd.DataFrame(index=points.index)
    for level, layer in units.items():
        if layer is None or layer.empty:
            continue
        lay = layer.to_crs(points.crs)[["feature_id", "geometry"]]
        j = gpd.sjoin(points[["geometry"]], lay, predicate="intersects", how="left")
        j = j[~j.index.duplicated(keep="first")]
        out[level] = j["feature_id"].reindex(points.index).astype(object).where(lambda s: s.notna(), None)
    return out


def coverage_table(
    demand: pd.DataFrame,
    minutes_to_nearest: pd.Series | np.ndarray,
    thresholds_min: Sequence[float],
    *,
    unit_of: pd.DataFrame,
    unit_names: Mapping[str, Mapping[str, str]],
    jurisdiction: tuple[str, str] = ("ALL", "辖区"),
) -> pd.DataFrame:
    """Coverage per unit and threshold.

    Parameters
    ----------
    demand
        ``households``, ``population``, ``elderly`` per point.
    minutes_to_nearest
        Walking minutes to the nearest facility, aligned with ``demand`` (NaN = not reached).
    unit_of
        From :func:`assign_units`: the unit code per level, aligned with ``demand``.
    unit_names
        ``{level: {code: name}}`` for every unit (units with no demand get zero rows).
    jurisdiction
        Code and name of the whole-jurisdiction row.

    Returns
    -------
    pandas.DataFrame
        :data:`COVERAGE_COLUMNS`, one row per unit and threshold, the jurisdiction first.
    """
    mins = np.asarray(minutes_to_nearest, dtype=float)
    w = demand[["households", "population", "elderly"]].astype(float).to_numpy()
    rows = []
    levels = [("jurisdiction", None)] + [(lv, lv) for lv in ("district", "subdistrict", "community") if lv in unit_of]
    for t in sorted(float(x) for x in thresholds_min):
        cov = np.isfinite(mins) & (mins <= t + 1e-9)
        wc = w * cov[:, None]
        for level, col in levels:
            if col is None:
                keys = pd.Series("__all__", index=demand.index)
                names = {"__all__": jurisdiction[1]}
                codes = {"__all__": jurisdiction[0]}
            else:
                keys = unit_of[col].fillna("__none__")
                names = {**unit_names.get(level, {}), "__none__": UNASSIGNED}
                codes = {k: k for k in names} | {"__none__": ""}
            tot = pd.DataFrame(w, index=demand.index, columns=["households", "population", "elderly"]).groupby(keys.to_numpy()).sum()
            cvd = pd.DataFrame(wc, index=demand.index, columns=["households", "population", "elderly"]).groupby(keys.to_numpy()).sum()
            all_keys = list(names) if col is not None else ["__all__"]
            if col is not None and "__none__" not in tot.index:
                all_keys.remove("__none__")
            tot = tot.reindex(all_keys, fill_value=0.0)
            cvd = cvd.reindex(all_keys, fill_value=0.0)
            for k in all_keys:
                hh, pop, eld = (float(v) for v in tot.loc[k].to_numpy(dtype=float))
                chh, cpop, celd = (float(v) for v in cvd.loc[k].to_numpy(dtype=float))
                share = chh / hh if hh > 0 else (cpop / pop if pop > 0 else np.nan)
                rows.append((codes.get(k, k), names.get(k, k), level, t, hh, chh, pop, cpop, eld, celd, share))
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def uncovered_units(table: pd.DataFrame, *, level: str = "community", minutes: float | None = None) -> pd.DataFrame:
    """Units of a level ranked by uncovered residents at a threshold (default: the largest)."""
    t = table[table["level"] == level]
    if t.empty:
        return t.assign(population_uncovered=[], households_uncovered=[], elderly_uncovered=[])
    m = float(minutes) if minutes is not None else float(t["minutes"].max())
    t = t[np.isclose(t["minutes"], m)].copy()
    t["population_uncovered"] = t["population"] - t["population_covered"]
    t["households_uncovered"] = t["households"] - t["households_covered"]
    t["elderly_uncovered"] = t["elderly"] - t["elderly_covered"]
    t = t[t["population_uncovered"] > 1e-9]
    return t.sort_values(["population_uncovered", "unit_code"], ascending=[False, True]).reset_index(drop=True)
