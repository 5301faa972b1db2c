"""The map's dissolved service areas (a grid, for speed at city scale) against the exact ones of
mzgis.analysis.service_areas on the real Wangjing network: same places, areas within a few per
cent, rings nested."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from tests.conftest import shared


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from mzgis.analysis.service_areas import service_areas
    from mzgis.layers.crs import utm_crs
    from mzgis.layers.network import load_or_build, osm_bounds
    from mzgis.maps.areas import display_service_areas

    src = shared("osm/beijing_chaoyang_wangjing.osm")
    b = osm_bounds(src)
    g, _ = load_or_build(src, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), tmp_path_factory.mktemp("cache"))
    rng = np.random.default_rng(1)
    n = rng.choice(g.n_nodes, 12, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(12)], "kind": ["a"] * 6 + ["b"] * 6},
                           geometry=gpd.points_from_xy(g.x[n] + 15, g.y[n]), crs=g.crs)
    exact = service_areas(g, fac, dissolve_by="kind").set_index(["kind", "minutes"])
    shown = display_service_areas(g, fac, dissolve_by="kind").set_index(["kind", "minutes"])
    return exact, shown


def test_display_areas_match_the_exact_ones(both):
    exact, shown = both
    assert list(shown.index) == list(exact.index)
    for key, e in exact.geometry.items():
        d = shown.geometry[key]
        assert abs(d.area / e.area - 1) < 0.06, (key, d.area, e.area)
        # the boundary moves by about a grid cell (10 m) at most: little area on either side
        assert e.symmetric_difference(d).area / e.area < 0.12, key
        assert d.buffer(12).contains(e.buffer(-12)), key


def test_display_rings_are_nested(both):
    _, shown = both
    for kind in ("a", "b"):
        r5, r10, r15 = (shown.geometry[(kind, t)] for t in (5.0, 10.0, 15.0))
        assert r5.area < r10.area < r15.area
        assert r10.buffer(1).contains(r5)
        assert r15.buffer(1).contains(r10)
