"""``mzgis map`` snaps demand once: coverage, the indicators and the map's extent share one graph,
one snapping index and one demand set (issue 13). Counted by wrapping the snapping itself, with the
on-disk cache of snapped positions turned off, so a second snap of the same points would show."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from mzgis.analysis import snapping
from mzgis.analysis.reach import points_xy
from mzgis.gis import pipelines
from mzgis.gis.workspace import Workspace
from tests.security.workspace import build_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("snaps")
    return build_workspace(root, ["甲", "乙", "丙", "丁", "戊", "己"], name="项目", jurisdiction="辖区",
                           single="自定义")


def test_map_snaps_each_point_set_once(ws, monkeypatch):
    computed: Counter[str] = Counter()
    indexes: list[snapping.SegmentIndex] = []
    snap, init = snapping.SegmentIndex._snap, snapping.SegmentIndex.__init__

    def counting_snap(self, x, y, max_distance_m):
        h = hashlib.blake2b(np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()
        computed[h] += 1
        return snap(self, x, y, max_distance_m)

    def counting_init(self, *a, **k):
        indexes.append(self)
        init(self, *a, **k)

    monkeypatch.setattr(snapping.SegmentIndex, "_snap", counting_snap)
    monkeypatch.setattr(snapping.SegmentIndex, "__init__", counting_init)
    monkeypatch.setattr(snapping, "_load_snapped", lambda path, n: None)  # no help from the disk cache
    monkeypatch.setattr(snapping, "_save_snapped", lambda path, s: None)
    w = Workspace.open(ws)
    mp = pipelines.run_map(w, out=w.out_dir / "map_count.html")
    assert mp.coverage is not None
    assert mp.standards is not None
    # the demand was snapped, by coverage and by the indicators' travel times, from one computation
    graph = pipelines.load_network(w)
    dem, _ = pipelines.load_demand(w, None, graph)
    x, y = points_xy(dem, graph.crs)
    key = hashlib.blake2b(np.ascontiguousarray(x, dtype=float).tobytes()
                          + np.ascontiguousarray(y, dtype=float).tobytes()).hexdigest()
    assert computed[key] == 1, computed
    assert max(computed.values()) == 1, computed  # no point set is snapped twice
    assert len(indexes) == 1  # one segment index for the whole map
    # and the indicators did use travel times (so the demand was asked for twice, served once)
    assert mp.standards.indicators["actual"].notna().any()


def test_map_marks_a_station_left_out_with_its_distance(ws, tmp_path):
    """A counted station farther from the network than the snapping limit is handed to the print
    map with its distance (here 0.0046° of latitude south of the grid's southern road: ~511 m)."""
    import shutil

    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import Geod

    from tests.security.workspace import LAT0, LON0

    copy = shutil.copytree(ws, tmp_path / "ws")
    w = Workspace.open(copy)
    s = w.store.read("stations")
    far = s.iloc[[0]].assign(feature_id="FAR", geometry=[shapely.Point(LON0 + 0.005, LAT0 - 0.0046)])
    w.store.write_layer("stations", gpd.GeoDataFrame(pd.concat([s, far]), crs=s.crs), layer_type="facilities",
                        kind="elderly_care_station")
    mp = pipelines.run_map(w, out=w.out_dir / "map_far.html")
    left = mp.data.left_out
    assert left is not None
    assert list(left["feature_id"]) == ["FAR"]
    expected = Geod(ellps="WGS84").inv(LON0 + 0.005, LAT0 - 0.0046, LON0 + 0.005, LAT0)[2]
    assert abs(float(left["distance_m"].iloc[0]) - expected) < 3.0


def test_a_station_left_out_is_not_in_the_count(ws, tmp_path):
    """The count a planner copies ("共 N 处") holds the stations the figures used: one too far from
    the network is said to be left out, not counted."""
    import shutil

    import geopandas as gpd
    import pandas as pd
    import shapely

    from tests.security.workspace import LAT0, LON0

    copy = shutil.copytree(ws, tmp_path / "ws2")
    w = Workspace.open(copy)
    s = w.store.read("stations")
    operating = int((s["status"] == "建成运营").sum())
    far = s[s["status"] == "建成运营"].iloc[[0]].assign(feature_id="FAR",
                                                   geometry=[shapely.Point(LON0 + 0.005, LAT0 - 0.0046)])
    w.store.write_layer("stations", gpd.GeoDataFrame(pd.concat([s, far]), crs=s.crs), layer_type="facilities",
                        kind="elderly_care_station")
    run = pipelines.run_coverage(w, kind="elderly_care_station")
    assert run.unsnapped_facilities == ["FAR"]
    assert run.facilities_counted == operating
    assert run.facilities_left_out == 1
