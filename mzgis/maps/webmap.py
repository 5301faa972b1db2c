"""Interactive maps for leaders: folium pages that open from a file with no network at all, on a
desk and on a phone.

Layers, in a grouped, collapsible layer control (collapsed by default on small screens):

* 底图 basemap — the roads as a generalised vector basemap (major OSM classes at every zoom, the
  rest polyline-encoded in cells and drawn only for the visible cells once zoomed in, so a city's
  network stays a few MB), place and road names as labels at suitable zooms, and optionally an
  intranet tile layer (``[maps] tiles``) or online tiles (OpenStreetMap, 天地图 Tianditu, 高德 Amap;
  over the GCJ-02 Amap tiles every overlay is shifted to GCJ-02 so it lines up);
* 行政区划 boundaries by level (district thick, subdistrict medium, community dashed);
* 覆盖率 coverage per community and per subdistrict (a sequential blue palette of the share of
  households covered);
* 服务圈 the 5/10/15-minute service areas per kind as nested rings (an orange-brown family, and
  solid / dashed / dotted outlines — never a coverage colour);
* 设施 one layer per facility kind (own colour; status 建成运营 solid, 在建 half, 规划 hollow);
* 需求 the uncovered demand (red, a colour nothing else uses; aggregated to grid cells when large);
* 界桩 boundary markers coloured by condition; 建议新址 proposed sites and their areas;
* a metric scale bar, a title, search by name, one collapsible legend naming every colour on the
  map, and a collapsible, scrollable panel of the key indicators against their targets.

The page opens at the extent of the analysed demand and facilities.

User text is data, never markup or template (:mod:`mzgis.maps.safe_html`): every attribute shown
in a popup, tooltip, label or the search index is escaped with :func:`~mzgis.maps.safe_html.esc`
(folium and Leaflet insert them as HTML), and the title, indicator panel, legend and label data are
added as :class:`~mzgis.maps.safe_html.RawHtml` — not as ``folium.Element``, whose text branca
would render as a Jinja template. A facility called ``<script>alert(1)</script>`` or ``{{7*191}}``
shows as that text and runs nothing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.plugins import GroupedLayerControl, Search
from folium.template import Template

from mzgis.errors import ConfigError
from mzgis.layers import coords as cc
from mzgis.layers.kinds import KINDS
from mzgis.maps.assets import inline_assets
from mzgis.maps.palette import (
    CONDITION_COLOURS,
    LEVEL_STYLE,
    LEVEL_ZH,
    MARKER_OTHER,
    PALETTE,
    PROPOSED,
    RING_STYLE,
    ROAD_COLOURS,
    SHARE_BINS,
    SHARE_COLOURS,
    STATUS_STYLE,
    UNCOVERED,
)
from mzgis.maps.safe_html import RawHtml, esc

__all__ = ["BASEMAPS", "MapData", "build_map", "encode_polylines", "save_map", "tile_url"]

log = logging.getLogger(__name__)

BASEMAPS = ("roads", "none", "osm", "tianditu", "amap")
MAX_POINTS = 3000
#: a road basemap with more vertices than this is drawn in cells, minor roads only zoomed in
ROADS_ALL_ZOOMS_MAX_POINTS = 150_000
ROADS_MINOR_MINZOOM = 14
ROADS_CELL_DEG = 0.02
SMALL_SCREEN_PX = 700

_GROUP_BASE = "底图 basemap"
_GROUP_ADMIN = "行政区划 boundaries"
_GROUP_COV = "覆盖率 coverage"
_GROUP_RING = "服务圈 service areas"
_GROUP_FAC = "设施 facilities"
_GROUP_DEMAND = "需求 demand"
_GROUP_SITES = "建议新址 proposed"
_GROUP_MARKERS = "界桩 boundary markers"


@dataclass
class MapData:
    """Everything a map shows, in any CRS (converted to WGS-84 here).

    ``focus`` (the analysed demand) and the facilities set the opening extent; ``roads`` may carry
    ``rank`` (0 major, 1 minor) and ``name``; ``labels`` are ``lon, lat, text, minzoom`` rows;
    ``tiles`` is a validated tile URL template (:func:`tile_url`)."""

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
    left_out: gpd.GeoDataFrame | None = None  # facilities of a counted status not snapped (``distance_m``)
    indicators: pd.DataFrame | None = None
    sample: bool = False
    tianditu_key: str = ""
    focus: gpd.GeoDataFrame | None = None
    labels: pd.DataFrame | None = None
    tiles: str = ""


_TILE_VARS = re.compile(r"\{([^{}]*)\}")
_TILE_OK = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%{}]+$")


def tile_url(value: Any, *, where: str = "mzgis.toml [maps] tiles") -> str:
    """Validate a tile URL template: http(s), a host, ``{z}``, ``{x}`` and ``{y}`` (``{s}`` and
    ``{r}`` allowed too), URL characters only. Returns it; raises :class:`ConfigError` otherwise."""
    text = str(value).strip() if value is not None else ""
    fix = "例如 e.g. tiles = \"http://10.0.0.5/tiles/{z}/{x}/{y}.png\""
    if not isinstance(value, str) or not text:
        msg = f"错误 error: {where} 应为瓦片地址模板 must be a tile URL template, found {value!r}; {fix}"
        raise ConfigError(msg)
    if not _TILE_OK.match(text) or "'" in text:
        msg = f"错误 error: {where} 含有不允许的字符 has characters not allowed in a URL: {text!r}; {fix}"
        raise ConfigError(msg)
    parts = urlsplit(text.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        msg = f"错误 error: {where} 必须以 http:// 或 https:// 开头并含主机名 must be an http(s) URL with a host: {text!r}; {fix}"
        raise ConfigError(msg)
    names = _TILE_VARS.findall(text)
    missing = [v for v in ("z", "x", "y") if v not in names]
    unknown = [v for v in names if v not in ("z", "x", "y", "s", "r")]
    if missing or unknown or text.count("{") != text.count("}") or text.count("{") != len(names):
        msg = (f"错误 error: {where} 必须含 {{z}} {{x}} {{y}} 占位符且无其它占位符 must hold {{z}}, {{x}} and {{y}} "
               f"(and only {{s}} or {{r}} besides): {text!r}; {fix}")
        raise ConfigError(msg)
    return text


def _esc(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return esc(f"{v:,.1f}" if abs(v) >= 100 else f"{v:g}")
    return esc(v)


def _prep(gdf: gpd.GeoDataFrame, *, gcj: bool, tolerance_deg: float = 0.0) -> gpd.GeoDataFrame:
    """To WGS-84 (or GCJ-02 for Amap), simplified to screen precision, coordinates rounded to 1e-5°
    (about a metre)."""
    g = gdf.to_crs("EPSG:4326") if gdf.crs is not None else gdf.set_crs("EPSG:4326")
    geoms = np.asarray(g.geometry.values)
    if tolerance_deg > 0:
        # not topology-preserving: many times faster on a city's roads and rings, and Leaflet draws
        # a ring that touches itself as well as a valid one
        geoms = shapely.simplify(geoms, tolerance_deg, preserve_topology=False)
    if gcj:
        def tf(xy: np.ndarray) -> np.ndarray:
            x, y = cc.wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        geoms = shapely.transform(geoms, tf)
    geoms = shapely.set_precision(geoms, 1e-5, mode="pointwise")
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
    bs = [b for b in bs if np.all(np.isfinite(b))]
    if not bs:
        return None
    a = np.array(bs)
    return [[float(a[:, 1].min()), float(a[:, 0].min())], [float(a[:, 3].max()), float(a[:, 2].max())]]


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` characters)."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _data_script(element_id: str, obj: Any) -> RawHtml:
    return RawHtml(f"<script type='application/json' id='{element_id}'>{_json_for_script(obj)}</script>")


# -- the generalised road basemap ----------------------------------------------------------------------
def encode_polylines(lines: list[np.ndarray] | np.ndarray, *, precision: int = 5) -> list[str]:
    """Google encoded-polyline strings (lat, lon order) for arrays of ``(lon, lat)`` vertices."""
    arrs = [np.asarray(a, dtype=float) for a in lines]
    if not arrs:
        return []
    return _encode_flat(np.concatenate(arrs), np.array([len(a) for a in arrs]), precision=precision)


def _encode_flat(coords: np.ndarray, n: np.ndarray, *, precision: int = 5) -> list[str]:
    """:func:`encode_polylines` for all vertices in one ``(m, 2)`` array and the vertex counts."""
    if not len(n):
        return []
    xy = np.rint(coords * 10 ** precision).astype(np.int64)[:, ::-1]  # lat, lon
    d = xy.copy()
    d[1:] -= xy[:-1]
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    d[starts] = xy[starts]
    v = d.ravel()
    z = (v << 1) ^ (v >> 63)  # zig-zag
    nch = np.ones(z.size, dtype=np.int64)  # 5-bit chunks per value
    for i in range(1, 7):
        nch += z >= (1 << (5 * i))
    offsets = np.cumsum(nch) - nch
    flat = np.empty(int(nch.sum()), dtype=np.uint8)
    for i in range(7):
        m = nch > i
        if not m.any():
            break
        flat[offsets[m] + i] = ((z[m] >> (5 * i)) & 31) + np.where(nch[m] - 1 > i, 32, 0) + 63
    line_ends = np.cumsum(nch)[np.cumsum(2 * n) - 1]
    text = flat.tobytes().decode("ascii")
    out, prev = [], 0
    for e in line_ends:
        out.append(text[prev:int(e)])
        prev = int(e)
    return out


def _road_payload(roads: gpd.GeoDataFrame) -> dict[str, Any]:
    """Roads as encoded polylines: ``major`` (rank 0, drawn at every zoom) and ``levels`` of cells
    (rank 1 from zoom 12, the rest from zoom 14), drawn for the visible cells only. A small network
    is all ``major``."""
    rank = roads["rank"].to_numpy() if "rank" in roads.columns else np.full(len(roads), 2, dtype=np.int8)
    geoms, which = shapely.get_parts(np.asarray(roads.geometry.values), return_index=True)
    rank = rank[which]
    ok = shapely.get_type_id(geoms) == 1
    geoms, rank = geoms[ok], rank[ok]
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(owner, minlength=len(geoms))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    enc = _encode_flat(xy, counts)
    small = len(xy) <= ROADS_ALL_ZOOMS_MAX_POINTS  # then every road at every zoom
    first = xy[starts] if len(geoms) else np.zeros((0, 2))
    cx = np.floor(first[:, 0] / ROADS_CELL_DEG).astype(np.int64)
    cy = np.floor(first[:, 1] / ROADS_CELL_DEG).astype(np.int64)
    levels = []
    for level_rank, minzoom in ((1, ROADS_MINOR_MINZOOM - 2), (2, ROADS_MINOR_MINZOOM)):
        sel = np.flatnonzero(rank == level_rank) if level_rank == 1 else np.flatnonzero(rank >= 2)
        cells: dict[str, list[str]] = {}
        for i in sel:
            cells.setdefault(f"{cx[i]}_{cy[i]}", []).append(enc[i])
        if not cells:
            continue
        levels.append({"minzoom": 0 if small else minzoom, "cells": {k: " ".join(v) for k, v in cells.items()},
                       "weight": 1.3 if level_rank == 1 else 1.0, "colour": ROAD_COLOURS[0 if level_rank == 1 else 1]})
    return {"cell": ROADS_CELL_DEG, "major": [enc[i] for i in np.flatnonzero(rank == 0)], "levels": levels}


class _RoadsLayer(Layer):
    """The road basemap: decodes the encoded polylines of ``#mz-roads`` into canvas polylines."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function(map) {
  var data = JSON.parse(document.getElementById('mz-roads').textContent);
  var group = L.layerGroup();
  var rend = L.canvas({padding: 0.3});
  function decode(s) {
    var out = [], i = 0, lat = 0, lng = 0;
    while (i < s.length) {
      var b, shift = 0, res = 0;
      do { b = s.charCodeAt(i++) - 63; res |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lat += (res & 1) ? ~(res >> 1) : (res >> 1);
      shift = 0; res = 0;
      do { b = s.charCodeAt(i++) - 63; res |= (b & 31) << shift; shift += 5; } while (b >= 32);
      lng += (res & 1) ? ~(res >> 1) : (res >> 1);
      out.push([lat / 1e5, lng / 1e5]);
    }
    return out;
  }
  var major = L.polyline(data.major.map(decode), {renderer: rend, interactive: false, color: '{{ this.major }}',
                         weight: 1.6, opacity: 0.9});
  major.addTo(group);
  var cache = {}, shown = {};
  function refresh() {
    if (!map.hasLayer(group)) return;
    var want = {}, b = map.getBounds(), c = data.cell, z = map.getZoom();
    data.levels.forEach(function(lv, n) {
      if (z < lv.minzoom) return;
      for (var i = Math.floor(b.getWest() / c) - 1; i <= Math.floor(b.getEast() / c); i++) {
        for (var j = Math.floor(b.getSouth() / c) - 1; j <= Math.floor(b.getNorth() / c); j++) {
          var k = i + '_' + j;
          if (lv.cells[k] !== undefined) want[n + ':' + k] = [lv, k];
        }
      }
    });
    Object.keys(shown).forEach(function(k) { if (!want[k]) { group.removeLayer(cache[k]); delete shown[k]; } });
    Object.keys(want).forEach(function(k) {
      var lv = want[k][0];
      if (!cache[k]) cache[k] = L.polyline(lv.cells[want[k][1]].split(' ').map(decode), {renderer: rend,
          interactive: false, color: lv.colour, weight: lv.weight, opacity: 0.9});
      if (!shown[k]) { cache[k].addTo(group); shown[k] = true; }
    });
  }
  map.on('moveend', refresh);
  group.on('add', function() { setTimeout(refresh, 0); });
  group.mzColours = {{ this.colours|tojson }};
  return group;
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, name: str, *, show: bool, colours: list[str]) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self.major = ROAD_COLOURS[0]
        self.colours = colours  # those drawn at some zoom (for the tests' colour check)


class _LabelsLayer(Layer):
    """Place and road names from ``#mz-labels``, drawn for the view (at most 250 at a time)."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function(map) {
  var data = JSON.parse(document.getElementById('mz-labels').textContent);
  var group = L.layerGroup();
  function refresh() {
    if (!map.hasLayer(group)) return;
    group.clearLayers();
    var z = map.getZoom(), b = map.getBounds().pad(0.1), n = 0;
    for (var i = 0; i < data.length && n < 250; i++) {
      var d = data[i];
      if (d[3] > z || !b.contains([d[0], d[1]])) continue;
      L.marker([d[0], d[1]], {interactive: false, keyboard: false, icon: L.divIcon({className: 'mz-label mz-label-' + d[4],
        html: d[2], iconSize: null})}).addTo(group);
      n++;
    }
  }
  map.on('moveend', refresh);
  group.on('add', function() { setTimeout(refresh, 0); });
  return group;
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)


class _GroupedControl(GroupedLayerControl):
    """folium's GroupedLayerControl with base layers, named (``window.mzLayerControl``) and
    collapsed on small screens only."""

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control.groupedLayers(
    {
    {%- for key, val in this.base_layers.items() %}
    {{ key|tojson }} : {{ val }},
    {%- endfor %}
    },
    {
    {%- for group_name, overlays in this.grouped_overlays.items() %}
    {{ group_name|tojson }} : {
        {%- for overlaykey, val in overlays.items() %}
        {{ overlaykey|tojson }} : {{ val }},
        {%- endfor %}
    },
    {%- endfor %}
    },
    Object.assign({{ this.options|tojavascript }}, {collapsed: window.innerWidth < {{ this.small }}})
).addTo({{ this._parent.get_name() }});
window.mzLayerControl = {{ this.get_name() }};
{%- for val in this.layers_untoggle %}
{{ val }}.remove();
{%- endfor %}
{% endmacro %}
""")

    def __init__(self, groups: dict[str, list[Any]], base: list[Any]) -> None:
        super().__init__(groups, exclusive_groups=False, position="topright")
        self.small = SMALL_SCREEN_PX
        self.base_layers = {}
        for i, el in enumerate(base):
            self.base_layers[el.layer_name] = el.get_name()
            el.control = False
            if i:
                self.layers_untoggle.add(el.get_name())


class _PhoneSearch(MacroElement):
    """On a small screen the search box starts as its icon (a tap opens it)."""

    _template = Template("""
{% macro script(this, kwargs) %}
if (window.innerWidth < {{ this.small }}) {
  var s = {{ this.search_el.layer.get_name() }}searchControl;
  s.options.collapsed = true;
  s.collapse();
}
{% endmacro %}
""")

    def __init__(self, search: Search) -> None:
        super().__init__()
        self.small = SMALL_SCREEN_PX
        self.search_el = search


class _MetricScale(MacroElement):
    """A metric-only scale bar (folium's ``control_scale`` shows feet and miles too)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, metric: true, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


def _basemap(m: folium.Map, basemap: str, key: str, tiles: str) -> list[folium.TileLayer]:
    out = []
    if tiles:
        out.append(folium.TileLayer(tiles=tile_url(tiles), attr="内网底图 intranet basemap", name="内网瓦片 intranet tiles",
                                    max_zoom=19))
    if basemap == "osm":
        out.append(folium.TileLayer("OpenStreetMap", name="OpenStreetMap（在线 online）", attr="© OpenStreetMap contributors"))
    elif basemap == "amap":
        out.append(folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="© 高德地图 AutoNavi", name="高德（GCJ-02，在线 online）", subdomains="1234"))
    elif basemap == "tianditu":
        if not key:
            msg = "天地图底图需要密钥 the Tianditu basemap needs a key: set [maps] tianditu_key in mzgis.toml"
            raise ConfigError(msg)
        out.append(folium.TileLayer(
            tiles=("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                   f"&TILECOL={{x}}&tk={quote(key, safe='')}"),
            attr="© 天地图 Tianditu", name="天地图矢量（在线 online）", subdomains="01234567"))
    for t in out:
        t.add_to(m)
    if basemap == "tianditu":
        note = folium.TileLayer(
            tiles=("https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                   "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                   f"&TILECOL={{x}}&tk={quote(key, safe='')}"),
            attr="© 天地图 Tianditu", name="天地图注记", subdomains="01234567", overlay=True)
        note.add_to(m)
        out.append(note)
    return out


@dataclass
class _Legend:
    """Legend entries in order: (section, colour, swatch style, label)."""

    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, section: str, colour: str, swatch: str, label: str, stroke: str = "") -> None:
        """``label`` is HTML (escape user text); ``stroke`` an outline colour other than ``colour``."""
        row = (section, colour, swatch, label, stroke)
        if row not in self.rows:
            self.rows.append(row)


@dataclass
class _Build:
    """What the parts of :func:`build_map` add to: the map, its layer groups and legend."""

    m: folium.Map
    gcj: bool  # coordinates shifted to GCJ-02 (the Amap basemap)
    groups: dict[str, list[Any]] = field(default_factory=dict)
    legend: _Legend = field(default_factory=_Legend)

    @property
    def root(self) -> Any:
        return self.m.get_root()


def build_map(data: MapData, *, basemap: str = "roads") -> folium.Map:
    """Build the interactive map (a folium.Map; call :func:`save_map` to write it offline)."""
    if basemap not in BASEMAPS:
        msg = f"--basemap {basemap}: use one of {', '.join(BASEMAPS)}"
        raise ConfigError(msg)
    gcj = basemap == "amap"
    units = {lv: _prep(u, gcj=gcj, tolerance_deg=2e-5) for lv, u in data.units.items() if u is not None and len(u)}
    fac = _prep(data.facilities, gcj=gcj) if data.facilities is not None and len(data.facilities) else None
    focus = _prep(data.focus[["geometry"]], gcj=gcj) if data.focus is not None and len(data.focus) else None
    roads = (_prep(data.roads, gcj=gcj, tolerance_deg=1e-5) if data.roads is not None and len(data.roads)
             and basemap in ("roads", "none") else None)
    bounds = (_bounds([fac, focus]) or _bounds(list(units.values())) or _bounds([roads]))
    m = folium.Map(location=[0, 0], zoom_start=13, tiles=None, control_scale=False, prefer_canvas=True,
                   zoom_snap=0.25)
    m.default_js = [js for js in m.default_js if js[0] == "leaflet"]
    m.default_css = [css for css in m.default_css if css[0] == "leaflet_css"]
    if bounds:
        m.fit_bounds(bounds, padding=(12, 12))
    base = _basemap(m, basemap, data.tianditu_key, data.tiles)
    mb = _Build(m, gcj)
    _add_roads_and_labels(mb, data, units, roads, basemap)
    _add_coverage(mb, data, units)
    _add_admin(mb, units)
    _add_service_areas(mb, data)
    search_src = _add_facilities(mb, fac)
    _add_gaps(mb, data)
    _add_sites(mb, data)
    _add_markers(mb, data)
    _add_search(mb, search_src)

    order = [_GROUP_BASE, _GROUP_ADMIN, _GROUP_COV, _GROUP_RING, _GROUP_FAC, _GROUP_DEMAND, _GROUP_SITES, _GROUP_MARKERS]
    groups, legend, root = mb.groups, mb.legend, mb.root
    for tl in base:
        if tl.overlay:
            groups.setdefault(_GROUP_BASE, []).append(tl)
    _GroupedControl({g: groups[g] for g in order if g in groups}, base=[tl for tl in base if not tl.overlay]).add_to(m)
    _MetricScale().add_to(m)
    # RawHtml, not folium.Element: an Element's text is a Jinja template, and the title and the
    # indicator names come from mzgis.toml
    root.html.add_child(RawHtml(_title(data)))
    root.html.add_child(RawHtml(_panel(data)))
    root.html.add_child(RawHtml(_legend_html(legend)))
    root.html.add_child(RawHtml(_OPEN_SCRIPT))
    root.header.add_child(RawHtml(f"<title>{esc(data.title)}</title><meta charset='utf-8'>"
                                  "<meta name='viewport' content='width=device-width, initial-scale=1'>" + _CSS))
    return m


def _add_roads_and_labels(mb: _Build, data: MapData, units: dict[str, gpd.GeoDataFrame],
                          roads: gpd.GeoDataFrame | None, basemap: str) -> None:
    """Roads (the offline vector basemap) and labels."""
    m, groups, legend, root, gcj = mb.m, mb.groups, mb.legend, mb.root, mb.gcj
    if roads is not None:
        payload = _road_payload(roads)
        root.html.add_child(_data_script("mz-roads", payload))
        used = list(dict.fromkeys(([ROAD_COLOURS[0]] if payload["major"] else [])
                                  + [lv["colour"] for lv in payload["levels"]]))
        rl = _RoadsLayer("路网 roads (OpenStreetMap)", show=basemap == "roads" and not data.tiles, colours=used)
        rl.add_to(m)
        groups.setdefault(_GROUP_BASE, []).append(rl)
        drawn = {lv["colour"]: lv["minzoom"] for lv in payload["levels"]}
        if payload["major"] or ROAD_COLOURS[0] in drawn:
            legend.add("底图 basemap", ROAD_COLOURS[0], "line", "主要道路 major roads")
        if ROAD_COLOURS[1] in drawn:
            z = drawn[ROAD_COLOURS[1]]
            legend.add("底图 basemap", ROAD_COLOURS[1], "line",
                       "道路 roads" if "rank" not in roads.columns else
                       (f"其他道路 other（{z}级起 zoom ≥ {z}）" if z else "其他道路 other roads"))
    labels = _labels(data, units, gcj=gcj)
    if labels:
        root.html.add_child(_data_script("mz-labels", labels))
        ll = _LabelsLayer("地名与路名 place & road names")
        ll.add_to(m)
        groups.setdefault(_GROUP_BASE, []).append(ll)


def _add_coverage(mb: _Build, data: MapData, units: dict[str, gpd.GeoDataFrame]) -> None:
    """Coverage choropleths."""
    m, groups, legend = mb.m, mb.groups, mb.legend
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
            u = u[u["share"].notna()]  # units outside the analysed area are not coverage "0"
            if not len(u):
                continue
            u["share_txt"] = u["share"].map(lambda s: f"{100 * s:.1f}%")
            pop, fields, labels_ = _popup_frame(u, {"name": "名称", "share_txt": f"{t:g}分钟户数覆盖率", "hh": "户数",
                                                    "hh_cov": "覆盖户数"})
            gj = pd.concat([u[["geometry", "share"]], pop], axis=1)
            gj = gpd.GeoDataFrame(gj, geometry="geometry", crs=u.crs)

            def style(f: dict[str, Any]) -> dict[str, Any]:
                s = f["properties"].get("share")
                colour = SHARE_COLOURS[int(np.searchsorted(SHARE_BINS, s, side="right") - 1)]
                return {"fillColor": colour, "fillOpacity": 0.55, "stroke": False}

            layer = folium.GeoJson(_geojson(gj, ["share", *fields]),
                                   name=_layer_name(f"{LEVEL_ZH[level]}（{_kind_name(data.coverage_kind or '')} {t:g}分钟）"),
                                   style_function=style, show=level == "community" or "community" not in units,
                                   popup=folium.GeoJsonPopup(fields=fields, aliases=labels_, localize=False),
                                   tooltip=folium.GeoJsonTooltip(fields=fields[:2], aliases=labels_[:2], localize=False))
            layer.add_to(m)
            groups.setdefault(_GROUP_COV, []).append(layer)
        sec = f"{t:g}分钟户数覆盖率 households covered"
        if any(g == _GROUP_COV for g in groups):
            for c, a, b in zip(SHARE_COLOURS, SHARE_BINS, SHARE_BINS[1:], strict=False):
                legend.add(sec, c, "fill", f"{int(100 * a)}–{min(100, round(100 * b))}%" if a == 0 else
                           f"–{min(100, round(100 * b))}%")


def _add_admin(mb: _Build, units: dict[str, gpd.GeoDataFrame]) -> None:
    """Admin boundaries."""
    m, groups, legend = mb.m, mb.groups, mb.legend
    for level in ("community", "subdistrict", "district"):
        if level not in units:
            continue
        u = units[level]
        st = LEVEL_STYLE[level]
        pop, fields, labels_ = _popup_frame(u, {"name": "名称", "feature_id": "编码", "population": "常住人口",
                                                "households": "户数"})
        gj = gpd.GeoDataFrame(pd.concat([u[["geometry"]], pop], axis=1), geometry="geometry", crs=u.crs)
        layer = folium.GeoJson(_geojson(gj, fields), name=LEVEL_ZH[level],
                               style_function=lambda f, st=st: {"fill": False, "color": st["color"], "weight": st["weight"],
                                                                "dashArray": st["dashArray"]},
                               tooltip=folium.GeoJsonTooltip(fields=fields[:1], aliases=labels_[:1], localize=False))
        layer.add_to(m)
        groups.setdefault(_GROUP_ADMIN, []).append(layer)
        legend.add("行政区划 boundaries", str(st["color"]), "dash" if st["dashArray"] else "line", f"{LEVEL_ZH[level]}界")


def _add_service_areas(mb: _Build, data: MapData) -> None:
    """Service areas."""
    m, groups, legend, gcj = mb.m, mb.groups, mb.legend, mb.gcj
    if data.service_areas is not None and len(data.service_areas):
        sa = _prep(data.service_areas, gcj=gcj, tolerance_deg=3e-5)
        for kind, grp in sa.groupby("kind"):
            main = data.coverage_kind is None or str(kind) == data.coverage_kind
            fg = folium.FeatureGroup(name=_layer_name(f"{_kind_name(str(kind))} 5/10/15分钟"), show=main)
            for r in grp.sort_values("minutes", ascending=False).to_dict("records"):
                minutes = float(r["minutes"])
                colour, dash, fo = RING_STYLE.get(minutes, RING_STYLE[15.0])
                folium.GeoJson(shapely.geometry.mapping(r["geometry"]), interactive=False,
                               style_function=lambda f, c=colour, d=dash, o=fo: {
                                   "fillColor": c, "fillOpacity": o, "color": c, "weight": 2, "dashArray": d}).add_to(fg)
                legend.add("步行服务圈 walking time", colour, "dot" if dash == "2 5" else ("dash" if dash else "line"),
                           f"{minutes:g} 分钟 min")
            fg.add_to(m)
            groups.setdefault(_GROUP_RING, []).append(fg)


def _add_facilities(mb: _Build, fac: gpd.GeoDataFrame | None) -> list[gpd.GeoDataFrame]:
    """Facilities, one layer per kind."""
    m, groups, legend = mb.m, mb.groups, mb.legend
    search_src: list[gpd.GeoDataFrame] = []
    if fac is not None:
        kinds = list(dict.fromkeys(fac["kind"].astype(str)))
        for i, kind in enumerate(kinds):
            sub = fac[fac["kind"].astype(str) == kind]
            colour = PALETTE[i % len(PALETTE)]
            pop, fields, labels_ = _popup_frame(sub.assign(kind_zh=_kind_name(kind)), {
                "name": "名称", "kind_zh": "类型", "status": "状态", "feature_id": "编号", "address": "地址",
                "floor_area_m2": "建筑面积(㎡)", "beds": "床位数", "数据来源": "数据来源"})
            status = sub["status"].astype(str)
            fill = status.map(lambda s: STATUS_STYLE.get(s, (0.9, None))[0])
            dash = status.map(lambda s: STATUS_STYLE.get(s, (0.9, None))[1])
            gj = gpd.GeoDataFrame(pd.concat([sub[["geometry"]], pop], axis=1).assign(fo=fill.to_numpy(),
                                  da=dash.to_numpy()), geometry="geometry", crs=sub.crs)
            layer = folium.GeoJson(_geojson(gj, ["fo", "da", *fields]), name=_layer_name(f"{_kind_name(kind)}（{len(sub)}）"),
                                   marker=folium.CircleMarker(radius=7, fill=True),
                                   style_function=lambda f, c=colour: {"color": c, "fillColor": c, "weight": 2.5,
                                                                       "fillOpacity": f["properties"]["fo"],
                                                                       "dashArray": f["properties"]["da"]},
                                   popup=folium.GeoJsonPopup(fields=fields, aliases=labels_, localize=False),
                                   tooltip=folium.GeoJsonTooltip(fields=fields[:3], aliases=labels_[:3], localize=False))
            layer.add_to(m)
            groups.setdefault(_GROUP_FAC, []).append(layer)
            legend.add("设施 facilities（● 运营 ◐ 在建 ○ 规划）", colour, "circle", esc(_kind_name(kind)))
            search_src.append(gj.assign(_name=pop[fields[0]] if fields else ""))
    return search_src


def _add_gaps(mb: _Build, data: MapData) -> None:
    """Uncovered demand."""
    m, groups, legend, gcj = mb.m, mb.groups, mb.legend, mb.gcj
    if data.gaps is not None and len(data.gaps):
        gaps = _prep(data.gaps, gcj=gcj)
        gaps = _aggregate_points(gaps) if len(gaps) > MAX_POINTS else gaps.assign(n=1)
        hh = gaps["households"].astype(float) if "households" in gaps else pd.Series(1.0, index=gaps.index)
        gaps = gaps.assign(radius=np.clip(np.sqrt(hh.to_numpy()) / 2.0, 3, 14))
        pop, fields, labels_ = _popup_frame(gaps.assign(hh_txt=hh.round(0)), {"name": "名称", "hh_txt": "未覆盖户数",
                                                                              "n": "点数"})
        gj = gpd.GeoDataFrame(pd.concat([gaps[["geometry", "radius"]], pop], axis=1), geometry="geometry", crs=gaps.crs)
        layer = folium.GeoJson(_geojson(gj, ["radius", *fields]), name="未覆盖需求 uncovered",
                               marker=folium.CircleMarker(radius=5, fill=True),
                               style_function=lambda f: {"radius": f["properties"]["radius"], "color": UNCOVERED[0],
                                                         "fillColor": UNCOVERED[1], "fillOpacity": 0.6, "weight": 1},
                               popup=folium.GeoJsonPopup(fields=fields, aliases=labels_, localize=False))
        layer.add_to(m)
        groups.setdefault(_GROUP_DEMAND, []).append(layer)
        legend.add("需求 demand", UNCOVERED[1], "circle", "未覆盖户（圆大小=户数）uncovered", UNCOVERED[0])


def _add_sites(mb: _Build, data: MapData) -> None:
    """Proposed sites and the service areas they would add."""
    m, groups, legend, gcj = mb.m, mb.groups, mb.legend, mb.gcj
    if data.site_areas is not None and len(data.site_areas):
        sa2 = _prep(data.site_areas, gcj=gcj, tolerance_deg=3e-5)
        fg = folium.FeatureGroup(name="建议新址服务圈 proposed areas", show=True)
        for r in sa2.sort_values("minutes", ascending=False).to_dict("records"):
            folium.GeoJson(shapely.geometry.mapping(r["geometry"]), interactive=False,
                           style_function=lambda f: {"fillColor": PROPOSED[1], "fillOpacity": 0.1, "color": PROPOSED[0],
                                                     "weight": 1.2, "dashArray": "5 4"}).add_to(fg)
        fg.add_to(m)
        groups.setdefault(_GROUP_SITES, []).append(fg)
        legend.add("建议新址 proposed", PROPOSED[1], "fill", "建议新址服务圈 proposed areas", PROPOSED[0])
    if data.sites is not None and len(data.sites):
        sites = _prep(data.sites, gcj=gcj)
        pop, fields, labels_ = _popup_frame(sites, {"rank": "排序", "candidate_id": "候选址", "households_gained": "新增覆盖户数",
                                                    "cumulative_share": "累计覆盖率"})
        gj = gpd.GeoDataFrame(pd.concat([sites[["geometry"]], pop], axis=1), geometry="geometry", crs=sites.crs)
        layer = folium.GeoJson(_geojson(gj, fields), name="建议新址 proposed sites",
                               marker=folium.CircleMarker(radius=9, fill=True),
                               style_function=lambda f: {"color": PROPOSED[0], "fillColor": PROPOSED[1], "fillOpacity": 1,
                                                         "weight": 2},
                               popup=folium.GeoJsonPopup(fields=fields, aliases=labels_, localize=False))
        layer.add_to(m)
        groups.setdefault(_GROUP_SITES, []).append(layer)
        legend.add("建议新址 proposed", PROPOSED[1], "circle", "建议新址 proposed sites", PROPOSED[0])


def _add_markers(mb: _Build, data: MapData) -> None:
    """Boundary markers."""
    m, groups, legend, gcj = mb.m, mb.groups, mb.legend, mb.gcj
    if data.markers is not None and len(data.markers):
        mk = _prep(data.markers, gcj=gcj)
        pop, fields, labels_ = _popup_frame(mk, {"feature_id": "界桩编号", "line_id": "界线", "condition": "状况",
                                                 "last_inspection_date": "最近检查"})
        cond = mk["condition"].astype(str)
        gj = gpd.GeoDataFrame(pd.concat([mk[["geometry"]], pop], axis=1).assign(
            c=cond.map(lambda s: CONDITION_COLOURS.get(s, MARKER_OTHER)).to_numpy()), geometry="geometry", crs=mk.crs)
        layer = folium.GeoJson(_geojson(gj, ["c", *fields]), name="界桩 markers",
                               marker=folium.CircleMarker(radius=5, fill=True),
                               style_function=lambda f: {"color": f["properties"]["c"], "weight": 1,
                                                         "fillColor": f["properties"]["c"], "fillOpacity": 1},
                               popup=folium.GeoJsonPopup(fields=fields, aliases=labels_, localize=False))
        layer.add_to(m)
        groups.setdefault(_GROUP_MARKERS, []).append(layer)
        for c in dict.fromkeys(cond):
            legend.add("界桩 boundary markers", CONDITION_COLOURS.get(c, MARKER_OTHER), "circle",
                       esc(c) if c in CONDITION_COLOURS else "其他 other")


def _add_search(mb: _Build, search_src: list[gpd.GeoDataFrame]) -> None:
    """Search by name (an invisible index over the facilities)."""
    m = mb.m
    if search_src:
        allf = gpd.GeoDataFrame(pd.concat(search_src, ignore_index=True), geometry="geometry", crs="EPSG:4326")
        idx = folium.GeoJson(_geojson(allf, ["_name"]), name="search", control=False,
                             marker=folium.CircleMarker(radius=1, opacity=0, fill=False),
                             style_function=lambda f: {"opacity": 0, "fillOpacity": 0})
        idx.add_to(m)
        search = Search(layer=idx, search_label="_name", placeholder="搜索设施名称 search by name", collapsed=False,
                        position="topleft", search_zoom=17)
        search.add_to(m)
        _PhoneSearch(search).add_to(m)


def _labels(data: MapData, units: dict[str, gpd.GeoDataFrame], *, gcj: bool) -> list[list[Any]]:
    """``[lat, lon, escaped text, minzoom, class]`` rows: place names, then road names."""
    from mzgis.maps.labels import place_label_points

    out: list[list[Any]] = []
    frames = []  # (rows, shift to GCJ-02): the units are already converted by _prep, the roads are WGS-84
    places = place_label_points(units)
    if len(places):
        frames.append((places.assign(cls=places["level"]), False))
    if data.labels is not None and len(data.labels):
        frames.append((data.labels.assign(cls="road"), gcj))
    for f, shift in frames:
        lon, lat = f["lon"].to_numpy(float), f["lat"].to_numpy(float)
        if shift:
            lon, lat = cc.wgs84_to_gcj02(lon, lat)
        for x, y, text, mz, cls in zip(lon, lat, f["text"], f["minzoom"], f["cls"], strict=True):
            out.append([round(float(y), 5), round(float(x), 5), esc(text), int(mz), esc(cls)])
    return out


_CSS = """<style>
.mz-panel{position:fixed;z-index:1000;background:rgba(255,255,255,.94);padding:4px 8px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.35 'Noto Sans CJK SC','Microsoft YaHei',sans-serif}
.mz-panel summary{cursor:pointer;font-weight:bold;padding:2px 0;list-style-position:inside}
.mz-panel table{border-collapse:collapse}.mz-panel td{padding:1px 4px;vertical-align:top}
#mz-title{top:8px;left:50%;transform:translateX(-50%);font-size:15px;font-weight:bold;max-width:calc(100vw - 150px);
 white-space:nowrap;overflow:hidden;text-overflow:ellipsis;pointer-events:none;padding:3px 10px}
#mz-title small{font-weight:normal;color:#b35806;font-size:11px}
#mz-summary{bottom:22px;right:8px;max-width:min(380px,calc(100vw - 24px))}
#mz-summary .mz-body{max-height:min(60vh,520px);overflow:auto}
#mz-legend{bottom:34px;left:8px;max-width:min(280px,calc(100vw - 24px))}
#mz-legend .mz-body{max-height:min(55vh,460px);overflow:auto}
.mz-sec{margin-top:3px;color:#333;font-weight:bold}
.mz-sw{display:inline-block;width:16px;height:11px;margin-right:4px;vertical-align:middle;box-sizing:border-box}
.mz-ok{color:#1a7f37;font-weight:bold}.mz-bad{color:#c62828;font-weight:bold}.mz-na{color:#777}
.mz-label{white-space:nowrap;font:12px 'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#333;
 text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;transform:translate(-50%,-50%);pointer-events:none}
.mz-label-district{font-size:16px;font-weight:bold;color:#222}.mz-label-subdistrict{font-size:14px;font-weight:bold;color:#333}
.mz-label-community{font-size:12px;color:#555}.mz-label-road{font-size:11px;color:#5a4a3a;font-style:italic}
.mz-in{display:inline-block;margin-right:6px;white-space:nowrap}
.leaflet-control-layers-expanded{max-height:calc(100vh - 160px);overflow:auto;padding:3px 8px 3px 5px}
.leaflet-control-layers,.leaflet-control-layers label,.leaflet-control-layers span{font-size:12px;line-height:1.3}
.leaflet-control-layers-group-name{margin:2px 0 0 1px;font-weight:bold;display:block}
.leaflet-control-layers-group{margin-bottom:2px}
.leaflet-control-layers-selector{margin:1px 3px 1px 0;vertical-align:-2px}
@media (max-width:700px){ #mz-title{font-size:13px;max-width:calc(100vw - 130px)}
 .leaflet-control-layers-expanded{max-height:calc(100vh - 200px)} }
</style>"""

#: the legend opens on a desk when it fits (the controls and panels then cover at most 14 % of the
#: window, by the sum of their boxes), else it stays a one-line header like on a phone
_OPEN_SCRIPT = (f"<script>window.addEventListener('load',function(){{if(window.innerWidth<{SMALL_SCREEN_PX})return;"
                "var l=document.getElementById('mz-legend');if(!l)return;l.open=true;var a=0;"
                "document.querySelectorAll('.leaflet-control, .mz-panel').forEach(function(e){"
                "var r=e.getBoundingClientRect();a+=r.width*r.height;});"
                "if(a>0.14*window.innerWidth*window.innerHeight)l.open=false;});</script>")


def _title(data: MapData) -> str:
    sample = "<br><small>示例数据 sample data（随机生成，非真实）</small>" if data.sample else ""
    return f"<div class='mz-panel' id='mz-title'>{_esc(data.title)}{sample}</div>"


def _panel(data: MapData) -> str:
    rows = []
    passed = failed = 0
    if data.indicators is not None:
        for r in data.indicators.to_dict("records"):
            ok = r.get("passed")
            passed += ok is True
            failed += ok is False
            cls, mark = ("mz-ok", "✔ 达标") if ok is True else (("mz-bad", "✘ 未达标") if ok is False else ("mz-na", "— 不适用"))
            actual = "—" if r["actual"] != r["actual"] else f"{r['actual']:.4g}"
            rows.append(f"<tr><td>{_esc(r['name_zh'])}<br><small>{_esc(r['binding'])}</small></td>"
                        f"<td>{_esc(actual)}&nbsp;/&nbsp;{_esc(r['comparator'])}{_esc(r['target'])}{_esc(r['unit'])}</td>"
                        f"<td class='{cls}'>{mark}</td></tr>")
    head = (f"关键指标 key indicators：<span class='mz-ok'>{passed} 达标</span> · <span class='mz-bad'>{failed} 未达标</span>"
            if rows else "关键指标 key indicators")
    sample = "<div style='color:#b35806'>示例数据 sample data（随机生成，非真实）</div>" if data.sample else ""
    return (f"<details class='mz-panel' id='mz-summary'><summary>{head}</summary><div class='mz-body'>"
            f"<div><b>{_esc(data.title)}</b></div>{sample}<table>{''.join(rows) or '<tr><td>（未评估 none）</td></tr>'}</table></div></details>")


def _swatch(colour: str, kind: str, stroke: str = "") -> str:
    c, k = esc(colour), esc(stroke or colour)
    if kind == "fill":
        style = f"background:{c};border:{'1px solid #bbb' if not stroke else f'1.5px dashed {k}'}"
    elif kind == "circle":
        style = f"background:{c};border-radius:50%;width:11px;border:{'1px' if not stroke else '2px'} solid {k}"
    else:
        line = {"line": "solid", "dash": "dashed", "dot": "dotted"}[kind]
        style = f"height:0;border-top:3px {line} {c};margin-top:4px"
    extra = f" data-stroke='{k}'" if stroke else ""
    return f"<i class='mz-sw' data-colour='{c}'{extra} style='{style}'></i>"


#: legend sections drawn as one row (a ramp, the rings)
_INLINE = ("户数覆盖率", "步行服务圈", "行政区划", "界桩")


def _legend_html(legend: _Legend) -> str:
    parts, section = [], None
    for sec, colour, kind, label, stroke in legend.rows:
        if sec != section:
            parts.append(f"<div class='mz-sec'>{esc(sec)}</div>")
            section = sec
        tag = "span class='mz-in'" if any(k in sec for k in _INLINE) else "div"
        parts.append(f"<{tag}>{_swatch(colour, kind, stroke)}{label}</{tag.split()[0]}>")
    return (f"<details class='mz-panel' id='mz-legend'><summary>图例 legend</summary><div class='mz-body'>{''.join(parts)}"
            "<div style='color:#777;margin-top:3px'>路网与路名 roads © OpenStreetMap contributors</div></div></details>")


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


def save_map(m: folium.Map, path: str | Path) -> tuple[Path, int]:
    """Write the page with every asset inlined (no network request); returns the path and size."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    page = inline_assets(m.get_root().render())
    p.write_text(page, encoding="utf-8")
    return p, p.stat().st_size


