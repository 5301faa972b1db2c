"""Map pages in real headless Chromium, network disabled: no requests, no errors, every layer,
escaped popups, non-blank screenshots at desk (1400×900) and phone (390×844) sizes, controls that
leave the map visible, layers that toggle, one meaning per colour, a legend naming every colour,
labels from the OSM file, the opening extent, a metric scale and intranet tiles.

Set ``MZGIS_SHOTS=<folder>`` to keep the screenshots for a look."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from mzgis.gis.pipelines import all_facilities, build_network, import_file, run_map, run_report
from mzgis.maps.assets import external_references
from tests.conftest import shared
from tests.maps.browser import non_blank, visit

HOSTILE = "<script>alert(1)</script>"
SHOTS = Path(os.environ["MZGIS_SHOTS"]) if os.environ.get("MZGIS_SHOTS") else None


@pytest.fixture(scope="module")
def real_ws(tmp_path_factory):
    """Chaoyang's real subdistricts (WorldPop population), the real Wangjing network, stations placed
    by the test at network nodes, one with a hostile name."""
    from mzgis.gis.workspace import init_workspace

    root = tmp_path_factory.mktemp("maps")
    ws = init_workspace(root / "ws", name="朝阳区望京", jurisdiction="朝阳区（望京路网）", plan="mentougou")
    shp = shared("boundaries/beijing_subdistricts/beijing.shp")
    pop = np.load(shared("boundaries/beijing_subdistricts/worldpop.npy"))[:, 0]
    import_file(ws, shp, layer="subdistricts", layer_type="admin_units", level="subdistrict",
                join_arrays={"population": pop})
    g, _ = build_network(ws, shared("osm/beijing_chaoyang_wangjing.osm"))
    from pyproj import Transformer

    tr = Transformer.from_crs(g.crs, "EPSG:4326", always_xy=True)
    rng = np.random.default_rng(4)
    nodes = rng.choice(g.n_nodes, 8, replace=False)
    lon, lat = tr.transform(g.x[nodes], g.y[nodes])
    names = ["望京驿站一", "望京驿站二", HOSTILE, "花家地驿站", "南湖驿站", "利泽驿站", "方舟苑驿站", "阜通驿站"]
    status = ["建成运营", "建成运营", "建成运营", "在建", "建成运营", "规划", "建成运营", "建成运营"]
    rows = "".join(f'S{i},"{n.replace(chr(34), chr(34) * 2)}",{x:.7f},{y:.7f},{s}\n'
                   for i, (n, x, y, s) in enumerate(zip(names, lon, lat, status, strict=True)))
    csv = root / "stations.csv"
    csv.write_text("编号,名称,经度,纬度,状态\n" + rows, encoding="utf-8")
    import_file(ws, csv, layer="stations", layer_type="facilities", kind="社区养老服务驿站", coords="wgs84")
    dem_rows = "".join(f"R{i},{x:.7f},{y:.7f},{50 + i}\n" for i, (x, y) in enumerate(zip(
        *tr.transform(g.x[rng.choice(g.n_nodes, 200)] + 20, g.y[rng.choice(g.n_nodes, 200)]), strict=True)))
    dcsv = root / "homes.csv"
    dcsv.write_text("编号,经度,纬度,户数\n" + dem_rows, encoding="utf-8")
    import_file(ws, dcsv, layer="homes", layer_type="demand", coords="wgs84")
    return ws


def test_map_opens_offline_with_every_layer(real_ws, tmp_path):
    run = run_map(real_ws)
    page = run.path.read_text(encoding="utf-8")
    assert external_references(page) == []
    shot = tmp_path / "map.png"
    v = visit(run.path, screenshot=shot,
              script="Array.from(document.querySelectorAll('.leaflet-control-layers label, "
                     ".leaflet-control-layers-group-name')).map(e => e.innerText.trim())")
    assert v.network_requests == []
    assert v.failed_requests == []
    assert v.console_errors == []
    assert v.dialogs == []
    layers = " | ".join(v.result)
    for name in ("路网 roads", "地名与路名", "街道乡镇", "街道乡镇（社区养老服务驿站 15分钟）", "社区养老服务驿站 5/10/15分钟",
                 "社区养老服务驿站（8）", "未覆盖需求"):
        assert name in layers, (name, layers)
    assert non_blank(shot)
    assert run.size_bytes < 25_000_000


def test_hostile_name_is_text_and_runs_nothing(real_ws, tmp_path):
    run = run_map(real_ws)
    page = run.path.read_text(encoding="utf-8")
    assert HOSTILE not in page  # only its escaped form is in the page
    opened = """() => {
      const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map);
      const texts = [];
      for (const k of maps) {
        window[k].eachLayer(l => {
          if (l.feature && l.getLatLng && l.options && l.options.opacity !== 0) {
            const p = l.feature.properties;
            if (Object.values(p).some(x => typeof x === 'string' && x.includes('script'))) {
              // a click, as a user's: the GeoJSON layer's bound popup opens for this feature
              l.fire('click', {latlng: l.getLatLng()}, true);
              const el = document.querySelector('.leaflet-popup-content');
              if (el) texts.push(el.innerText);
            }
          }
        });
      }
      return texts;
    }"""

    def search(page):
        box = page.locator(".leaflet-control-search input")
        box.fill("script")
        page.wait_for_timeout(500)

    v = visit(run.path, script=opened, actions=search, screenshot=tmp_path / "xss.png")
    assert v.dialogs == []
    assert v.console_errors == []
    assert any(HOSTILE in t for t in v.result), v.result
    assert v.result, "the hostile facility's popup was not found"


def test_report_page_offline(real_ws, tmp_path):
    files = run_report(real_ws)
    report = files[0]
    html = report.read_text(encoding="utf-8")
    assert external_references(html) == []
    for heading in ("指标评估", "服务圈覆盖", "未覆盖人口最多的社区", "交互地图"):
        assert heading in html
    assert HOSTILE not in html
    png = next(f for f in files if f.suffix == ".png")
    assert non_blank(png, min_colours=200)


def test_amap_basemap_shifts_overlays_and_tianditu_needs_a_key(real_ws):
    import geopandas as gpd
    import shapely

    from mzgis.errors import ConfigError
    from mzgis.layers import coords as cc
    from mzgis.maps.webmap import MapData, build_map

    pt = gpd.GeoDataFrame({"feature_id": ["F"], "name": ["甲"], "kind": ["elderly_care_station"],
                           "status": ["建成运营"]}, geometry=[shapely.Point(116.47, 39.99)], crs="EPSG:4326")
    data = MapData(title="t", facilities=pt)
    wgs = build_map(data, basemap="none").get_root().render()
    amap = build_map(data, basemap="amap").get_root().render()
    gx, gy = cc.wgs84_to_gcj02(116.47, 39.99)
    assert "[116.47, 39.99]" in wgs
    assert f"[{round(float(gx), 5)}, {round(float(gy), 5)}]" in amap  # coordinates kept to 1e-5° (about 1 m)
    assert "autonavi" in amap
    with pytest.raises(ConfigError, match="tianditu_key"):
        build_map(data, basemap="tianditu")
    assert "tianditu.gov.cn" in build_map(MapData(title="t", facilities=pt, tianditu_key="k"), basemap="tianditu").get_root().render()


SIZES = {"desk": ((1400, 900), 0.15), "phone": ((390, 844), 0.25)}

#: the layer control (by Leaflet's API), every colour its layers draw with, by group and layer
COLLECT = """() => {
  const ctl = window.mzLayerControl;
  const out = [];
  const walk = (l, acc) => {
    if (l.mzColours) { l.mzColours.forEach(c => acc.add(c.toLowerCase())); return; }
    if (l.eachLayer) { l.eachLayer(x => walk(x, acc)); return; }
    const o = l.options || {};
    if (o.stroke !== false && o.color && (o.opacity === undefined || o.opacity > 0) && o.weight !== 0) acc.add(o.color.toLowerCase());
    if (o.fill && o.fillColor && (o.fillOpacity === undefined || o.fillOpacity > 0)) acc.add(o.fillColor.toLowerCase());
  };
  for (const e of ctl._layers) {
    const acc = new Set();
    walk(e.layer, acc);
    out.push({group: e.group ? e.group.name : 'base', name: e.name, colours: Array.from(acc)});
  }
  const legend = [];
  document.querySelectorAll('#mz-legend [data-colour]').forEach(e => {
    legend.push(e.dataset.colour.toLowerCase());
    if (e.dataset.stroke) legend.push(e.dataset.stroke.toLowerCase());
  });
  return {layers: out, legend: legend};
}"""

#: union of the on-screen boxes of every control and panel, as a share of the viewport
COVERED = """() => {
  const els = document.querySelectorAll('.leaflet-control, .mz-panel');
  const W = window.innerWidth, H = window.innerHeight, step = 2;
  const rects = Array.from(els).map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
  let hit = 0, all = 0;
  for (let y = 0; y < H; y += step) for (let x = 0; x < W; x += step) {
    all++;
    if (rects.some(r => x >= r.left && x < r.right && y >= r.top && y < r.bottom)) hit++;
  }
  return {share: hit / all, n: rects.length,
          expanded: document.querySelectorAll('.leaflet-control-layers-expanded').length,
          legendOpen: document.getElementById('mz-legend').open};
}"""

#: click every checkbox of the layer control and see the layer leave and come back
TOGGLE = """() => {
  const ctl = window.mzLayerControl;
  const map = ctl._map;
  ctl._expand();  // as a tap on the collapsed control's icon
  const res = [];
  const inputs = Array.from(document.querySelectorAll('.leaflet-control-layers-selector'));
  for (const input of inputs) {
    const entry = ctl._getLayer(input.layerId);
    const before = map.hasLayer(entry.layer);
    input.click();
    const mid = map.hasLayer(entry.layer);
    input.click();
    const after = map.hasLayer(entry.layer);
    res.push({name: entry.name, type: input.type, before: before, mid: mid, after: after});
  }
  return res;
}"""


@pytest.mark.parametrize("size", SIZES)
def test_controls_leave_the_map_visible_and_every_layer_toggles(real_ws, tmp_path, size):
    (w, h), limit = SIZES[size]
    run = run_map(real_ws, out=tmp_path / "map.html")
    shot = SHOTS / f"map_{size}.png" if SHOTS else tmp_path / f"map_{size}.png"
    v = visit(run.path, size=(w, h), screenshot=shot, script=COVERED)
    assert v.console_errors == []
    assert v.network_requests == []
    assert v.result["share"] < limit, v.result
    if size == "phone":  # the layer control and legend start collapsed on a phone, open on a desk
        assert v.result["expanded"] == 0, v.result
        assert v.result["legendOpen"] is False
    else:
        assert v.result["expanded"] == 1, v.result  # the legend opens too where it fits (see COVERED's share)
    assert non_blank(shot)
    t = visit(run.path, size=(w, h), script=TOGGLE)
    assert t.console_errors == []
    assert len(t.result) >= 7  # roads, names, boundaries, coverage, rings, facilities, uncovered
    for r in t.result:
        assert r["mid"] != r["before"], r
        assert r["after"] == r["before"], r


def _full_data():
    """Every kind of layer the map can show (two facility kinds, markers, proposed sites, a unit
    without data), small and hand-made in WGS-84 near Wangjing."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from mzgis.maps.webmap import MapData

    x0, y0 = 116.47, 39.99
    com = gpd.GeoDataFrame({"feature_id": ["C1", "C2", "C3"], "name": ["甲社区", "乙社区", "丙社区"]},
                           geometry=[shapely.box(x0 + i * 0.01, y0, x0 + (i + 1) * 0.01, y0 + 0.01) for i in range(3)],
                           crs="EPSG:4326")
    sub = gpd.GeoDataFrame({"feature_id": ["S1"], "name": ["望京街道"]}, geometry=[shapely.box(x0, y0, x0 + 0.03, y0 + 0.01)],
                           crs="EPSG:4326")
    cov = pd.DataFrame({"level": ["community"] * 2 + ["subdistrict"], "unit_code": ["C1", "C2", "S1"],
                        "minutes": 15.0, "share_covered": [0.95, 0.3, 0.7], "households": [100, 200, 300],
                        "households_covered": [95, 60, 210]})
    fac = gpd.GeoDataFrame({"feature_id": ["F1", "F2", "F3"], "name": ["一", "二", "三"],
                            "kind": ["elderly_care_station", "elderly_care_station", "community_service"],
                            "status": ["建成运营", "规划", "在建"]},
                           geometry=[shapely.Point(x0 + 0.005, y0 + 0.005), shapely.Point(x0 + 0.015, y0 + 0.005),
                                     shapely.Point(x0 + 0.025, y0 + 0.005)], crs="EPSG:4326")
    rings = gpd.GeoDataFrame({"kind": "elderly_care_station", "minutes": [5.0, 10.0, 15.0]},
                             geometry=[shapely.Point(x0 + 0.005, y0 + 0.005).buffer(r) for r in (0.002, 0.004, 0.006)],
                             crs="EPSG:4326")
    gaps = gpd.GeoDataFrame({"feature_id": ["R1", "R2"], "households": [30.0, 80.0]},
                            geometry=[shapely.Point(x0 + 0.028, y0 + 0.008), shapely.Point(x0 + 0.021, y0 + 0.002)],
                            crs="EPSG:4326")
    markers = gpd.GeoDataFrame({"feature_id": ["M1", "M2", "M3"], "line_id": "L1", "condition": ["完好", "丢失", "不明"]},
                               geometry=[shapely.Point(x0 + 0.01, y0 + 0.001 * i) for i in range(3)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"candidate_id": ["N1"], "rank": [1], "households_gained": [80.0]},
                             geometry=[shapely.Point(x0 + 0.024, y0 + 0.004)], crs="EPSG:4326")
    site_areas = gpd.GeoDataFrame({"kind": "proposed", "minutes": [15.0]},
                                  geometry=[shapely.Point(x0 + 0.024, y0 + 0.004).buffer(0.004)], crs="EPSG:4326")
    roads = gpd.GeoDataFrame({"rank": [0, 1], "name": ["广顺北大街", ""], "highway": ["primary", "residential"]},
                             geometry=[shapely.LineString([(x0, y0 + 0.003), (x0 + 0.03, y0 + 0.003)]),
                                       shapely.LineString([(x0 + 0.012, y0), (x0 + 0.012, y0 + 0.01)])], crs="EPSG:4326")
    return MapData(title="全部图层 every layer", facilities=fac, units={"community": com, "subdistrict": sub},
                   coverage=cov, coverage_kind="elderly_care_station", service_areas=rings, gaps=gaps, markers=markers,
                   roads=roads, sites=sites, site_areas=site_areas)


def _check_colours(result):
    layers = result["layers"]
    by_group: dict[str, set[str]] = {}
    for e in layers:
        by_group.setdefault(e["group"], set()).update(e["colours"])
    groups = [g for g, c in by_group.items() if c]
    assert len(groups) >= 4, by_group
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            assert not by_group[a] & by_group[b], (a, b, by_group[a] & by_group[b])
    fac = [set(e["colours"]) for e in layers if e["group"].startswith("设施")]
    for i, a in enumerate(fac):
        for b in fac[i + 1:]:
            assert not a & b, (a, b)  # each facility kind has its own colour
    used = set().union(*by_group.values())
    missing = used - set(result["legend"])
    assert not missing, (missing, result["legend"])


def test_every_colour_has_one_meaning_and_is_in_the_legend(tmp_path):
    from mzgis.maps.webmap import build_map, save_map

    path, _ = save_map(build_map(_full_data(), basemap="none"), tmp_path / "all.html")
    v = visit(path, script="() => [(" + COLLECT + ")(), (" + COVERED + ")()]")
    assert v.console_errors == []
    colours, covered = v.result
    # every kind of layer at once: the legend stays closed rather than cover the map
    assert covered["share"] < SIZES["desk"][1], covered
    v.result = colours
    names = [e["group"] for e in v.result["layers"]]
    for g in ("行政区划", "覆盖率", "服务圈", "设施", "需求", "建议新址", "界桩", "底图"):
        assert any(n.startswith(g) for n in names), (g, names)
    _check_colours(v.result)


def test_real_map_colours_one_meaning_title_scale_and_extent(real_ws, tmp_path):
    run = run_map(real_ws, out=tmp_path / "map.html")
    probe = """() => {
      const map = window.mzLayerControl._map;
      const b = map.getBounds();
      return {title: document.getElementById('mz-title').innerText,
              scale: Array.from(document.querySelectorAll('.leaflet-control-scale-line')).map(e => e.innerText),
              bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]};
    }"""
    v = visit(run.path, script="() => [(" + COLLECT + ")(), (" + probe + ")()]")
    colours, info = v.result
    _check_colours(colours)
    assert info["title"].startswith("朝阳区（望京路网）")
    assert len(info["scale"]) == 1, info["scale"]
    assert re.fullmatch(r"\d+ k?m", info["scale"][0]), info["scale"]  # metric only, no feet
    # opens at the analysed facilities and demand (Wangjing), not at the whole of Beijing's subdistricts
    fac = all_facilities(real_ws).to_crs("EPSG:4326")
    w, s, e, n = info["bounds"]
    assert ((fac.geometry.x >= w) & (fac.geometry.x <= e) & (fac.geometry.y >= s) & (fac.geometry.y <= n)).all()
    units = real_ws.store.read("subdistricts").to_crs("EPSG:4326").total_bounds
    assert (e - w) * (n - s) < 0.02 * (units[2] - units[0]) * (units[3] - units[1])


def test_road_and_place_names_from_the_osm_file(real_ws, tmp_path):
    """Zoomed in on a named way of the OSM extract (read here with pyosmium, independently of the
    map code), its name is drawn as a label; subdistrict names show at district zoom."""
    import osmium

    run = run_map(real_ws, out=tmp_path / "map.html")
    src = shared("osm/beijing_chaoyang_wangjing.osm")
    fac = all_facilities(real_ws).to_crs("EPSG:4326")
    cx, cy = float(fac.geometry.x.mean()), float(fac.geometry.y.mean())
    best = None
    for w in osmium.FileProcessor(str(src)).with_locations().with_filter(osmium.filter.KeyFilter("highway")):
        if isinstance(w, osmium.osm.Way) and w.tags.get("name") and w.tags.get("highway") in ("primary", "secondary"):
            pts = [(n.lon, n.lat) for n in w.nodes if n.location.valid()]
            mx, my = pts[len(pts) // 2]
            d = (mx - cx) ** 2 + (my - cy) ** 2
            if best is None or d < best[0]:
                best = (d, w.tags["name"], mx, my)
    assert best is not None
    _, name, mx, my = best
    script = f"""async () => {{
      const map = window.mzLayerControl._map;
      const texts = () => Array.from(document.querySelectorAll('.mz-label')).map(e => e.innerText);
      map.setView([{my}, {mx}], 12, {{animate: false}});
      await new Promise(r => setTimeout(r, 300));
      const far = texts();
      map.setView([{my}, {mx}], 17, {{animate: false}});
      await new Promise(r => setTimeout(r, 300));
      return [far, texts()];
    }}"""
    v = visit(run.path, script=script)
    far, near = v.result
    assert v.console_errors == []
    assert any(name == t for t in near), (name, near[:20])
    assert not any(name == t for t in far)  # no road names at city zoom
    subs = set(real_ws.store.read("subdistricts")["name"].astype(str))
    assert set(far) & subs, far[:20]


def test_intranet_tiles_are_the_only_requests(real_ws, tmp_path):
    """With ``[maps] tiles`` the page asks that server for tiles, and nothing else; a bad template
    is refused before any analysis with the key named, and the config is not touched."""
    from mzgis.errors import ConfigError

    real_ws.config.setdefault("maps", {})["tiles"] = "http://10.1.2.3:8080/tdt/{z}/{x}/{y}.png"
    try:
        run = run_map(real_ws, out=tmp_path / "map.html")
        v = visit(run.path)
        assert v.network_requests, "no tile was requested"
        assert all(u.startswith("http://10.1.2.3:8080/tdt/") and u.endswith(".png") for u in v.network_requests)
        for bad in ("ftp://x/{z}/{x}/{y}.png", "http://x/{z}/{x}.png", "http://x/{z}/{x}/{y}.png'><script>",
                    "http://x/{z}/{x}/{y}/{{7*191}}", "http://x/{z}/{x}/{y}/{foo}", "/tiles/{z}/{x}/{y}.png", 12):
            real_ws.config["maps"]["tiles"] = bad
            with pytest.raises(ConfigError, match=r"\[maps\] tiles"):
                run_map(real_ws, out=tmp_path / "bad.html")
        assert not (tmp_path / "bad.html").exists()
    finally:
        real_ws.config["maps"].pop("tiles", None)


def test_encoded_polylines_match_googles_example():
    from mzgis.maps.webmap import encode_polylines

    # the worked example of Google's "Encoded Polyline Algorithm Format" page (lat, lon in, lon, lat here)
    pts = np.array([(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)])
    assert encode_polylines([pts]) == ["_p~iF~ps|U_ulLnnqC_mqNvxq`@"]
    assert encode_polylines([pts, pts[:1]]) == ["_p~iF~ps|U_ulLnnqC_mqNvxq`@", "_p~iF~ps|U"]


def test_road_basemap_is_generalised_per_zoom(tmp_path, monkeypatch):
    """Above the size limit, motorways to primaries are drawn at every zoom, secondary/tertiary
    from zoom 12, the rest from 14 — decoded in the page back to the input vertices (to 1e-5°)."""
    import geopandas as gpd
    import shapely

    from mzgis.maps import webmap
    from mzgis.maps.webmap import MapData, build_map, save_map

    monkeypatch.setattr(webmap, "ROADS_ALL_ZOOMS_MAX_POINTS", 2)
    x0, y0 = 116.47, 39.99
    lines = {0: [(x0, y0), (x0 + 0.011, y0 + 0.0003), (x0 + 0.02, y0)],
             1: [(x0, y0 + 0.004), (x0 + 0.02, y0 + 0.0041)],
             2: [(x0 + 0.005, y0 - 0.003), (x0 + 0.0051, y0 + 0.006)]}
    roads = gpd.GeoDataFrame({"rank": list(lines), "name": "", "highway": ["primary", "secondary", "service"]},
                             geometry=[shapely.LineString(c) for c in lines.values()], crs="EPSG:4326")
    path, _ = save_map(build_map(MapData(title="roads", roads=roads)), tmp_path / "roads.html")
    script = f"""async () => {{
      const ctl = window.mzLayerControl, map = ctl._map;
      const roads = ctl._layers.find(e => e.name.startsWith('路网')).layer;
      const out = [];
      for (const z of [10, 13, 15]) {{
        map.setView([{y0 + 0.002}, {x0 + 0.01}], z, {{animate: false}});
        await new Promise(r => setTimeout(r, 200));
        const got = [];
        roads.eachLayer(pl => pl.getLatLngs().forEach(line => got.push(line.map(p => [p.lng, p.lat]))));
        out.push(got);
      }}
      return out;
    }}"""
    v = visit(path, script=script)
    assert v.console_errors == []

    def as_set(got):
        return {tuple((round(x, 5), round(y, 5)) for x, y in line) for line in got}

    want = {r: tuple((round(x, 5), round(y, 5)) for x, y in c) for r, c in lines.items()}
    z10, z13, z15 = (as_set(g) for g in v.result)
    assert z10 == {want[0]}
    assert z13 == {want[0], want[1]}
    assert z15 == {want[0], want[1], want[2]}


def test_cli_refuses_a_bad_tile_template_and_changes_nothing(real_ws, capsys):
    import tomllib

    import tomli_w

    from mzgis.gis.cli import main
    from tests.conftest import sha256

    cfg_path = real_ws.root / "mzgis.toml"
    before = cfg_path.read_bytes()
    cfg = tomllib.loads(before.decode("utf-8"))
    cfg.setdefault("maps", {})["tiles"] = "javascript:alert(1)//{z}/{x}/{y}"
    cfg_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    try:
        digest = sha256(cfg_path)
        out = real_ws.out_dir / "map_bad.html"
        assert main(["map", str(real_ws.root), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "[maps] tiles" in err
        assert "http" in err
        assert "Traceback" not in err
        assert sha256(cfg_path) == digest
        assert not out.exists()
    finally:
        cfg_path.write_bytes(before)
