"""Issue 23: ``mzgis report --access KIND`` reruns accessibility with the planner's own method,
decay and threshold (what the last ``mzgis access`` of that kind recorded), never silently with
E2SFCA gaussian; it prints and shows what it used."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.security.workspace import build_workspace, mzgis

KIND = "elderly_care_station"


def _jur(out) -> pd.Series:
    u = pd.read_csv(out / f"access_{KIND}_units.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return u[u["level"] == "jurisdiction"].iloc[0]


def test_report_access_keeps_the_planners_method(tmp_path, capsys):
    ws = build_workspace(tmp_path, ["甲"], name="项目", jurisdiction="辖区", single="自定义")
    out = ws / "out"
    assert mzgis("access", ws, "--kind", KIND, "--supply", "count", "--demand-field", "households",
                 "--method", "2sfca", "--minutes", "12") == 0
    before = _jur(out)
    assert before["method"] == "2sfca"
    capsys.readouterr()
    assert mzgis("report", ws, "--date", "2026-11-20", "--paper", "A4-landscape", "--access", f"{KIND}:count") == 0
    said = capsys.readouterr().out
    after = _jur(out)
    assert after["method"] == "2sfca"  # not replaced by e2sfca
    assert after["threshold"] == before["threshold"]
    assert float(after["gini"]) == pytest.approx(float(before["gini"]))
    assert "2sfca" in said
    assert before["threshold"] in said
    assert "count" in said
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "2sfca" in page
    assert "e2sfca" not in page
    assert "count" in page  # the supply it used
    # the assumptions behind the coverage figures: in the console and in "what was counted" (HTML, DOCX)
    import html as html_lib

    import docx

    assumed = [ln.strip() for ln in said.splitlines() if "假设 assumed" in ln]
    assert any("步行速度 walking speed" in ln for ln in assumed), assumed
    assert any("吸附规则 snapping rule" in ln for ln in assumed), assumed
    text = html_lib.unescape(page)
    paras = "\n".join(p.text for p in docx.Document(str(out / "report.docx")).paragraphs)
    for ln in assumed:
        assert ln in text
        assert ln in paras
    # an explicit method is the planner's choice, and said
    capsys.readouterr()
    assert mzgis("report", ws, "--date", "2026-11-20", "--paper", "A4-landscape", "--access", f"{KIND}:count",
                 "--access-method", "e2sfca") == 0
    assert _jur(out)["method"] == "e2sfca"
    assert "e2sfca" in capsys.readouterr().out
