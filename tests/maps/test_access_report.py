"""The access report section and map layers treat names as text: hostile unit names are escaped."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from mzgis.maps.access_report import (
    access_layer,
    access_section_html,
    layer_control_last,
    lorenz_png,
)

EVIL = "<script>alert(1)</script>社区"


def test_section_escapes_names_and_lists_scenarios():
    by_unit = pd.DataFrame({"level": ["community"], "unit_code": ["C1"], "unit_name": [EVIL], "demand": [10.0],
                            "access": [1.5], "supply_reachable": [20.0], "share_below_target": [np.nan],
                            "gini": [0.2]})
    cmp = pd.DataFrame({"level": ["community"], "unit_code": ["C1"], "unit_name": [EVIL], "households": [5.0],
                        "households_covered_today": [1.0], "access_today": [0.5],
                        "households_covered_planned": [3.0], "access_planned": [0.9],
                        "households_covered_change_planned": [2.0], "access_change_planned": [0.4]})
    page = access_section_html(title=EVIL, summary=[EVIL], by_unit=by_unit, worst=by_unit, compare=cmp,
                               scenario_names=["today", "planned"], pngs=["a'.png"], map_file="m.html")
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "覆盖户数变化 Δ planned" in page
    assert "a&#x27;.png" in page


def test_choropleth_tooltip_escaped_and_control_last(tmp_path):
    units = gpd.GeoDataFrame({"feature_id": ["C1", "C2"], "name": [EVIL, "乙"]},
                             geometry=[shapely.box(116.0, 39.9, 116.01, 39.91), shapely.box(116.01, 39.9, 116.02, 39.91)],
                             crs="EPSG:4326")
    t = pd.DataFrame({"level": ["community"] * 2, "unit_code": ["C1", "C2"], "access": [1.0, 2.0],
                      "demand": [5.0, 6.0]})
    m = folium.Map(location=[39.905, 116.01], tiles=None)
    folium.LayerControl().add_to(m)
    access_layer(m, units, t, name="可达性", label="每千名老年人床位数")
    layer_control_last(m)
    assert isinstance(list(m._children.values())[-1], folium.LayerControl)
    html = m.get_root().render()
    assert "<script>alert(1)" not in html
    assert "alert(1)" in html  # present, escaped as text


def test_lorenz_png(tmp_path):
    lc = pd.DataFrame({"demand_share": [0, 0.5, 1], "access_share": [0, 0.2, 1]})
    p = lorenz_png({"today": lc}, tmp_path / "l.png", gini={"today": 0.3}, title="洛伦兹")
    assert p.stat().st_size > 5000
