"""Service areas dissolved per kind for display, generalised on a grid — fast at city scale.

:func:`mzgis.analysis.service_areas.service_areas` buffers every reached segment and unions the
buffers: exact, and the right thing for a report's areas, but at city scale with thousands of
facilities the union of millions of buffers is what makes a map slow to build (most of 35 s at
168k nodes, many minutes at 2.7M). A map only needs the dissolved area of each kind drawn at screen
precision, so here the same reached segments (same distances, thresholds and snapping) are burnt
into a grid of ``cell_m`` (default a quarter of the buffer width), dilated by the buffer width
with a disc, and traced back to polygons (rasterio), which are then simplified to the cell size.
The result differs from the exact area by at most about one cell along its edge; rings stay
nested (5 ⊂ 10 ⊂ 15 minutes) because each threshold's grid includes the smaller one's.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import ndimage

from mzgis.analysis.service_areas import GroupReach, nested_rings, reach_groups
from mzgis.analysis.snapping import SegmentIndex, SnapTo
from mzgis.layers.network import RoadGraph

__all__ = ["MAX_CELLS", "display_service_areas"]

#: the largest grid (cells) the areas of one kind are traced on
MAX_CELLS = 9_000_000


def _burn(segs: NDArray[np.float64], grid: NDArray[np.bool_], x0: float, y1: float, cell: float) -> None:
    """Mark every cell a segment passes through (points sampled at half a cell along each)."""
    if not len(segs):
        return
    a, b = segs[:, 0, :], segs[:, 1, :]
    n = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / (cell / 2)).astype(np.int64)) + 1
    seg = np.repeat(np.arange(len(segs)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    f = (np.arange(seg.size) - start) / np.repeat(n - 1, n)
    px = a[seg, 0] + f * (b[seg, 0] - a[seg, 0])
    py = a[seg, 1] + f * (b[seg, 1] - a[seg, 1])
    col = np.clip(((px - x0) / cell).astype(np.int64), 0, grid.shape[1] - 1)
    row = np.clip(((y1 - py) / cell).astype(np.int64), 0, grid.shape[0] - 1)
    grid[row, col] = True


def display_service_areas(graph: RoadGraph, facilities: gpd.GeoDataFrame, *, dissolve_by: str = "kind",
                          thresholds_min: list[float] | tuple[float, ...] = (5, 10, 15),
                          speed_m_per_min: float = 4000.0 / 60.0, buffer_m: float = 40.0, max_snap_m: float = 300.0,
                          snap_to: SnapTo = "main", index: SegmentIndex | None = None,
                          cell_m: float | None = None) -> gpd.GeoDataFrame:
    """Dissolved service areas per ``dissolve_by`` value and threshold, generalised to ``cell_m``.

    Same columns as :func:`~mzgis.analysis.service_areas.service_areas` with ``dissolve_by``
    (``minutes``, ``distance_m``, ``area_m2``, geometry in the graph's CRS)."""
    ths = sorted(float(t) for t in thresholds_min)
    limit = ths[-1] * speed_m_per_min
    _, groups = reach_groups(graph, facilities, limit_m=limit, max_snap_m=max_snap_m, dissolve_by=dissolve_by,
                             index=index, snap_to=snap_to)
    rows: list[dict[str, Any]] = []
    for grp in groups:
        segs_all = grp.segments(limit)
        if len(segs_all):
            rows += _grid_rings(grp, segs_all, dissolve_by, ths, speed_m_per_min, buffer_m, cell_m)
    gdf = gpd.GeoDataFrame(rows, columns=[dissolve_by, "minutes", "distance_m", "geometry"], geometry="geometry",
                           crs=graph.crs)
    gdf["area_m2"] = gdf.geometry.area
    return gdf


def _grid_rings(grp: GroupReach, segs_all: NDArray[np.float64], key_name: str, ths: list[float],
                speed_m_per_min: float, buffer_m: float, cell_m: float | None) -> list[dict[str, Any]]:
    """The rings of one group, traced on one grid (see the module's description)."""
    from rasterio import features
    from rasterio.transform import from_origin

    w = float(np.ptp(segs_all[:, :, 0])) + 2 * buffer_m
    h = float(np.ptp(segs_all[:, :, 1])) + 2 * buffer_m
    # a quarter of the buffer width, coarser only when the grid would exceed MAX_CELLS (a
    # city: then ~30 m, still finer than a screen pixel at the zoom that shows the whole city)
    cell = float(cell_m or max(buffer_m / 4.0, np.sqrt(w * h / MAX_CELLS), 2.0))
    r = int(np.ceil(buffer_m / cell))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    # a burnt cell already spans about ±cell/2 around the line: a disc of buffer - cell/5 gives the
    # exact areas to within a few per cent (checked in tests/maps/test_webmap_areas.py)
    disc = (xx**2 + yy**2) * cell**2 <= max(buffer_m - cell / 5, cell / 2) ** 2
    pad = buffer_m + 2 * cell
    x0 = float(segs_all[:, :, 0].min()) - pad
    x1 = float(segs_all[:, :, 0].max()) + pad
    y0 = float(segs_all[:, :, 1].min()) - pad
    y1 = float(segs_all[:, :, 1].max()) + pad
    shape = (int(np.ceil((y1 - y0) / cell)), int(np.ceil((x1 - x0) / cell)))
    transform = from_origin(x0, y1, cell, cell)
    grid = np.zeros(shape, dtype=bool)

    def ring(t: float) -> shapely.Geometry:
        segs = segs_all if t == ths[-1] else grp.segments(t * speed_m_per_min)
        _burn(segs, grid, x0, y1, cell)  # cumulative: the larger ring contains the smaller
        area = ndimage.binary_dilation(grid, structure=disc)
        polys = np.array([shapely.geometry.shape(geom) for geom, _ in
                          features.shapes(area.astype(np.uint8), mask=area, transform=transform, connectivity=4)])
        # the grid's staircase outlines simplified piece by piece (fast; topology-preserving
        # simplification of one polygon with thousands of holes takes many seconds), then joined
        polys = shapely.make_valid(shapely.simplify(polys, cell, preserve_topology=False))
        return shapely.union_all(polys[~shapely.is_empty(polys)]) if polys.size else shapely.Polygon()

    # simplified separately, so kept nested explicitly
    return nested_rings(key_name, grp.key, ths, speed_m_per_min, ring)
