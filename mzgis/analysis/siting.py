r"""Siting new facilities (选址): where the next stations cover the most residents.

With the existing facilities fixed, demand point :math:`j` (weight :math:`w_j`, households) has a
baseline coverage value :math:`b_j` (1 if an existing facility is within the threshold, with
distance decay the best decayed value, else 0). Candidate :math:`i` offers :math:`f_{ij}` to the
demand within the threshold of it (1, or :math:`1 - d_{ij}/T` with linear decay).

Maximal covering (``--add N``), the MCLP of Church & ReVelle (1974):

.. math::

    \max \sum_j w_j (y_j - b_j) \quad\text{s.t.}\quad
    y_j \le b_j u_j + \sum_i f_{ij} z_{ij},\; u_j + \sum_i z_{ij} \le 1,\; z_{ij} \le x_i,\;
    \sum_i x_i = N,\; y_j \le 1,\; x_i \in \{0, 1\}

(without decay and capacity the assignment variables collapse to :math:`y_j \le b_j + \sum_{i
\in N_j} x_i`). Set covering to a target share (``--target S``): minimise :math:`\sum_i x_i`
subject to :math:`\sum_j w_j y_j \ge S \sum_j w_j`. Capacity :math:`C` (households a facility
can serve) adds :math:`\sum_j w_j z_{ij} \le C x_i`.

Solvers
-------
* **Exact**: the models above with PuLP and its bundled CBC solver (offline), for instances with
  at most ``exact_max_pairs`` candidate–demand pairs (default 300,000) and 1,500 candidates.
* **Greedy**: repeatedly adds the candidate with the largest gain, evaluated lazily (gains only
  shrink). For maximal covering without capacity the coverage function is monotone submodular, so
  the greedy value is at least :math:`(1 - 1/e) \approx 63.2\%` of the optimum (Nemhauser, Wolsey &
  Fisher 1978); with capacity it is a heuristic without that bound.

``choose`` = ``auto`` runs the exact model when the instance is small enough and reports the
greedy's optimality gap against it.
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from mzgis.analysis import _guards as guard
from mzgis.analysis.snapping import SegmentIndex, Snapped, SnapTo
from mzgis.errors import LayerError, ParameterError, SitingError
from mzgis.layers.network import RoadGraph

if TYPE_CHECKING:
    import pulp

__all__ = [
    "GREEDY_BOUND",
    "CoverageProblem",
    "SitingError",
    "SitingResult",
    "distinct_candidates",
    "exhaustive",
    "existing_coverage",
    "generate_candidates",
    "network_candidates",
    "site_on_network",
    "solve",
    "solve_exact",
    "solve_greedy",
]

log = logging.getLogger(__name__)

#: The greedy's guarantee for maximal covering without capacity: 1 - 1/e.
GREEDY_BOUND = 1.0 - 1.0 / np.e


@dataclass
class CoverageProblem:
    """A siting instance.

    Attributes
    ----------
    value
        Sparse candidates × demand matrix of coverage values :math:`f_{ij}` in (0, 1] (CSR).
    weight
        Households per demand point.
    base
        Coverage value the existing facilities already give each demand point (0 … 1).
    capacity
        Households one new facility can serve (None = unlimited).
    candidate_ids
        The candidates' ids, one per row of ``value`` (set by :meth:`from_network`).
    candidate_lonlat
        The candidates' positions as WGS-84 lon/lat, one row per candidate (set by
        :meth:`from_network`).
    """

    value: sp.csr_matrix
    weight: NDArray[np.float64]
    base: NDArray[np.float64]
    capacity: float | None = None
    candidate_ids: list[str] = field(default_factory=list)
    candidate_lonlat: NDArray[np.float64] = field(default_factory=lambda: np.empty((0, 2)))

    @classmethod
    def from_network(cls, graph: RoadGraph, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, *,
                     limit_m: float, existing: gpd.GeoDataFrame | None = None,
                     base: NDArray[np.float64] | None = None, decay: str | None = None,
                     capacity_households: float | None = None, weight: str = "households",
                     max_snap_m: float = 300.0, snap_to: SnapTo = "main",
                     index: SegmentIndex | None = None) -> CoverageProblem:
        """The siting instance of demand points and candidate sites on a walking network.

        Parameters
        ----------
        graph
            The road graph (metric CRS).
        demand
            Demand points with the ``weight`` column (households); rows are the problem's columns.
        candidates
            Candidate sites (``feature_id``, else the index, names them); those that do not snap
            within ``max_snap_m`` are left out, so the problem's rows are the snapped candidates.
        limit_m
            The service distance along the network.
        existing
            The facilities held fixed; their coverage is the baseline :math:`b_j`
            (:func:`existing_coverage`). Ignored when ``base`` is given.
        base
            The baseline already computed by :func:`existing_coverage` (e.g. for
            :func:`generate_candidates`), aligned with ``demand``.
        decay
            None: a site covers the demand within ``limit_m`` fully; any other value: linearly
            decaying value :math:`1 - d/T` (at least 1e-9 within reach).
        capacity_households
            Households one new site can serve (None = unlimited).

        Returns
        -------
        CoverageProblem
            With ``candidate_ids`` and ``candidate_lonlat`` of the rows.
        """
        from mzgis.analysis.reach import facility_pairs, points_xy

        idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
        dx, dy = points_xy(demand, graph.crs)
        ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
        d_ok = np.flatnonzero(ds.ok)
        if base is None:
            base = existing_coverage(graph, demand, existing, limit_m=limit_m, decay=decay, max_snap_m=max_snap_m,
                                     index=idx)
        cx, cy = points_xy(candidates, graph.crs)
        cs = idx.snap(cx, cy, max_distance_m=max_snap_m)
        c_ok = np.flatnonzero(cs.ok)
        pf, pd_, pdist = facility_pairs(graph, cs.take(c_ok), ds.take(d_ok), limit_m=limit_m)
        vals = np.ones_like(pdist) if decay is None else np.clip(1.0 - pdist / limit_m, 1e-9, 1.0)
        matrix = sp.csr_matrix((vals, (pf, d_ok[pd_])), shape=(len(c_ok), len(demand)))
        ids = (candidates["feature_id"].astype(str).to_numpy() if "feature_id" in candidates
               else candidates.index.astype(str).to_numpy())[c_ok]
        lonlat = gpd.GeoSeries(gpd.points_from_xy(cx[c_ok], cy[c_ok]), crs=graph.crs).to_crs("EPSG:4326")
        return cls(matrix, demand[weight].astype(float).to_numpy(), np.asarray(base, dtype=float),
                   capacity_households, candidate_ids=list(ids),
                   candidate_lonlat=np.column_stack([lonlat.x.to_numpy(), lonlat.y.to_numpy()]))

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return int(self.value.shape[0])

    @property
    def total(self) -> float:
        """Total demand weight."""
        return float(self.weight.sum())

    def covered(self, chosen: list[int] | NDArray[np.int64]) -> float:
        """Weight covered (baseline plus new; capacity respected greedily in order)."""
        cur = self.base.copy()
        if self.capacity is None:
            for i in chosen:
                row = self.value.getrow(int(i))
                cur[row.indices] = np.maximum(cur[row.indices], row.data)
            return float((self.weight * np.minimum(cur, 1.0)).sum())
        rem = self.weight * (1.0 - self.base)
        total = float((self.weight * self.base).sum())
        for i in chosen:
            total += self._allocate(int(i), rem, apply=True)
        return total

    def _allocate(self, i: int, rem: NDArray[np.float64], *, apply: bool) -> float:
        row = self.value.getrow(i)
        order = np.argsort(-row.data, kind="stable")
        cap = float(self.capacity) if self.capacity is not None else np.inf
        gained = 0.0
        for k in order:
            j = row.indices[k]
            if cap <= 0:
                break
            take = min(rem[j], cap)
            if take <= 0:
                continue
            gained += take * row.data[k]
            cap -= take
            if apply:
                rem[j] -= take
        return gained


@dataclass
class SitingResult:
    """Chosen sites in order, with what each adds."""

    chosen: list[int]
    gains: list[float]
    covered: float
    total: float
    method: str
    seconds: float
    exact_value: float | None = None
    greedy_value: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """Greedy optimality gap (exact − greedy) / exact, when both were computed."""
        if self.exact_value is None or self.greedy_value is None or self.exact_value <= 0:
            return None
        return (self.exact_value - self.greedy_value) / self.exact_value

    def table(self, candidate_ids: list[str], xy: NDArray[np.float64]) -> pd.DataFrame:
        """``rank, candidate_id, x, y, households_gained, cumulative_share``."""
        base = self.covered - sum(self.gains)
        cum = base + np.cumsum(self.gains)
        return pd.DataFrame({
            "rank": np.arange(1, len(self.chosen) + 1),
            "candidate_id": [candidate_ids[i] for i in self.chosen],
            "x": [float(xy[i, 0]) for i in self.chosen], "y": [float(xy[i, 1]) for i in self.chosen],
            "households_gained": np.round(self.gains, 3),
            "cumulative_share": cum / self.total if self.total > 0 else np.nan,
        })


def solve_greedy(p: CoverageProblem, *, add: int | None = None, target_share: float | None = None) -> SitingResult:
    """Lazy greedy: add the best candidate until ``add`` sites or the target share is reached."""
    t0 = time.perf_counter()
    v = p.value
    cur = p.base.astype(float).copy()
    rem = p.weight * (1.0 - np.minimum(p.base, 1.0))
    covered = float((p.weight * np.minimum(cur, 1.0)).sum())
    goal = None if target_share is None else target_share * p.total

    def gain(i: int) -> float:
        s, e = v.indptr[i], v.indptr[i + 1]
        idx, val = v.indices[s:e], v.data[s:e]
        if p.capacity is None:
            return float((p.weight[idx] * np.maximum(val - cur[idx], 0.0)).sum())
        return p._allocate(i, rem, apply=False)

    heap = [(-gain(i), i) for i in range(p.n_candidates)]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    taken = np.zeros(p.n_candidates, dtype=bool)
    limit = add if add is not None else p.n_candidates
    while heap and len(chosen) < limit:
        if goal is not None and covered >= goal - 1e-9:
            break
        _neg, i = heapq.heappop(heap)
        if taken[i]:
            continue
        g = gain(i)
        if heap and g < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-g, i))  # stale: re-queue with its true gain
            continue
        if g <= 1e-12:
            break
        taken[i] = True
        chosen.append(i)
        gains.append(g)
        covered += g
        s, e = v.indptr[i], v.indptr[i + 1]
        idx, val = v.indices[s:e], v.data[s:e]
        if p.capacity is None:
            cur[idx] = np.maximum(cur[idx], val)
        else:
            p._allocate(i, rem, apply=True)
    res = SitingResult(chosen, gains, covered, p.total, "greedy", time.perf_counter() - t0)
    res.greedy_value = covered
    if goal is not None and covered < goal - 1e-9:
        res.notes.append(f"目标覆盖率无法达到 the target share {target_share:.1%} cannot be reached with these "
                         f"candidates: best {covered / p.total:.1%}")
    return res


def solve_exact(p: CoverageProblem, *, add: int | None = None, target_share: float | None = None,
                time_limit_s: float = 120.0) -> SitingResult:
    """The exact MIP (see the module doc) with PuLP/CBC."""
    import pulp

    t0 = time.perf_counter()
    n_c, _n_d = p.value.shape
    need = np.flatnonzero((np.diff(p.value.tocsc().indptr) > 0) & (p.base < 1.0) & (p.weight > 0))
    prob = pulp.LpProblem("siting", pulp.LpMaximize if target_share is None else pulp.LpMinimize)
    x, y, z, simple = _exact_constraints(p, prob, need)
    gain = pulp.lpSum(float(p.weight[j]) * (y[j] - float(p.base[j])) for j in need)
    if target_share is None:
        if add is None:
            msg = "solve_exact needs add or target_share"
            raise SitingError(msg)
        prob += gain
        prob += pulp.lpSum(x) == min(add, n_c)
    else:
        prob += pulp.lpSum(x)
        already = float((p.weight * np.minimum(p.base, 1.0)).sum())
        prob += gain >= target_share * p.total - already
    status = prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    if pulp.LpStatus[status] != "Optimal":
        msg = (f"精确模型未求得最优解 the exact model is {pulp.LpStatus[status]}"
               + (" (target share not reachable with these candidates)" if target_share is not None else ""))
        raise SitingError(msg)
    chosen = [i for i in range(n_c) if (x[i].value() or 0) > 0.5]
    base_val = float((p.weight * np.minimum(p.base, 1.0)).sum())
    gain_val = float(pulp.value(gain) or 0.0) if target_share is None else None
    if not simple:
        return _exact_result_assigned(p, chosen, z, base_val, gain_val, t0)
    return _exact_result_ranked(p, chosen, base_val, gain_val, t0)


def _exact_constraints(p: CoverageProblem, prob: pulp.LpProblem, need: NDArray[np.intp],
                       ) -> tuple[list[pulp.LpVariable], dict[np.intp, pulp.LpVariable],
                                  dict[tuple[int, int], pulp.LpVariable], bool]:
    """The MIP's variables and coverage/capacity constraints, apart from the objective and the
    solve: ``x`` (sites), ``y`` (coverage), ``z`` (assignments, empty in the simple model), simple."""
    import pulp

    v = p.value.tocsc()
    n_c, _n_d = p.value.shape
    x = [pulp.LpVariable(f"x{i}", cat="Binary") for i in range(n_c)]
    y = {j: pulp.LpVariable(f"y{j}", lowBound=0, upBound=1) for j in need}
    simple = bool(p.capacity is None and np.all(p.value.data >= 1.0 - 1e-12))
    z: dict[tuple[int, int], pulp.LpVariable] = {}
    for j in need:
        s, e = v.indptr[j], v.indptr[j + 1]
        cands, vals = v.indices[s:e], v.data[s:e]
        if simple:
            prob += y[j] <= float(p.base[j]) + pulp.lpSum(x[i] for i in cands)
        else:
            # each demand point is served by one source: the existing facilities (u, value b_j)
            # or one new site (z_ij, value f_ij), so its value is max(b_j, f_ij), never a sum
            zs = []
            for i, f in zip(cands, vals, strict=True):
                zij = pulp.LpVariable(f"z{i}_{j}", lowBound=0, upBound=1)
                z[(int(i), int(j))] = zij
                prob += zij <= x[i]
                zs.append(f * zij)
            u = pulp.LpVariable(f"u{j}", lowBound=0, upBound=1)
            prob += u + pulp.lpSum(z[(int(i), int(j))] for i in cands) <= 1
            prob += y[j] <= float(p.base[j]) * u + pulp.lpSum(zs)
    if p.capacity is not None:
        by_i: dict[int, list[pulp.LpAffineExpression]] = {}
        for (ci, dj), zij in z.items():
            by_i.setdefault(ci, []).append(float(p.weight[dj]) * zij)
        for ci, terms in by_i.items():
            prob += pulp.lpSum(terms) <= float(p.capacity) * x[ci]
    return x, y, z, simple


def _exact_result_assigned(p: CoverageProblem, chosen: list[int], z: dict[tuple[int, int], pulp.LpVariable],
                           base_val: float, gain_val: float | None, t0: float) -> SitingResult:
    """The result of the model with capacity or decay, whose per-site gains must come from the
    model's assignment; ``gain_val`` is the objective's gain (None when minimising sites)."""
    # With capacity or decay the households a site serves come from the model's assignment
    # (z_ij), not from re-allocating in some order: re-allocating greedily can serve fewer than
    # the optimum, and the table would then not add up to the objective. A point served by new
    # site i gains w_j (f_ij - b_j) over what the existing facilities give it.
    site_gain = dict.fromkeys(chosen, 0.0)
    for (ci, dj), zij in z.items():
        zv = float(zij.value() or 0.0)
        if zv > 1e-9 and ci in site_gain:
            site_gain[ci] += float(p.weight[dj]) * zv * (float(p.value[ci, dj]) - float(p.base[dj]))
    ordered_c = sorted(chosen, key=lambda i: -site_gain[i])
    gains_c = [site_gain[i] for i in ordered_c]
    total = base_val + sum(gains_c)
    res = SitingResult(ordered_c, gains_c, total, p.total, "exact (PuLP/CBC)", time.perf_counter() - t0)
    res.exact_value = base_val + gain_val if gain_val is not None else total
    return res


def _exact_result_ranked(p: CoverageProblem, chosen: list[int], base_val: float, gain_val: float | None,
                         t0: float) -> SitingResult:
    """The result of the simple model, its sites ordered by marginal gain for the ranked table."""
    ordered: list[int] = []
    gains: list[float] = []
    cur_val = base_val
    rest = list(chosen)
    while rest:
        best = max(rest, key=lambda i: p.covered([*ordered, i]))
        val = p.covered([*ordered, best])
        gains.append(val - cur_val)
        cur_val = val
        ordered.append(best)
        rest.remove(best)
    exact_val = base_val + gain_val if gain_val is not None else cur_val
    res = SitingResult(ordered, gains, cur_val, p.total, "exact (PuLP/CBC)", time.perf_counter() - t0)
    res.exact_value = exact_val
    return res


def distinct_candidates(p: CoverageProblem) -> NDArray[np.int64]:
    """Candidates with distinct offers: of candidates that offer exactly the same values to the
    same demand points still in need, only the first is kept (rows of ``p.value`` restricted to
    the columns with base < 1 and weight > 0).

    Dropping such twins loses nothing without capacity: either twin adds exactly what the other
    would. With capacity two sites side by side can both be worth building, so nothing is dropped.
    """
    if p.capacity is not None or p.n_candidates == 0:
        return np.arange(p.n_candidates, dtype=np.int64)
    need = (p.base < 1.0) & (p.weight > 0)
    m = p.value[:, np.flatnonzero(need)].tocsr()
    m.sort_indices()
    seen: dict[bytes, int] = {}
    keep = []
    for i in range(m.shape[0]):
        s, e = m.indptr[i], m.indptr[i + 1]
        if s == e:
            continue  # offers nothing to anyone in need
        key = m.indices[s:e].tobytes() + np.round(m.data[s:e], 12).tobytes()
        if key not in seen:
            seen[key] = i
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def solve(p: CoverageProblem, *, add: int | None = None, target_share: float | None = None, method: str = "auto",
          exact_max_pairs: int = 300_000, exact_max_candidates: int = 1500, time_limit_s: float = 120.0) -> SitingResult:
    """Choose the solver (``auto``, ``exact`` or ``greedy``) and report the choice and the gap.

    Candidates that offer exactly what another offers are set aside first
    (:func:`distinct_candidates`), which keeps "exact" exact over the whole candidate set while
    the model gets smaller. The result's ``chosen`` indexes the original candidates.

    Examples
    --------
    Three demand points of 100, 60 and 40 households; the first is already covered by an
    existing station. Candidate 0 reaches points 0 and 2 (100 + 40 = 140, but only 40 are new),
    candidate 1 reaches point 1 (60 new): the one site to add is candidate 1.

    >>> import numpy as np, scipy.sparse as sp
    >>> value = sp.csr_matrix(np.array([[1.0, 0, 1], [0, 1, 0]]))
    >>> p = CoverageProblem(value, np.array([100.0, 60, 40]), np.array([1.0, 0, 0]))
    >>> r = solve(p, add=1, method="greedy")
    >>> r.chosen, r.gains, r.covered
    ([1], [60.0], 160.0)
    """
    if add is not None and (isinstance(add, bool) or int(add) != add or add < 1):
        msg = f"add 须为正整数 must be a positive whole number of new sites, got {add!r}"
        raise ParameterError(msg)
    if target_share is not None and not 0 < guard.positive(target_share, "target_share") <= 1:
        msg = f"target_share 须在 (0, 1] 之间 must be a share in (0, 1], got {target_share!r} (e.g. 0.9 for 90%)"
        raise ParameterError(msg)
    if method not in ("auto", "exact", "greedy"):
        msg = f"method 须为 must be 'auto', 'exact' or 'greedy', got {method!r}"
        raise ParameterError(msg)
    keep = distinct_candidates(p)
    if keep.size == p.n_candidates:
        return _solve(p, add=add, target_share=target_share, method=method, exact_max_pairs=exact_max_pairs,
                      exact_max_candidates=exact_max_candidates, time_limit_s=time_limit_s)
    sub = CoverageProblem(p.value[keep].tocsr(), p.weight, p.base, p.capacity)  # rows renumbered: no ids
    res = _solve(sub, add=add, target_share=target_share, method=method, exact_max_pairs=exact_max_pairs,
                 exact_max_candidates=exact_max_candidates, time_limit_s=time_limit_s)
    res.chosen = [int(keep[i]) for i in res.chosen]
    res.notes.insert(0, f"候选 {p.n_candidates} candidates, {keep.size} 个覆盖范围不同 with distinct coverage "
                        "(同覆盖范围的候选只留一个 twins offering the same coverage set aside: no loss)")
    return res


def _solve(p: CoverageProblem, *, add: int | None, target_share: float | None, method: str,
           exact_max_pairs: int, exact_max_candidates: int, time_limit_s: float) -> SitingResult:
    if (add is None) == (target_share is None):
        msg = "give exactly one of add (number of new sites) or target_share"
        raise SitingError(msg)
    greedy = solve_greedy(p, add=add, target_share=target_share)
    simple = p.capacity is None and bool(np.all(p.value.data >= 1.0 - 1e-12))
    # with capacity or decay every pair gets an assignment variable: a much larger model
    max_pairs = exact_max_pairs if simple else min(exact_max_pairs, 20_000)
    small = p.value.nnz <= max_pairs and p.n_candidates <= exact_max_candidates
    if method == "greedy" or (method == "auto" and not small):
        greedy.notes.append(
            f"贪心算法 greedy ({p.n_candidates} candidates, {p.value.nnz} pairs"
            + ("" if method == "greedy" else f" > exact limit {max_pairs}") + ")"
            + (f"; guarantee ≥ {GREEDY_BOUND:.1%} of the optimum" if p.capacity is None and add is not None else ""))
        return greedy
    exact = solve_exact(p, add=add, target_share=target_share, time_limit_s=time_limit_s)
    exact.greedy_value = greedy.covered if add is not None else None
    if add is not None:
        exact.notes.append(f"精确求解 exact (PuLP/CBC, {exact.seconds:.1f} s); greedy {greedy.covered:.1f} vs exact "
                           f"{exact.exact_value or exact.covered:.1f} households covered, gap {100 * (exact.gap or 0):.2f}%")
    else:
        exact.notes.append(f"精确求解 exact: {len(exact.chosen)} sites; greedy needed {len(greedy.chosen)}")
    return exact


def exhaustive(p: CoverageProblem, add: int) -> tuple[float, tuple[int, ...]]:
    """Best coverage over every combination of ``add`` candidates (for tests on small instances)."""
    from itertools import combinations

    best: float = -1.0
    arg: tuple[int, ...] = ()
    for combo in combinations(range(p.n_candidates), add):
        val = p.covered(list(combo))
        if val > best + 1e-9:
            best, arg = val, combo
    return best, arg


def network_candidates(graph: RoadGraph, demand: Snapped, need: NDArray[np.bool_], *,
                       limit_m: float) -> NDArray[np.int64]:
    """Every network node within ``limit_m`` (network distance) of a demand point that needs
    coverage: the candidate set over which "exact" siting is exact.

    A new site anywhere else could not reach any of that demand, so it could never add coverage;
    restricting to nodes loses only positions part-way along an edge. One multi-source Dijkstra
    from the demand points (the walking network is undirected, so the distance from a point to a
    node is the distance from the node to the point).

    Parameters
    ----------
    graph
        The road graph.
    demand
        The demand points snapped to the graph (unsnapped ones are skipped).
    need
        True for the demand points not yet covered (aligned with ``demand``).
    limit_m
        The service distance.

    Returns
    -------
    numpy.ndarray
        Node indices, ascending.
    """
    from mzgis.analysis.reach import multi_source_node_distances

    src = np.flatnonzero(np.asarray(need, dtype=bool) & demand.ok)
    if src.size == 0:
        return np.empty(0, dtype=np.int64)
    d = multi_source_node_distances(graph, demand.take(src), limit_m=limit_m)
    return np.flatnonzero(np.isfinite(d) & (d <= limit_m)).astype(np.int64)


def existing_coverage(graph: RoadGraph, demand: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, *,
                      limit_m: float, decay: str | None = None, max_snap_m: float = 300.0,
                      snap_to: SnapTo = "main", index: SegmentIndex | None = None) -> NDArray[np.float64]:
    """The coverage value the ``existing`` facilities already give each demand point: 1 within
    ``limit_m`` along the network (with ``decay``, the nearest one's ``1 - d/limit_m``), else 0;
    0 for a demand point that does not snap to the network. Aligned with ``demand`` by position.
    """
    from mzgis.analysis.reach import nearest_facility, points_xy

    base = np.zeros(len(demand))
    if existing is None or not len(existing):
        return base
    idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
    dx, dy = points_xy(demand, graph.crs)
    ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
    d_ok = np.flatnonzero(ds.ok)
    fx, fy = points_xy(existing, graph.crs)
    fs = idx.snap(fx, fy, max_distance_m=max_snap_m)
    dist, _ = nearest_facility(graph, fs.take(np.flatnonzero(fs.ok)), ds.take(d_ok), limit_m=limit_m)
    reached = np.isfinite(dist)
    base[d_ok] = np.where(reached, 1.0 if decay is None else np.clip(1.0 - dist / limit_m, 0.0, 1.0), 0.0)
    return base


def generate_candidates(graph: RoadGraph, demand: gpd.GeoDataFrame, *, covered: NDArray[np.float64],
                        limit_m: float, max_snap_m: float = 300.0, snap_to: SnapTo = "main",
                        index: SegmentIndex | None = None) -> gpd.GeoDataFrame:
    """Candidate sites: every network node within ``limit_m`` of a demand point not fully covered
    (``covered < 1``, from :func:`existing_coverage`), as points with ids ``N<osm node id>`` in
    the graph's CRS (:func:`network_candidates`: "exact" siting is exact over them)."""
    from mzgis.analysis.reach import points_xy

    idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
    dx, dy = points_xy(demand, graph.crs)
    ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
    nodes = network_candidates(graph, ds, np.asarray(covered) < 1.0, limit_m=limit_m)
    return gpd.GeoDataFrame({"feature_id": [f"N{int(graph.node_ids[n])}" for n in nodes]},
                            geometry=gpd.points_from_xy(graph.x[nodes], graph.y[nodes]), crs=graph.crs)


def site_on_network(graph: RoadGraph, demand: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, *,
                    limit_m: float, candidates: gpd.GeoDataFrame | None = None, add: int | None = None,
                    target_share: float | None = None, decay: str | None = None,
                    capacity_households: float | None = None, method: str = "auto", max_snap_m: float = 300.0,
                    snap_to: SnapTo = "main",
                    index: SegmentIndex | None = None) -> tuple[SitingResult, CoverageProblem, gpd.GeoDataFrame]:
    """New sites on a walking network, as ``mzgis site`` and :func:`mzgis.site` choose them: the
    baseline of the ``existing`` facilities (held fixed), the candidates (given, or every network
    node within ``limit_m`` of demand not fully covered: :func:`generate_candidates`), the coverage
    model (:meth:`CoverageProblem.from_network`) and its solution. ``demand`` rows by position.

    Returns the result, the problem (candidate ids and lon/lat of its rows) and the candidates.
    """
    idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
    base = existing_coverage(graph, demand, existing, limit_m=limit_m, decay=decay, max_snap_m=max_snap_m, index=idx)
    cand = (generate_candidates(graph, demand, covered=base, limit_m=limit_m, max_snap_m=max_snap_m, index=idx)
            if candidates is None else candidates.reset_index(drop=True))
    if cand.empty:
        msg = "没有候选址 no candidates: every demand point is covered, or the candidate layer is empty"
        raise LayerError(msg)
    problem = CoverageProblem.from_network(graph, demand, cand, base=base, limit_m=limit_m, decay=decay,
                                           capacity_households=capacity_households, max_snap_m=max_snap_m,
                                           index=idx)
    return solve(problem, add=add, target_share=target_share, method=method), problem, cand
