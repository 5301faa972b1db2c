"""Map pages in real headless Chromium, network disabled: no requests, no errors, every layer,
escaped popups, a non-blank screenshot."""

from __future__ import annotations

import numpy as np
import pytest

from mzgis.gis.pipelines import build_network, import_file, run_map, run_report
from mzgis.maps.assets import external_references
from tests.conftest import shared
from tests.maps.browser import non_blank, visit

HOSTILE = "<script>alert(1)</script>"


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
              script="Array.from(document.querySelectorAll('.leaflet-control-layers label')).map(e => e.innerText.trim())")
    assert v.network_requests == []
    assert v.failed_requests == []
    assert v.console_errors == []
    assert v.dialogs == []
    layers = " | ".join(v.result)
    for name in ("底图：路网 roads", "行政区划：街道乡镇", "覆盖率：街道乡镇", "服务圈：社区养老服务驿站",
                 "设施：社区养老服务驿站", "未覆盖需求"):
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
    assert f"[{float(gx):.6f}, {float(gy):.6f}]" in amap
    assert "autonavi" in amap
    with pytest.raises(ConfigError, match="tianditu_key"):
        build_map(data, basemap="tianditu")
    assert "tianditu.gov.cn" in build_map(MapData(title="t", facilities=pt, tianditu_key="k"), basemap="tianditu").get_root().render()
