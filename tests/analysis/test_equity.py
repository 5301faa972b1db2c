"""Gini, Lorenz and worst-served against hand computations and the mean-difference definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mzgis.analysis.equity import gini, lorenz, share_below, worst_served


def test_lorenz_and_gini_by_hand():
    # access 0, 1, 3 with demand 1, 1, 2: cumulative demand 0, 1/4, 1/2, 1; access held 0, 0, 1, 7 of 7
    lc = lorenz([3.0, 0.0, 1.0], [2.0, 1.0, 1.0])
    np.testing.assert_allclose(lc["demand_share"], [0, 0.25, 0.5, 1])
    np.testing.assert_allclose(lc["access_share"], [0, 0, 1 / 7, 1])
    # 1 - [0.25 (0 + 0) + 0.25 (0 + 1/7) + 0.5 (1/7 + 1)] = 2.75 / 7
    assert gini([3.0, 0.0, 1.0], [2.0, 1.0, 1.0]) == pytest.approx(2.75 / 7, rel=1e-12)


def test_gini_equals_weighted_mean_difference():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        x = rng.gamma(2.0, 3.0, n) * (rng.random(n) > 0.2)
        w = rng.integers(1, 50, n).astype(float)
        mad = (w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum()
        assert gini(x, w) == pytest.approx(mad / (2 * w.sum() * (w * x).sum()), rel=1e-9)


def test_extremes_and_share_below():
    assert gini([2.0, 2.0, 2.0], [1.0, 5.0, 2.0]) == pytest.approx(0.0, abs=1e-12)
    assert gini([0.0, 0.0, 0.0, 1.0], None) == pytest.approx(0.75)
    assert np.isnan(gini([0.0, 0.0], [1.0, 1.0]))
    assert share_below([0.0, 10.0, 50.0], [1.0, 3.0, 4.0], 40.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-negative"):
        gini([-1.0, 2.0])


def test_worst_served_ranks_communities_with_demand():
    t = pd.DataFrame({"level": ["jurisdiction"] + ["community"] * 4, "unit_code": ["ALL", "a", "b", "c", ""],
                      "unit_name": ["辖区", "甲", "乙", "丙", "未归属"], "demand": [10, 3, 0, 4, 3],
                      "access": [1.0, 2.0, np.nan, 0.5, 0.0]})
    w = worst_served(t, n=10)
    assert list(w["unit_code"]) == ["c", "a"]
