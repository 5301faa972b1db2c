"""Points exactly at 5, 10 and 15 minutes, and indicators exactly at their targets.

Service circles are inclusive ("within 15 minutes" counts a compound 15 minutes away) and so are
the ≥ and ≤ targets of the plans; a ``<=`` turned into ``<`` anywhere on that path changes the
answer for exactly these points. The oracle is hand computation on a straight street (distances
are multiples of 100 m at 100 m/min) checked against networkx's Dijkstra.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from mzgis.analysis.coverage import TOLERANCE_MIN, coverage_table
from mzgis.analysis.indicators import Indicator, IndicatorContext, evaluate
from mzgis.analysis.reach import network_reach
from mzgis.layers.network import build_graph

UTM = "EPSG:32650"
SPEED = 100.0  # m/min: 500 m is exactly 5 minutes
#: The comparators' tolerance (Indicator.passes): values within it of the target count as equal.
COMPARE_TOL = 1e-9


def street(n: int = 21, step: float = 100.0):
    """Nodes every ``step`` metres along y = 0 (node k at x = k * step)."""
    x = np.arange(n) * step
    return build_graph(x, np.zeros(n), np.arange(n), np.arange(n - 1), np.arange(1, n), UTM)


def layer(xs, **cols):
    return gpd.GeoDataFrame({"feature_id": [f"p{i}" for i in range(len(xs))], **cols},
                            geometry=gpd.points_from_xy(xs, np.zeros(len(xs))), crs=UTM)


# demand at 2.5, 5, 5.01, 10, 10.01, 15 and 15.01 minutes from a station at x = 0
XS = [250.0, 500.0, 501.0, 1000.0, 1001.0, 1500.0, 1501.0]
HH = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]  # powers of two: a covered total names its points


def oracle_minutes(g, xs):
    """networkx shortest paths from the station's node, plus the metres along the last edge."""
    d = nx.single_source_dijkstra_path_length(g.to_networkx(), 0, weight="length")
    out = []
    for x in xs:
        node = int(x // 100)
        out.append((d[node] + (x - node * 100.0)) / SPEED)
    return np.array(out)


def test_points_exactly_at_5_10_15_minutes_are_within_those_circles():
    g = street()
    fac = layer([0.0])
    dem = layer(XS, households=HH, population=HH, elderly=HH)
    res = network_reach(g, fac, dem, thresholds_min=[5, 10, 15], speed_m_per_min=SPEED)
    want = oracle_minutes(g, XS)
    np.testing.assert_allclose(res.demand["minutes"].to_numpy()[:-1], want[:-1], rtol=0, atol=1e-12)
    assert want[1] == 5.0
    assert want[3] == 10.0
    assert want[5] == 15.0
    assert np.isnan(res.demand["minutes"].iloc[-1])  # 15.01 min: beyond the largest circle
    # counts per circle: the point at exactly t minutes has its station within t minutes
    assert res.demand["facilities_within_5min"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert res.demand["facilities_within_10min"].tolist() == [1, 1, 1, 1, 0, 0, 0]
    assert res.demand["facilities_within_15min"].tolist() == [1, 1, 1, 1, 1, 1, 0]
    t = coverage_table(dem, res.demand["minutes"], [5, 10, 15], unit_of=pd.DataFrame(index=dem.index),
                       unit_names={}).set_index("minutes")
    # hand: 5 min covers 2.5 and 5.0 (1 + 2); 10 min adds 5.01 and 10.0 (4 + 8); 15 adds 10.01 and 15.0
    assert t.loc[5.0, "households_covered"] == 1 + 2
    assert t.loc[10.0, "households_covered"] == 1 + 2 + 4 + 8
    assert t.loc[15.0, "households_covered"] == 1 + 2 + 4 + 8 + 16 + 32
    assert t.loc[15.0, "households"] == sum(HH)


def test_a_point_equidistant_from_two_stations_counts_both():
    g = street()
    res = network_reach(g, layer([0.0, 1000.0]), layer([500.0]), thresholds_min=[5], speed_m_per_min=SPEED)
    assert res.demand["minutes"].iloc[0] == 5.0
    assert res.demand["facilities_within_5min"].iloc[0] == 2
    assert len(res.pairs) == 2


@pytest.mark.parametrize("t", [5.0, 10.0, 15.0])
def test_coverage_boundary_is_inclusive_up_to_its_tolerance(t):
    dem = layer([0.0] * 4, households=[1.0, 2.0, 4.0, 8.0], population=[1.0] * 4, elderly=[1.0] * 4)
    mins = [t - 1e-6, t, t + TOLERANCE_MIN, t + 1e-6]
    row = coverage_table(dem, mins, [t], unit_of=pd.DataFrame(index=dem.index), unit_names={}).iloc[0]
    # below, at, and within the rounding tolerance of t: covered; a microminute beyond: not
    assert row["households_covered"] == 1 + 2 + 4


def test_walking_time_rounding_below_the_boundary_still_counts():
    # 1000 m at 4 km/h is 15 minutes; 1000 / (4000/60) is 14.999999999999998 in floating point
    g = street()
    res = network_reach(g, layer([0.0]), layer([1000.0]), thresholds_min=[15])
    assert res.demand["minutes"].iloc[0] == pytest.approx(15.0)
    assert res.demand["facilities_within_15min"].iloc[0] == 1


# -- indicator comparators at their targets --------------------------------------------------------------

def ind(comparator: str, target: float) -> Indicator:
    return Indicator("X", "测试", "count", target, unit="个", comparator=comparator)


@pytest.mark.parametrize(("comparator", "at", "just_below", "just_above"), [
    (">=", True, False, True), (">", False, False, True), ("<=", True, True, False),
    ("<", False, True, False), ("=", True, False, False)])
def test_comparators_at_and_around_the_target(comparator, at, just_below, just_above):
    i = ind(comparator, 60.0)
    assert i.passes(60.0) is at
    assert i.passes(60.0 - 1e-6) is just_below
    assert i.passes(60.0 + 1e-6) is just_above


@pytest.mark.parametrize(("comparator", "actual", "target", "expected"), [
    # at the very edge of the tolerance: still equal to the target
    (">=", 60.0 - COMPARE_TOL, 60.0, True), (">", 60.0 + COMPARE_TOL, 60.0, False),
    ("<=", 60.0 + COMPARE_TOL, 60.0, True), ("<", 60.0 - COMPARE_TOL, 60.0, False),
    ("=", COMPARE_TOL, 0.0, False), ("=", COMPARE_TOL / 2, 0.0, True)])
def test_comparators_at_the_edge_of_their_tolerance(comparator, actual, target, expected):
    assert ind(comparator, target).passes(actual) is expected


@pytest.mark.parametrize(("comparator", "passed"), [(">=", True), ("≥", True), (">", False), ("<=", True),
                                                    ("≤", True), ("<", False), ("=", True), ("==", True)])
def test_evaluate_counts_a_target_met_exactly(comparator, passed):
    # four operating stations against a target of exactly 4
    fac = layer([0.0, 1.0, 2.0, 3.0, 4.0], kind=["elderly_care_station"] * 5, status=["建成运营"] * 4 + ["规划"])
    i = Indicator("EC", "驿站", "count", 4, unit="个", comparator=comparator, kinds=("elderly_care_station",))
    row = evaluate([i], IndicatorContext(fac, {}, UTM)).iloc[0]
    assert row["actual"] == 4.0
    assert row["passed"] is passed


def test_service_circle_indicator_counts_households_exactly_at_the_limit():
    dem = layer([0.0, 1.0, 2.0], households=[30.0, 20.0, 50.0])
    mins = pd.Series([15.0, 15.0 + TOLERANCE_MIN, 15.0 + 1e-6], index=dem.index)
    i = Indicator("EC-05", "15分钟覆盖率", "service_circle", 50.0, kinds=("elderly_care_station",),
                  params={"minutes": 15, "weight": "households"})
    ctx = IndicatorContext(layer([0.0], kind=["elderly_care_station"], status=["建成运营"]), {}, UTM, demand=dem,
                           minutes_to_nearest=lambda kinds: mins)
    row = evaluate([i], ctx).iloc[0]
    assert row["actual"] == pytest.approx(100.0 * (30 + 20) / 100)
    assert row["passed"] is True  # 50 % against a target of ≥ 50 %


def test_area_standard_met_exactly_passes():
    import shapely

    from mzgis.analysis.area_standard import area_standard

    # 1,000 households under the default rule: max(30 × 10, 300) = 300 m², and exactly 300 m² built
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "households": [1000, 1000]},
                           geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], crs=UTM)
    fac = gpd.GeoDataFrame({"floor_area_m2": [300.0, 299.0]}, geometry=gpd.points_from_xy([5, 15], [5, 5]), crs=UTM)
    t = area_standard(com, fac).set_index("unit_code")
    assert t["required_m2"].tolist() == [300.0, 300.0]
    assert t.loc["C1", "passed"]
    assert t.loc["C1", "deficit_m2"] == 0.0
    assert not t.loc["C2", "passed"]
    assert t.loc["C2", "deficit_m2"] == 1.0
