"""Boundary-marker checks with markers placed on real derived lines, then moved, removed,
duplicated and aged."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.boundaries import derive_boundary_lines
from mzgis.analysis.markers import MarkerSettings, inspect_markers, inspection_plan
from tests.conftest import shared

UTM50 = "EPSG:32650"
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def lines():
    g = gpd.read_file(shared("boundaries/beijing_subdistricts/beijing.shp"))
    g["feature_id"] = [str(i + 1) for i in range(len(g))]
    g["name"] = g["乡"]
    chaoyang = g[g["县"] == "朝阳区"]
    ln = derive_boundary_lines(chaoyang, UTM50).lines
    return ln[ln.right_code != ""].head(6).to_crs(UTM50).reset_index(drop=True)


def place_markers(lines, spacing=500.0):
    rows = []
    for r in lines.to_dict("records"):
        geom = r["geometry"]
        for k, d in enumerate(np.arange(0, geom.length, spacing)):
            rows.append({"feature_id": f"{r['feature_id']}-{k + 1:03d}", "line_id": r["feature_id"],
                         "condition": "完好", "last_inspection_date": "2024-05-01", "geometry": geom.interpolate(d)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM50)


def shift_across(line, pt, metres):
    """Move a point on a line sideways (perpendicular to the line) by ``metres``."""
    d = line.project(pt)
    a, b = line.interpolate(max(d - 1, 0)), line.interpolate(min(d + 1, line.length))
    dx, dy = b.x - a.x, b.y - a.y
    n = np.hypot(dx, dy)
    return shapely.Point(pt.x - dy / n * metres, pt.y + dx / n * metres)


def findings(markers, lines, **kw):
    return inspect_markers(markers, lines, UTM50, settings=MarkerSettings(**kw), today=TODAY)


def test_markers_on_the_lines_are_clean(lines):
    mk = place_markers(lines)
    f = findings(mk, lines)
    assert len(f) == 0, f


def test_moved_removed_duplicated_aged_and_damaged(lines):
    mk = place_markers(lines)
    lid0 = lines["feature_id"].iloc[0]
    on0 = mk.index[mk.line_id == lid0]
    moved_a, moved_b, dup = on0[1], on0[2], on0[3]
    line0 = lines.geometry.iloc[0]
    mk.loc[moved_a, "geometry"] = shift_across(line0, mk.loc[moved_a, "geometry"], 12)  # 12 m: offset
    mk.loc[moved_b, "geometry"] = shift_across(line0, mk.loc[moved_b, "geometry"], 800)  # far from its line
    mk.loc[dup, "feature_id"] = mk.loc[on0[4], "feature_id"]  # duplicated code
    aged = mk.index[mk.line_id == lines["feature_id"].iloc[1]][0]
    mk.loc[aged, "last_inspection_date"] = "2019-06-30"  # older than the 5-year cycle
    never = mk.index[mk.line_id == lines["feature_id"].iloc[1]][1]
    mk.loc[never, "last_inspection_date"] = None
    damaged = mk.index[mk.line_id == lines["feature_id"].iloc[2]][0]
    mk.loc[damaged, "condition"] = "损坏"
    # remove every marker from the middle of line 3 (a gap longer than the 2 km spacing)
    lid3 = lines["feature_id"].iloc[3]
    on3 = mk[mk.line_id == lid3]
    assert len(on3) >= 6  # the 3.4 km line carries 7 markers at 500 m
    mk = mk.drop(index=on3.index[1:-1])
    unknown = mk.index[mk.line_id == lines["feature_id"].iloc[4]][0]
    mk.loc[unknown, "line_id"] = "no-such-line"

    f = findings(mk, lines, spacing_m=2000)
    by = f.groupby("finding")
    offset = by.get_group("offset")
    assert offset["marker_code"].tolist() == [mk.loc[moved_a, "feature_id"]]
    assert offset["distance_m"].iloc[0] == pytest.approx(12, abs=1.0)
    far = by.get_group("not_near_line")
    assert far["marker_code"].tolist() == [mk.loc[moved_b, "feature_id"]]
    assert far["distance_m"].iloc[0] > 50
    dups = by.get_group("duplicate_code")
    assert len(dups) == 2
    assert set(dups["marker_code"]) == {mk.loc[on0[4], "feature_id"]}
    overdue = by.get_group("overdue")
    assert set(overdue["marker_code"]) == {mk.loc[aged, "feature_id"], mk.loc[never, "feature_id"]}
    assert any("never" in d for d in overdue["detail"])
    cond = by.get_group("condition")
    assert cond["marker_code"].tolist() == [mk.loc[damaged, "feature_id"]]
    gaps = by.get_group("gap")
    assert set(gaps["line_id"]) == {lid3}
    assert gaps["distance_m"].iloc[0] == pytest.approx(3000, abs=1)
    assert by.get_group("unknown_line")["line_id"].tolist() == ["no-such-line"]
    # a tighter tolerance flags more, a looser one fewer
    assert len(findings(mk, lines, tolerance_m=20).query("finding == 'offset'")) == 0


def test_plan_orders_markers_along_each_line(lines):
    mk = place_markers(lines).sample(frac=1.0, random_state=3)  # shuffled
    plan = inspection_plan(mk, lines, UTM50, today=TODAY)
    for lid, grp in plan.groupby("line_id"):
        assert grp["chainage_m"].is_monotonic_increasing, lid
        assert grp["seq"].tolist() == list(range(1, len(grp) + 1))
        codes = grp["marker_code"].tolist()
        assert codes == sorted(codes)  # codes were issued in order along the line
    assert set(plan["line_id"]) == set(lines["feature_id"])
