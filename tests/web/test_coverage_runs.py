"""The coverage page lists runs, not kinds: a variant file (other demand, scenario, minutes) is
labelled as a run of its kind, never offered as a kind of its own."""

from __future__ import annotations

from mzgis.gis.outnames import output_stem
from mzgis.web.routes_view import coverage_choices, coverage_files


def test_variant_runs_are_labelled_by_kind_and_difference(tmp_path):
    stems = [output_stem("coverage", "elderly_care_station"),
             output_stem("coverage", "elderly_care_station", demand="buildings", statuses=("建成运营", "在建", "规划")),
             output_stem("coverage", "elderly_care_center", minutes=[10], default_minutes=[15]),
             "coverage_notakind"]
    for s in stems:
        (tmp_path / f"{s}.csv").write_text("unit_code\n", encoding="utf-8")
    choices = coverage_choices(coverage_files(tmp_path))
    by_value = {c["value"]: c for c in choices}
    assert set(by_value) == {"elderly_care_station", "elderly_care_station_buildings_planned",
                             "elderly_care_center_10min", "notakind"}
    assert by_value["elderly_care_station"]["label"].endswith("（默认 default）")
    planned = by_value["elderly_care_station_buildings_planned"]
    assert planned["kind"] == "elderly_care_station"
    assert planned["label"].endswith("（buildings planned）")
    assert by_value["elderly_care_center_10min"]["kind"] == "elderly_care_center"
    assert by_value["notakind"]["label"] == "notakind"
    # default run first within its kind
    values = [c["value"] for c in choices]
    assert values.index("elderly_care_station") < values.index("elderly_care_station_buildings_planned")
