"""The fast snapping path (KD-tree with an exact check) equals the R-tree path, ties included.

Oracles: the R-tree path (``method="strtree"``, shapely's STRtree), and for the tie rule a brute
force over every edge with shapely's distance on grids where distances are exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from mzgis.analysis.snapping import SegmentIndex, main_component_edges
from mzgis.layers.network import build_graph
from tests.analysis.test_reach import EXTRACTS, real_graph


def _assert_same(a, b):
    np.testing.assert_array_equal(a.edge, b.edge)
    np.testing.assert_allclose(a.t, b.t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.access_m, b.access_m, rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(a.moved, b.moved)
    np.testing.assert_allclose(a.moved_extra_m, b.moved_extra_m, rtol=0, atol=1e-9)


def _mixed_points(g, n, seed):
    """Near edges, on nodes, at edge midpoints, far away (beyond the maximum), and NaN."""
    rng = np.random.default_rng(seed)
    e = rng.integers(0, g.n_edges, n)
    t = rng.uniform(0, 1, n)
    x = g.x[g.u[e]] + t * (g.x[g.v[e]] - g.x[g.u[e]]) + rng.normal(0, 40, n)
    y = g.y[g.u[e]] + t * (g.y[g.v[e]] - g.y[g.u[e]]) + rng.normal(0, 40, n)
    nodes = rng.integers(0, g.n_nodes, n // 10)
    mid = rng.integers(0, g.n_edges, n // 10)
    x0, x1, y0, y1 = g.x.min(), g.x.max(), g.y.min(), g.y.max()
    far_x = rng.uniform(x0 - 3000, x1 + 3000, n // 5)
    far_y = rng.uniform(y0 - 3000, y1 + 3000, n // 5)
    xs = np.concatenate([x, g.x[nodes], (g.x[g.u[mid]] + g.x[g.v[mid]]) / 2, far_x, [np.nan, 1.0]])
    ys = np.concatenate([y, g.y[nodes], (g.y[g.u[mid]] + g.y[g.v[mid]]) / 2, far_y, [0.0, np.nan]])
    return xs, ys


@pytest.mark.parametrize("name", EXTRACTS)
@pytest.mark.parametrize("snap_to", ["main", "any"])
def test_fast_equals_strtree_on_real_extracts(name, snap_to):
    g = real_graph(name)
    x, y = _mixed_points(g, 3000, seed=11)
    for max_d in (300.0, 25.0):
        fast_index = SegmentIndex(g, snap_to=snap_to, method="fast")
        fast = fast_index.snap(x, y, max_distance_m=max_d)
        ref = SegmentIndex(g, snap_to=snap_to, method="strtree").snap(x, y, max_distance_m=max_d)
        _assert_same(fast, ref)
        # the fast path answered most points itself (the R-tree only the unproven few)
        assert fast_index.main.last_fallback < 0.2 * x.size
        assert fast.ok.sum() > 0.5 * x.size if max_d == 300.0 else fast.ok.any()
    if snap_to == "main":
        assert (~main_component_edges(g)).any()  # these extracts do have islands
        assert fast.moved.any()


def _grid(n=6, step=10.0, shuffle_seed=None):
    """An n×n street grid with integer coordinates; optionally the edges in a random order."""
    ij = np.array([(i, j) for i in range(n) for j in range(n)])
    x, y = ij[:, 0] * step, ij[:, 1] * step
    node = {(i, j): k for k, (i, j) in enumerate(ij.tolist())}
    u, v = [], []
    for (i, j), k in node.items():
        if (i + 1, j) in node:
            u.append(k)
            v.append(node[(i + 1, j)])
        if (i, j + 1) in node:
            u.append(k)
            v.append(node[(i, j + 1)])
    u, v = np.array(u), np.array(v)
    if shuffle_seed is not None:
        p = np.random.default_rng(shuffle_seed).permutation(u.size)
        u, v = u[p], v[p]
    return build_graph(x.astype(float), y.astype(float), np.arange(x.size), u, v, "EPSG:32650")


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_ties_go_to_the_lowest_edge_index(seed):
    g = _grid(shuffle_seed=seed)
    lines = shapely.linestrings(np.stack([np.column_stack([g.x[g.u], g.y[g.u]]),
                                          np.column_stack([g.x[g.v], g.y[g.v]])], axis=1))
    # cell centres (4 edges at 5 m), nodes (2-4 edges at 0 m), between parallel edges (2 at 5 m),
    # on an edge (1 edge, or 2-4 at a node), and just outside the grid at a corner
    cx, cy = np.meshgrid(np.arange(5.0, 50.0, 10.0), np.arange(5.0, 50.0, 10.0))
    nx_, ny_ = np.meshgrid(np.arange(0.0, 60.0, 10.0), np.arange(0.0, 60.0, 10.0))
    bx, by = np.meshgrid(np.arange(5.0, 50.0, 10.0), np.arange(0.0, 60.0, 10.0))
    x = np.concatenate([cx.ravel(), nx_.ravel(), bx.ravel(), [2.5, -3.0, 53.0, 25.0]])
    y = np.concatenate([cy.ravel(), ny_.ravel(), by.ravel() + 5.0, [0.0, -4.0, 54.0, 5.0]])
    d = shapely.distance(shapely.points(x, y)[:, None], lines[None, :])
    best = d.min(axis=1)
    expect = np.array([np.flatnonzero(row == b).min() for row, b in zip(d, best, strict=True)])
    assert (np.sum(d == best[:, None], axis=1) > 1).sum() > 40  # many exact ties in the oracle
    for method in ("fast", "strtree"):
        s = SegmentIndex(g, snap_to="any", method=method).snap(x, y, max_distance_m=300)
        np.testing.assert_array_equal(s.edge, expect)
        np.testing.assert_allclose(s.access_m, best, atol=1e-12)


def test_max_distance_is_inclusive_on_both_paths():
    g = _grid()
    # exactly 7 m below the grid, and a hair further
    x = np.array([25.0, 25.0, -7.0])
    y = np.array([-7.0, -7.0 - 1e-7, 25.0])
    for method in ("fast", "strtree"):
        s = SegmentIndex(g, snap_to="any", method=method).snap(x, y, max_distance_m=7.0)
        assert s.ok.tolist() == [True, False, True]


def test_snapped_positions_are_cached_per_graph(tmp_path):
    g = _grid()
    g.cache_dir, g.cache_key = str(tmp_path), "grid-a"
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-20, 70, 500), rng.uniform(-20, 70, 500)
    first = SegmentIndex(g).snap(x, y, max_distance_m=30)
    files = list(tmp_path.glob("snap-*.npz"))
    assert len(files) == 1
    # a new index (another command) reads them back instead of snapping again
    again = SegmentIndex(g, method="strtree")
    got = again.snap(x, y, max_distance_m=30)
    _assert_same(got, first)
    assert again.main._tree is None  # nothing was indexed: the positions came from the cache
    # other points, another maximum or another graph are other entries
    SegmentIndex(g).snap(x + 1, y, max_distance_m=30)
    SegmentIndex(g).snap(x, y, max_distance_m=31)
    g.cache_key = "grid-b"
    SegmentIndex(g).snap(x, y, max_distance_m=30)
    assert len(list(tmp_path.glob("snap-*.npz"))) == 4
    # an unreadable cache file is ignored and rewritten
    files[0].write_bytes(b"not a npz")
    g.cache_key = "grid-a"
    _assert_same(SegmentIndex(g).snap(x, y, max_distance_m=30), first)


def test_shared_index_is_reused_per_graph_and_setting():
    g = _grid()
    a = SegmentIndex.shared(g)
    assert SegmentIndex.shared(g) is a
    assert SegmentIndex.shared(g, snap_to="any") is not a
    assert SegmentIndex.shared(_grid()) is not a


@pytest.mark.parametrize("name", EXTRACTS[:2])
def test_the_last_resort_of_the_fast_path_is_exact_too(name, monkeypatch):
    """With a single sample per point most points are not proven and go to the ball query."""
    import mzgis.analysis.snapping as snapping

    monkeypatch.setattr(snapping, "_K", (1,))
    g = real_graph(name)
    x, y = _mixed_points(g, 2000, seed=5)
    idx = SegmentIndex(g, method="fast")
    fast = idx.snap(x, y, max_distance_m=300.0)
    assert idx.main.last_fallback > 0.3 * x.size
    _assert_same(fast, SegmentIndex(g, method="strtree").snap(x, y, max_distance_m=300.0))


@pytest.mark.parametrize("name", EXTRACTS[:2])
@pytest.mark.parametrize("threads", ["2", "3"])
def test_parallel_strips_equal_the_rtree(name, threads, monkeypatch):
    """The KD path split into vertical strips searched in threads (as on a city network) answers
    exactly as the R-tree: points spread everywhere and points crowded on the strip borders, at a
    maximum distance inside the strips' overlap and at one beyond it (which widens them)."""
    import mzgis.analysis.snapping as snapping

    monkeypatch.setattr(snapping, "_STRIP_MIN_SAMPLES", 0)
    monkeypatch.setenv("MZGIS_THREADS", threads)
    g = real_graph(name)
    x, y = _mixed_points(g, 3000, seed=5)
    fast_index = SegmentIndex(g, snap_to="main", method="fast")
    ref_index = SegmentIndex(g, snap_to="main", method="strtree")
    fast_index.snap(x[:10], y[:10], max_distance_m=300.0)  # builds the strips
    strips = fast_index.main._strips
    assert len(strips) == int(threads)
    cuts = np.array([s.lo for s in strips[1:]])
    # each strip's tree really holds only its part (plus the overlap), not the whole network
    tab, h = fast_index.main.table, fast_index.main.h
    total = int((np.maximum(np.ceil(np.hypot(tab.dx, tab.dy) / h), 1) + 1).sum())
    assert all(s.owner.size < total for s in strips)
    assert sum(s.owner.size for s in strips) >= total
    rng = np.random.default_rng(3)
    # on each border, and within a few metres to a few hundred metres either side of it
    bx = np.repeat(cuts, 400) + rng.choice([-1, 1], 400 * cuts.size) * rng.uniform(0, 500, 400 * cuts.size)
    bx[::50] = np.repeat(cuts, 400)[::50]
    by = rng.uniform(g.y.min(), g.y.max(), bx.size)
    xs, ys = np.concatenate([x, bx]), np.concatenate([y, by])
    for max_d in (300.0, 900.0):
        _assert_same(fast_index.snap(xs, ys, max_distance_m=max_d), ref_index.snap(xs, ys, max_distance_m=max_d))
        assert fast_index.main._margin >= max_d
