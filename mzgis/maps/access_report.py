"""Presenting accessibility, equity and scenarios: the Lorenz curve PNG, an HTML report section
and a choropleth layer for the interactive map. Values are shown, never computed here; every
value that reaches HTML is escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from jinja2 import Template

from mzgis.errors import LayerError
from mzgis.maps.summary import Table, fmt_count, fmt_number, fmt_share

__all__ = ["access_breaks", "access_layer", "access_legend", "access_map_layer", "access_report_tables",
           "access_section_html", "layer_control_last", "lorenz_png", "newly_covered_layer"]

#: light → dark, for low → high access (a colour-blind-safe sequential ramp)
RAMP = ("#fff7ec", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000")


def lorenz_png(curves: Mapping[str, pd.DataFrame], path: Path, *, title: str, gini: Mapping[str, float],
               dpi: int = 120) -> Path:
    """Lorenz curves (one per name, e.g. per scenario) with the line of equality; Gini in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mzgis.maps.report import cjk_font

    font = cjk_font()
    rc: dict[str, Any] = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with plt.rc_context(rc):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(5.5, 5.5))
        ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls="--", label="完全均等 equality")
        for name, lc in curves.items():
            g = gini.get(name, float("nan"))
            ax.plot(lc["demand_share"], lc["access_share"], lw=2,
                    label=f"{name} (Gini {float(g):.3f})" if np.isfinite(float(g)) else str(name))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("需求累计占比 cumulative share of demand (worst served first)")
        ax.set_ylabel("可达性累计占比 cumulative share of access")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
        ax.set_aspect("equal")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
    return path


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, float | np.floating):
        f = float(v)
        return html.escape(f"{f:,.2f}" if abs(f) < 1e4 else f"{f:,.0f}")
    return html.escape(str(v))


def _table(df: pd.DataFrame, columns: Mapping[str, str]) -> str:
    cols = [c for c in columns if c in df.columns]
    head = "".join(f"<th>{html.escape(columns[c])}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r[c])}</td>" for c in cols) + "</tr>" for r in df.to_dict("records"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def access_section_html(*, title: str, summary: Sequence[str], by_unit: pd.DataFrame | None = None,
                        worst: pd.DataFrame | None = None, compare: pd.DataFrame | None = None,
                        scenario_names: Sequence[str] = (), pngs: Sequence[str] = (),
                        map_file: str | None = None, standalone: bool = True) -> str:
    """The accessibility/equity (and scenario comparison) section of the report, as HTML.

    With ``standalone`` a whole page; otherwise a ``<section>`` to put into another page."""
    parts = [f"<section class='access'><h2>{html.escape(title)}</h2>",
             "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in summary) + "</ul>"]
    for p in pngs:
        parts.append(f"<img src='{html.escape(p, quote=True)}' alt='Lorenz' style='max-width:480px'>")
    if by_unit is not None and len(by_unit):
        parts.append("<h3>分单位可达性 access per unit</h3>")
        parts.append(_table(by_unit, {"level": "层级", "unit_code": "单位编码", "unit_name": "单位名称", "demand": "需求",
                                      "access": "可达性 access", "supply_reachable": "可达供给 supply within reach",
                                      "share_below_target": "低于目标的需求占比 share below target", "gini": "Gini"}))
    if worst is not None and len(worst):
        parts.append("<h3>服务最差的十个社区 ten worst-served communities</h3>")
        parts.append(_table(worst, {"unit_code": "单位编码", "unit_name": "单位名称", "demand": "需求",
                                    "access": "可达性 access", "supply_reachable": "可达供给"}))
    if compare is not None and len(compare):
        parts.append("<h3>情景对比 scenarios side by side</h3>")
        cols = {"level": "层级", "unit_code": "单位编码", "unit_name": "单位名称", "households": "户数"}
        for s in scenario_names:
            cols[f"households_covered_{s}"] = f"覆盖户数 {s}"
            cols[f"access_{s}"] = f"可达性 {s}"
        for s in list(scenario_names)[1:]:
            cols[f"households_covered_change_{s}"] = f"覆盖户数变化 Δ {s}"
            cols[f"access_change_{s}"] = f"可达性变化 Δ {s}"
        parts.append(_table(compare, cols))
    if map_file:
        parts.append(f"<p><a href='{html.escape(map_file, quote=True)}'>交互地图 interactive map</a></p>")
    parts.append("</section>")
    body = "\n".join(parts)
    if not standalone:
        return body
    style = ("body{font-family:'Noto Sans CJK SC',sans-serif;margin:1.5em}table{border-collapse:collapse;"
             "font-size:13px;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             "th{background:#f3f3f3}")
    return (f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{body}</body></html>")


def access_breaks(values: np.ndarray) -> np.ndarray:
    """Quantile class breaks for the choropleth (shared by several layers to compare them)."""
    return _breaks(np.asarray(values, dtype=float))


def access_legend(m: folium.Map, breaks: np.ndarray, *, label: str, element_id: str = "") -> None:
    """A fixed legend (bottom right) for the access classes; text escaped. With ``element_id`` the
    box carries that id (for :class:`_ShownWith`) and starts hidden."""
    edges = [float("nan"), *[float(b) for b in breaks], float("nan")]
    rows = []
    for i in range(len(breaks) + 1):
        lo, hi = edges[i], edges[i + 1]
        text = (f"< {_cell(hi)}" if i == 0 else (f"≥ {_cell(lo)}" if i == len(breaks) else f"{_cell(lo)} – {_cell(hi)}"))
        rows.append(f"<div><span style='display:inline-block;width:14px;height:10px;background:{RAMP[min(i, len(RAMP) - 1)]};"
                    f"border:1px solid #999;margin-right:4px'></span>{text}</div>")
    ident = f"id='{html.escape(element_id, quote=True)}' " if element_id else ""
    hidden = "display:none;" if element_id else ""
    box = (f"<div {ident}style='{hidden}position:fixed;bottom:110px;right:10px;z-index:1000;background:white;padding:6px 8px;"
           "font-size:12px;border-radius:4px;box-shadow:0 0 4px rgba(0,0,0,.3)'>"
           f"<b>可达性 access</b><br>{html.escape(label)}{''.join(rows)}</div>")
    root: Any = m.get_root()
    root.html.add_child(folium.Element(box))


def _breaks(values: np.ndarray) -> np.ndarray:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.zeros(len(RAMP) - 1)
    return np.unique(np.quantile(v, np.linspace(0, 1, len(RAMP) + 1)[1:-1]))


def access_layer(m: folium.Map, units: gpd.GeoDataFrame, by_unit: pd.DataFrame, *, name: str,
                 label: str, show: bool = True, breaks: np.ndarray | None = None) -> folium.FeatureGroup:
    """Add a choropleth of per-unit access (quantile classes) to a folium map; tooltips escaped."""
    t = by_unit.set_index("unit_code")
    g = units[["feature_id", "name", "geometry"]].to_crs("EPSG:4326").copy()
    codes = g["feature_id"].astype(str)
    g["access"] = codes.map(t["access"]).astype(float)
    g["demand"] = codes.map(t["demand"]).astype(float)
    br = _breaks(g["access"].to_numpy()) if breaks is None else breaks
    cls = np.where(np.isfinite(g["access"]), np.searchsorted(br, g["access"].fillna(0).to_numpy(), side="right"), -1)
    g["fill"] = [RAMP[min(int(c), len(RAMP) - 1)] if c >= 0 else "#cccccc" for c in cls]
    g["tip"] = [f"{html.escape(str(n))}<br>{html.escape(label)}: {_cell(a)}<br>需求 demand: {_cell(d)}"
                for n, a, d in zip(g["name"], g["access"], g["demand"], strict=True)]
    fg = folium.FeatureGroup(name=name, show=show)
    folium.GeoJson(g[["tip", "fill", "geometry"]].__geo_interface__,
                   style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#555555",
                                             "weight": 0.8, "fillOpacity": 0.6},
                   tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(fg)
    fg.add_to(m)
    return fg


def newly_covered_layer(m: folium.Map, points: gpd.GeoDataFrame, *, name: str, color: str = "#1a9850",
                        show: bool = True) -> folium.FeatureGroup:
    """Add demand points newly covered in a scenario as small circles."""
    fg = folium.FeatureGroup(name=name, show=show)
    if len(points):
        p = points.to_crs("EPSG:4326")
        pts = p.geometry.where(p.geom_type == "Point", p.geometry.representative_point())
        hh = p["households"].to_numpy(dtype=float) if "households" in p else np.full(len(p), np.nan)
        g = gpd.GeoDataFrame({"tip": [f"新覆盖 newly covered: {_cell(float(h))} 户 households" for h in hh]},
                             geometry=pts.to_numpy(), crs="EPSG:4326")
        # one GeoJSON layer of small circles (not one marker object per point)
        folium.GeoJson(g.__geo_interface__,
                       marker=folium.CircleMarker(radius=3, color=color, fill=True, fill_color=color,
                                                  fill_opacity=0.8, weight=0),
                       tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False)).add_to(fg)
    fg.add_to(m)
    return fg


def layer_control_last(m: folium.Map, *, group: str = "可达性 access") -> None:
    """Move the map's layer control after layers added to a finished map, so its script sees them
    (folium writes children in order; a control written first would refer to undefined layers).

    With the grouped layer control of :mod:`mzgis.maps.webmap`, the feature groups added after the
    map was built are listed in it under ``group`` (names escaped: Leaflet shows them as HTML)."""
    from folium.plugins import GroupedLayerControl

    from mzgis.maps.safe_html import esc

    listed: set[str] = set()
    for child in m._children.values():
        if isinstance(child, GroupedLayerControl):
            for overlays in child.grouped_overlays.values():
                listed.update(overlays.values())
    extra = {esc(c.layer_name): c.get_name() for c in m._children.values()
             if isinstance(c, folium.FeatureGroup) and c.get_name() not in listed}
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl | GroupedLayerControl):
            if isinstance(child, GroupedLayerControl) and extra:
                child.grouped_overlays.setdefault(esc(group), {}).update(extra)
            del m._children[key]
            m._children[key] = child


def access_report_tables(by_unit: pd.DataFrame, worst: pd.DataFrame, *, lorenz: Path | None = None,
                         source: str = "") -> list[Table]:
    """The accessibility/equity section of the report (HTML and Word) as two tables: what was
    measured and how (method, units, threshold, facilities counted) with the jurisdiction's access,
    Gini and share of demand below the target, the Lorenz curve under it; then the ten worst-served
    communities. ``by_unit``/``worst`` are the ``access_<kind>_units.csv``/``_worst.csv`` tables."""
    jur = by_unit[by_unit["level"] == "jurisdiction"]
    r = (jur if len(jur) else by_unit).iloc[0].to_dict()
    unit = str(r.get("access_unit_zh") or r.get("access_unit") or "")
    kind = str(r.get("facility_kind") or "")
    target = r.get("target")
    has_target = target is not None and not (isinstance(target, float) and np.isnan(target))
    rows = [
        ("方法 method", f"{r.get('method', '')}（距离衰减 decay: {r.get('decay', '')}）"),
        ("单位 units", unit),
        *([("供给 supply", str(r["supply"]))] if r.get("supply") else []),
        ("阈值 threshold", str(r.get("threshold", ""))),
        ("计入设施 facilities counted", f"{kind}（{r.get('facility_status', '')}）"),
        (f"全辖区可达性 access ({r.get('unit_name', '')})", fmt_number(r.get("access"))),
        ("需求 demand", fmt_count(r.get("demand"))),
        ("基尼系数 Gini", "—" if _absent(r.get("gini")) else f"{float(r['gini']):.3f}"),
        ("低于目标的需求占比 share of demand below the target",
         fmt_share(r.get("share_below_target")) if has_target else "未设目标 no target"),
        ("目标 target", fmt_number(target, f" {unit}") if has_target else "—"),
    ]
    head = Table(f"access_{_key(kind)}", f"可达性与公平：{kind}", ["项目 item", "数值 value"], figure=lorenz,
                 note=("洛伦兹曲线见下图 Lorenz curve below; " if lorenz is not None else "") + source)
    for k, v in rows:
        head.rows.append([k, v])
        head.classes.append(["", "num" if re.fullmatch(r"[\d,.]+%?", v) else ""])
    low = Table(f"access_worst_{_key(kind)}", f"服务最差的十个社区：{kind}",
                ["单位编码", "社区", "需求 demand", f"可达性 access ({unit})", "可达供给 supply within reach"])
    for w in worst.head(10).to_dict("records"):
        low.rows.append([str(w.get("unit_code", "")), str(w.get("unit_name", "")), fmt_count(w.get("demand")),
                         fmt_number(w.get("access")), fmt_number(w.get("supply_reachable"))])
        low.classes.append(["", "", "num", "num", "num"])
    return [head, low] if len(worst) else [head]


def _absent(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not np.isfinite(v))


def _key(text: str) -> str:
    """A table key (an HTML id) from a kind name: ASCII letters and digits only."""
    from mzgis.layers.kinds import get_kind

    try:
        return get_kind(text).id
    except LayerError:  # a kind the table names but mzgis does not know: a neutral key
        return "kind"


def access_map_layer(m: folium.Map, units: Mapping[str, gpd.GeoDataFrame], by_unit: pd.DataFrame, *,
                     name: str, label: str) -> bool:
    """Add the access choropleth of the finest level that has units (community, else subdistrict)
    and its legend to a finished map, listed in its grouped layer control; False if no level fits."""
    level = next((lv for lv in ("community", "subdistrict") if lv in units and (by_unit["level"] == lv).any()), None)
    if level is None:
        return False
    rows = by_unit[by_unit["level"] == level]
    br = access_breaks(rows["access"].to_numpy(dtype=float))
    fg = access_layer(m, units[level], rows, name=name, label=label, show=False, breaks=br)
    legend_id = f"legend_{fg.get_name()}"
    access_legend(m, br, label=label, element_id=legend_id)
    m.add_child(_ShownWith(fg, legend_id))
    layer_control_last(m)
    return True


class _ShownWith(MacroElement):
    """Show an element (a legend) only while a layer is on the map: a legend for a layer that is
    switched off would describe colours nobody sees, and take room on a phone."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var el = document.getElementById({{ this.element_id|tojson }});
  if (!el) { return; }
  var layer = {{ this.layer.get_name() }};
  layer.on('add', function () { el.style.display = 'block'; });
  layer.on('remove', function () { el.style.display = 'none'; });
  el.style.display = {{ this._parent.get_name() }}.hasLayer(layer) ? 'block' : 'none';
})();
{% endmacro %}
""")

    def __init__(self, layer: folium.FeatureGroup, element_id: str) -> None:
        super().__init__()
        self.layer = layer
        self.element_id = element_id
