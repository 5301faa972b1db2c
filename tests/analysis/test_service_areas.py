"""Service-area polygons: partial edges, nesting, validity, never convex hulls."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.service_areas import service_areas
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import build_graph, graph_from_osm, osm_bounds
from tests.conftest import shared


def l_graph():
    """An L-shaped street: 0 → (300, 0) → (300, 300), 100 m edges."""
    x = np.array([0.0, 100, 200, 300, 300, 300, 300])
    y = np.array([0.0, 0, 0, 0, 100, 200, 300])
    return build_graph(x, y, np.arange(7), np.arange(6), np.arange(1, 7), "EPSG:32650")


def test_partial_edge_is_cut_exactly():
    g = l_graph()
    fac = gpd.GeoDataFrame({"feature_id": ["F"]}, geometry=[shapely.Point(0, 0)], crs=g.crs)
    sa = service_areas(g, fac, thresholds_min=[1.5], speed_m_per_min=100, buffer_m=10)
    poly = sa.geometry.iloc[0]
    expected = shapely.LineString([(0, 0), (150, 0)]).buffer(10, quad_segs=4)
    assert poly.symmetric_difference(expected).area < 1.0
    assert sa["area_m2"].iloc[0] == pytest.approx(poly.area)


def test_not_a_convex_hull():
    g = l_graph()
    fac = gpd.GeoDataFrame({"feature_id": ["F"]}, geometry=[shapely.Point(300, 0)], crs=g.crs)
    sa = service_areas(g, fac, thresholds_min=[3], speed_m_per_min=100, buffer_m=20)
    poly = sa.geometry.iloc[0]
    # 600 m of street, 40 m wide: about 24,000 m² plus the caps, not the ~58,000 m² of its hull
    assert poly.area == pytest.approx(600 * 40, rel=0.06)
    assert poly.area < 0.5 * poly.convex_hull.area
    assert not poly.contains(shapely.Point(150, 150))  # the inside of the L is not walkable


@pytest.fixture(scope="module")
def wangjing():
    path = shared("osm/beijing_chaoyang_wangjing.osm")
    b = osm_bounds(path)
    return graph_from_osm(path, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))


def test_real_areas_valid_and_nested(wangjing):
    g = wangjing
    rng = np.random.default_rng(5)
    nodes = rng.choice(g.n_nodes, 6, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(6)], "kind": ["a", "a", "a", "b", "b", "b"]},
                           geometry=gpd.points_from_xy(g.x[nodes] + 12, g.y[nodes] - 7), crs=g.crs)
    for dissolve in (None, "kind"):
        sa = service_areas(g, fac, thresholds_min=[5, 10, 15], dissolve_by=dissolve)
        key = dissolve or "facility_id"
        assert sa.is_valid.all()
        assert (sa.area_m2 > 0).all()
        for _, grp in sa.groupby(key):
            geoms = grp.sort_values("minutes").geometry.tolist()
            for small, big in itertools.pairwise(geoms):
                assert small.difference(big).area < 1e-3
                assert big.area >= small.area
    per_kind = service_areas(g, fac, thresholds_min=[15], dissolve_by="kind")
    per_fac = service_areas(g, fac, thresholds_min=[15])
    union_a = shapely.union_all(per_fac[per_fac.facility_id.isin(["F0", "F1", "F2"])].geometry)
    got = per_kind[per_kind.kind == "a"].geometry.iloc[0]
    assert got.symmetric_difference(union_a).area < 0.01 * union_a.area
