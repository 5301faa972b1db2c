"""Address and place-name checks for place-name staff (地名/门牌 inspection).

Findings: ``outside_named_unit`` (the point is not inside the subdistrict or community its address
names), ``unknown_unit`` (the named unit is not in the admin layers), ``duplicate_address``,
``non_standard`` (the parser's flags), ``nonstandard_place_name`` (a place name not in the
standard name list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import geopandas as gpd
import pandas as pd

from mzgis.layers.addresses import parse_address

__all__ = ["check_addresses", "check_place_names", "unit_key"]

_SUFFIX = re.compile(r"(街道办事处|地区办事处|街道|地区|镇|乡|苏木|社区居委会|社区|居委会|村委会|嘎查|村)$")


def unit_key(name: str) -> str:
    """A unit name without its level suffix (望京街道 → 望京), to match addresses to units."""
    return _SUFFIX.sub("", str(name).strip())


def check_addresses(addresses: gpd.GeoDataFrame, units: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Findings for an address layer (``address`` column, points) against the admin units by level."""
    rows: list[tuple[str, str, str, str]] = []
    pts = addresses.reset_index(drop=True)
    parsed = [parse_address(a) for a in pts["address"].astype(str)]
    for level, part in (("subdistrict", "subdistrict"), ("community", "community")):
        u = units.get(level)
        if u is None or u.empty:
            continue
        u = u.to_crs(pts.crs)
        keys = u["name"].astype(str).map(unit_key)
        for i, p in enumerate(parsed):
            named = getattr(p, part)
            if not named:
                continue
            match = u[keys == unit_key(named)]
            if match.empty:
                rows.append((str(pts["feature_id"].iloc[i]), p.raw, "unknown_unit",
                             f"地址中的{'街道乡镇' if level == 'subdistrict' else '社区村'} {named} 不在行政区划图层中 not in the admin layer"))
                continue
            if not match.geometry.covers(pts.geometry.iloc[i]).any():
                inside = u[u.geometry.covers(pts.geometry.iloc[i])]
                where = "、".join(inside["name"].astype(str)) or "（无 none）"
                rows.append((str(pts["feature_id"].iloc[i]), p.raw, "outside_named_unit",
                             f"地址写 {named}，点位在 {where} the point lies in {where}, not in {named}"))
    norm = pd.Series(["|".join(str(getattr(p, k) or "") for k in ("district", "road", "house_number", "compound",
                                                                   "building", "unit", "room", "group", "community"))
                      + "|" + p.rest for p in parsed])
    for key, grp in norm.groupby(norm):
        if len(grp) > 1 and key.strip("|"):
            ids = pts["feature_id"].iloc[grp.index].astype(str).tolist()
            for i in grp.index:
                rows.append((str(pts["feature_id"].iloc[i]), parsed[i].raw, "duplicate_address",
                             f"与 {', '.join(x for x in ids if x != str(pts['feature_id'].iloc[i]))} 地址相同 same address"))
    for i, p in enumerate(parsed):
        if p.flags:
            rows.append((str(pts["feature_id"].iloc[i]), p.raw, "non_standard", "不规范 non-standard: " + ", ".join(p.flags)))
    return pd.DataFrame(rows, columns=["feature_id", "address", "finding", "detail"])


def check_place_names(names: gpd.GeoDataFrame, standard: Iterable[str]) -> pd.DataFrame:
    """Place names that are not in the standard name list."""
    std = {str(s).strip() for s in standard if str(s).strip()}
    rows = [(str(f), str(n), "nonstandard_place_name", "不在标准地名录中 not in the standard name list")
            for f, n in zip(names["feature_id"], names["name"], strict=True) if str(n).strip() not in std]
    return pd.DataFrame(rows, columns=["feature_id", "address", "finding", "detail"])
