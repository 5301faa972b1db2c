"""The road network as lines for the offline vector basemap of every map page."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from mzgis.layers.network import RoadGraph

__all__ = ["roads_layer"]


def roads_layer(graph: RoadGraph) -> gpd.GeoDataFrame:
    """The network's edges merged into lines, for the offline vector basemap."""
    segs = np.stack([np.column_stack([graph.x[graph.u], graph.y[graph.u]]),
                     np.column_stack([graph.x[graph.v], graph.y[graph.v]])], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(segs)))
    parts = list(getattr(merged, "geoms", [merged]))
    return gpd.GeoDataFrame(geometry=parts, crs=graph.crs)
