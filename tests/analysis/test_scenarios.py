"""Scenarios side by side: adding facilities never lowers coverage or 2SFCA-family access, unit by
unit, on a real extract; the change columns are the differences; newly covered points are exactly
those covered only in the scenario."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.analysis.coverage import assign_units
from mzgis.analysis.scenarios import compare_scenarios
from tests.analysis.test_access import _layers
from tests.analysis.test_reach import real_graph


@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "gravity"])
def test_planned_and_proposed_never_below_today_per_unit(method):
    g = real_graph("beijing_haidian_tsinghua_pku.osm")
    rng = np.random.default_rng(8)
    fac, dem = _layers(g, rng, 30, 500)
    today = fac.iloc[:10]
    planned = fac.iloc[:18]
    proposed = fac.iloc[list(range(10)) + list(range(18, 30))]
    xs = np.linspace(g.x.min() - 1, g.x.max() + 1, 4)
    ys = np.linspace(g.y.min() - 1, g.y.max() + 1, 4)
    boxes = [(f"C{i}{j}", shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])) for i in range(3) for j in range(3)]
    units = {"community": gpd.GeoDataFrame({"feature_id": [b[0] for b in boxes], "name": [b[0] for b in boxes]},
                                           geometry=[b[1] for b in boxes], crs=g.crs)}
    unit_of = assign_units(dem, units)
    names = {"community": {b[0]: b[0] for b in boxes}}
    cmp = compare_scenarios(g, {"today": today, "planned": planned, "proposed": proposed}, dem, unit_of=unit_of,
                            unit_names=names, method=method, threshold=8.0, speed_m_per_min=50.0, snap_to="any")
    t = cmp.table
    assert len(t) == 1 + 9
    for s in ("planned", "proposed"):
        assert (t[f"households_covered_{s}"] >= t["households_covered_today"] - 1e-9).all()
        assert (t[f"access_{s}"].fillna(0) >= t["access_today"].fillna(0) - 1e-12).all()
        np.testing.assert_allclose(t[f"households_covered_change_{s}"],
                                   t[f"households_covered_{s}"] - t["households_covered_today"])
        new = cmp.newly_covered[s]
        assert set(new["demand_id"]) == set(dem.loc[cmp.covered[s] & ~cmp.covered["today"], "demand_id"])
        jur = t[t["level"] == "jurisdiction"].iloc[0]
        assert new["households"].sum() == pytest.approx(jur[f"households_covered_change_{s}"])
        # per point as well: access never falls when facilities are added
        a0 = cmp.results["today"].demand["access"].to_numpy()
        a1 = cmp.results[s].demand["access"].to_numpy()
        assert (a1 >= a0 - 1e-12).all()
    # something actually changed, so the test can fail
    jur = t[t["level"] == "jurisdiction"].iloc[0]
    assert jur["households_covered_change_planned"] > 0
    assert jur["access_change_proposed"] > 0


def test_a_facility_too_far_from_the_network_is_not_in_the_scenario_count():
    g = real_graph("beijing_haidian_tsinghua_pku.osm")
    rng = np.random.default_rng(3)
    fac, dem = _layers(g, rng, 6, 200)
    far = fac.iloc[[0]].assign(feature_id="FAR",
                               geometry=[shapely.Point(g.x.max() + 5_000.0, g.y.max() + 5_000.0)])
    import pandas as pd

    today = gpd.GeoDataFrame(pd.concat([fac.iloc[:3], far]), crs=fac.crs)
    planned = gpd.GeoDataFrame(pd.concat([fac, far]), crs=fac.crs)
    unit_of = pd.DataFrame({"community": ["C"] * len(dem)}, index=dem.index)
    cmp = compare_scenarios(g, {"today": today, "planned": planned}, dem, unit_of=unit_of,
                            unit_names={"community": {"C": "C"}}, method="2sfca", threshold=8.0,
                            speed_m_per_min=50.0, max_snap_m=300.0)
    jur = cmp.table[cmp.table["level"] == "jurisdiction"].iloc[0]
    assert jur["facilities_today"] == 3
    assert jur["facilities_planned"] == 6
    assert jur["facilities_left_out_today"] == 1
    assert jur["facilities_left_out_planned"] == 1
