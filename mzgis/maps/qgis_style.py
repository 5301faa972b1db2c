"""QGIS styles (QML) in the web map's palette (:mod:`mzgis.maps.palette`), so a layer opened in QGIS
looks as it does in the browser:

* facilities — categorized by ``status``: 建成运营 filled, 在建 half-filled with a dashed outline,
  规划 hollow with a dotted outline, in the colour of the layer's kind (the web map's order of kinds);
* coverage polygons — graduated by ``share_covered_<T>min`` in the coverage blues and classes;
* service areas — graduated by ``minutes`` in the ring colours; uncovered demand in the reds;
  boundaries and boundary lines in the greys of their level; boundary markers by ``condition``;
  proposed sites yellow with black.

The XML is built with :mod:`xml.etree.ElementTree` (layer names, categories and labels are user
text: escaped by the serializer, never pasted into markup). Symbols carry their properties both
as ``<Option>`` maps (QGIS ≥ 3.26) and ``<prop>`` elements (earlier QGIS 3), each version reading
its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from mzgis.layers.kinds import KINDS
from mzgis.layers.schemas import OPERATING, PLANNED, UNDER_CONSTRUCTION
from mzgis.layers.store.styles import StyleTarget
from mzgis.maps.palette import (
    CONDITION_COLOURS,
    LEVEL_STYLE,
    MARKER_OTHER,
    PALETTE,
    PROPOSED,
    RING_STYLE,
    SHARE_BINS,
    SHARE_COLOURS,
    STATUS_STYLE,
    UNCOVERED,
)

__all__ = ["QGIS_VERSION", "coverage_qml", "geometry_kind", "kind_colour", "layer_qml", "renderer_element",
           "to_qml"]

QGIS_VERSION = "3.22.0-Białowieża"
STATUS_LABELS = {OPERATING: "建成运营 operating", UNDER_CONSTRUCTION: "在建 under construction", PLANNED: "规划 planned"}
_PX_TO_MM = 0.26  # the web map's pixels → QGIS millimetres


def kind_colour(index: int) -> str:
    """The colour of the ``index``-th facility kind (as the web map colours them)."""
    return PALETTE[index % len(PALETTE)]


def geometry_kind(geometry: str) -> str:
    """``marker``, ``line`` or ``fill`` for a GeoPackage geometry type name."""
    g = geometry.upper()
    if "POLYGON" in g:
        return "fill"
    if "LINE" in g:
        return "line"
    return "marker"


def _rgba(colour: str, alpha: float = 1.0) -> str:
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{round(255 * alpha)}"


def _dash(pattern: str | None) -> str:
    """A Leaflet dash array (``"3 2"``) as a QGIS pen style."""
    if not pattern:
        return "solid"
    first = float(pattern.split()[0])
    return "dot" if first <= 2 else "dash"


def _symbol_layer(sym: ET.Element, cls: str, props: dict[str, str]) -> None:
    lay = ET.SubElement(sym, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    opt = ET.SubElement(lay, "Option", {"type": "Map"})
    for k, v in props.items():
        ET.SubElement(opt, "Option", {"name": k, "type": "QString", "value": v})
    for k, v in props.items():
        ET.SubElement(lay, "prop", {"k": k, "v": v})


def _symbol(name: str, geom: str, *, colour: str, fill_alpha: float = 1.0, outline: str | None = None,
            outline_alpha: float = 1.0, width_px: float = 1.0, dash: str | None = None, size_px: float = 7.0,
            no_outline: bool = False) -> ET.Element:
    """One QGIS symbol in the web map's terms (colour, fill opacity, stroke, weight, dash)."""
    sym = ET.Element("symbol", {"name": name, "type": geom, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"})
    stroke = _rgba(outline or colour, outline_alpha)
    width = f"{width_px * _PX_TO_MM:.2f}"
    style = "no" if no_outline else _dash(dash)
    if geom == "marker":
        _symbol_layer(sym, "SimpleMarker", {
            "name": "circle", "color": _rgba(colour, fill_alpha), "outline_color": stroke, "outline_style": style,
            "outline_width": width, "outline_width_unit": "MM", "size": f"{2 * size_px * _PX_TO_MM:.2f}",
            "size_unit": "MM"})
    elif geom == "line":
        _symbol_layer(sym, "SimpleLine", {"line_color": stroke, "line_style": style, "line_width": width,
                                          "line_width_unit": "MM", "capstyle": "round", "joinstyle": "round"})
    else:
        _symbol_layer(sym, "SimpleFill", {
            "color": _rgba(colour, fill_alpha), "style": "solid" if fill_alpha > 0 else "no",
            "outline_color": stroke, "outline_style": style, "outline_width": width, "outline_width_unit": "MM"})
    return sym


def _single(sym: ET.Element) -> ET.Element:
    r = ET.Element("renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "forceraster": "0",
                                   "enableorderby": "0"})
    syms = ET.SubElement(r, "symbols")
    sym.set("name", "0")
    syms.append(sym)
    return r


def _categorized(attr: str, cats: Sequence[tuple[str, str, ET.Element]]) -> ET.Element:
    """``cats``: (value, label, symbol); the value "" is QGIS's "all other values"."""
    r = ET.Element("renderer-v2", {"type": "categorizedSymbol", "attr": attr, "symbollevels": "0",
                                   "forceraster": "0", "enableorderby": "0"})
    ce, se = ET.SubElement(r, "categories"), ET.SubElement(r, "symbols")
    for i, (value, label, sym) in enumerate(cats):
        ET.SubElement(ce, "category", {"value": value, "label": label, "symbol": str(i), "render": "true"})
        sym.set("name", str(i))
        se.append(sym)
    return r


def _graduated(attr: str, ranges: Sequence[tuple[float, float, str, ET.Element]]) -> ET.Element:
    r = ET.Element("renderer-v2", {"type": "graduatedSymbol", "attr": attr, "graduatedMethod": "GraduatedColor",
                                   "symbollevels": "0", "forceraster": "0", "enableorderby": "0"})
    re_, se = ET.SubElement(r, "ranges"), ET.SubElement(r, "symbols")
    for i, (lo, hi, label, sym) in enumerate(ranges):
        ET.SubElement(re_, "range", {"lower": f"{lo:g}", "upper": f"{hi:g}", "label": label, "symbol": str(i),
                                     "render": "true"})
        sym.set("name", str(i))
        se.append(sym)
    ET.SubElement(r, "mode", {"name": "manual"})
    return r


def facility_renderer(colour: str) -> ET.Element:
    """Categorized by status, as the web map draws the statuses (fill opacity and dash)."""
    cats = []
    for status, (fill, dash) in STATUS_STYLE.items():
        cats.append((status, STATUS_LABELS[status], _symbol("", "marker", colour=colour, fill_alpha=fill, width_px=2.5,
                                                            dash=dash)))
    cats.append(("", "其他 other", _symbol("", "marker", colour=colour, fill_alpha=0.9, width_px=2.5)))
    return _categorized("status", cats)


def share_renderer(attr: str) -> ET.Element:
    """Coverage shares (0–1) in the web map's classes and blues (no outline, fill 0.55)."""
    ranges = []
    for c, lo, hi in zip(SHARE_COLOURS, SHARE_BINS, SHARE_BINS[1:], strict=False):
        label = f"{round(100 * lo)}–{min(100, round(100 * hi))}%"
        ranges.append((lo, hi, label, _symbol("", "fill", colour=c, fill_alpha=0.55, no_outline=True)))
    return _graduated(attr, ranges)


def _rings_renderer(geom: str) -> ET.Element:
    ranges, lo = [], 0.0
    for minutes, (c, dash, fo) in sorted(RING_STYLE.items()):
        ranges.append((lo, minutes, f"{minutes:g} 分钟 min", _symbol("", geom, colour=c, fill_alpha=fo, width_px=2,
                                                                      dash=dash)))
        lo = minutes
    c, dash, fo = RING_STYLE[max(RING_STYLE)]
    ranges.append((lo, 1e9, f"> {lo:g} 分钟 min", _symbol("", geom, colour=c, fill_alpha=fo, width_px=2, dash=dash)))
    return _graduated("minutes", ranges)


def _level_symbol(level: str | None, geom: str) -> ET.Element:
    st = LEVEL_STYLE.get(level or "", LEVEL_STYLE["community"])
    return _symbol("", geom, colour=str(st["color"]), fill_alpha=0.0, width_px=float(st["weight"]),  # type: ignore[arg-type]
                   dash=st["dashArray"])  # type: ignore[arg-type]


def renderer_element(t: StyleTarget) -> ET.Element:
    """The ``<renderer-v2>`` of a store layer."""
    geom = geometry_kind(t.geometry)
    if t.layer_type == "facilities":
        return facility_renderer(kind_colour(t.kind_index))
    if t.layer_type in ("admin_units", "boundary_lines"):
        return _single(_level_symbol(t.level, geom))
    if t.layer_type == "service_areas":
        return _rings_renderer(geom)
    if t.layer_type == "gaps":
        return _single(_symbol("", geom, colour=UNCOVERED[1], fill_alpha=0.6, outline=UNCOVERED[0], size_px=5))
    if t.layer_type in ("sites", "candidates"):
        fill = 1.0 if t.layer_type == "sites" else 0.0
        return _single(_symbol("", geom, colour=PROPOSED[1], fill_alpha=fill if geom == "marker" else 0.1,
                               outline=PROPOSED[0], width_px=2, size_px=9 if t.layer_type == "sites" else 5))
    if t.layer_type == "boundary_markers":
        cats = [(c, c, _symbol("", geom, colour=col, size_px=5)) for c, col in CONDITION_COLOURS.items()]
        cats.append(("", "其他 other", _symbol("", geom, colour=MARKER_OTHER, size_px=5)))
        return _categorized("condition", cats)
    # demand, addresses, place names, findings, access …: a plain grey (no meaning taken from the map)
    return _single(_symbol("", geom, colour="#636363", fill_alpha=0.5 if geom != "fill" else 0.15, size_px=3))


def to_qml(renderer: ET.Element) -> str:
    """A whole ``.qml`` document around a renderer (symbology only)."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology"})
    root.append(renderer)
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body


def layer_qml(t: StyleTarget) -> str:
    """The QML of a store layer (the styler :mod:`mzgis.layers.store.styles` calls)."""
    return to_qml(renderer_element(t))


def coverage_qml(attr: str) -> str:
    """The QML of a coverage-polygon layer shaded by ``attr`` (a ``share_covered_<T>min`` column)."""
    return to_qml(share_renderer(attr))


def kind_label(kind: str | None) -> str:
    """A facility kind's Chinese name (the id when unknown)."""
    k = KINDS.get(kind or "")
    return k.name_zh if k else (kind or "")
