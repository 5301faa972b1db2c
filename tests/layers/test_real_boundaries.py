"""Acceptance on the real Beijing data in ../shared/data/boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from mzgis.gis.pipelines import import_file, parse_join_npy
from tests.conftest import shared


@pytest.fixture
def beijing_ws(workspace):
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    npy = shared("boundaries/beijing_subdistricts/worldpop.npy")
    field, values = parse_join_npy(f"{npy}:0:population")
    import_file(workspace, shp, layer="subdistricts", layer_type="admin_units", level="subdistrict",
                join_arrays={field: values})
    return workspace


def test_all_331_subdistricts_with_worldpop(beijing_ws):
    g = beijing_ws.store.read("subdistricts")
    pop = np.load(shared("boundaries/beijing_subdistricts/worldpop.npy"))[:, 0]
    assert len(g) == 331
    assert g["population"].sum() == 20_755_648
    # joined by row order: feature ids are row numbers and each row carries its own value
    np.testing.assert_array_equal(g.sort_values("feature_id", key=lambda s: s.astype(int))["population"], pop)
    assert (g["parent_name"] == "朝阳区").sum() == 43
    assert (g["parent_name"] == "大兴区").sum() == 22
    assert (g["parent_name"] == "门头沟区").sum() == 13
    assert g.is_valid.all()


@pytest.mark.parametrize(("coords", "low", "high"), [("gcj02", 0.0, 0.02), ("wgs84", 0.08, 0.12)])
def test_chaoyang_gcj02_outline_matches_subdistricts(beijing_ws, coords, low, high):
    gj = shared("boundaries/districts_amap_gcj02/110105.geojson")
    import_file(beijing_ws, gj, layer=f"chaoyang_{coords}", layer_type="admin_units", level="district", coords=coords)
    store = beijing_ws.store
    crs = beijing_ws.metric_crs()
    outline = store.read(f"chaoyang_{coords}").to_crs(crs).geometry.iloc[0]
    subs = store.read("subdistricts")
    union = subs[subs["parent_name"] == "朝阳区"].to_crs(crs).union_all()
    share = outline.symmetric_difference(union).area / outline.area
    assert low <= share < high, share
