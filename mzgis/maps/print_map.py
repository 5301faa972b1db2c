"""Print-ready maps (PDF at A4/A3, landscape or portrait, and the PNG in reports) with what a map
sheet needs: title, legend, scale bar, north arrow, 制图单位 (issuing unit), 制图日期 (date), data
sources and the "what was counted" notes.

Drawn with matplotlib in the data's UTM zone, so the scale bar (matplotlib-scalebar) measures
metres; Chinese is drawn with Noto Sans CJK (:func:`cjk_font`), embedded in the PDF as a subset
(Type 3 with a Unicode map: its text can be searched and copied; Type 42 would spend seconds
subsetting the CJK font for each sheet). Layers are drawn as matplotlib collections straight from
the shapely geometries. Every name is drawn as plain text
(``parse_math=False``: ``$…$`` is not mathtext). Community and facility names are placed only
where they fit: a label that would overlap one already placed, the scale bar, the north arrow or
the frame is left out (larger communities first).
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mzgis.errors import ConfigError
from mzgis.layers.kinds import KINDS
from mzgis.layers.schemas import OPERATING, PLANNED, UNDER_CONSTRUCTION
from mzgis.maps.webmap import PROPOSED, SHARE_BINS, SHARE_COLOURS, UNCOVERED, MapData

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PAPERS", "SheetInfo", "cjk_font", "draw_sheet", "paper_names", "render_map", "render_sheets", "text_width", "wrap"]

log = logging.getLogger(__name__)

#: Paper sizes in millimetres (portrait: width, height).
PAPERS = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("landscape", "portrait")
_CJK_NAMES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC", "WenQuanYi Zen Hei",
              "Source Han Sans SC", "SimHei", "Microsoft YaHei")
_SA_COLOURS = ((15.0, "#f46d43"), (10.0, "#fdae61"), (5.0, "#1a9850"))
MM = 1 / 25.4
#: status → matplotlib fill style, as the web map's solid / half / hollow
STATUS_FILL = {OPERATING: "full", UNDER_CONSTRUCTION: "left", PLANNED: "none"}


def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs (Debian: fonts-noto-cjk), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for n in _CJK_NAMES:
        if n in names:
            return n
    return None


def paper_names(paper: str = "all") -> list[tuple[str, str]]:
    """``(size, orientation)`` pairs for ``--paper``: ``all``, ``A4``, ``A3``, or e.g.
    ``A4-landscape``, ``A3-portrait``; several comma-separated."""
    out: list[tuple[str, str]] = []
    for part in (p.strip() for p in paper.split(",") if p.strip()):
        if part.lower() == "all":
            out += [(s, o) for s in PAPERS for o in ORIENTATIONS]
            continue
        size, _, orient = part.partition("-")
        size = size.upper()
        if size not in PAPERS or (orient and orient.lower() not in ORIENTATIONS):
            msg = (f"不认识的纸张 unknown --paper '{part}'; use all, A4, A3, A4-landscape, A4-portrait, "
                   "A3-landscape or A3-portrait (comma-separated)")
            raise ConfigError(msg)
        out += [(size, o) for o in ([orient.lower()] if orient else list(ORIENTATIONS))]
    return list(dict.fromkeys(out))


@dataclass
class SheetInfo:
    """What the sheet says around the map."""

    title: str
    issuing_unit: str = ""
    date: dt.date = field(default_factory=dt.date.today)
    sources: Sequence[str] = ("路网 © OpenStreetMap contributors (ODbL 1.0)",)
    notes: Sequence[str] = ()
    subtitle: str = ""


def text_width(text: str) -> int:
    """Display width in half-width units: a Chinese (wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, limit: int) -> list[str]:
    """Lines of at most ``limit`` half-width units (a Chinese character counts two)."""
    lines: list[str] = []
    for para in str(text).splitlines() or [""]:
        cur, w = "", 0
        for ch in para:
            cw = text_width(ch)
            if w + cw > limit and cur:
                lines.append(cur)
                cur, w = "", 0
            cur += ch
            w += cw
        lines.append(cur)
    return lines


@dataclass
class _Layers:
    """The map's layers in one metric CRS (the data's UTM zone)."""

    crs: Any
    roads: Any = None
    communities: Any = None
    shares: Any = None
    boundaries: list[tuple[str, Any, float]] = field(default_factory=list)
    service_areas: list[tuple[float, str, Any]] = field(default_factory=list)
    gaps: Any = None
    facilities: Any = None
    sites: Any = None
    site_areas: Any = None
    left_out: Any = None
    minutes: float | None = None
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)


def _service_area_rings(data: MapData, crs: Any) -> list[tuple[float, str, Any]]:
    """``(minutes, colour, areas)`` of the map's main kind (all kinds when none is), in ``crs``."""
    out: list[tuple[float, str, Any]] = []
    if data.service_areas is None or not len(data.service_areas):
        return out
    sa = data.service_areas
    if data.coverage_kind and "kind" in sa:
        sa = sa[sa["kind"] == data.coverage_kind]
    for t, colour in _SA_COLOURS:
        part = sa[np.isclose(sa["minutes"].astype(float), t)]
        if len(part):
            out.append((t, colour, part.to_crs(crs)))
    return out


def _prepare(data: MapData) -> _Layers:
    com = data.units.get("community") if data.units else None
    base = None
    for g in (com, *(data.units or {}).values(), data.facilities, data.gaps):
        if g is not None and len(g):
            base = g
            break
    if base is None:
        msg = "nothing to draw"
        raise ValueError(msg)
    crs = base.estimate_utm_crs()
    ly = _Layers(crs)
    drawn = []
    if data.roads is not None and len(data.roads):
        ly.roads = data.roads.to_crs(crs)
    if com is not None and len(com):
        c = com.to_crs(crs).copy()
        share = None
        if data.coverage is not None and len(data.coverage):
            cov = data.coverage
            ly.minutes = float(cov["minutes"].max())
            rows = cov[(cov["level"] == "community") & np.isclose(cov["minutes"], ly.minutes)]
            rows = rows.drop_duplicates("unit_code").set_index("unit_code")
            share = c["feature_id"].astype(str).map(rows["share_covered"]).astype(float)
        ly.communities = c
        ly.shares = share
        drawn.append(c)
    for level, lw in (("subdistrict", 1.2), ("district", 2.0)):
        u = data.units.get(level) if data.units else None
        if u is not None and len(u):
            uu = u.to_crs(crs)
            ly.boundaries.append((level, uu, lw))
            drawn.append(uu)
    ly.service_areas = _service_area_rings(data, crs)
    if data.gaps is not None and len(data.gaps):
        ly.gaps = data.gaps.to_crs(crs)
    if data.facilities is not None and len(data.facilities):
        ly.facilities = data.facilities.to_crs(crs)
        drawn.append(ly.facilities)
    for name in ("sites", "site_areas", "left_out"):
        g = getattr(data, name, None)
        if g is not None and len(g):
            setattr(ly, name, g.to_crs(crs))
    if ly.sites is not None:
        drawn.append(ly.sites)
    b = np.array([g.total_bounds for g in drawn if len(g)])
    if not len(b):
        msg = "nothing to draw"
        raise ValueError(msg)
    x0, y0, x1, y1 = float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())
    pad = 0.03 * max(x1 - x0, y1 - y0, 100.0)
    ly.bounds = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    return ly


def _setup_fonts() -> str | None:
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    else:
        log.warning("no CJK font found (install fonts-noto-cjk): Chinese labels will not render")
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["pdf.fonttype"] = 3  # subset as Type 3 with ToUnicode: fast, and text stays text
    plt.rcParams["text.usetex"] = False
    return font


def _kind_name(kind: str) -> str:
    k = KINDS.get(kind)
    return k.name_zh if k else kind


def draw_sheet(data: MapData, info: SheetInfo, *, paper: str = "A4", orientation: str = "landscape",
               layers: _Layers | None = None) -> Figure:
    """A map sheet as a matplotlib figure of the paper's size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _setup_fonts()
    ly = layers or _prepare(data)
    pw, ph = PAPERS[paper]
    if orientation == "landscape":
        pw, ph = ph, pw
    k = pw / 297.0 if orientation == "landscape" else pw / 210.0  # 1 on A4, 1.41 on A3
    fig = plt.figure(figsize=(pw * MM, ph * MM))
    margin = 10.0 * k
    fs_title, fs_small, fs_label = 16 * k, 6.5 * k, 6.5 * k

    # footer: issuing unit, date, sources, then the notes (what was counted), wrapped to the page
    limit = int((pw - 2 * margin) / (fs_small * 0.3528 * 0.5 * 1.02))
    date_zh = f"{info.date.year}年{info.date.month}月{info.date.day}日"
    footer = [f"制图单位：{info.issuing_unit or '—'}　　制图日期：{date_zh}"]
    footer += wrap("数据来源：" + "；".join(info.sources), limit)
    for n in info.notes:
        footer += wrap(n, limit)
    line_mm = fs_small * 0.3528 * 1.45
    footer_h = len(footer) * line_mm + 2 * k
    title_h = 16.0 * k + (5.0 * k if info.subtitle else 0.0)
    legend_w = 58.0 * k if orientation == "landscape" else 0.0
    legend_h = 0.0 if orientation == "landscape" else 44.0 * k

    def box(x_mm: float, y_mm: float, w_mm: float, h_mm: float) -> tuple[float, float, float, float]:
        return (x_mm / pw, y_mm / ph, w_mm / pw, h_mm / ph)

    map_x, map_y = margin, margin + footer_h + legend_h + 3.0 * k
    map_w = pw - 2 * margin - legend_w - (4 * k if legend_w else 0)
    map_h = ph - margin - title_h - map_y
    ax = fig.add_axes(box(map_x, map_y, map_w, map_h))
    fig.text(0.5, 1 - (margin + 7 * k) / ph, info.title, ha="center", va="center", fontsize=fs_title,
             parse_math=False)
    if info.subtitle:
        fig.text(0.5, 1 - (margin + 14 * k) / ph, info.subtitle, ha="center", va="center", fontsize=9 * k,
                 color="#444444", parse_math=False)
    for i, line in enumerate(footer):
        fig.text(margin / pw, (margin + footer_h - (i + 0.8) * line_mm) / ph, line, ha="left", va="baseline",
                 fontsize=fs_small * (1.25 if i == 0 else 1.0), color="#222222" if i == 0 else "#444444",
                 parse_math=False)

    # the map
    handles = _draw_layers(ax, ly, k)
    _frame(ax, ly, map_w, map_h, k)
    _place_labels(fig, ax, ly, fontsize=fs_label)

    # legend: beside the map (landscape) or below it (portrait)
    if legend_w:
        lax = fig.add_axes(box(pw - margin - legend_w, map_y, legend_w, map_h))
        ncol = 1
    else:
        lax = fig.add_axes(box(margin, margin + footer_h, pw - 2 * margin, legend_h))
        ncol = 3
    lax.set_axis_off()
    title = "图例" + (f"（户数覆盖率：{ly.minutes:g} 分钟）" if ly.minutes is not None and ly.shares is not None else "")
    if handles:
        lax.legend(handles=handles, loc="upper left", ncol=ncol, fontsize=7 * k, title=title, title_fontsize=8 * k,
                   frameon=False, alignment="left", borderaxespad=0.0)
    return fig


def _draw_layers(ax: Any, ly: _Layers, k: float) -> list[Any]:
    """Roads, communities (coloured by coverage), boundaries, service areas, gaps and facilities;
    returns the legend handles."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    if ly.roads is not None:
        _draw_lines(ax, ly.roads.geometry, color="#c8c8c8", linewidth=0.35 * k, zorder=1)
    if ly.communities is not None:
        c = ly.communities
        if ly.shares is not None:
            s = ly.shares.fillna(-1).to_numpy()
            idx = np.clip(np.searchsorted(SHARE_BINS, s, side="right") - 1, 0, len(SHARE_COLOURS) - 1)
            colours = np.where(ly.shares.isna().to_numpy(), "#e0e0e0", np.array(SHARE_COLOURS)[idx])
            handles += [Patch(facecolor=col, alpha=0.55, edgecolor="#555555", linewidth=0.4,
                              label=f"{round(100 * a)}–{min(100, round(100 * b))}%")
                        for col, a, b in zip(SHARE_COLOURS, SHARE_BINS, SHARE_BINS[1:], strict=False)]
        else:
            colours = np.full(len(c), "#f2f2f2")
        _draw_polygons(ax, c.geometry, facecolors=list(colours), alpha=0.55, zorder=2)
        _draw_lines(ax, c.geometry.boundary, color="#666666", linewidth=0.4 * k, zorder=2.5)
        handles.append(Patch(facecolor="none", edgecolor="#666666", linewidth=0.6, label="社区边界"))
    for level, u, lw in ly.boundaries:
        _draw_lines(ax, u.geometry.boundary, color="#333333", linewidth=lw * k, zorder=3)
        handles.append(Line2D([], [], color="#333333", linewidth=lw * k,
                              label="街道乡镇界" if level == "subdistrict" else "区县界"))
    for t, colour, part in ly.service_areas:
        _draw_lines(ax, part.geometry.boundary, color=colour, linewidth=1.0 * k, zorder=4)
        handles.append(Line2D([], [], color=colour, linewidth=1.4 * k, label=f"{t:g} 分钟服务范围"))
    if ly.gaps is not None:
        g = ly.gaps.geometry.representative_point()
        ax.scatter(g.x, g.y, color="#d7301f", s=3 * k, linewidths=0, zorder=5)
        handles.append(Line2D([], [], color="#d7301f", marker="o", linestyle="", markersize=3 * k,
                              label="未覆盖需求点"))
    if ly.facilities is not None:
        handles += _draw_facilities(ax, ly.facilities, k, left_out=ly.left_out)
    handles += _draw_sites_and_left_out(ax, ly, k)
    return handles


def _status_order(statuses: Any) -> list[str]:
    present = list(dict.fromkeys(str(s) for s in statuses))
    return [s for s in STATUS_FILL if s in present] + [s for s in present if s not in STATUS_FILL]


def _draw_facilities(ax: Any, fac: Any, k: float, *, left_out: Any = None) -> list[Any]:
    """Facilities by kind (own marker and colour) and status (建成运营 solid, 在建 half, 规划 hollow,
    as on the web map), one legend entry per kind and status with its count (and how many of them
    coverage left out, ``left_out``'s ``feature_id``)."""
    from matplotlib.lines import Line2D

    markers = "o^sDvP*X"
    handles: list[Any] = []
    status = fac["status"].astype(str) if "status" in fac else None
    kinds = list(dict.fromkeys(fac["kind"].astype(str)))
    left = np.zeros(len(fac), dtype=bool)
    if left_out is not None and len(left_out) and "feature_id" in fac and "feature_id" in left_out:
        key = fac["feature_id"].astype(str)
        out_key = left_out["feature_id"].astype(str)
        if "kind" in fac and "kind" in left_out:  # ids are unique within a layer, not across kinds
            key, out_key = fac["kind"].astype(str) + "\x1f" + key, left_out["kind"].astype(str) + "\x1f" + out_key
        left = key.isin(set(out_key)).to_numpy()
    for i, kind in enumerate(kinds):
        m, colour = markers[i % len(markers)], f"C{i}"
        of_kind = (fac["kind"].astype(str) == kind).to_numpy()
        groups = ([(s, of_kind & (status == s).to_numpy()) for s in _status_order(status[of_kind])]
                  if status is not None else [("", of_kind)])
        for st, sel in groups:
            pts = fac.geometry[sel].representative_point()
            fill = STATUS_FILL.get(st, "full")
            label = f"{_kind_name(kind)}：{st} {int(sel.sum())} 处" if st else f"{_kind_name(kind)} {int(sel.sum())} 处"
            n_left = int((sel & left).sum())
            if n_left:
                label += f"（其中 {n_left} 处未计入）"
            style: dict[str, Any] = {"marker": m, "linestyle": "", "fillstyle": fill, "markerfacecolor": colour,
                     "markerfacecoloralt": "white", "markeredgecolor": colour if fill == "none" else "black",
                     "markeredgewidth": (1.3 if fill == "none" else 0.6) * k}
            ax.plot(pts.x.to_numpy(), pts.y.to_numpy(), markersize=6 * k, zorder=7, label=label, **style)
            handles.append(Line2D([], [], markersize=6 * k, label=label, **style))
    return handles


def _draw_sites_and_left_out(ax: Any, ly: _Layers, k: float) -> list[Any]:
    """Proposed sites (yellow with black, their added service areas dashed) and facilities left out of
    the coverage (a red ring, the legend naming how far they lie from the network)."""
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    if ly.site_areas is not None:
        sa = ly.site_areas
        if "minutes" in sa and len(sa):  # the largest ring only: the nested ones would hide the map
            sa = sa[np.isclose(sa["minutes"].astype(float), float(sa["minutes"].astype(float).max()))]
        _draw_lines(ax, sa.geometry.boundary, color=PROPOSED[0], linewidth=0.8 * k, linestyle="--",
                    zorder=4.5)
        handles.append(Line2D([], [], color=PROPOSED[0], linewidth=0.8 * k, linestyle="--", label="建议新址服务范围"))
    if ly.sites is not None:
        pts = ly.sites.geometry.representative_point()
        style: dict[str, Any] = {"marker": "*", "linestyle": "", "markerfacecolor": PROPOSED[1], "markeredgecolor": PROPOSED[0],
                 "markeredgewidth": 0.7 * k}
        label = f"建议新址 {len(pts)} 处"
        ax.plot(pts.x.to_numpy(), pts.y.to_numpy(), markersize=11 * k, zorder=7.5, label=label, **style)
        handles.append(Line2D([], [], markersize=9 * k, label=label, **style))
    if ly.left_out is not None:
        pts = ly.left_out.geometry.representative_point()
        dist = ly.left_out["distance_m"].astype(float) if "distance_m" in ly.left_out else None
        far = ("、".join(f"{d:.0f}" for d in sorted(dist.dropna())[:3]) + (" 等" if dist.notna().sum() > 3 else "")
               if dist is not None and dist.notna().any() else "")
        label = (f"未计入（离路网 {far} m）" if far else "未计入（离路网过远）") + (f" {len(pts)} 处" if len(pts) > 1 else "")
        style = {"marker": "o", "linestyle": "", "fillstyle": "none", "markeredgecolor": UNCOVERED[0],
                 "markeredgewidth": 1.6 * k}
        ax.plot(pts.x.to_numpy(), pts.y.to_numpy(), markersize=12 * k, zorder=7.6, label=label, **style)
        handles.append(Line2D([], [], markersize=10 * k, label=label, **style))
    return handles


def _frame(ax: Any, ly: _Layers, map_w: float, map_h: float, k: float) -> None:
    """The map's extent, frame, scale bar and north arrow."""
    from matplotlib_scalebar.scalebar import ScaleBar

    # the data's extent widened to the frame's shape: one metre is as long across as up
    x0, y0, x1, y1 = ly.bounds
    cx, cy, dx, dy = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if dx / dy < map_w / map_h:
        dx = dy * map_w / map_h
    else:
        dy = dx * map_h / map_w
    ax.set_xlim(cx - dx / 2, cx + dx / 2)
    ax.set_ylim(cy - dy / 2, cy + dy / 2)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_linewidth(0.8)
    font = cjk_font()
    ax.add_artist(ScaleBar(1.0, "m", location="lower right", length_fraction=0.22, box_alpha=0.85,
                           scale_loc="top", font_properties={"size": 7 * k, **({"family": font} if font else {})}))
    ax.annotate("N", xy=(0.955, 0.965), xytext=(0.955, 0.875), xycoords="axes fraction", ha="center", va="center",
                fontsize=10 * k,
                arrowprops={"facecolor": "black", "width": 3.5 * k, "headwidth": 10 * k, "headlength": 9 * k})


def _draw_lines(ax: Any, geoms: Any, **kw: Any) -> None:
    """Lines (or the boundaries of polygons, already taken) as one LineCollection."""
    import shapely
    from matplotlib.collections import LineCollection

    parts = shapely.get_parts(shapely.get_parts(np.asarray(geoms, dtype=object)))
    parts = parts[~shapely.is_empty(parts)]
    if not len(parts):
        return
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    segs = np.split(coords, np.flatnonzero(np.diff(idx)) + 1)
    ax.add_collection(LineCollection(segs, **kw), autolim=False)


def _draw_polygons(ax: Any, geoms: Any, *, facecolors: list[str], **kw: Any) -> None:
    """Filled polygons (holes kept) as one PathCollection, one colour per geometry."""
    import shapely
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path as MplPath

    paths, colours = [], []
    for geom, colour in zip(geoms, facecolors, strict=True):
        if geom is None or geom.is_empty:
            continue
        for poly in shapely.get_parts(geom):
            if poly.geom_type != "Polygon":
                continue
            rings = [poly.exterior, *poly.interiors]
            paths.append(MplPath.make_compound_path(*[MplPath(np.asarray(r.coords)[:, :2], closed=True)
                                                      for r in rings]))
            colours.append(colour)
    if paths:
        ax.add_collection(PathCollection(paths, facecolors=colours, edgecolors="none", **kw), autolim=False)


def _place_labels(fig: Any, ax: Any, ly: _Layers, *, fontsize: float) -> int:
    """Names placed greedily where they overlap nothing drawn before (nor the scale bar, the north
    arrow or the frame); returns how many were placed. A light box behind each keeps it legible
    (a path-effect halo would turn the PDF's text into outlines that cannot be searched)."""
    from matplotlib.transforms import Bbox

    # no full draw needed: the axes sit where add_axes put them, and text extents need only the renderer
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = [  # the north arrow (upper right) and the scale bar (lower right), in axes fractions
        Bbox.from_extents(frame.x0 + 0.90 * frame.width, frame.y0 + 0.84 * frame.height, frame.x1, frame.y1),
        Bbox.from_extents(frame.x0 + 0.70 * frame.width, frame.y0, frame.x1, frame.y0 + 0.12 * frame.height),
    ]
    wanted: list[tuple[str, float, float, dict[str, Any]]] = []
    if ly.communities is not None and "name" in ly.communities:
        c = ly.communities.assign(_area=ly.communities.geometry.area).sort_values("_area", ascending=False)
        for name, geom in zip(c["name"], c.geometry, strict=True):
            if geom is None or geom.is_empty or name is None:
                continue
            p = geom.representative_point()
            wanted.append((str(name), p.x, p.y, {"ha": "center", "va": "center", "color": "#222222"}))
    if ly.facilities is not None and "name" in ly.facilities and len(ly.facilities) <= 60:
        for name, geom in zip(ly.facilities["name"], ly.facilities.geometry, strict=True):
            if geom is None or geom.is_empty or name is None:
                continue
            wanted.append((str(name), geom.x, geom.y, {"ha": "left", "va": "bottom", "color": "#08306b",
                                                       "xytext": (3, 3), "textcoords": "offset points"}))
    placed = 0
    for text, x, y, kw in wanted:
        kwargs = dict(kw)
        t = ax.annotate(text, (x, y), fontsize=fontsize if "xytext" not in kwargs else fontsize * 0.9, zorder=8,
                        parse_math=False, annotation_clip=True,
                        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
                        **kwargs)
        bb = t.get_window_extent(renderer).expanded(1.04, 1.1)
        inside = frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0 and bb.y1 <= frame.y1
        if not inside or any(bb.overlaps(o) for o in taken):
            t.remove()
            continue
        taken.append(bb)
        placed += 1
    return placed


def render_map(data: MapData, path: Path, info: SheetInfo, *, paper: str = "A4", orientation: str = "landscape",
               dpi: int = 150, layers: _Layers | None = None) -> Path:
    """Write one map sheet: PDF (vector, paper size exact) or PNG, by the file's suffix."""
    import matplotlib.pyplot as plt

    fig = draw_sheet(data, info, paper=paper, orientation=orientation, layers=layers)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Title": info.title, "Author": info.issuing_unit} if path.suffix.lower() == ".pdf" else None
    fig.savefig(path, dpi=dpi, metadata=meta)
    plt.close(fig)
    return path


def render_sheets(data: MapData, out_dir: Path, info: SheetInfo, *, paper: str = "all",
                  stem: str = "map") -> list[Path]:
    """PDF sheets ``<stem>_<size>_<orientation>.pdf`` for each paper ``--paper`` names."""
    ly = _prepare(data)
    return [render_map(data, out_dir / f"{stem}_{size}_{orient}.pdf", info, paper=size, orientation=orient,
                       layers=ly) for size, orient in paper_names(paper)]
