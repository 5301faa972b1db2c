"""Generated siting candidates: "exact" is exact over every network node.

Oracle: networkx distances from every node of a real extract, and an exhaustive search over all
pairs of nodes (vectorised: covered(i, k) = s_i + s_k - overlap_ik).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from mzgis.analysis.reach import facility_pairs
from mzgis.analysis.siting import (
    CoverageProblem,
    distinct_candidates,
    network_candidates,
    solve,
    solve_exact,
)
from mzgis.analysis.snapping import snap_points
from tests.analysis.test_reach import real_graph
from tests.analysis.test_siting import real_problem


def _nx_graph(g):
    G = nx.Graph()
    for a, b, w in zip(g.u.tolist(), g.v.tolist(), g.length_m.tolist(), strict=True):
        if not G.has_edge(a, b) or G[a][b]["weight"] > w:
            G.add_edge(a, b, weight=w)
    return G


@pytest.mark.parametrize(("name", "limit", "seed"), [("beijing_chaoyang_wangjing.osm", 250.0, 1),
                                                     ("beijing_haidian_tsinghua_pku.osm", 200.0, 2)])
def test_exact_over_generated_candidates_equals_all_node_optimum(name, limit, seed):
    g = real_graph(name)
    rng = np.random.default_rng(seed)
    dem_nodes = rng.choice(g.n_nodes, 120, replace=False)
    w = rng.integers(1, 40, dem_nodes.size).astype(float)
    existing = dem_nodes[0]
    # --- oracle: networkx from every node, exhaustive over all pairs of nodes
    G = _nx_graph(g)
    pos = {int(n): k for k, n in enumerate(dem_nodes)}
    A = np.zeros((g.n_nodes, dem_nodes.size), dtype=bool)
    for n in G.nodes:
        for m, d in nx.single_source_dijkstra_path_length(G, n, cutoff=limit, weight="weight").items():
            if m in pos and d <= limit - 1e-6:
                A[n, pos[m]] = True
    base_cov = A[existing]
    need = A & ~base_cov[None, :]
    s = need.astype(float) @ w
    overlap = (need * w).astype(float) @ need.T.astype(float)
    pair = s[:, None] + s[None, :] - overlap
    np.fill_diagonal(pair, -1)
    best = float(pair.max()) + float(w[base_cov].sum())
    # --- mzgis: candidates generated from the uncovered demand, exact model over them
    ds = snap_points(g, g.x[dem_nodes], g.y[dem_nodes], max_distance_m=0.01, snap_to="any")
    es = snap_points(g, g.x[[existing]], g.y[[existing]], max_distance_m=0.01, snap_to="any")
    base = np.zeros(dem_nodes.size)
    _, d_e, _ = facility_pairs(g, es, ds, limit_m=limit)
    base[d_e] = 1.0
    nodes = network_candidates(g, ds, base < 1.0, limit_m=limit)
    # every node that reaches any uncovered demand is a candidate, and no other
    reaches = need.any(axis=1)
    assert set(np.flatnonzero(reaches)) <= set(nodes.tolist())
    cs = snap_points(g, g.x[nodes], g.y[nodes], max_distance_m=0.01, snap_to="any")
    f, d, _ = facility_pairs(g, cs, ds, limit_m=limit)
    p = CoverageProblem(sp.csr_matrix((np.ones(f.size), (f, d)), shape=(nodes.size, dem_nodes.size)), w, base)
    res = solve(p, add=2, method="exact")
    assert res.covered == pytest.approx(best, abs=1e-6)
    assert len(res.chosen) == 2
    assert all(0 <= i < nodes.size for i in res.chosen)  # indexes the original candidates


def test_distinct_candidates_drop_only_twins():
    rows = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 0], [1, 1, 0]], dtype=float)
    p = CoverageProblem(sp.csr_matrix(rows), np.ones(3), np.zeros(3))
    assert distinct_candidates(p).tolist() == [0, 2]
    # demand already covered does not make twins different
    p2 = CoverageProblem(sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0]], dtype=float)), np.ones(3),
                         np.array([0.0, 1.0, 0.0]))
    assert distinct_candidates(p2).tolist() == [0]
    # with capacity two sites side by side are both kept
    p3 = CoverageProblem(sp.csr_matrix(rows), np.ones(3), np.zeros(3), capacity=1.0)
    assert distinct_candidates(p3).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_capacity_table_adds_up_to_the_objective(seed):
    p = real_problem("beijing_chaoyang_wangjing.osm", 8, seed=seed, capacity=60.0)
    res = solve_exact(p, add=3)
    base = float((p.weight * np.minimum(p.base, 1.0)).sum())
    assert base + sum(res.gains) == pytest.approx(res.exact_value, rel=1e-6)
    assert res.covered == pytest.approx(res.exact_value, rel=1e-6)
    assert res.gains == sorted(res.gains, reverse=True)
    # capacity binds: no site gains more than it can serve
    assert max(res.gains) <= 60.0 + 1e-6
