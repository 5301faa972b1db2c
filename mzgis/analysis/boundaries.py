"""Administrative boundary lines (界线) and the topology inspection of administrative units.

Deriving the lines
------------------
Every ring of every unit is split into its segments (consecutive vertices, keyed to 1e-7° ≈ 1 cm).
A segment that two units share is on the boundary between them; one that only one unit has is on
the outer boundary (or beside a gap or overlap). Segments are merged into lines per pair of units,
so each pair of neighbours gets one (multi)line feature with ``left_code``, ``right_code`` and
``length_m``; each unit's outer boundary gets one feature with ``right_code`` empty. Touching units
that share no vertices (digitised separately) fall back to the intersection of their boundaries
and are named in the result's ``notes``.

Inspecting the units
--------------------
Overlaps (the intersection of two units has area), gaps (holes in the union of all units), slivers
(overlaps, gaps or unit parts smaller than a configurable area), units that spill out of their
parent unit, and units whose parent code does not exist.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from mzgis.analysis import _guards as guard

__all__ = ["BoundaryLines", "derive_boundary_lines", "inspect_units"]

log = logging.getLogger(__name__)

KEY_DEG = 1e-7


@dataclass
class BoundaryLines:
    """Derived lines and what the derivation noticed."""

    lines: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def _segments(geom: shapely.Geometry) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            c = np.round(np.asarray(ring.coords) / KEY_DEG).astype(np.int64)
            for a, b in zip(map(tuple, c[:-1]), map(tuple, c[1:]), strict=True):
                if a != b:
                    out.append((a, b) if a <= b else (b, a))
    return out


def _line(segs: list[tuple[tuple[int, int], tuple[int, int]]]) -> shapely.Geometry:
    arr = np.array(segs, dtype=float) * KEY_DEG
    return shapely.line_merge(shapely.multilinestrings(shapely.linestrings(arr)))


def derive_boundary_lines(units: gpd.GeoDataFrame, metric_crs: str, *, code: str = "feature_id") -> BoundaryLines:
    """Boundary lines between neighbouring units and the outer boundary lines.

    Parameters
    ----------
    units
        Polygons (any CRS; worked in WGS-84 degrees for the topology) with a ``code`` column.
    metric_crs
        CRS for ``length_m``.

    Returns
    -------
    BoundaryLines
        ``lines``: ``feature_id`` (``code1|code2`` or ``code|``), ``left_code``, ``right_code``
        (empty for outer lines), ``left_name``, ``right_name``, ``length_m``, geometry in the units' CRS.

    Examples
    --------
    Two squares side by side share one line; each has an outer line of three sides:

    >>> import geopandas as gpd, shapely
    >>> u = gpd.GeoDataFrame({"feature_id": ["A", "B"]}, geometry=[shapely.box(116.0, 39.0, 116.01, 39.01),
    ...                      shapely.box(116.01, 39.0, 116.02, 39.01)], crs="EPSG:4326")
    >>> lines = derive_boundary_lines(u, "EPSG:32650").lines
    >>> lines["feature_id"].tolist(), round(float(lines["length_m"].iloc[0]))
    (['A|B', 'A|', 'B|'], 1110)
    """
    guard.layer_crs(units, "units")
    guard.projected(metric_crs, "metric_crs")
    guard.require_columns(units, [code], "units")
    guard.require_unique(units, code, "units")
    u = units.to_crs("EPSG:4326").reset_index(drop=True)
    codes = u[code].astype(str).tolist()
    names = u["name"].astype(str).tolist() if "name" in u else codes
    pairs, outer, multi = _shared_segments(u)
    notes = []
    if multi:
        notes.append(f"{multi} segments belong to more than two units (overlapping units): inspect the layer")
    fallback = _fallback_pairs(u, pairs)
    if fallback:
        notes.append(f"{len(fallback)} neighbouring pairs share no vertices; their lines come from boundary "
                     f"intersections: " + ", ".join(f"{codes[a]}|{codes[b]}" for a, b, _ in fallback[:10]))
    rows = _line_rows(pairs, outer, fallback, codes, names)
    lines = gpd.GeoDataFrame(rows, columns=["feature_id", "left_code", "right_code", "left_name", "right_name",
                                            "geometry"], geometry="geometry", crs="EPSG:4326")
    lines["length_m"] = lines.to_crs(metric_crs).length
    lines = lines.sort_values(["right_code", "feature_id"], key=lambda s: s.eq("") if s.name == "right_code" else s)
    return BoundaryLines(lines.to_crs(units.crs).reset_index(drop=True), notes)


_Seg = tuple[tuple[int, int], tuple[int, int]]


def _shared_segments(u: gpd.GeoDataFrame) -> tuple[dict[tuple[int, int], list[_Seg]], dict[int, list[_Seg]], int]:
    """Segments by the pair of units sharing them and the outer ones by unit, plus how many had more
    than two owners: the vertex-matching half of the topology, apart from the fallback."""
    owners: dict[_Seg, list[int]] = defaultdict(list)
    for i, geom in enumerate(u.geometry):
        for s in _segments(geom):
            owners[s].append(i)
    pairs: dict[tuple[int, int], list[_Seg]] = defaultdict(list)
    outer: dict[int, list[_Seg]] = defaultdict(list)
    multi = 0
    for s, own in owners.items():
        ids = sorted(set(own))
        if len(ids) == 1:
            outer[ids[0]].append(s)
        elif len(ids) == 2:
            pairs[(ids[0], ids[1])].append(s)
        else:
            multi += 1
            for a in range(len(ids)):
                for b in range(a + 1, len(ids)):
                    pairs[(ids[a], ids[b])].append(s)
    return pairs, outer, multi


def _fallback_pairs(u: gpd.GeoDataFrame, pairs: dict[tuple[int, int], list[_Seg]],
                    ) -> list[tuple[int, int, shapely.Geometry]]:
    """Touching units that share no vertices, with their line from a boundary intersection: the
    tolerant fallback kept apart from the exact segment matching."""
    j = gpd.sjoin(u[["geometry"]], u[["geometry"]], predicate="intersects")
    j = j[j.index < j["index_right"]]
    fallback = []
    for a, b in zip(j.index.to_numpy(), j["index_right"].to_numpy(), strict=True):
        if (a, b) in pairs:
            continue
        # within 10 key units (about 10 cm): edges digitised separately rarely coincide exactly
        inter = u.geometry.iloc[a].boundary.intersection(u.geometry.iloc[b].boundary.buffer(10 * KEY_DEG))
        lines = [g for g in getattr(inter, "geoms", [inter]) if g.geom_type in ("LineString", "MultiLineString")]
        if lines and shapely.union_all(lines).length > 0:
            fallback.append((a, b, shapely.line_merge(shapely.union_all(lines))))
    return fallback


def _line_rows(pairs: dict[tuple[int, int], list[_Seg]], outer: dict[int, list[_Seg]],
               fallback: list[tuple[int, int, shapely.Geometry]], codes: list[str], names: list[str],
               ) -> list[tuple[str, str, str, str, str, shapely.Geometry]]:
    """The output rows (shared, fallback, then outer lines less the fallback parts), in that order."""
    rows = []
    for (a, b), segs in pairs.items():
        rows.append((f"{codes[a]}|{codes[b]}", codes[a], codes[b], names[a], names[b], _line(segs)))
    for a, b, geom in fallback:
        rows.append((f"{codes[a]}|{codes[b]}", codes[a], codes[b], names[a], names[b], geom))
        # their segments counted as outer; remove the shared part from the outer lines below
    fb_union = shapely.union_all([g for _, _, g in fallback]) if fallback else None
    for i, segs in outer.items():
        geom = _line(segs)
        if fb_union is not None:
            geom = geom.difference(fb_union.buffer(20 * KEY_DEG))
            if geom.is_empty or geom.length == 0:
                continue
        rows.append((f"{codes[i]}|", codes[i], "", names[i], "", geom))
    return rows


def _check_unit_inputs(units: gpd.GeoDataFrame, metric_crs: str, parents: gpd.GeoDataFrame | None,
                       sliver_m2: float, code: str) -> None:
    """The guards of :func:`inspect_units`: CRSs present (metric for the work), codes present and
    unique in both layers, a non-negative sliver area."""
    guard.layer_crs(units, "units")
    guard.projected(metric_crs, "metric_crs")
    guard.require_columns(units, [code], "units")
    guard.require_unique(units, code, "units")
    guard.positive(sliver_m2, "sliver_m2", unit="m²", allow_zero=True)
    if parents is not None and len(parents):
        guard.layer_crs(parents, "parents")
        guard.require_columns(parents, [code], "parents")
        guard.require_unique(parents, code, "parents")
        guard.warn_crs_mismatch(units.crs, parents.crs, "units", "parents")


def inspect_units(units: gpd.GeoDataFrame, metric_crs: str, *, parents: gpd.GeoDataFrame | None = None,
                  sliver_m2: float = 100.0, code: str = "feature_id") -> gpd.GeoDataFrame:
    """Topology findings of an admin-unit layer.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per finding: ``finding`` (overlap, gap, sliver, not_in_parent, parent_missing,
        parent_not_covered — part of a parent unit that lies under none of its children),
        ``units`` (codes involved), ``area_m2``, ``lon``, ``lat`` (a point on the problem),
        ``detail``, and the problem geometry (in the metric CRS).

    Examples
    --------
    Two units overlapping by a 10 m × 100 m strip:

    >>> import geopandas as gpd, shapely
    >>> u = gpd.GeoDataFrame({"feature_id": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100),
    ...                      shapely.box(90, 0, 190, 100)], crs="EPSG:32650")
    >>> inspect_units(u, "EPSG:32650")[["finding", "units", "area_m2"]].to_dict("records")
    [{'finding': 'overlap', 'units': 'A,B', 'area_m2': 1000.0}]
    """
    _check_unit_inputs(units, metric_crs, parents, sliver_m2, code)
    u = units.to_crs(metric_crs).reset_index(drop=True)
    codes = u[code].astype(str).tolist()
    names = u["name"].astype(str).tolist() if "name" in u else codes
    rows: list[dict[str, object]] = []

    def add(finding: str, involved: list[str], geom: shapely.Geometry, detail: str) -> None:
        area = float(geom.area) if geom is not None else 0.0
        if finding in ("overlap", "gap") and area < sliver_m2:
            detail = f"{finding} below {sliver_m2:g} m²; " + detail
            finding = "sliver"
        rows.append({"finding": finding, "units": ",".join(involved), "area_m2": round(area, 2), "detail": detail,
                     "geometry": geom})

    _overlaps_and_gaps(u, codes, names, add)
    _multipart_slivers(u, codes, names, sliver_m2, add)
    if parents is not None and len(parents):
        _parent_findings(u, parents, metric_crs, codes, names, sliver_m2, code, add, rows)
    out = gpd.GeoDataFrame(rows, columns=["finding", "units", "area_m2", "detail", "geometry"], geometry="geometry",
                           crs=metric_crs)
    if len(out):
        pts = out.geometry.representative_point().to_crs("EPSG:4326")
        out.insert(3, "lon", pts.x.round(6))
        out.insert(4, "lat", pts.y.round(6))
    else:
        out.insert(3, "lon", pd.Series(dtype=float))
        out.insert(4, "lat", pd.Series(dtype=float))
    return out


_Add = Callable[[str, list[str], shapely.Geometry, str], None]


def _overlaps_and_gaps(u: gpd.GeoDataFrame, codes: list[str], names: list[str], add: _Add) -> None:
    """Overlaps between pairs of units and holes in their union: the within-layer findings."""
    j = gpd.sjoin(u[["geometry"]], u[["geometry"]], predicate="intersects")
    j = j[j.index < j["index_right"]]
    for a, b in zip(j.index.to_numpy(), j["index_right"].to_numpy(), strict=True):
        inter = u.geometry.iloc[a].intersection(u.geometry.iloc[b])
        polys = [g for g in getattr(inter, "geoms", [inter]) if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys:
            g = shapely.union_all(polys)
            if g.area > 0:
                add("overlap", [codes[a], codes[b]], g, f"{names[a]} 与 {names[b]} 重叠 overlap")
    union = shapely.union_all(u.geometry.values)
    for poly in getattr(union, "geoms", [union]):
        for ring in getattr(poly, "interiors", []):
            hole = shapely.Polygon(ring)
            near = u[u.intersects(hole.buffer(1.0))]
            involved = [codes[i] for i in near.index]
            add("gap", involved, hole, "行政区之间的缝隙 gap between " + "、".join(names[i] for i in near.index[:6]))


def _multipart_slivers(u: gpd.GeoDataFrame, codes: list[str], names: list[str], sliver_m2: float,
                       add: _Add) -> None:
    """Tiny parts of multi-part units, a per-unit check independent of the neighbours."""
    for i, geom in enumerate(u.geometry):
        parts = list(getattr(geom, "geoms", [geom]))
        if len(parts) > 1:
            for p in parts:
                if p.area < sliver_m2:
                    add("sliver", [codes[i]], p, f"{names[i]} 的碎片 a part of {p.area:.1f} m² (MultiPolygon)")


def _parent_findings(u: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, metric_crs: str, codes: list[str],
                     names: list[str], sliver_m2: float, code: str, add: _Add,
                     rows: list[dict[str, object]]) -> None:
    """Findings against the parent layer (missing parent, outside it, parent not covered), which
    only run when parents are given; appended to ``rows`` in place, interleaved with ``add``'s."""
    pr = parents.to_crs(metric_crs).reset_index(drop=True)
    pcodes = pr[code].astype(str)
    pnames = pr["name"].astype(str) if "name" in pr else pcodes
    by_code = dict(zip(pcodes, range(len(pr)), strict=True))
    by_name = dict(zip(pnames, range(len(pr)), strict=True))
    parent_of = np.full(len(u), -1)
    for i in range(len(u)):
        pc = u.at[i, "parent_code"] if "parent_code" in u else None
        pn = u.at[i, "parent_name"] if "parent_name" in u else None
        pc = None if pc is None or (isinstance(pc, float) and np.isnan(pc)) else str(pc)
        pn = None if pn is None or (isinstance(pn, float) and np.isnan(pn)) else str(pn)
        k = by_code.get(pc) if pc else (by_name.get(pn) if pn else None)
        if k is None:
            if pc or pn:
                add("parent_missing", [codes[i]], u.geometry.iloc[i].representative_point(),
                    f"{names[i]} 的上级 {pc or pn} 不存在 parent not found in the parent layer")
            continue
        parent_of[i] = k
        outside = u.geometry.iloc[i].difference(pr.geometry.iloc[k])
        if outside.area > max(sliver_m2, 1e-3 * u.geometry.iloc[i].area):
            rows.append({"finding": "not_in_parent", "units": f"{codes[i]},{pcodes.iloc[k]}",
                         "area_m2": round(float(outside.area), 2),
                         "detail": f"{names[i]} 有 {100 * outside.area / u.geometry.iloc[i].area:.2f}% 在上级 "
                                   f"{pnames.iloc[k]} 之外 outside its parent", "geometry": outside})
    rows += _parents_not_covered(u, pr, parent_of, codes, list(pcodes), list(pnames), sliver_m2)


def _parents_not_covered(u: gpd.GeoDataFrame, pr: gpd.GeoDataFrame, parent_of: NDArray[np.int64],
                         codes: list[str], pcodes: list[str], pnames: list[str],
                         sliver_m2: float) -> list[dict[str, object]]:
    """Parts of each parent that none of its children cover (holes *inside* the children's union
    are reported as gaps already; this finds the land along the parent's edge that no child
    reaches). Children are those naming the parent (``parent_code``/``parent_name``), else those
    whose representative point lies in it; parents with no child in the layer are not checked
    (the layer may cover only part of the jurisdiction)."""
    if (parent_of < 0).any():
        pts = gpd.GeoDataFrame(geometry=u.geometry.representative_point(), crs=u.crs)
        j = gpd.sjoin(pts, pr[["geometry"]], predicate="within", how="left")
        j = j[~j.index.duplicated(keep="first")]
        guess = j["index_right"].reindex(range(len(u))).to_numpy()
        fill = (parent_of < 0) & ~pd.isna(guess)
        parent_of = parent_of.copy()
        parent_of[fill] = guess[fill].astype(np.int64)
    rows: list[dict[str, object]] = []
    for k in sorted(set(parent_of[parent_of >= 0].tolist())):
        kids = np.flatnonzero(parent_of == k)
        parent = pr.geometry.iloc[k]
        left = parent.difference(shapely.union_all(u.geometry.iloc[kids].values))
        area = float(left.area)
        if area <= sliver_m2:
            continue
        rows.append({"finding": "parent_not_covered", "units": pcodes[k], "area_m2": round(area, 2),
                     "detail": f"上级 {pnames[k]} 有 {area / 1e6:.3f} km²（{100 * area / parent.area:.2f}%）不在任何下级单位内 "
                               f"lies under none of its {kids.size} units; 最大一块 largest part "
                               f"{max(g.area for g in getattr(left, 'geoms', [left])) / 1e6:.3f} km²",
                     "geometry": left})
    return rows
