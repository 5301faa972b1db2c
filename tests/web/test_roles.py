"""Accounts and roles against a real ``mzgis serve`` process: log in as each role at phone size,
every page checked on the server (403 and nothing written), logout, disabled accounts."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from tests.web.conftest import USERS, login_as

#: page → the least role that may open it
PAGES = {"/": "viewer", "/view/maps": "viewer", "/view/indicators": "viewer", "/view/coverage": "viewer",
         "/plan": "planner", "/plan/import": "planner", "/edit": "placename", "/edit/list?layer=markers": "placename",
         "/edit/feature?layer=markers&id=M1": "placename", "/edit/history?layer=markers&id=M1": "placename",
         "/field": "placename", "/field/line?id=L1": "placename", "/field/marker?code=M1": "placename",
         "/admin/users": "admin"}
ALLOWED = {"viewer": {"viewer"}, "planner": {"viewer", "planner"}, "placename": {"viewer", "placename"},
           "admin": {"viewer", "planner", "placename", "admin"}}
NAV = {"viewer": ["首页", "地图报告", "指标", "覆盖"], "planner": ["首页", "地图报告", "指标", "覆盖", "分析", "导入"],
       "placename": ["首页", "地图报告", "指标", "覆盖", "编辑", "联检"],
       "admin": ["首页", "地图报告", "指标", "覆盖", "分析", "导入", "编辑", "联检", "账号"]}


@pytest.mark.parametrize("role", list(USERS))
def test_each_role_logs_in_at_phone_size(web_server, phone, role):
    page = login_as(phone(), web_server, role)
    assert page.url == web_server.url + "/"
    login_name = USERS[role][0]
    assert login_name in page.inner_text("header")
    assert page.locator("header nav a").all_inner_texts() == NAV[role]
    # the page fits the phone's width: nothing to scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for path, need in PAGES.items():
        resp = page.goto(web_server.url + path)
        expected = 200 if need in ALLOWED[role] else 403
        assert resp.status == expected, (role, path, resp.status)
        if expected == 403:
            assert "403" in page.inner_text("main")
    page.goto(web_server.url + "/")
    page.click("text=退出 Log out")
    page.wait_for_url(re.compile(r".*/login$"))
    resp = page.goto(web_server.url + "/view/maps")
    assert "/login?next=" in page.url
    assert "/view/maps" in unquote(page.url)


def test_anonymous_requests_are_refused(web_server):
    import httpx

    with httpx.Client(base_url=web_server.url, timeout=30) as c:
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login"), path
        r = c.get("/out/map.html")
        assert r.status_code == 303
        # a POST without a session: no CSRF token → 403, nothing written
        before = web_server.dump()
        r = c.post("/edit/feature", data={"layer": "markers", "id": "M1", "expect_version": "1", "f:condition": "丢失"})
        assert r.status_code == 403
        assert web_server.dump() == before


def test_viewer_cannot_edit(web_server, http):
    """A viewer with a valid session and CSRF token still gets 403 for every write; nothing changes."""
    c = http(*USERS["viewer"])
    assert c.last_login.status_code == 303
    assert c.csrf
    before = web_server.dump()
    v = int(web_server.store().feature("markers", "M1")["mz_version"])
    posts = [
        ("/edit/feature", {"layer": "markers", "id": "M1", "expect_version": str(v), "f:condition": "丢失"}),
        ("/edit/revert", {"layer": "markers", "id": "M1", "version": "1", "expect_version": str(v)}),
        ("/plan", {"analysis": "coverage", "kind": "elderly_care_station"}),
        ("/admin/users", {"login": "plan", "action": "disable"}),
    ]
    for path, data in posts:
        r = c.post(path, data={**data, "csrf_token": c.csrf})
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
    r = c.get("/edit/feature", params={"layer": "markers", "id": "M1"})
    assert r.status_code == 403
    assert web_server.dump() == before


def test_disabled_account_is_logged_out_at_once(web_server, http):
    admin = http(*USERS["admin"])
    gone = http("gone", "gone-pass-1")
    assert gone.get("/").status_code == 200
    r = admin.post("/admin/users", data={"csrf_token": admin.csrf, "login": "gone", "action": "disable"})
    assert r.status_code == 303
    acc = web_server.store().account("gone")
    assert acc["disabled"] == "1"
    assert acc["changed_by"] == USERS["admin"][0]
    assert gone.get("/").status_code == 303  # the open session ends with the next request
    assert http("gone", "gone-pass-1").last_login.status_code == 401
    r = admin.post("/admin/users", data={"csrf_token": admin.csrf, "login": "gone", "action": "enable"})
    assert r.status_code == 303
    assert http("gone", "gone-pass-1").last_login.status_code == 303
