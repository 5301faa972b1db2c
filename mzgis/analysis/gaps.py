"""The coverage gaps: the demand points no facility of a kind reaches within a threshold.

The gaps layer (``gaps_<kind>``) is what ``mzgis site`` and the maps start from.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["gap_points"]


def gap_points(demand: gpd.GeoDataFrame, minutes_to_nearest: pd.Series | np.ndarray, *, threshold_min: float,
               kind: str) -> gpd.GeoDataFrame:
    """The demand points farther than ``threshold_min`` walking minutes from the nearest facility.

    Parameters
    ----------
    demand
        Demand points with ``demand_id`` (renamed ``feature_id`` in the result).
    minutes_to_nearest
        Walking minutes to the nearest facility, aligned with ``demand`` by position; NaN (not
        reached at all) counts as a gap. A point exactly at the threshold is covered.
    threshold_min
        The service threshold.
    kind
        The facility kind, written into the ``kind`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        The gap points (``demand``'s columns, ``minutes_to_nearest``, ``kind``,
        ``threshold_min``), in ``demand``'s CRS and index.
    """
    mins = np.asarray(minutes_to_nearest, dtype=float)
    far = ~(mins <= threshold_min + 1e-9)  # NaN compares False: unreached points are gaps
    gaps = demand.loc[far].rename(columns={"demand_id": "feature_id"}).copy()
    gaps["minutes_to_nearest"] = mins[far]
    gaps["kind"] = kind
    gaps["threshold_min"] = threshold_min
    return gaps
