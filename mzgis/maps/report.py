"""Reports for leaders: one HTML page (indicators, coverage, uncovered communities, the map) and
static PNG maps for documents, drawn with a CJK font so Chinese labels render.

The page is built without a template engine; every piece of user text (names, indicator names,
the title from mzgis.toml, file names in attributes) goes through
:func:`~mzgis.maps.safe_html.esc`, and the PNG draws names as plain text (no mathtext)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from mzgis.maps.safe_html import esc
from mzgis.maps.webmap import LEVEL_ZH, SHARE_BINS, SHARE_COLOURS, MapData, _kind_name

__all__ = ["cjk_font", "report_html", "static_map"]

log = logging.getLogger(__name__)

_CJK_NAMES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans SC", "WenQuanYi Zen Hei",
              "Source Han Sans SC", "SimHei", "Microsoft YaHei")


def cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs (Debian: fonts-noto-cjk), or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for n in _CJK_NAMES:
        if n in names:
            return n
    return None


def static_map(data: MapData, path: Path, *, dpi: int = 150) -> Path:
    """A PNG of the coverage choropleth, service areas, facilities and uncovered demand."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    else:
        log.warning("no CJK font found (install fonts-noto-cjk): Chinese labels in %s will not render", path)
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(10, 9))
    crs = None
    com = data.units.get("community") if data.units else None
    if com is not None and len(com):
        crs = com.estimate_utm_crs()
    elif data.facilities is not None and len(data.facilities):
        crs = data.facilities.estimate_utm_crs()
    if crs is None:
        msg = "nothing to draw"
        raise ValueError(msg)
    if data.roads is not None and len(data.roads):
        data.roads.to_crs(crs).plot(ax=ax, color="#bbbbbb", linewidth=0.4, zorder=1)
    if com is not None and len(com) and data.coverage is not None:
        cov = data.coverage
        t = float(cov["minutes"].max())
        rows = cov[(cov["level"] == "community") & np.isclose(cov["minutes"], t)].set_index("unit_code")
        c = com.to_crs(crs).copy()
        share = c["feature_id"].astype(str).map(rows["share_covered"])
        idx = np.clip(np.searchsorted(SHARE_BINS, share.fillna(-1).to_numpy(), side="right") - 1, 0, 4)
        colours = np.where(share.isna().to_numpy(), "#dddddd", np.array(SHARE_COLOURS)[idx])
        c.plot(ax=ax, color=colours, alpha=0.45, edgecolor="#555555", linewidth=0.6, zorder=2)
        for r in c.to_dict("records"):
            p = r["geometry"].representative_point()
            # parse_math=False: a name with $…$ is text, not mathtext (which fails on bad TeX)
            ax.annotate(str(r.get("name", "")), (p.x, p.y), fontsize=7, ha="center", zorder=6, color="#222222",
                        parse_math=False)
    for level, lw in (("subdistrict", 1.6), ("district", 2.4)):
        u = data.units.get(level) if data.units else None
        if u is not None and len(u):
            u.to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=lw, zorder=3)
    if data.service_areas is not None and len(data.service_areas):
        sa = data.service_areas
        if data.coverage_kind:
            sa = sa[sa["kind"] == data.coverage_kind]
        for t, colour in ((15.0, "#fdae61"), (10.0, "#fee08b"), (5.0, "#1a9850")):
            part = sa[np.isclose(sa["minutes"], t)]
            if len(part):
                part.to_crs(crs).boundary.plot(ax=ax, color=colour, linewidth=1.2, zorder=4)
    if data.gaps is not None and len(data.gaps):
        data.gaps.to_crs(crs).plot(ax=ax, color="#ef3b2c", markersize=6, zorder=5)
    handles: list[Any] = [Patch(color=c, alpha=0.6, label=f"{int(100 * a)}–{min(100, round(100 * b))}%")
               for c, a, b in zip(SHARE_COLOURS, SHARE_BINS, SHARE_BINS[1:], strict=False)]
    if data.facilities is not None and len(data.facilities):
        f = data.facilities.to_crs(crs)
        markers = "o^sDvP*X"
        for i, (kind, grp) in enumerate(f.groupby("kind")):
            grp.plot(ax=ax, marker=markers[i % len(markers)], markersize=45, edgecolor="black", linewidth=0.6,
                     zorder=7, label=_kind_name(str(kind)))
        handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower left", fontsize=8, title="户数覆盖率 / 设施", title_fontsize=8)
    title = data.title + ("（示例数据）" if data.sample else "")
    ax.set_title(title, fontsize=13, parse_math=False)
    ax.set_axis_off()
    ax.annotate("路网 © OpenStreetMap contributors", (0.99, 0.01), xycoords="axes fraction", ha="right", fontsize=7,
                color="#666666")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def _table(df: pd.DataFrame, columns: dict[str, str], *, fmt: dict[str, str] | None = None) -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{esc(v)}</th>" for v in columns.values())
    body = []
    for r in df.to_dict("records"):
        cells = []
        for c in columns:
            v = r.get(c)
            if isinstance(v, float) and np.isnan(v):
                s = "—"
            elif c in fmt and isinstance(v, int | float):
                s = format(v, fmt[c])
            else:
                s = str(v) if v is not None else "—"
            cls = ""
            if c == "passed":
                s, cls = ("达标", "ok") if v is True else (("未达标", "bad") if v is False else ("不适用", "na"))
            cells.append(f"<td class='{cls}'>{esc(s)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def report_html(*, title: str, indicators: pd.DataFrame | None, coverage: pd.DataFrame | None, coverage_kind: str | None,
                uncovered: pd.DataFrame | None, area: pd.DataFrame | None, map_file: str | None,
                pngs: list[str], sample: bool, notes: list[str]) -> str:
    """The report page (self-contained but for the map page and the PNGs beside it)."""
    parts = [f"<h1>{esc(title)}</h1>"]
    if sample:
        parts.append("<p class='sample'>示例数据 sample data：设施、小区与人口为随机生成，仅作演示；路网为 OpenStreetMap 真实数据。</p>")
    if indicators is not None and len(indicators):
        ind = indicators.copy()
        ind["target_txt"] = ind["comparator"] + ind["target"].map(lambda v: f"{v:g}") + ind["unit"]
        ind["actual_txt"] = ind["actual"].map(lambda v: "—" if v != v else f"{v:.4g}")
        ind["gap_txt"] = ind["gap"].map(lambda v: "—" if v != v else f"{v:+.4g}")
        n_ok = int((ind["passed"] == True).sum())  # noqa: E712 - object column of True/False/None
        parts.append(f"<h2>一、指标评估 indicators（{n_ok}/{len(ind)} 达标）</h2>")
        parts.append(_table(ind, {"indicator_id": "编号", "name_zh": "指标", "target_txt": "目标", "actual_txt": "现状",
                                  "gap_txt": "差距", "passed": "是否达标", "binding": "属性", "detail": "说明",
                                  "plan": "出处"}))
    if coverage is not None and len(coverage):
        parts.append(f"<h2>二、服务圈覆盖 coverage：{esc(_kind_name(coverage_kind or ''))}</h2>")
        cv = coverage[coverage["level"].isin(["jurisdiction", "district", "subdistrict"])].copy()
        cv["level_zh"] = cv["level"].map({**LEVEL_ZH, "jurisdiction": "辖区"})
        cv["share_txt"] = cv["share_covered"].map(lambda v: "—" if v != v else f"{100 * v:.1f}%")
        parts.append(_table(cv, {"unit_name": "单位", "level_zh": "层级", "minutes": "分钟", "households": "户数",
                                 "households_covered": "覆盖户数", "population": "人口", "population_covered": "覆盖人口",
                                 "elderly": "老年人口", "elderly_covered": "覆盖老年人", "share_txt": "户数覆盖率"},
                            fmt={"households": ",.0f", "households_covered": ",.0f", "population": ",.0f",
                                 "population_covered": ",.0f", "elderly": ",.0f", "elderly_covered": ",.0f",
                                 "minutes": "g"}))
    if uncovered is not None and len(uncovered):
        parts.append("<h2>三、未覆盖人口最多的社区 uncovered communities, ranked</h2>")
        parts.append(_table(uncovered.head(30), {"unit_name": "社区", "population_uncovered": "未覆盖人口",
                                                 "households_uncovered": "未覆盖户数",
                                                 "elderly_uncovered": "未覆盖老年人"},
                            fmt={"population_uncovered": ",.0f", "households_uncovered": ",.0f",
                                 "elderly_uncovered": ",.0f"}))
    if area is not None and len(area):
        parts.append("<h2>四、社区综合服务设施面积 area per 100 households</h2>")
        parts.append(_table(area, {"unit_name": "社区", "community_type": "类型", "floor_area_m2": "面积(㎡)",
                                   "households": "户数", "m2_per_100_households": "每百户(㎡)", "required_m2": "应达(㎡)",
                                   "deficit_m2": "缺口(㎡)", "passed": "是否达标", "rule": "标准"},
                            fmt={"floor_area_m2": ",.0f", "households": ",.0f", "m2_per_100_households": ".1f",
                                 "required_m2": ",.0f", "deficit_m2": ",.0f"}))
    if pngs:
        parts.append("<h2>五、专题图 static maps</h2>")
        parts += [f"<p><img src='{esc(quote(p))}' alt='static map' style='max-width:100%'></p>" for p in pngs]
    if map_file:
        parts.append(f"<h2>六、交互地图 interactive map</h2><iframe src='{esc(quote(map_file))}' "
                     "style='width:100%;height:720px;border:1px solid #ccc'></iframe>"
                     f"<p><a href='{esc(quote(map_file))}'>在新窗口打开 open the map</a></p>")
    parts += [f"<p class='note'>{esc(n)}</p>" for n in notes]
    style = ("body{font:14px/1.5 'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}"
             "table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}th,td{border:1px solid #ccc;"
             "padding:3px 6px;text-align:left}th{background:#f0f0f0}.ok{color:#1a7f37;font-weight:bold}"
             ".bad{color:#c62828;font-weight:bold}.na{color:#777}.sample{color:#b35806}.note{color:#666;font-size:12px}")
    return (f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
