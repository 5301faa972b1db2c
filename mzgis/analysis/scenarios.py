"""Scenarios side by side: coverage and accessibility per unit for several facility sets.

A scenario is a name and the facilities it counts, e.g. ``today`` (建成运营), ``planned`` (adds 在建
and 规划) and ``proposed`` (adds the sites proposed by ``mzgis site``). The first scenario is the
baseline: every other gets its change against it, and the demand points it newly covers. When a
scenario's facilities include the baseline's, coverage cannot fall (the nearest facility can only get
nearer) and neither can 2SFCA-family access (a new facility adds ``R_j w_ij ≥ 0`` to the points
around it and leaves every other ratio unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Unpack

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis.access import (
    DEFAULT_THRESHOLD_MIN,
    AccessOptions,
    AccessResult,
    access_by_unit,
    accessibility,
)
from mzgis.analysis.coverage import coverage_table
from mzgis.analysis.snapping import SegmentIndex, SnapTo
from mzgis.layers.network import RoadGraph

__all__ = ["ScenarioComparison", "compare_scenarios"]


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
        part.insert(4, f"facilities_{s}", len(scenarios[s]))
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
