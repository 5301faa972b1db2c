"""The library API (``import mzgis``): cheap to import, osmnx-compatible graphs whose networkx
distances equal the reach engine's, the same answers as the command's pipelines, results in the
caller's CRS and index, and clear errors for bad arguments."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

import mzgis
from mzgis.errors import LayerError, MzgisError
from tests.conftest import shared

EXTRACTS = ["beijing_chaoyang_wangjing.osm", "beijing_haidian_tsinghua_pku.osm"]


# -- import mzgis -----------------------------------------------------------------------------------
def test_import_mzgis_loads_no_heavy_module():
    code = ("import sys, mzgis; heavy = ('geopandas', 'pandas', 'shapely', 'networkx', 'folium', 'scipy'); "
            "print(','.join(m for m in heavy if m in sys.modules)); "
            "mzgis.coverage; print('geopandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == ""  # nothing heavy before an API name is used
    assert out[1] == "True"  # and the API loads on first use


def test_api_names():
    import mzgis.api

    assert set(mzgis.api.__all__) == mzgis.API_NAMES
    for name in mzgis.API_NAMES:
        assert getattr(mzgis, name) is getattr(mzgis.api, name)
    assert "coverage" in dir(mzgis)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = mzgis.nope


def test_api_examples_run():
    """The worked example in mzgis.api's docstring (reach, coverage, service area, site on one
    street: distances checkable by hand) is run as a doctest."""
    import doctest

    import mzgis.api

    res = doctest.testmod(mzgis.api, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 8
    assert res.failed == 0


# -- the graph as osmnx has it ---------------------------------------------------------------------
@pytest.fixture(scope="module", params=EXTRACTS)
def real(request):
    return mzgis.graph_from_osm(shared(f"osm/{request.param}"))


def test_to_networkx_is_an_osmnx_graph(real):
    import osmnx as ox

    g = real
    G = g.to_networkx()
    assert isinstance(G, nx.MultiDiGraph)
    assert G.graph["crs"] == g.crs
    for to_gdfs in (ox.graph_to_gdfs, ox.convert.graph_to_gdfs):
        nodes, edges = to_gdfs(G)
        assert len(nodes) == g.n_nodes
        assert len(edges) == 2 * g.n_edges
        assert nodes.crs == edges.crs == g.crs
    # node positions by OSM id, as the arrays have them
    by_id = nodes.loc[g.node_ids]
    np.testing.assert_allclose(by_id["x"].to_numpy(), g.x)
    np.testing.assert_allclose(by_id["y"].to_numpy(), g.y)
    np.testing.assert_allclose(by_id.geometry.x.to_numpy(), g.x)
    # every edge's geometry runs from its u node to its v node (osmnx's own index), and is as
    # long as its length attribute
    u = edges.index.get_level_values("u")
    v = edges.index.get_level_values("v")
    start = shapely.get_point(edges.geometry.to_numpy(), 0)
    end = shapely.get_point(edges.geometry.to_numpy(), -1)
    np.testing.assert_allclose(shapely.get_x(start), nodes.loc[u, "x"].to_numpy())
    np.testing.assert_allclose(shapely.get_y(end), nodes.loc[v, "y"].to_numpy())
    np.testing.assert_allclose(edges.geometry.length.to_numpy(), edges["length"].to_numpy(), atol=1e-6)
    # both directions of every street, and the round trip through osmnx's frames
    assert set(zip(u, v, strict=True)) == {(b, a) for a, b in zip(u, v, strict=True)}
    back = mzgis.RoadGraph.from_networkx(ox.graph_from_gdfs(nodes, edges))
    assert back.n_nodes == g.n_nodes
    assert back.n_edges == g.n_edges
    assert back.length_m.sum() == pytest.approx(g.length_m.sum())
    assert ox.stats.basic_stats(G)["edge_length_total"] == pytest.approx(2 * g.length_m.sum())


def _points(g, nodes, crs=None):
    gdf = gpd.GeoDataFrame({"feature_id": [f"n{int(g.node_ids[n])}" for n in nodes]},
                           geometry=gpd.points_from_xy(g.x[nodes], g.y[nodes]), crs=g.crs)
    return gdf if crs is None else gdf.to_crs(crs)


def test_networkx_dijkstra_equals_the_reach_engine(real):
    """Facilities and demand at graph nodes: the API's nearest-facility distances and counts per
    threshold equal networkx's Dijkstra on ``to_networkx()`` (an independent shortest-path code)."""
    g = real
    G = g.to_networkx()
    rng = np.random.default_rng(7)
    fac_nodes = rng.choice(g.n_nodes, 6, replace=False)
    dem_nodes = rng.choice(g.n_nodes, min(g.n_nodes, 600), replace=False)
    fac, dem = _points(g, fac_nodes), _points(g, dem_nodes, crs="EPSG:4326")
    speed = 4000.0 / 60.0
    res = mzgis.reach(g, fac, dem, minutes=(5, 10), snap_to="any", max_snap_distance_m=1.0)
    assert res["snapped"].all()
    src = {int(g.node_ids[n]) for n in fac_nodes}
    ref = nx.multi_source_dijkstra_path_length(G, src, cutoff=10 * speed, weight="length")
    want = np.array([ref.get(int(g.node_ids[n]), np.nan) for n in dem_nodes])
    got = res["distance_m"].to_numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], atol=1e-3)
    # per-facility counts within 5 minutes, from one single-source Dijkstra per facility
    counts = np.zeros(len(dem_nodes), dtype=int)
    pos = {int(g.node_ids[n]): i for i, n in enumerate(dem_nodes)}
    for n in fac_nodes:
        for node in nx.single_source_dijkstra_path_length(G, int(g.node_ids[n]), cutoff=5 * speed - 1e-6,
                                                          weight="length"):
            if node in pos:
                counts[pos[node]] += 1
    np.testing.assert_array_equal(res["facilities_within_5min"].to_numpy(), counts)
    # the pairs of one facility
    pairs = mzgis.reach_pairs(g, fac, dem, minutes=5, snap_to="any", max_snap_distance_m=1.0)
    f0 = fac["feature_id"].iloc[0]
    mine = pairs[pairs["facility_id"] == f0].set_index("demand_id")["distance_m"]
    one = nx.single_source_dijkstra_path_length(G, int(g.node_ids[fac_nodes[0]]), cutoff=5 * speed, weight="length")
    theirs = {f"n{k}": d for k, d in one.items() if k in pos and d < 5 * speed - 1e-6}
    assert set(theirs) <= set(mine.index)
    np.testing.assert_allclose(mine.loc[list(theirs)].to_numpy(), list(theirs.values()), atol=1e-3)


# -- the same answers as the pipelines -------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws = mzgis.demo_workspace(tmp_path_factory.mktemp("api") / "demo")
    graph = mzgis.load_graph(ws)
    return ws, graph


def test_coverage_equals_the_coverage_command(demo):
    from mzgis.gis.pipelines import run_coverage

    ws, graph = demo
    fac = mzgis.read_facilities(ws, kind="社区养老服务驿站", scenario="today")
    assert set(fac["status"]) == {"建成运营"}
    dem = mzgis.read_demand(ws)
    jur = ws.config["project"]["jurisdiction"]
    table = mzgis.coverage(graph, fac, dem, units=mzgis.read_units(ws), jurisdiction=jur)
    run = run_coverage(ws, kind="elderly_care_station")
    pd.testing.assert_frame_equal(table, run.table.drop(columns=["facility_kind", "facility_status"]))
    # the raw store layer gives the same figures (its households are complete)
    raw = mzgis.coverage(graph, fac, mzgis.read_layer(ws, "residential"), jurisdiction=jur)
    pd.testing.assert_frame_equal(raw, table[table["level"] == "jurisdiction"].reset_index(drop=True))


def test_site_equals_the_site_command(demo):
    from mzgis.gis.pipelines import run_site

    ws, graph = demo
    fac = mzgis.read_facilities(ws, kind="elderly_care_station", status="建成运营")
    sites = mzgis.site(graph, fac, mzgis.read_demand(ws), add=3)
    run = run_site(ws, kind="elderly_care_station", add=3)
    assert sites["candidate_id"].tolist() == run.table["candidate_id"].tolist()
    np.testing.assert_allclose(sites["households_gained"], run.table["households_gained"])
    np.testing.assert_allclose(sites.geometry.x, run.table["x"], atol=1e-7)
    assert sites.crs == "EPSG:4326"
    assert sites.attrs["method"] == run.result.method
    # the 5-minute circle (a smaller instance): every household, and a capacity per site
    full = mzgis.site(graph, fac, mzgis.read_demand(ws), target_share=1.0, minutes=5)
    assert full["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    capped = mzgis.site(graph, fac, mzgis.read_demand(ws), add=2, capacity_households=300, minutes=5)
    assert len(capped) == 2
    assert (capped["households_gained"] <= 300 + 1e-6).all()


def test_access_equals_the_access_command(demo):
    from mzgis.gis.pipelines import run_access

    ws, graph = demo
    fac = mzgis.read_facilities(ws, kind="community_service", status="建成运营")
    pts = mzgis.access(graph, fac, mzgis.read_demand(ws), supply="floor_area_m2", method="2sfca")
    run = run_access(ws, kind="community_service", supply="floor_area_m2", method="2sfca")
    np.testing.assert_allclose(pts["access"].to_numpy(), run.points["access"].to_numpy())
    assert pts.attrs["measure"] == "floor_area_m2_per_1000_elderly"
    table = mzgis.access_by_unit(graph, fac, mzgis.read_demand(ws), units=mzgis.read_units(ws), supply="floor_area_m2",
                                 method="2sfca", jurisdiction=ws.config["project"]["jurisdiction"])
    pd.testing.assert_frame_equal(table, run.by_unit[table.columns])
    # the supply each facility offers reaches the demand: demand-weighted access adds up to supply
    w = pts["demand"].to_numpy() / 1000.0
    reached = fac["floor_area_m2"].sum()
    assert (pts["access"].to_numpy() * w).sum() == pytest.approx(reached, rel=1e-9)


def test_results_keep_the_callers_crs_and_index(demo):
    ws, graph = demo
    fac = mzgis.read_facilities(ws, kind="elderly_care_station", scenario="today")
    dem = mzgis.read_demand(ws)
    base = mzgis.reach(graph, fac, dem)
    moved = dem.to_crs("EPSG:3857")
    moved.index = [f"row-{i}" for i in range(len(moved))][::-1]
    res = mzgis.reach(graph, fac.to_crs("EPSG:3857"), moved)
    assert list(res.index) == list(moved.index)
    assert res.crs == moved.crs
    assert res.geometry.equals(moved.geometry)
    np.testing.assert_allclose(res["distance_m"].to_numpy(), base["distance_m"].to_numpy(), atol=1e-6)
    # without an id column the ids are the index (a MultiIndex as osmnx gives it joined with "/")
    plain = mzgis.reach(graph, fac, moved.drop(columns="demand_id"), counts=False)
    assert plain["demand_id"].tolist() == list(moved.index)
    multi = moved.drop(columns="demand_id").set_axis(pd.MultiIndex.from_arrays(
        [["way"] * len(moved), range(len(moved))]), axis=0)
    assert mzgis.reach(graph, fac, multi, counts=False)["demand_id"].iloc[2] == "way/2"
    areas = mzgis.service_areas(graph, fac.to_crs("EPSG:3857"), minutes=[5, 10])
    assert areas.crs == "EPSG:3857"
    assert len(areas) == 2 * len(fac)
    # nested: the 5-minute area lies inside the 10-minute one of the same facility
    for _, grp in areas.groupby("facility_id"):
        five, ten = grp.sort_values("minutes").geometry.to_numpy()
        assert five.difference(ten.buffer(1e-6)).area < 1e-6 * max(five.area, 1.0)
    one = mzgis.service_areas(graph, fac, minutes=15, dissolve_by="kind")
    assert len(one) == 1
    assert one.crs == fac.crs


# -- inspections on hand-made frames ---------------------------------------------------------------
def _square(x0, y0, size):
    return shapely.box(x0, y0, x0 + size, y0 + size)


def test_inspect_boundaries_finds_an_overlap_in_the_callers_crs():
    units = gpd.GeoDataFrame({"feature_id": ["A", "B"], "name": ["甲社区", "乙社区"]},
                             geometry=[_square(500_000, 4_400_000, 1000), _square(500_900, 4_400_000, 1000)],
                             crs="EPSG:32650")
    found = mzgis.inspect_boundaries(units.to_crs("EPSG:4326"))
    assert found.crs == "EPSG:4326"
    overlap = found[found["finding"] == "overlap"]
    assert len(overlap) == 1
    assert overlap["area_m2"].iloc[0] == pytest.approx(100 * 1000, rel=1e-3)
    assert overlap.to_crs("EPSG:32650").area.iloc[0] == pytest.approx(100 * 1000, rel=1e-3)
    lines = mzgis.boundary_lines(units)
    assert lines.crs == units.crs


def test_inspect_markers_and_plan():
    line = gpd.GeoDataFrame({"feature_id": ["L1"], "left_code": ["A"], "right_code": ["B"]},
                            geometry=[shapely.LineString([(500_000, 4_400_000), (503_000, 4_400_000)])],
                            crs="EPSG:32650")
    markers = gpd.GeoDataFrame({"feature_id": ["M1", "M2"], "line_id": ["L1", "L1"],
                                "condition": ["完好", "损坏"], "last_inspection_date": ["2026-01-01", "2026-01-01"]},
                               geometry=[shapely.Point(500_100, 4_400_000), shapely.Point(500_200, 4_400_012)],
                               crs="EPSG:32650").to_crs("EPSG:4326")
    import datetime as dt

    from mzgis.errors import CrsMismatchWarning

    # markers in lon/lat, lines in UTM: reprojected onto each other, with a warning naming both CRSs
    with pytest.warns(CrsMismatchWarning, match="EPSG:4326"):
        found = mzgis.inspect_markers(markers, line, today=dt.date(2026, 6, 1))
    by = {(r.marker_code, r.finding) for r in found.itertuples()}
    assert ("M2", "offset") in by
    assert ("M2", "condition") in by
    assert ("M1", "offset") not in by
    assert found.loc[found["finding"] == "offset", "distance_m"].iloc[0] == pytest.approx(12, abs=0.05)
    assert (found["finding"] == "gap").any()  # 2.8 km of line beyond M2 without a marker
    with pytest.warns(CrsMismatchWarning):
        plan = mzgis.inspection_plan(markers, line, today=dt.date(2026, 6, 1))
    assert plan["marker_code"].tolist()[:2] == ["M1", "M2"]


def test_inspect_addresses_finds_a_point_outside_its_community():
    comm = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["花园社区", "望京社区"]},
                            geometry=[_square(116.40, 39.90, 0.01), _square(116.41, 39.90, 0.01)], crs="EPSG:4326")
    addr = gpd.GeoDataFrame({"feature_id": ["A1", "A2"], "address": ["北京市朝阳区望京街道花园社区花园路1号",
                                                                "北京市朝阳区望京街道望京社区花园路2号"]},
                            geometry=[shapely.Point(116.405, 39.905), shapely.Point(116.405, 39.906)],
                            crs="EPSG:4326")
    found = mzgis.inspect_addresses(addr, {"community": comm})
    bad = found[found["finding"] == "outside_named_unit"]
    assert bad["feature_id"].tolist() == ["A2"]


# -- bad arguments ---------------------------------------------------------------------------------
def test_bad_arguments_are_clear_errors(demo):
    ws, graph = demo
    fac = mzgis.read_facilities(ws, kind="elderly_care_station")
    dem = mzgis.read_demand(ws)
    units = mzgis.read_layer(ws, "communities")
    cases = [
        (lambda: mzgis.reach(graph, pd.DataFrame(fac), dem), "GeoDataFrame"),
        (lambda: mzgis.reach(graph, fac, dem.set_crs(None, allow_override=True)), "no CRS"),
        (lambda: mzgis.reach(graph, fac, dem, minutes=[5, -1]), "positive"),
        (lambda: mzgis.reach(graph, fac, dem, minutes="15"), "list of numbers"),
        (lambda: mzgis.reach(graph, fac, dem, max_snap_distance_m=True), "max_snap_distance_m"),
        (lambda: mzgis.coverage(graph, fac, dem, units={"community": units.drop(columns="feature_id")}),
         "feature_id"),
        (lambda: mzgis.coverage(graph, fac, dem, walk_speed_km_per_h=0), "walk_speed_km_per_h"),
        (lambda: mzgis.coverage(graph, fac, dem, units=mzgis.read_layer(ws, "communities").drop(columns="level")),
         "level"),
        (lambda: mzgis.coverage(graph, fac, dem.drop(columns=["households", "population", "elderly"])),
         "households"),
        (lambda: mzgis.site(graph, fac, dem), "exactly one"),
        (lambda: mzgis.site(graph, fac, dem, add=0), "positive whole"),
        (lambda: mzgis.site(graph, fac, dem, target_share=1.5), "between 0 and 1"),
        (lambda: mzgis.access(graph, fac, dem, minutes=None), "minutes"),
        (lambda: mzgis.reach(graph, fac, dem, facility_id="nope"), "nope"),
        (lambda: mzgis.inspect_boundaries(mzgis.read_layer(ws, "communities"), metric_crs="EPSG:4326"),
         "projected"),
        (lambda: mzgis.boundary_lines(mzgis.read_layer(ws, "communities"), metric_crs="EPSG:nope"),
         "not a CRS"),
        (lambda: mzgis.access_by_unit(graph, fac, dem, supply="count", target=-1), "non-negative"),
    ]
    for call, text in cases:
        with pytest.raises(LayerError, match=text) as info:
            call()
        assert isinstance(info.value, MzgisError)
        assert isinstance(info.value, ValueError)


# -- workspaces ------------------------------------------------------------------------------------
def _snapshot(root):
    """Every file of a workspace outside cache/ (derived data the engine may keep), with its hash."""
    import hashlib

    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.relative_to(root).parts[0] != "cache"}


def test_analyses_write_nothing(demo):
    ws, graph = demo
    before = _snapshot(ws.root)
    fac = mzgis.read_facilities(ws, kind="elderly_care_station", scenario="today")
    dem = mzgis.read_demand(ws)
    units = mzgis.read_units(ws)
    mzgis.reach(graph, fac, dem)
    mzgis.coverage(graph, fac, dem, units=units)
    mzgis.service_areas(graph, fac, minutes=5)
    mzgis.site(graph, fac, dem, add=1, minutes=5)
    mzgis.access(graph, fac, dem, supply="count")
    mzgis.inspect_boundaries(units["community"])
    assert _snapshot(ws.root) == before


def test_a_workspace_from_files(tmp_path):
    """init → import two CSV files → build the graph from a real extract → coverage; the totals are
    the files' own and the distances those of a graph built straight from the extract."""
    osm = shared("osm/beijing_chaoyang_wangjing.osm")
    direct = mzgis.graph_from_osm(osm)
    rng = np.random.default_rng(11)
    nodes = rng.choice(direct.n_nodes, 40, replace=False)
    lonlat = _points(direct, nodes, crs="EPSG:4326").geometry
    stations = pd.DataFrame({"编号": ["S1", "S2", "S3"], "名称": ["甲站", "乙站", "丙站"],
                             "经度": lonlat.x[:3].round(7), "纬度": lonlat.y[:3].round(7), "状态": "建成运营"})
    homes = pd.DataFrame({"编号": [f"H{i:02d}" for i in range(37)], "经度": lonlat.x[3:].round(7),
                          "纬度": lonlat.y[3:].round(7), "户数": rng.integers(10, 200, 37)})
    stations.to_csv(tmp_path / "stations.csv", index=False)
    homes.to_csv(tmp_path / "homes.csv", index=False)
    ws = mzgis.init_workspace(tmp_path / "ws", name="望京测试")
    mzgis.import_layer(ws, tmp_path / "stations.csv", layer="stations", layer_type="facilities",
                       kind="社区养老服务驿站", coords="wgs84")
    mzgis.import_layer(ws, tmp_path / "homes.csv", layer="homes", layer_type="demand", coords="wgs84")
    graph = mzgis.load_graph(ws, osm)
    assert graph.crs == direct.crs
    again = mzgis.load_graph(mzgis.open_workspace(tmp_path / "ws"))  # from the cache
    np.testing.assert_array_equal(again.length_m, graph.length_m)
    fac = mzgis.read_facilities(ws, kind="elderly_care_station")
    dem = mzgis.read_demand(ws)
    table = mzgis.coverage(graph, fac, dem, minutes=[10, 15])
    assert (table["households"] == homes["户数"].sum()).all()
    via_ws = mzgis.reach(graph, fac, dem)["distance_m"].to_numpy()
    straight = mzgis.reach(direct, fac, dem)["distance_m"].to_numpy()
    np.testing.assert_allclose(via_ws, straight, atol=1e-6)
    covered = np.nan_to_num(via_ws, nan=np.inf) <= 15 * 4000 / 60
    assert table.loc[table["minutes"] == 15, "households_covered"].iloc[0] == pytest.approx(
        float(dem.loc[covered, "households"].sum()))
