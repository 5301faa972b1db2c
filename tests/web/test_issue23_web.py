"""Issue 23, web holes, in process (no server): role rules per layer type on every write path,
server-side sessions, client_key scoped per user, the record form's limits, NUL in paths, panics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.security.workspace import LAT0, LON0
from tests.web.conftest import USERS


@pytest.fixture
def app(private_ws: Path) -> Any:
    from mzgis.web.app import create_app

    return create_app(private_ws)


def client(app: Any, role: str | None = None, login: str | None = None, password: str | None = None) -> Any:
    import warnings

    with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what this venv has
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        c = TestClient(app, base_url="http://testserver", follow_redirects=False,
                       raise_server_exceptions=False)
    if role is not None:
        login, password = USERS[role]
    if login is not None:
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert tok
        r = c.post("/login", data={"csrf_token": tok.group(1), "login": login, "password": password, "next": "/"})
        assert r.status_code == 303, r.text
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
        assert tok
        c.csrf = tok.group(1)  # type: ignore[attr-defined]
    return c


def active(app: Any, layer: str) -> int:
    return len(app.state.mz.store().read(layer))


def marker_csv(n: int = 1) -> bytes:
    rows = ["编号,界线编号,状况,经度,纬度\n"] + [f"M{i},L0,完好,{LON0:.6f},{LAT0:.6f}\n" for i in range(n)]
    return "".join(rows).encode()


# -- 1. role rules per layer type --------------------------------------------------------------------

@pytest.mark.parametrize("typ", ["boundary_markers", "facilities"])
def test_planner_cannot_retire_markers_through_import(app, typ):
    before = app.state.mz.store().dump()
    assert active(app, "markers") > 1
    c = client(app, "planner")
    r = c.post("/plan/import", data={"csrf_token": c.csrf, "layer": "markers", "type": typ, "kind": "",
                                     "level": "", "coords": "wgs84", "retire_missing": "1"},
               files={"file": ("m.csv", marker_csv(), "text/csv")})
    assert r.status_code == 403, r.text
    assert "无权写入" in r.text
    assert "not allowed to write" in r.text
    assert app.state.mz.store().dump() == before


def test_placename_cannot_write_facilities_admin_may(app):
    from mzgis.web.rights import may_write

    assert not may_write("placename", "facilities")
    assert not may_write("planner", "boundary_markers")
    assert not may_write("viewer", "addresses")
    assert may_write("admin", "boundary_markers")
    assert may_write("planner", "demand")
    assert may_write("placename", "addresses")
    c = client(app, "admin")
    r = c.post("/plan/import", data={"csrf_token": c.csrf, "layer": "markers", "type": "boundary_markers",
                                     "kind": "", "level": "", "coords": "wgs84", "retire_missing": ""},
               files={"file": ("m.csv", marker_csv(), "text/csv")})
    assert r.status_code == 200, r.text


# -- 5. NUL and control characters in paths -----------------------------------------------------------

@pytest.mark.parametrize("path", ["/out/report.html%00.png", "/out/map%0a.html", "/static/app.css%00",
                                  "/field/photo/1%00", "/out/%7f.png"])
def test_control_characters_in_a_path_are_bad_input(app, path):
    c = client(app, "admin")
    r = c.get(path)
    assert r.status_code in (400, 404), (path, r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    assert "ValueError" not in r.text


# -- 6. a panic (BaseException) is answered like any internal fault -------------------------------------

class FakePanic(BaseException):
    """Stands for pyo3's PanicException (a BaseException, not an Exception)."""


def test_a_panic_gets_the_short_error_page(private_ws):
    from fastapi import APIRouter

    from mzgis.web.app import create_app

    router = APIRouter()

    @router.get("/panic")
    def panic() -> None:
        msg = "called `Option::unwrap()` on a `None` value"
        raise FakePanic(msg)

    c = client(create_app(private_ws, routers=[(router, [])]))
    r = c.get("/panic")
    assert r.status_code == 500
    assert "内部错误 internal error" in r.text
    assert "Traceback" not in r.text
