"""Facilities a coverage run left out (farther from the network than the snapping limit), with how
far they lie from it, for the print map to mark them."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

from mzgis.layers.network import RoadGraph

__all__ = ["left_out_facilities", "left_out_note"]


def left_out_note(n: int) -> str:
    """The words after a facility count when ``n`` facilities were left out ("" when none)."""
    return f"（另 {n} 处离路网过远未计入 {n} more too far from the network, not counted）" if n else ""


def left_out_facilities(graph: RoadGraph, facilities: gpd.GeoDataFrame, ids: Sequence[str]) -> gpd.GeoDataFrame | None:
    """The facilities of ``ids`` (``feature_id``) with ``distance_m``, the straight distance to the
    nearest network edge; None when there are none."""
    if not len(ids) or facilities is None or not len(facilities):
        return None
    sub = facilities[facilities["feature_id"].astype(str).isin({str(i) for i in ids})]
    if not len(sub):
        return None
    segs = shapely.linestrings(np.stack([np.column_stack([graph.x[graph.u], graph.y[graph.u]]),
                                         np.column_stack([graph.x[graph.v], graph.y[graph.v]])], axis=1))
    pts = sub.to_crs(graph.crs).geometry.representative_point().to_numpy()
    tree = shapely.STRtree(segs)
    (_, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return sub.assign(distance_m=np.round(dist, 1))
