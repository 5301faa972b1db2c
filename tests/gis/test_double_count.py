"""Nothing counted twice: the same stations in two layers of one kind, or the same buildings in two
demand layers (points and footprints), are refused with the fix; disjoint layers still add up."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from mzgis.errors import DoubleCountError
from mzgis.gis.cli import main
from mzgis.gis.pipelines import build_network, run_coverage, run_standards
from mzgis.gis.workspace import init_workspace

UTM = "EPSG:32650"
X0, Y0 = 440_000.0, 4_420_000.0
KIND = "elderly_care_station"


def _points(ids, xs, **cols):
    return gpd.GeoDataFrame({"feature_id": ids, **cols},
                            geometry=gpd.points_from_xy(np.asarray(xs, dtype=float) + X0, [Y0 + 10.0] * len(ids)), crs=UTM)


def _stations(ids, xs, names=None):
    n = len(ids)
    return _points(ids, xs, kind=[KIND] * n, status=["建成运营"] * n, name=names or [f"驿站{i}" for i in ids])


@pytest.fixture
def street(tmp_path):
    """A 4 km street, one station S1 at its west end, homes A (100 households, 100 m away), B (60, at
    2 km) and C (40, at 3 km) as points."""
    ws = init_workspace(tmp_path / "ws", name="测试区", metric_crs=UTM)
    xs = np.arange(0.0, 4001.0, 100.0)
    roads = gpd.GeoDataFrame({"name": ["长街"]}, geometry=[shapely.LineString(np.column_stack([xs + X0, [Y0] * xs.size]))],
                             crs=UTM)
    roads.to_file(tmp_path / "roads.gpkg", driver="GPKG")
    build_network(ws, tmp_path / "roads.gpkg")
    ws.store.write_layer("stations", _stations(["S1"], [0.0]), layer_type="facilities", kind=KIND)
    ws.store.write_layer("homes", _points(["A", "B", "C"], [100.0, 2000.0, 3000.0], households=[100.0, 60.0, 40.0]),
                         layer_type="demand")
    return ws


def _jur15(run):
    t = run.table
    return t[(t["level"] == "jurisdiction") & (t["minutes"] == 15)].iloc[0]


def _footprints(ids, xs, hh):
    boxes = [shapely.box(x + X0 - 10, Y0, x + X0 + 10, Y0 + 20) for x in xs]
    return gpd.GeoDataFrame({"feature_id": ids, "households": hh}, geometry=boxes, crs=UTM)


def test_points_and_footprints_of_the_same_buildings_are_refused(street, capsys):
    # the same three buildings as footprints (ids differ, as they do between two sources)
    street.store.write_layer("buildings", _footprints(["b1", "b2", "b3"], [100.0, 2000.0, 3000.0], [100.0, 60.0, 40.0]),
                             layer_type="demand")
    with pytest.raises(DoubleCountError) as e:
        run_coverage(street, kind=KIND, minutes=[15])
    msg = str(e.value)
    assert "'homes'" in msg
    assert "'buildings'" in msg
    assert "3 features" in msg
    assert "--demand homes" in msg
    assert "drop buildings" in msg
    # the CLI: exit 2, the message, no traceback, no table written
    assert main(["coverage", str(street.root), "--kind", KIND, "--minutes", "15"]) == 2
    err = capsys.readouterr()
    assert "counted twice" in err.out + err.err
    assert "Traceback" not in err.out + err.err
    # every analysis that gathers demand refuses, none goes on without it
    with pytest.raises(DoubleCountError):
        run_standards(street)
    assert main(["map", str(street.root)]) == 2
    assert "counted twice" in capsys.readouterr().err
    # choosing one layer explicitly counts the 200 households once
    assert _jur15(run_coverage(street, kind=KIND, minutes=[15], demand="homes"))["households"] == pytest.approx(200.0)


def test_disjoint_demand_layers_add_up(street):
    # another street's compounds, 500 m north of the first ones: different buildings
    other = _points(["D", "E"], [100.0, 2000.0], households=[10.0, 5.0])
    other["geometry"] = other.geometry.translate(0, 500)
    street.store.write_layer("homes_north", other, layer_type="demand")
    fp = _footprints(["f1"], [3500.0], [7.0])
    street.store.write_layer("footprints_east", fp, layer_type="demand")
    assert _jur15(run_coverage(street, kind=KIND, minutes=[15]))["households"] == pytest.approx(200 + 15 + 7)


def test_the_same_stations_in_a_second_layer_are_refused(street, capsys):
    # the spreadsheet imported again: same id and name, 1 m off after a second coordinate conversion
    street.store.write_layer("stations_again", _stations(["S1", "S2"], [1.0, 3000.0]), layer_type="facilities",
                             kind=KIND)
    for run in (lambda: run_coverage(street, kind=KIND, minutes=[15]), lambda: run_standards(street)):
        with pytest.raises(DoubleCountError) as e:
            run()
        msg = str(e.value)
        assert "'stations'" in msg
        assert "'stations_again'" in msg
        assert "stations:S1" in msg
        assert "drop stations_again" in msg
    assert main(["map", str(street.root)]) == 2
    assert "counted twice" in capsys.readouterr().err


def test_same_id_and_name_far_apart_is_the_same_station(street):
    # the same table converted from GCJ-02 once and not the other time: ~500 m apart, same id and name
    street.store.write_layer("stations_gcj", _stations(["S1"], [500.0], names=["驿站S1"]), layer_type="facilities",
                             kind=KIND)
    with pytest.raises(DoubleCountError, match="stations_gcj:S1"):
        run_coverage(street, kind=KIND, minutes=[15])


def test_distinct_stations_of_one_kind_in_two_layers_are_counted(street):
    # a second district's stations: other ids (row numbers, named by their id) and other places
    street.store.write_layer("stations_b", _stations(["1", "S1x"], [2000.0, 3000.0], names=["1", "驿站x"]),
                             layer_type="facilities", kind=KIND)
    street.store.write_layer("stations_c", _stations(["1"], [3900.0], names=["1"]), layer_type="facilities",
                             kind=KIND)
    run = run_coverage(street, kind=KIND, minutes=[15])
    assert run.facilities_counted == 4
    assert _jur15(run)["households_covered"] == pytest.approx(200.0)


def test_drop_retires_the_duplicate_layer_which_then_no_longer_counts(street, capsys):
    street.store.write_layer("stations_again", _stations(["S1"], [1.0]), layer_type="facilities", kind=KIND)
    root = str(street.root)
    assert main(["layers", root, "drop", "stations_again", "--note", "同一表格导入两次"]) == 0
    assert "1 个要素已退役" in capsys.readouterr().out
    # counted once again; the listing shows live layers only, --all shows the dropped one too
    assert run_coverage(street, kind=KIND, minutes=[15]).facilities_counted == 1
    assert main(["layers", root]) == 0
    listed = capsys.readouterr().out
    assert "stations_again" not in listed
    assert "homes" in listed
    assert main(["layers", root, "--all"]) == 0
    assert "stations_again" in capsys.readouterr().out
    # kept in the history, with the note
    assert main(["history", root, "stations_again"]) == 0
    hist = capsys.readouterr().out
    assert "同一表格导入两次" in hist
    assert hist.count("S1") == 2  # added, then retired
    assert len(street.store.read("stations_again", include_retired=True)) == 1
    # dropping again, or a missing layer: exit 2, store unchanged
    assert main(["layers", root, "drop", "stations_again"]) == 2
    assert main(["layers", root, "drop", "nope"]) == 2
    assert "already dropped" in capsys.readouterr().err
