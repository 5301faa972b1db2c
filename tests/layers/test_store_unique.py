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
