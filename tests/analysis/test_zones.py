"""Zones (火葬区/土葬改革区/禁建区) overlaid with demand and facilities, and nearest-facility
proximity (M6), against shapely computed here."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.zones import nearest_between, zone_overlay
from mzgis.errors import GeometryKindError, ParameterError
from tests.conftest import shared

UTM = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0


def _zones():
    return gpd.GeoDataFrame({"feature_id": ["Z1", "Z2"], "name": ["城区", "山区"], "zone_type": ["火葬区", "土葬改革区"]},
                            geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 1000),
                                      shapely.box(X0 + 2000, Y0, X0 + 5000, Y0 + 3000)], crs=UTM)


def test_overlay_hand_fixture():
    rng = np.random.default_rng(3)
    xy = rng.uniform([X0 - 500, Y0 - 500], [X0 + 5500, Y0 + 3500], size=(60, 2))
    dem = gpd.GeoDataFrame({"population": rng.integers(1, 50, 60).astype(float), "households": 1.0},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM)
    fac = gpd.GeoDataFrame({"feature_id": ["F1", "F2", "F3", "F4"],
                            "kind": ["funeral_home", "public_cemetery", "public_cemetery", "funeral_home"]},
                           geometry=[shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 3000, Y0 + 2000),
                                     shapely.Point(X0 + 4000, Y0 + 100), shapely.Point(X0 + 9000, Y0)], crs=UTM)
    t = zone_overlay(_zones().to_crs(4326), UTM, demand=dem.to_crs(4326), facilities=fac.to_crs(4326)).set_index("zone_id")
    for zid, poly in zip(["Z1", "Z2"], _zones().geometry, strict=True):
        inside = np.array([shapely.within(p, poly) for p in dem.geometry])
        assert t.loc[zid, "population"] == pytest.approx(dem.loc[inside, "population"].sum())
        assert t.loc[zid, "households"] == inside.sum()
    assert t.loc["Z1", "area_km2"] == pytest.approx(2.0, rel=1e-3)
    assert t.loc["Z2", "zone_type"] == "土葬改革区"
    assert t[["facilities", "facilities:funeral_home", "facilities:public_cemetery"]].values.tolist() == [[1, 1, 0], [2, 0, 2]]


def test_overlay_real_townships_with_worldpop():
    """Mentougou's 13 towns as zones; demand = every Beijing unit at a point on it, with its WorldPop population."""
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    units = gpd.read_file(shp)
    units["population"] = np.load(shp.with_name("worldpop.npy"))[:, 0].astype(float)
    zones = units[units["县"] == "门头沟区"].rename(columns={"乡": "name"}).reset_index(drop=True)
    assert len(zones) == 13
    dem = gpd.GeoDataFrame({"population": units["population"]}, geometry=units.representative_point(), crs=units.crs)
    t = zone_overlay(zones[["name", "geometry"]], UTM, demand=dem)
    want = [units.loc[[shapely.within(p, z) for p in dem.geometry], "population"].sum() for z in zones.geometry]
    assert t["population"].tolist() == pytest.approx(want)
    assert t["population"].tolist() == pytest.approx(zones["population"].tolist())  # each town holds its own point


def test_nearest_between_against_pairwise_distances():
    rng = np.random.default_rng(7)
    a = gpd.GeoDataFrame({"feature_id": [f"A{i}" for i in range(15)], "name": [f"养老服务中心{i}" for i in range(15)]},
                         geometry=gpd.points_from_xy(*rng.uniform(0, 10_000, (2, 15)) + np.array([[X0], [Y0]])), crs=UTM)
    b = gpd.GeoDataFrame({"feature_id": [f"B{i}" for i in range(6)], "name": [f"卫生服务站{i}" for i in range(6)]},
                         geometry=gpd.points_from_xy(*rng.uniform(0, 10_000, (2, 6)) + np.array([[X0], [Y0]])), crs=UTM)
    t = nearest_between(a.to_crs(4326), b.to_crs(4326), UTM, max_m=2000)
    d = np.array([[shapely.distance(p, q) for q in b.geometry] for p in a.geometry])
    assert t["nearest_id"].tolist() == [f"B{j}" for j in d.argmin(axis=1)]
    assert t["distance_m"].to_numpy() == pytest.approx(d.min(axis=1), abs=0.05)
    assert t["far"].tolist() == (d.min(axis=1) > 2000).tolist()
    assert 0 < t["far"].sum() < len(t)
    assert t.loc[0, "nearest_name"].startswith("卫生服务站")
    none = nearest_between(a, b.iloc[:0], UTM, max_m=2000)
    assert none["far"].all()
    assert none["distance_m"].isna().all()


def test_refused():
    with pytest.raises(GeometryKindError, match="not a polygon layer"):
        zone_overlay(gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)], crs=UTM), UTM)
    a = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)], crs=UTM)
    with pytest.raises(ParameterError, match="max_m"):
        nearest_between(a, a, UTM, max_m=-1)
