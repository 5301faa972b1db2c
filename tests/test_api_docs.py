"""Every example of docs/api.md runs: its ```python blocks are executed in order in one namespace,
as a notebook would run them, from the repository root (the page reads ../shared/data from there).
A renamed function, a changed column or a failing assertion in the page fails this test."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, shared

DOC = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_page_has_examples_of_every_analysis():
    code = "\n".join(blocks())
    for name in ("open_workspace", "demo_workspace", "read_layer", "read_facilities", "read_demand", "read_units",
                 "load_graph", "graph_from_osm", "reach", "reach_pairs", "coverage", "service_areas", "site",
                 "access", "access_by_unit", "demand_points", "boundary_lines", "inspect_boundaries",
                 "to_networkx", "graph_to_gdfs"):
        assert f"mzgis.{name}(" in code or f".{name}(" in code, name


def test_docs_examples_run(monkeypatch, tmp_path):
    shared("osm/beijing_chaoyang_wangjing.osm")  # the page's real data (skipped off CI without it)
    shared("boundaries/beijing_subdistricts/beijing.shp")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the page's tempfile.mkdtemp() lands in pytest's tmp
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    namespace: dict[str, object] = {"__name__": "docs_api"}
    found = blocks()
    assert len(found) >= 10
    for i, code in enumerate(found, 1):
        try:
            exec(compile(code, f"{DOC}[block {i}]", "exec"), namespace)
        except Exception as exc:  # name the block, so a broken example is easy to find
            pytest.fail(f"docs/api.md python block {i} failed: {type(exc).__name__}: {exc}\n{code}")
