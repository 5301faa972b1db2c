"""City-scale siting: generated candidates above ``max_candidates`` are thinned to one node per
grid cell, solved over, then refined by local swaps (``site_on_network``).

Oracle: networkx shortest paths on a real extract. Demand points, existing stations and
candidate nodes sit exactly on network nodes, so a site covers a demand point exactly when the
networkx node-to-node distance is within the limit; every coverage value is recomputed from that.
"""

from __future__ import annotations

import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest

from mzgis.analysis import siting
from mzgis.analysis.siting import (
    THIN_CELLS_M,
    CoverageProblem,
    existing_coverage,
    generate_candidates,
    site_on_network,
    solve,
    thin_candidates,
)
from mzgis.analysis.snapping import SegmentIndex
from mzgis.errors import ParameterError
from tests.analysis.test_reach import real_graph
from tests.analysis.test_siting_candidates import _nx_graph

LIMIT = 300.0
CAP = 120


@pytest.fixture(scope="module")
def case():
    g = real_graph("beijing_chaoyang_wangjing.osm")
    rng = np.random.default_rng(11)
    nodes = rng.choice(g.n_nodes, 182, replace=False)
    dem_n, fac_n = nodes[:180], nodes[180:]
    dem = gpd.GeoDataFrame({"households": rng.integers(1, 50, dem_n.size).astype(float)},
                           geometry=gpd.points_from_xy(g.x[dem_n], g.y[dem_n]), crs=g.crs)
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(g.x[fac_n], g.y[fac_n]), crs=g.crs)
    G = _nx_graph(g)
    reach = {int(n): {m for m, d in nx.single_source_dijkstra_path_length(G, int(n), cutoff=LIMIT,
                                                                           weight="weight").items()
                      if d <= LIMIT - 1e-6} for n in G.nodes}
    index = SegmentIndex(g, snap_to="any")
    return g, dem, fac, dem_n, fac_n, reach, index


def _oracle_covered(case, sites):
    """Households within LIMIT of an existing station or of a site (nodes), by networkx."""
    _g, dem, _fac, dem_n, fac_n, reach, _ = case
    near = set().union(*(reach[int(n)] for n in [*fac_n, *sites]))
    w = dem["households"].to_numpy()
    return float(sum(wj for n, wj in zip(dem_n.tolist(), w, strict=True) if n in near))


def _node_of(g):
    return {f"N{int(i)}": k for k, i in enumerate(g.node_ids)}


def _generated(case):
    """The generated candidate nodes, by networkx: nodes within LIMIT of uncovered demand."""
    _g, _dem, _fac, dem_n, fac_n, reach, _ = case
    covered = set().union(*(reach[int(n)] for n in fac_n))
    need = [int(n) for n in dem_n if int(n) not in covered]
    return {k for k in reach if reach[k] & set(need)}


def _untimed(note):
    return re.sub(r"\d+\.\d+ s\b", "… s", note)


def _run(case, **kw):
    g, dem, fac, *_, index = case
    return site_on_network(g, dem, fac, limit_m=LIMIT, add=4, max_snap_m=0.01, index=index, **kw)


def test_thinned_sites_are_generated_nodes_and_their_value_is_the_networkx_value(case):
    g = case[0]
    res, problem, used = _run(case, max_candidates=CAP)
    info = res.thinning
    assert info is not None, "the case must be above the cap"
    gen = _generated(case)
    assert info.nodes == len(gen)
    assert info.representatives <= CAP < info.nodes
    sites = [_node_of(g)[problem.candidate_ids[i]] for i in res.chosen]
    assert len(set(sites)) == 4
    assert set(sites) <= gen  # (a) every chosen site is a generated candidate node
    assert res.covered == pytest.approx(_oracle_covered(case, sites), abs=1e-6)  # (b)
    # the ranked gains add up to the value, each the networkx gain over the sites before it
    for k in range(1, 5):
        assert res.gains[k - 1] == pytest.approx(_oracle_covered(case, sites[:k]) - _oracle_covered(case, sites[:k - 1]))
    assert res.total == pytest.approx(float(case[1]["households"].sum()))
    assert len(used) == problem.n_candidates


def test_refinement_never_loses_and_ends_locally_optimal(case):
    g = case[0]
    before, _p0, _ = _run(case, max_candidates=CAP, refine_passes=0)
    res, problem, _ = _run(case, max_candidates=CAP)
    info = res.thinning
    assert info is not None
    assert before.thinning is not None
    assert before.thinning.passes == 0
    assert res.covered >= before.covered - 1e-9  # (c)
    assert info.covered_before == pytest.approx(before.covered)
    assert info.swaps > 0, "the case must exercise the refinement"
    assert info.converged
    # (d) brute force: no single swap of a chosen site for a generated node within the cell size improves
    node_of = _node_of(g)
    sites = [node_of[problem.candidate_ids[i]] for i in res.chosen]
    gen = np.array(sorted(_generated(case)))
    best = _oracle_covered(case, sites)
    tried = 0
    for k, s in enumerate(sites):
        near = gen[np.hypot(g.x[gen] - g.x[s], g.y[gen] - g.y[s]) <= info.cell_m]
        for c in near.tolist():
            if c in sites:
                continue
            tried += 1
            assert _oracle_covered(case, [*sites[:k], c, *sites[k + 1:]]) <= best + 1e-6
    assert tried > 20


def test_refinement_near_and_on_a_grid_when_the_neighbourhood_is_large(case, monkeypatch):
    """With more nodes around the sites than the budget, every node within a step and a grid of
    nodes out to the cell size: still never worse, and no swap within the step improves."""
    g = case[0]
    full, _, _ = _run(case, max_candidates=CAP)
    monkeypatch.setattr(siting, "REFINE_MAX_NODES", 40)
    before, _, _ = _run(case, max_candidates=CAP, refine_passes=0)
    res, problem, _ = _run(case, max_candidates=CAP)
    info = res.thinning
    assert info is not None
    assert full.thinning is not None
    assert full.thinning.step_m == full.thinning.cell_m  # the default budget: every node within the cell
    assert 10.0 <= info.step_m < info.cell_m
    assert info.tried < full.thinning.tried
    assert info.converged
    assert res.covered >= before.covered - 1e-9
    node_of = _node_of(g)
    sites = [node_of[problem.candidate_ids[i]] for i in res.chosen]
    assert res.covered == pytest.approx(_oracle_covered(case, sites), abs=1e-6)
    gen = np.array(sorted(_generated(case)))
    best = _oracle_covered(case, sites)
    for k, s in enumerate(sites):
        for c in gen[np.hypot(g.x[gen] - g.x[s], g.y[gen] - g.y[s]) <= info.step_m].tolist():
            if c not in sites:
                assert _oracle_covered(case, [*sites[:k], c, *sites[k + 1:]]) <= best + 1e-6
    assert f"every candidate node within {info.step_m:g} m and one per {info.step_m:g} m cell" in res.notes[0]


def _oracle_allocated(case, sites, cap):
    """With capacity: each site in turn serves the households within LIMIT (networkx) that neither
    an existing station nor an earlier site serves, in demand order, up to ``cap``."""
    _g, dem, _fac, dem_n, fac_n, reach, _ = case
    w = dem["households"].to_numpy()
    covered = set().union(*(reach[int(n)] for n in fac_n))
    rem = [0.0 if int(n) in covered else float(wj) for n, wj in zip(dem_n.tolist(), w, strict=True)]
    total = float(sum(wj for n, wj in zip(dem_n.tolist(), w, strict=True) if int(n) in covered))
    for s in sites:
        left = cap
        for j, n in enumerate(dem_n.tolist()):
            if n in reach[int(s)] and rem[j] > 0 and left > 0:
                take = min(rem[j], left)
                rem[j] -= take
                left -= take
                total += take
    return total


def test_capacitated_refinement_keeps_the_order_and_ends_locally_optimal(case):
    g = case[0]
    cap = 300.0  # binds for some sites, not all
    before, _, _ = _run(case, max_candidates=CAP, refine_passes=0, capacity_households=cap, method="greedy")
    res, problem, _ = _run(case, max_candidates=CAP, capacity_households=cap, method="greedy")
    info = res.thinning
    assert info is not None
    assert info.passes > 0
    assert info.converged
    node_of = _node_of(g)
    sites = [node_of[problem.candidate_ids[i]] for i in res.chosen]
    best = _oracle_allocated(case, sites, cap)
    assert res.covered == pytest.approx(best, abs=1e-6)
    assert res.covered >= before.covered - 1e-9
    assert info.swaps > 0, "the case must exercise the refinement"
    assert sum(res.gains) == pytest.approx(res.covered - (before.covered - sum(before.gains)))
    gen = np.array(sorted(_generated(case)))
    for k, s in enumerate(sites):
        for c in gen[np.hypot(g.x[gen] - g.x[s], g.y[gen] - g.y[s]) <= info.cell_m].tolist():
            if c not in sites:
                assert _oracle_allocated(case, [*sites[:k], c, *sites[k + 1:]], cap) <= best + 1e-6


def test_below_the_cap_nothing_changes(case):
    g, dem, fac, *_, index = case
    res, problem, used = _run(case)  # default cap: far above this case's candidates
    assert res.thinning is None
    # today's pipeline, step by step
    base = existing_coverage(g, dem, fac, limit_m=LIMIT, max_snap_m=0.01, index=index)
    cand = generate_candidates(g, dem, covered=base, limit_m=LIMIT, max_snap_m=0.01, index=index)
    p = CoverageProblem.from_network(g, dem, cand, base=base, limit_m=LIMIT, max_snap_m=0.01, index=index)
    want = solve(p, add=4)
    assert [problem.candidate_ids[i] for i in res.chosen] == [p.candidate_ids[i] for i in want.chosen]
    assert (res.covered, res.gains, res.method) == (want.covered, want.gains, want.method)
    assert [_untimed(n) for n in res.notes] == [_untimed(n) for n in want.notes]
    assert used["feature_id"].tolist() == cand["feature_id"].tolist()
    assert (problem.value != p.value).nnz == 0
    # a cap at the number of generated nodes is not exceeded: still exact over all of them
    same, _, _ = _run(case, max_candidates=len(cand))
    assert same.thinning is None
    assert same.covered == want.covered


def test_notes_say_what_was_thinned(case):
    res, _, _ = _run(case, max_candidates=CAP)
    info = res.thinning
    assert info is not None
    note = res.notes[0]
    assert note.startswith("候选已抽稀 candidates thinned")
    for part in (f"{info.nodes} 个候选路网节点 candidate network nodes", f"one per {info.cell_m:g} m grid cell",
                 f"{info.representatives} 个代表点 representatives", f"{info.swaps} 次替换 swaps",
                 f"{info.passes} 轮 passes"):
        assert part in note
    assert "over thinned candidates" in res.method
    # set covering is thinned too, without the refinement, and says so
    g, dem, fac, *_, index = case
    tgt, _, _ = site_on_network(g, dem, fac, limit_m=LIMIT, target_share=0.5, max_snap_m=0.01, index=index,
                                max_candidates=CAP)
    assert tgt.thinning is not None
    assert tgt.thinning.passes == 0
    assert "no local refinement" in tgt.notes[0]


@pytest.mark.parametrize("bad", [0, -5, True])
def test_max_candidates_must_be_a_positive_whole_number(case, bad):
    with pytest.raises(ParameterError, match="max_candidates"):
        _run(case, max_candidates=bad)


def test_thin_candidates_one_per_cell_nearest_the_mean():
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 2000, 3000), rng.uniform(0, 1500, 3000)
    cap = 200
    keep, cell = thin_candidates(x, y, max_candidates=cap)
    assert cell in THIN_CELLS_M
    # oracle: group by cell in plain Python
    def groups(size):
        out: dict[tuple[int, int], list[int]] = {}
        for i, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
            out.setdefault((int(a // size), int(b // size)), []).append(i)
        return out
    cells = groups(cell)
    assert len(cells) <= cap
    smaller = [c for c in THIN_CELLS_M if c < cell]
    assert all(len(groups(c)) > cap for c in smaller)  # the smallest cell size that fits
    want = []
    for members in cells.values():
        mx, my = np.mean(x[members]), np.mean(y[members])
        want.append(min(members, key=lambda i: ((x[i] - mx) ** 2 + (y[i] - my) ** 2, i)))
    assert keep.tolist() == sorted(want)
