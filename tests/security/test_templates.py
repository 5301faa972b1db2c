"""User text is data: template and script payloads in every text field and config value that
reaches the map and the report are shown as text, run nothing and render nothing.

Each payload sits in facility names, addresses and an extra attribute (数据来源), unit names,
community types, compound names, boundary-line names and codes, address-point names, and — via
mzgis.toml — the project name, the jurisdiction, a custom indicator (name, unit, source) and an
area rule's name. ``mzgis map`` and ``mzgis report`` run as separate processes in an empty folder;
the pages are then opened in headless Chromium with the network cut off.
"""

from __future__ import annotations

import html as html_lib
import re
import tomllib
from typing import Any

import pytest
import tomli_w

from tests.maps.browser import CHROMIUM_ARGS, chromium_path, visit
from tests.security.workspace import build_workspace, mzgis, mzgis_process

PAYLOADS = [
    "{{7*191}}",
    "{{ cycler.__init__.__globals__.os.mkdir('PWNED') }}",
    # without quotes, so that html.escape alone cannot defuse it
    "{{ cycler.__init__.__globals__.os.mkdir(lipsum.__name__) }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{#",
    "}}",
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    '"><img src=x onerror=alert(3)>',
]
#: one text per feature: a tag (to find it and to see what ``{{7*191}}`` became) and a payload
TEXTS = [f"T{i}·{p}" for i, p in enumerate(PAYLOADS)]
ALL = " ".join(PAYLOADS)
JURISDICTION = "J·" + ALL
NAME = "N·" + ALL
SINGLE = "S·" + ALL
RENDERED = "·1337"  # what ``·{{7*191}}`` would become if it were rendered


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Any]:
    """The hostile workspace, a proposed site, then ``mzgis map`` and ``mzgis report`` as processes."""
    root = tmp_path_factory.mktemp("templates")
    ws = build_workspace(root, TEXTS, name=NAME, jurisdiction=JURISDICTION, single=SINGLE)
    assert mzgis("site", ws, "--kind", "社区养老服务驿站", "--add", "1") == 0
    cwd = root / "cwd"
    cwd.mkdir()
    runs = {"map": mzgis_process("map", ws, cwd=cwd), "report": mzgis_process("report", ws, cwd=cwd)}
    # the project name shows where no jurisdiction is set
    cfg_path = ws / "mzgis.toml"
    cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["project"]["jurisdiction"] = ""
    cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    runs["map_name"] = mzgis_process("map", ws, "--out", ws / "out" / "map_name.html", cwd=cwd)
    return {"root": root, "ws": ws, "cwd": cwd, "runs": runs}


def test_commands_succeed_and_execute_nothing(built):
    for name, r in built["runs"].items():
        assert r.returncode == 0, (name, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, (name, r.stderr[-2000:])
    assert list(built["cwd"].iterdir()) == []  # os.mkdir(...) in a template would have made a folder here
    assert not [p for p in built["root"].rglob("*") if p.name in ("PWNED", "generate_lorem_ipsum")]


def _page(built: dict[str, Any], name: str) -> str:
    return (built["ws"] / "out" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("page", ["map.html", "map_name.html", "report.html"])
def test_pages_hold_no_raw_payload_and_nothing_rendered(built, page):
    # the report embeds its PNG as base64, whose letters may spell anything (xxx too): not text
    src = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,…", _page(built, page))
    assert RENDERED not in src
    assert "xxx" not in src  # the for loop, had it run
    for p in PAYLOADS:
        if "<" in p or "{" in p:
            assert p not in src, (page, p)  # only escaped forms


def test_report_shows_payloads_as_text(built):
    src = _page(built, "report.html")
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", src))
    for needle in (JURISDICTION, SINGLE, *TEXTS[1:7]):
        assert needle in text, needle


def _map_texts(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
      const out = {title: document.title, panel: '', control: '', popups: [], tooltips: []};
      const panel = document.getElementById('mz-summary');
      if (panel) out.panel = panel.innerText;
      const control = document.querySelector('.leaflet-control-layers');
      if (control) out.control = control.innerText;
      const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map);
      for (const k of maps) {
        window[k].eachLayer(l => {
          if (!l.feature || (l.options && l.options.opacity === 0)) return;
          const at = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
          // as a user's click and hover: the GeoJSON layer's popup and tooltip open for this feature
          const last = sel => { const all = document.querySelectorAll(sel); return all.length ? all[all.length - 1] : null; };
          const shut = () => window[k].eachLayer(x => {
            if (x instanceof L.Popup || x instanceof L.Tooltip) window[k].removeLayer(x);
          });
          l.fire('click', {latlng: at}, true);
          const p = last('.leaflet-popup-content');
          if (p) out.popups.push(p.innerText);
          shut();
          l.fire('mouseover', {latlng: at}, true);
          const t = last('.leaflet-tooltip');
          if (t) out.tooltips.push(t.innerText);
          l.fire('mouseout', {latlng: at}, true);
          shut();
        });
      }
      return out;
    }""")


def test_map_in_browser_shows_payloads_as_text_and_runs_nothing(built, tmp_path):
    found: dict[str, Any] = {}

    def act(page: Any) -> None:
        found.update(_map_texts(page))
        box = page.locator(".leaflet-control-search input")
        box.press_sequentially("T")
        page.wait_for_timeout(1000)
        found["search"] = page.locator(".search-tip").all_inner_texts()

    v = visit(built["ws"] / "out" / "map.html", actions=act, screenshot=tmp_path / "map.png")
    assert v.dialogs == []
    assert v.console_errors == []
    assert v.network_requests == []
    assert found["title"] == f"{JURISDICTION} 民政设施与服务圈"
    assert JURISDICTION in found["panel"]
    assert f"{SINGLE}" in found["panel"]  # the custom indicator's name (and unit)
    popups = "\n".join(found["popups"])
    tooltips = "\n".join(found["tooltips"])
    search = "\n".join(found["search"])
    for t in TEXTS:  # facility names, addresses, 数据来源 — each facility one text in each field
        assert t in popups, t
        assert t in search, t
    for t in TEXTS[3:7]:  # community names in the coverage popups
        assert t in popups, t
    assert TEXTS[1] in tooltips or TEXTS[2] in tooltips  # subdistrict names on hover
    everything = "\n".join([found["title"], found["panel"], found["control"], popups, tooltips, search])
    assert "1337" not in everything
    assert "xxx" not in everything


def test_project_name_page_in_browser(built):
    found: dict[str, Any] = {}
    v = visit(built["ws"] / "out" / "map_name.html", actions=lambda page: found.update(_map_texts(page)))
    assert v.dialogs == []
    assert v.console_errors == []
    assert found["title"] == f"{NAME} 民政设施与服务圈"
    assert NAME in found["panel"]
    assert "1337" not in found["panel"]


def test_report_in_browser_runs_nothing(built):
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(offline=True)
        page = ctx.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((built["ws"] / "out" / "report.html").resolve().as_uri(), wait_until="load")
        frame = page.frame_locator("iframe")
        frame.locator(".leaflet-container").wait_for(timeout=15_000)
        title = page.title()
        body = page.inner_text("body")
        ctx.close()
        browser.close()
    assert dialogs == []
    assert errors == []
    assert title == f"{JURISDICTION} 民政设施与服务圈 分析报告"
    for needle in (JURISDICTION, SINGLE, *TEXTS[1:7]):
        assert needle in body, needle
    assert "1337" not in body


def test_escape_helper_is_inert_under_jinja():
    """The helper's output, even if it were ever rendered as a template, has no delimiter left."""
    from jinja2 import Template

    from mzgis.maps.safe_html import RawHtml, esc

    for p in PAYLOADS:
        e = esc(p)
        assert not re.search(r"[{}<>\"']", e), e
        assert Template(e).render() == e
        assert html_lib.unescape(e) == p
        assert RawHtml(e).render() == e



@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_alone_in_title_and_panel(payload, tmp_path, monkeypatch):
    """One payload at a time (so no other one stops the template from compiling): as the title and
    as an indicator's name, binding and unit, the built page shows it escaped and nothing runs."""
    import pandas as pd

    from mzgis.maps.webmap import MapData, build_map

    monkeypatch.chdir(tmp_path)
    ind = pd.DataFrame([{"name_zh": f"I·{payload}", "binding": f"B·{payload}", "actual": 1.0, "comparator": ">=",
                         "target": 2.0, "unit": f"U·{payload}", "passed": False}])
    page = build_map(MapData(title=f"X·{payload}", indicators=ind), basemap="none").get_root().render()
    assert list(tmp_path.iterdir()) == []
    assert RENDERED not in page
    for tag in ("X", "I", "B", "U"):
        shown = html_lib.unescape(page.split(f"{tag}·", 1)[1].split("<", 1)[0])  # up to the next real tag
        assert shown == payload, (tag, shown)


def test_static_map_draws_names_as_plain_text(tmp_path):
    """Names are drawn as they are: ``$…$`` is not mathtext (bad TeX would make the PNG fail)."""
    import geopandas as gpd
    import shapely

    from mzgis.maps.report import static_map
    from mzgis.maps.webmap import MapData

    bad = r"$\undefinedcommand{x}$ {{7*191}}"
    units = gpd.GeoDataFrame({"feature_id": ["C1"], "name": [bad]},
                             geometry=[shapely.box(116.40, 39.90, 116.41, 39.91)], crs="EPSG:4326")
    data = MapData(title=bad, units={"community": units}, facilities=None)
    png = static_map(data, tmp_path / "m.png", dpi=40)
    assert png.stat().st_size > 0


def test_tianditu_key_is_a_url_parameter_not_markup():
    import geopandas as gpd
    import shapely

    from mzgis.maps.webmap import MapData, build_map

    pt = gpd.GeoDataFrame({"feature_id": ["F"], "name": ["甲"], "kind": ["elderly_care_station"],
                           "status": ["建成运营"]}, geometry=[shapely.Point(116.47, 39.99)], crs="EPSG:4326")
    key = "k</script><script>alert(1)</script>{{7*191}}&x={y}"
    page = build_map(MapData(title="t", facilities=pt, tianditu_key=key), basemap="tianditu").get_root().render()
    assert "</script><script>alert(1)" not in page
    assert "{{7*191}}" not in page
    assert "tk=k%3C%2Fscript%3E" in page
