"""Boundary markers (界桩): checks against their lines, and the joint-inspection task list.

Findings (``finding`` column, Chinese in ``detail``):

``offset``          farther than the tolerance (default 5 m) from its own line, but still near it
``not_near_line``   farther than ``near_m`` (default 50 m) from its own line (the nearest line named)
``unknown_line``    its line id is not in the boundary-line layer
``no_line``         it names no line
``gap``             a stretch of a line longer than the spacing (default 2,000 m) without a marker
                    (``marker_code`` empty; ``detail`` gives the chainage)
``duplicate_code``  the code is used by more than one marker
``overdue``         last inspection older than the joint-inspection cycle (default 5 years), or never
``condition``       recorded as 损坏 damaged, 丢失 missing or 移位 moved
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mzgis.analysis import _guards as guard

__all__ = ["MARKER_FINDINGS", "MarkerSettings", "inspect_markers", "inspection_plan"]

MARKER_FINDINGS = ("offset", "not_near_line", "unknown_line", "no_line", "gap", "duplicate_code", "overdue", "condition")
BAD_CONDITIONS = ("损坏", "丢失", "移位")


@dataclass(frozen=True)
class MarkerSettings:
    """Tolerances of the marker inspection (``mzgis.toml [markers]``)."""

    tolerance_m: float = 5.0
    near_m: float = 50.0
    spacing_m: float = 2000.0
    cycle_years: float = 5.0


def _lines_by_id(lines: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    return {str(k): shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
            for k, g in zip(lines["feature_id"], lines.geometry, strict=True)}


def _chainage(line: shapely.Geometry, pts: gpd.GeoSeries) -> np.ndarray:
    """Distance along a (multi)line to each point's projection; parts are chained end to end."""
    parts = list(getattr(line, "geoms", [line]))
    if len(parts) == 1:
        return np.asarray(shapely.line_locate_point(line, pts.values))
    offsets = np.cumsum([0.0] + [p.length for p in parts[:-1]])
    d = np.stack([shapely.distance(p, pts.values) for p in parts])
    best = d.argmin(axis=0)
    return np.array([offsets[b] + shapely.line_locate_point(parts[b], pt) for b, pt in zip(best, pts.values, strict=True)])


def _point_at(line: shapely.Geometry, chainage: float) -> shapely.Geometry:
    """The point at a chainage along a (multi)line, parts chained end to end as in :func:`_chainage`."""
    parts = list(getattr(line, "geoms", [line]))
    for part in parts[:-1]:
        if chainage <= part.length:
            return part.interpolate(chainage)
        chainage -= part.length
    return parts[-1].interpolate(chainage)


def _with_lonlat(df: pd.DataFrame, points: list[shapely.Geometry | None], metric_crs: str) -> pd.DataFrame:
    """``lon``/``lat`` (WGS-84, 6 decimals ≈ 0.1 m) of each row's place: where to go and look."""
    ll = gpd.GeoSeries(points, crs=metric_crs).to_crs("EPSG:4326")
    df["lon"] = ll.x.round(6).to_numpy()
    df["lat"] = ll.y.round(6).to_numpy()
    return df


def _prepare(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, metric_crs: str, settings: MarkerSettings | None,
             today: dt.date | None) -> tuple[MarkerSettings, gpd.GeoDataFrame, gpd.GeoDataFrame,
                                             dict[str, shapely.Geometry], pd.Timestamp]:
    """Settings, both layers in the metric CRS, the lines by id, and the date before which an
    inspection is overdue."""
    guard.layer_crs(markers, "markers")
    guard.layer_crs(lines, "lines")
    guard.projected(metric_crs, "metric_crs")
    guard.require_columns(markers, ["feature_id"], "markers")
    guard.require_columns(lines, ["feature_id"], "lines")
    guard.require_unique(lines, "feature_id", "lines")
    guard.warn_crs_mismatch(lines.crs, markers.crs, "lines", "markers")
    s = settings or MarkerSettings()
    for name in ("tolerance_m", "near_m", "spacing_m", "cycle_years"):
        guard.positive(getattr(s, name), f"MarkerSettings.{name}")
    day = today or dt.date.today()
    mk = markers.to_crs(metric_crs).reset_index(drop=True)
    ln = lines.to_crs(metric_crs).reset_index(drop=True)
    due_before = pd.Timestamp(day) - pd.DateOffset(days=round(s.cycle_years * 365.25))
    return s, mk, ln, _lines_by_id(ln), due_before


def inspect_markers(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, metric_crs: str, *,
                    settings: MarkerSettings | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """All findings, one row each: ``marker_code, line_id, finding, detail, distance_m, lon, lat``
    (``lon``/``lat``: the marker, or the middle of a gap, in WGS-84).

    Examples
    --------
    A 3.5 km line with one marker on it at 1 km and one 12 m off it, both inspected this
    year: the second is offset, and the last 2.5 km (more than the 2 km spacing) have no marker:

    >>> import datetime as dt, geopandas as gpd, shapely
    >>> ln = gpd.GeoDataFrame({"feature_id": ["L1"]}, geometry=[shapely.LineString([(0, 0), (3500, 0)])],
    ...                       crs="EPSG:32650")
    >>> mk = gpd.GeoDataFrame({"feature_id": ["M1", "M2"], "line_id": ["L1", "L1"],
    ...                        "last_inspection_date": ["2026-03-01", "2026-03-01"]},
    ...                       geometry=[shapely.Point(1000, 0), shapely.Point(800, 12)], crs="EPSG:32650")
    >>> f = inspect_markers(mk, ln, "EPSG:32650", today=dt.date(2026, 6, 1))
    >>> f[["marker_code", "finding", "distance_m"]].to_dict("records")
    [{'marker_code': 'M2', 'finding': 'offset', 'distance_m': 12.0}, {'marker_code': '', 'finding': 'gap', 'distance_m': 2500.0}]
    """
    s, mk, ln, by_id, due_before = _prepare(markers, lines, metric_crs, settings, today)
    rows: list[_Row] = []
    where: list[shapely.Geometry | None] = []  # the place of each row, in the metric CRS
    codes = mk["feature_id"].astype(str)
    line_ids = mk["line_id"] if "line_id" in mk else pd.Series([None] * len(mk))
    _placement_findings(mk, ln, by_id, s, codes, line_ids, rows, where)
    _duplicate_findings(mk, codes, line_ids, rows, where)
    _inspection_findings(mk, s, due_before, codes, line_ids, rows, where)
    _gap_findings(mk, by_id, s, line_ids, rows, where)
    out = pd.DataFrame(rows, columns=["marker_code", "line_id", "finding", "detail", "distance_m"])
    return _with_lonlat(out, where, metric_crs)


_Row = tuple[str, str, str, str, float]


def _placement_findings(mk: gpd.GeoDataFrame, ln: gpd.GeoDataFrame, by_id: dict[str, shapely.Geometry],
                        s: MarkerSettings, codes: pd.Series, line_ids: pd.Series,
                        rows: list[_Row], where: list[shapely.Geometry | None]) -> None:
    """Each marker against its own line (none named, unknown, far, offset): the distance rules alone."""
    tree = shapely.STRtree(ln.geometry.values) if len(ln) else None
    for i in range(len(mk)):
        code, lid, pt = codes.iloc[i], line_ids.iloc[i], mk.geometry.iloc[i]
        lid = None if lid is None or (isinstance(lid, float) and np.isnan(lid)) or str(lid) == "" else str(lid)
        if lid is None:
            rows.append((code, "", "no_line", "界桩未指定所属界线 the marker names no boundary line", np.nan))
            where.append(pt)
            continue
        if lid not in by_id:
            rows.append((code, lid, "unknown_line", f"界线 {lid} 不存在 no such line in the boundary layer", np.nan))
            where.append(pt)
            continue
        d = float(shapely.distance(by_id[lid], pt))
        if d > s.near_m:
            nearest = ""
            if tree is not None:
                k = tree.query_nearest(pt)[0]
                nearest = str(ln["feature_id"].iloc[k])
            rows.append((code, lid, "not_near_line",
                         f"距所属界线 {d:.1f} m，超过 {s.near_m:g} m；最近的界线 nearest line: {nearest}", round(d, 2)))
            where.append(pt)
        elif d > s.tolerance_m:
            rows.append((code, lid, "offset", f"偏离界线 {d:.1f} m（允许 tolerance {s.tolerance_m:g} m）", round(d, 2)))
            where.append(pt)


def _duplicate_findings(mk: gpd.GeoDataFrame, codes: pd.Series, line_ids: pd.Series,
                        rows: list[_Row], where: list[shapely.Geometry | None]) -> None:
    """One row per marker sharing its code with another, so every copy can be found in the field."""
    dup = codes[codes.duplicated(keep=False)]
    for code in sorted(set(dup)):
        idx = np.flatnonzero(codes.to_numpy() == code)
        for k in idx:
            lid = line_ids.iloc[int(k)]
            rows.append((code, "" if lid is None else str(lid), "duplicate_code",
                         f"编号重复 the code is used by {len(idx)} markers", np.nan))
            where.append(mk.geometry.iloc[int(k)])


def _inspection_findings(mk: gpd.GeoDataFrame, s: MarkerSettings, due_before: pd.Timestamp, codes: pd.Series,
                         line_ids: pd.Series, rows: list[_Row], where: list[shapely.Geometry | None]) -> None:
    """Overdue and bad-condition markers, from the attributes alone (no geometry rules)."""
    last = pd.to_datetime(mk["last_inspection_date"], errors="coerce") if "last_inspection_date" in mk else \
        pd.Series(pd.NaT, index=mk.index)
    for i in range(len(mk)):
        lid = "" if line_ids.iloc[i] is None else str(line_ids.iloc[i])
        if pd.isna(last.iloc[i]):
            rows.append((codes.iloc[i], lid, "overdue", "从未检查 never inspected", np.nan))
            where.append(mk.geometry.iloc[i])
        elif last.iloc[i] < due_before:
            rows.append((codes.iloc[i], lid, "overdue",
                         f"最近检查 last inspected {last.iloc[i].date()}，超过 {s.cycle_years:g} 年联检周期", np.nan))
            where.append(mk.geometry.iloc[i])
        cond = mk["condition"].iloc[i] if "condition" in mk else None
        if cond in BAD_CONDITIONS:
            rows.append((codes.iloc[i], lid, "condition", f"状况 condition: {cond}", np.nan))
            where.append(mk.geometry.iloc[i])


def _gap_findings(mk: gpd.GeoDataFrame, by_id: dict[str, shapely.Geometry], s: MarkerSettings,
                  line_ids: pd.Series, rows: list[_Row], where: list[shapely.Geometry | None]) -> None:
    """Stretches of each line longer than the spacing without a (not missing) marker, walked per line."""
    on_line = mk[[lid is not None and str(lid) in by_id for lid in line_ids]]
    for lid, line in by_id.items():
        here = on_line[on_line["line_id"].astype(str) == lid] if len(on_line) else on_line
        if "condition" in here:
            here = here[here["condition"] != "丢失"]  # a missing marker marks nothing
        ch = np.sort(_chainage(line, here.geometry)) if len(here) else np.array([])
        stops = np.concatenate([[0.0], ch, [line.length]])
        for a, b in itertools.pairwise(stops):
            if b - a > s.spacing_m:
                rows.append(("", lid, "gap", f"界线 {a:.0f}–{b:.0f} m 段 {b - a:.0f} m 无界桩 no marker over this "
                             f"stretch (spacing {s.spacing_m:g} m)", round(float(b - a), 1)))
                where.append(_point_at(line, (a + b) / 2.0))


def inspection_plan(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, metric_crs: str, *,
                    settings: MarkerSettings | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """Task list: per boundary line, its markers in order along the line, with what is due; ``lon``/
    ``lat`` (WGS-84) of each marker, or of the middle of a line without markers."""
    _, mk, ln, by_id, due_before = _prepare(markers, lines, metric_crs, settings, today)
    rows = []
    where: list[shapely.Geometry | None] = []
    for r in ln.to_dict("records"):
        lid = str(r["feature_id"])
        here = mk[mk["line_id"].astype(str) == lid] if "line_id" in mk else mk.iloc[0:0]
        ch = _chainage(by_id[lid], here.geometry) if len(here) else np.array([])
        order = np.argsort(ch, kind="stable")
        if not len(here):
            rows.append({"line_id": lid, "left_code": r.get("left_code"), "right_code": r.get("right_code"),
                         "line_length_m": round(float(r["geometry"].length), 1), "seq": 0, "marker_code": "",
                         "chainage_m": np.nan, "condition": "", "last_inspection_date": "", "task": "界线无界桩 no markers"})
            where.append(_point_at(by_id[lid], by_id[lid].length / 2.0))
            continue
        for seq, k in enumerate(order, start=1):
            m = here.iloc[k]
            last = pd.to_datetime(m.get("last_inspection_date"), errors="coerce")
            due = pd.isna(last) or last < due_before
            cond = m.get("condition") or ""
            task = "检查 inspect" + ("（到期 due）" if due else "") + (f"；处置 {cond}" if cond in BAD_CONDITIONS else "")
            rows.append({"line_id": lid, "left_code": r.get("left_code"), "right_code": r.get("right_code"),
                         "line_length_m": round(float(r["geometry"].length), 1), "seq": seq,
                         "marker_code": str(m["feature_id"]), "chainage_m": round(float(ch[k]), 1), "condition": cond,
                         "last_inspection_date": "" if pd.isna(last) else str(last.date()), "task": task})
            where.append(here.geometry.iloc[k])
    return _with_lonlat(pd.DataFrame(rows), where, metric_crs)
