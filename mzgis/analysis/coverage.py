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

from mzgis.analysis import _guards as guard
from mzgis.errors import ParameterError

__all__ = ["COVERAGE_COLUMNS", "COVERAGE_COLUMNS_ZH", "TOLERANCE_MIN", "assign_units", "coverage_table",
           "uncovered_units"]

#: A point this much beyond a threshold still counts as within it: walking times are distances
#: divided by a speed (1000 m at 66.67 m/min), so "exactly 15 minutes" may come out a rounding
#: error above 15.
TOLERANCE_MIN = 1e-9

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

    ``units`` maps a level name to a layer with unique ``feature_id`` codes and polygons; a
    point on a shared border goes to one unit only. A unit layer in another CRS than the points
    is reprojected to theirs, with a :class:`~mzgis.errors.CrsMismatchWarning`.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(5, 5), shapely.Point(50, 5)], crs="EPSG:32650")
    >>> com = gpd.GeoDataFrame({"feature_id": ["C1"]}, geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:32650")
    >>> assign_units(pts, {"community": com})["community"].tolist()
    ['C1', None]
    """
    guard.layer_crs(points, "points")
    out = pd.DataFrame(index=points.index)
    for level, layer in units.items():
        if layer is None or layer.empty:
            continue
        name = f"units['{level}']"
        guard.layer_crs(layer, name)
        guard.require_columns(layer, ["feature_id"], name, fix="每个单位需要编码 every unit needs a code (feature_id)")
        guard.require_unique(layer, "feature_id", name)
        guard.warn_crs_mismatch(points.crs, layer.crs, "points", name)
        lay = layer.to_crs(points.crs)[["feature_id", layer.geometry.name]]
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

    A point is covered at threshold ``T`` when its minutes are at most ``T`` (``T`` itself
    included, to :data:`TOLERANCE_MIN`).

    Parameters
    ----------
    demand
        ``households``, ``population``, ``elderly`` per point.
    minutes_to_nearest
        Walking minutes to the nearest facility, aligned with ``demand`` (NaN = not reached).
    thresholds_min
        One or more positive thresholds in minutes.
    unit_of
        From :func:`assign_units`: the unit code per level, aligned with ``demand``.
    unit_names
        ``{level: {code: name}}`` for every unit (units with no demand get zero rows; a unit
        with demand missing from it is named by its code).
    jurisdiction
        Code and name of the whole-jurisdiction row.

    Returns
    -------
    pandas.DataFrame
        :data:`COVERAGE_COLUMNS`, one row per unit and threshold, the jurisdiction first.

    Examples
    --------
    Three compounds 4, 10 and 12 minutes from the nearest station; the one at exactly 10
    minutes is within the 10-minute circle:

    >>> import pandas as pd
    >>> dem = pd.DataFrame({"households": [10.0, 20, 30], "population": [26.0, 52, 78], "elderly": [5.0, 10, 15]})
    >>> t = coverage_table(dem, [4.0, 10.0, 12.0], [5, 10, 15], unit_of=pd.DataFrame(index=dem.index), unit_names={})
    >>> t[["minutes", "households_covered", "share_covered"]].to_numpy().round(3).tolist()
    [[5.0, 10.0, 0.167], [10.0, 30.0, 0.5], [15.0, 60.0, 1.0]]
    """
    guard.require_columns(demand, ["households", "population", "elderly"], "demand",
                          fix="用 demand_from_layer/demand_from_units 生成需求点 make the points with demand_from_layer")
    ths = guard.thresholds(thresholds_min)
    mins = np.asarray(minutes_to_nearest, dtype=float)
    if mins.shape != (len(demand),):
        msg = (f"minutes_to_nearest 与 demand 不对齐 must have one value per demand point: {mins.shape} vs "
               f"{len(demand)} points; pass network_reach(...).demand['minutes']")
        raise ParameterError(msg)
    if len(unit_of) != len(demand):
        msg = (f"unit_of 与 demand 不对齐 must have one row per demand point: {len(unit_of)} vs {len(demand)}; "
               "pass assign_units(demand, units)")
        raise ParameterError(msg)
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
    for t in ths:
        cov = reached & (mins <= t + TOLERANCE_MIN)
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

    Units are listed in ``unit_names`` order (units with no demand included), then the units
    that have demand but no name (named by their code, so the units of a level always add up to
    the jurisdiction), then the ``未归属 unassigned`` row when some point lies outside every unit
    of the level.
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
    unnamed = (pos < 0) & ~missing
    if unnamed.any():
        extra = pd.Index(values[unnamed].astype(object).to_numpy()).unique().sort_values()
        pos[unnamed] = len(codes) + np.asarray(extra.get_indexer(pd.Index(values[unnamed].astype(object).to_numpy())))
        codes += [str(c) for c in extra]
        names += [str(c) for c in extra]
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
