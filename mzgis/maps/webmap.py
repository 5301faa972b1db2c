"""Interactive maps for leaders: folium pages that open from a file with no network at all.

Layers (each in the layer control, Chinese names first):

* 底图 roads — the project's own street network drawn as a light vector basemap (default; no tiles);
  online tiles (OpenStreetMap, 天地图 Tianditu, 高德 Amap) are opt-in, and over the GCJ-02 Amap
  tiles every overlay is shifted to GCJ-02 so it lines up;
* 行政区划 boundaries by level (district thick, subdistrict medium, community dashed);
* 覆盖率 coverage per community and per subdistrict as choropleths (share of households covered)
  with a legend;
* 服务圈 the 5/10/15-minute service areas per kind as nested rings;
* 设施 one layer per facility kind (own colour and letter; status 建成运营 solid, 在建 half,
  规划 hollow);
* 未覆盖 the uncovered demand (aggregated to grid cells when large);
* 界桩 boundary markers coloured by condition;
* a scale bar, search by name, and a summary panel of the key indicators against their targets.

User text is data, never markup or template (:mod:`mzgis.maps.safe_html`): every attribute shown
in a popup, tooltip or the search index is escaped with :func:`~mzgis.maps.safe_html.esc` (folium
inserts them as HTML), and the title, indicator panel and legend are added as
:class:`~mzgis.maps.safe_html.RawHtml` — not as ``folium.Element``, whose text branca would render
as a Jinja template. A facility called ``<script>alert(1)</script>`` or ``{{7*191}}`` shows as that
text and runs nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import Search

from mzgis.errors import ConfigError
from mzgis.layers import coords as cc
from mzgis.layers.kinds import KINDS
from mzgis.maps.assets import inline_assets
from mzgis.maps.safe_html import RawHtml, esc

__all__ = ["BASEMAPS", "MapData", "build_map", "save_map"]

log = logging.getLogger(__name__)

BASEMAPS = ("roads", "none", "osm", "tianditu", "amap")
# facility colours (red is kept for the uncovered demand)
PALETTE = ["#1f4e9c", "#6a3d9a", "#00838f", "#8c564b", "#e377c2", "#ff7f0e", "#2e7d32", "#17becf", "#bcbd22",
           "#7f7f7f"]
RING_COLOURS = {5.0: "#1a9850", 10.0: "#fee08b", 15.0: "#fdae61"}
CONDITION_COLOURS = {"完好": "#1a9850", "损坏": "#fdae61", "移位": "#f46d43", "丢失": "#d73027"}
LEVEL_STYLE = {"district": {"color": "#222222", "weight": 3.0, "dashArray": None},
               "subdistrict": {"color": "#444444", "weight": 2.0, "dashArray": None},
               "community": {"color": "#777777", "weight": 1.0, "dashArray": "4 3"}}
LEVEL_ZH = {"district": "区县", "subdistrict": "街道乡镇", "community": "社区村"}
STATUS_STYLE = {"建成运营": (0.9, None), "在建": (0.45, "3 2"), "规划": (0.0, "2 2")}
SHARE_BINS = [0.0, 0.5, 0.7, 0.8, 0.9, 1.0001]
SHARE_COLOURS = ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#1a9850"]
MAX_POINTS = 3000


@dataclass
class MapData:
    """Everything a map shows, in any CRS (converted to WGS-84 here)."""

    title: str
    facilities: gpd.GeoDataFrame | None = None
    units: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    coverage: pd.DataFrame | None = None
    coverage_kind: str | None = None
    service_areas: gpd.GeoDataFrame | None = None
    gaps: gpd.GeoDataFrame | None = None
    markers: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    site_areas: gpd.GeoDataFrame | None = None
    indicators: pd.DataFrame | None = None
    sample: bool = False
    tianditu_key: str = ""


def _esc(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return esc(f"{v:,.1f}" if abs(v) >= 100 else f"{v:g}")
    return esc(v)


def _prep(gdf: gpd.GeoDataFrame, *, gcj: bool, tolerance_deg: float = 0.0) -> gpd.GeoDataFrame:
    """To WGS-84 (or GCJ-02 for Amap), simplified to screen precision, coordinates rounded to 1e-6°."""
    g = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")
    geoms = np.asarray(g.geometry.values)
    if tolerance_deg > 0:
        geoms = shapely.simplify(geoms, tolerance_deg, preserve_topology=True)
    if gcj:
        def tf(xy: np.ndarray) -> np.ndarray:
            x, y = cc.wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        geoms = shapely.transform(geoms, tf)
    geoms = shapely.set_precision(geoms, 1e-6, mode="pointwise")
    out = g.copy()
    out["geometry"] = geoms
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _geojson(gdf: gpd.GeoDataFrame, props: list[str]) -> dict[str, Any]:
    feats = []
    cols = [c for c in props if c in gdf.columns]
    for geom, rec in zip(gdf.geometry, gdf[cols].to_dict("records"), strict=True):
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                      "properties": {k: (v if isinstance(v, str | int | float) and v == v else None)
                                     for k, v in rec.items()}})
    return {"type": "FeatureCollection", "features": feats}


def _popup_frame(gdf: pd.DataFrame, fields: dict[str, str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Escaped popup columns ``_p0.._pn`` and their (Chinese) labels."""
    out = pd.DataFrame(index=gdf.index)
    names, labels = [], []
    for i, (col, label) in enumerate(fields.items()):
        if col not in gdf.columns:
            continue
        out[f"_p{i}"] = gdf[col].map(_esc)
        names.append(f"_p{i}")
        labels.append(esc(label))
    return out, names, labels


def _kind_name(kind: str) -> str:
    k = KINDS.get(kind)
    return k.name_zh if k else kind


def _layer_name(text: str) -> str:
    """A layer-control label: Leaflet inserts it as HTML, so it is escaped."""
    return esc(text)


def _bounds(gdfs: list[gpd.GeoDataFrame | None]) -> list[list[float]] | None:
    bs = [g.total_bounds for g in gdfs if g is not None and len(g)]
    if not bs:
        return None
    a = np.array(bs)
    return [[float(a[:, 1].min()), float(a[:, 0].min())], [float(a[:, 3].max()), float(a[:, 2].max())]]


def _basemap(m: folium.Map, basemap: str, key: str) -> None:
    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="底图：OpenStreetMap（在线 online）", attr="© OpenStreetMap contributors").add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="© 高德地图 AutoNavi", name="底图：高德（GCJ-02，在线 online）", subdomains="1234").add_to(m)
    elif basemap == "tianditu":
        if not key:
            msg = "天地图底图需要密钥 the Tianditu basemap needs a key: set [maps] tianditu_key in mzgis.toml"
            raise ConfigError(msg)
        for layer, name in (("vec", "底图：天地图矢量（在线 online）"), ("cva", "天地图注记")):
            folium.TileLayer(
                tiles=(f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                       f"&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                       f"&TILECOL={{x}}&tk={quote(key, safe='')}"),
                attr="© 天地图 Tianditu", name=name, subdomains="01234567", overlay=layer == "cva").add_to(m)


def build_map(data: MapData, *, basemap: str = "roads") -> folium.Map:
    """Build the interactive map (a folium.Map; call :func:`save_map` to write it offline)."""
    if basemap not in BASEMAPS:
        msg = f"--basemap {basemap}: use one of {', '.join(BASEMAPS)}"
        raise ConfigError(msg)
    gcj = basemap == "amap"
    units = {lv: _prep(u, gcj=gcj, tolerance_deg=2e-5) for lv, u in data.units.items() if u is not None and len(u)}
    fac = _prep(data.facilities, gcj=gcj) if data.facilities is not None and len(data.facilities) else None
    bounds = _bounds([fac, *units.values()] + ([_prep(data.roads, gcj=gcj)] if data.roads is not None and len(data.roads) else []))
    m = folium.Map(location=[0, 0], zoom_start=13, tiles=None, control_scale=True, prefer_canvas=True)
    m.default_js = [js for js in m.default_js if js[0] == "leaflet"]
    m.default_css = [css for css in m.default_css if css[0] == "leaflet_css"]
    if bounds:
        m.fit_bounds(bounds)
    _basemap(m, basemap, data.tianditu_key)

    # -- roads: the offline vector basemap ---------------------------------------------------------
    if data.roads is not None and len(data.roads) and basemap in ("roads", "none"):
        roads = _prep(data.roads, gcj=gcj, tolerance_deg=1e-5)
        folium.GeoJson(_geojson(roads, []), name="底图：路网 roads (OpenStreetMap)", interactive=False,
                       style_function=lambda f: {"color": "#9a9a9a", "weight": 1.2, "opacity": 0.8},
                       show=basemap == "roads").add_to(m)

    # -- coverage choropleths -----------------------------------------------------------------------
    if data.coverage is not None and len(data.coverage):
        cov = data.coverage
        t = float(cov["minutes"].max())
        for level in ("subdistrict", "community"):
            if level not in units:
                continue
            rows = cov[(cov["level"] == level) & np.isclose(cov["minutes"], t)].set_index("unit_code")
            u = units[level].copy()
            u["share"] = u["feature_id"].astype(str).map(rows["share_covered"])
            u["hh"] = u["feature_id"].astype(str).map(rows["households"])
            u["hh_cov"] = u["feature_id"].astype(str).map(rows["households_covered"])
            u["share_txt"] = u["share"].map(lambda s: "—" if s != s else f"{100 * s:.1f}%")
            pop, fields, labels = _popup_frame(u, {"name": "名称", "share_txt": f"{t:g}分钟户数覆盖率", "hh": "户数",
                                                   "hh_cov": "覆盖户数"})
            gj = pd.concat([u[["geometry", "share"]], pop], axis=1)
            gj = gpd.GeoDataFrame(gj, geometry="geometry", crs=u.crs)

            def style(f: dict[str, Any]) -> dict[str, Any]:
                s = f["properties"].get("share")
                colour = "#cccccc" if s is None else SHARE_COLOURS[int(np.searchsorted(SHARE_BINS, s, side="right") - 1)]
                return {"fillColor": colour, "fillOpacity": 0.45, "color": "#555555", "weight": 0.6}

            folium.GeoJson(_geojson(gj, ["share", *fields]), name=_layer_name(f"覆盖率：{LEVEL_ZH[level]}（{_kind_name(data.coverage_kind or '')} {t:g}分钟）"),
                           style_function=style, show=level == "community",
                           popup=folium.GeoJsonPopup(fields=fields, aliases=labels, localize=False),
                           tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=labels[:2], localize=False)).add_to(m)

    # -- admin boundaries ---------------------------------------------------------------------------
    for level in ("community", "subdistrict", "district"):
        if level not in units:
            continue
        u = units[level]
        st = LEVEL_STYLE[level]
        pop, fields, labels = _popup_frame(u, {"name": "名称", "feature_id": "编码", "population": "常住人口",
                                               "households": "户数"})
        gj = gpd.GeoDataFrame(pd.concat([u[["geometry"]], pop], axis=1), geometry="geometry", crs=u.crs)
        folium.GeoJson(_geojson(gj, fields), name=f"行政区划：{LEVEL_ZH[level]}",
                       style_function=lambda f, st=st: {"fill": False, "color": st["color"], "weight": st["weight"],
                                                        "dashArray": st["dashArray"]},
                       tooltip=folium.GeoJsonTooltip(fields=fields[:1], aliases=labels[:1], localize=False)).add_to(m)

    # -- service areas ----------------------------------------------------------------------------
    if data.service_areas is not None and len(data.service_areas):
        sa = _prep(data.service_areas, gcj=gcj, tolerance_deg=2e-5)
        for kind, grp in sa.groupby("kind"):
            main = data.coverage_kind is None or str(kind) == data.coverage_kind
            fg = folium.FeatureGroup(name=_layer_name(f"服务圈：{_kind_name(str(kind))} 5/10/15分钟"), show=main)
            for r in grp.sort_values("minutes", ascending=False).to_dict("records"):
                colour = RING_COLOURS.get(float(r["minutes"]), "#fdae61")
                folium.GeoJson(shapely.geometry.mapping(r["geometry"]), interactive=False,
                               style_function=lambda f, c=colour: {"fillColor": c, "fillOpacity": 0.25, "color": c,
                                                                   "weight": 1}).add_to(fg)
            fg.add_to(m)

    # -- uncovered demand ---------------------------------------------------------------------------
    if data.gaps is not None and len(data.gaps):
        gaps = _prep(data.gaps, gcj=gcj)
        gaps = _aggregate_points(gaps) if len(gaps) > MAX_POINTS else gaps.assign(n=1)
        hh = gaps["households"].astype(float) if "households" in gaps else pd.Series(1.0, index=gaps.index)
        gaps = gaps.assign(radius=np.clip(np.sqrt(hh.to_numpy()) / 2.0, 3, 14))
        pop, fields, labels = _popup_frame(gaps.assign(hh_txt=hh.round(0)), {"name": "名称", "hh_txt": "未覆盖户数",
                                                                             "n": "点数"})
        gj = gpd.GeoDataFrame(pd.concat([gaps[["geometry", "radius"]], pop], axis=1), geometry="geometry", crs=gaps.crs)
        folium.GeoJson(_geojson(gj, ["radius", *fields]), name="未覆盖需求 uncovered demand",
                       marker=folium.CircleMarker(radius=5, fill=True),
                       style_function=lambda f: {"radius": f["properties"]["radius"], "color": "#b2182b",
                                                 "fillColor": "#ef3b2c", "fillOpacity": 0.6, "weight": 1},
                       popup=folium.GeoJsonPopup(fields=fields, aliases=labels, localize=False)).add_to(m)

    # -- facilities, one layer per kind -----------------------------------------------------------
    search_src = []
    if fac is not None:
        kinds = list(dict.fromkeys(fac["kind"].astype(str)))
        for i, kind in enumerate(kinds):
            sub = fac[fac["kind"].astype(str) == kind]
            colour = PALETTE[i % len(PALETTE)]
            pop, fields, labels = _popup_frame(sub.assign(kind_zh=_kind_name(kind)), {
                "name": "名称", "kind_zh": "类型", "status": "状态", "feature_id": "编号", "address": "地址",
                "floor_area_m2": "建筑面积(㎡)", "beds": "床位数", "数据来源": "数据来源"})
            status = sub["status"].astype(str)
            fill = status.map(lambda s: STATUS_STYLE.get(s, (0.9, None))[0])
            dash = status.map(lambda s: STATUS_STYLE.get(s, (0.9, None))[1])
            gj = gpd.GeoDataFrame(pd.concat([sub[["geometry"]], pop], axis=1).assign(fo=fill.to_numpy(),
                                  da=dash.to_numpy()), geometry="geometry", crs=sub.crs)
            folium.GeoJson(_geojson(gj, ["fo", "da", *fields]), name=_layer_name(f"设施：{_kind_name(kind)}（{len(sub)}）"),
                           marker=folium.CircleMarker(radius=7, fill=True),
                           style_function=lambda f, c=colour: {"color": c, "fillColor": c, "weight": 2.5,
                                                               "fillOpacity": f["properties"]["fo"],
                                                               "dashArray": f["properties"]["da"]},
                           popup=folium.GeoJsonPopup(fields=fields, aliases=labels, localize=False),
                           tooltip=folium.GeoJsonTooltip(fields=fields[:3], aliases=labels[:3], localize=False)).add_to(m)
            search_src.append(gj.assign(_name=pop[fields[0]] if fields else ""))

    # -- proposed sites and the service areas they would add -----------------------------------------
    if data.site_areas is not None and len(data.site_areas):
        sa2 = _prep(data.site_areas, gcj=gcj, tolerance_deg=2e-5)
        fg = folium.FeatureGroup(name="服务圈：建议新址 5/10/15分钟 (proposed)", show=True)
        for r in sa2.sort_values("minutes", ascending=False).to_dict("records"):
            folium.GeoJson(shapely.geometry.mapping(r["geometry"]), interactive=False,
                           style_function=lambda f: {"fillColor": "#ffd92f", "fillOpacity": 0.15, "color": "#000000",
                                                     "weight": 1.2, "dashArray": "5 4"}).add_to(fg)
        fg.add_to(m)
    if data.sites is not None and len(data.sites):
        sites = _prep(data.sites, gcj=gcj)
        pop, fields, labels = _popup_frame(sites, {"rank": "排序", "candidate_id": "候选址", "households_gained": "新增覆盖户数",
                                                   "cumulative_share": "累计覆盖率"})
        gj = gpd.GeoDataFrame(pd.concat([sites[["geometry"]], pop], axis=1), geometry="geometry", crs=sites.crs)
        folium.GeoJson(_geojson(gj, fields), name="建议新址 proposed sites",
                       marker=folium.CircleMarker(radius=9, fill=True),
                       style_function=lambda f: {"color": "#000000", "fillColor": "#ffd92f", "fillOpacity": 1, "weight": 2},
                       popup=folium.GeoJsonPopup(fields=fields, aliases=labels, localize=False)).add_to(m)

    # -- boundary markers -----------------------------------------------------------------------------
    if data.markers is not None and len(data.markers):
        mk = _prep(data.markers, gcj=gcj)
        pop, fields, labels = _popup_frame(mk, {"feature_id": "界桩编号", "line_id": "界线", "condition": "状况",
                                                "last_inspection_date": "最近检查"})
        gj = gpd.GeoDataFrame(pd.concat([mk[["geometry"]], pop], axis=1).assign(
            c=mk["condition"].map(lambda s: CONDITION_COLOURS.get(str(s), "#777777")).to_numpy()),
            geometry="geometry", crs=mk.crs)
        folium.GeoJson(_geojson(gj, ["c", *fields]), name="界桩 boundary markers",
                       marker=folium.CircleMarker(radius=5, fill=True),
                       style_function=lambda f: {"color": "#000", "weight": 1, "fillColor": f["properties"]["c"],
                                                 "fillOpacity": 1},
                       popup=folium.GeoJsonPopup(fields=fields, aliases=labels, localize=False)).add_to(m)

    # -- search by name (an invisible index over the facilities) ------------------------------------
    if search_src:
        allf = gpd.GeoDataFrame(pd.concat(search_src, ignore_index=True), geometry="geometry", crs="EPSG:4326")
        idx = folium.GeoJson(_geojson(allf, ["_name"]), name="search", control=False,
                             marker=folium.CircleMarker(radius=1, opacity=0, fill=False),
                             style_function=lambda f: {"opacity": 0, "fillOpacity": 0})
        idx.add_to(m)
        Search(layer=idx, search_label="_name", placeholder="搜索设施名称 search by name", collapsed=False,
               position="topleft", search_zoom=17).add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    root: Any = m.get_root()
    # RawHtml, not folium.Element: an Element's text is a Jinja template, and the title and the
    # indicator names come from mzgis.toml
    root.html.add_child(RawHtml(_panel(data)))
    root.html.add_child(RawHtml(_legend(data)))
    root.header.add_child(RawHtml(
        f"<title>{esc(data.title)}</title><meta charset='utf-8'>"
        "<style>.mz-panel{position:fixed;z-index:1000;background:rgba(255,255,255,.93);padding:8px 10px;"
        "border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.4 'Noto Sans CJK SC','Microsoft YaHei',"
        "sans-serif;max-width:360px}.mz-panel table{border-collapse:collapse}.mz-panel td{padding:1px 4px}"
        ".mz-ok{color:#1a7f37;font-weight:bold}.mz-bad{color:#c62828;font-weight:bold}.mz-na{color:#777}</style>"))
    return m


def _aggregate_points(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sum points into square cells (about 60 per side of the extent) for large layers."""
    x, y = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    size = max(np.ptp(x), np.ptp(y)) / 60 or 1e-3
    cx = np.floor(x / size).astype(np.int64)
    cy = np.floor(y / size).astype(np.int64)
    df = pd.DataFrame({"cx": cx, "cy": cy, "x": x, "y": y,
                       "households": g["households"].astype(float).to_numpy() if "households" in g else 1.0})
    agg = df.groupby(["cx", "cy"]).agg(x=("x", "mean"), y=("y", "mean"), households=("households", "sum"),
                                       n=("x", "size")).reset_index()
    agg["name"] = "聚合 aggregated"
    return gpd.GeoDataFrame(agg, geometry=gpd.points_from_xy(agg.x, agg.y), crs=g.crs)


def _panel(data: MapData) -> str:
    rows = []
    if data.indicators is not None:
        for r in data.indicators.to_dict("records"):
            ok = r.get("passed")
            cls, mark = ("mz-ok", "✔ 达标") if ok is True else (("mz-bad", "✘ 未达标") if ok is False else ("mz-na", "— 不适用"))
            actual = "—" if r["actual"] != r["actual"] else f"{r['actual']:.4g}"
            rows.append(f"<tr><td>{_esc(r['name_zh'])}<br><small>{_esc(r['binding'])}</small></td>"
                        f"<td>{_esc(actual)}&nbsp;/&nbsp;{_esc(r['comparator'])}{r['target']:g}{_esc(r['unit'])}</td>"
                        f"<td class='{cls}'>{mark}</td></tr>")
    sample = "<div style='color:#b35806'>示例数据 sample data（随机生成，非真实）</div>" if data.sample else ""
    return (f"<div class='mz-panel' id='mz-summary' style='bottom:24px;right:10px;max-height:45%;overflow:auto'>"
            f"<b>{_esc(data.title)}</b>{sample}<div>关键指标 key indicators</div>"
            f"<table>{''.join(rows) or '<tr><td>（未评估 none）</td></tr>'}</table></div>")


def _legend(data: MapData) -> str:
    cells = "".join(f"<div><span style='display:inline-block;width:14px;height:10px;background:{c}'></span> "
                    f"{int(100 * a)}–{min(100, round(100 * b))}%</div>"
                    for c, a, b in zip(SHARE_COLOURS, SHARE_BINS, SHARE_BINS[1:], strict=False))
    rings = "".join(f"<div><span style='display:inline-block;width:14px;height:10px;background:{c};opacity:.6'></span>"
                    f" {int(t)} 分钟</div>" for t, c in RING_COLOURS.items())
    status = ("<div>● 建成运营 operating　◐ 在建 building　○ 规划 planned</div>")
    return (f"<div class='mz-panel' id='mz-legend' style='bottom:64px;left:10px'><b>图例 legend</b>"
            f"<div>户数覆盖率 households covered</div>{cells}<div>服务圈 service areas</div>{rings}{status}"
            "<div><span style='color:#ef3b2c'>●</span> 未覆盖需求 uncovered</div>"
            "<div style='color:#777'>© OpenStreetMap contributors (路网 roads)</div></div>")


def save_map(m: folium.Map, path: str | Path) -> tuple[Path, int]:
    """Write the page with every asset inlined (no network request); returns the path and size."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    page = inline_assets(m.get_root().render())
    p.write_text(page, encoding="utf-8")
    return p, p.stat().st_size


