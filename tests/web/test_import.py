"""Importing a layer from the browser (``/plan/import``, role planner) against a real server: the
planner's import lands in the store with the planner in the history; a bad file, a viewer, a
CSRF-less POST and a path in the upload's name write nothing; a script in a name stays text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.workspace import LAT0, LON0
from tests.web.conftest import USERS, Server, login_as, start_server, stop_server

HEADER = "编号,名称,地址,状态,建筑面积,经度,纬度\n"


@pytest.fixture(scope="module")
def srv(web_ws: Path, tmp_path_factory) -> Iterator[Server]:
    """A server of its own on a copy of the web workspace: the layers imported here stay out of
    the other modules' analyses."""
    root = tmp_path_factory.mktemp("webimport")
    shutil.copytree(web_ws, root / "ws", ignore=shutil.ignore_patterns(".mzgis-web"))
    server = start_server(root / "ws", root / "serve.log")
    yield server
    stop_server(server)


def csv_rows(n: int, *, bad_row: int | None = None, prefix: str = "WI") -> bytes:
    """``n`` elderly-care stations inside the test workspace; row ``bad_row`` (1-based) has text
    in 建筑面积 (a number column)."""
    lines = [HEADER]
    for i in range(1, n + 1):
        area = "约两百平米" if i == bad_row else str(100 + 10 * i)
        lines.append(f"{prefix}{i},网上导入驿站{i},测试路{i}号,建成运营,{area},"
                     f"{LON0 + 0.001 * i:.6f},{LAT0 + 0.001 * i:.6f}\n")
    return "".join(lines).encode("utf-8")


def form(csrf: str | None, layer: str, **extra: str) -> dict[str, str]:
    d = {"layer": layer, "type": "facilities", "kind": "elderly_care_station", "level": "", "coords": "wgs84",
         **extra}
    if csrf is not None:
        d["csrf_token"] = csrf
    return d


def cache_files(ws: Path) -> list[Path]:
    return sorted((ws / "cache").glob(".import-*")) if (ws / "cache").exists() else []


def test_planner_imports_a_csv_in_the_browser(srv, phone, tmp_path):
    store = srv.store()
    src = tmp_path / "驿站.csv"
    src.write_bytes(csv_rows(4))
    page = login_as(phone(), srv, "planner")
    page.click("header nav >> text=导入")
    assert page.url == srv.url + "/plan/import"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits a phone
    page.set_input_files("input[name=file]", str(src))
    page.fill("input[name=layer]", "web_stations")
    page.select_option("select[name=type]", "facilities")
    page.select_option("select[name=kind]", "elderly_care_station")
    page.select_option("select[name=coords]", "wgs84")
    page.click("button:has-text('导入 Import')")
    page.wait_for_selector("section.import-report")
    assert page.inner_text(".rows-imported") == "4"
    assert page.inner_text(".skipped-count") == "0"
    assert "驿站.csv" in page.inner_text("section.import-report")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    g = store.read("web_stations")
    assert len(g) == 4
    assert sorted(g["name"]) == [f"网上导入驿站{i}" for i in range(1, 5)]
    assert set(g["kind"]) == {"elderly_care_station"}
    hist = store.history("web_stations")
    assert len(hist) == 4
    assert set(hist["user"]) == {"plan"}  # the logged-in planner, not the server process
    assert store.layer_info("web_stations")["source"] == "upload:驿站.csv"
    assert cache_files(srv.ws) == []  # the temporary copy is gone


def test_bad_row_gives_the_bilingual_message_and_writes_nothing(srv, http):
    c = http(*USERS["planner"], server=srv)
    before = srv.dump()
    r = c.post("/plan/import", data=form(c.csrf, "web_bad"),
               files={"file": ("bad.csv", csv_rows(3, bad_row=2, prefix="WB"), "text/csv")})
    assert r.status_code == 400
    assert "不是数字" in r.text
    assert "not a number" in r.text
    assert "约两百平米" in r.text
    assert "第 3 行 line 3" in r.text  # the header is line 1, so the second row is line 3 of the file
    assert "建筑面积" in r.text
    assert "bad.csv" in r.text
    assert ".import-" not in r.text  # the temporary name is not shown
    assert srv.dump() == before
    assert "web_bad" not in srv.store().layer_names()
    assert cache_files(srv.ws) == []


def test_viewer_and_csrf_less_posts_are_refused(srv, http):
    before = srv.dump()
    v = http(*USERS["viewer"], server=srv)
    assert v.get("/plan/import").status_code == 403
    r = v.post("/plan/import", data=form(v.csrf, "web_viewer"), files={"file": ("v.csv", csv_rows(2), "text/csv")})
    assert r.status_code == 403
    pn = http(*USERS["placename"], server=srv)
    assert pn.get("/plan/import").status_code == 403
    p = http(*USERS["planner"], server=srv)
    r = p.post("/plan/import", data=form(None, "web_nocsrf"), files={"file": ("n.csv", csv_rows(2), "text/csv")})
    assert r.status_code == 403
    r = p.post("/plan/import", data=form("x" * 43, "web_nocsrf"), files={"file": ("n.csv", csv_rows(2), "text/csv")})
    assert r.status_code == 403
    assert srv.dump() == before
    assert cache_files(srv.ws) == []


def test_path_in_upload_name_writes_nothing_outside(srv, http):
    ws = srv.ws
    c = http(*USERS["planner"], server=srv)
    before = srv.dump()
    outside = ws.parent
    listing = {p: sorted(x.name for x in p.iterdir()) for p in (outside, outside.parent)}
    for name in ("../../x.csv", "..\\..\\x.csv", "/tmp/x.csv", "x.py", "x.csv\x00.py"):
        r = c.post("/plan/import", data=form(c.csrf, "web_trav"), files={"file": (name, csv_rows(2), "text/csv")})
        assert r.status_code == 400, name
        assert "nothing was written" in r.text
    assert not (outside / "x.csv").exists()
    assert not (outside.parent / "x.csv").exists()
    assert listing == {p: sorted(x.name for x in p.iterdir()) for p in listing}
    assert srv.dump() == before
    assert cache_files(ws) == []


def test_script_in_names_shows_as_text(srv, http):
    c = http(*USERS["planner"], server=srv)
    before = srv.dump()
    payload = "<script>alert(1)</script>"
    r = c.post("/plan/import", data=form(c.csrf, payload),
               files={"file": (f"{payload}.csv", csv_rows(2), "text/csv")})
    assert r.status_code == 400
    assert payload not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert srv.dump() == before
    # a script in a row's name is imported as text and shown escaped in the report's notes, never run
    body = (HEADER + f"WS1,{payload},测试路,建成运营,120,{LON0 + 0.001:.6f},{LAT0 + 0.001:.6f}\n").encode()
    r = c.post("/plan/import", data=form(c.csrf, "web_script"), files={"file": ("s.csv", body, "text/csv")})
    assert r.status_code == 200, r.text
    assert payload not in r.text
    assert srv.store().feature("web_script", "WS1")["name"] == payload


def test_zipped_shapefile_and_oversized_upload(srv, http, tmp_path):
    import zipfile

    import geopandas as gpd
    import shapely

    c = http(*USERS["planner"], server=srv)
    shp = tmp_path / "shp" / "stations.shp"
    shp.parent.mkdir()
    gpd.GeoDataFrame({"编号": ["WZ1", "WZ2"], "名称": ["网上驿站甲", "网上驿站乙"]},
                     geometry=[shapely.Point(LON0 + 0.001, LAT0 + 0.001), shapely.Point(LON0 + 0.002, LAT0 + 0.001)],
                     crs="EPSG:4326").to_file(shp, encoding="utf-8")
    z = tmp_path / "stations.zip"
    with zipfile.ZipFile(z, "w") as out:
        for p in shp.parent.iterdir():
            out.write(p, p.name)
    r = c.post("/plan/import", data={"csrf_token": c.csrf, "layer": "web_zip", "type": "facilities",
                                     "kind": "elderly_care_station", "level": "", "coords": ""},
               files={"file": ("stations.zip", z.read_bytes(), "application/zip")})
    assert r.status_code == 200, r.text
    assert len(srv.store().read("web_zip")) == 2
    assert set(srv.store().history("web_zip")["user"]) == {"plan"}
    # a zip that is not a Shapefile is refused with a message
    before = srv.dump()
    r = c.post("/plan/import", data=form(c.csrf, "web_zip2"), files={"file": ("x.zip", b"PK\x03\x04 junk" * 10,
                                                                               "application/zip")})
    assert r.status_code == 400
    assert "zip" in r.text
    # more than 20 MB is refused before it is read
    r = c.post("/plan/import", data=form(c.csrf, "web_big"),
               files={"file": ("big.csv", csv_rows(2) + b"#" * (21 * 1024 * 1024), "text/csv")})
    assert r.status_code == 413
    assert srv.dump() == before
    assert cache_files(srv.ws) == []
