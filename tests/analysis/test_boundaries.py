"""Boundary lines and topology inspection: real Beijing subdistricts and hand-made faults."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.boundaries import derive_boundary_lines, inspect_units
from tests.conftest import shared

UTM50 = "EPSG:32650"


@pytest.fixture(scope="module")
def beijing():
    g = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"))
    g["feature_id"] = [str(i + 1) for i in range(len(g))]
    g["name"] = g["乡"]
    g["parent_name"] = g["县"]
    return g


def test_lines_for_all_331_units_match_shapely_oracle(beijing):
    res = derive_boundary_lines(beijing, UTM50)
    lines = res.lines
    involved = set(lines["left_code"]) | set(lines.loc[lines.right_code != "", "right_code"])
    assert involved == set(beijing["feature_id"])  # every unit has its boundary lines
    shared_len = lines.loc[lines.right_code != "", "length_m"].sum()
    # independent oracle: intersections of neighbouring boundaries, computed with shapely
    m = beijing.to_crs(UTM50)
    j = gpd.sjoin(m[["geometry"]], m[["geometry"]], predicate="intersects")
    j = j[j.index < j["index_right"]]
    oracle = sum(m.geometry.iloc[a].boundary.intersection(m.geometry.iloc[b].boundary).length
                 for a, b in zip(j.index, j["index_right"], strict=True))
    assert shared_len == pytest.approx(oracle, rel=1e-3)
    # outer lines together are the outline of Beijing
    outer = lines.loc[lines.right_code == "", "length_m"].sum()
    assert outer == pytest.approx(shapely.union_all(m.geometry.values).exterior.length, rel=1e-3)
    # pairs are unique and lengths positive
    assert lines["feature_id"].is_unique
    assert (lines["length_m"] > 0).all()


def test_real_data_has_no_gaps_or_overlaps_and_chaoyang_parent_check(beijing):
    found = inspect_units(beijing, UTM50)
    assert len(found) == 0  # the mosstool subdistricts tile Beijing exactly (checked: 0 overlaps, 0 holes)
    # containment in the real (GCJ-02, converted) Chaoyang outline: real mismatches are reported
    from mzgis.layers import coords as cc

    raw = gpd.read_file(shared("boundaries/districts_amap_gcj02/110105.geojson"))
    outline = raw.geometry.iloc[0]
    outline = shapely.transform(outline, lambda xy: np.column_stack(cc.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    parents = gpd.GeoDataFrame({"feature_id": ["110105"], "name": ["朝阳区"]}, geometry=[outline], crs="EPSG:4326")
    chaoyang = beijing[beijing["县"] == "朝阳区"].copy()
    found = inspect_units(chaoyang, UTM50, parents=parents)
    spill = found[found.finding == "not_in_parent"]
    assert 0 < len(spill) < len(chaoyang)
    assert (spill["area_m2"] > 0).all()
    # the other way round: land of the outline that no subdistrict covers (oracle: shapely difference)
    under_none = found[found.finding == "parent_not_covered"]
    assert under_none["units"].tolist() == ["110105"]
    expect = parents.to_crs(UTM50).geometry.iloc[0].difference(
        shapely.union_all(chaoyang.to_crs(UTM50).geometry.values)).area
    assert expect > 1e6  # over a square kilometre of Chaoyang lies under no subdistrict of this data
    assert under_none["area_m2"].iloc[0] == pytest.approx(expect, abs=0.01)
    others = beijing[beijing["县"] == "海淀区"].head(3).copy()
    missing = inspect_units(others, UTM50, parents=parents)
    assert (missing["finding"] == "parent_missing").sum() == 3
    assert not (missing["finding"] == "parent_not_covered").any()  # no child of Chaoyang in the layer


def test_hand_made_overlap_gap_and_sliver():
    # three 100 m squares in a row; B overlaps A by 10 m; C leaves a 5 m gap closed off by D below
    a = shapely.box(0, 0, 100, 100)
    b = shapely.box(90, 0, 190, 100)
    c = shapely.box(195, 0, 295, 100)
    d = shapely.box(0, -50, 295, 0).union(shapely.box(0, 100, 295, 150))
    tiny = shapely.MultiPolygon([shapely.box(400, 0, 500, 100), shapely.box(600, 0, 603, 3)])
    g = gpd.GeoDataFrame({"feature_id": ["A", "B", "C", "D", "E"], "name": ["甲", "乙", "丙", "丁", "戊"]},
                         geometry=[a, b, c, d, tiny], crs=UTM50)
    found = inspect_units(g, UTM50, sliver_m2=100)
    overlap = found[found.finding == "overlap"]
    assert overlap["units"].tolist() == ["A,B"]
    assert overlap["area_m2"].iloc[0] == pytest.approx(1000)
    gap = found[found.finding == "gap"]
    assert len(gap) == 1
    assert gap["area_m2"].iloc[0] == pytest.approx(500)
    assert set(gap["units"].iloc[0].split(",")) == {"B", "C", "D"}
    sliver = found[found.finding == "sliver"]
    assert sliver["units"].tolist() == ["E"]
    assert sliver["area_m2"].iloc[0] == pytest.approx(9)
    assert found["lon"].notna().all()


def test_place_names_against_a_standard_list():
    from mzgis.analysis.addresses import check_place_names, unit_key

    names = gpd.GeoDataFrame({"feature_id": ["1", "2", "3"], "name": ["望京西园", "望京西苑", "花家地"]},
                             geometry=[shapely.Point(0, 0)] * 3, crs="EPSG:4326")
    f = check_place_names(names, ["望京西园", "花家地", "南湖渠"])
    assert f["feature_id"].tolist() == ["2"]
    assert f["finding"].tolist() == ["nonstandard_place_name"]
    assert unit_key("望京街道") == "望京"
    assert unit_key("涧沟村") == "涧沟"


def test_neighbours_without_shared_vertices_fall_back_to_intersection():
    # B's west edge runs along A's east edge but has an extra vertex: no segment is shared
    a = shapely.box(116.40, 39.90, 116.41, 39.91)
    b = shapely.Polygon([(116.41, 39.90), (116.42, 39.90), (116.42, 39.91), (116.41, 39.91), (116.41, 39.904)])
    g = gpd.GeoDataFrame({"feature_id": ["A", "B"], "name": ["甲", "乙"]}, geometry=[a, b], crs="EPSG:4326")
    res = derive_boundary_lines(g, UTM50)
    shared = res.lines[res.lines.right_code != ""]
    assert shared["feature_id"].tolist() == ["A|B"]
    edge = gpd.GeoSeries([shapely.LineString([(116.41, 39.90), (116.41, 39.91)])], crs="EPSG:4326").to_crs(UTM50)
    assert shared["length_m"].iloc[0] == pytest.approx(edge.length.iloc[0], rel=1e-3)
    assert any("share no vertices" in n for n in res.notes)
    perimeter = g.to_crs(UTM50).length.sum()
    outer = res.lines.loc[res.lines.right_code == "", "length_m"].sum()
    assert outer == pytest.approx(perimeter - 2 * edge.length.iloc[0], rel=1e-3)
