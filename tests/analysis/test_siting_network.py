"""The siting model built from a network (``CoverageProblem.from_network``, ``existing_coverage``,
``generate_candidates``), against networkx shortest paths on a real extract.

Demand, candidates and the existing station sit exactly on network nodes, so the network distance
between two of them is the networkx node-to-node distance: every entry of the coverage matrix
(with and without linear decay) and every baseline value has an independent oracle.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from mzgis.analysis.siting import CoverageProblem, existing_coverage, generate_candidates, solve
from mzgis.analysis.snapping import SegmentIndex
from tests.analysis.test_reach import real_graph
from tests.analysis.test_siting_candidates import _nx_graph

LIMIT = 300.0


@pytest.fixture(scope="module")
def case():
    g = real_graph("beijing_chaoyang_wangjing.osm")
    rng = np.random.default_rng(7)
    nodes = rng.choice(g.n_nodes, 90, replace=False)
    dem_n, cand_n, fac_n = nodes[:60], nodes[60:85], nodes[85:87]

    def layer(ns, prefix):
        return gpd.GeoDataFrame({"feature_id": [f"{prefix}{i}" for i in range(len(ns))]},
                                geometry=gpd.points_from_xy(g.x[ns], g.y[ns]), crs=g.crs)

    dem = layer(dem_n, "D").assign(households=rng.integers(1, 50, len(dem_n)).astype(float))
    G = _nx_graph(g)
    dist = {int(n): nx.single_source_dijkstra_path_length(G, int(n), cutoff=LIMIT, weight="weight")
            for n in np.concatenate([cand_n, fac_n])}
    return g, dem, layer(cand_n, "C"), layer(fac_n, "F"), dem_n, cand_n, fac_n, dist


def _oracle(dist, rows, dem_n, decay):
    out = np.zeros((len(rows), len(dem_n)))
    for i, r in enumerate(rows):
        for j, d in enumerate(dem_n):
            dd = dist[int(r)].get(int(d))
            if dd is not None and dd <= LIMIT - 1e-6:
                out[i, j] = 1.0 if not decay else max(1.0 - dd / LIMIT, 1e-9)
    return out


@pytest.mark.parametrize("decay", [None, "linear"])
def test_from_network_matrix_and_baseline_match_networkx(case, decay):
    g, dem, cand, fac, dem_n, cand_n, fac_n, dist = case
    index = SegmentIndex(g, snap_to="any")
    p = CoverageProblem.from_network(g, dem, cand, existing=fac, limit_m=LIMIT, decay=decay, max_snap_m=0.01,
                                     index=index, capacity_households=120.0)
    want = _oracle(dist, cand_n, dem_n, decay)
    assert p.value.shape == want.shape
    np.testing.assert_allclose(p.value.toarray(), want, atol=1e-6)
    # the baseline: the best value any existing station gives each demand point (not zero!)
    base = _oracle(dist, fac_n, dem_n, decay).max(axis=0)
    assert base.sum() > 0, "the case must have demand the existing stations already cover"
    np.testing.assert_allclose(p.base, base, atol=1e-6)
    np.testing.assert_allclose(existing_coverage(g, dem, fac, limit_m=LIMIT, decay=decay, max_snap_m=0.01,
                                                 index=index), base, atol=1e-6)
    assert p.weight.tolist() == dem["households"].tolist()
    assert p.capacity == 120.0
    assert p.candidate_ids == cand["feature_id"].tolist()
    lonlat = cand.to_crs("EPSG:4326")
    np.testing.assert_allclose(p.candidate_lonlat, np.column_stack([lonlat.geometry.x, lonlat.geometry.y]),
                               atol=1e-9)


def test_baseline_changes_what_a_new_site_adds(case):
    """Held-fixed stations count: the gain of the best site is computed over the demand they leave."""
    g, dem, cand, fac, dem_n, cand_n, fac_n, dist = case
    index = SegmentIndex(g, snap_to="any")
    with_fac = solve(CoverageProblem.from_network(g, dem, cand, existing=fac, limit_m=LIMIT, max_snap_m=0.01,
                                                  index=index), add=1, method="exact")
    none = solve(CoverageProblem.from_network(g, dem, cand, limit_m=LIMIT, max_snap_m=0.01, index=index),
                 add=1, method="exact")
    a = _oracle(dist, cand_n, dem_n, None).astype(bool)
    covered = _oracle(dist, fac_n, dem_n, None).max(axis=0).astype(bool)
    w = dem["households"].to_numpy()
    assert with_fac.gains[0] == pytest.approx(max((w * (row & ~covered)).sum() for row in a))
    assert none.gains[0] == pytest.approx(max((w * row).sum() for row in a))


def test_generate_candidates_are_the_nodes_near_uncovered_demand(case):
    g, dem, _, fac, dem_n, *_ = case
    index = SegmentIndex(g, snap_to="any")
    base = existing_coverage(g, dem, fac, limit_m=LIMIT, max_snap_m=0.01, index=index)
    got = generate_candidates(g, dem, covered=base, limit_m=LIMIT, max_snap_m=0.01, index=index)
    assert got.crs == g.crs
    G = _nx_graph(g)
    need = [int(n) for n, b in zip(dem_n, base, strict=True) if b < 1.0]
    near = set(nx.multi_source_dijkstra_path_length(G, need, cutoff=LIMIT - 1e-6, weight="weight"))
    ids = {f"N{int(g.node_ids[n])}" for n in near}
    assert set(got["feature_id"]) == ids
    # with every demand point covered there is nothing to propose
    full = generate_candidates(g, dem, covered=np.ones(len(dem)), limit_m=LIMIT, max_snap_m=0.01, index=index)
    assert full.empty
