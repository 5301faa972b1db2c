"""The web app on a PostGIS store (a team): accounts and data copied from the GeoPackage with
``mzgis store copy --use``, a real ``mzgis serve`` process, edits in the database's history with
the logged-in user, a stale edit refused, a viewer refused."""

from __future__ import annotations

from tests.security.workspace import mzgis
from tests.web.conftest import USERS, start_server, stop_server


def test_serve_on_postgis(private_ws, pg_url, tmp_path, http):
    assert mzgis("store", "copy", private_ws, pg_url, "--use") == 0
    from mzgis.gis.workspace import Workspace

    store = Workspace.open(private_ws).store
    assert store.location.startswith("postgresql://")
    assert store.account(USERS["placename"][0]) is not None  # the accounts came along
    srv = start_server(private_ws, tmp_path / "serve.log")
    srv.store_url = pg_url
    try:
        a = http(*USERS["placename"], server=srv)
        b = http("field2", "field2-pass-1", server=srv)
        v = int(store.feature("markers", "M8")["mz_version"])
        form = {"layer": "markers", "id": "M8", "expect_version": str(v)}
        r = a.post("/edit/feature", data={**form, "csrf_token": a.csrf, "f:condition": "丢失"})
        assert r.status_code == 303
        r = b.post("/edit/feature", data={**form, "csrf_token": b.csrf, "f:condition": "移位"})
        assert r.status_code == 409
        assert "丢失" in r.text
        assert "移位" in r.text
        cur = store.feature("markers", "M8")
        assert cur["condition"] == "丢失"
        assert int(cur["mz_version"]) == v + 1
        assert store.history("markers", "M8").iloc[-1]["user"] == USERS["placename"][0]
        viewer = http(*USERS["viewer"], server=srv)
        before = srv.dump()
        r = viewer.post("/edit/feature", data={**form, "expect_version": str(v + 1), "csrf_token": viewer.csrf,
                                               "f:condition": "完好"})
        assert r.status_code == 403
        assert srv.dump() == before
        assert viewer.get("/view/indicators").status_code == 200
        for c in (a, b, viewer):
            c.close()
    finally:
        stop_server(srv)
