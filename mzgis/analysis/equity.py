"""Equity of access: demand-weighted Gini coefficient, Lorenz curve, share below a target, and the
worst-served units.

Every figure weights each demand point by its demand (elderly, residents or households), so a
compound of 300 elderly counts 300 times. The Lorenz curve runs through ``(0, 0)`` and the points
``(P_k, L_k)``: ``P_k`` the share of demand and ``L_k`` the share of total access (Σ demand ×
access) held by the ``k`` worst-served points; the Gini coefficient is one minus twice the area under
it (trapezoids), which equals the weighted mean absolute difference
``Σ_i Σ_j w_i w_j |x_i - x_j| / (2 W Σ_i w_i x_i)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["gini", "lorenz", "share_below", "worst_served"]


def _clean(values: ArrayLike, weights: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape:
        msg = f"values and weights differ in shape: {x.shape} vs {w.shape}"
        raise ValueError(msg)
    keep = np.isfinite(x) & np.isfinite(w) & (w > 0)
    if (x[keep] < 0).any():
        msg = "access values must be non-negative for a Gini coefficient"
        raise ValueError(msg)
    return x[keep], w[keep]


def lorenz(values: ArrayLike, weights: ArrayLike | None = None) -> pd.DataFrame:
    """The Lorenz curve of ``values`` weighted by ``weights``.

    Returns
    -------
    pandas.DataFrame
        ``demand_share`` and ``access_share``, cumulative, from ``(0, 0)`` to ``(1, 1)`` (empty
        when there is no demand; ``access_share`` NaN when all access is 0).
    """
    x, w = _clean(values, weights)
    if x.size == 0:
        return pd.DataFrame({"demand_share": [], "access_share": []})
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    cx = np.concatenate([[0.0], np.cumsum(w * x)])
    total = cx[-1]
    share = cx / total if total > 0 else np.full(cx.size, np.nan)
    return pd.DataFrame({"demand_share": cw / cw[-1], "access_share": share})


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Demand-weighted Gini coefficient of access, 0 (equal) … 1; NaN without demand or access.

    Examples
    --------
    Equal access gives 0; all access held by one of two equal groups gives 1/2:

    >>> gini([2.0, 2.0, 2.0]), gini([0.0, 1.0], [1, 1])
    (0.0, 0.5)
    """
    lc = lorenz(values, weights)
    if len(lc) == 0 or not np.isfinite(lc["access_share"].iloc[-1]):
        return float("nan")
    p = lc["demand_share"].to_numpy()
    s = lc["access_share"].to_numpy()
    return float(1.0 - np.sum(np.diff(p) * (s[1:] + s[:-1])))


def share_below(values: ArrayLike, weights: ArrayLike | None, target: float) -> float:
    """Share of demand whose access is below ``target`` (NaN without demand)."""
    x, w = _clean(values, weights)
    tot = w.sum()
    return float(w[x < target].sum() / tot) if tot > 0 else float("nan")


def worst_served(by_unit: pd.DataFrame, *, level: str = "community", n: int = 10) -> pd.DataFrame:
    """The ``n`` units of ``level`` with the lowest access, among those with demand (ties: the
    larger demand first). ``by_unit`` is :func:`mzgis.analysis.access.access_by_unit`'s table."""
    t = by_unit[(by_unit["level"] == level) & (by_unit["demand"] > 0) & (by_unit["unit_code"] != "")]
    return t.sort_values(["access", "demand"], ascending=[True, False], kind="stable").head(n).reset_index(drop=True)
