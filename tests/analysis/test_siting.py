"""Siting: exact equals exhaustive search on small real instances; the greedy keeps its bound."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mzgis.analysis.reach import facility_pairs
from mzgis.analysis.siting import (
    GREEDY_BOUND,
    CoverageProblem,
    SitingError,
    exhaustive,
    solve,
    solve_exact,
    solve_greedy,
)
from mzgis.analysis.snapping import snap_points
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import graph_from_osm, osm_bounds
from tests.conftest import shared


def real_problem(name: str, n_cand: int, seed: int, *, existing: int = 1, limit: float = 600.0,
                 capacity: float | None = None, decay: bool = False) -> CoverageProblem:
    path = shared(f"osm/{name}")
    b = osm_bounds(path)
    g = graph_from_osm(path, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    rng = np.random.default_rng(seed)
    nodes = rng.choice(g.n_nodes, n_cand + existing, replace=False)
    cs = snap_points(g, g.x[nodes[:n_cand]], g.y[nodes[:n_cand]], max_distance_m=1, snap_to="any")
    ds = snap_points(g, g.x, g.y, max_distance_m=1, snap_to="any")
    weight = rng.integers(1, 50, g.n_nodes).astype(float)
    base = np.zeros(g.n_nodes)
    if existing:
        es = snap_points(g, g.x[nodes[n_cand:]], g.y[nodes[n_cand:]], max_distance_m=1, snap_to="any")
        _, d_e, dist_e = facility_pairs(g, es, ds, limit_m=limit)
        base[d_e] = 1.0 if not decay else np.maximum(base[d_e], 1 - dist_e / limit)
    f, d, dist = facility_pairs(g, cs, ds, limit_m=limit)
    vals = np.ones_like(dist) if not decay else np.clip(1 - dist / limit, 1e-9, 1)
    return CoverageProblem(sp.csr_matrix((vals, (f, d)), shape=(n_cand, g.n_nodes)), weight, base, capacity)


@pytest.mark.parametrize(("name", "add"), [("beijing_chaoyang_wangjing.osm", 2), ("beijing_chaoyang_wangjing.osm", 3),
                                           ("beijing_haidian_tsinghua_pku.osm", 3),
                                           ("beijing_daxing_yizhuang_bda.osm", 2)])
def test_exact_equals_exhaustive_optimum(name, add):
    p = real_problem(name, 9, seed=add)
    best, _ = exhaustive(p, add)
    ex = solve_exact(p, add=add)
    assert ex.covered == pytest.approx(best, rel=1e-9)
    assert ex.exact_value == pytest.approx(best, rel=1e-9)
    gr = solve_greedy(p, add=add)
    assert gr.covered <= best + 1e-9
    assert gr.covered >= GREEDY_BOUND * best
    # the ranked gains add up to the coverage
    base = float((p.weight * p.base).sum())
    assert base + sum(ex.gains) == pytest.approx(ex.covered)
    assert ex.gains == sorted(ex.gains, reverse=True)


def test_exact_with_decay_equals_exhaustive():
    p = real_problem("beijing_chaoyang_wangjing.osm", 7, seed=5, decay=True)
    best, _ = exhaustive(p, 2)
    ex = solve_exact(p, add=2)
    assert ex.exact_value == pytest.approx(best, rel=1e-6)


def test_set_covering_minimum_matches_exhaustive():
    p = real_problem("beijing_chaoyang_wangjing.osm", 8, seed=9)
    # a target between the baseline and what all candidates together reach
    lo, hi = float((p.weight * p.base).sum()) / p.total, p.covered(list(range(8))) / p.total
    share = lo + 0.8 * (hi - lo)
    need = None
    for k in range(1, 9):
        if exhaustive(p, k)[0] >= share * p.total - 1e-9:
            need = k
            break
    assert need is not None
    ex = solve(p, target_share=share, method="exact")
    assert len(ex.chosen) == need
    assert ex.covered >= share * p.total - 1e-6
    gr = solve_greedy(p, target_share=share)
    assert len(gr.chosen) >= need


def test_greedy_within_bound_on_a_larger_instance():
    p = real_problem("beijing_haidian_tsinghua_pku.osm", 150, seed=1, limit=400)
    res = solve(p, add=8, method="auto")
    assert res.method.startswith("exact")
    assert res.greedy_value is not None
    assert res.exact_value is not None
    assert res.greedy_value <= res.exact_value + 1e-6
    assert res.greedy_value >= GREEDY_BOUND * res.exact_value
    assert res.gap is not None
    assert 0 <= res.gap <= 1 - GREEDY_BOUND
    assert any("gap" in n for n in res.notes)


def test_capacity_limits_each_site():
    p = real_problem("beijing_chaoyang_wangjing.osm", 20, seed=2, capacity=300.0)
    res = solve_greedy(p, add=4)
    assert all(g <= 300.0 + 1e-9 for g in res.gains)
    unlimited = solve_greedy(CoverageProblem(p.value, p.weight, p.base), add=4)
    assert sum(res.gains) <= sum(unlimited.gains) + 1e-9


def test_auto_falls_back_to_greedy_and_says_so():
    p = real_problem("beijing_chaoyang_wangjing.osm", 30, seed=3)
    res = solve(p, add=3, exact_max_pairs=10)
    assert res.method == "greedy"
    assert any("greedy" in n for n in res.notes)


def test_bad_requests():
    p = real_problem("beijing_chaoyang_wangjing.osm", 4, seed=4)
    with pytest.raises(SitingError, match="exactly one"):
        solve(p)
    with pytest.raises(SitingError, match=r"not reachable|Infeasible"):
        solve_exact(p, target_share=1.01)
