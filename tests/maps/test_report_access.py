"""The accessibility/equity section of the report (issue 14): after ``mzgis access`` (or with
``mzgis report --access KIND``), report.html (self-contained) and report.docx show the method,
units, Gini, share below the target, the Lorenz curve and the ten worst-served communities, with
the numbers of out/access_<kind>_units.csv and _worst.csv; map.html gains the access choropleth
in its grouped layer control. Community names are hostile and must stay text."""

from __future__ import annotations

import base64
import html as html_lib
import json
import re
from typing import Any

import pandas as pd
import pytest

from mzgis.maps.assets import external_references
from tests.security.workspace import build_workspace, mzgis

TEXTS = ["望京{{7*191}}", "<script>alert(1)</script>街道", "=1+1社区", "花家地$x^2$社区", "南湖</td></tr>社区",
         "利泽{% for x in range(3) %}x{% endfor %}"]
KIND = "elderly_care_station"
TARGET = 0.8


def _csv(path) -> pd.DataFrame:
    from mzgis.layers.safe_text import restore_frame

    return restore_frame(pd.read_csv(path, encoding="utf-8-sig", dtype={"unit_code": str, "unit_name": str},
                                     keep_default_na=False, na_values={"gini": [""], "access": [""]}))


def _num(text: str) -> float:
    m = re.search(r"[-+]?\d[\d,]*(?:\.\d+)?", text)
    assert m, text
    return float(m.group(0).replace(",", ""))


def _html_tables(page: str) -> dict[str, list[list[str]]]:
    """Each table of the report (by the id of its section) as rows of cell text, unescaped."""
    out = {}
    for sec in re.finditer(r'<section id="([^"]+)">(.*?)</section>', page, re.S):
        rows = [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", sec.group(2), re.S)]
        out[sec.group(1)] = rows
    return out


def _check_summary(rows: list[list[str]], units: pd.DataFrame) -> None:
    got = {r[0]: r[1] for r in rows[1:]}
    j = units[units["level"] == "jurisdiction"].iloc[0]
    assert _num(got["基尼系数 Gini"]) == pytest.approx(j["gini"], abs=0.0005)
    assert _num(got["低于目标的需求占比 share of demand below the target"]) == pytest.approx(
        100 * j["share_below_target"], abs=0.05)
    assert _num(got["目标 target"]) == pytest.approx(TARGET)
    access = next(v for k, v in got.items() if k.startswith("全辖区可达性"))
    assert _num(access) == pytest.approx(j["access"], abs=0.005)
    assert _num(got["需求 demand"]) == pytest.approx(round(j["demand"]))
    assert got["单位 units"] == j["access_unit_zh"]
    assert got["方法 method"].startswith(j["method"])
    assert got["阈值 threshold"] == j["threshold"]


def _check_worst(rows: list[list[str]], worst: pd.DataFrame) -> None:
    body = rows[1:]
    assert len(body) == len(worst) > 0
    for cells, r in zip(body, worst.to_dict("records"), strict=True):
        assert cells[0] == r["unit_code"]
        assert cells[1] == r["unit_name"]  # the hostile name, as text
        assert _num(cells[2]) == pytest.approx(round(r["demand"]))
        assert _num(cells[3]) == pytest.approx(r["access"], abs=0.005)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("report_access")
    ws = build_workspace(root, TEXTS, name="项目", jurisdiction="辖区", single="自定义")
    assert mzgis("access", ws, "--kind", KIND, "--supply", "count", "--demand-field", "households",
                 "--target", str(TARGET)) == 0
    assert mzgis("report", ws, "--date", "2026-11-20", "--paper", "A4-landscape") == 0
    out = ws / "out"
    return {"ws": ws, "out": out, "html": (out / "report.html").read_text(encoding="utf-8"),
            "units": _csv(out / f"access_{KIND}_units.csv"), "worst": _csv(out / f"access_{KIND}_worst.csv")}


def test_html_section_has_the_numbers_of_the_csv(built):
    tables = _html_tables(built["html"])
    assert f"access_{KIND}" in tables, list(tables)
    _check_summary(tables[f"access_{KIND}"], built["units"])
    _check_worst(tables[f"access_worst_{KIND}"], built["worst"])


def test_html_embeds_the_lorenz_png_and_stays_self_contained(built):
    png = (built["out"] / f"access_{KIND}_lorenz.png").read_bytes()
    uris = re.findall(r'<img class="figure" src="data:image/png;base64,([^"]+)"', built["html"])
    assert [base64.b64decode(u) for u in uris] == [png]
    assert external_references(built["html"]) == []


def test_hostile_names_stay_text(built):
    page = built["html"]
    assert "<script>alert(1)</script>" not in page
    assert "南湖</td></tr>社区" not in page
    assert "京1337" not in html_lib.unescape(page)  # 望京{{7*191}} was not evaluated
    names = {c for rows in _html_tables(page).values() for r in rows for c in r}
    worst_names = set(built["worst"]["unit_name"])
    assert worst_names & set(TEXTS)  # the worst-served include hostile names…
    assert worst_names <= names  # …shown exactly as written


def test_docx_section_matches_the_csv(built):
    import docx

    doc = docx.Document(str(built["out"] / "report.docx"))
    tables = {t.rows[0].cells[0].text: [[c.text for c in r.cells] for r in t.rows] for t in doc.tables}
    _check_summary(tables["项目 item"], built["units"])
    _check_worst(tables["单位编码"], built["worst"])
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "可达性与公平" in text
    assert "京1337" not in text
    png = (built["out"] / f"access_{KIND}_lorenz.png").read_bytes()
    blobs = [r.target_part.blob for r in doc.part.rels.values() if "image" in r.reltype]
    assert png in blobs  # the Lorenz curve, as computed


def test_map_lists_the_access_layer_in_the_grouped_control(built):
    page = (built["out"] / "map.html").read_text(encoding="utf-8")
    call = page[page.index("L.control.groupedLayers("):]
    call = call[:call.index(");")]
    group = json.dumps("可达性 access")  # how the control's JSON writes the group name
    assert group in call
    label = str(built["units"]["access_unit_zh"].iloc[0])
    assert json.dumps(f"可达性 access: 社区养老服务驿站 {label}")[1:-1] in call
    assert "<script>alert(1)</script>" not in page


def test_report_access_option_computes_and_reports(built, capsys):
    ws, out = built["ws"], built["out"]
    for p in out.glob(f"access_{KIND}*"):
        p.unlink()
    assert mzgis("report", ws, "--date", "2026-11-20", "--paper", "A4-landscape", "--access", "社区养老服务驿站:count") == 0
    assert (out / f"access_{KIND}_units.csv").exists()
    tables = _html_tables((out / "report.html").read_text(encoding="utf-8"))
    units = _csv(out / f"access_{KIND}_units.csv")
    assert units["access_unit"].iloc[0].startswith("facilities")
    rows = {r[0]: r[1] for r in tables[f"access_{KIND}"][1:]}
    j = units[units["level"] == "jurisdiction"].iloc[0]
    assert _num(rows["基尼系数 Gini"]) == pytest.approx(j["gini"], abs=0.0005)
    capsys.readouterr()
    assert mzgis("report", ws, "--access", "社区养老服务驿站:rooms") == 2
    err = capsys.readouterr().err
    assert "rooms" in err
    assert "Traceback" not in err


def test_access_legend_shows_only_with_its_layer_in_a_browser(built):
    """Offline Chromium: the access layer starts off and so does its legend; switching the layer on
    in the layer control shows the legend, off hides it. No errors, no dialogs, no requests."""
    from tests.maps.browser import visit

    script = """() => {
      const el = document.querySelector("[id^='legend_']");
      const shown = () => getComputedStyle(el).display;
      const label = [...document.querySelectorAll('.leaflet-control-layers label')]
        .find(l => l.textContent.includes('可达性 access:'));
      const input = label.querySelector('input');
      const before = [shown(), input.checked];
      input.click();
      const on = [shown(), input.checked];
      input.click();
      return [before, on, [shown(), input.checked], el.textContent];
    }"""
    for size in ((1400, 900), (390, 844)):
        v = visit(built["out"] / "map.html", script=script, size=size)
        before, on, off, text = v.result
        assert before == ["none", False]
        assert on == ["block", True]
        assert off == ["none", False]
        # the legend of the results the map was built from (an earlier test may have recomputed them)
        assert str(_csv(built["out"] / f"access_{KIND}_units.csv")["access_unit_zh"].iloc[0]) in text
        assert v.console_errors == []
        assert v.dialogs == []
        assert v.network_requests == []
