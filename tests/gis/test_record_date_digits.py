"""`mzgis record --date` follows the same date rule as `edit`/import: ASCII digits only
(full-width ２０２６-１１-２０ was accepted by record's argument parser and stored as 2026-11-20,
while `edit --set last_inspection_date=２０２６-１１-２０` refused it)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from mzgis.gis.cli import main


@pytest.fixture
def ws(workspace):
    gdf = gpd.GeoDataFrame({"feature_id": ["JZ-1"], "line_id": ["L1"], "condition": ["完好"],
                            "last_inspection_date": ["2020-01-01"]},
                           geometry=[shapely.Point(116.4, 40.0)], crs="EPSG:4326")
    workspace.store.write_layer("markers", gdf, layer_type="boundary_markers")
    return workspace


@pytest.mark.parametrize("day", ["２０２６-１１-２０", "2026-١١-20"])
def test_record_refuses_non_ascii_digits_like_edit(ws, capsys, day):
    before = ws.store.dump()
    assert main(["record", str(ws.root), "JZ-1", "--condition", "损坏", "--date", day, "--inspector", "张三"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert ws.store.dump() == before
    assert main(["edit", str(ws.root), "markers", "update", "JZ-1", "--set", f"last_inspection_date={day}"]) == 2
    assert ws.store.dump() == before
