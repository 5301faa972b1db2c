"""Snapping to the main network: islands of footpath do not swallow homes or stations.

Oracle: networkx finds the connected components and shapely measures every point's distance to
every edge by brute force, independently of the STRtree the code uses.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from mzgis.analysis.reach import network_reach
from mzgis.analysis.snapping import SegmentIndex, main_component_edges
from tests.analysis.test_reach import EXTRACTS, real_graph


def _edge_lines(g):
    return shapely.linestrings(np.stack([np.column_stack([g.x[g.u], g.y[g.u]]),
                                         np.column_stack([g.x[g.v], g.y[g.v]])], axis=1))


def _points_near_network(g, n, seed):
    rng = np.random.default_rng(seed)
    e = rng.integers(0, g.n_edges, n)
    t = rng.uniform(0, 1, n)
    x = g.x[g.u[e]] + t * (g.x[g.v[e]] - g.x[g.u[e]]) + rng.normal(0, 25, n)
    y = g.y[g.u[e]] + t * (g.y[g.v[e]] - g.y[g.u[e]]) + rng.normal(0, 25, n)
    return x, y


@pytest.mark.parametrize("name", EXTRACTS)
def test_main_component_is_networkx_largest(name):
    g = real_graph(name)
    nxg = nx.Graph()
    nxg.add_edges_from(zip(g.u.tolist(), g.v.tolist(), strict=True))
    largest = max(nx.connected_components(nxg), key=len)
    expect = np.array([u in largest for u in g.u.tolist()])
    np.testing.assert_array_equal(main_component_edges(g), expect)


@pytest.mark.parametrize("name", EXTRACTS)
def test_snap_to_main_matches_brute_force(name):
    g = real_graph(name)
    x, y = _points_near_network(g, 600, seed=7)
    lines = _edge_lines(g)
    main = main_component_edges(g)
    pts = shapely.points(x, y)
    dist = shapely.distance(pts[:, None], lines[None, :])  # every point to every edge
    d_main = np.where(main[None, :], dist, np.inf).min(axis=1)
    d_any = dist.min(axis=1)
    s = SegmentIndex(g).snap(x, y, max_distance_m=300)
    ok = d_main <= 300
    np.testing.assert_array_equal(s.ok, ok)
    np.testing.assert_allclose(s.access_m[ok], d_main[ok], atol=1e-6)
    assert main[s.edge[ok]].all()
    # flagged exactly where an island edge was strictly nearer (beyond float noise)
    clear = np.abs(d_any - d_main) > 1e-6
    np.testing.assert_array_equal(s.moved[clear & ok], (d_any < d_main)[clear & ok])
    np.testing.assert_allclose(s.moved_extra_m[s.moved & ok], (d_main - d_any)[s.moved & ok], atol=1e-6)
    # the old behaviour stays available and snaps to the nearest edge of any piece
    s_any = SegmentIndex(g, snap_to="any").snap(x, y, max_distance_m=300)
    ok_any = d_any <= 300
    np.testing.assert_allclose(s_any.access_m[ok_any], d_any[ok_any], atol=1e-6)
    assert not s_any.moved.any()


def test_islands_change_coverage_and_are_reported():
    """On the Tsinghua/PKU extract (campus paths not joined to streets) homes near an island are
    uncovered when snapped to it; snapping to the main network gives them their true distance."""
    g = real_graph("beijing_haidian_tsinghua_pku.osm")
    main = main_component_edges(g)
    assert (~main).sum() > 0, "this extract has islands"
    # homes right next to island edges, and one station on the main network
    island = np.flatnonzero(~main)
    rng = np.random.default_rng(3)
    pick = rng.choice(island, min(40, island.size), replace=False)
    hx = (g.x[g.u[pick]] + g.x[g.v[pick]]) / 2 + 1.0
    hy = (g.y[g.u[pick]] + g.y[g.v[pick]]) / 2 + 1.0
    main_nodes = np.unique(g.u[main])
    st = main_nodes[len(main_nodes) // 2]
    crs = g.crs
    homes = gpd.GeoDataFrame({"feature_id": [f"H{i}" for i in range(len(pick))]},
                             geometry=gpd.points_from_xy(hx, hy), crs=crs)
    fac = gpd.GeoDataFrame({"feature_id": ["S1"]}, geometry=gpd.points_from_xy([g.x[st]], [g.y[st]]), crs=crs)
    big = 1e6  # every main-network point is reachable: isolate the island effect
    r_any = network_reach(g, fac, homes, thresholds_min=[big / 70], speed_m_per_min=70, pairs=False,
                          snap_to="any")
    r_main = network_reach(g, fac, homes, thresholds_min=[big / 70], speed_m_per_min=70, pairs=False)
    snapped_main = r_main.demand["snapped"].to_numpy()
    on_island = ~main[SegmentIndex(g, snap_to="any").snap(hx, hy, max_distance_m=300).edge]
    assert on_island.sum() >= 0.8 * len(homes)
    # snapped to an island, no home reaches the station; on the main network every snapped one does
    assert r_any.demand.loc[on_island, "distance_m"].isna().all()
    assert r_main.demand.loc[snapped_main, "distance_m"].notna().all()
    assert snapped_main.sum() > 0
    np.testing.assert_array_equal(r_main.demand["moved_from_island"].to_numpy(), on_island)
    line = r_main.island_summary(pd_series(np.full(len(homes), 2.0)))
    assert f"{int(on_island.sum())} 个需求点" in line
    assert f"{2 * int(on_island.sum()):,.0f}" in line
    assert "--snap-to any" in line


def pd_series(values):
    import pandas as pd

    return pd.Series(values)
