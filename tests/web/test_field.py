"""Field inspection in the web app (issue 16, point 4), against a real ``mzgis serve`` process and
Debian's Chromium at phone size: the task list per line as ``mzgis inspect plan`` computes it, an
inspection with a photo and a geolocation that shows up in ``mzgis history`` and ``inspect plan``,
hostile input refused with nothing written, and the offline queue delivering exactly once."""

from __future__ import annotations

import io
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.security.test_templates import PAYLOADS
from tests.web.conftest import USERS, login_as, mzgis_exe, start_server, stop_server

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def field_server(web_ws: Path, tmp_path_factory) -> Any:
    """A server of its own on a copy of the web workspace (the store copied with SQLite's backup)."""
    root = tmp_path_factory.mktemp("field")
    ws = root / "ws"
    shutil.copytree(web_ws, ws, ignore=shutil.ignore_patterns(".mzgis-web", "project.gpkg*"))
    with sqlite3.connect(web_ws / "project.gpkg") as src, sqlite3.connect(ws / "project.gpkg") as dst:
        src.backup(dst)
    srv = start_server(ws, root / "serve.log")
    yield srv
    stop_server(srv)


def jpeg(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def inspections(srv: Any) -> pd.DataFrame:
    return srv.store().records("mzgis_inspections")


def state(srv: Any) -> dict[str, Any]:
    """The store (features, history, accounts), the inspection records and every file of the
    workspace outside the store and the server's own folder."""
    files = sorted(str(p.relative_to(srv.ws)) for p in srv.ws.rglob("*")
                   if p.is_file() and not p.name.startswith("project.gpkg") and ".mzgis-web" not in p.parts
                   and "out" not in p.relative_to(srv.ws).parts)
    recs = inspections(srv)
    return {"dump": srv.dump(), "records": recs.to_dict("records"), "files": files}


def cli(srv: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*mzgis_exe(), *args], capture_output=True, text=True, timeout=120, check=False)


def multipart(fields: dict[str, str], photo: tuple[str, bytes] | None = None) -> tuple[bytes, str]:
    """A multipart body built by hand, so the photo's file name goes out exactly as given."""
    b = "mzgisTESTboundary7MA4YWxkTrZu0gW"
    out = bytearray()
    for k, v in fields.items():
        out += f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v.encode() + b"\r\n"
    if photo:
        name, data = photo
        out += (f'--{b}\r\nContent-Disposition: form-data; name="photo"; filename="{name}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n").encode("utf-8", "surrogateescape") + data + b"\r\n"
    out += f"--{b}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={b}"


def form(c: Any, code: str = "M2", **over: str) -> dict[str, str]:
    import secrets

    return {"csrf_token": c.csrf, "code": code, "client_key": secrets.token_hex(16), "condition": "完好",
            "date": "2026-01-05", "inspector": "测试员", "note": "", **over}


def post(c: Any, fields: dict[str, str], photo: tuple[str, bytes] | None = None, **headers: str) -> Any:
    body, ctype = multipart(fields, photo)
    return c.post("/field/record", content=body, headers={"Content-Type": ctype, **headers})


def bilingual(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and bool(re.search(r"[A-Za-z]{4,}.*[A-Za-z]{4,}", text))


# -- the task list -----------------------------------------------------------------------------------------

def test_task_list_is_the_inspection_plan(field_server, http):
    """Lines and their markers in order, with what is due, as `mzgis inspect plan` writes them."""
    r = cli(field_server, "inspect", str(field_server.ws), "plan")
    assert r.returncode == 0, r.stderr
    plan = pd.read_csv(field_server.ws / "out" / "inspection_plan.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")
    c = http(*USERS["placename"], server=field_server)
    page = c.get("/field")
    assert page.status_code == 200
    ids = re.findall(r'href="/field/line\?id=([^"]+)"', page.text)
    assert ids == list(dict.fromkeys(plan["line_id"]))
    for lid, rows in plan.groupby("line_id", sort=False):
        p = c.get("/field/line", params={"id": lid})
        assert p.status_code == 200
        shown = re.findall(r'href="/field/marker\?code=([^"]+)"><strong>(\d+)\. ', p.text)
        expected = [(m, s) for m, s in zip(rows["marker_code"], rows["seq"], strict=True) if m]
        assert shown == expected, lid
        for task in rows.loc[rows["marker_code"] != "", "task"]:
            assert task in p.text
    # the lines' names and codes are hostile texts: they stay text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    # the chainage order is the order along the line: each marker projected onto its line
    import geopandas as gpd

    store = field_server.store()
    mk = store.read("markers").set_index("feature_id")
    ln = store.read("lines").set_index("feature_id")
    crs = gpd.GeoSeries(mk.geometry).estimate_utm_crs()
    for lid, rows in plan[plan["marker_code"] != ""].groupby("line_id"):
        line = gpd.GeoSeries([ln.loc[lid, "geometry"]], crs=4326).to_crs(crs).iloc[0]
        pts = gpd.GeoSeries(mk.loc[list(rows["marker_code"]), "geometry"], crs=4326).to_crs(crs)
        along = [line.project(p) for p in pts]
        assert along == sorted(along), lid


def test_line_or_marker_that_does_not_exist(field_server, http):
    c = http(*USERS["placename"], server=field_server)
    r = c.get("/field/line", params={"id": "<script>nope"}, headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "&lt;script&gt;nope" in r.text
    assert c.get("/field/marker", params={"code": "../../etc"}).status_code == 404


def test_workspace_without_boundary_layers_shows_what_to_import(tmp_path, http):
    """A new workspace (no boundary lines or markers yet): the task list is empty and says what to
    import — a page, not an error."""
    from tests.security.workspace import mzgis
    from tests.web.conftest import add_accounts

    ws = tmp_path / "ws"
    assert mzgis("init", ws, "--name", "新区", "--jurisdiction", "新区", "--plan", "mentougou") == 0
    add_accounts(ws)
    srv = start_server(ws, tmp_path / "serve.log")
    try:
        c = http(*USERS["placename"], server=srv)
        r = c.get("/field", headers={"Accept": "text/html"})
        assert r.status_code == 200, r.text
        assert "请先导入界线和界桩" in r.text
        assert 'class="cards"' in r.text
        assert c.get("/field/line", params={"id": "L1"}).status_code == 404
    finally:
        stop_server(srv)


# -- recording on the phone ------------------------------------------------------------------------------

def test_record_with_photo_and_position_on_the_phone(field_server, phone, tmp_path):
    from pyproj import Geod

    code = "M1"
    store = field_server.store()
    m = store.feature("markers", code)
    here = m.geometry
    found = (here.x + 0.00012, here.y + 0.00021)  # where the phone is: ~26 m north-east
    page = phone()
    page.context.grant_permissions(["geolocation"], origin=field_server.url)
    page.context.set_geolocation({"longitude": found[0], "latitude": found[1], "accuracy": 4})
    login_as(page, field_server, "placename")
    page.click("text=联检")
    page.click(f"a[href='/field/line?id={m['line_id']}']")
    page.click(f"a[href='/field/marker?code={code}']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    photo = tmp_path / "IMG_0001.jpg"
    data = jpeg()
    photo.write_bytes(data)
    page.set_input_files("input[name=photo]", str(photo))
    page.select_option("select[name=condition]", "移位")
    page.fill("input[name=inspector]", "张三")
    page.fill("textarea[name=note]", "界桩向东北移动 moved north-east")
    day = page.input_value("input[name=date]")
    page.click("#locate")
    page.wait_for_selector("#offset:not([hidden])")
    page.wait_for_selector("#offset[data-m]:not([data-m=''])")  # no eval: the page's CSP forbids it
    shown = float(page.get_attribute("#offset", "data-m"))
    _, _, geodesic = Geod(ellps="WGS84").inv(here.x, here.y, *found)
    assert shown == pytest.approx(geodesic, rel=0.005)
    assert f"{shown:.1f} m" in page.inner_text("#offset")
    page.click("#save")
    page.wait_for_url(re.compile(r".*saved=1"))
    assert "已保存 saved" in page.inner_text("main")

    recs = inspections(field_server)
    rec = recs[recs["marker_code"] == code].iloc[-1].to_dict()
    assert (rec["condition"], rec["date"], rec["inspector"], rec["recorded_by"]) == ("移位", day, "张三", "field")
    assert float(rec["lon"]) == pytest.approx(found[0], abs=1e-7)
    assert float(rec["lat"]) == pytest.approx(found[1], abs=1e-7)
    assert float(rec["offset_m"]) == pytest.approx(geodesic, abs=0.01)
    # the photo: stored like `mzgis record` stores it, inside the workspace, the bytes uploaded
    assert rec["photo"] == f"photos/{day}/{code}_IMG_0001_{rec['client_key'][:8]}.jpg"
    assert (field_server.ws / rec["photo"]).read_bytes() == data
    assert not list((field_server.ws / "cache").glob("*.part"))

    hist = cli(field_server, "history", str(field_server.ws), "markers", code)
    assert hist.returncode == 0, hist.stderr
    last = hist.stdout.strip().splitlines()[-3:]
    assert " field" in last[0]  # the logged-in user, not the inspector's name nor the server's
    assert '"condition": "移位"' in last[1]
    assert f'"last_inspection_date": "{day}"' in last[1]
    r = cli(field_server, "inspect", str(field_server.ws), "plan")
    assert r.returncode == 0, r.stderr
    plan = pd.read_csv(field_server.ws / "out" / "inspection_plan.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8-sig")
    row = plan[plan["marker_code"] == code].iloc[0]
    assert (row["condition"], row["last_inspection_date"]) == ("移位", day)
    assert "到期" not in row["task"]
    # the marker page now shows the inspection
    page.reload()
    assert "张三" in page.inner_text("main")
    assert "移位" in page.inner_text("main")


def test_viewer_cannot_record(field_server, http):
    c = http(*USERS["viewer"], server=field_server)
    assert c.csrf
    before = state(field_server)
    r = post(c, form(c), ("a.jpg", jpeg()))
    assert r.status_code == 403
    assert "placename" in r.text
    assert c.get("/field").status_code == 403
    assert c.get("/field/marker", params={"code": "M2"}).status_code == 403
    assert state(field_server) == before


# -- hostile input ---------------------------------------------------------------------------------------

def test_scripts_in_text_fields_stay_text(field_server, http, phone):
    c = http(*USERS["placename"], server=field_server)
    inspector = "X·" + PAYLOADS[6]  # <script>alert(1)</script>
    note = "N·" + " ".join(PAYLOADS)
    r = post(c, form(c, "M3", inspector=inspector, note=note), Accept="application/json")
    assert r.status_code == 200, r.text
    assert r.json()["ok"]
    rec = inspections(field_server).iloc[-1]
    assert (rec["inspector"], rec["note"]) == (inspector, note)
    html = c.get("/field/marker", params={"code": "M3"}).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "·1337" not in html  # {{7*191}} was not rendered
    page = login_as(phone(), field_server, "placename")
    page.goto(field_server.url + "/field/marker?code=M3")
    assert inspector in page.inner_text("main")  # shown as typed; the fixture fails on any dialog
    hist = cli(field_server, "history", str(field_server.ws), "markers")  # the layer's history with notes
    assert hist.returncode == 0, hist.stderr
    assert "inspection 2026-01-05: N·{{7*191}}" in hist.stdout


BAD_FIELDS = [
    ("condition", "<script>alert(1)</script>"), ("date", "{{7*191}}"), ("date", "2999-01-01"),
    ("code", "<img src=x onerror=alert(3)>"), ("client_key", "../../x"), ("inspector", ""),
    ("inspector", "a\x00b"), ("lon", "116.4"), ("lat", "nan"),
]


def test_bad_fields_are_refused(field_server, http):
    """Each refused with a message in both languages, as JSON (the phone's script) and as the
    marker page again (a plain form post), escaped; nothing written by any of them."""
    c = http(*USERS["placename"], server=field_server)
    before = state(field_server)
    for field, value in BAD_FIELDS:
        f = {**form(c, "M4"), field: value}
        if field == "lat":
            f["lon"] = "116.4"
        r = post(c, f, ("ok.jpg", jpeg()), Accept="application/json")
        assert r.status_code == 400, (field, r.status_code, r.text)
        msg = r.json()["error"]
        assert bilingual(msg), msg
        r = post(c, f, ("ok.jpg", jpeg()), Accept="text/html")
        assert r.status_code == 400, (field, r.status_code)
        assert "<script>alert" not in r.text
        assert "<img src=x" not in r.text
        assert "错误 error" in r.text
    assert state(field_server) == before
    assert not list((field_server.ws / "cache").glob("*.part"))


def test_path_traversal_in_upload_names_is_refused(field_server, http):
    c = http(*USERS["placename"], server=field_server)
    before = state(field_server)
    outside = [field_server.ws.parent / "x.jpg", field_server.ws.parent.parent / "x.jpg", Path("/tmp/x.jpg"),
               field_server.ws.parent / "b.jpg"]
    existed = [p.exists() for p in outside]
    for name in ["../../x.jpg", "/tmp/x.jpg", "..\\..\\x.jpg", "x\x00.jpg", "a/../../b.jpg", ".."]:
        r = post(c, form(c, "M5"), (name, jpeg()), Accept="application/json")
        assert r.status_code == 400, (name, r.text)
        msg = r.json()["error"]
        assert "照片文件名无效" in msg, name
        assert "invalid photo file name" in msg
    assert state(field_server) == before
    assert [p.exists() for p in outside] == existed
    assert not list((field_server.ws / "cache").glob("*.part"))


def test_oversized_upload_is_refused(field_server, http):
    from mzgis.web.routes_field import MAX_PHOTO_BYTES

    c = http(*USERS["placename"], server=field_server)
    before = state(field_server)
    big = jpeg() + b"\0" * (MAX_PHOTO_BYTES + 1)
    r = post(c, form(c, "M5"), ("big.jpg", big))
    assert r.status_code == 413
    assert "照片太大" in r.text
    assert "the photo is too large" in r.text
    assert state(field_server) == before
    # sent in chunks, without a Content-Length: refused before it is read (411)
    body, ctype = multipart(form(c, "M5"), ("big.jpg", big))

    def chunks() -> Any:
        for i in range(0, len(body), 1 << 20):
            yield body[i:i + (1 << 20)]

    r = c.post("/field/record", content=chunks(), headers={"Content-Type": ctype})
    assert r.status_code == 411
    assert bilingual(r.text)
    assert state(field_server) == before
    # just under the limit passes the size checks (and is refused as what it is: not an image)
    r = post(c, form(c, "M5"), ("big.jpg", b"\xff\xd8\xff" + b"\0" * (MAX_PHOTO_BYTES - 3)), Accept="application/json")
    assert r.status_code == 400, r.text[:300]
    assert "not a readable image" in r.json()["error"]
    assert state(field_server) == before
    assert not list((field_server.ws / "cache").glob("*.part"))


def test_wrong_file_types_are_refused(field_server, http):
    from PIL import Image

    c = http(*USERS["placename"], server=field_server)
    before = state(field_server)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    for name, data, words in [("notes.jpg", "这不是照片 plain text\n".encode() * 20, "not a readable image"),
                              ("half.jpg", jpeg()[:40], "not a readable image"),
                              ("anim.jpg", gif.getvalue(), "format GIF")]:
        r = post(c, form(c, "M5"), (name, data), Accept="application/json")
        assert r.status_code == 400, r.text
        msg = r.json()["error"]
        assert words in msg
        assert bilingual(msg)
    assert state(field_server) == before
    assert not list((field_server.ws / "cache").glob("*.part"))


def test_csrf_less_post_is_refused(field_server, http):
    c = http(*USERS["placename"], server=field_server)
    before = state(field_server)
    f = form(c, "M5")
    del f["csrf_token"]
    r = post(c, f, ("a.jpg", jpeg()))
    assert r.status_code == 403
    assert "CSRF" in r.text
    assert bilingual(r.text)
    r = post(c, {**f, "csrf_token": "x" * 43}, ("a.jpg", jpeg()))
    assert r.status_code == 403
    assert state(field_server) == before


# -- sent once ---------------------------------------------------------------------------------------------

def test_a_resent_record_is_stored_once(field_server, http):
    c = http(*USERS["placename"], server=field_server)
    f = form(c, "M6", condition="损坏", note="twice")
    n0 = len(inspections(field_server))
    h0 = len(field_server.store().history("markers"))
    photos0 = sorted((field_server.ws / "photos").rglob("*")) if (field_server.ws / "photos").exists() else []
    first = post(c, f, ("twice.jpg", jpeg()), Accept="application/json")
    again = post(c, f, ("twice.jpg", jpeg()), Accept="application/json")
    assert first.status_code == again.status_code == 200
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    recs = inspections(field_server)
    assert len(recs) == n0 + 1
    assert (recs["client_key"] == f["client_key"]).sum() == 1
    assert len(field_server.store().history("markers")) == h0 + 1
    photos = sorted((field_server.ws / "photos").rglob("*"))
    assert len([p for p in photos if p not in photos0 and p.is_file()]) == 1


def _queued(page: Any) -> int:
    return int(page.inner_text("#queue-count")) if page.is_visible("#queue") else 0


def _record_on_phone(page: Any, code: str, note: str, photo: Path | None) -> str:
    if photo is not None:
        page.set_input_files("input[name=photo]", str(photo))
    page.select_option("select[name=condition]", "损坏")
    page.fill("textarea[name=note]", note)
    key = page.input_value("input[name=client_key]")
    page.click("#save")
    return key


def test_offline_queue_delivers_exactly_once(field_server, phone, tmp_path):
    page = login_as(phone(), field_server, "placename")
    page.goto(field_server.url + "/field/marker?code=M7")
    photo = tmp_path / "offline.jpg"
    photo.write_bytes(jpeg(color="blue"))
    before = state(field_server)
    page.context.set_offline(True)
    key = _record_on_phone(page, "M7", "offline 离线", photo)
    page.wait_for_selector("#queue:not([hidden])")
    assert _queued(page) == 1
    assert "联网后自动发送" in page.inner_text("#status")
    assert page.input_value("input[name=client_key]") != key  # the next record gets a new key
    assert state(field_server) == before  # nothing arrived
    page.context.set_offline(False)
    page.wait_for_selector("#queue", state="hidden")
    recs = inspections(field_server)
    mine = recs[recs["client_key"] == key]
    assert len(mine) == 1
    rec = mine.iloc[0]
    assert (rec["marker_code"], rec["note"], rec["recorded_by"]) == ("M7", "offline 离线", "field")
    assert (field_server.ws / rec["photo"]).read_bytes() == photo.read_bytes()
    # the queue is empty after a reload too (it lives in IndexedDB)
    page.reload()
    assert _queued(page) == 0


def test_a_queued_record_whose_key_is_taken_is_kept_and_shown(field_server, phone, http):
    """The queue meets a 409 (its key stored meanwhile for another record): the record stays in the
    queue with the server's message, and "send as a new record" stores it under a new key."""
    page = login_as(phone(), field_server, "placename")
    page.goto(field_server.url + "/field/marker?code=M7")
    page.context.set_offline(True)
    key = _record_on_phone(page, "M7", "conflict 冲突", None)
    page.wait_for_selector("#queue:not([hidden])")
    c = http(*USERS["placename"], server=field_server)
    assert post(c, form(c, "M7", client_key=key, note="planted")).status_code == 303
    page.context.set_offline(False)
    page.click("#queue-send")
    page.wait_for_selector("#queue-list .bad")
    shown = page.inner_text("#queue-list")
    assert "client_key" in shown
    assert "nothing was written" in shown
    assert _queued(page) == 1  # kept, not dropped
    recs = inspections(field_server)
    assert list(recs.loc[recs["client_key"] == key, "note"]) == ["planted"]
    page.click("text=Send as a new record")
    page.wait_for_selector("#queue", state="hidden")
    recs = inspections(field_server)
    mine = recs[recs["note"] == "conflict 冲突"]
    assert len(mine) == 1
    assert mine["client_key"].iloc[0] != key
    # the one 409 was the point of the test; any other failed request still fails it
    refused = [e for e in phone.log.console_errors if e.endswith("/field/record: 409")]
    assert len(refused) == 1
    phone.log.console_errors.remove(refused[0])


def test_a_send_whose_answer_is_lost_is_retried_once(field_server, phone):
    """The server stores the record but the phone never hears back: the record waits in the queue,
    is sent again, and the server answers the known key as a success without storing it twice.

    (Without a photo: Chromium does not hand a request's Blob body to Playwright's interception,
    so ``route.fetch`` could not forward it; the offline test sends a queued photo.)"""
    page = login_as(phone(), field_server, "placename")
    page.goto(field_server.url + "/field/marker?code=M8")
    n0 = len(inspections(field_server))
    h0 = len(field_server.store().history("markers"))
    delivered: list[int] = []

    def lose_answer(route: Any) -> None:
        resp = route.fetch()  # the request reaches the server ...
        delivered.append(resp.status)
        route.abort("connectionreset")  # ... and the answer is lost

    page.route("**/field/record", lose_answer)
    key = _record_on_phone(page, "M8", "answer lost", None)
    page.wait_for_selector("#queue:not([hidden])")
    assert delivered == [200]
    assert len(inspections(field_server)) == n0 + 1  # stored once already
    page.unroute("**/field/record")
    page.click("#queue-send")
    page.wait_for_selector("#queue", state="hidden")
    # the resend reached the server, which knew the key
    assert "already received earlier" in page.inner_text("#status")
    recs = inspections(field_server)
    assert len(recs) == n0 + 1
    assert (recs["client_key"] == key).sum() == 1
    assert len(field_server.store().history("markers")) == h0 + 1


# -- seeing the photos -------------------------------------------------------------------------------------

def test_recorded_photo_is_shown_on_the_marker_page(field_server, http):
    """The photo of an inspection is served back (same bytes, an image type) to place-name staff
    and shown on the marker page; other roles get 403, unknown records 404."""
    c = http(*USERS["placename"], server=field_server)
    shot = jpeg((80, 60), "blue")
    r = post(c, form(c, "M6", date="2026-01-06"), ("门口.jpg", shot), Accept="application/json")
    assert r.status_code == 200, r.text
    recs = inspections(field_server)
    rec = recs[recs["marker_code"].astype(str) == "M6"].iloc[-1]
    rid = int(rec["id"])
    got = c.get(f"/field/photo/{rid}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content == shot == (field_server.ws / rec["photo"]).read_bytes()
    assert f'src="/field/photo/{rid}"' in c.get("/field/marker", params={"code": "M6"}).text
    viewer = http(*USERS["viewer"], server=field_server)
    assert viewer.get(f"/field/photo/{rid}").status_code == 403
    assert c.get("/field/photo/999999").status_code == 404
    assert c.get("/field/photo/..%2F..%2Fproject.gpkg").status_code in (404, 422)


def test_a_tampered_photo_path_in_the_records_serves_nothing(field_server, http, tmp_path):
    """A record's photo path is data (the store can be edited with other tools): paths out of
    photos/, of another type, absolute or through a link are never served."""
    ws = field_server.ws
    (ws / "photos" / "2026-01-07").mkdir(parents=True, exist_ok=True)
    (ws / "photos" / "2026-01-07" / "notes.txt").write_text("secret", encoding="utf-8")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg())
    link = ws / "photos" / "2026-01-07" / "link.jpg"
    link.symlink_to(outside)
    bad = ["../project.gpkg", "photos/../project.gpkg", "photos/../../etc/passwd", "/etc/passwd",
           str(outside), "photos/2026-01-07/notes.txt", "photos/2026-01-07/link.jpg", "photos\\..\\project.gpkg",
           "photos/2026-01-07/../../mzgis.toml", "photos/2026-01-07/missing.jpg"]
    store = field_server.store()
    store.append_records("mzgis_inspections", [{"marker_code": "M7", "date": "2026-01-07", "condition": "完好",
                                                "inspector": "tool", "photo": p} for p in bad])
    recs = inspections(field_server)
    ids = recs[recs["inspector"].astype(str) == "tool"]["id"].astype(int).tolist()
    assert len(ids) == len(bad)
    c = http(*USERS["placename"], server=field_server)
    for rid, p in zip(ids, bad, strict=True):
        r = c.get(f"/field/photo/{rid}")
        assert r.status_code == 404, (p, r.status_code)
        assert b"secret" not in r.content
        assert b"SQLite" not in r.content


def test_recent_inspections_are_listed_by_date_also_when_one_arrives_late(field_server, http):
    """An inspection queued offline and sent after a newer one: stored, listed below the newer one
    (by its date, not its arrival), and the marker keeps the newer condition."""
    c = http(*USERS["placename"], server=field_server)
    assert post(c, form(c, "M0", date="2026-01-09", condition="损坏"), None, Accept="application/json").status_code == 200
    late = post(c, form(c, "M0", date="2026-01-03", condition="完好"), None, Accept="application/json")
    assert late.status_code == 200
    assert late.json()["superseded"] is True
    html = c.get("/field/marker", params={"code": "M0"}).text
    assert html.index("2026-01-09 · 损坏") < html.index("2026-01-03 · 完好")
    m = field_server.store().feature("markers", "M0")
    assert (m["condition"], str(m["last_inspection_date"])[:10]) == ("损坏", "2026-01-09")
