"""The typed settings object (``Workspace.settings``) is built from ``mzgis.toml`` and its defaults."""

from __future__ import annotations

import dataclasses

import pytest

from mzgis.gis.settings import settings_from_config
from mzgis.gis.workspace import DEFAULT_CONFIG, Workspace, init_workspace


def test_settings_from_the_file(tmp_path):
    ws = init_workspace(tmp_path / "ws", name="测试区")
    text = ws.config_path.read_text(encoding="utf-8")
    text = text.replace("max_snap_distance_m = 300.0", "max_snap_distance_m = 125.5")
    text = text.replace("thresholds_min = [\n    5,\n    10,\n    15,\n]", "thresholds_min = [15, 5]")
    text += '\n[maps]\ntianditu_key = "abc"\n\n[access.targets]\nbeds_per_1000_elderly = 40\n'
    ws.config_path.write_text(text, encoding="utf-8")
    s = Workspace.open(ws.root).settings
    assert s.travel.max_snap_distance_m == 125.5
    assert s.travel.thresholds_min == (5.0, 15.0)  # ascending, floats
    assert s.project.name == "测试区"
    assert s.project.jurisdiction_name == "测试区"
    assert s.maps.tianditu_key == "abc"
    assert s.access_targets == {"beds_per_1000_elderly": 40}
    assert s.demand.persons_per_household == DEFAULT_CONFIG["demand"]["persons_per_household"]
    assert s.markers.spacing_m == DEFAULT_CONFIG["markers"]["spacing_m"]
    assert s.sliver_m2 == DEFAULT_CONFIG["inspection"]["sliver_m2"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.travel.max_snap_distance_m = 1.0  # type: ignore[misc]


def test_settings_defaults_and_jurisdiction_fallback():
    s = settings_from_config(DEFAULT_CONFIG)
    assert s.travel.snap_to == "main"
    assert s.travel.threshold_mode == "minutes"
    assert s.project.jurisdiction_name == "辖区"  # neither name nor jurisdiction set
    assert s.issuing_unit is None
    assert s.area_rules == ()
    assert s.import_.extent == tuple(float(x) for x in DEFAULT_CONFIG["import"]["extent"])
