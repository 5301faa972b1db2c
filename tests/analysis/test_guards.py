"""Guarded inputs: every public analysis function names the layer or argument that is wrong.

Each case here used to fail silently (a wrong number) or deep inside geopandas/numpy with a
message that named nothing of the caller's. The checks are those of
:mod:`mzgis.analysis._guards`; the errors are the named classes of :mod:`mzgis.errors`, which
also inherit ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis.access import accessibility
from mzgis.analysis.addresses import check_addresses
from mzgis.analysis.area_standard import area_standard
from mzgis.analysis.boundaries import derive_boundary_lines, inspect_units
from mzgis.analysis.coverage import assign_units, coverage_table
from mzgis.analysis.demand import demand_from_layer, demand_from_units
from mzgis.analysis.indicators import Indicator, IndicatorContext, evaluate
from mzgis.analysis.markers import inspect_markers
from mzgis.analysis.reach import network_reach
from mzgis.analysis.service_areas import service_areas
from mzgis.analysis.siting import CoverageProblem, solve
from mzgis.errors import (
    CrsError,
    CrsMismatchWarning,
    DuplicateIdError,
    MissingColumnError,
    MzgisError,
    ParameterError,
)
from mzgis.layers.network import build_graph

UTM = "EPSG:32650"
CJK = re.compile(r"[\u4e00-\u9fff]")


def street():
    """A straight 400 m street of four 100 m edges along y = 0, in UTM 50N."""
    return build_graph(np.arange(0.0, 500, 100), np.zeros(5), np.arange(5), np.arange(4), np.arange(1, 5), UTM)


def points(xs, crs=UTM, **cols):
    return gpd.GeoDataFrame({"feature_id": [f"p{i}" for i in range(len(xs))], **cols},
                            geometry=gpd.points_from_xy(xs, [0.0] * len(xs)), crs=crs)


def bilingual(exc: BaseException, *needles: str) -> None:
    """Chinese with English alongside, naming what is wrong; a named mzgis error and a ValueError."""
    text = str(exc)
    assert CJK.search(text), text
    assert re.search(r"\b(is|must|has|lacks|give|use|set)\b", text), text
    for n in needles:
        assert n in text, (n, text)
    assert isinstance(exc, MzgisError)
    assert isinstance(exc, ValueError)


# -- the five failures of the issue ---------------------------------------------------------------

def test_footprints_with_a_geographic_metric_crs_are_refused_not_turned_into_no_households():
    # 60 m x 79 m footprint, 6 floors, 90 m2 per household: 60 * 79 * 6 / 90 = 316 households
    fp = gpd.GeoDataFrame({"feature_id": ["B1"], "floors": [6]}, geometry=[shapely.box(0, 0, 60, 79)], crs=UTM)
    assert demand_from_layer(fp, UTM)["households"].iloc[0] == pytest.approx(60 * 79 * 6 / 90)
    lonlat = fp.to_crs("EPSG:4326")
    with pytest.raises(CrsError) as e:
        demand_from_layer(lonlat, "EPSG:4326")
    bilingual(e.value, "metric_crs", "EPSG:4326", "projected")
    # the same footprint given in lon/lat with a metric CRS gives the same households
    assert demand_from_layer(lonlat, UTM)["households"].iloc[0] == pytest.approx(316, rel=1e-6)


@pytest.mark.parametrize("case", ["demand_from_layer", "demand_from_units", "network_reach_fac", "network_reach_dem",
                                  "service_areas", "area_standard", "assign_units", "accessibility",
                                  "boundary_lines", "inspect_units", "markers", "addresses", "indicators"])
def test_a_layer_without_crs_is_named(case):
    g = street()
    bare = points([50.0, 150.0]).set_crs(None, allow_override=True)
    ok = points([50.0, 150.0], households=[1.0, 2.0], population=[1.0, 2.0], elderly=[1.0, 1.0], beds=[5, 5])
    box = gpd.GeoDataFrame({"feature_id": ["C1"], "name": ["甲"]}, geometry=[shapely.box(0, -10, 100, 10)])
    calls = {
        "demand_from_layer": (lambda: demand_from_layer(bare, UTM), "layer"),
        "demand_from_units": (lambda: demand_from_units(box, g), "units"),
        "network_reach_fac": (lambda: network_reach(g, bare, ok), "facilities"),
        "network_reach_dem": (lambda: network_reach(g, ok, bare), "demand"),
        "service_areas": (lambda: service_areas(g, bare), "facilities"),
        "area_standard": (lambda: area_standard(box, ok.assign(floor_area_m2=1.0)), "communities"),
        "assign_units": (lambda: assign_units(bare, {"community": box.set_crs(UTM)}), "points"),
        "accessibility": (lambda: accessibility(g, bare, ok), "facilities"),
        "boundary_lines": (lambda: derive_boundary_lines(box, UTM), "units"),
        "inspect_units": (lambda: inspect_units(box, UTM), "units"),
        "markers": (lambda: inspect_markers(bare, box.set_crs(UTM), UTM), "markers"),
        "addresses": (lambda: check_addresses(bare.assign(address="x"), {}), "addresses"),
        "indicators": (lambda: evaluate([], IndicatorContext(bare.assign(kind="k", status="s"), {}, UTM)),
                       "IndicatorContext.facilities"),
    }
    fn, name = calls[case]
    with pytest.raises(CrsError) as e:
        fn()
    bilingual(e.value, f"'{name}'", "set_crs")


@pytest.mark.parametrize("bad", [[], [0], [-5, 10], [float("nan")], [float("inf")], ["x"]])
def test_empty_or_non_positive_thresholds_are_named(bad):
    g = street()
    fac, dem = points([0.0]), points([50.0, 150.0])
    for fn in (lambda: network_reach(g, fac, dem, thresholds_min=bad),
               lambda: service_areas(g, fac, thresholds_min=bad),
               lambda: coverage_table(dem.assign(households=1.0, population=1.0, elderly=1.0), [1.0, 2.0], bad,
                                      unit_of=pd.DataFrame(index=dem.index), unit_names={})):
        with pytest.raises(ParameterError) as e:
            fn()
        bilingual(e.value, "thresholds_min")


def test_area_standard_keeps_the_callers_index():
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "households": [1000, 2000]},
                           geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=UTM,
                           index=pd.Index(["东", "西"], name="社区"))
    fac = gpd.GeoDataFrame({"floor_area_m2": [500.0]}, geometry=[shapely.Point(15, 5)], crs=UTM)
    t = area_standard(com, fac)
    assert t.index.equals(com.index)
    # the row of the caller's "西" is the community that holds the 500 m2 centre
    assert t.loc["西", "unit_code"] == "C2"
    assert t.loc["西", "floor_area_m2"] == 500.0
    assert t.loc["东", "floor_area_m2"] == 0.0


def test_service_areas_come_back_in_the_callers_crs():
    g = street()
    fac_utm = points([200.0])
    fac_ll = fac_utm.to_crs("EPSG:4326")
    a_utm = service_areas(g, fac_utm, thresholds_min=[1], speed_m_per_min=100, buffer_m=10)
    a_ll = service_areas(g, fac_ll, thresholds_min=[1], speed_m_per_min=100, buffer_m=10)
    assert a_utm.crs == fac_utm.crs
    assert a_ll.crs == fac_ll.crs
    # the area is measured in metres whatever the callers' CRS, and the polygons are the same place
    assert a_ll["area_m2"].iloc[0] == pytest.approx(a_utm["area_m2"].iloc[0], rel=1e-6)
    back = a_ll.to_crs(UTM).geometry.iloc[0]
    assert back.symmetric_difference(a_utm.geometry.iloc[0]).area < 1e-3 * a_utm["area_m2"].iloc[0]
    # 100 m each way from the station, buffered by 10 m: 200 m x 20 m plus two end caps
    minx, _miny, maxx, _maxy = a_utm.geometry.iloc[0].bounds
    assert (minx, maxx) == pytest.approx((90, 310))


def test_demand_points_keep_the_layers_index():
    layer = points([0.0, 10.0], households=[3.0, 4.0]).set_index(pd.Index([41, 42]))
    d = demand_from_layer(layer, UTM)
    assert d.index.tolist() == [41, 42]
    assert d.loc[42, "households"] == 4.0


# -- other guards ---------------------------------------------------------------------------------

def test_a_geographic_graph_is_refused():
    g = build_graph(np.array([116.0, 116.001]), np.array([39.0, 39.0]), np.arange(2), np.array([0]), np.array([1]),
                    "EPSG:4326")
    with pytest.raises(CrsError) as e:
        network_reach(g, points([116.0], crs="EPSG:4326"), points([116.0005], crs="EPSG:4326"))
    bilingual(e.value, "graph.crs", "EPSG:4326")


def test_duplicate_ids_are_named_with_their_rows():
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2", "C1"]},
                           geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)], crs=UTM)
    for fn, layer in ((lambda: area_standard(com, points([]).assign(floor_area_m2=[])), "communities"),
                      (lambda: assign_units(points([0.5]), {"community": com}), "units['community']"),
                      (lambda: derive_boundary_lines(com, UTM), "units"),
                      (lambda: service_areas(street(), points([0.0, 10.0]).assign(feature_id="S")), "facilities")):
        with pytest.raises(DuplicateIdError) as e:
            fn()
        bilingual(e.value, f"'{layer}'")
    with pytest.raises(DuplicateIdError, match=r"'C1' \(第 1 行 row 1\), 'C1' \(第 3 行 row 3\)"):
        area_standard(com, points([]).assign(floor_area_m2=[]))


def test_missing_columns_are_named_with_what_is_there():
    dem = points([0.0]).assign(households=1.0, population=2.0)
    with pytest.raises(MissingColumnError) as e:
        coverage_table(dem, [1.0], [15], unit_of=pd.DataFrame(index=dem.index), unit_names={})
    bilingual(e.value, "'demand'", "['elderly']", "households")
    com = gpd.GeoDataFrame({"feature_id": ["C1"]}, geometry=[shapely.box(0, 0, 9, 9)], crs=UTM)
    with pytest.raises(MissingColumnError, match="floor_area_m2"):
        area_standard(com, points([1.0]))
    with pytest.raises(MissingColumnError, match="feature_id"):
        assign_units(points([1.0]), {"community": com.drop(columns="feature_id")})


def test_minutes_not_aligned_with_demand_are_refused():
    dem = points([0.0, 1.0]).assign(households=1.0, population=2.0, elderly=0.0)
    with pytest.raises(ParameterError, match="minutes_to_nearest"):
        coverage_table(dem, [1.0], [15], unit_of=pd.DataFrame(index=dem.index), unit_names={})


@pytest.mark.parametrize(("kw", "arg"), [({"speed_m_per_min": 0}, "speed_m_per_min"),
                                          ({"max_snap_m": -1}, "max_snap_m"),
                                          ({"speed_m_per_min": float("nan")}, "speed_m_per_min")])
def test_non_positive_speeds_and_distances_are_named(kw, arg):
    with pytest.raises(ParameterError) as e:
        network_reach(street(), points([0.0]), points([50.0]), **kw)
    bilingual(e.value, arg)


@pytest.mark.parametrize(("kw", "arg"), [({"add": 0}, "add"), ({"add": 1.5}, "add"), ({"target_share": 1.2}, "target_share"),
                                          ({"target_share": 0.0}, "target_share"),
                                          ({"add": 1, "method": "best"}, "method")])
def test_siting_arguments_are_checked(kw, arg):
    import scipy.sparse as sp

    p = CoverageProblem(sp.csr_matrix(np.ones((1, 1))), np.ones(1), np.zeros(1))
    with pytest.raises(ParameterError) as e:
        solve(p, **kw)
    bilingual(e.value, arg)


def test_indicators_need_a_projected_metric_crs():
    fac = points([0.0]).assign(kind="elderly_care_station", status="建成运营")
    with pytest.raises(CrsError) as e:
        evaluate([Indicator("X", "x", "count", 1)], IndicatorContext(fac, {}, "EPSG:4326"))
    bilingual(e.value, "IndicatorContext.metric_crs")


# -- CRS mismatch: reprojected, and said so with both CRSs ----------------------------------------------

def test_units_in_another_crs_are_reprojected_with_a_warning_naming_both():
    pts = points([5.0, 50.0])
    com = gpd.GeoDataFrame({"feature_id": ["C1"]}, geometry=[shapely.box(0, -10, 10, 10)], crs=UTM)
    with pytest.warns(CrsMismatchWarning) as rec:
        got = assign_units(pts, {"community": com.to_crs("EPSG:4326")})
    msg = str(rec[0].message)
    assert "EPSG:4326" in msg
    assert "EPSG:32650" in msg
    assert "units['community']" in msg
    assert CJK.search(msg)
    assert got["community"].tolist() == ["C1", None]  # same answer as in one CRS
    assert assign_units(pts, {"community": com})["community"].tolist() == ["C1", None]


def test_facilities_in_another_crs_warn_in_area_standard_and_count_the_same():
    com = gpd.GeoDataFrame({"feature_id": ["C1"], "households": [1000]}, geometry=[shapely.box(0, 0, 100, 100)],
                           crs=UTM)
    fac = gpd.GeoDataFrame({"floor_area_m2": [320.0]}, geometry=[shapely.Point(50, 50)], crs=UTM)
    same = area_standard(com, fac)
    with pytest.warns(CrsMismatchWarning, match="EPSG:4326"):
        moved = area_standard(com, fac.to_crs("EPSG:4326"))
    pd.testing.assert_frame_equal(same, moved)


def test_graph_functions_reproject_each_layer_without_warning():
    # network_reach puts every layer into the graph's CRS: mixed CRSs are expected, not a mistake
    g = street()
    fac = points([0.0]).to_crs("EPSG:4326")
    res = network_reach(g, fac, points([150.0]), thresholds_min=[2], speed_m_per_min=100, pairs=False)
    assert res.demand["minutes"].iloc[0] == pytest.approx(1.5, abs=1e-6)


def test_markers_check_their_settings():
    from mzgis.analysis.markers import MarkerSettings

    ln = gpd.GeoDataFrame({"feature_id": ["L1"]}, geometry=[shapely.LineString([(0, 0), (10, 0)])], crs=UTM)
    with pytest.raises(ParameterError, match=r"MarkerSettings\.spacing_m"):
        inspect_markers(points([0.0]), ln, UTM, settings=MarkerSettings(spacing_m=0), today=dt.date(2026, 1, 1))
