"""The 示例数据 sample-data banner tells the truth: it is set explicitly by the demo, never inferred
from the data (a bureau's real table may well have a 数据来源 column — even one saying 示例)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from mzgis.gis.demo import SAMPLE
from tests.security.workspace import mzgis

BANNER = "示例数据"


def _pages(ws: Path) -> dict[str, str]:
    return {n: (ws / "out" / n).read_text(encoding="utf-8") for n in ("map.html", "report.html")}


@pytest.mark.parametrize("source", ["区民政局 2026年摸底", SAMPLE])
def test_real_data_with_a_source_column_has_no_banner(tmp_path, source):
    ws = tmp_path / "ws"
    assert mzgis("init", ws, "--name", "朝阳区民政局") == 0
    units = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"编码": "C1", "名称": "望京社区", "级别": "community", "数据来源": source},
         "geometry": shapely.geometry.mapping(shapely.box(116.46, 39.98, 116.49, 40.01))}]}
    (tmp_path / "units.geojson").write_text(json.dumps(units, ensure_ascii=False), encoding="utf-8")
    stations = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"编号": f"S{i}", "名称": name, "状态": status, "数据来源": source},
         "geometry": shapely.geometry.mapping(shapely.Point(x, y))}
        for i, (name, status, x, y) in enumerate([("望京驿站", "建成运营", 116.470, 39.990),
                                                  ("花家地驿站", "在建", 116.480, 39.995)])]}
    (tmp_path / "stations.geojson").write_text(json.dumps(stations, ensure_ascii=False), encoding="utf-8")
    assert mzgis("import", ws, tmp_path / "units.geojson", "--layer", "communities", "--type", "admin_units",
                 "--level", "community") == 0
    assert mzgis("import", ws, tmp_path / "stations.geojson", "--layer", "stations", "--type", "facilities",
                 "--kind", "社区养老服务驿站") == 0
    assert mzgis("map", ws) == 0
    assert mzgis("report", ws) == 0
    pages = _pages(ws)
    assert json.dumps("数据来源")[1:-1] in pages["map.html"]  # the column is shown in the popups (JSON)…
    for name, page in pages.items():
        assert BANNER not in page, name  # …but it does not make the data a sample


def test_the_demo_is_labelled(demo_once):
    ws = demo_once[0]
    for name, page in _pages(ws).items():
        assert BANNER in page, name
    from mzgis.gis.pipelines import is_sample_workspace
    from mzgis.gis.workspace import Workspace

    assert is_sample_workspace(Workspace.open(ws))
