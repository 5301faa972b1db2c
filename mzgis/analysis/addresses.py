"""Address and place-name checks for place-name staff (地名/门牌 inspection).

Findings: ``outside_named_unit`` (the point is not inside the subdistrict or community its address
names), ``unknown_unit`` (the named unit is not in the admin layers), ``duplicate_address``,
``non_standard`` (the parser's flags), ``nonstandard_place_name`` (a place name not in the
standard name list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from mzgis.analysis import _guards as guard
from mzgis.layers.addresses import Gazetteer, parse_address, unit_key

__all__ = ["check_addresses", "check_place_names", "unit_key"]

_LEVEL_ZH = {"subdistrict": "街道乡镇", "community": "社区村"}


def check_addresses(addresses: gpd.GeoDataFrame, units: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Findings for an address layer (``address`` column, points) against the admin units by level.

    Addresses are parsed with the units' own names first (:class:`~mzgis.layers.addresses.Gazetteer`),
    then each point is joined to the units that cover it in one spatial join per level, so the
    cost grows with the number of addresses, not addresses × units.

    ``addresses`` needs a CRS and ``feature_id`` and ``address`` columns; each unit layer a CRS
    and ``name`` (one in another CRS is reprojected, with a warning).
    """
    guard.layer_crs(addresses, "addresses")
    guard.require_columns(addresses, ["feature_id", "address"], "addresses")
    for level, u in units.items():
        if u is not None and len(u):
            name = f"units['{level}']"
            guard.layer_crs(u, name)
            guard.require_columns(u, ["name"], name)
            guard.warn_crs_mismatch(addresses.crs, u.crs, "addresses", name)
    pts = addresses.reset_index(drop=True)
    gz = Gazetteer({lv: u["name"].astype(str) for lv, u in units.items() if u is not None and "name" in u})
    parsed = [parse_address(a, gazetteer=gz) for a in pts["address"].astype(str)]
    fid = pts["feature_id"].astype(str).to_numpy()
    frames: list[pd.DataFrame] = []
    for level in ("subdistrict", "community"):
        u = units.get(level)
        if u is None or u.empty:
            continue
        u = u.to_crs(pts.crs).reset_index(drop=True)
        named = pd.Series([getattr(p, level) for p in parsed], dtype=object)
        has = named.notna().to_numpy()
        if not has.any():
            continue
        key = named[has].map(unit_key)
        known = key.isin(set(u["name"].astype(str).map(unit_key)))
        idx = np.flatnonzero(has)
        unk = idx[~known.to_numpy()]
        frames.append(pd.DataFrame({
            "_row": unk, "feature_id": fid[unk], "address": [parsed[i].raw for i in unk], "finding": "unknown_unit",
            "detail": [f"地址中的{_LEVEL_ZH[level]} {named[i]} 不在行政区划图层中 not in the admin layer" for i in unk]}))
        chk = idx[known.to_numpy()]
        if chk.size == 0:
            continue
        # every unit covering each checked point, in one join
        j = gpd.sjoin(pts.iloc[chk][["geometry"]], u[["name", "geometry"]], predicate="intersects", how="left")  # = covered_by for points, faster
        j["key"] = j["name"].astype(str).map(unit_key).where(j["name"].notna())
        j["named_key"] = named.loc[j.index].map(unit_key).to_numpy()
        ok = (j["key"] == j["named_key"]).groupby(level=0).any()
        bad = ok.index[~ok.to_numpy()].to_numpy()
        jb = j.loc[j.index.isin(bad), "name"].dropna().astype(str)
        where = jb.groupby(level=0).agg("、".join).reindex(bad).fillna("（无 none）")
        frames.append(pd.DataFrame({
            "_row": bad, "feature_id": fid[bad], "address": [parsed[i].raw for i in bad], "finding": "outside_named_unit",
            "detail": [f"地址写 {named[i]}，点位在 {where[i]} the point lies in {where[i]}, not in {named[i]}"
                       for i in bad]}))
    norm = pd.Series(["|".join(str(getattr(p, k) or "") for k in ("district", "road", "house_number", "compound",
                                                                   "building", "unit", "room", "group", "community"))
                      + "|" + p.rest for p in parsed])
    dup = norm.duplicated(keep=False) & (norm.str.strip("|") != "")
    if dup.any():
        groups = pd.Series(fid).groupby(norm.to_numpy()).agg(list)
        rows = [(i, fid[i], parsed[i].raw, "duplicate_address",
                 f"与 {', '.join(x for x in groups[norm[i]] if x != fid[i])} 地址相同 same address")
                for i in np.flatnonzero(dup.to_numpy())]
        frames.append(pd.DataFrame(rows, columns=["_row", *COLUMNS[:4]]))
    flagged = [i for i, p in enumerate(parsed) if p.flags]
    frames.append(pd.DataFrame({"_row": flagged, "feature_id": fid[flagged], "address": [parsed[i].raw for i in flagged],
                                "finding": "non_standard",
                                "detail": ["不规范 non-standard: " + ", ".join(parsed[i].flags) for i in flagged]}))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return _with_lonlat(out, pts.geometry, out["_row"].to_numpy(dtype=np.int64))[COLUMNS]


#: Columns of the findings; ``lon``/``lat`` (WGS-84) is where the address point lies.
COLUMNS = ["feature_id", "address", "finding", "detail", "lon", "lat"]


def _with_lonlat(df: pd.DataFrame, geoms: gpd.GeoSeries, rows: np.ndarray) -> pd.DataFrame:
    """``lon``/``lat`` (WGS-84, 6 decimals) of the features at ``rows`` (a point inside polygons)."""
    g = geoms.to_crs("EPSG:4326") if geoms.crs is not None else geoms
    pts = g.iloc[rows]
    pts = pts.where(pts.geom_type == "Point", pts.representative_point())
    df["lon"] = np.round(pts.x.to_numpy(), 6)
    df["lat"] = np.round(pts.y.to_numpy(), 6)
    return df


def check_place_names(names: gpd.GeoDataFrame, standard: Iterable[str]) -> pd.DataFrame:
    """Place names that are not in the standard name list.

    Examples
    --------
    >>> import geopandas as gpd
    >>> names = gpd.GeoDataFrame({"feature_id": ["P1", "P2"], "name": ["永定河", "永丁河"]},
    ...                          geometry=gpd.points_from_xy([0, 1], [0, 0]), crs="EPSG:4326")
    >>> check_place_names(names, ["永定河"])[["feature_id", "finding"]].to_dict("records")
    [{'feature_id': 'P2', 'finding': 'nonstandard_place_name'}]
    """
    guard.require_columns(names, ["feature_id", "name"], "names")
    std = {str(s).strip() for s in standard if str(s).strip()}
    names = names.reset_index(drop=True)
    rows = [(i, str(f), str(n), "nonstandard_place_name", "不在标准地名录中 not in the standard name list")
            for i, (f, n) in enumerate(zip(names["feature_id"], names["name"], strict=True)) if str(n).strip() not in std]
    out = pd.DataFrame(rows, columns=["_row", *COLUMNS[:4]])
    return _with_lonlat(out, names.geometry, out["_row"].to_numpy(dtype=np.int64))[COLUMNS]
