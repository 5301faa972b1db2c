"""Dropping a layer on both store back ends: every feature retired in one step, kept in the
history, left out of the current layers; importing it again brings it back."""

from __future__ import annotations

import geopandas as gpd

from mzgis.layers.store.drop import drop_layer, dropped_layers, live_layers


def _pts(ids):
    return gpd.GeoDataFrame({"feature_id": ids, "name": [f"点{i}" for i in ids]},
                            geometry=gpd.points_from_xy([116.3 + i * 0.001 for i in range(len(ids))], [39.9] * len(ids)),
                            crs="EPSG:4326")


def test_drop_layer_retires_all_and_keeps_history(any_workspace):
    store = any_workspace.store
    store.write_layer("a", _pts(["1", "2", "3"]), layer_type="demand")
    store.write_layer("b", _pts(["9"]), layer_type="demand")
    rep = drop_layer(store, "a", user="tester", note="重复 duplicate")
    assert rep.retired == 3
    assert store.read("a").empty
    assert len(store.read("a", include_retired=True)) == 3
    assert dropped_layers(store) == ["a"]
    assert list(live_layers(store)["name"]) == ["b"]
    assert list(live_layers(store, include_dropped=True)["dropped"]) == [True, False]
    h = store.history("a")
    retired = h[h["note"] == "重复 duplicate"]
    assert sorted(retired["feature_id"]) == ["1", "2", "3"]
    assert set(retired["user"]) == {"tester"}
    # imported again: live, no longer listed as dropped
    store.write_layer("a", _pts(["1"]), layer_type="demand")
    assert dropped_layers(store) == []
    assert len(store.read("a")) == 1
