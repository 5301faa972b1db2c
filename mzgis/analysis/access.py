"""Capacity-aware accessibility: two-step floating catchment (2SFCA, E2SFCA) and gravity models.

Coverage asks "is there a station within 15 minutes?"; accessibility asks "how much supply (beds,
floor area, stations) can each resident reach, given everyone else who can reach it too?"
(每千名老年人养老床位数 and the like). The methods follow the definitions of PySAL's ``access``
package (``access.fca.two_stage_fca`` / ``weighted_catchment``), computed on the sparse
per-facility reach pairs of :func:`mzgis.analysis.reach.facility_pairs` — no dense cost matrix.

For facility ``j`` with supply ``S_j`` and demand point ``i`` with demand ``D_i`` at travel cost
``c_ij`` (minutes, or metres in distance mode) and a weight ``w(c)`` that is zero beyond the
threshold ``T``:

* step 1, the supply-to-demand ratio of each facility: ``R_j = S_j / Σ_i D_i w(c_ij)``;
* step 2, the accessibility of each demand point: ``A_i = Σ_j R_j w(c_ij)``.

``2sfca`` uses ``w = 1`` within ``T`` (Luo & Wang 2003); ``e2sfca`` a distance decay (Luo & Qi
2009) — ``gaussian`` ``exp(-c²/2σ²)`` with ``σ = T/2`` unless given (PySAL's
``weights.gaussian``, ``f(0) = 1``; note that Dai (2010) rescales the Gaussian to reach 0 at
``T``, which this does not), ``linear`` ``1 - c/T``, or ``step:5,10,15`` (PySAL's ``step_fn``:
the weight of the first break ``≥ c``; three breaks default to Luo & Qi's 1, 0.68, 0.22, or give
them as ``step:5=1,10=0.6,15=0.2``); ``gravity`` is the competition-adjusted gravity model
(Joseph & Bantock 1982, Wang 2012) — the same two steps with the power decay
``(max(c, c_min)/T)^-β`` (PySAL's ``weights.gravity(scale=T, alpha=-β, min_dist=c_min)``; ``β``
default 1, ``c_min`` default ``T/20``), written ``power:β`` or ``power:β:c_min``.

Differences from PySAL ``access`` (stated so results can be compared): a demand point that reaches
no facility gets 0 here (PySAL: missing/NaN); a facility whose reachable weighted demand is 0 gets
``R_j = 0`` here (PySAL: ``inf`` or dropped); values are reported per 1,000 residents/elderly or
per 100 households (PySAL: per unit of demand) — the column name says which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mzgis.analysis import _guards as guard
from mzgis.analysis.reach import facility_pairs, nearest_facility, points_xy
from mzgis.analysis.snapping import SegmentIndex, SnapTo
from mzgis.errors import LayerError
from mzgis.layers.network import RoadGraph

__all__ = [
    "DEMAND_FIELDS",
    "METHODS",
    "SUPPLY_FIELDS",
    "AccessResult",
    "AccessSummary",
    "Measure",
    "access_by_unit",
    "access_summary",
    "accessibility",
    "decay_function",
    "measure",
    "two_step",
]

log = logging.getLogger(__name__)

METHODS = ("2sfca", "e2sfca", "gravity")
SUPPLY_FIELDS = {"beds": "床位数", "floor_area_m2": "建筑面积(㎡)", "count": "设施数"}
DEMAND_FIELDS = {"elderly": "名老年人", "population": "名常住人口", "households": "户"}
Mode = Literal["minutes", "distance"]
#: The threshold when none is given: the 15-minute life circle.
DEFAULT_THRESHOLD_MIN = 15.0


class AccessOptions(TypedDict, total=False):
    """What :func:`accessibility` measures and how, for functions that pass it on (as
    :func:`~mzgis.analysis.scenarios.compare_scenarios` does); the defaults are :func:`accessibility`'s."""

    supply: str
    demand_field: str
    method: str
    decay: str | None
    threshold: float
    mode: Mode
    speed_m_per_min: float
    max_snap_m: float

Weight = Callable[[NDArray[np.float64]], NDArray[np.float64]]

#: Luo & Qi (2009) E2SFCA weights of three travel-time zones (PySAL's default too)
LUO_QI_WEIGHTS = (1.0, 0.68, 0.22)


@dataclass(frozen=True)
class Measure:
    """What an access value means: ``supply`` per ``scale`` units of ``demand_field``."""

    supply: str
    demand_field: str
    scale: float

    @property
    def name(self) -> str:
        """E.g. ``beds_per_1000_elderly``."""
        return f"{'facilities' if self.supply == 'count' else self.supply}_per_{self.scale:g}_{self.demand_field}"

    @property
    def label_zh(self) -> str:
        """E.g. ``每千名老年人床位数``."""
        per = "千" if self.scale == 1000 else "百"
        return f"每{per}{DEMAND_FIELDS[self.demand_field]}{SUPPLY_FIELDS[self.supply]}"


def measure(supply: str, demand_field: str) -> Measure:
    """The measure of ``supply`` per 1,000 residents/elderly or per 100 households (每百户)."""
    if supply not in SUPPLY_FIELDS:
        msg = f"不认识的供给 unknown --supply '{supply}'; use one of {', '.join(SUPPLY_FIELDS)}"
        raise LayerError(msg)
    if demand_field not in DEMAND_FIELDS:
        msg = f"不认识的需求 unknown --demand-field '{demand_field}'; use one of {', '.join(DEMAND_FIELDS)}"
        raise LayerError(msg)
    return Measure(supply, demand_field, 100.0 if demand_field == "households" else 1000.0)


def _num(text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not np.isfinite(v) or v < 0:
        msg = f"--decay {spec}: '{text}' 不是非负数 is not a non-negative number"
        raise LayerError(msg)
    return v


def decay_function(spec: str | None, *, threshold: float, method: str = "e2sfca") -> tuple[Weight, str]:
    """The weight ``w(c)`` of a decay spec, zero beyond ``threshold``, and a description of it.

    ``spec``: ``None`` (the method's default: none for ``2sfca``, ``gaussian`` for ``e2sfca``,
    ``power:1`` for ``gravity``), ``gaussian[:σ]``, ``linear``, ``step:b1,b2,…`` or
    ``step:b1=w1,b2=w2,…``, ``power:β[:c_min]``. Costs and breaks are in the threshold's unit.

    Examples
    --------
    Luo & Qi's three zones: full weight up to 5 minutes, 0.68 up to 10, 0.22 up to 15, none
    beyond (a cost exactly on a break belongs to the nearer zone):

    >>> w, desc = decay_function("step:5,10,15", threshold=15)
    >>> w(np.array([0.0, 5.0, 5.5, 10.0, 15.0, 15.5])).tolist()
    [1.0, 1.0, 0.68, 0.68, 0.22, 0.0]
    """
    if method not in METHODS:
        msg = f"不认识的方法 unknown --method '{method}'; use one of {', '.join(METHODS)}"
        raise LayerError(msg)
    if not (np.isfinite(threshold) and threshold > 0):
        msg = f"阈值必须为正 the threshold must be positive, got {threshold}"
        raise LayerError(msg)
    t = float(threshold)
    if method == "2sfca":
        if spec not in (None, "", "none"):
            msg = f"--method 2sfca 不用衰减 takes no decay (got --decay {spec}); use --method e2sfca"
            raise LayerError(msg)
        return (lambda c: np.where(np.asarray(c) <= t, 1.0, 0.0)), f"无衰减 none (1 within {t:g})"
    if spec in (None, "", "none"):
        spec = "power:1" if method == "gravity" else "gaussian"
    name, _, arg = spec.partition(":")
    if name == "gaussian":
        return _gaussian_decay(spec, arg, t)
    if name == "linear" and not arg:
        return (lambda c: np.where(np.asarray(c) <= t, np.clip(1.0 - np.asarray(c) / t, 0.0, 1.0), 0.0),
                f"线性 linear 1 - c/{t:g}")
    if name == "step" and arg:
        return _step_decay(spec, arg, t)
    if name == "power":
        return _power_decay(spec, arg, t)
    msg = (f"不认识的衰减 unknown --decay '{spec}'; use gaussian[:SIGMA], linear, step:5,10,15 "
           "(or step:5=1,10=0.68,15=0.22) or power:BETA[:MIN_COST]")
    raise LayerError(msg)


def _gaussian_decay(spec: str, arg: str, t: float) -> tuple[Weight, str]:
    """``gaussian[:σ]`` on its own, so σ's default (half the threshold) and check sit with its formula."""
    sigma = _num(arg, spec) if arg else t / 2.0
    if sigma == 0:
        msg = f"--decay {spec}: σ 必须为正 sigma must be positive"
        raise LayerError(msg)
    return (lambda c: np.where(np.asarray(c) <= t, np.exp(-np.square(c) / (2.0 * sigma**2)), 0.0),
            f"高斯 gaussian exp(-c²/2σ²), σ={sigma:g}")


def _step_breaks(spec: str, arg: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The breaks and weights of ``step:…`` (explicit ``b=w`` or defaulted), apart from their ordering checks."""
    parts = [p.strip() for p in arg.split(",") if p.strip()]
    explicit = all("=" in p for p in parts)
    if any("=" in p for p in parts) and not explicit:
        msg = f"--decay {spec}: 要么全部给权重 give a weight for every break (step:5=1,10=0.68,15=0.22) or none"
        raise LayerError(msg)
    if explicit:
        breaks = np.array([_num(p.split("=", 1)[0], spec) for p in parts])
        ws = np.array([_num(p.split("=", 1)[1], spec) for p in parts])
    else:
        breaks = np.array([_num(p, spec) for p in parts])
        if len(breaks) == 1:
            ws = np.array([1.0])
        elif len(breaks) == 3:
            ws = np.array(LUO_QI_WEIGHTS)
        else:
            msg = (f"--decay {spec}: {len(breaks)} 个分段需给出权重 give the weights for {len(breaks)} breaks, "
                   "e.g. step:5=1,10=0.6,15=0.2 (three breaks default to Luo & Qi 1, 0.68, 0.22)")
            raise LayerError(msg)
    return breaks, ws


def _step_decay(spec: str, arg: str, t: float) -> tuple[Weight, str]:
    """``step:…`` on its own: the most branching decay, checked against the threshold here."""
    breaks, ws = _step_breaks(spec, arg)
    if np.any(np.diff(breaks) <= 0):
        msg = f"--decay {spec}: 分段须递增 the breaks must increase"
        raise LayerError(msg)
    if breaks[-1] > t * (1 + 1e-12):
        msg = f"--decay {spec}: 最大分段 the last break {breaks[-1]:g} exceeds the threshold {t:g}"
        raise LayerError(msg)
    table = np.append(ws, 0.0)

    def step(c: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = np.asarray(table[np.searchsorted(breaks, np.asarray(c), side="left")],
                                              dtype=float)
        return out

    desc = ", ".join(f"≤{b:g}:{w:g}" for b, w in zip(breaks, ws, strict=True))
    return step, f"分段 step {desc}"


def _power_decay(spec: str, arg: str, t: float) -> tuple[Weight, str]:
    """``power:β[:c_min]`` on its own, so its argument parsing and defaults sit with its formula."""
    bits = arg.split(":") if arg else []
    beta = _num(bits[0], spec) if bits else 1.0
    cmin = _num(bits[1], spec) if len(bits) > 1 else t / 20.0
    if len(bits) > 2 or cmin <= 0:
        msg = f"--decay {spec}: 应为 expected power:BETA or power:BETA:MIN_COST (MIN_COST > 0)"
        raise LayerError(msg)
    return (lambda c: np.where(np.asarray(c) <= t, np.power(np.maximum(c, cmin) / t, -beta), 0.0),
            f"幂函数 power (max(c,{cmin:g})/{t:g})^-{beta:g}")


def two_step(fac: NDArray[np.int64], dem: NDArray[np.int64], cost: NDArray[np.float64], *,
             supply: NDArray[np.float64], demand: NDArray[np.float64], weight: Weight,
             ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The two floating-catchment steps on sparse pairs.

    Parameters
    ----------
    fac, dem, cost
        One entry per (facility, demand point) pair within the threshold, as indices into
        ``supply`` and ``demand``, and the travel cost.
    weight
        ``w(c)``, e.g. from :func:`decay_function`.

    Returns
    -------
    tuple
        ``(access, ratio, supply_reachable, demand_reachable)``: per demand point ``A_i`` and
        ``Σ_j S_j w_ij``; per facility ``R_j`` (0 where nobody is within reach) and
        ``Σ_i D_i w_ij``.

    Examples
    --------
    One home of 10 beds reached by two points of 30 and 10 elderly: ``R = 10 / 40``, and each
    point's access is ``R`` (the third point reaches nothing):

    >>> a, r, _, _ = two_step(np.array([0, 0]), np.array([0, 1]), np.array([3.0, 8.0]), supply=np.array([10.0]),
    ...                       demand=np.array([30.0, 10.0, 5.0]), weight=lambda c: np.ones_like(c))
    >>> a.tolist(), r.tolist()
    ([0.25, 0.25, 0.0], [0.25])
    """
    s = np.asarray(supply, dtype=float)
    d = np.asarray(demand, dtype=float)
    w = np.asarray(weight(np.asarray(cost, dtype=float)), dtype=float)
    dem_w = np.bincount(fac, weights=d[dem] * w, minlength=s.size).astype(float)
    ratio = np.divide(s, dem_w, out=np.zeros_like(s), where=dem_w > 0)
    access = np.bincount(dem, weights=ratio[fac] * w, minlength=d.size).astype(float)
    reach = np.bincount(dem, weights=s[fac] * w, minlength=d.size).astype(float)
    return access, ratio, reach, dem_w


def _supply_values(facilities: pd.DataFrame, supply: str, facility_id: str) -> NDArray[np.float64]:
    if supply == "count":
        return np.ones(len(facilities))
    if supply not in facilities:
        msg = (f"设施图层没有 the facilities have no '{supply}' field ({SUPPLY_FIELDS[supply]}); "
               "import it (e.g. a 床位数 column) or use --supply count")
        raise LayerError(msg)
    v = pd.to_numeric(facilities[supply], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        ids = pd.Series(facilities.get(facility_id, facilities.index)).astype(str).to_numpy()[bad]
        msg = (f"{int(bad.sum())} 个设施缺少或有误的 facilities lack a valid '{supply}' ({SUPPLY_FIELDS[supply]}): "
               f"{', '.join(ids[:20])}{' …' if bad.sum() > 20 else ''}; fill it in and re-import, "
               "or use --supply count")
        raise LayerError(msg)
    return v


def _demand_values(demand: pd.DataFrame, field: str) -> NDArray[np.float64]:
    if field not in demand:
        msg = f"需求点没有 the demand points have no '{field}' field; use --demand-field elderly|population|households"
        raise LayerError(msg)
    v = pd.to_numeric(demand[field], errors="coerce").to_numpy(dtype=float)
    v = np.where(np.isfinite(v), v, 0.0)
    if (v < 0).any():
        msg = f"需求点的 '{field}' 有负值 demand field '{field}' has negative values"
        raise LayerError(msg)
    return v


@dataclass
class AccessResult:
    """The answer of :func:`accessibility`.

    Attributes
    ----------
    demand
        Index-aligned with the demand layer: ``demand_id``, ``demand`` (the demand field),
        ``access`` (in :attr:`measure` units, 0 where nothing is within reach), ``supply_reachable``
        (``Σ_j S_j w_ij``), ``cost_to_nearest`` (minutes or metres; NaN beyond the threshold) and
        ``snapped``.
    facilities
        Index-aligned with the facility layer: ``facility_id``, ``supply``, ``demand_reachable``
        (``Σ_i D_i w_ij``), ``ratio`` (``R_j`` in measure units) and ``snapped``.
    pairs
        ``facility`` and ``demand`` (row positions), ``cost`` and ``weight`` of every pair within
        the threshold.
    """

    demand: pd.DataFrame
    facilities: pd.DataFrame
    pairs: pd.DataFrame
    measure: Measure
    method: str
    decay: str
    threshold: float
    mode: Mode
    speed_m_per_min: float
    snap_to: str = "main"
    notes: list[str] = field(default_factory=list)

    @property
    def threshold_label(self) -> str:
        """E.g. ``15 分钟 min`` or ``1000 m 步行距离 walking distance``."""
        if self.mode == "distance":
            return f"{self.threshold:g} m 步行距离 walking distance"
        return f"{self.threshold:g} 分钟 min ({self.speed_m_per_min:.1f} m/min)"


def accessibility(
    graph: RoadGraph,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    supply: str = "beds",
    demand_field: str = "elderly",
    method: str = "e2sfca",
    decay: str | None = None,
    threshold: float = DEFAULT_THRESHOLD_MIN,
    mode: Mode = "minutes",
    speed_m_per_min: float = 4000.0 / 60.0,
    max_snap_m: float = 300.0,
    facility_id: str = "feature_id",
    demand_id: str = "demand_id",
    index: SegmentIndex | None = None,
    snap_to: SnapTo = "main",
) -> AccessResult:
    """Accessibility of every demand point to a facility layer's supply over the road network.

    ``threshold`` is in minutes (``mode="minutes"``, at ``speed_m_per_min``) or metres of walking
    distance (``mode="distance"``, e.g. the GB 50180-2018 life-circle distances). Facilities and
    demand points are snapped as in :func:`mzgis.analysis.reach.network_reach`; points too far
    from the network take no part (their access is 0, ``snapped`` False). Writes nothing.
    Both layers need a CRS and the graph a projected one; each layer is reprojected to the graph's
    CRS, so the two need not share one.
    """
    guard.layer_crs(facilities, "facilities")
    guard.layer_crs(demand, "demand")
    guard.projected(graph.crs, "graph.crs")
    speed_m_per_min = guard.positive(speed_m_per_min, "speed_m_per_min", unit="m/min")
    max_snap_m = guard.positive(max_snap_m, "max_snap_m", unit="m")
    if mode not in ("minutes", "distance"):
        msg = f"mode must be 'minutes' or 'distance', got {mode!r}"
        raise LayerError(msg)
    ms = measure(supply, demand_field)
    weight, desc = decay_function(decay, threshold=threshold, method=method)
    s = _supply_values(facilities, supply, facility_id)
    dv = _demand_values(demand, demand_field)
    per_unit = 1.0 if mode == "distance" else float(speed_m_per_min)
    limit_m = float(threshold) * per_unit
    idx = index or SegmentIndex.shared(graph, snap_to=snap_to)
    fx, fy = points_xy(facilities, graph.crs)
    dx, dy = points_xy(demand, graph.crs)
    fs = idx.snap(fx, fy, max_distance_m=max_snap_m)
    ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
    f_ok, d_ok = np.flatnonzero(fs.ok), np.flatnonzero(ds.ok)
    pf, pdm, dist = facility_pairs(graph, fs.take(f_ok), ds.take(d_ok), limit_m=limit_m)
    fac_i, dem_i, cost = f_ok[pf], d_ok[pdm], dist / per_unit
    access, ratio, reach, dem_w = two_step(fac_i, dem_i, cost, supply=s, demand=dv, weight=weight)
    near, _ = nearest_facility(graph, fs.take(f_ok), ds.take(d_ok), limit_m=limit_m)
    nearest = np.full(len(demand), np.nan)
    nearest[d_ok] = np.where(np.isfinite(near), near / per_unit, np.nan)
    did = pd.Series(demand.get(demand_id, demand.index)).astype(str).to_numpy()
    fid = pd.Series(facilities.get(facility_id, facilities.index)).astype(str).to_numpy()
    dem_df = pd.DataFrame({"demand_id": did, "demand": dv, "access": access * ms.scale, "supply_reachable": reach,
                           "cost_to_nearest": nearest, "snapped": ds.ok}, index=demand.index)
    fac_df = pd.DataFrame({"facility_id": fid, "supply": s, "demand_reachable": dem_w, "ratio": ratio * ms.scale,
                           "snapped": fs.ok}, index=facilities.index)
    pairs = pd.DataFrame({"facility": fac_i, "demand": dem_i, "cost": cost, "weight": weight(cost)})
    notes = []
    if (~fs.ok).any():
        notes.append(f"{int((~fs.ok).sum())} 个设施离路网过远未计入 facilities too far from the network were left out: "
                     + ", ".join(fid[~fs.ok][:20]))
    if (~ds.ok).any():
        notes.append(f"{int((~ds.ok).sum())} 个需求点离路网过远，可达性记为 0 demand points too far from the network "
                     "count with access 0")
    return AccessResult(dem_df, fac_df, pairs, ms, method, desc, float(threshold), mode, float(speed_m_per_min),
                        snap_to=idx.snap_to, notes=notes)


def _weighted_mean(v: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    tot = float(w.sum())
    return float((v * w).sum() / tot) if tot > 0 else float("nan")


def access_by_unit(
    result: AccessResult,
    unit_of: pd.DataFrame,
    *,
    unit_names: Mapping[str, Mapping[str, str]],
    jurisdiction: tuple[str, str] = ("ALL", "辖区"),
    target: float | None = None,
) -> pd.DataFrame:
    """Accessibility per unit (demand-weighted mean), with equity figures.

    Columns: ``level, unit_code, unit_name, demand, access`` (demand-weighted mean of the points'
    access; NaN without demand), ``supply_reachable`` (total supply of the distinct facilities
    within the threshold of any of the unit's demand points, unweighted), ``facilities_reachable``,
    ``share_below_target`` (share of the unit's demand whose access is below ``target``; NaN
    without a target) and ``gini`` (demand-weighted Gini of access inside the unit). Points
    outside every unit of a level are summed in an ``未归属 unassigned`` row.
    """
    from mzgis.analysis.coverage import UNASSIGNED
    from mzgis.analysis.equity import gini, share_below

    d = result.demand
    v = d["access"].to_numpy(dtype=float)
    w = d["demand"].to_numpy(dtype=float)
    pos = pd.Series(np.arange(len(d)), index=d.index)
    pf = result.pairs["facility"].to_numpy()
    pdm = result.pairs["demand"].to_numpy()
    supply = result.facilities["supply"].to_numpy(dtype=float)
    rows: list[dict[str, Any]] = []

    def row(level: str, code: str, name: str, members: NDArray[np.int64],
            facs: NDArray[np.int64]) -> dict[str, Any]:
        return {"level": level, "unit_code": code, "unit_name": name, "demand": float(w[members].sum()),
                "access": _weighted_mean(v[members], w[members]),
                "supply_reachable": float(supply[facs].sum()), "facilities_reachable": int(facs.size),
                "share_below_target": share_below(v[members], w[members], target) if target is not None else np.nan,
                "gini": gini(v[members], w[members])}

    rows.append(row("jurisdiction", jurisdiction[0], jurisdiction[1], np.arange(len(d)), np.unique(pf)))
    empty = np.empty(0, dtype=np.int64)
    for level in ("district", "subdistrict", "community"):
        if level not in unit_of.columns:
            continue
        codes = unit_of[level].reindex(d.index).fillna("\0").astype(str).to_numpy()
        groups = pos.groupby(codes).apply(lambda s: s.to_numpy())
        # distinct (unit, facility) pairs once for the whole level, not one scan of the pairs per unit
        uf = pd.DataFrame({"unit": codes[pdm], "facility": pf}).drop_duplicates()
        facs_of = uf.groupby("unit")["facility"].apply(lambda s: s.to_numpy())
        names = unit_names.get(level, {})
        for code in list(names) + [c for c in groups.index if c != "\0" and c not in names]:
            members = groups[code] if code in groups.index else empty
            facs = facs_of[code] if code in facs_of.index else empty
            rows.append(row(level, str(code), str(names.get(code, code)), members, facs))
        if "\0" in groups.index:
            rows.append(row(level, "", UNASSIGNED, groups["\0"], facs_of["\0"] if "\0" in facs_of.index else empty))
    return pd.DataFrame(rows)


@dataclass
class AccessSummary:
    """Accessibility per demand point and per unit with its equity figures (:func:`access_summary`).

    Attributes
    ----------
    points
        Per demand point: ``demand_id``, its unit per level, ``demand``, ``access``,
        ``supply_reachable``, ``cost_to_nearest``, ``snapped``.
    by_unit
        :func:`access_by_unit`.
    worst
        The worst-served units of ``worst_level`` (:func:`~mzgis.analysis.equity.worst_served`).
    gini
        Demand-weighted Gini of access over the jurisdiction.
    share_below
        Share of demand below the target (NaN without a target).
    lorenz
        The jurisdiction's Lorenz curve (:func:`~mzgis.analysis.equity.lorenz`).
    """

    points: pd.DataFrame
    by_unit: pd.DataFrame
    worst: pd.DataFrame
    gini: float
    share_below: float
    lorenz: pd.DataFrame


def access_summary(result: AccessResult, unit_of: pd.DataFrame, *, unit_names: Mapping[str, Mapping[str, str]],
                   jurisdiction: tuple[str, str] = ("ALL", "辖区"), target: float | None = None,
                   worst_level: str = "community") -> AccessSummary:
    """Summarise an :class:`AccessResult` per unit (``unit_of`` from
    :func:`~mzgis.analysis.coverage.assign_units`, aligned with the demand) with equity figures."""
    from mzgis.analysis.equity import gini, lorenz, share_below, worst_served

    by_unit = access_by_unit(result, unit_of, unit_names=unit_names, jurisdiction=jurisdiction, target=target)
    d = result.demand
    v, w = d["access"].to_numpy(), d["demand"].to_numpy()
    points = pd.concat([d[["demand_id"]], unit_of.reindex(d.index),
                        d[["demand", "access", "supply_reachable", "cost_to_nearest", "snapped"]]], axis=1)
    return AccessSummary(points=points, by_unit=by_unit, worst=worst_served(by_unit, level=worst_level),
                         gini=gini(v, w), share_below=share_below(v, w, target) if target is not None else float("nan"),
                         lorenz=lorenz(v, w))
