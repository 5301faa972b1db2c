"""``run_record``'s options for the web app — the history's user, the upload's name, the position
with its offset, the record key — and the date check both faces share (`mzgis record` too)."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely

from mzgis.errors import LayerError, RecordKeyConflictError
from mzgis.gis.cli import main
from mzgis.gis.pipelines import latest_today, run_record


@pytest.fixture
def ws(workspace):
    gdf = gpd.GeoDataFrame({"feature_id": ["JZ-1", "JZ-2"], "line_id": ["L1", "L1"], "condition": ["完好", "完好"],
                            "last_inspection_date": ["2020-01-01", "2020-01-01"]},
                           geometry=[shapely.Point(116.4, 40.0), shapely.Point(116.41, 40.0)], crs="EPSG:4326")
    workspace.store.write_layer("markers", gdf, layer_type="boundary_markers")
    return workspace


def meridian_arc_m(lat_deg: float, dlat_deg: float) -> float:
    """Length of a short meridian arc on the WGS-84 ellipsoid (radius of curvature M × Δφ)."""
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    phi = math.radians(lat_deg + dlat_deg / 2)
    m = a * (1 - e2) / (1 - e2 * math.sin(phi) ** 2) ** 1.5
    return m * math.radians(dlat_deg)


def test_user_position_name_and_key(ws, tmp_path):
    photo = tmp_path / ".upload-x1y2.part"
    photo.write_bytes(b"\xff\xd8\xff" + b"\0" * 100)
    rec = run_record(ws, "JZ-1", condition="移位", date="2026-11-20", inspector="张三", photo=str(photo),
                     photo_name="../../IMG 0001.jpg", position=(116.4, 40.001), accuracy_m=4.2, user="field",
                     client_key="k" * 32)
    assert not rec["duplicate"]
    assert rec["photo"] == "photos/2026-11-20/JZ-1_IMG_0001.jpg"  # named after the upload, sanitised
    assert (ws.root / rec["photo"]).read_bytes() == photo.read_bytes()
    assert float(rec["offset_m"]) == pytest.approx(meridian_arc_m(40.0, 0.001), abs=0.01)
    assert (rec["lon"], rec["lat"], rec["accuracy_m"], rec["recorded_by"]) == ("116.4000000", "40.0010000", "4.2",
                                                                               "field")
    h = ws.store.history("markers", "JZ-1")
    assert h["user"].iloc[-1] == "field"  # the logged-in user, not the inspector's name
    m = ws.store.feature("markers", "JZ-1")
    assert m.geometry.equals(shapely.Point(116.4, 40.0))  # the marker is not moved
    before = ws.store.dump()
    same = {"condition": "移位", "date": "2026-11-20", "inspector": "张三", "photo": str(photo),
            "photo_name": "../../IMG 0001.jpg", "position": (116.4, 40.001), "accuracy_m": 4.2, "user": "field",
            "client_key": "k" * 32}
    again = run_record(ws, "JZ-1", **same)  # the same record sent again: a resend
    assert again["duplicate"]
    assert ws.store.dump() == before
    # the key with another record, another photo, or from another user: refused, nothing written
    other = tmp_path / "other.part"
    other.write_bytes(b"\xff\xd8\xff" + b"\1" * 100)
    for over, words in (({"condition": "损坏", "date": "2026-11-21"}, "differs in: date, condition"),
                        ({"photo": str(other)}, "differs in: photo"), ({"user": "field2"}, "another user")):
        with pytest.raises(RecordKeyConflictError, match=words):
            run_record(ws, "JZ-1", **{**same, **over})
    assert ws.store.dump() == before
    assert len(ws.store.records("mzgis_inspections")) == 1
    assert sorted(p.name for p in (ws.root / "photos").rglob("*") if p.is_file()) == ["JZ-1_IMG_0001.jpg"]
    assert not list(ws.cache_dir.glob("*.part"))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"date": "2999-01-01"}, "in the future"),
    ({"client_key": "../x"}, "client_key"),
    ({"position": (float("nan"), 40.0)}, "WGS-84"),
    ({"position": (116.4, 95.0)}, "WGS-84"),
])
def test_bad_options_write_nothing(ws, kwargs, words):
    before = ws.store.dump()
    args = {"condition": "损坏", "date": "2026-11-20", "inspector": "张三", **kwargs}
    with pytest.raises(LayerError, match=words):
        run_record(ws, "JZ-2", **args)
    assert ws.store.dump() == before


def test_record_refuses_a_future_date(ws, capsys):
    before = ws.store.dump()
    tomorrow = latest_today().toordinal() + 1
    import datetime as dt

    day = dt.date.fromordinal(tomorrow).isoformat()
    assert main(["record", str(ws.root), "JZ-2", "--condition", "损坏", "--date", day, "--inspector", "张三"]) == 2
    err = capsys.readouterr().err
    assert "--date" in err
    assert "日期在将来" in err
    assert "Traceback" not in err
    assert ws.store.dump() == before
    assert main(["record", str(ws.root), "JZ-2", "--condition", "损坏", "--date", latest_today().isoformat(),
                 "--inspector", "张三"]) == 0


def test_an_older_inspection_sent_late_keeps_the_newer_condition(ws, capsys):
    """`mzgis record` (and the web app's queue) with an inspection dated before the marker's last
    one: stored as a record, the marker's condition and date left as the newer inspection set them,
    and the user told so."""
    assert main(["record", str(ws.root), "JZ-2", "--condition", "损坏", "--date", "2026-11-20",
                 "--inspector", "李四"]) == 0
    capsys.readouterr()
    assert main(["record", str(ws.root), "JZ-2", "--condition", "完好", "--date", "2026-11-02",
                 "--inspector", "王五"]) == 0
    out = capsys.readouterr().out
    assert "已有更晚的检查 has a later inspection on record" in out
    m = ws.store.feature("markers", "JZ-2")
    assert (m["condition"], str(m["last_inspection_date"])[:10]) == ("损坏", "2026-11-20")
    recs = ws.store.records("mzgis_inspections")
    assert recs["inspector"].tolist() == ["李四", "王五"]
    rec = run_record(ws, "JZ-2", condition="丢失", date="2026-11-21", inspector="李四")
    assert not rec["superseded"]
    assert ws.store.feature("markers", "JZ-2")["condition"] == "丢失"
