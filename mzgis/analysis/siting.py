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

City scale
----------
Without a candidate layer the candidates are the network nodes within reach of demand not fully
covered: at most a few thousand in a district, but ~300,000 for 400,000 demand points over a
671,000-node network and over a million at the size of Beijing, each costing a bounded Dijkstra.
Above :data:`MAX_CANDIDATES` of them :func:`site_on_network` thins them to the node nearest the
mean of each square grid cell (:func:`thin_candidates`; the smallest of :data:`THIN_CELLS_M` that
fits), computes pairs only to the demand that can still gain, solves over the representatives,
and then refines: each chosen site, the others fixed, is swapped for the generated node within
the cell size that adds most, while that strictly improves the coverage (a local optimum for
single swaps within the cell size; for ``add``, with capacity after the greedy, each swap keeping
the site's place in the allocation order). When more than
:data:`REFINE_MAX_NODES` nodes lie that near the sites (large cells in a dense city), it tries
every node within a shorter step and one per step-sized cell out to the cell size.

Measured on the tiled Heidelberg 2×2 (311,337 candidate nodes, 250 m cells, 14,026
representatives, ``add=20``; 7–14 s end to end): 0.6 % of the new coverage below the greedy over
all candidate nodes (4.3 % before the refinement); representatives nearest the uncovered demand's
weighted centroid instead did no better (0.5 % / 4.9 %; at 150 m cells 0.3 % against 0.06 %), so
the simpler rule is used. At 4×4 (2.4 M candidate nodes, 500 m
cells, 19,188 representatives; 32 s end to end on a loaded machine) the step-and-grid refinement
(120–180 m steps, ~5,000 nodes tried) came within 0.1 % of the new coverage of trying all ~22,000
nodes within 500 m, in a third of the time; thinning to 250 m cells (69,647 representatives, 83 s)
would have covered 0.7 % more of the new coverage.
"""

from __future__ import annotations

import heapq
import logging
import math
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
    "MAX_CANDIDATES",
    "THIN_CELLS_M",
    "CoverageProblem",
    "SitingError",
    "SitingResult",
    "Thinning",
    "distinct_candidates",
    "exhaustive",
    "existing_coverage",
    "generate_candidates",
    "network_candidates",
    "site_on_network",
    "solve",
    "solve_exact",
    "solve_greedy",
    "thin_candidates",
]

log = logging.getLogger(__name__)

#: The greedy's guarantee for maximal covering without capacity: 1 - 1/e.
GREEDY_BOUND = 1.0 - 1.0 / math.e

#: Generated candidate nodes above which :func:`site_on_network` thins them (one per grid cell).
#: At 20,000 the exact-over-all-nodes model still costs ~13 s of pairs and ~1.5 GB (8.4 M pairs
#: against 400,000 demand points, tiled Heidelberg 2×2, loaded machine); 5,000 cost 5.5 s.
MAX_CANDIDATES = 20_000
#: The grid cell sizes (m) :func:`thin_candidates` tries, smallest first.
THIN_CELLS_M = (100.0, 150.0, 200.0, 250.0, 300.0, 400.0, 500.0, 750.0, 1000.0)
#: At most this many passes of the local refinement after thinning.
REFINE_PASSES = 5
#: Above this many generated nodes around the chosen sites, the refinement tries every node only
#: near each site and a grid of them farther out (see ``_refine``).
REFINE_MAX_NODES = 4_000


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
        from mzgis.analysis.reach import points_xy

        idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
        dx, dy = points_xy(demand, graph.crs)
        ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
        d_ok = np.flatnonzero(ds.ok)
        if base is None:
            base = existing_coverage(graph, demand, existing, limit_m=limit_m, decay=decay, max_snap_m=max_snap_m,
                                     index=idx)
        cx, cy = points_xy(candidates, graph.crs)
        matrix, c_ok = _value_rows(graph, idx, cx, cy, ds, d_ok, n_demand=len(demand), limit_m=limit_m, decay=decay,
                                   max_snap_m=max_snap_m)
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


def _value_rows(graph: RoadGraph, idx: SegmentIndex, cx: NDArray[np.float64], cy: NDArray[np.float64],
                ds: Snapped, d_cols: NDArray[np.intp], *, n_demand: int, limit_m: float, decay: str | None,
                max_snap_m: float) -> tuple[sp.csr_matrix, NDArray[np.intp]]:
    """Coverage values of candidates at ``(cx, cy)`` for the demand columns ``d_cols`` (snapped in
    ``ds``, indexes of the ``n_demand`` columns): the matrix with one row per candidate that snaps,
    and the positions of those candidates."""
    from mzgis.analysis.reach import facility_pairs

    cs = idx.snap(cx, cy, max_distance_m=max_snap_m)
    c_ok = np.flatnonzero(cs.ok)
    pf, pd_, pdist = facility_pairs(graph, cs.take(c_ok), ds.take(d_cols), limit_m=limit_m)
    vals = np.ones_like(pdist) if decay is None else np.clip(1.0 - pdist / limit_m, 1e-9, 1.0)
    return sp.csr_matrix((vals, (pf, d_cols[pd_])), shape=(len(c_ok), n_demand)), c_ok


@dataclass
class Thinning:
    """What thinning the generated candidates did (:func:`site_on_network`).

    Attributes
    ----------
    nodes
        Candidate nodes generated (network nodes within reach of demand not fully covered).
    cell_m
        Side of the square grid cells; one representative node per cell.
    representatives
        Representatives kept (the thinned candidate set the solver saw).
    swaps
        Swaps the local refinement made (a chosen site for a candidate node within ``cell_m``).
    passes
        Refinement passes run (0: no refinement).
    converged
        The last pass made no swap: no single swap for a node the refinement tries (every node
        within ``cell_m``, or see ``step_m``) improves the result.
    covered_before
        Households covered by the solution over the representatives, before the refinement.
    step_m
        The refinement tried every generated node within ``step_m`` of a site and, when
        ``step_m < cell_m``, one per ``step_m`` grid cell out to ``cell_m``.
    tried
        Generated nodes the refinement tried.
    """

    nodes: int
    cell_m: float
    representatives: int
    swaps: int = 0
    passes: int = 0
    converged: bool = False
    covered_before: float = 0.0
    step_m: float = 0.0
    tried: int = 0


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
    #: Set when generated candidates were thinned (:func:`site_on_network`).
    thinning: Thinning | None = None
    #: Seconds per step of :func:`site_on_network` (baseline, candidates, thinning, pairs, solve, refine;
    #: refine_pairs is the part of refine spent computing the tried nodes' pairs).
    timings: dict[str, float] = field(default_factory=dict)

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
    return _node_layer(graph, nodes)


def _node_layer(graph: RoadGraph, nodes: NDArray[np.int64]) -> gpd.GeoDataFrame:
    """Network nodes as candidate points with ids ``N<osm node id>`` in the graph's CRS."""
    return gpd.GeoDataFrame({"feature_id": [f"N{int(graph.node_ids[n])}" for n in nodes]},
                            geometry=gpd.points_from_xy(graph.x[nodes], graph.y[nodes]), crs=graph.crs)


def thin_candidates(x: NDArray[np.float64], y: NDArray[np.float64], *, max_candidates: int,
                    cells_m: tuple[float, ...] | None = None) -> tuple[NDArray[np.int64], float]:
    """One representative per square grid cell, the cell the smallest of ``cells_m`` (doubling
    the last while needed) that leaves at most ``max_candidates`` of them.

    The representative of a cell is the point nearest the mean of the cell's points (ties: the
    first). Cells are aligned to multiples of the cell size, so the choice depends only on the
    points, not on their order.

    Returns the positions of the representatives (ascending) and the cell size in metres.

    Examples
    --------
    >>> x = np.array([0.0, 10, 20, 130, 260, 270])
    >>> keep, cell = thin_candidates(x, np.zeros(6), max_candidates=3, cells_m=(100.0,))
    >>> keep.tolist(), cell
    ([1, 3, 4], 100.0)
    """
    n = int(np.asarray(x).size)
    if n == 0:
        return np.empty(0, dtype=np.int64), 0.0
    ladder = list(cells_m or THIN_CELLS_M)
    k = 0
    while True:
        size = ladder[k] if k < len(ladder) else ladder[-1] * 2.0 ** (k - len(ladder) + 1)
        ix = np.floor(x / size).astype(np.int64)
        iy = np.floor(y / size).astype(np.int64)
        key = (ix - ix.min()) * (int(iy.max() - iy.min()) + 1) + (iy - iy.min())
        top = int(key.max())
        # counting occupied cells: a bincount when the grid is not huge, much faster than a sort
        n_cells = int(np.count_nonzero(np.bincount(key))) if top < 50_000_000 else int(np.unique(key).size)
        if n_cells <= max_candidates or n_cells == 1:
            break
        k += 1
    _cells, inv = np.unique(key, return_inverse=True)
    cnt = np.bincount(inv)
    mx = np.bincount(inv, weights=x) / cnt
    my = np.bincount(inv, weights=y) / cnt
    d2 = (x - mx[inv]) ** 2 + (y - my[inv]) ** 2
    order = np.lexsort((d2, inv))  # stable: equal distances keep the first point
    first = np.ones(n, dtype=bool)
    first[1:] = inv[order][1:] != inv[order][:-1]
    return np.sort(order[first]).astype(np.int64), float(size)


def site_on_network(graph: RoadGraph, demand: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, *,
                    limit_m: float, candidates: gpd.GeoDataFrame | None = None, add: int | None = None,
                    target_share: float | None = None, decay: str | None = None,
                    capacity_households: float | None = None, method: str = "auto", max_snap_m: float = 300.0,
                    snap_to: SnapTo = "main", index: SegmentIndex | None = None,
                    max_candidates: int | None = MAX_CANDIDATES,
                    refine_passes: int = REFINE_PASSES) -> tuple[SitingResult, CoverageProblem, gpd.GeoDataFrame]:
    """New sites on a walking network, as ``mzgis site`` and :func:`mzgis.site` choose them: the
    baseline of the ``existing`` facilities (held fixed), the candidates (given, or every network
    node within ``limit_m`` of demand not fully covered: :func:`generate_candidates`), the coverage
    model (:meth:`CoverageProblem.from_network`) and its solution. ``demand`` rows by position.

    City scale: when more than ``max_candidates`` nodes are generated (None: never), they are
    thinned to one per grid cell (:func:`thin_candidates`), the model is solved over those
    representatives with pairs only to the demand that can gain, and, for ``add`` (with capacity
    after the greedy only), a local refinement (at most ``refine_passes`` passes) swaps each chosen
    site for the best generated node within the cell size while that strictly improves the coverage.
    The result's ``thinning`` and ``notes`` say so; ``timings`` has the seconds per step.

    Returns the result, the problem (candidate ids and lon/lat of its rows: with thinning, the
    representatives and the nodes the refinement tried) and the candidates (the problem's rows
    as points, when thinned).
    """
    from mzgis.analysis.reach import points_xy

    if max_candidates is not None and (isinstance(max_candidates, bool) or int(max_candidates) < 1):
        msg = f"max_candidates 须为正整数 must be a positive whole number, got {max_candidates!r}"
        raise ParameterError(msg)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    idx = index if index is not None else SegmentIndex.shared(graph, snap_to=snap_to)
    base = existing_coverage(graph, demand, existing, limit_m=limit_m, decay=decay, max_snap_m=max_snap_m, index=idx)
    times["baseline"] = time.perf_counter() - t0
    if candidates is not None:
        cand = candidates.reset_index(drop=True)
    else:
        t0 = time.perf_counter()
        dx, dy = points_xy(demand, graph.crs)
        ds = idx.snap(dx, dy, max_distance_m=max_snap_m)
        nodes = network_candidates(graph, ds, base < 1.0, limit_m=limit_m)
        times["candidates"] = time.perf_counter() - t0
        if max_candidates is not None and nodes.size > max_candidates:
            return _site_thinned(graph, demand, ds, base, nodes, idx=idx, limit_m=limit_m, add=add,
                                 target_share=target_share, decay=decay, capacity_households=capacity_households,
                                 method=method, max_snap_m=max_snap_m, max_candidates=int(max_candidates),
                                 refine_passes=refine_passes, times=times)
        cand = _node_layer(graph, nodes)
    if cand.empty:
        raise LayerError(_NO_CANDIDATES)
    t0 = time.perf_counter()
    problem = CoverageProblem.from_network(graph, demand, cand, base=base, limit_m=limit_m, decay=decay,
                                           capacity_households=capacity_households, max_snap_m=max_snap_m,
                                           index=idx)
    times["pairs"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = solve(problem, add=add, target_share=target_share, method=method)
    times["solve"] = time.perf_counter() - t0
    res.timings = times
    return res, problem, cand


_NO_CANDIDATES = "没有候选址 no candidates: every demand point is covered, or the candidate layer is empty"


def _site_thinned(graph: RoadGraph, demand: gpd.GeoDataFrame, ds: Snapped, base: NDArray[np.float64],
                  nodes: NDArray[np.int64], *, idx: SegmentIndex, limit_m: float, add: int | None,
                  target_share: float | None, decay: str | None, capacity_households: float | None, method: str,
                  max_snap_m: float, max_candidates: int, refine_passes: int,
                  times: dict[str, float]) -> tuple[SitingResult, CoverageProblem, gpd.GeoDataFrame]:
    """:func:`site_on_network` above the cap: thin, solve over the representatives, refine."""
    t0 = time.perf_counter()
    keep, cell = thin_candidates(graph.x[nodes], graph.y[nodes], max_candidates=max_candidates)
    reps = nodes[keep]
    times["thinning"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    weight = demand["households"].astype(float).to_numpy()
    # pairs only to the demand that can gain: a point already fully covered (or of no weight)
    # adds nothing whoever reaches it, so its column stays empty and no objective value changes
    cols = np.flatnonzero(ds.ok & (base < 1.0) & (weight > 0))
    model = _NodeRows(graph, idx, ds, cols, n_demand=len(demand), limit_m=limit_m, decay=decay,
                      max_snap_m=max_snap_m)
    model.add(reps)
    thin = CoverageProblem(model.matrix(), weight, np.asarray(base, dtype=float), capacity_households)
    times["pairs"] = time.perf_counter() - t0
    if thin.n_candidates == 0:
        raise LayerError(_NO_CANDIDATES)
    t0 = time.perf_counter()
    res = solve(thin, add=add, target_share=target_share, method=method)
    times["solve"] = time.perf_counter() - t0
    info = Thinning(nodes=int(nodes.size), cell_m=cell, representatives=int(reps.size), covered_before=res.covered)
    t0 = time.perf_counter()
    # with capacity the objective is the allocation in the sites' order (CoverageProblem.covered),
    # which the greedy reports; an exact result's assignment can serve more, so it is kept as it is
    refined = (add is not None and refine_passes > 0 and bool(res.chosen)
               and (capacity_households is None or res.exact_value is None))
    if refined:
        chosen = _refine(model, nodes, res.chosen, cell_m=cell, weight=weight, base=thin.base, passes=refine_passes,
                         info=info, times=times, capacity=capacity_households)
        problem = CoverageProblem(model.matrix(), weight, thin.base, capacity_households)
        if capacity_households is None:
            order, gains = _ranked(problem, chosen)
        else:
            order, gains = chosen, _allocation_gains(problem, chosen)
        res.chosen, res.gains = order, gains
        res.covered = float((weight * np.minimum(thin.base, 1.0)).sum()) + float(sum(gains))
    else:
        problem = thin
    res.method = (f"{res.method}, 抽稀候选 over thinned candidates"
                  + (" + 局部调整 local swaps" if info.passes else ""))
    times["refine"] = time.perf_counter() - t0
    res.seconds += times["refine"]
    rows = model.row_nodes()
    lonlat = gpd.GeoSeries(gpd.points_from_xy(graph.x[rows], graph.y[rows]), crs=graph.crs).to_crs("EPSG:4326")
    problem.candidate_ids = [f"N{int(graph.node_ids[n])}" for n in rows]
    problem.candidate_lonlat = np.column_stack([lonlat.x.to_numpy(), lonlat.y.to_numpy()])
    res.notes.insert(0, _thinning_note(info, refined=refined, covered=res.covered))
    res.thinning = info
    res.timings = times
    return res, problem, _node_layer(graph, rows)


def _thinning_note(info: Thinning, *, refined: bool, covered: float) -> str:
    head = (f"候选已抽稀 candidates thinned: {info.nodes} 个候选路网节点 candidate network nodes, "
            f"每 {info.cell_m:g} m 网格留一个 one per {info.cell_m:g} m grid cell: {info.representatives} "
            f"个代表点 representatives (超过上限 above the cap of exact search over every node; "
            f"结果为近似 the result is approximate; 下列求解说明针对代表点 the solver lines below are "
            f"over the representatives)")
    if not refined:
        return head + ("; 未做局部调整 no local refinement (only for --add, and with capacity only after the "
                       "greedy)")
    if info.step_m >= info.cell_m:
        near = (f"每个选址与 {info.cell_m:g} m 内的候选节点互换 each site tried against the candidate nodes "
                f"within {info.cell_m:g} m")
    else:
        near = (f"每个选址与 {info.step_m:g} m 内的全部候选节点及 {info.cell_m:g} m 内每 {info.step_m:g} m 网格一个节点互换 "
                f"each site tried against every candidate node within {info.step_m:g} m and one per "
                f"{info.step_m:g} m cell within {info.cell_m:g} m")
    tail = (f"; 局部调整 local refinement: {info.swaps} 次替换 swaps in {info.passes} 轮 passes, "
            f"{info.tried} 个节点 nodes tried ({near}), 覆盖户数 households covered {info.covered_before:.1f} → "
            f"{covered:.1f}")
    if not info.converged:
        tail += "; 达到轮数上限 pass limit reached (further swaps may still help)"
    return head + tail


class _NodeRows:
    """Coverage rows of network nodes, computed on demand and kept (the thinned model's rows and
    the nodes the refinement tries)."""

    def __init__(self, graph: RoadGraph, idx: SegmentIndex, ds: Snapped, cols: NDArray[np.intp], *, n_demand: int,
                 limit_m: float, decay: str | None, max_snap_m: float) -> None:
        self.graph, self.idx, self.ds, self.cols = graph, idx, ds, cols
        self.n_demand, self.limit_m, self.decay, self.max_snap_m = n_demand, limit_m, decay, max_snap_m
        self.row_of: dict[int, int] = {}  # node -> row (-1: does not snap)
        self._blocks: list[sp.csr_matrix] = []
        self._nodes: list[NDArray[np.int64]] = []
        self._n = 0

    def add(self, nodes: NDArray[np.int64]) -> None:
        new = np.asarray([n for n in np.unique(nodes).tolist() if n not in self.row_of], dtype=np.int64)
        if new.size == 0:
            return
        g = self.graph
        m, ok = _value_rows(g, self.idx, g.x[new], g.y[new], self.ds, self.cols, n_demand=self.n_demand,
                            limit_m=self.limit_m, decay=self.decay, max_snap_m=self.max_snap_m)
        for n in new.tolist():
            self.row_of[n] = -1
        for r, n in enumerate(new[ok].tolist()):
            self.row_of[n] = self._n + r
        self._blocks.append(m)
        self._nodes.append(new[ok])
        self._n += int(ok.size)

    def matrix(self) -> sp.csr_matrix:
        if not self._blocks:
            return sp.csr_matrix((0, self.n_demand))
        return sp.csr_matrix(sp.vstack(self._blocks, format="csr"))

    def row_nodes(self) -> NDArray[np.int64]:
        return np.concatenate(self._nodes) if self._nodes else np.empty(0, dtype=np.int64)


def _row_gains(m: sp.csr_matrix, rows: list[int], cur: NDArray[np.float64], weight: NDArray[np.float64],
               ) -> NDArray[np.float64]:
    """What each of ``rows`` adds to the coverage values ``cur`` (uncapacitated)."""
    if not rows:
        return np.empty(0)
    sub = m[rows]
    gain = weight[sub.indices] * np.maximum(sub.data - cur[sub.indices], 0.0)
    return np.asarray(np.bincount(np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), weights=gain,
                                  minlength=len(rows)), dtype=float)


def _coverage_of(m: sp.csr_matrix, rows: list[int], base: NDArray[np.float64]) -> NDArray[np.float64]:
    cur = np.minimum(base, 1.0).astype(float)
    for r in rows:
        s, e = m.indptr[r], m.indptr[r + 1]
        cur[m.indices[s:e]] = np.maximum(cur[m.indices[s:e]], m.data[s:e])
    return cur


def _refine(model: _NodeRows, nodes: NDArray[np.int64], chosen: list[int], *, cell_m: float,
            weight: NDArray[np.float64], base: NDArray[np.float64], passes: int, info: Thinning,
            times: dict[str, float], capacity: float | None = None) -> list[int]:
    """Swap each chosen site (rows of ``model``) for the generated node near it that adds most
    given the other sites, while that strictly improves the coverage; returns the rows chosen.
    With ``capacity`` the coverage is the allocation in the sites' order
    (:meth:`CoverageProblem.covered`) and a swap keeps the position. Updates ``info`` (swaps,
    passes, converged, step, tried).

    "Near" is every generated node within ``cell_m``, unless that is more than
    :data:`REFINE_MAX_NODES` nodes around the first sites (dense cities with large cells): then
    every node within a step ``s < cell_m`` and, farther out to ``cell_m``, one node per ``s``-cell
    (:func:`thin_candidates`), ``s`` chosen so that about half the budget is the dense part.
    """
    from scipy.spatial import cKDTree

    g = model.graph
    xy = np.column_stack([g.x[nodes], g.y[nodes]])
    tree = cKDTree(xy)
    sites = list(chosen)
    tol = 1e-9 * max(float(weight.sum()), 1.0)
    pair_s = 0.0
    step = cell_m
    tried_all: set[int] = set()
    for _ in range(passes):
        info.passes += 1
        row_nodes = model.row_nodes()
        at = np.column_stack([g.x[row_nodes[sites]], g.y[row_nodes[sites]]])
        near = [np.asarray(b, dtype=np.int64) for b in tree.query_ball_point(at, cell_m, return_sorted=True)]
        union = np.unique(np.concatenate(near))
        if info.passes == 1 and union.size > REFINE_MAX_NODES:
            step = max(10.0, float(np.floor(cell_m * np.sqrt(REFINE_MAX_NODES / (2.0 * union.size)) / 10.0) * 10.0))
        if step < cell_m:
            keep, _ = thin_candidates(xy[union, 0], xy[union, 1], max_candidates=union.size, cells_m=(step,))
            reps = union[keep]
            dense = tree.query_ball_point(at, step, return_sorted=True)
            near = [np.union1d(np.intersect1d(b, reps), np.asarray(d, dtype=np.int64))
                    for b, d in zip(near, dense, strict=True)]
            union = np.unique(np.concatenate(near))
        tried_all.update(union.tolist())
        t0 = time.perf_counter()
        model.add(nodes[union])
        pair_s += time.perf_counter() - t0
        m = model.matrix()
        swapped = False
        for k in range(len(sites)):
            taken = set(sites)
            tries = [r for r in (model.row_of[int(n)] for n in nodes[near[k]]) if r >= 0 and r not in taken]
            if not tries:
                continue
            if capacity is None:
                cur = _coverage_of(m, sites[:k] + sites[k + 1:], base)
                gains = _row_gains(m, tries, cur, weight)
                now = _row_gains(m, [sites[k]], cur, weight)[0]
            else:
                gains, now = _swap_values(m, sites, k, tries, weight, base, capacity)
            best = int(np.argmax(gains))
            if gains[best] > now + tol:
                sites[k] = tries[best]
                info.swaps += 1
                swapped = True
        if not swapped:
            info.converged = True
            break
    info.step_m = step
    info.tried = len(tried_all)
    times["refine_pairs"] = pair_s
    return sites


def _allocate_row(m: sp.csr_matrix, i: int, rem: NDArray[np.float64], cap: float) -> float:
    """:meth:`CoverageProblem._allocate` with ``apply=True``, vectorised: site ``i`` serves the
    households still unserved (``rem``, updated) by decreasing value up to ``cap``."""
    s, e = m.indptr[i], m.indptr[i + 1]
    order = np.argsort(-m.data[s:e], kind="stable")
    idx, val = m.indices[s:e][order], m.data[s:e][order]
    r = rem[idx]
    take = np.clip(cap - (np.cumsum(r) - r), 0.0, r)
    rem[idx] = r - take
    return float((take * val).sum())


def _swap_values(m: sp.csr_matrix, sites: list[int], k: int, tries: list[int], weight: NDArray[np.float64],
                 base: NDArray[np.float64], cap: float) -> tuple[NDArray[np.float64], float]:
    """With capacity: what the sites serve, in order, with ``sites[k]`` replaced by each of
    ``tries`` (the part that changes: from position ``k`` on), and with ``sites[k]`` itself."""
    rem = weight * (1.0 - np.minimum(base, 1.0))
    for i in sites[:k]:
        _allocate_row(m, i, rem, cap)

    def value(i: int) -> float:
        r = rem.copy()
        return sum(_allocate_row(m, j, r, cap) for j in [i, *sites[k + 1:]])

    return np.array([value(i) for i in tries]), value(sites[k])


def _allocation_gains(p: CoverageProblem, order: list[int]) -> list[float]:
    """What each site serves when allocated in ``order`` (with capacity): the ranked table."""
    rem = p.weight * (1.0 - np.minimum(p.base, 1.0))
    return [_allocate_row(p.value, i, rem, float(p.capacity or np.inf)) for i in order]


def _ranked(p: CoverageProblem, chosen: list[int]) -> tuple[list[int], list[float]]:
    """``chosen`` ordered by marginal gain (uncapacitated), with the gains: the ranked table."""
    cur = _coverage_of(p.value, [], p.base)
    rest, order, gains = list(chosen), [], []
    while rest:
        g = _row_gains(p.value, rest, cur, p.weight)
        k = int(np.argmax(g))
        order.append(rest.pop(k))
        gains.append(float(g[k]))
        cur = _coverage_of(p.value, [order[-1]], cur)
    return order, gains
