"""A damaged cached graph (cache/ is derived data) is rebuilt from its source, as a cleared cache
is: it was an internal error (exit 1, "a fault in mzgis") though nothing was wrong with the data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mzgis.layers.network import load_or_build


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_cache_is_rebuilt(tmp_path, damage):
    src = tmp_path / "roads.geojson"
    feats = [{"type": "Feature", "properties": {},
              "geometry": {"type": "LineString", "coordinates": [[116.40, 39.90], [116.401, 39.90], [116.401, 39.901]]}}]
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    cache = tmp_path / "cache"
    g, cached = load_or_build(src, "EPSG:32650", cache)
    assert not cached
    (f,) = cache.glob("network-*.npz")
    f.write_bytes(b"garbage" if damage == "garbage" else f.read_bytes()[:200])
    again, cached = load_or_build(src, "EPSG:32650", cache)
    assert not cached  # rebuilt, and cached again
    np.testing.assert_allclose(again.length_m, g.length_m)
    assert load_or_build(src, "EPSG:32650", cache)[1]
