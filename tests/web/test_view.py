"""The leaders' view and the planners' page in a real browser at phone size: what the pages show
is what the commands wrote to out/ (read here independently with the csv module)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tests.web.conftest import login_as


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


def test_indicators_show_pass_and_fail(web_server, phone):
    rows = read(web_server.ws / "out" / "indicators.csv")
    page = login_as(phone(), web_server, "viewer")
    page.click("header nav >> text=指标")
    items = page.locator("ul.rows > li")
    assert items.count() == len(rows)
    for i, r in enumerate(rows):
        li = items.nth(i)
        want = {"True": "达标", "False": "未达标"}.get(r["passed"], "无法评估")
        assert li.locator(".status").inner_text() == want, r["indicator_id"]
        assert r["indicator_id"] in li.inner_text()
        # as a leader reads it: whole numbers with separators, else one decimal, "—" for none
        a = float(r["actual"]) if r["actual"] not in ("", "nan") else None
        shown = "—" if a is None else (f"{a:,.0f}" if a == round(a) else f"{a:,.1f}")
        assert f"现状 actual {shown}" in li.inner_text(), (r["indicator_id"], r["actual"])
    n_pass = sum(r["passed"] == "True" for r in rows)
    n_fail = sum(r["passed"] == "False" for r in rows)
    assert n_pass > 0
    assert n_fail > 0  # the fixture has both, so both words are really checked
    head = page.inner_text("main p.muted")
    assert f"达标 {n_pass}" in head
    assert f"未达标 {n_fail}" in head
    assert fits(page)


def test_coverage_per_unit(web_server, phone):
    rows = read(web_server.ws / "out" / "coverage_elderly_care_station.csv")
    page = login_as(phone(), web_server, "viewer")
    page.click("header nav >> text=覆盖")
    trs = page.locator("table.cov tbody tr")
    assert trs.count() == len(rows)
    for i, r in enumerate(rows):
        cells = trs.nth(i).locator("td").all_inner_texts()
        assert cells[0] == r["unit_name"]
        assert cells[3] == f"{100 * float(r['share_covered']):.1f}%"
    assert fits(page)


def test_latest_map_and_report(web_server, phone):
    page = login_as(phone(), web_server, "viewer")
    page.click("header nav >> text=地图报告")
    links = page.locator("ul.cards a")
    assert links.all_inner_texts() == ["设施分布与服务圈地图 map of facilities and service circles",
                                       "规划评估报告 planning report"]
    assert fits(page)
    page.click("ul.cards a[href='/out/map.html']")
    page.wait_for_selector(".leaflet-container")  # the map draws inside its sandbox
    page.wait_for_selector(".leaflet-control-layers-selector", state="attached")  # its layers are listed
    resp = page.goto(web_server.url + "/out/report.html")
    assert resp.status == 200
    assert (web_server.ws / "out" / "report.html").read_bytes() == resp.body()  # served as the command wrote it


def test_planner_runs_coverage(web_server, phone):
    store = web_server.store()
    gaps = store.read("gaps_elderly_care_station")
    fid = str(gaps["feature_id"].iloc[0])
    store.edit_feature("gaps_elderly_care_station", fid, changes={"minutes_to_nearest": 999.0}, user="test-setup")
    n0 = len(store.history("gaps_elderly_care_station"))
    page = login_as(phone(), web_server, "planner")
    page.click("header nav >> text=分析")
    page.select_option("select[name=analysis]", "coverage")
    page.select_option("select[name=kind]", "elderly_care_station")
    page.click("button:has-text('运行')")
    page.wait_for_selector("section.result", timeout=60_000)
    rows = read(web_server.ws / "out" / "coverage_elderly_care_station.csv")
    trs = page.locator("section.result table.cov tbody tr")
    assert trs.count() == len(rows)
    assert [trs.nth(i).locator("td").first.inner_text() for i in range(len(rows))] == [r["unit_name"] for r in rows]
    # the analysis put the gap back as computed, in the history under the planner's name
    new = store.history("gaps_elderly_care_station").iloc[n0:]
    assert list(new["feature_id"]) == [fid]
    assert list(new["user"]) == ["plan"]
    np.testing.assert_equal(float(store.feature("gaps_elderly_care_station", fid)["minutes_to_nearest"]),
                            float(gaps["minutes_to_nearest"].iloc[0]))  # NaN (unreachable) equals NaN here
    page.select_option("select[name=analysis]", "standards")
    page.click("button:has-text('运行')")
    page.wait_for_selector("section.result ul.rows", timeout=60_000)
    assert page.locator("section.result ul.rows > li").count() == len(read(web_server.ws / "out" / "indicators.csv"))
    assert fits(page)


def test_missing_outputs_name_the_command(private_ws, tmp_path, http):
    """A workspace without out/ files: the pages say which command makes each."""
    import shutil

    from tests.web.conftest import USERS, start_server, stop_server

    shutil.rmtree(private_ws / "out")
    srv = start_server(private_ws, tmp_path / "serve.log")
    try:
        c = http(*USERS["viewer"], server=srv)
        assert c.last_login.status_code == 303
        assert "mzgis map" in c.get("/view/maps").text
        assert "mzgis report" in c.get("/view/maps").text
        assert "mzgis standards" in c.get("/view/indicators").text
        assert "mzgis coverage" in c.get("/view/coverage").text
        assert c.get("/out/map.html").status_code == 404
        c.close()
    finally:
        stop_server(srv)
