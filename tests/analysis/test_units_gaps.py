"""Households per unit (index-aligned), unit names, the gaps layer and the scenario facility sets,
on hand-made layers whose answers are counted by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis.gaps import gap_points
from mzgis.analysis.scenarios import scenario_facilities
from mzgis.analysis.units import by_code, households_by_unit, unit_names
from mzgis.errors import LayerError

CRS = "EPSG:32650"


def _units():
    # three 10 m squares side by side, with an index that is neither 0..n nor in code order
    return gpd.GeoDataFrame({"feature_id": ["C2", "C1", "C3"], "name": ["二社区", "一社区", "三社区"]},
                            geometry=[shapely.box(10, 0, 20, 10), shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)],
                            index=["b", "a", "c"], crs=CRS)


def _demand():
    xy = [(5, 5), (2, 2), (15, 5), (10, 5), (50, 50)]  # (10, 5) lies on the C1/C2 border; (50, 50) nowhere
    return gpd.GeoDataFrame({"demand_id": [f"D{i}" for i in range(5)], "households": [10.0, 20.0, 5.0, 7.0, 100.0]},
                            geometry=gpd.points_from_xy(*zip(*xy, strict=True)), index=[9, 8, 7, 6, 5], crs=CRS)


def test_households_by_unit_is_aligned_with_the_units():
    units = _units()
    hh = households_by_unit(_demand(), units)
    assert hh.index.tolist() == ["b", "a", "c"]
    assert hh.name == "households"
    # C1: 10 + 20, C2: 5, C3 (no points): 0; the border point counts once, in one of its two units
    assert hh["c"] == 0.0
    assert {hh["a"] - 30.0, hh["b"] - 5.0} == {0.0, 7.0}
    assert hh.sum() == pytest.approx(42.0)  # the point outside every unit counts nowhere
    assert households_by_unit(_demand(), units, column="households").equals(hh)
    assert (households_by_unit(_demand().iloc[:0], units) == 0).all()
    coded = by_code(hh, units)
    assert coded.index.tolist() == ["C2", "C1", "C3"]
    assert coded.to_numpy().tolist() == hh.to_numpy().tolist()


def test_unit_names_by_level():
    assert unit_names({"community": _units()}) == {"community": {"C2": "二社区", "C1": "一社区", "C3": "三社区"}}


def test_gap_points_threshold_inclusive_and_unreached():
    dem = _demand()
    mins = np.array([15.0, 15.0 + 1e-12, 15.01, np.nan, 3.0])
    gaps = gap_points(dem, mins, threshold_min=15.0, kind="elderly_care_station")
    # exactly at the threshold is covered; beyond it and unreached (NaN) are gaps
    assert gaps["feature_id"].tolist() == ["D2", "D3"]
    assert gaps.index.tolist() == [7, 6]
    assert gaps.crs == dem.crs
    np.testing.assert_array_equal(gaps["minutes_to_nearest"].to_numpy(), [15.01, np.nan])
    assert (gaps["kind"] == "elderly_care_station").all()
    assert (gaps["threshold_min"] == 15.0).all()
    assert "demand_id" not in gaps


def _facilities():
    return gpd.GeoDataFrame({"feature_id": ["A", "B", "C", "D"], "kind": "elderly_institution",
                             "status": ["建成运营", "建成运营", "在建", "规划"], "beds": [10.0, 30.0, 50.0, 70.0]},
                            geometry=gpd.points_from_xy([0, 1, 2, 3], [0, 0, 0, 0]), crs="EPSG:4326")


def test_scenario_facilities_today_planned_proposed():
    sites = gpd.GeoDataFrame({"feature_id": ["N1", "N2"], "beds": [np.nan, 5.0]},
                             geometry=gpd.points_from_xy([5, 6], [0, 0]), crs="EPSG:4326")
    sets, notes = scenario_facilities(_facilities(), [("today", None, None), ("planned", None, None),
                                                     ("proposed", "sites_x", sites)],
                                      kind="elderly_institution", supply="beds")
    assert list(sets) == ["today", "planned", "proposed"]
    assert sets["today"]["feature_id"].tolist() == ["A", "B"]
    assert sets["planned"]["feature_id"].tolist() == ["A", "B", "C", "D"]
    prop = sets["proposed"]
    assert prop["feature_id"].tolist() == ["A", "B", "P:N1", "P:N2"]
    # the missing supply is the median of today's beds (10, 30 → 20); a site's own value is kept
    assert prop["beds"].tolist() == [10.0, 30.0, 20.0, 5.0]
    assert prop["status"].tolist()[2:] == ["proposed", "proposed"]
    assert any("20" in n and "median" in n for n in notes)
    sets2, notes2 = scenario_facilities(_facilities(), [("today", None, None), ("proposed", "L", sites)],
                                        kind="elderly_institution", supply="beds", proposed_supply=3.0)
    assert sets2["proposed"]["beds"].tolist() == [10.0, 30.0, 3.0, 5.0]
    assert any("--proposed-supply" in n for n in notes2)
    with pytest.raises(LayerError, match="unknown --supply"):
        scenario_facilities(_facilities(), [("proposed", "L", sites)], kind="k", supply="nurses")
    none_today = _facilities().assign(status="规划")
    with pytest.raises(LayerError, match="--proposed-supply"):
        scenario_facilities(none_today, [("proposed", "L", sites)], kind="k", supply="beds")


def test_scenario_facilities_keeps_the_input_unchanged():
    fac = _facilities()
    before = fac.copy()
    sites = gpd.GeoDataFrame({"feature_id": ["N1"]}, geometry=gpd.points_from_xy([5], [0]), crs="EPSG:4326")
    scenario_facilities(fac, [("proposed", "L", sites)], kind="k", supply="count")
    pd.testing.assert_frame_equal(fac, before)
