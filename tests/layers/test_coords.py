"""GCJ-02 / BD-09 conversions against published reference points and round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mzgis.layers import coords as cc

# Published test vectors of the eviltransform project (wgs lat, wgs lon, gcj lat, gcj lon).
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def metres(lon1, lat1, lon2, lat2):
    """Local equirectangular distance in metres (accurate at these separations)."""
    k = np.cos(np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2))
    return np.hypot((np.asarray(lon1) - lon2) * 111_320 * k, (np.asarray(lat1) - lat2) * 110_540)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_forward_matches_published_points(wlat, wlon, glat, glon):
    x, y = cc.wgs84_to_gcj02(wlon, wlat)
    assert float(x) == pytest.approx(glon, abs=1e-9)
    assert float(y) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_inverse_recovers_published_points_under_half_a_metre(wlat, wlon, glat, glon):
    x, y = cc.gcj02_to_wgs84(glon, glat)
    assert metres(x, y, wlon, wlat) < 0.5
    assert metres(x, y, wlon, wlat) < 0.01  # in fact sub-centimetre


def test_offset_is_hundreds_of_metres_in_beijing():
    x, y = cc.wgs84_to_gcj02(116.391, 39.907)
    assert 100 < metres(x, y, 116.391, 39.907) < 1000


def test_bd09_forward_matches_published_point():
    # coordtransform's published example: gcj02ToBd09(116.404, 39.915)
    x, y = cc.gcj02_to_bd09(116.404, 39.915)
    assert float(x) == pytest.approx(116.41036949371029, abs=1e-9)
    assert float(y) == pytest.approx(39.92133699351022, abs=1e-9)


def test_bd09_inverse_close_to_the_common_approximation():
    # the widely copied closed-form bd09ToGcj02(116.404, 39.915) = (116.39762729119315, 39.90865673957631)
    # is an approximation; the exact inverse lies within a metre of it
    x, y = cc.bd09_to_gcj02(116.404, 39.915)
    assert metres(x, y, 116.39762729119315, 39.90865673957631) < 1.0


def test_outside_china_is_unchanged():
    x, y = cc.wgs84_to_gcj02(np.array([2.35, -74.0]), np.array([48.85, 40.7]))
    np.testing.assert_array_equal(x, [2.35, -74.0])
    np.testing.assert_array_equal(y, [48.85, 40.7])


def test_vectorised_round_trip_million_points():
    rng = np.random.default_rng(7)
    lon = rng.uniform(73.5, 135.0, 1_000_000)
    lat = rng.uniform(18.2, 53.5, 1_000_000)
    gx, gy = cc.wgs84_to_gcj02(lon, lat)
    wx, wy = cc.gcj02_to_wgs84(gx, gy)
    assert metres(wx, wy, lon, lat).max() < 0.01
    bx, by = cc.wgs84_to_bd09(lon[:1000], lat[:1000])
    wx2, wy2 = cc.bd09_to_wgs84(bx, by)
    assert metres(wx2, wy2, lon[:1000], lat[:1000]).max() < 0.01


@settings(max_examples=200, deadline=None)
@given(st.floats(73.5, 135.0), st.floats(18.2, 53.5))
def test_round_trip_property(lon, lat):
    gx, gy = cc.wgs84_to_gcj02(lon, lat)
    wx, wy = cc.gcj02_to_wgs84(gx, gy)
    assert metres(wx, wy, lon, lat) < 0.01
    bx, by = cc.wgs84_to_bd09(lon, lat)
    wx, wy = cc.bd09_to_wgs84(bx, by)
    assert metres(wx, wy, lon, lat) < 0.01


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        cc.gcj02_to_wgs84(np.zeros(2), np.zeros(3))
