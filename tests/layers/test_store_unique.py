"""``edit_feature(..., unique_record=(table, column, value))``: a record whose key the store
already holds is not written again (the web app's resent inspections), on both back ends, also
when several writers send the same key at once."""

from __future__ import annotations

import threading

import pytest

from mzgis.errors import DuplicateRecordError
from mzgis.layers.store import open_store
from tests.layers.test_store_backends import layer, location


def _record(st, key: str, note: str = "", condition: str = "损坏") -> None:
    st.edit_feature("markers", "M0001", changes={"condition": condition}, user="field",
                    records={"mzgis_inspections": [{"marker_code": "M0001", "client_key": key, "note": note}]},
                    unique_record=("mzgis_inspections", "client_key", key))


def test_a_known_key_writes_nothing(any_workspace):
    st = any_workspace.store
    st.write_layer("markers", layer(3), layer_type="boundary_markers")
    _record(st, "key-aaaaaaaa", "first")
    before = st.dump()
    recs = st.records("mzgis_inspections")
    with pytest.raises(DuplicateRecordError, match="key-aaaaaaaa"):
        _record(st, "key-aaaaaaaa", "again")
    assert st.dump() == before
    assert st.records("mzgis_inspections").equals(recs)
    _record(st, "key-bbbbbbbb", "another", condition="丢失")
    assert st.records("mzgis_inspections")["client_key"].tolist() == ["key-aaaaaaaa", "key-bbbbbbbb"]
    assert len(st.history("markers")) == len(before["mzgis_history"]) + 1


def test_same_key_at_once_is_stored_once(any_workspace):
    any_workspace.store.write_layer("markers", layer(3), layer_type="boundary_markers")
    loc = location(any_workspace)
    n = 6
    start = threading.Barrier(n)
    outcome: list[str] = []

    def send(i: int) -> None:
        st = open_store(loc)
        start.wait()
        try:
            _record(st, "same-key-123", f"writer {i}")
            outcome.append("stored")
        except DuplicateRecordError:
            outcome.append("duplicate")

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcome) == ["duplicate"] * (n - 1) + ["stored"]
    recs = any_workspace.store.records("mzgis_inspections")
    assert recs["client_key"].tolist() == ["same-key-123"]


def test_a_late_older_observation_is_recorded_but_keeps_the_newer_state(any_workspace):
    """``keep_newer``: an inspection dated before the marker's last one (queued offline and sent
    late) is appended to the records but does not put the older condition back; a later one does
    update. Both back ends; the check is made on the locked row."""
    st = any_workspace.store
    gdf = layer(2)
    gdf["last_inspection_date"] = ["2020-01-01", None]
    st.write_layer("markers", gdf, layer_type="boundary_markers")

    def inspect(fid: str, day: str, cond: str):
        return st.edit_feature("markers", fid, changes={"condition": cond, "last_inspection_date": day}, user="field",
                               records={"mzgis_inspections": [{"marker_code": fid, "date": day, "condition": cond}]},
                               keep_newer="last_inspection_date")

    def state(fid: str) -> tuple[str, str]:
        row = st.feature("markers", fid)
        return str(row["condition"]), str(row["last_inspection_date"])[:10]

    r = inspect("M0000", "2026-05-01", "损坏")
    assert (r.updated, r.kept_newer) == (1, False)
    assert state("M0000") == ("损坏", "2026-05-01")
    versions = len(st.history("markers", "M0000"))
    r = inspect("M0000", "2026-04-01", "完好")  # older, arriving late
    assert (r.updated, r.unchanged, r.kept_newer) == (0, 1, True)
    assert state("M0000") == ("损坏", "2026-05-01")
    assert len(st.history("markers", "M0000")) == versions
    recs = st.records("mzgis_inspections")
    assert recs["date"].astype(str).str[:10].tolist() == ["2026-05-01", "2026-04-01"]
    r = inspect("M0000", "2026-05-01", "丢失")  # the same day: the later report wins, as before
    assert state("M0000") == ("丢失", "2026-05-01")
    r = inspect("M0000", "2026-06-01", "完好")
    assert state("M0000") == ("完好", "2026-06-01")
    # a marker never inspected takes any date
    r = inspect("M0001", "2019-01-01", "完好")
    assert (r.updated, r.kept_newer) == (1, False)
    assert state("M0001") == ("完好", "2019-01-01")
