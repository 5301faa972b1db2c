"""Partitioned reach (mzgis.analysis.partition) on real OpenStreetMap extracts and the real Beijing
subdistrict polygons: the answer must be *identical* — every value, bit for bit — to the
single-process :func:`network_reach`, which is the specification. The partitions run in this
process here (``workers=0``); tests/gis/test_partitioned.py runs them on a Dask cluster.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis import partition
from mzgis.analysis.partition import (
    partition_by_units,
    reach_partition,
    reach_partitioned,
    subgraph,
)
from mzgis.analysis.reach import network_reach, points_xy
from mzgis.analysis.snapping import main_component_edges
from mzgis.layers.network import MIN_EDGE_M
from tests.analysis.test_reach import EXTRACTS, real_graph
from tests.conftest import shared

SPEED = 4000.0 / 60.0


def _case(name: str, seed: int = 5, n: int = 3000, n_fac: int = 8):
    """The extract's graph, the real subdistricts over it (all but one, so that some points lie
    outside every unit), demand points scattered around the streets (some beyond the snapping
    distance) and facilities near random nodes."""
    g = real_graph(name)
    sd = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"), engine="pyogrio")
    bb = gpd.GeoSeries([shapely.box(g.x.min(), g.y.min(), g.x.max(), g.y.max())], crs=g.crs).to_crs(sd.crs).iloc[0]
    sd = sd[sd.intersects(bb)].reset_index(drop=True)
    sd["feature_id"] = [f"U{i}" for i in range(len(sd))]
    rng = np.random.default_rng(seed)
    e = rng.integers(0, g.n_edges, n)
    t = rng.uniform(0, 1, n)
    x = g.x[g.u[e]] + t * (g.x[g.v[e]] - g.x[g.u[e]]) + rng.normal(0, 60, n)
    y = g.y[g.u[e]] + t * (g.y[g.v[e]] - g.y[g.u[e]]) + rng.normal(0, 60, n)
    dem = gpd.GeoDataFrame({"feature_id": [f"D{i}" for i in range(n)]}, geometry=gpd.points_from_xy(x, y),
                           crs=g.crs).to_crs("EPSG:4326")
    # leave out the unit holding the second most points: they go to cells
    held = gpd.sjoin(dem[["geometry"]].to_crs(sd.crs), sd[["feature_id", "geometry"]],
                     predicate="within")["feature_id"].value_counts()
    units = sd[sd["feature_id"] != held.index[min(1, len(held) - 1)]].reset_index(drop=True)
    fn = rng.choice(g.n_nodes, n_fac, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(n_fac)]},
                           geometry=gpd.points_from_xy(g.x[fn] + rng.normal(0, 30, n_fac), g.y[fn] + rng.normal(0, 30, n_fac)),
                           crs=g.crs)
    return g, units, dem, fac


def _assert_identical(res, ref):
    pd.testing.assert_frame_equal(res.demand, ref.demand, check_exact=True)
    pd.testing.assert_frame_equal(res.facility_snap, ref.facility_snap, check_exact=True)
    assert res.unsnapped_demand == ref.unsnapped_demand
    assert res.unsnapped_facilities == ref.unsnapped_facilities
    assert res.island_summary() == ref.island_summary()


@pytest.mark.parametrize("name", EXTRACTS)
@pytest.mark.parametrize("minutes", [[5.0], [5.0, 10.0, 15.0]])
def test_partitioned_reach_is_identical_on_real_extracts(name, minutes):
    g, units, dem, fac = _case(name)
    ref = network_reach(g, fac, dem, thresholds_min=minutes, pairs=False)
    res = reach_partitioned(g, fac, dem, units=units, thresholds_min=minutes, workers=0, cell_m=500.0)
    _assert_identical(res, ref)
    # the run was partitioned for real: several partitions, some on a piece of the graph only,
    # and points outside every unit in cells
    tasks = list(partition_by_units(g, points_xy(fac, g.crs), points_xy(dem, g.crs), units,
                                    limit_m=max(minutes) * SPEED, max_snap_m=300.0, cell_m=500.0))
    assert len(tasks) >= 3
    assert min(t.graph.n_edges for t in tasks) < g.n_edges
    assert any(t.key.startswith("cell:") for t in tasks)
    assert sorted(np.concatenate([t.dem_rows for t in tasks]).tolist()) == list(range(len(dem)))
    assert ref.demand["minutes"].notna().sum() > 100  # something is covered


def test_comparison_catches_a_buffer_that_is_too_small(monkeypatch):
    """The exact comparison is sensitive: partitions clipped 400 m short of the reach distance give
    other answers (points lose their facility or take a longer path)."""
    g, units, dem, fac = _case("beijing_haidian_tsinghua_pku.osm")
    ref = network_reach(g, fac, dem, thresholds_min=[15.0], pairs=False)
    monkeypatch.setattr(partition, "MARGIN_M", -400.0)
    res = reach_partitioned(g, fac, dem, units=units, thresholds_min=[15.0], workers=0, cell_m=500.0)
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(res.demand, ref.demand, check_exact=True)


def test_whole_graph_main_network_is_needed():
    """On the sparse, badly connected Yizhuang extract a clipped piece's own largest component is
    not the whole graph's main network: snapping to it (instead of shipping the whole graph's
    flags) changes the answer; with the shipped flags it is identical."""
    g, units, dem, fac = _case("beijing_daxing_yizhuang_bda.osm")
    ref = network_reach(g, fac, dem, thresholds_min=[5.0], pairs=False)
    tasks = list(partition_by_units(g, points_xy(fac, g.crs), points_xy(dem, g.crs), units,
                                    limit_m=5 * SPEED, max_snap_m=300.0, cell_m=500.0))
    assert any((t.on_main != main_component_edges(t.graph)).any() for t in tasks)
    for own_component in (False, True):
        minutes = np.full(len(dem), np.nan)
        access = np.full(len(dem), np.nan)
        for t in tasks:
            if own_component:
                t = dataclasses.replace(t, on_main=main_component_edges(t.graph))
            r = reach_partition(t)
            minutes[r.dem_rows] = np.where(np.isfinite(r.distance_m), r.distance_m / SPEED, np.nan)
            access[r.dem_rows] = r.access_m
        same = (np.array_equal(minutes, ref.demand["minutes"].to_numpy(), equal_nan=True)
                and np.array_equal(access, ref.demand["access_m"].to_numpy(), equal_nan=True))
        assert same is (not own_component)


def test_subgraph_keeps_distances_and_order():
    """A piece of the graph keeps each edge's length (the same float) and the order of edges and
    nodes, so snapping ties (lowest edge index) and path sums are the same."""
    g = real_graph("beijing_chaoyang_wangjing.osm")
    rng = np.random.default_rng(1)
    e = np.sort(rng.choice(g.n_edges, g.n_edges // 3, replace=False))
    s = subgraph(g, e)
    assert s.n_edges == e.size
    np.testing.assert_array_equal(s.length_m, g.length_m[e])
    np.testing.assert_array_equal(s.x[s.u], g.x[g.u[e]])
    np.testing.assert_array_equal(s.y[s.v], g.y[g.v[e]])
    where = {int(i): k for k, i in enumerate(g.node_ids.tolist())}
    assert (np.diff([where[int(i)] for i in s.node_ids]) > 0).all()  # nodes in their original order
    # the CSR is the symmetric adjacency of exactly these edges
    m = s.csr()
    np.testing.assert_array_equal(m[s.u, s.v].A1, np.maximum(s.length_m, MIN_EDGE_M))
    assert m.nnz == 2 * s.n_edges


def test_empty_inputs():
    g, units, dem, fac = _case("beijing_chaoyang_wangjing.osm", n=50, n_fac=2)
    ref = network_reach(g, fac.iloc[:0], dem, pairs=False)
    res = reach_partitioned(g, fac.iloc[:0], dem, units=units, workers=0)
    _assert_identical(res, ref)
    ref = network_reach(g, fac, dem.iloc[:0], pairs=False)
    res = reach_partitioned(g, fac, dem.iloc[:0], units=units, workers=0)
    _assert_identical(res, ref)
    # no units at all: every point in cells
    ref = network_reach(g, fac, dem, pairs=False)
    _assert_identical(reach_partitioned(g, fac, dem, units=units.iloc[:0], workers=0, cell_m=700.0), ref)


def test_snap_to_any_and_points_without_coordinates():
    """``snap_to="any"`` (every piece of network may receive points) is partitioned the same way,
    and a demand point without a geometry stays unsnapped in its own partition."""
    g, units, dem, fac = _case("beijing_haidian_tsinghua_pku.osm", n=800)
    dem = dem.copy()
    dem.loc[dem.index[:3], "geometry"] = None
    ref = network_reach(g, fac, dem, thresholds_min=[10.0], pairs=False, snap_to="any")
    assert ref.demand["snapped"].sum() < len(dem)
    res = reach_partitioned(g, fac, dem, units=units, thresholds_min=[10.0], snap_to="any", workers=0, cell_m=500.0)
    _assert_identical(res, ref)
    assert res.snap_to == "any"
    assert set(ref.unsnapped_demand) >= {"D0", "D1", "D2"}
