"""Service-circle coverage: hand-computed cases, conservation at every level, real Beijing data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from mzgis.analysis.coverage import COVERAGE_COLUMNS, assign_units, coverage_table, uncovered_units
from mzgis.analysis.demand import demand_from_units
from mzgis.analysis.reach import network_reach
from mzgis.layers.crs import utm_crs
from mzgis.layers.network import build_graph, graph_from_osm, osm_bounds
from tests.conftest import shared


def check_conservation(table: pd.DataFrame) -> None:
    for (level, minutes), grp in table.groupby(["level", "minutes"]):
        jur = table[(table.level == "jurisdiction") & (table.minutes == minutes)].iloc[0]
        for col in ("households", "population", "elderly"):
            cov = grp[f"{col}_covered"]
            assert (cov <= grp[col] + 1e-6).all(), (level, col)
            assert (cov >= -1e-9).all()
            assert grp[col].sum() == pytest.approx(jur[col], rel=1e-9, abs=1e-6), (level, col)
            assert cov.sum() == pytest.approx(jur[f"{col}_covered"], rel=1e-9, abs=1e-6), (level, col)
        shares = grp["share_covered"].dropna()
        assert ((shares >= 0) & (shares <= 1)).all()


def test_hand_computed_two_communities():
    # a 400 m street; a station at x=0; four compounds at 50, 150, 250, 350 m
    x = np.array([0.0, 100, 200, 300, 400])
    g = build_graph(x, np.zeros(5), np.arange(5), np.arange(4), np.arange(1, 5), "EPSG:32650")
    fac = gpd.GeoDataFrame({"feature_id": ["F"]}, geometry=[shapely.Point(0, 0)], crs=g.crs)
    dem = gpd.GeoDataFrame({"feature_id": ["a", "b", "c", "d"], "households": [10.0, 20, 30, 40],
                            "population": [25.0, 50, 75, 100], "elderly": [5.0, 10, 15, 20]},
                           geometry=gpd.points_from_xy([50, 150, 250, 350], [0, 0, 0, 0]), crs=g.crs)
    units = {"community": gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": ["东社区", "西社区"]},
                                           geometry=[shapely.box(-10, -10, 200, 10), shapely.box(200, -10, 410, 10)],
                                           crs=g.crs)}
    res = network_reach(g, fac, dem, thresholds_min=[2, 3], speed_m_per_min=100, pairs=False)
    # d is 3.5 min away: beyond the largest threshold, so not reached (NaN)
    np.testing.assert_allclose(res.demand["minutes"], [0.5, 1.5, 2.5, np.nan])
    unit_of = assign_units(dem, units)
    assert unit_of["community"].tolist() == ["C1", "C1", "C2", "C2"]
    t = coverage_table(dem, res.demand["minutes"], [2, 3], unit_of=unit_of,
                       unit_names={"community": {"C1": "东社区", "C2": "西社区"}}, jurisdiction=("J", "测试区"))
    assert list(t.columns) == COVERAGE_COLUMNS
    row = t.set_index(["unit_code", "minutes"])
    assert row.loc[("J", 2.0), "households_covered"] == 30  # a, b
    assert row.loc[("J", 3.0), "households_covered"] == 60  # a, b, c
    assert row.loc[("C1", 2.0), "share_covered"] == 1.0
    assert row.loc[("C2", 2.0), "households_covered"] == 0
    assert row.loc[("C2", 3.0), "population_covered"] == 75
    assert row.loc[("C2", 3.0), "share_covered"] == pytest.approx(30 / 70)
    check_conservation(t)
    unc = uncovered_units(t, level="community", minutes=3)
    assert unc["unit_code"].tolist() == ["C2"]
    assert unc["population_uncovered"].iloc[0] == 100


def test_points_outside_units_are_unassigned_not_lost():
    dem = gpd.GeoDataFrame({"households": [1.0, 2.0], "population": [1.0, 2.0], "elderly": [0.0, 1.0]},
                           geometry=[shapely.Point(0, 0), shapely.Point(50, 50)], crs="EPSG:32650")
    units = {"community": gpd.GeoDataFrame({"feature_id": ["C"], "name": ["甲"]},
                                           geometry=[shapely.box(-1, -1, 1, 1)], crs="EPSG:32650")}
    t = coverage_table(dem, np.array([1.0, np.nan]), [15], unit_of=assign_units(dem, units),
                       unit_names={"community": {"C": "甲"}})
    com = t[t.level == "community"]
    assert set(com["unit_name"]) == {"甲", "未归属 unassigned"}
    check_conservation(t)


def test_real_beijing_subdistricts_with_worldpop_over_wangjing():
    osm = shared("osm/beijing_chaoyang_wangjing.osm")
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    pop = np.load(shared("boundaries/beijing_subdistricts/worldpop.npy"))[:, 0]
    units = gpd.read_file(shp)
    units["feature_id"] = [str(i + 1) for i in range(len(units))]
    units["name"] = units["乡"]
    units["population"] = pop.astype(float)
    b = osm_bounds(osm)
    g = graph_from_osm(osm, utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2))
    dem = demand_from_units(units, g)
    # the subdistricts' populations are conserved by the spreading
    assert dem["population"].sum() == pytest.approx(pop.sum())
    # three stations placed by the test at network nodes in Wangjing
    rng = np.random.default_rng(11)
    nodes = rng.choice(g.n_nodes, 3, replace=False)
    fac = gpd.GeoDataFrame({"feature_id": ["S1", "S2", "S3"]}, geometry=gpd.points_from_xy(g.x[nodes], g.y[nodes]),
                           crs=g.crs)
    res = network_reach(g, fac, dem.rename(columns={"demand_id": "feature_id"}), thresholds_min=[5, 10, 15],
                        pairs=False)
    unit_of = assign_units(dem, {"subdistrict": units})
    names = {"subdistrict": dict(zip(units["feature_id"], units["name"], strict=True))}
    t = coverage_table(dem, res.demand["minutes"], [5, 10, 15], unit_of=unit_of, unit_names=names)
    check_conservation(t)
    sub = t[(t.level == "subdistrict") & (t.minutes == 15)]
    assert len(sub) == 331  # every unit reported, also those with nothing covered
    covered = sub[sub.population_covered > 0]
    assert 1 <= len(covered) <= 5  # only the units around Wangjing
    assert any("望京" in n for n in covered["unit_name"])
    # coverage grows with the threshold
    jur = t[t.level == "jurisdiction"].sort_values("minutes")
    assert jur["population_covered"].is_monotonic_increasing
    assert jur["population_covered"].iloc[-1] < 0.05 * pop.sum()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_table_equals_a_row_by_row_oracle(seed):
    """Random demand over units, some unassigned, some in units the names do not list, unreached
    points: every row equals a plain per-unit sum (the per-unit loop the table used to run)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 2000))
    demand = pd.DataFrame({"households": rng.integers(0, 40, n).astype(float), "population": rng.uniform(0, 90, n),
                           "elderly": rng.uniform(0, 20, n)}, index=rng.permutation(n) + 11)
    mins = rng.uniform(0, 25, n)
    mins[rng.random(n) < 0.2] = np.nan
    comm = np.array([f"C{i}" for i in rng.integers(0, 30, n)], dtype=object)
    comm[rng.random(n) < 0.1] = None
    unit_of = pd.DataFrame({"community": comm}, index=demand.index)
    names = {"community": {f"C{i}": f"社区{i}" for i in range(35) if i != 4}}  # C4 unnamed, C30-34 empty
    table = coverage_table(demand, mins, [15, 5], unit_of=unit_of, unit_names=names)
    assert list(table["minutes"].unique()) == [5.0, 15.0]
    for t in (5.0, 15.0):
        rows = table[(table["minutes"] == t) & (table["level"] == "community")]
        expected_codes = (list(names["community"]) + (["C4"] if (comm == "C4").any() else [])
                          + ([""] if pd.isna(comm).any() else []))
        assert rows["unit_code"].tolist() == expected_codes
        for _, r in rows.iterrows():
            inside = pd.isna(comm) if r["unit_code"] == "" else (comm == r["unit_code"])
            cov = inside & ~np.isnan(mins) & (np.nan_to_num(mins, nan=99) <= t)
            assert r["households"] == pytest.approx(demand["households"][inside].sum(), abs=1e-9)
            assert r["households_covered"] == pytest.approx(demand["households"][cov].sum(), abs=1e-9)
            assert r["population_covered"] == pytest.approx(demand["population"][cov].sum(), rel=1e-12, abs=1e-9)
            assert r["elderly"] == pytest.approx(demand["elderly"][inside].sum(), rel=1e-12, abs=1e-9)
        whole = table[(table["minutes"] == t) & (table["level"] == "jurisdiction")].iloc[0]
        assert whole["households"] == demand["households"].sum()
        # a unit the names do not list keeps its row, named by its code: the level adds up
        assert rows["households"].sum() == pytest.approx(demand["households"].sum())
        if (comm == "C4").any():
            assert rows.loc[rows["unit_code"] == "C4", "unit_name"].tolist() == ["C4"]
