"""The report's tables as formatted text, and its one-paragraph conclusion in plain Chinese.

Nothing is computed here that the analysis did not already compute: the conclusion reads the
indicator table (which targets are met), the coverage table (the share of households within the
largest service circle) and the ranked uncovered communities, and says them in words. The HTML
page and the Word document show the same :class:`Table` objects, so both carry the same numbers
as the CSV files (shares as percent with one decimal, counts with thousands separators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mzgis.layers.kinds import KINDS

__all__ = ["Table", "conclusion", "fmt_count", "fmt_number", "fmt_share", "report_tables"]

LEVEL_ZH = {"jurisdiction": "辖区", "district": "区县", "subdistrict": "街道乡镇", "community": "社区村"}


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_share(v: Any) -> str:
    """A share 0–1 as percent with one decimal: ``0.7243`` → ``72.4%``."""
    return "—" if _missing(v) else f"{100 * float(v):.1f}%"


def fmt_count(v: Any) -> str:
    """A count with thousands separators: ``27226.0`` → ``27,226``."""
    return "—" if _missing(v) else f"{float(v):,.0f}"


def fmt_number(v: Any, unit: str = "") -> str:
    """A value with its unit: whole numbers as such, others with up to two decimals."""
    if _missing(v):
        return "—"
    x = float(v)
    s = f"{x:,.0f}" if x.is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")
    return s + (unit or "")


def _kind_name(kind: str | None) -> str:
    if not kind:
        return ""
    k = KINDS.get(kind)
    return k.name_zh if k else kind


@dataclass
class Table:
    """A table for people: Chinese headers, formatted cells, a CSS class per cell
    (``num``, ``ok``, ``bad``, ``na`` or empty)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    classes: list[list[str]] = field(default_factory=list)
    note: str = ""
    #: a PNG shown under the table (e.g. the Lorenz curve of the accessibility section)
    figure: Path | None = None


def _passed(v: Any) -> tuple[str, str]:
    if v is True or v == "True":
        return "达标", "ok"
    if v is False or v == "False":
        return "未达标", "bad"
    return "不适用", "na"


def indicator_table(ind: pd.DataFrame) -> Table:
    n_ok = int(sum(v is True for v in ind["passed"]))
    t = Table("indicators", f"指标评估（{n_ok}/{len(ind)} 达标）",
              ["编号", "指标", "目标", "现状", "差距", "是否达标", "属性", "说明", "出处"])
    for r in ind.to_dict("records"):
        unit = str(r.get("unit") or "")
        passed, cls = _passed(r.get("passed"))
        gap = r.get("gap")
        gap_s = "—" if gap is None or _missing(gap) else ("+" if float(gap) > 0 else "") + fmt_number(gap, unit)
        t.rows.append([str(r.get("indicator_id", "")), str(r.get("name_zh", "")),
                       f"{r.get('comparator', '')}{fmt_number(r.get('target'), unit)}", fmt_number(r.get("actual"), unit),
                       gap_s, passed, str(r.get("binding", "")), "" if _missing(r.get("detail")) else str(r["detail"]),
                       "" if _missing(r.get("plan")) else str(r["plan"])])
        t.classes.append(["nw", "", "num", "num", "num", f"{cls} nw", "nw", "", ""])
    return t


#: coverage columns shown: (English column, Chinese header, formatter)
COVERAGE_SHOWN = [("unit_name", "单位", str), ("level", "层级", lambda v: LEVEL_ZH.get(str(v), str(v))),
                  ("minutes", "分钟", lambda v: fmt_number(v)), ("households", "户数", fmt_count),
                  ("households_covered", "覆盖户数", fmt_count), ("share_covered", "户数覆盖率", fmt_share),
                  ("population", "人口", fmt_count), ("population_covered", "覆盖人口", fmt_count),
                  ("elderly", "老年人口", fmt_count), ("elderly_covered", "覆盖老年人", fmt_count)]
COVERAGE_LEVELS = ("jurisdiction", "district", "subdistrict")
UNCOVERED_SHOWN = [("unit_name", "社区", str), ("households_uncovered", "未覆盖户数", fmt_count),
                   ("population_uncovered", "未覆盖人口", fmt_count), ("elderly_uncovered", "未覆盖老年人", fmt_count),
                   ("share_covered", "户数覆盖率", fmt_share)]
AREA_SHOWN = [("unit_name", "社区", str), ("community_type", "类型", str), ("floor_area_m2", "面积(㎡)", fmt_count),
              ("households", "户数", fmt_count), ("m2_per_100_households", "每百户(㎡)", lambda v: fmt_number(v)),
              ("required_m2", "应达(㎡)", fmt_count), ("deficit_m2", "缺口(㎡)", fmt_count),
              ("passed", "是否达标", None), ("rule", "标准", str)]


def _frame_table(df: pd.DataFrame, key: str, title: str, shown: list[Any]) -> Table:
    cols = [(c, h, f) for c, h, f in shown if c in df.columns]
    t = Table(key, title, [h for _, h, _ in cols])
    for r in df.to_dict("records"):
        row, cls = [], []
        for c, _, f in cols:
            v = r.get(c)
            if f is None:
                s, k = _passed(v)
            else:
                s, k = ("—" if _missing(v) else f(v)), ("num" if f is not str else "")
            row.append(s)
            cls.append(k)
        t.rows.append(row)
        t.classes.append(cls)
    return t


def coverage_rows(coverage: pd.DataFrame) -> pd.DataFrame:
    """The coverage rows the report shows: the jurisdiction, districts and subdistricts, every
    threshold, in the CSV's order."""
    return coverage[coverage["level"].isin(COVERAGE_LEVELS)]


def report_tables(*, indicators: pd.DataFrame | None, coverage: pd.DataFrame | None, coverage_kind: str | None,
                  uncovered: pd.DataFrame | None, area: pd.DataFrame | None, top: int = 30) -> list[Table]:
    """The report's tables, in order: indicators, coverage, uncovered communities, area standard."""
    out = []
    if indicators is not None and len(indicators):
        out.append(indicator_table(indicators))
    if coverage is not None and len(coverage):
        out.append(_frame_table(coverage_rows(coverage), "coverage", f"服务圈覆盖：{_kind_name(coverage_kind)}",
                                COVERAGE_SHOWN))
    if uncovered is not None and len(uncovered):
        t = _frame_table(uncovered.head(top), "uncovered", "未覆盖人口最多的社区", UNCOVERED_SHOWN)
        if len(uncovered) > top:
            t.note = f"前 {top} 个，共 {len(uncovered)} 个；全部见 uncovered_<kind>.csv"
        out.append(t)
    if area is not None and len(area):
        out.append(_frame_table(area, "area", "社区综合服务设施面积（每百户）", AREA_SHOWN))
    return out


def conclusion(*, indicators: pd.DataFrame | None, coverage: pd.DataFrame | None, coverage_kind: str | None,
               uncovered: pd.DataFrame | None, top: int = 3) -> str:
    """One paragraph in plain Chinese: coverage of the largest service circle against its target,
    where the uncovered households are, and which indicators are met and which are not."""
    parts: list[str] = []
    kind = _kind_name(coverage_kind)
    if coverage is not None and len(coverage):
        t = float(coverage["minutes"].max())
        j = coverage[(coverage["level"] == "jurisdiction") & (coverage["minutes"] == t)]
        if len(j):
            r = j.iloc[0]
            share = float(r["share_covered"]) if not _missing(r["share_covered"]) else float("nan")
            s = (f"{kind} {t:g} 分钟服务圈覆盖 {fmt_share(share)} 户"
                 f"（{fmt_count(r['households_covered'])}/{fmt_count(r['households'])} 户）")
            target = _coverage_target(indicators, kind, share)
            if target is not None:
                value, passed = target
                s += f"，{'达到' if passed else '未达'} {value} 目标"
            elif share >= 1 - 1e-9:
                s += "，已全覆盖"
            if uncovered is not None and len(uncovered) and "households_uncovered" in uncovered:
                u = uncovered[uncovered["households_uncovered"] > 0].sort_values("households_uncovered", ascending=False)
                if len(u):
                    total = float(u["households_uncovered"].sum())
                    names = "、".join(f"{n}（{fmt_count(h)} 户）" for n, h in
                                     zip(u["unit_name"].head(top), u["households_uncovered"].head(top), strict=True))
                    more = f"等 {len(u)} 个单位" if len(u) > top else ""
                    s += f"，未覆盖的 {fmt_count(total)} 户集中在{names}{more}"
            parts.append(s + "。")
    if indicators is not None and len(indicators):
        ok = [r for r in indicators.to_dict("records") if r.get("passed") is True]
        bad = [r for r in indicators.to_dict("records") if r.get("passed") is False]
        na = len(indicators) - len(ok) - len(bad)
        s = f"规划指标 {len(indicators)} 项中 {len(ok)} 项达标、{len(bad)} 项未达标" + (f"、{na} 项不适用" if na else "")
        binding = [r for r in bad if str(r.get("binding")) == "约束性"]
        expected = [r for r in bad if str(r.get("binding")) != "约束性"]
        if binding:
            items = "、".join(f"{r['name_zh']}（现状 {fmt_number(r['actual'], str(r.get('unit') or ''))}，"
                             f"目标 {r['comparator']}{fmt_number(r['target'], str(r.get('unit') or ''))}）"
                             for r in binding[:3])
            s += f"；约束性指标未达标：{items}" + (f"等 {len(binding)} 项" if len(binding) > 3 else "")
        if expected:
            s += "；预期性指标未达标：" + "、".join(str(r["name_zh"]) for r in expected[:3])
            s += f"等 {len(expected)} 项" if len(expected) > 3 else ""
        parts.append(s + "。")
    return "".join(parts) or "没有可汇总的分析结果：先运行 mzgis coverage 与 mzgis standards。"


def _coverage_target(indicators: pd.DataFrame | None, kind: str, share: float) -> tuple[str, bool] | None:
    """The target of the indicator that measures this coverage (a % indicator naming the kind and
    覆盖, whose actual value is this share), as text and whether it is met."""
    if indicators is None or not len(indicators) or not kind or math.isnan(share):
        return None
    for r in indicators.to_dict("records"):
        name = str(r.get("name_zh", ""))
        if (kind in name and "覆盖" in name and str(r.get("unit")) == "%" and not _missing(r.get("actual"))
                and abs(float(r["actual"]) - 100 * share) < 0.05 and r.get("passed") in (True, False)):
            cmp = "" if str(r["comparator"]) in ("≥", ">=") else str(r["comparator"])
            return f"{cmp}{fmt_number(r['target'], '%')}", bool(r["passed"])
    return None
