"""Reading OSM ways fast: worker processes, the OPL round trip, the direct CSR (issue 15).

Each fast path is compared with a plain reader written here from pyosmium's public interface (one
Python object per node, the walk filter on a ``TagList``), and the graph builder with a dict of
shortest parallel edges and SciPy's own COO-to-CSR conversion.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
import scipy.sparse as sp

from mzgis.errors import NetworkError
from mzgis.layers import network
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import (
    build_graph,
    default_workers,
    graph_from_osm,
    read_osm_ways,
    walk_way_filter,
)
from tests.conftest import shared

HEIDELBERG = "osm/heidelberg.osm.pbf"
XML = "osm/beijing_haidian_tsinghua_pku.osm"
GRAPH_FIELDS = ("x", "y", "node_ids", "u", "v", "length_m", "indptr", "indices", "weights")


def _plain_reader(path):
    """The kept ways through pyosmium's public objects, node by node: ``(ids, lon, lat, segs)``
    with ``segs`` the set of (id, id) segments whose two nodes have a location."""
    import osmium

    rows, lens = [], []
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in fp.with_filter(osmium.filter.KeyFilter("highway")):
        if isinstance(obj, osmium.osm.Way) and walk_way_filter(obj.tags) and len(obj.nodes) >= 2:
            nodes = [(nd.ref, nd.location.valid(), nd.lon if nd.location.valid() else np.nan,
                      nd.lat if nd.location.valid() else np.nan) for nd in obj.nodes]
            rows += nodes
            lens.append(len(nodes))
    loc = {r: (lon, lat) for r, _, lon, lat in rows}
    segs, i = set(), 0
    for n in lens:
        way = rows[i:i + n]
        segs |= {(a[0], b[0]) for a, b in itertools.pairwise(way) if a[1] and b[1]}
        i += n
    ids = np.array(sorted(loc), dtype=np.int64)
    return ids, np.array([loc[k][0] for k in ids.tolist()]), np.array([loc[k][1] for k in ids.tolist()]), segs


def _assert_same_read(got, want):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name", [HEIDELBERG, XML])
def test_reader_matches_a_plain_pyosmium_reader(name):
    path = shared(name)
    ids, lon, lat, segs = _plain_reader(path)
    got = read_osm_ways(path, workers=1)
    np.testing.assert_array_equal(got[0], ids)
    np.testing.assert_allclose(got[1], lon, rtol=0, atol=1e-9)  # osmium's own fixed point / 1e7
    np.testing.assert_allclose(got[2], lat, rtol=0, atol=1e-9)
    pairs = set(zip(got[0][got[3]].tolist(), got[0][got[4]].tolist(), strict=True))
    assert pairs == segs
    assert got[3].size >= len(segs)  # a segment repeated in the file is listed again


@pytest.mark.parametrize("name", [HEIDELBERG, XML])
def test_worker_processes_give_the_same_arrays_and_graph(name, caplog):
    """workers=2 and 3 (forked here: pytest runs no other thread) equal one process, array for
    array; no fallback to one process was needed."""
    caplog.set_level("INFO", logger="mzgis.layers.network")
    path = shared(name)
    one = read_osm_ways(path, workers=1)
    assert one[3].size > 1000
    _assert_same_read(read_osm_ways(path, workers=2), one)
    _assert_same_read(read_osm_ways(path, workers=3), one)
    crs = utm_crs(8.7, 49.4) if name.endswith(".pbf") else utm_crs(116.3, 40.0)
    g1 = graph_from_osm(path, crs, workers=1, keep_largest=True)
    g2 = graph_from_osm(path, crs, workers=2, keep_largest=True)
    for f in GRAPH_FIELDS:
        a, b = getattr(g1, f), getattr(g2, f)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, err_msg=f)
    assert g1.dropped_nodes == g2.dropped_nodes > 0
    assert "failed" not in caplog.text


def test_failing_worker_processes_fall_back_to_one(monkeypatch, caplog):
    from concurrent.futures.process import BrokenProcessPool

    path = shared("osm/beijing_chaoyang_wangjing.osm")
    one = read_osm_ways(path, workers=1)

    def broken(*a, **k):
        msg = "a worker died"
        raise BrokenProcessPool(msg)

    monkeypatch.setattr(network, "_scan_parallel", broken)
    _assert_same_read(read_osm_ways(path, workers=2), one)
    assert "reading in 2 processes failed (a worker died); reading in one" in caplog.text


def test_a_daemonic_process_reads_alone(monkeypatch, caplog):
    """Dask's workers, say, are daemonic processes, which may not start processes of their own."""
    import multiprocessing

    path = shared("osm/beijing_chaoyang_wangjing.osm")
    one = read_osm_ways(path, workers=1)
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    monkeypatch.setattr(network, "PARALLEL_MIN_BYTES", 0)
    assert default_workers(shared(HEIDELBERG)) == 1
    _assert_same_read(read_osm_ways(path, workers=2), one)
    assert "a daemonic process may not start worker processes" in caplog.text


def test_node_by_node_fallback_gives_the_same_arrays(monkeypatch, caplog):
    caplog.set_level("INFO", logger="mzgis.layers.network")
    path = shared(HEIDELBERG)
    one = read_osm_ways(path, workers=1)
    assert "unpacking" not in caplog.text

    def no_tmp(*a, **k):
        msg = "no temporary folder"
        raise OSError(msg)

    monkeypatch.setattr(network.tempfile, "TemporaryDirectory", no_tmp)
    _assert_same_read(read_osm_ways(path, workers=1), one)
    _assert_same_read(read_osm_ways(path, workers=2), one)
    assert "no temporary file for the ways (no temporary folder): unpacking them in Python" in caplog.text


def test_spawned_workers_give_the_same_arrays(caplog):
    """With another thread running, workers are spawned rather than forked."""
    path = shared("osm/beijing_chaoyang_wangjing.osm")
    one = read_osm_ways(path, workers=1)
    before = network._fork_is_safe()  # False too when an earlier test left a thread running
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not network._fork_is_safe()
        _assert_same_read(read_osm_ways(path, workers=2), one)
        assert "failed" not in caplog.text  # the spawned workers did the work
    finally:
        stop.set()
        t.join()
    assert network._fork_is_safe() == before  # our thread gone, the choice is what it was


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_pbf_is_a_clear_error_in_every_mode(tmp_path, workers, damage):
    data = shared(HEIDELBERG).read_bytes()
    bad = tmp_path / f"{damage}.osm.pbf"
    bad.write_bytes(data[: len(data) // 3] if damage == "truncated" else b"not a pbf file at all" * 100)
    with pytest.raises(NetworkError) as info:
        read_osm_ways(bad, workers=workers)
    msg = str(info.value)
    assert msg.startswith(f"{bad}: 无法读取 OSM cannot read the OpenStreetMap file: PBF error")
    assert "Traceback" not in msg


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_whole_number(workers):
    with pytest.raises(NetworkError, match="workers must be a positive whole number"):
        read_osm_ways(shared("osm/beijing_daxing_yizhuang_bda.osm"), workers=workers)


def test_default_workers_use_idle_cores_for_big_pbf_only(monkeypatch):
    pbf, xml = shared(HEIDELBERG), shared(XML)
    monkeypatch.setattr(network, "_usable_cores", lambda: 8)
    monkeypatch.setattr(network.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert default_workers(pbf) == 1  # 2.5 MB: below the threshold
    monkeypatch.setattr(network, "PARALLEL_MIN_BYTES", 1000)
    assert default_workers(pbf) == network.MAX_DEFAULT_WORKERS == 4  # 8 idle cores: one per two
    monkeypatch.setattr(network.os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert default_workers(pbf) == 3  # 7.8 idle cores
    assert default_workers(xml) == 1  # XML: every process would parse it again
    monkeypatch.setattr(network.os, "getloadavg", lambda: (3.5, 0.0, 0.0))
    assert default_workers(pbf) == 2  # 4.5 idle cores
    monkeypatch.setattr(network.os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert default_workers(pbf) == 1
    monkeypatch.setattr(network, "_usable_cores", lambda: 2)
    monkeypatch.setattr(network.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert default_workers(pbf) == 1  # two idle cores: one process uses more than one already


def _oracle_graph(x, y, u, v, lengths):
    """Shortest edge per node pair (self-loops out), isolated nodes dropped, and SciPy's CSR."""
    best: dict[tuple[int, int], float] = {}
    for a, b, w in zip(u.tolist(), v.tolist(), lengths.tolist(), strict=True):
        if a != b:
            k = (min(a, b), max(a, b))
            best[k] = min(best.get(k, np.inf), w)
    keys = sorted(best)
    used = sorted({n for k in keys for n in k})
    new = {n: i for i, n in enumerate(used)}
    a = np.array([new[k[0]] for k in keys])
    b = np.array([new[k[1]] for k in keys])
    w = np.maximum(np.array([best[k] for k in keys]), network.MIN_EDGE_M)
    n = len(used)
    m = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)).tocsr()
    m.sort_indices()
    return used, a, b, np.array([best[k] for k in keys]), m


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_build_graph_matches_a_dict_and_scipy(seed):
    rng = np.random.default_rng(seed)
    n = 300
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    m = 2000
    u, v = rng.integers(0, n - 20, m), rng.integers(0, n - 20, m)  # the last 20 nodes isolated
    u[:50], v[:50] = v[50:100], u[50:100]  # the same pairs again, reversed
    u[100:120] = v[100:120]  # self-loops
    lengths = rng.choice([5.0, 7.5, 0.0, 12.0], m)  # many ties, zero lengths
    g = build_graph(x, y, np.arange(n) * 10, u, v, "EPSG:32650", lengths=lengths)
    used, a, b, length, csr = _oracle_graph(x, y, u, v, lengths)
    np.testing.assert_array_equal(g.node_ids, np.array(used) * 10)
    np.testing.assert_array_equal(g.x, x[used])
    np.testing.assert_array_equal(g.u, a)
    np.testing.assert_array_equal(g.v, b)
    np.testing.assert_array_equal(g.length_m, length)
    np.testing.assert_array_equal(g.indptr, csr.indptr)
    np.testing.assert_array_equal(g.indices, csr.indices)
    np.testing.assert_array_equal(g.weights, csr.data)
    assert (g.indptr.dtype, g.indices.dtype, g.u.dtype) == (np.int64, np.int32, np.int32)


def test_graph_does_not_depend_on_the_order_of_segments():
    """The reader's shares come back in file order anyway; the graph would not care."""
    ids, lon, lat, a, b = read_osm_ways(shared("osm/beijing_chaoyang_wangjing.osm"), workers=1)
    x, y = lon * 1e5, lat * 1e5
    g = build_graph(x, y, ids, a, b, "EPSG:32650")
    order = np.random.default_rng(3).permutation(a.size)
    h = build_graph(x, y, ids, b[order], a[order], "EPSG:32650")  # shuffled and reversed
    for f in GRAPH_FIELDS:
        np.testing.assert_array_equal(getattr(g, f), getattr(h, f), err_msg=f)
