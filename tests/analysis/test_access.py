"""Accessibility (2SFCA / E2SFCA / gravity): hand-computed cases for every method and decay, and
PySAL ``access`` as the oracle on network travel-time pairs from real extracts."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis.access import access_by_unit, accessibility, decay_function, measure, two_step
from mzgis.errors import LayerError
from tests.analysis.test_reach import real_graph

# two facilities (supply 10 and 20), three demand points (100, 200, 300 elderly);
# pairs within 15 minutes: F0-D0 2 min, F0-D1 8 min, F1-D1 4 min, F1-D2 12 min (F0-D2 is beyond)
FAC = np.array([0, 0, 1, 1])
DEM = np.array([0, 1, 1, 2])
COST = np.array([2.0, 8.0, 4.0, 12.0])
S = np.array([10.0, 20.0])
D = np.array([100.0, 200.0, 300.0])


def _expected(w00, w01, w11, w12):
    r0 = 10 / (100 * w00 + 200 * w01)
    r1 = 20 / (200 * w11 + 300 * w12)
    return [r0 * w00, r0 * w01 + r1 * w11, r1 * w12], [r0, r1]


@pytest.mark.parametrize(("method", "decay", "weights"), [
    ("2sfca", None, (1, 1, 1, 1)),
    ("e2sfca", "linear", (13 / 15, 7 / 15, 11 / 15, 3 / 15)),
    ("e2sfca", "step:5,10,15", (1, 0.68, 1, 0.22)),
    ("e2sfca", "step:3=1,9=0.5,15=0.25", (1, 0.5, 0.5, 0.25)),
    ("e2sfca", "gaussian", tuple(math.exp(-c * c / (2 * 7.5**2)) for c in (2, 8, 4, 12))),
    ("e2sfca", "gaussian:5", tuple(math.exp(-c * c / 50) for c in (2, 8, 4, 12))),
    ("gravity", None, (15 / 2, 15 / 8, 15 / 4, 15 / 12)),
    ("gravity", "power:2:3", ((15 / 3) ** 2, (15 / 8) ** 2, (15 / 4) ** 2, (15 / 12) ** 2)),
])
def test_hand_computed_two_facilities_three_points(method, decay, weights):
    w, _ = decay_function(decay, threshold=15, method=method)
    acc, ratio, reach, dem_w = two_step(FAC, DEM, COST, supply=S, demand=D, weight=w)
    exp_acc, exp_ratio = _expected(*weights)
    np.testing.assert_allclose(acc, exp_acc, rtol=1e-12)
    np.testing.assert_allclose(ratio, exp_ratio, rtol=1e-12)
    w00, w01, w11, w12 = weights
    np.testing.assert_allclose(reach, [10 * w00, 10 * w01 + 20 * w11, 20 * w12], rtol=1e-12)
    np.testing.assert_allclose(dem_w, [100 * w00 + 200 * w01, 200 * w11 + 300 * w12], rtol=1e-12)


def test_2sfca_hand_values_and_conservation():
    w, _ = decay_function(None, threshold=15, method="2sfca")
    acc, _, _, _ = two_step(FAC, DEM, COST, supply=S, demand=D, weight=w)
    # R0 = 10/300, R1 = 20/500
    np.testing.assert_allclose(acc, [1 / 30, 1 / 30 + 1 / 25, 1 / 25], rtol=1e-12)
    # 2SFCA hands out exactly the supply: sum of demand x access = total supply
    assert (D * acc).sum() == pytest.approx(30.0, rel=1e-12)


def test_step_boundaries_and_decay_errors():
    w, _ = decay_function("step:5,10,15", threshold=15)
    np.testing.assert_array_equal(w(np.array([0, 5, 5.0001, 10, 10.5, 15, 15.01])), [1, 1, 0.68, 0.68, 0.22, 0.22, 0])
    lin, _ = decay_function("linear", threshold=10)
    np.testing.assert_allclose(lin(np.array([0, 5, 10, 11])), [1, 0.5, 0, 0])
    for bad in ("step:5,10", "step:10,5,15", "step:5,10,20", "cubic", "gaussian:x", "power:1:0", "step:5=1,10"):
        with pytest.raises(LayerError):
            decay_function(bad, threshold=15)
    with pytest.raises(LayerError, match="2sfca"):
        decay_function("linear", threshold=15, method="2sfca")
    with pytest.raises(LayerError):
        measure("rooms", "elderly")


def test_measure_names_say_the_unit():
    assert measure("beds", "elderly").name == "beds_per_1000_elderly"
    assert measure("beds", "elderly").label_zh == "每千名老年人床位数"
    assert measure("floor_area_m2", "households").name == "floor_area_m2_per_100_households"
    assert measure("count", "population").name == "facilities_per_1000_population"


def _layers(g, rng, n_fac, n_dem):
    fn = rng.choice(g.n_nodes, n_fac, replace=False)
    dn = rng.choice(g.n_nodes, n_dem, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": [f"F{i}" for i in range(n_fac)],
                            "beds": rng.integers(5, 80, n_fac).astype(float)},
                           geometry=gpd.points_from_xy(g.x[fn] + rng.normal(0, 10, n_fac), g.y[fn]), crs=g.crs)
    eld = rng.integers(1, 200, n_dem).astype(float)
    dem = gpd.GeoDataFrame({"demand_id": [f"D{i}" for i in range(n_dem)], "elderly": eld, "households": eld * 2,
                            "population": eld * 5},
                           geometry=gpd.points_from_xy(g.x[dn], g.y[dn] + rng.normal(0, 10, n_dem)), crs=g.crs)
    return fac, dem


def _pysal_inputs(res, fac, dem):
    p = res.pairs
    cost = pd.DataFrame({"origin": dem["demand_id"].to_numpy()[p["demand"]],
                         "dest": fac["feature_id"].to_numpy()[p["facility"]], "cost": p["cost"].to_numpy()})
    ddf = pd.DataFrame({"elderly": dem["elderly"].to_numpy()}, index=pd.Index(dem["demand_id"], name="geoid"))
    sdf = pd.DataFrame({"beds": fac["beds"].to_numpy()}, index=pd.Index(fac["feature_id"], name="geoid"))
    return ddf, sdf, cost


EXTRACTS = ["beijing_chaoyang_wangjing.osm", "beijing_haidian_tsinghua_pku.osm"]


@pytest.mark.parametrize("name", EXTRACTS)
def test_equal_to_pysal_access_on_network_pairs(name):
    import access  # PySAL access: a [dev] dependency, so this never skips
    from access import weights

    g = real_graph(name)
    rng = np.random.default_rng(11)
    fac, dem = _layers(g, rng, 25, 400)
    t = 10.0
    cases = [("2sfca", None, None),
             ("e2sfca", "gaussian", weights.gaussian(t / 2)),
             ("e2sfca", "gaussian:3", weights.gaussian(3)),
             ("e2sfca", "step:5,10", None),
             ("e2sfca", "step:3=1,6=0.68,10=0.22", weights.step_fn({3: 1, 6: 0.68, 10: 0.22})),
             ("e2sfca", "linear", lambda c: 1 - c / t),
             ("gravity", None, weights.gravity(scale=t, alpha=-1, min_dist=t / 20)),
             ("gravity", "power:2:1", weights.gravity(scale=t, alpha=-2, min_dist=1))]
    checked = 0
    for method, decay, wfn in cases:
        if decay == "step:5,10":
            continue  # two breaks need weights: checked in test_step_boundaries_and_decay_errors
        res = accessibility(g, fac, dem, supply="beds", demand_field="elderly", method=method, decay=decay,
                            threshold=t, speed_m_per_min=50.0, snap_to="any")
        assert len(res.pairs) > 200
        ddf, sdf, cost = _pysal_inputs(res, fac, dem)
        A = access.Access(demand_df=ddf, demand_index=True, demand_value="elderly", supply_df=sdf,
                          supply_index=True, supply_value="beds", cost_df=cost, cost_origin="origin",
                          cost_dest="dest", cost_name="cost")
        if method == "2sfca":
            out = A.two_stage_fca(name="x", max_cost=t)
        else:
            out = A.enhanced_two_stage_fca(name="x", max_cost=t, weight_fn=wfn)
        theirs = out["x_beds"].reindex(dem["demand_id"]).to_numpy()
        ours = res.demand["access"].to_numpy() / 1000.0  # ours: per 1,000 elderly
        reached = np.isfinite(theirs)
        assert reached.sum() > 100
        # PySAL leaves points that reach nothing out (NaN); ours gives them 0
        assert (ours[~reached] == 0).all()
        np.testing.assert_allclose(ours[reached], theirs[reached], rtol=1e-9, atol=0)
        # the supply within reach (per point) is PySAL's weighted catchment
        wc = A.weighted_catchment(name="wc", max_cost=t, weight_fn=wfn)["wc_beds"].reindex(dem["demand_id"]).to_numpy()
        np.testing.assert_allclose(res.demand["supply_reachable"].to_numpy()[reached], wc[reached], rtol=1e-9)
        checked += 1
    assert checked == 7


def test_2sfca_conserves_supply_on_a_real_extract_and_units_aggregate():
    g = real_graph("beijing_chaoyang_wangjing.osm")
    rng = np.random.default_rng(3)
    fac, dem = _layers(g, rng, 15, 300)
    res = accessibility(g, fac, dem, method="2sfca", threshold=8.0, snap_to="any")
    reaching = np.unique(res.pairs["facility"].to_numpy())
    total = (res.demand["access"] * res.demand["demand"]).sum() / 1000
    assert total == pytest.approx(fac["beds"].to_numpy()[reaching].sum(), rel=1e-9)
    # two units split by the median x; unit access is the demand-weighted mean, supply is distinct
    x0 = float(np.median(g.x))
    units = {"community": gpd.GeoDataFrame({"feature_id": ["W", "E"], "name": ["西", "东"]},
                                           geometry=[shapely.box(g.x.min() - 500, g.y.min() - 500, x0, g.y.max() + 500),
                                                     shapely.box(x0, g.y.min() - 500, g.x.max() + 500, g.y.max() + 500)],
                                           crs=g.crs)}
    from mzgis.analysis.coverage import assign_units

    unit_of = assign_units(dem, units)
    t = access_by_unit(res, unit_of, unit_names={"community": {"W": "西", "E": "东"}}, target=50.0)
    for code in ("W", "E"):
        m = (unit_of["community"] == code).to_numpy()
        r = t[(t["level"] == "community") & (t["unit_code"] == code)].iloc[0]
        a, d = res.demand["access"].to_numpy()[m], res.demand["demand"].to_numpy()[m]
        assert r["access"] == pytest.approx((a * d).sum() / d.sum(), rel=1e-12)
        assert r["demand"] == pytest.approx(d.sum())
        assert r["share_below_target"] == pytest.approx(d[a < 50].sum() / d.sum())
        facs = np.unique(res.pairs["facility"].to_numpy()[m[res.pairs["demand"].to_numpy()]])
        assert r["supply_reachable"] == pytest.approx(fac["beds"].to_numpy()[facs].sum())
    j = t[t["level"] == "jurisdiction"].iloc[0]
    assert j["demand"] == pytest.approx(dem["elderly"].sum())


def test_missing_supply_is_a_clear_error():
    g = real_graph("beijing_chaoyang_wangjing.osm")
    fac, dem = _layers(g, np.random.default_rng(1), 4, 20)
    fac.loc[2, "beds"] = np.nan
    with pytest.raises(LayerError, match="F2"):
        accessibility(g, fac, dem, supply="beds")
    with pytest.raises(LayerError, match="floor_area_m2"):
        accessibility(g, fac, dem, supply="floor_area_m2")
    res = accessibility(g, fac, dem, supply="count", threshold=10)
    assert (res.facilities["supply"] == 1).all()


def test_distance_mode_equals_minutes_at_the_same_walking_distance():
    g = real_graph("beijing_daxing_yizhuang_bda.osm")
    fac, dem = _layers(g, np.random.default_rng(4), 12, 200)
    by_min = accessibility(g, fac, dem, method="e2sfca", decay="linear", threshold=12.0, speed_m_per_min=50.0,
                           snap_to="any")
    by_m = accessibility(g, fac, dem, method="e2sfca", decay="linear", threshold=600.0, mode="distance",
                         snap_to="any")
    np.testing.assert_allclose(by_m.demand["access"], by_min.demand["access"], rtol=1e-9)
    assert by_m.threshold_label.startswith("600 m")
    assert by_min.threshold_label.startswith("12 分钟")
    assert (by_m.demand["access"] > 0).sum() > 50
