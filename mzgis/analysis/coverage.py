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
    reached = np.isfinite(mins)
    # Each level's units are numbered once (0..n-1, then the unassigned row) and summed with
    # one bincount per column: a per-unit Python loop took seconds at city scale (10k units).
    groups = [_level_groups("jurisdiction", None, unit_of, unit_names, jurisdiction, len(mins))]
    groups += [_level_groups(lv, lv, unit_of, unit_names, jurisdiction, len(mins))
               for lv in ("district", "subdistrict", "community") if lv in unit_of]
    # per level: the points inside a listed unit, their weights and the totals (threshold-free)
    sums = []
    for level, pos, codes, names in groups:
        keep = pos >= 0
        pk, wk = pos[keep], w[keep]
        tot = [np.bincount(pk, weights=wk[:, j], minlength=len(codes)) for j in range(3)]
        sums.append((level, keep, pk, wk, tot, codes, names))
    frames = []
    for t in sorted(float(x) for x in thresholds_min):
        cov = reached & (mins <= t + 1e-9)
        for level, keep, pk, wk, tot, codes, names in sums:
            ck = cov[keep]
            cvd = [np.bincount(pk, weights=wk[:, j] * ck, minlength=len(codes)) for j in range(3)]
            hh, chh = tot[0], cvd[0]
            pop, cpop = tot[1], cvd[1]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(hh > 0, chh / hh, np.where(pop > 0, cpop / pop, np.nan))
            frames.append(pd.DataFrame({
                "unit_code": codes, "unit_name": names, "level": level, "minutes": t,
                "households": hh, "households_covered": chh, "population": pop, "population_covered": cpop,
                "elderly": tot[2], "elderly_covered": cvd[2], "share_covered": share}))
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COVERAGE_COLUMNS]


def _level_groups(level: str, col: str | None, unit_of: pd.DataFrame, unit_names: Mapping[str, Mapping[str, str]],
                  jurisdiction: tuple[str, str], n_points: int) -> tuple[str, np.ndarray, list[str], list[str]]:
    """``(level, position of each point's unit or -1, unit codes, unit names)`` for one level.

    Units are listed in ``unit_names`` order (units with no demand included), followed by the
    ``未归属 unassigned`` row when some point lies outside every unit of the level; a point whose
    unit is not in ``unit_names`` is left out (-1).
    """
    if col is None:
        return level, np.zeros(n_points, dtype=np.int64), [jurisdiction[0]], [jurisdiction[1]]
    known = dict(unit_names.get(level, {}))
    codes = list(known)
    names = [known[k] for k in codes]
    values = unit_of[col]
    missing = values.isna().to_numpy()
    pos = np.asarray(pd.Index(codes, dtype=object).get_indexer(pd.Index(values.astype(object).to_numpy())), dtype=np.int64)
    pos[missing] = -1
    if missing.any():
        pos[missing] = len(codes)
        codes.append("")
        names.append(UNASSIGNED)
    return level, pos, codes, names


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
