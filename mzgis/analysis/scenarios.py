"""Scenarios side by side: coverage and accessibility per unit for several facility sets.

A scenario is a name and the facilities it counts, e.g. ``today`` (建成运营), ``planned`` (adds 在建
and 规划) and ``proposed`` (adds the sites proposed by ``mzgis site``). The first scenario is the
baseline: every other gets its change against it, and the demand points it newly covers. When a
scenario's facilities include the baseline's, coverage cannot fall (the nearest facility can only get
nearer) and neither can 2SFCA-family access (a new facility adds ``R_j w_ij ≥ 0`` to the points
around it and leaves every other ratio unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Unpack

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis.access import (
    DEFAULT_THRESHOLD_MIN,
    SUPPLY_FIELDS,
    AccessOptions,
    AccessResult,
    access_by_unit,
    accessibility,
)
from mzgis.analysis.coverage import coverage_table
from mzgis.analysis.snapping import SegmentIndex, SnapTo
from mzgis.errors import LayerError
from mzgis.layers.network import RoadGraph
from mzgis.layers.schemas import OPERATING, SCENARIO_STATUSES

__all__ = ["ScenarioComparison", "compare_scenarios", "scenario_facilities"]


@dataclass
class ScenarioComparison:
    """The answer of :func:`compare_scenarios`.

    Attributes
    ----------
    table
        One row per unit: ``level, unit_code, unit_name, households``, then per scenario ``s``
        ``facilities_<s>, households_covered_<s>, share_covered_<s>, access_<s>``, and for every
        scenario but the baseline ``households_covered_change_<s>`` and ``access_change_<s>``.
    newly_covered
        Per non-baseline scenario, the demand points covered in it but not in the baseline.
    results
        Per scenario, the full :class:`AccessResult`.
    """

    table: pd.DataFrame
    newly_covered: dict[str, gpd.GeoDataFrame]
    results: dict[str, AccessResult]
    covered: dict[str, np.ndarray]

    def equity(self) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
        """Per scenario, the Lorenz curve and the Gini of access (demand-weighted)."""
        from mzgis.analysis.equity import gini, lorenz

        curves, ginis = {}, {}
        for s, r in self.results.items():
            v, w = r.demand["access"].to_numpy(), r.demand["demand"].to_numpy()
            curves[s], ginis[s] = lorenz(v, w), gini(v, w)
        return curves, ginis


def compare_scenarios(
    graph: RoadGraph,
    scenarios: Mapping[str, gpd.GeoDataFrame],
    demand: gpd.GeoDataFrame,
    *,
    unit_of: pd.DataFrame,
    unit_names: Mapping[str, Mapping[str, str]],
    jurisdiction: tuple[str, str] = ("ALL", "辖区"),
    snap_to: SnapTo = "main",
    **options: Unpack[AccessOptions],
) -> ScenarioComparison:
    """Coverage (households within ``threshold``) and accessibility per unit for each scenario.

    ``scenarios`` maps a name to its facilities (the first is the baseline); ``demand`` has
    ``demand_id``, ``households``, ``population``, ``elderly``. ``options`` (supply, demand_field,
    method, decay, threshold, mode, speed_m_per_min, max_snap_m) are :func:`accessibility`'s, the
    same for every scenario. Writes nothing.
    """
    if not scenarios:
        msg = "compare_scenarios needs at least one scenario"
        raise ValueError(msg)
    threshold = options.get("threshold", DEFAULT_THRESHOLD_MIN)
    index = SegmentIndex.shared(graph, snap_to=snap_to)
    names = list(scenarios)
    results: dict[str, AccessResult] = {}
    covered: dict[str, np.ndarray] = {}
    merged: pd.DataFrame | None = None
    for s in names:
        res = accessibility(graph, scenarios[s], demand, index=index, **options)
        results[s] = res
        cost = res.demand["cost_to_nearest"]
        covered[s] = (cost <= threshold).to_numpy()
        cov = coverage_table(demand, cost, [threshold], unit_of=unit_of, unit_names=unit_names,
                             jurisdiction=jurisdiction)
        acc = access_by_unit(res, unit_of, unit_names=unit_names, jurisdiction=jurisdiction)
        part = cov[["level", "unit_code", "unit_name", "households", "households_covered", "share_covered"]].merge(
            acc[["level", "unit_code", "access"]], on=["level", "unit_code"], how="left")
        part = part.rename(columns={"households_covered": f"households_covered_{s}",
                                    "share_covered": f"share_covered_{s}", "access": f"access_{s}"})
        # the facilities the figures used: those too far from the network count as left out
        snapped = res.facilities["snapped"].astype(bool) if "snapped" in res.facilities else None
        used = int(snapped.sum()) if snapped is not None else len(scenarios[s])
        part.insert(4, f"facilities_{s}", used)
        part.insert(5, f"facilities_left_out_{s}", len(scenarios[s]) - used)
        if merged is None:
            merged = part
        else:
            merged = merged.merge(part.drop(columns=["unit_name", "households"]), on=["level", "unit_code"],
                                  how="left")
    assert merged is not None
    base = names[0]
    newly: dict[str, gpd.GeoDataFrame] = {}
    for s in names[1:]:
        merged[f"households_covered_change_{s}"] = merged[f"households_covered_{s}"] - merged[f"households_covered_{base}"]
        merged[f"access_change_{s}"] = merged[f"access_{s}"] - merged[f"access_{base}"]
        new = covered[s] & ~covered[base]
        newly[s] = demand.loc[new].assign(scenario=s)
    return ScenarioComparison(merged, newly, results, covered)


def _fill_supply(prop: gpd.GeoDataFrame, today: gpd.GeoDataFrame, *, supply: str,
                 proposed_supply: float | None) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Proposed sites with ``supply`` filled where missing: ``proposed_supply``, else the median of
    today's facilities; the note says which."""
    if supply == "count" or (supply in prop.columns and not prop[supply].isna().any()):
        return prop, []
    if supply not in SUPPLY_FIELDS:
        msg = f"不认识的供给 unknown --supply '{supply}'"
        raise LayerError(msg)
    fill = proposed_supply
    if fill is None:
        vals = pd.to_numeric(today.get(supply, pd.Series(dtype=float)), errors="coerce").dropna()
        if vals.empty:
            msg = (f"建议选址没有 the proposed sites have no '{supply}' and no operating facility has one to "
                   f"take the median from; give --proposed-supply N")
            raise LayerError(msg)
        fill = float(vals.median())
        note = (f"建议选址的供给取现有设施中位数 proposed sites' {supply} = {fill:g} "
                "(median of today's facilities; --proposed-supply to change)")
    else:
        note = f"建议选址的供给 proposed sites' {supply} = {fill:g} (--proposed-supply)"
    col = pd.to_numeric(prop[supply], errors="coerce") if supply in prop.columns else pd.Series(np.nan, index=prop.index)
    prop[supply] = col.fillna(fill)
    return prop, [note]


def scenario_facilities(facilities: gpd.GeoDataFrame, scenarios: Sequence[tuple[str, str | None, gpd.GeoDataFrame | None]],
                        *, kind: str, supply: str, proposed_supply: float | None = None,
                        ) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """The facilities each scenario counts, for :func:`compare_scenarios`.

    Parameters
    ----------
    facilities
        Every facility of the kind, of any status.
    scenarios
        ``(name, layer name, proposed sites)``: ``today`` and ``planned`` count the statuses of
        :data:`~mzgis.layers.schemas.SCENARIO_STATUSES` (no sites); any other name counts
        today's facilities plus its sites (ids prefixed ``P:``, status ``proposed``), whose
        ``supply`` is their own, else ``proposed_supply``, else the median of today's.
    kind
        The kind id given to the proposed sites.

    Returns
    -------
    tuple
        ``{name: facilities}`` in the order given, and notes saying what was assumed.
    """
    today = facilities[facilities["status"].isin(SCENARIO_STATUSES["today"])]
    notes: list[str] = []
    sets: dict[str, gpd.GeoDataFrame] = {}
    for name, layer, sites in scenarios:
        if sites is None:
            sets[name] = facilities[facilities["status"].isin(SCENARIO_STATUSES[name])].reset_index(drop=True)
            continue
        prop, filled = _fill_supply(sites.to_crs(facilities.crs), today, supply=supply,
                                    proposed_supply=proposed_supply)
        notes += filled
        prop = prop.assign(feature_id="P:" + prop["feature_id"].astype(str), kind=kind, status="proposed")
        keep = [c for c in prop.columns if c in facilities.columns or c == supply]
        sets[name] = gpd.GeoDataFrame(pd.concat([today, prop[keep]], ignore_index=True), crs=facilities.crs)
        notes.append(f"proposed = {OPERATING} today + {len(prop)} 个建议选址 proposed sites from layer {layer}")
    return sets, notes
