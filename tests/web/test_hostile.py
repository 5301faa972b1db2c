"""Hostile input against the real server: script and template payloads in every text field stay
text, CSRF-less or cross-site POSTs are refused, 20 wrong passwords lock the account for this
address (the right password too), paths outside out/ are not served."""

from __future__ import annotations

import re

import httpx

from tests.security.test_templates import PAYLOADS, RENDERED
from tests.web.conftest import USERS, login_as

VIEW_PAGES = ["/", "/view/maps", "/view/indicators", "/view/coverage"]


def test_payloads_typed_into_every_field_stay_text(web_server, phone):
    store = web_server.store()
    page = login_as(phone(), web_server, "placename")
    page.goto(f"{web_server.url}/edit/feature?layer=addresses&id=A3")
    inputs = page.locator("input[name^='f:']")
    names = [inputs.nth(i).get_attribute("name") for i in range(inputs.count())]
    typed = {}
    for i, name in enumerate(names):
        typed[name[2:]] = PAYLOADS[i % len(PAYLOADS)] + f" #{i}"
        page.fill(f"input[name='{name}']", typed[name[2:]])
    page.fill("input[name=note]", PAYLOADS[6])
    page.click("button:has-text('保存')")
    page.wait_for_selector("p.ok")
    cur = store.feature("addresses", "A3")
    for k, v in typed.items():
        assert cur[k] == v, k  # stored exactly as typed
        assert page.input_value(f"input[name='f:{k}']") == v  # and shown exactly as typed
    assert store.history("addresses", "A3").iloc[-1]["note"] == PAYLOADS[6]
    page.click("text=历史 History")
    text = page.inner_text("main")
    for v in typed.values():
        assert v in text
    assert RENDERED not in page.content()
    assert page.locator("main script, main img").count() == 0


def test_imported_payloads_stay_text_on_every_page(web_server, phone):
    """Every text of the workspace is a payload: the pages show them as text and run nothing
    (the phone fixture fails on any dialog or console error)."""
    for role in ("admin",):
        page = login_as(phone(), web_server, role)
        for path in [*VIEW_PAGES, "/edit/list?layer=addresses", "/edit/list?layer=lines",
                     "/edit/history?layer=addresses&id=A1", "/plan", "/plan/import", "/admin/users"]:
            resp = page.goto(web_server.url + path)
            assert resp.status == 200, path
            assert RENDERED not in page.content(), path
            assert page.locator("main script, main img, main iframe").count() == 0, path
        page.goto(web_server.url + "/view/coverage")
        assert "<script>alert(1)</script>" in page.inner_text("main")  # escaped, not dropped
        resp = page.goto(web_server.url + "/edit/list?layer=addresses&q=" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        assert resp.status == 200
        assert page.locator("ul.menu li a").all_inner_texts() == ["A5 T6·<script>alert(1)</script>",
                                                                  "A6 T7·</script><script>alert(2)</script>"]
        assert page.input_value("input[name=q]") == "<script>alert(1)</script>"


def test_csrf_less_and_cross_site_posts_are_refused(web_server, http):
    store = web_server.store()
    c = http(*USERS["placename"])
    v = int(store.feature("markers", "M7")["mz_version"])
    data = {"layer": "markers", "id": "M7", "expect_version": str(v), "f:condition": "丢失"}
    before = web_server.dump()
    assert c.post("/edit/feature", data=data).status_code == 403
    assert c.post("/edit/feature", data={**data, "csrf_token": "x" * 43}).status_code == 403
    other = http(*USERS["admin"])  # a real token, of another session
    assert c.post("/edit/feature", data={**data, "csrf_token": other.csrf}).status_code == 403
    r = c.post("/edit/feature", data={**data, "csrf_token": c.csrf}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert c.post("/logout", data={}).status_code == 403
    assert web_server.dump() == before
    # the same request with the session's token goes through (so the refusals above were the token's)
    r = c.post("/edit/feature", data={**data, "csrf_token": c.csrf})
    assert r.status_code == 303
    assert store.feature("markers", "M7")["condition"] == "丢失"


def test_twenty_wrong_passwords(web_server, http):
    login_name, right = "victim", "victim-pass-1"
    with httpx.Client(base_url=web_server.url, timeout=30) as c:
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        codes = []
        for i in range(20):
            r = c.post("/login", data={"csrf_token": tok, "login": login_name, "password": f"wrong-{i}"})
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429] * 15
        r = c.post("/login", data={"csrf_token": tok, "login": login_name, "password": right})
        assert r.status_code == 429
        assert "尝试次数过多" in r.text
        assert "too many" in r.text
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303  # not logged in
        assert r.headers["location"].startswith("/login")
    # another account from the same address is not locked out
    assert http(*USERS["viewer"]).last_login.status_code == 303


def test_security_headers_and_out_paths(web_server, http):
    c = http(*USERS["viewer"])
    r = c.get("/view/maps")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    r = c.get("/out/map.html")
    assert r.status_code == 200
    assert "sandbox" in r.headers["content-security-policy"]
    for bad in ["/out/..%2Fmzgis.toml", "/out/%2E%2E%2Fproject.gpkg", "/out/project.gpkg", "/out/.mzgis-web",
                "/out/..%2F.mzgis-web%2Fsession.key", "/out/nothere.html", "/static/../mzgis.toml"]:
        r = c.get(bad)
        assert r.status_code == 404, bad
        assert b"[project]" not in r.content


def test_login_redirects_stay_on_this_site(web_server):
    for target, want in [("//evil.example/x", "/"), ("http://evil.example/", "/"), ("/\\evil.example", "/"),
                         ("/view/coverage?kind=x", "/view/coverage?kind=x")]:
        with httpx.Client(base_url=web_server.url, timeout=30) as c:
            tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"csrf_token": tok, "login": USERS["viewer"][0],
                                       "password": USERS["viewer"][1], "next": target})
            assert r.status_code == 303
            assert r.headers["location"] == want, target


def test_oversized_post_is_refused_before_it_is_read(web_server, http):
    c = http(*USERS["placename"])
    before = web_server.dump()
    r = c.post("/edit/feature", data={"csrf_token": c.csrf, "layer": "markers", "id": "M1", "expect_version": "1",
                                      "note": "x" * (3 * 1024 * 1024)})
    assert r.status_code == 413
    assert web_server.dump() == before
