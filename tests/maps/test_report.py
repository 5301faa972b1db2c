"""The report as a deliverable: ``mzgis report`` on a small workspace whose names are hostile, then
every output checked on its own terms — the Word document's tables against the CSV files, the
PDF sheets' paper size (pdfinfo), ink (pdftoppm) and text (pdftotext), the single HTML file in
headless Chromium at phone size, and the Excel formats."""

from __future__ import annotations

import html as html_lib
import math
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import tomli_w

from mzgis.maps.assets import external_references
from tests.maps.browser import CHROMIUM_ARGS, chromium_path, non_blank
from tests.security.workspace import build_workspace, mzgis

#: names as bureaus' files may hold them, and as attackers would write them
TEXTS = ["望京{{7*191}}", "<script>alert(1)</script>街道", "=1+1社区", "花家地$x^2$社区", "南湖</td></tr>社区",
         "利泽{% for x in range(3) %}x{% endfor %}"]
UNIT = "朝阳区民政局<b>{{7*191}}</b>"
DATE = "2026-11-20"
DATE_ZH = "2026年11月20日"
KIND = "elderly_care_station"
PAPERS = {"A4_landscape": (842, 595), "A4_portrait": (595, 842), "A3_landscape": (1191, 842),
          "A3_portrait": (842, 1191)}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("report")
    ws = build_workspace(root, TEXTS, name="项目名", jurisdiction="朝阳区（测试）", single="自定义指标")
    cfg_path = ws / "mzgis.toml"
    cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["report"] = {"issuing_unit": UNIT}
    cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    assert mzgis("report", ws, "--date", DATE) == 0
    out = ws / "out"
    return {"ws": ws, "out": out, "html": (out / "report.html").read_text(encoding="utf-8")}


def _num(text: str) -> float:
    """The number in a formatted cell: ``27,226`` → 27226, ``95.4%`` → 95.4, ``≥9家`` → 9."""
    m = re.search(r"[-+]?\d[\d,]*(?:\.\d+)?", text)
    assert m, text
    return float(m.group(0).replace(",", ""))


def _text(csv_value: str) -> str:
    """A text cell as the user wrote it: the CSV writes ``'=1+1`` for ``=1+1`` (formula guard)."""
    from mzgis.layers.safe_text import FORMULA_PREFIXES

    s = str(csv_value)
    return s[1:] if s.startswith("'") and s[1:].startswith(FORMULA_PREFIXES) else s


def _docx_tables(path: Path) -> dict[str, list[list[str]]]:
    import docx

    doc = docx.Document(str(path))
    out = {}
    for t in doc.tables:
        rows = [[c.text for c in r.cells] for r in t.rows]
        out[rows[0][0]] = rows
    return out


def test_outputs_exist(built):
    names = {p.name for p in built["out"].iterdir()}
    for n in ("report.html", "report.docx", "map_coverage.png", *(f"map_{p}.pdf" for p in PAPERS)):
        assert n in names, n


# -- Word -------------------------------------------------------------------------------------------
def test_docx_coverage_table_matches_csv(built):
    csv = pd.read_csv(built["out"] / f"coverage_{KIND}.csv", encoding="utf-8-sig")
    csv = csv[csv["level"].isin(["jurisdiction", "district", "subdistrict"])]
    rows = _docx_tables(built["out"] / "report.docx")["单位"]
    head, body = rows[0], rows[1:]
    assert len(body) == len(csv)
    for cells, r in zip(body, csv.to_dict("records"), strict=True):
        got = dict(zip(head, cells, strict=True))
        assert got["单位"] == _text(r["unit_name"])
        assert _num(got["分钟"]) == r["minutes"]
        for col, field in (("户数", "households"), ("覆盖户数", "households_covered"), ("人口", "population"),
                           ("覆盖人口", "population_covered"), ("老年人口", "elderly")):
            assert _num(got[col]) == pytest.approx(round(r[field])), (col, got[col], r[field])
        assert re.fullmatch(r"\d{1,3}\.\d%", got["户数覆盖率"]), got["户数覆盖率"]
        assert _num(got["户数覆盖率"]) == pytest.approx(100 * r["share_covered"], abs=0.05)


def test_docx_indicator_table_matches_csv(built):
    csv = pd.read_csv(built["out"] / "indicators.csv", encoding="utf-8-sig", keep_default_na=False,
                      na_values=[""])
    rows = _docx_tables(built["out"] / "report.docx")["编号"]
    head, body = rows[0], rows[1:]
    assert len(body) == len(csv)
    for cells, r in zip(body, csv.to_dict("records"), strict=True):
        got = dict(zip(head, cells, strict=True))
        assert got["编号"] == r["indicator_id"]
        assert got["指标"] == _text(r["name_zh"])
        assert _num(got["目标"]) == pytest.approx(r["target"])
        assert got["目标"].startswith(r["comparator"])
        if isinstance(r["actual"], float) and math.isnan(r["actual"]):
            assert got["现状"] == "—"
        else:
            assert _num(got["现状"]) == pytest.approx(r["actual"], abs=0.005)
            assert got["现状"].endswith(r["unit"])
        want = {True: "达标", False: "未达标"}.get(r["passed"], "不适用")
        assert got["是否达标"] == want


def test_docx_has_title_unit_date_conclusion_and_what_was_counted(built):
    import docx

    doc = docx.Document(str(built["out"] / "report.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert doc.paragraphs[0].text.endswith("分析报告")
    assert UNIT in text  # as text: nothing rendered, nothing dropped
    assert DATE_ZH in text
    assert "计入的设施" in text
    assert "建成运营" in text
    assert "规划指标集" in text
    cov = pd.read_csv(built["out"] / f"coverage_{KIND}.csv", encoding="utf-8-sig")
    j = cov[(cov["level"] == "jurisdiction") & (cov["minutes"] == cov["minutes"].max())].iloc[0]
    assert f"{100 * j['share_covered']:.1f}% 户" in text  # the conclusion states the coverage
    assert len(doc.inline_shapes) >= 1  # the map
    names = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    for t in TEXTS[1:5]:
        assert t in names + text, t
    assert "1337" not in names + text


# -- PDF --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("paper", list(PAPERS))
def test_pdf_sheet_size_ink_and_text(built, paper, tmp_path):
    pdf = built["out"] / f"map_{paper}.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Pages:\s+1\n", info)
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert m, info
    assert (float(m.group(1)), float(m.group(2))) == pytest.approx(PAPERS[paper], abs=1.0)
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(pdf), str(tmp_path / "p")], check=True)
    assert non_blank(tmp_path / "p.png", min_colours=50)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for needle in ("制图单位", UNIT, DATE_ZH, "数据来源", "OpenStreetMap", "计入的设施", "图例"):
        assert re.sub(r"\s+", "", needle) in flat, needle
    assert "1337" not in text


def test_pdf_shows_hostile_names_as_text(built):
    text = subprocess.run(["pdftotext", str(built["out"] / "map_A3_landscape.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    # community names (TEXTS[3:6] and TEXTS[0]) are labels where they fit; on A3 all four fit
    for t in (TEXTS[3], TEXTS[4], TEXTS[5]):
        assert re.sub(r"\s+", "", t) in flat, t


# -- HTML -------------------------------------------------------------------------------------------
def _srcdoc(page: str) -> str:
    m = re.search(r'<iframe[^>]*srcdoc="([^"]*)"', page)
    assert m, "the interactive map is not embedded"
    return html_lib.unescape(m.group(1))


def test_html_is_one_file(built):
    page = built["html"]
    assert external_references(page) == []
    assert external_references(_srcdoc(page)) == []
    # nothing beside the file is needed: every src is a data: URI, no link to a file
    for attr in re.findall(r'\s(?:src|href)="([^"]*)"', page):
        assert attr.startswith("data:"), attr[:80]
    assert re.search(r'<meta name="viewport" content="width=device-width', page)
    assert "@page{size:A4" in page.replace(" ", "")
    assert "<img" in page
    assert "data:image/png;base64," in page
    for p in TEXTS:
        if "<" in p or "{" in p:
            assert p not in page  # only escaped forms (and the braces as entities)


def test_html_on_a_phone(built, tmp_path):
    from playwright.sync_api import sync_playwright

    path = built["out"] / "report.html"
    dialogs: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, offline=True, device_scale_factor=1)
        page = ctx.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "about:"))
                else None)
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.frame_locator("iframe").locator(".leaflet-container").wait_for(timeout=15_000)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        body = page.inner_text("body")
        img_w = page.evaluate("Math.max(...Array.from(document.images).map(i => i.getBoundingClientRect().right))")
        page.screenshot(path=str(tmp_path / "phone.png"))
        ctx.close()
        browser.close()
    assert dialogs == []
    assert errors == []
    assert requests == []
    assert widths[0] <= widths[1] == 390, widths  # no horizontal scroll
    assert img_w <= 390
    assert non_blank(tmp_path / "phone.png")
    for needle in (UNIT, DATE_ZH, "结论", "计入的设施", *TEXTS[1:5]):
        assert needle in body, needle
    assert "1337" not in body


def test_workspace_template_overrides_and_stays_escaped(tmp_path):
    from mzgis.maps.report import ReportContent, report_html

    tdir = tmp_path / "templates"
    tdir.mkdir()
    (tdir / "report.html.j2").write_text("<h1>区局版式 {{ title }}</h1><p>{{ issuing_unit }}</p>", encoding="utf-8")
    import datetime as dt

    content = ReportContent(title=TEXTS[0], issuing_unit=TEXTS[1], date=dt.date(2026, 11, 20), conclusion="c")
    page = report_html(content, templates=tdir)
    assert page.startswith("<h1>区局版式 ")
    assert "1337" not in page
    assert "{{7*191}}" not in page
    assert "<script>" not in page
    assert html_lib.unescape(page) == f"<h1>区局版式 {TEXTS[0]}</h1><p>{TEXTS[1]}</p>"


@pytest.mark.parametrize(("template", "found"), [
    ("{{ no_such_thing }}", "no_such_thing"),
    ("{% if %}", "report.html.j2"),
    ("{{ title.__class__.__mro__ }}", "report.html.j2"),
])
def test_bad_workspace_template_is_a_clear_error(tmp_path, template, found):
    import datetime as dt

    from mzgis.errors import ConfigError
    from mzgis.maps.report import ReportContent, report_html

    (tmp_path / "report.html.j2").write_text(template, encoding="utf-8")
    content = ReportContent(title="t", issuing_unit="u", date=dt.date(2026, 11, 20), conclusion="c")
    with pytest.raises(ConfigError, match="report template error") as err:
        report_html(content, templates=tmp_path)
    assert found in str(err.value)
    assert str(tmp_path / "report.html.j2") in str(err.value)


@pytest.mark.parametrize(("args", "message"), [
    (["--date", "2026-13-01"], "YYYY-MM-DD"),
    (["--paper", "A5"], "--paper"),
])
def test_bad_options_exit_2_before_any_work(built, capsys, args, message):
    before = {p.name: p.stat().st_mtime_ns for p in built["out"].iterdir()}
    assert mzgis("report", built["ws"], *args) == 2
    err = capsys.readouterr()
    assert message in err.out + err.err
    assert "Traceback" not in err.out + err.err
    assert {p.name: p.stat().st_mtime_ns for p in built["out"].iterdir()} == before


# -- Excel ------------------------------------------------------------------------------------------
def test_xlsx_percent_formats_frozen_header_and_neutralised_text(built):
    import openpyxl

    csv = pd.read_csv(built["out"] / f"coverage_{KIND}.csv", encoding="utf-8-sig")
    ws = openpyxl.load_workbook(built["out"] / f"coverage_{KIND}.xlsx").active
    assert ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    share = head.index("户数覆盖率") + 1
    hh = head.index("户数") + 1
    for i, r in enumerate(csv.to_dict("records"), start=2):
        cell = ws.cell(row=i, column=share)
        assert cell.number_format == "0.0%"
        assert cell.value == pytest.approx(r["share_covered"])
        assert ws.cell(row=i, column=hh).number_format == "#,##0"
    names = [ws.cell(row=i, column=head.index("单位名称") + 1).value for i in range(2, ws.max_row + 1)]
    assert f"'{TEXTS[2]}" in names  # =1+1社区 stays text
    assert TEXTS[2] not in names


def test_broken_workspace_template_fails_before_any_work(built, capsys):
    tdir = built["ws"] / "templates"
    tdir.mkdir(exist_ok=True)
    bad = tdir / "report.html.j2"
    bad.write_text("<h1>{{ title }</h1>\n{% if %}", encoding="utf-8")
    before = {p.name: p.stat().st_mtime_ns for p in built["out"].iterdir()}
    try:
        assert mzgis("report", built["ws"], "--date", DATE) == 2
    finally:
        bad.unlink()
    err = capsys.readouterr()
    text = err.out + err.err
    assert str(bad) in text
    assert "report template error" in text
    assert "Traceback" not in text
    assert {p.name: p.stat().st_mtime_ns for p in built["out"].iterdir()} == before
