"""Spreadsheet formula injection: text that starts like a formula is written as text in every CSV
and XLSX mzgis writes; numbers stay numbers.

The payloads sit in names, addresses, codes and ids of every imported layer and in mzgis.toml
(jurisdiction, a custom indicator, an area rule). Every writer runs through the command line:
``export`` (.csv, .xlsx), ``coverage`` (coverage_*, uncovered_*), ``standards`` (indicators,
area_standard), ``site`` (sites_*), ``reach`` (reach.csv) and ``inspect`` boundaries / markers /
plan / addresses. Each file is read back with openpyxl (no formula cell, no hyperlink, text that
starts like a formula begins with ``'``) or with the csv module (the same, for every field that
is not a number).
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.security.workspace import build_workspace, mzgis

FORMULAS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=2+2"]
DANGER = ("=", "+", "-", "@", "\t", "\r")
#: once-only config values: not stripped by any importer, so tab and CR payloads survive to the files
JURISDICTION = '\t=HYPERLINK("http://x","y")'
SINGLE = "\r=1+1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("formulas")
    ws = build_workspace(root, FORMULAS, name="=1+1", jurisdiction=JURISDICTION, single=SINGLE, ids=FORMULAS[:5])
    out = ws / "out"
    commands = [
        ["coverage", ws, "--kind", "社区养老服务驿站"],
        ["standards", ws],
        ["site", ws, "--kind", "社区养老服务驿站", "--add", "1", "--candidates", "candidates"],
        ["reach", ws, "--facilities", "stations", "--demand", "compounds"],
        ["inspect", ws, "boundaries", "--units", "communities"],
        ["inspect", ws, "markers", "--today", "2026-11-25"],
        ["inspect", ws, "plan", "--today", "2026-11-25"],
        ["inspect", ws, "addresses"],
    ]
    for layer in ("stations", "communities", "addresses"):
        commands += [["export", ws, layer, out / f"export_{layer}.csv"], ["export", ws, layer, out / f"export_{layer}.xlsx"]]
    for c in commands:
        assert mzgis(*c) == 0, c
    return {p.name: p for p in out.iterdir() if p.suffix in (".csv", ".xlsx")}


EXPECTED = [  # every writer, each with user text in it
    "export_stations.csv", "export_stations.xlsx", "export_communities.csv", "export_communities.xlsx",
    "export_addresses.csv", "export_addresses.xlsx",
    "coverage_elderly_care_station.csv", "coverage_elderly_care_station.xlsx", "uncovered_elderly_care_station.csv",
    "indicators.csv", "indicators.xlsx", "area_standard.csv", "area_standard.xlsx",
    "sites_elderly_care_station.csv", "sites_elderly_care_station.xlsx", "reach.csv",
    "inspect_markers.csv", "inspect_markers.xlsx", "inspection_plan.csv", "inspection_plan.xlsx",
    "inspect_addresses.csv", "inspect_addresses.xlsx", "inspect_boundaries_communities.csv", "inspect_boundaries_communities.xlsx",
]


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _texts(path: Path) -> list[str]:
    """Every text cell of a file (CSV fields that are numbers excluded)."""
    if path.suffix == ".csv":
        return [v for row in _csv_rows(path) for v in row if v and not _is_number(v)]
    wb = openpyxl.load_workbook(path)
    # xlsxwriter stores a CR as the OOXML escape _x000D_, which Excel decodes and openpyxl does not
    return [c.value.replace("_x000D_", "\r") for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)]


def test_every_writer_ran(outputs):
    assert sorted(set(EXPECTED) - set(outputs)) == []


@pytest.mark.parametrize("name", EXPECTED)
def test_no_live_formula_and_text_is_quoted(outputs, name):
    path = outputs[name]
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            assert ws._hyperlinks == []
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (name, c.coordinate, c.value)
                    if isinstance(c.value, str):
                        assert c.data_type == "s", (name, c.coordinate, c.value)
    texts = _texts(path)
    bad = [v for v in texts if v.startswith(DANGER)]
    assert bad == [], (name, bad[:5])
    # user text reached the file, and was neutralised
    quoted = [v for v in texts if v.startswith("'") and v[1:].startswith(DANGER)]
    assert quoted, (name, texts[:20])


def test_every_payload_is_written_quoted(outputs):
    texts = {v for p in outputs.values() for v in _texts(p)}
    for f in FORMULAS:  # imported text is stripped of surrounding white space by the importer
        assert any(v.startswith("'" + f.strip()) for v in texts), f
    for f in (JURISDICTION, SINGLE):  # config values keep their tab / carriage return
        assert "'" + f in texts, repr(f)


def test_numbers_stay_numbers(outputs):
    # negative attributes stored as numbers (偏差) and negative gaps of failing indicators
    x = openpyxl.load_workbook(outputs["export_communities.xlsx"]).active
    head = [c.value for c in x[1]]
    col = head.index("偏差")
    vals = [r[col] for r in x.iter_rows(min_row=2)]
    assert vals
    assert all(c.data_type == "n" and isinstance(c.value, int | float) and c.value < 0 for c in vals)
    rows = _csv_rows(outputs["export_communities.csv"])
    col = rows[0].index("偏差")
    assert all(r[col].startswith("-") and _is_number(r[col]) for r in rows[1:])
    ind = _csv_rows(outputs["indicators.csv"])
    gap = ind[0].index("gap")
    gaps = [r[gap] for r in ind[1:] if r[gap]]
    assert any(g.startswith("-") and _is_number(g) for g in gaps)
    x = openpyxl.load_workbook(outputs["indicators.xlsx"]).active
    nums = [c for row in x.iter_rows(min_row=2) for c in row if isinstance(c.value, int | float)]
    assert any(c.value < 0 and c.data_type == "n" for c in nums)
    x = openpyxl.load_workbook(outputs["coverage_elderly_care_station.xlsx"]).active
    head = [c.value for c in x[1]]
    hh = head.index("户数")
    assert all(isinstance(r[hh].value, int | float) for r in x.iter_rows(min_row=2))


def test_helper_neutralises_text_only():
    import pandas as pd

    from mzgis.layers.safe_text import neutralise_cell, neutralise_frame

    for f in [*FORMULAS, JURISDICTION, SINGLE]:
        assert neutralise_cell(f) == "'" + f
    for ok in ("示例", "a=1", "1-2", "", "'=1"):
        assert neutralise_cell(ok) == ok
    for num in (-1, -2.5, 0, 3):
        assert neutralise_cell(num) == num
    df = pd.DataFrame({"n": [-1.5, 2.0], "t": ["-1+2", "ok"], "m": [-3, "=1"], "=h": [1, 2]})
    out = neutralise_frame(df)
    assert out["n"].tolist() == [-1.5, 2.0]
    assert out["t"].tolist() == ["'-1+2", "ok"]
    assert out["m"].tolist() == [-3, "'=1"]
    assert list(out.columns) == ["n", "t", "m", "'=h"]


_WRITERS = ("to_csv", "to_excel", "ExcelWriter", "Workbook", "xlsxwriter", "csv.writer", "DictWriter",
            "write_string", "write_formula", "write_url")


def _writer_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            # reading CSV or XLSX (the importer) is fine; only a writing library is flagged on import
            name = next((m for m in mods if m.split(".")[0] == "xlsxwriter"), None)
        if name and name.split(".")[-1] in {w.split(".")[-1] for w in _WRITERS} | {"xlsxwriter"}:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    return found


def test_no_writer_bypasses_the_helper():
    """Only mzgis/layers/safe_text.py writes CSV or XLSX: no other module can forget to neutralise."""
    calls: list[Any] = []
    for p in sorted((ROOT / "mzgis").rglob("*.py")):
        if p.name == "safe_text.py" and p.parent.name == "layers":
            continue
        calls += _writer_calls(p)
    assert calls == []
