"""Corridors along lines: every feature within width_m of a railway/highway, its distance, its
status, the completion rate per unit; checked against shapely buffers computed here."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.corridors import features_in_corridor
from mzgis.errors import GeometryKindError, ParameterError
from tests.conftest import shared

UTM = "EPSG:32650"


def _to_wgs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs("EPSG:4326")


def _fixture():
    # metres, near Beijing in UTM 50N: a railway west-east, a highway north-south
    x0, y0 = 440_000.0, 4_420_000.0
    rail = shapely.LineString([(x0, y0), (x0 + 2000, y0)])
    road = shapely.LineString([(x0 + 3000, y0 - 1000), (x0 + 3000, y0 + 1000)])
    lines = gpd.GeoDataFrame({"feature_id": ["R1", "H1"], "name": ["京包铁路", "G6"], "class": ["railway", "trunk"]},
                             geometry=[rail, road], crs=UTM)
    pts = {  # id: (x offset, y offset, status)
        "g1": (100, 50, "整治完成"),      # 50 m from the railway
        "g2": (500, -199, "未整治"),      # 199 m: inside
        "g3": (800, 201, "整治完成"),     # 201 m: outside
        "g4": (2100, 0, "未整治"),        # 100 m beyond the railway's end: inside (round end)
        "g5": (2150, 150, "整治完成"),    # sqrt(150²+150²) = 212 m from the end: outside
        "g6": (2900, 500, "整治完成"),    # 100 m from the highway
        "g7": (3120, -900, "迁出"),       # 120 m from the highway, another status
        "g8": (1500, 900, "未整治"),      # far from both
    }
    geoms = [shapely.Point(x0 + dx, y0 + dy) for dx, dy, _ in pts.values()]
    # a grave yard polygon whose edge is 30 m from the highway, centre far away
    geoms.append(shapely.box(x0 + 3030, y0 + 200, x0 + 3600, y0 + 600))
    feats = gpd.GeoDataFrame({"feature_id": [*pts, "p1"], "status": [s for *_, s in pts.values()] + ["整治完成"]},
                             geometry=geoms, crs=UTM)
    west = shapely.box(x0 - 500, y0 - 2000, x0 + 2500, y0 + 2000)
    east = shapely.box(x0 + 2500, y0 - 2000, x0 + 5000, y0 + 2000)
    units = gpd.GeoDataFrame({"feature_id": ["T1", "T2"], "name": ["西乡", "东镇"]}, geometry=[west, east], crs=UTM)
    return feats, lines, units


def _oracle(feats_m, lines_m, width):
    """Independently: the features meeting the union of the lines' buffers, and their distance."""
    zone = shapely.union_all([shapely.buffer(g, width, quad_segs=64) for g in lines_m.geometry])
    d = np.array([[shapely.distance(f, g) for g in lines_m.geometry] for f in feats_m.geometry])
    inside = np.array([shapely.intersects(f, zone) for f in feats_m.geometry])
    return inside, d.min(axis=1), d.argmin(axis=1)


def test_hand_fixture_against_buffers():
    feats, lines, units = _fixture()
    res = features_in_corridor(_to_wgs(feats), _to_wgs(lines), 200, UTM, units={"subdistrict": _to_wgs(units)})
    inside, dist, which = _oracle(feats, lines, 200)
    want = feats.loc[inside, "feature_id"].tolist()
    assert sorted(res.inside["feature_id"]) == sorted(want) == ["g1", "g2", "g4", "g6", "g7", "p1"]
    got = res.inside.set_index("feature_id")
    for i, fid in enumerate(feats["feature_id"]):
        if inside[i]:
            # the WGS-84 round trip moves points by millimetres
            assert got.loc[fid, "distance_m"] == pytest.approx(dist[i], abs=0.05)
            assert got.loc[fid, "line_id"] == lines["feature_id"].iloc[which[i]]
    assert got.loc["g6", "line_name"] == "G6"
    assert got.loc["g6", "line_class"] == "trunk"
    assert got.loc["p1", "distance_m"] == pytest.approx(30, abs=0.05)
    assert got.loc["g7", "status"] == "迁出"
    assert not got.loc["g7", "done"]
    s = res.summary.set_index(["level", "unit_code"])
    # west: g1 done, g2 and g4 not; east: g6, p1 done, g7 not
    assert s.loc[("all", "ALL"), ["inside", "done"]].tolist() == [6, 3]
    assert s.loc[("subdistrict", "T1"), ["inside", "done", "completion_rate"]].tolist() == [3, 1, pytest.approx(1 / 3, abs=1e-4)]
    assert s.loc[("subdistrict", "T2"), ["inside", "done", "completion_rate"]].tolist() == [3, 2, pytest.approx(2 / 3, abs=1e-4)]
    assert s.loc[("subdistrict", "T1"), "unit_name"] == "西乡"


def test_done_status_is_configurable():
    feats, lines, _ = _fixture()
    res = features_in_corridor(feats, lines, 200, UTM, done=["整治完成", "迁出"])
    assert res.summary.iloc[0][["inside", "done"]].tolist() == [6, 4]
    assert res.done_statuses == ("整治完成", "迁出")


def test_real_osm_arterials_against_buffers():
    """Daxing's motorway/primary ways (OSM) and a grid of points over the extract."""
    path = shared("osm/beijing_daxing_yizhuang_bda.osm")
    lines = gpd.read_file(path, layer="lines")
    lines = lines[lines["highway"].isin(["motorway", "trunk", "primary"])].rename(columns={"highway": "class"})
    lines = lines.assign(feature_id=lines["osm_id"].astype(str)).reset_index(drop=True)
    assert len(lines) >= 10
    minx, miny, maxx, maxy = lines.total_bounds
    xs, ys = np.meshgrid(np.linspace(minx, maxx, 25), np.linspace(miny, maxy, 20))
    feats = gpd.GeoDataFrame({"feature_id": [f"p{i}" for i in range(xs.size)],
                              "status": np.where(np.arange(xs.size) % 3 == 0, "整治完成", "未整治")},
                             geometry=gpd.points_from_xy(xs.ravel(), ys.ravel()), crs="EPSG:4326")
    res = features_in_corridor(feats, lines, 150, UTM)
    inside, dist, _ = _oracle(feats.to_crs(UTM), lines.to_crs(UTM), 150)
    clear = np.abs(dist - 150) > 0.5  # points on the buffer's edge: its polygon is an approximation
    got = set(res.inside["feature_id"])
    ids = feats["feature_id"].to_numpy()
    assert set(ids[inside & clear]) == got & set(ids[clear])
    assert 30 < len(got) < len(feats)
    d = dict(zip(ids, dist, strict=True))
    assert np.allclose(res.inside["distance_m"], [d[i] for i in res.inside["feature_id"]], atol=0.01)
    n_done = int((feats.set_index("feature_id").loc[list(got), "status"] == "整治完成").sum())
    assert res.summary.iloc[0][["inside", "done"]].tolist() == [len(got), n_done]


def test_refuses_points_as_lines_and_bad_width():
    feats, lines, _ = _fixture()
    with pytest.raises(GeometryKindError, match=r"不是线图层.*not a line layer.*Point"):
        features_in_corridor(feats, feats, 200, UTM)
    for bad in (0, -5, "abc", float("nan")):
        with pytest.raises(ParameterError, match="width_m"):
            features_in_corridor(feats, lines, bad, UTM)
