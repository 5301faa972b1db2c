"""Editing by the place-name staff in a real browser at phone size, against a real server:
validated like imports, the version check between two browsers, history and revert — each write
recorded in the store's history with the logged-in user."""

from __future__ import annotations

from tests.web.conftest import USERS, login, login_as

FIELD = USERS["placename"][0]


def feature_url(server, layer: str, fid: str) -> str:
    return f"{server.url}/edit/feature?layer={layer}&id={fid}"


def test_edit_marker_through_the_lists(web_server, phone):
    store = web_server.store()
    before = store.feature("markers", "M2")
    page = login_as(phone(), web_server, "placename")
    page.click("header nav >> text=编辑")
    page.click("a[href*='layer=markers']")
    page.click("a:has-text('M2')")
    assert page.input_value("input[name='f:condition']") == before["condition"]
    page.fill("input[name='f:condition']", "丢失")
    page.fill("input[name='f:marker_type']", "混凝土桩")
    page.fill("input[name=note]", "联检 2026")
    page.click("button:has-text('保存')")
    page.wait_for_selector("p.ok")
    after = store.feature("markers", "M2")
    assert after["condition"] == "丢失"
    assert after["marker_type"] == "混凝土桩"
    assert int(after["mz_version"]) == int(before["mz_version"]) + 1
    assert after["line_id"] == before["line_id"]  # fields not changed are not written
    h = store.history("markers", "M2").iloc[-1]
    assert h["user"] == FIELD
    assert h["note"] == "联检 2026"
    assert f"v{int(after['mz_version'])}" in page.inner_text("h1")


def test_bad_value_is_refused_with_the_importers_message(web_server, phone):
    before = web_server.dump()
    page = login_as(phone(), web_server, "placename")
    page.goto(feature_url(web_server, "markers", "M5"))
    page.fill("input[name='f:condition']", "坏了吧")
    page.fill("input[name='f:last_inspection_date']", "2015-13-45")
    with page.expect_response(lambda r: r.request.method == "POST") as resp:
        page.click("button:has-text('保存')")
    assert resp.value.status == 400
    err = page.inner_text("p.error")
    assert "错误" in err
    assert "condition" in err
    assert "坏了吧" in err
    assert "not an allowed value" in err
    # what the user typed is kept in the form, and nothing was written
    assert page.input_value("input[name='f:condition']") == "坏了吧"
    assert web_server.dump() == before


def test_two_browsers_edit_the_same_marker(web_server, phone):
    """Both open M3 at the same version; the first save wins, the second is refused with both
    versions shown and nothing written."""
    store = web_server.store()
    v0 = int(store.feature("markers", "M3")["mz_version"])
    a = login_as(phone(), web_server, "placename")
    b = login(phone(), web_server, "field2", "field2-pass-1")
    for p in (a, b):
        p.goto(feature_url(web_server, "markers", "M3"))
        assert p.input_value("input[name=expect_version]") == str(v0)
    a.fill("input[name='f:condition']", "丢失")
    b.fill("input[name='f:condition']", "移位")
    a.click("button:has-text('保存')")
    a.wait_for_selector("p.ok")
    rows_before = len(store.history("markers", "M3"))
    with b.expect_response(lambda r: r.request.method == "POST") as resp:
        b.click("button:has-text('保存')")
    assert resp.value.status == 409
    assert b.inner_text(".v-yours") == f"v{v0}"
    assert b.inner_text(".v-current") == f"v{v0 + 1}"
    row = b.locator("tr", has=b.locator("td", has_text="condition")).first
    assert row.locator("td.yours").inner_text() == "移位"
    assert row.locator("td.current").inner_text() == "丢失"
    assert FIELD in b.inner_text("p.error")  # who changed it
    cur = store.feature("markers", "M3")
    assert cur["condition"] == "丢失"
    assert int(cur["mz_version"]) == v0 + 1
    assert len(store.history("markers", "M3")) == rows_before
    assert store.history("markers", "M3").iloc[-1]["user"] == FIELD


def test_history_and_revert(web_server, phone):
    store = web_server.store()
    old = store.feature("markers", "M4")
    page = login_as(phone(), web_server, "placename")
    page.goto(feature_url(web_server, "markers", "M4"))
    page.fill("input[name='f:condition']", "移位")
    page.click("button:has-text('保存')")
    page.wait_for_selector("p.ok")
    page.click("text=历史 History")
    v = int(old["mz_version"])
    assert page.locator("ol.versions > li").count() == v + 1
    assert FIELD in page.locator("ol.versions > li").first.inner_text()
    page.click(f"button:has-text('Revert to v{v}')")
    page.wait_for_selector("ol.versions")
    cur = store.feature("markers", "M4")
    assert cur["condition"] == old["condition"]
    assert int(cur["mz_version"]) == v + 2
    last = store.history("markers", "M4").iloc[-1]
    assert last["user"] == FIELD
    assert last["note"] == f"revert to version {v}"
    assert page.locator("ol.versions > li").count() == v + 2


def test_stale_revert_is_refused(web_server, http):
    store = web_server.store()
    c = http(*USERS["placename"])
    v = int(store.feature("markers", "M6")["mz_version"])
    before = web_server.dump()
    r = c.post("/edit/revert", data={"csrf_token": c.csrf, "layer": "markers", "id": "M6", "version": "1",
                                     "expect_version": str(v + 5)})
    assert r.status_code == 409
    assert web_server.dump() == before
