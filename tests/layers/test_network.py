"""The road network layer: walk filter, OSM reading, lines, cache, components, networkx interop."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from mzgis.errors import NetworkError
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import (
    RoadGraph,
    build_graph,
    graph_from_lines,
    graph_from_osm,
    load_or_build,
    osm_bounds,
    walk_way_filter,
)
from tests.conftest import shared

BEIJING_UTM = utm_crs(116.4, 39.9)


@pytest.mark.parametrize(("tags", "kept"), [
    ({"highway": "residential"}, True),
    ({"highway": "footway"}, True),
    ({"highway": "steps"}, True),
    ({"highway": "service"}, True),
    ({"highway": "trunk"}, True),
    ({"highway": "motorway"}, False),
    ({"highway": "motorway_link"}, False),
    ({"highway": "cycleway"}, False),
    ({"highway": "construction"}, False),
    ({"highway": "pedestrian", "area": "yes"}, False),
    ({"highway": "residential", "foot": "no"}, False),
    ({"highway": "service", "service": "private"}, False),
    ({"highway": "residential", "access": "private"}, False),
    ({"highway": "residential", "access": "no"}, False),
    ({"highway": "residential", "access": "no", "foot": "yes"}, True),
    ({"highway": "primary", "sidewalk": "separate"}, False),
    ({"building": "yes"}, False),
])
def test_walk_filter(tags, kept):
    assert walk_way_filter(tags) is kept


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="39.9000" lon="116.4000"/>
  <node id="2" lat="39.9000" lon="116.4010"/>
  <node id="3" lat="39.9000" lon="116.4020"/>
  <node id="4" lat="39.9010" lon="116.4010"/>
  <node id="5" lat="39.9020" lon="116.4010"/>
  <node id="6" lat="39.8990" lon="116.4010"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="11"><nd ref="2"/><nd ref="4"/><tag k="highway" v="footway"/></way>
  <way id="12"><nd ref="4"/><nd ref="5"/><tag k="highway" v="service"/><tag k="access" v="private"/></way>
  <way id="13"><nd ref="2"/><nd ref="6"/><tag k="highway" v="motorway"/></way>
</osm>
"""


@pytest.fixture
def tiny_osm(tmp_path):
    p = tmp_path / "tiny.osm"
    p.write_text(OSM_XML, encoding="utf-8")
    return p


def test_graph_from_osm_filters_and_is_two_way(tiny_osm):
    g = graph_from_osm(tiny_osm, BEIJING_UTM)
    assert sorted(g.node_ids.tolist()) == [1, 2, 3, 4]  # 5 (private) and 6 (motorway) dropped
    assert g.n_edges == 3
    m = g.csr()
    assert (m != m.T).nnz == 0  # symmetric: oneway ignored for walking
    # edge 1-2 is 0.001 degrees of longitude at 39.9 N: about 85.4 m
    i1, i2 = (int(np.flatnonzero(g.node_ids == k)[0]) for k in (1, 2))
    assert m[i1, i2] == pytest.approx(85.4, abs=0.5)


def test_cache_is_reused_and_identical(tiny_osm, tmp_path):
    g1, cached1 = load_or_build(tiny_osm, BEIJING_UTM, tmp_path / "cache")
    g2, cached2 = load_or_build(tiny_osm, BEIJING_UTM, tmp_path / "cache")
    assert (cached1, cached2) == (False, True)
    for f in ("x", "y", "u", "v", "length_m", "indptr", "indices", "weights", "node_ids"):
        np.testing.assert_array_equal(getattr(g1, f), getattr(g2, f))
    # a changed source gets a new cache entry
    tiny_osm.write_text(OSM_XML.replace('lon="116.4020"', 'lon="116.4030"'), encoding="utf-8")
    _, cached3 = load_or_build(tiny_osm, BEIJING_UTM, tmp_path / "cache")
    assert cached3 is False
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_keep_largest_component_reports_dropped():
    # two components: a triangle and a lone edge
    x = np.array([0.0, 100, 0, 500, 600])
    y = np.array([0.0, 0, 100, 500, 500])
    g = build_graph(x, y, np.arange(5), np.array([0, 1, 2, 3]), np.array([1, 2, 0, 4]), "EPSG:32650",
                    keep_largest=True)
    assert g.n_nodes == 3
    assert g.dropped_nodes == 2


def test_parallel_edges_keep_shortest_and_self_loops_dropped():
    x = np.array([0.0, 100.0])
    y = np.array([0.0, 0.0])
    g = build_graph(x, y, np.arange(2), np.array([0, 1, 0]), np.array([1, 0, 0]), "EPSG:32650",
                    lengths=np.array([150.0, 120.0, 5.0]))
    assert g.n_edges == 1
    assert g.length_m.tolist() == [120.0]


def test_graph_from_surveyed_lines(tmp_path):
    import geopandas as gpd

    p = tmp_path / "roads.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                                                           "coordinates": [[116.40, 39.90], [116.41, 39.90]]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                                                           "coordinates": [[116.41, 39.90], [116.41, 39.91]]}},
    ]}), encoding="utf-8")
    g = graph_from_lines(gpd.read_file(p), BEIJING_UTM)
    assert (g.n_nodes, g.n_edges) == (3, 2)  # the lines meet at their shared vertex
    g2, _ = load_or_build(p, BEIJING_UTM, tmp_path / "cache")
    assert g2.n_edges == 2


def test_empty_network_is_a_clear_error(tmp_path):
    p = tmp_path / "none.osm"
    p.write_text("<?xml version='1.0'?><osm version='0.6'><node id='1' lat='39.9' lon='116.4'/></osm>",
                 encoding="utf-8")
    with pytest.raises(NetworkError, match="no walkable ways"):
        graph_from_osm(p, BEIJING_UTM)


def test_geographic_crs_is_refused(tiny_osm):
    with pytest.raises(NetworkError, match="projected"):
        graph_from_osm(tiny_osm, "EPSG:4326")


@pytest.mark.parametrize("name", ["beijing_chaoyang_wangjing.osm", "beijing_haidian_tsinghua_pku.osm",
                                  "beijing_daxing_yizhuang_bda.osm"])
def test_real_extracts_and_networkx_round_trip(name):
    path = shared(f"osm/{name}")
    b = osm_bounds(path)
    g = graph_from_osm(path, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    assert g.n_nodes > 500
    assert (g.length_m >= 0).all()
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == g.n_nodes
    assert nxg.number_of_edges() == 2 * g.n_edges  # each walkable edge both ways, as osmnx has it
    back = RoadGraph.from_networkx(nxg)
    assert back.n_edges == g.n_edges
    assert back.length_m.sum() == pytest.approx(g.length_m.sum())


def test_yizhuang_is_badly_connected():
    path = shared("osm/beijing_daxing_yizhuang_bda.osm")
    b = osm_bounds(path)
    crs = utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    full = graph_from_osm(path, crs)
    big = graph_from_osm(path, crs, keep_largest=True)
    assert big.dropped_nodes > 0
    assert big.n_nodes + big.dropped_nodes == full.n_nodes


def test_compressed_osm_and_osmnx_interop(tiny_osm, tmp_path):
    import bz2

    import osmnx as ox

    bz = tmp_path / "tiny.osm.bz2"
    bz.write_bytes(bz2.compress(tiny_osm.read_bytes()))
    a = graph_from_osm(tiny_osm, BEIJING_UTM)
    b = graph_from_osm(bz, BEIJING_UTM)
    np.testing.assert_array_equal(np.sort(a.length_m), np.sort(b.length_m))
    # an osmnx graph (its own reader, projected by osmnx) converts to the array graph
    G = ox.graph_from_xml(tiny_osm, simplify=False, retain_all=True)
    Gp = ox.project_graph(G, to_crs=BEIJING_UTM)
    g = RoadGraph.from_networkx(Gp)
    assert g.n_nodes == Gp.number_of_nodes()
    assert g.length_m.sum() == pytest.approx(sum(d["length"] for _, _, d in Gp.to_undirected().edges(data=True)), rel=1e-6)


def _xml_oracle(path):
    """The kept ways of an .osm file read with the standard library's XML parser (independent of
    pyosmium): distinct node ids with lon/lat, and the consecutive-node segments."""
    import xml.etree.ElementTree as ET

    from mzgis.layers.network import walk_way_filter

    root = ET.parse(path).getroot()
    loc = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    segs, used = [], set()
    for w in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in w.iter("tag")}
        refs = [int(nd.get("ref")) for nd in w.iter("nd")]
        if len(refs) < 2 or not walk_way_filter(tags):
            continue
        used.update(refs)
        segs += [(a, b) for a, b in itertools.pairwise(refs) if a in loc and b in loc]
    return sorted(used), loc, segs


@pytest.mark.parametrize("name", ["beijing_chaoyang_wangjing.osm", "beijing_daxing_yizhuang_bda.osm"])
def test_vectorised_reader_matches_an_xml_oracle(name):
    from mzgis.layers.network import read_osm_ways

    path = shared(f"osm/{name}")
    ids, lon, lat, a, b = read_osm_ways(path)
    used, loc, segs = _xml_oracle(path)
    np.testing.assert_array_equal(ids, used)
    have = np.array([i in loc for i in used])
    np.testing.assert_allclose(lon[have], [loc[i][0] for i in np.array(used)[have]], atol=1e-7)
    np.testing.assert_allclose(lat[have], [loc[i][1] for i in np.array(used)[have]], atol=1e-7)
    assert np.isnan(lon[~have]).all()
    assert sorted(zip(ids[a].tolist(), ids[b].tolist(), strict=True)) == sorted(segs)


def test_way_nodes_missing_from_the_extract_drop_their_segments(tmp_path):
    from mzgis.layers.network import read_osm_ways

    p = tmp_path / "cut.osm"
    p.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="39.9000" lon="116.4000"/>
  <node id="2" lat="39.9000" lon="116.4010"/>
  <node id="4" lat="39.9010" lon="116.4010"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>""", encoding="utf-8")
    ids, lon, lat, a, b = read_osm_ways(p)
    assert ids.tolist() == [1, 2, 3, 4]
    assert np.isnan(lon[2])
    assert np.isnan(lat[2])
    assert list(zip(ids[a].tolist(), ids[b].tolist(), strict=True)) == [(1, 2)]


def test_first_network_build_parses_the_file_once(workspace, monkeypatch):
    """An empty workspace needs the file's bounds (to choose the CRS) and the graph: one parse."""
    from mzgis.gis.pipelines import build_network
    from mzgis.layers import network

    calls = []
    real = network.read_osm_ways
    monkeypatch.setattr(network, "read_osm_ways", lambda *a, **k: calls.append(a) or real(*a, **k))
    graph, cached = build_network(workspace, shared("osm/beijing_daxing_yizhuang_bda.osm"))
    assert (len(calls), cached) == (1, False)
    assert graph.n_edges > 100
    assert graph.cache_key
    assert graph.cache_dir == str(workspace.cache_dir)
    # built again (from the cache): not parsed at all
    _, cached = build_network(workspace, shared("osm/beijing_daxing_yizhuang_bda.osm"))
    assert (len(calls), cached) == (1, True)
    assert not network._LAST_READ  # nothing kept in memory
