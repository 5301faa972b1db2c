"""The map's colours, one meaning each — shared by the web map (:mod:`mzgis.maps.webmap`) and the
QGIS styles (:mod:`mzgis.maps.qgis_style`), so a layer looks the same in the browser and in QGIS.
"""

from __future__ import annotations

from mzgis.layers.schemas import OPERATING, PLANNED, UNDER_CONSTRUCTION

__all__ = ["CONDITION_COLOURS", "LEVEL_STYLE", "LEVEL_ZH", "MARKER_OTHER", "PALETTE", "PROPOSED", "RING_COLOURS",
           "RING_STYLE", "ROAD_COLOURS", "SHARE_BINS", "SHARE_COLOURS", "STATUS_STYLE", "UNCOVERED"]

# Every colour below has one meaning on the map (tests/maps/test_webmap_browser.py checks the sets
# are disjoint in the page): facilities by kind (categorical), coverage (sequential blues), rings
# (orange-browns with line styles), uncovered demand (reds), boundaries and roads (greys),
# proposed sites (yellow with black), boundary markers (own greens/pinks).
PALETTE = ["#e7298a", "#7570b3", "#1b9e77", "#66a61e", "#a6761d", "#17becf", "#bc80bd", "#8dd3c7", "#b15928",
           "#6a3d9a"]
#: minutes → (colour, dash pattern, fill opacity); nested rings, the nearest drawn strongest
RING_STYLE = {5.0: ("#8c2d04", None, 0.10), 10.0: ("#ec7014", "8 5", 0.07), 15.0: ("#fec44f", "2 5", 0.05)}
RING_COLOURS = {t: s[0] for t, s in RING_STYLE.items()}
CONDITION_COLOURS = {"完好": "#00441b", "损坏": "#c51b7d", "移位": "#de77ae", "丢失": "#40004b"}
MARKER_OTHER = "#f1b6da"
LEVEL_STYLE = {"district": {"color": "#222222", "weight": 3.0, "dashArray": None},
               "subdistrict": {"color": "#444444", "weight": 2.0, "dashArray": None},
               "community": {"color": "#777777", "weight": 1.0, "dashArray": "4 3"}}
LEVEL_ZH = {"district": "区县", "subdistrict": "街道乡镇", "community": "社区村"}
STATUS_STYLE = {OPERATING: (0.9, None), UNDER_CONSTRUCTION: (0.45, "3 2"), PLANNED: (0.0, "2 2")}
SHARE_BINS = [0.0, 0.5, 0.7, 0.8, 0.9, 1.0001]
SHARE_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
UNCOVERED = ("#99000d", "#ef3b2c")  # stroke, fill
PROPOSED = ("#000000", "#ffd92f")
ROAD_COLOURS = ("#8a8a8a", "#b9b9b9")  # major, minor
