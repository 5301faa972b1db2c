"""Coverage at every admin level and the uncovered-units ranking, on hand-made units.

Written against the mutants mutmut left alive in coverage.py (levels left out, the
jurisdiction's name, units missing from ``unit_names``, the uncovered figures and their order).
Every expected figure is a hand sum over the six points below.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from mzgis.analysis.coverage import UNASSIGNED, assign_units, coverage_table, uncovered_units

UTM = "EPSG:32650"

# district D1 = subdistricts S1 (= community C1) and S2 (= communities C2 and C3), side by side
BOX = {"C1": (0, 100), "C2": (100, 200), "C3": (200, 300)}
#            x    households population elderly minutes  unit
POINTS = [(50, 10.0, 20.0, 4.0, 5.0),      # C1, covered at 10 and 15
          (60, 5.0, 10.0, 2.0, 20.0),      # C1, never covered
          (150, 8.0, 16.0, 3.0, 12.0),     # C2, covered at 15 only
          (160, 6.0, 15.0, 5.0, 30.0),     # C2, never covered
          (250, 5.0, 10.0, 1.0, np.nan),   # C3, not reached
          (500, 1.0, 2.0, 0.0, 1.0)]       # outside every unit, covered


def units():
    def layer(codes_boxes):
        return gpd.GeoDataFrame({"feature_id": [c for c, _ in codes_boxes]},
                                geometry=[shapely.box(a, -10, b, 10) for _, (a, b) in codes_boxes], crs=UTM)

    return {"district": layer([("D1", (0, 300))]),
            "subdistrict": layer([("S1", (0, 100)), ("S2", (100, 300))]),
            "community": layer([(c, BOX[c]) for c in ("C1", "C2", "C3")])}


def table():
    dem = gpd.GeoDataFrame({"households": [p[1] for p in POINTS], "population": [p[2] for p in POINTS],
                            "elderly": [p[3] for p in POINTS]},
                           geometry=gpd.points_from_xy([p[0] for p in POINTS], [0] * len(POINTS)), crs=UTM)
    names = {"district": {"D1": "甲区"}, "community": {"C1": "一社区", "C2": "二社区", "C3": "三社区", "C9": "九社区"}}
    # no names for the subdistricts: their rows must still be there, named by code
    return coverage_table(dem, [p[4] for p in POINTS], [10, 15], unit_of=assign_units(dem, units()),
                          unit_names=names, jurisdiction=("J", "测试区"))


def test_every_level_has_its_units_and_adds_up():
    t = table()
    assert t["level"].unique().tolist() == ["jurisdiction", "district", "subdistrict", "community"]
    r = t.set_index(["level", "unit_code", "minutes"])
    want = {  # (households, households covered) at 10 and at 15 minutes, summed by hand
        ("jurisdiction", "J"): ((35, 11), (35, 19)),
        ("district", "D1"): ((34, 10), (34, 18)), ("district", ""): ((1, 1), (1, 1)),
        ("subdistrict", "S1"): ((15, 10), (15, 10)), ("subdistrict", "S2"): ((19, 0), (19, 8)),
        ("subdistrict", ""): ((1, 1), (1, 1)),
        ("community", "C1"): ((15, 10), (15, 10)), ("community", "C2"): ((14, 0), (14, 8)),
        ("community", "C3"): ((5, 0), (5, 0)), ("community", ""): ((1, 1), (1, 1)),
        ("community", "C9"): ((0, 0), (0, 0)),  # named, no demand: a zero row
    }
    for (level, code), by_t in want.items():
        for m, (hh, cov) in zip((10.0, 15.0), by_t, strict=True):
            assert r.loc[(level, code, m), "households"] == hh, (level, code, m)
            assert r.loc[(level, code, m), "households_covered"] == cov, (level, code, m)
    assert len(t) == 2 * len(want)
    assert r.loc[("community", "C2", 15.0), "elderly_covered"] == 3.0
    assert r.loc[("community", "C2", 15.0), "population_covered"] == 16.0
    # the share is of households (8 of 14), not of residents (16 of 31); none without demand
    assert r.loc[("community", "C2", 15.0), "share_covered"] == 8 / 14
    assert r.loc[("community", "C3", 15.0), "share_covered"] == 0.0
    assert np.isnan(r.loc[("community", "C9", 15.0), "share_covered"])


def test_unit_names_and_the_jurisdiction_name():
    t = table()
    names = dict(zip(zip(t["level"], t["unit_code"], strict=True), t["unit_name"], strict=True))
    assert names[("jurisdiction", "J")] == "测试区"
    assert names[("district", "D1")] == "甲区"
    assert names[("community", "C3")] == "三社区"
    assert names[("subdistrict", "S2")] == "S2"  # not in unit_names: named by its code
    assert names[("community", "")] == UNASSIGNED


def test_uncovered_units_ranked_by_uncovered_residents_at_the_largest_threshold():
    u = uncovered_units(table())  # defaults: communities, the largest threshold (15)
    # hand at 15 min: C2 15 residents (6 households, 5 elderly) uncovered; C1 and C3 10 each
    # (5 households; 2 and 1 elderly): ties in code order
    assert u["unit_code"].tolist() == ["C2", "C1", "C3"]
    assert u["population_uncovered"].tolist() == [15.0, 10.0, 10.0]
    assert u["households_uncovered"].tolist() == [6.0, 5.0, 5.0]
    assert u["elderly_uncovered"].tolist() == [5.0, 2.0, 1.0]
    assert u.index.tolist() == [0, 1, 2]
    assert "index" not in u.columns
    assert set(u["minutes"]) == {15.0}
    # at 10 minutes C2 also misses its 16 covered-at-15 residents
    u10 = uncovered_units(table(), minutes=10)
    assert u10["unit_code"].tolist() == ["C2", "C1", "C3"]
    assert u10["population_uncovered"].tolist() == [31.0, 10.0, 10.0]
    # subdistricts: S2 (C2 + C3) before S1
    s = uncovered_units(table(), level="subdistrict")
    assert s["unit_code"].tolist() == ["S2", "S1"]
    assert s["population_uncovered"].tolist() == [25.0, 10.0]


def test_fully_covered_units_and_absent_levels_are_left_out():
    t = table()
    full = t[(t["level"] == "community") & (t["unit_code"] == "C1")].assign(population_covered=lambda d: d["population"])
    assert uncovered_units(full).empty
    none = uncovered_units(t, level="village")
    assert none.empty
    for col in ("population_uncovered", "households_uncovered", "elderly_uncovered"):
        assert col in none.columns


def test_assign_units_skips_empty_levels_and_gives_a_border_point_one_unit():
    u = units()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([50.0, 100.0, 400.0], [0, 0, 0]), crs=UTM, index=[3, 4, 5])
    # an empty level first must not stop the others; the point at x = 100 lies on the C1|C2 border
    got = assign_units(pts, {"district": u["district"].iloc[:0], "community": u["community"]})
    assert list(got.columns) == ["community"]
    assert got.index.tolist() == [3, 4, 5]
    assert got.loc[3, "community"] == "C1"
    assert got.loc[4, "community"] in ("C1", "C2")
    assert got.loc[5, "community"] is None
