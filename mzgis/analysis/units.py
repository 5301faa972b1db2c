"""Figures per admin unit: the names of units by level and the households inside each unit.

Results are index-aligned in the momepy manner: one value per row of the unit layer given, in its
order and under its index, so they can be assigned straight back as a column.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from mzgis.analysis.coverage import assign_units

__all__ = ["by_code", "households_by_unit", "unit_names"]


def unit_names(units: Mapping[str, gpd.GeoDataFrame]) -> dict[str, dict[str, str]]:
    """``{level: {code: name}}`` of admin-unit layers by level (``feature_id`` → ``name``), the
    ``unit_names`` of :func:`mzgis.analysis.coverage.coverage_table` and the access tables."""
    return {lv: dict(zip(u["feature_id"].astype(str), u["name"].astype(str), strict=True)) for lv, u in units.items()}


def households_by_unit(demand: gpd.GeoDataFrame, units: gpd.GeoDataFrame, *,
                       column: str = "households") -> pd.Series:
    """The sum of ``demand[column]`` over the demand points inside each unit.

    Parameters
    ----------
    demand
        Demand points with the ``column`` to sum.
    units
        Unit polygons with ``feature_id``; a point on a shared border counts in one unit only
        (:func:`~mzgis.analysis.coverage.assign_units`).
    column
        What to sum (``households``, ``population``, ``elderly``).

    Returns
    -------
    pandas.Series
        Float, indexed like ``units`` (0 for a unit without demand points), named ``column``.
    """
    out = pd.Series(0.0, index=units.index, name=column)
    if units.empty or demand.empty:
        return out
    where = assign_units(demand, {"unit": units})
    if "unit" not in where:
        return out
    sums = pd.to_numeric(demand[column], errors="coerce").astype(float).groupby(where["unit"].to_numpy()).sum()
    codes = units["feature_id"].to_numpy()
    return pd.Series(sums.reindex(codes).fillna(0.0).to_numpy(dtype=float), index=units.index, name=column)


def by_code(values: pd.Series, units: gpd.GeoDataFrame) -> pd.Series:
    """Values aligned with ``units`` (e.g. from :func:`households_by_unit`), indexed by unit code
    (``feature_id`` as text; the first of repeated codes), as
    :func:`~mzgis.analysis.area_standard.area_standard` takes them."""
    out = pd.Series(values.to_numpy(), index=units["feature_id"].astype(str).to_numpy(), name=values.name)
    return out[~out.index.duplicated(keep="first")]
