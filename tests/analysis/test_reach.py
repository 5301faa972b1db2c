"""Network reach: networkx oracle on real extracts, hand-computed cases, snapping, unreachable points."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from mzgis.analysis.reach import facility_pairs, nearest_facility, network_reach
from mzgis.analysis.snapping import snap_points
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import build_graph, graph_from_osm, osm_bounds
from tests.conftest import shared

EXTRACTS = ["beijing_chaoyang_wangjing.osm", "beijing_haidian_tsinghua_pku.osm", "beijing_daxing_yizhuang_bda.osm"]


def real_graph(name):
    path = shared(f"osm/{name}")
    b = osm_bounds(path)
    return graph_from_osm(path, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))


@pytest.mark.parametrize("name", EXTRACTS)
def test_nearest_matches_networkx_oracle(name):
    g = real_graph(name)
    rng = np.random.default_rng(42)
    fac_nodes = rng.choice(g.n_nodes, 12, replace=False)
    fs = snap_points(g, g.x[fac_nodes], g.y[fac_nodes], max_distance_m=0.01, snap_to="any")
    ds = snap_points(g, g.x, g.y, max_distance_m=0.01, snap_to="any")
    assert fs.ok.all()
    assert ds.ok.all()
    limit = 1000.0
    dist, who = nearest_facility(g, fs, ds, limit_m=limit)
    oracle = nx.multi_source_dijkstra_path_length(g.to_networkx(node_key="index"), set(fac_nodes.tolist()), cutoff=limit,
                                                  weight="length")
    ref = np.full(g.n_nodes, np.inf)
    ref[list(oracle)] = list(oracle.values())
    reached = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(dist), reached)
    assert np.abs(dist[reached] - ref[reached]).max() < 0.5
    # the facility named is at that distance
    for d in np.flatnonzero(reached)[::50]:
        f_node = int(fac_nodes[who[d]])
        assert nx.shortest_path_length(g.to_networkx(node_key="index"), f_node, int(d), weight="length") == pytest.approx(dist[d], abs=0.5)


@pytest.mark.parametrize("name", EXTRACTS)
def test_facility_pairs_match_networkx_oracle(name):
    g = real_graph(name)
    nxg = g.to_networkx(node_key="index")
    rng = np.random.default_rng(3)
    fac_nodes = rng.choice(g.n_nodes, 5, replace=False)
    fs = snap_points(g, g.x[fac_nodes], g.y[fac_nodes], max_distance_m=0.01, snap_to="any")
    ds = snap_points(g, g.x, g.y, max_distance_m=0.01, snap_to="any")
    f, d, dist = facility_pairs(g, fs, ds, limit_m=800.0)
    for k, node in enumerate(fac_nodes):
        ref = nx.single_source_dijkstra_path_length(nxg, int(node), cutoff=800.0, weight="length")
        mine = dict(zip(d[f == k].tolist(), dist[f == k].tolist(), strict=True))
        assert set(mine) == set(ref)
        assert max(abs(mine[n] - ref[n]) for n in ref) < 0.5


def line_graph():
    """A straight street of three 100 m edges: nodes at x = 0, 100, 200, 300 (y = 0)."""
    x = np.array([0.0, 100.0, 200.0, 300.0])
    y = np.zeros(4)
    return build_graph(x, y, np.arange(4), np.array([0, 1, 2]), np.array([1, 2, 3]), "EPSG:32650")


def test_hand_computed_mid_edge_and_access_legs():
    g = line_graph()
    # facility 10 m north of x=50; demand 20 m south of x=250 and 5 m north of x=80 (same edge)
    fs = snap_points(g, np.array([50.0]), np.array([10.0]), max_distance_m=300)
    ds = snap_points(g, np.array([250.0, 80.0]), np.array([-20.0, 5.0]), max_distance_m=300)
    dist, who = nearest_facility(g, fs, ds, limit_m=1000)
    assert dist[0] == pytest.approx(10 + 200 + 20)
    assert dist[1] == pytest.approx(10 + 30 + 5)  # along the shared edge, not via a node
    assert who.tolist() == [0, 0]
    _f, d, pdist = facility_pairs(g, fs, ds, limit_m=1000)
    assert dict(zip(d.tolist(), pdist.tolist(), strict=True)) == pytest.approx({0: 230.0, 1: 45.0})


def test_limit_excludes_and_reports_unreachable():
    g = line_graph()
    fs = snap_points(g, np.array([0.0]), np.array([0.0]), max_distance_m=300)
    ds = snap_points(g, np.array([100.0, 300.0]), np.array([0.0, 0.0]), max_distance_m=300)
    dist, who = nearest_facility(g, fs, ds, limit_m=150)
    assert dist[0] == pytest.approx(100)
    assert np.isinf(dist[1])
    assert who.tolist() == [0, -1]


def test_points_far_from_the_network_are_reported_not_snapped():
    g = line_graph()
    fac = gpd.GeoDataFrame({"feature_id": ["F1", "F2"]},
                           geometry=[shapely.Point(0, 10), shapely.Point(150, 400)], crs=g.crs)
    dem = gpd.GeoDataFrame({"feature_id": ["D1", "D2"]},
                           geometry=[shapely.Point(290, -5), shapely.Point(100, -350)], crs=g.crs)
    res = network_reach(g, fac, dem, thresholds_min=[5], speed_m_per_min=100, max_snap_m=300)
    assert res.unsnapped_facilities == ["F2"]
    assert res.unsnapped_demand == ["D2"]
    row = res.demand.iloc[0]
    assert row["nearest_facility_id"] == "F1"
    assert row["distance_m"] == pytest.approx(10 + 290 + 5)
    assert res.demand["snapped"].tolist() == [True, False]
    assert np.isnan(res.demand["distance_m"].iloc[1])


def test_network_reach_counts_and_elderly_speed():
    g = line_graph()
    fac = gpd.GeoDataFrame({"feature_id": ["A", "B"]}, geometry=[shapely.Point(0, 0), shapely.Point(300, 0)],
                           crs=g.crs)
    dem = gpd.GeoDataFrame({"feature_id": ["D"]}, geometry=[shapely.Point(100, 0)], crs=g.crs)
    walk = network_reach(g, fac, dem, thresholds_min=[2, 4], speed_m_per_min=60)
    assert walk.demand["minutes"].iloc[0] == pytest.approx(100 / 60)
    assert walk.demand["facilities_within_2min"].iloc[0] == 1  # A at 100 m; B at 200 m
    assert walk.demand["facilities_within_4min"].iloc[0] == 2
    slow = network_reach(g, fac, dem, thresholds_min=[2, 4], speed_m_per_min=45)
    assert slow.demand["facilities_within_2min"].iloc[0] == 0
    assert slow.demand["minutes"].iloc[0] == pytest.approx(100 / 45)
    assert set(walk.pairs["facility_id"]) == {"A", "B"}


def test_yizhuang_unreachable_points_reported_without_crash():
    g = real_graph("beijing_daxing_yizhuang_bda.osm")
    rng = np.random.default_rng(0)
    nodes = rng.choice(g.n_nodes, 3, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": ["F1", "F2", "F3"]},
                           geometry=gpd.points_from_xy(g.x[nodes], g.y[nodes]), crs=g.crs)
    dem = gpd.GeoDataFrame({"feature_id": [f"D{i}" for i in range(g.n_nodes)]},
                           geometry=gpd.points_from_xy(g.x, g.y), crs=g.crs)
    res = network_reach(g, fac, dem, thresholds_min=[5, 10, 15])
    d = res.demand
    unreachable = d["distance_m"].isna()
    assert unreachable.any()
    assert (~unreachable).any()
    assert d.loc[unreachable, "nearest_facility_id"].isna().all()
    assert (d.loc[~unreachable, "distance_m"] <= 1000 + 1e-6).all()
