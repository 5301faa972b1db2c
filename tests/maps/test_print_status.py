"""The print map (PDF/PNG) says what coverage counted: facilities symbolised by status with counts,
the proposed sites, and a station left out of the coverage marked with its distance to the network."""

from __future__ import annotations

import geopandas as gpd
import shapely

from mzgis.maps.print_map import SheetInfo, draw_sheet
from mzgis.maps.webmap import MapData


def _data() -> MapData:
    com = gpd.GeoDataFrame({"feature_id": ["C1"], "name": ["甲社区"]},
                           geometry=[shapely.box(116.40, 39.90, 116.42, 39.92)], crs="EPSG:4326")
    statuses = ["建成运营"] * 3 + ["在建"] * 2 + ["规划"] * 3
    fac = gpd.GeoDataFrame({"feature_id": [f"S{i}" for i in range(8)], "name": [f"站{i}" for i in range(8)],
                            "kind": "elderly_care_station", "status": statuses},
                           geometry=[shapely.Point(116.401 + 0.002 * i, 39.905) for i in range(8)], crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"candidate_id": ["P1", "P2"], "rank": [1, 2], "households_gained": [120.0, 30.0]},
                             geometry=[shapely.Point(116.41, 39.915), shapely.Point(116.415, 39.912)], crs="EPSG:4326")
    left = gpd.GeoDataFrame({"feature_id": ["S2"], "name": ["站2"], "kind": "elderly_care_station",
                             "distance_m": [512.4]}, geometry=[fac.geometry.iloc[2]], crs="EPSG:4326")
    return MapData(title="t", facilities=fac, units={"community": com}, sites=sites, left_out=left)


def _legend_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_status_sites_and_left_out_in_the_legend():
    import matplotlib.pyplot as plt

    fig = draw_sheet(_data(), SheetInfo(title="t"), paper="A4", orientation="landscape")
    try:
        texts = _legend_texts(fig)
        joined = "\n".join(texts)
        assert "建成运营 3 处（其中 1 处未计入）" in joined  # S2 is drawn, and said not counted
        assert "在建 2 处" in joined
        assert "规划 3 处" in joined
        assert "建议新址 2 处" in joined
        assert "未计入（离路网 512 m）" in joined
        # each status its own legend entry, with its own marker fill (solid, half, hollow)
        handles = fig.axes[-1].get_legend().legend_handles
        fills = {s: h.get_fillstyle() for t, h in zip(texts, handles, strict=True)
                 for s in ("建成运营", "在建", "规划") if f"{s} " in t}
        assert len(fills) == 3
        assert len(set(fills.values())) == 3
        # the points drawn: 3 + 2 + 3 facilities, 2 sites, 1 ring around the left-out station
        ax = fig.axes[0]
        drawn = sorted(len(ln.get_xdata()) for ln in ax.lines if not ln.get_label().startswith("_"))
        assert drawn == [1, 2, 2, 3, 3]
    finally:
        plt.close(fig)


def test_no_sites_no_left_out_no_entries():
    import matplotlib.pyplot as plt

    d = _data()
    d.sites = None
    d.left_out = None
    fig = draw_sheet(d, SheetInfo(title="t"))
    try:
        joined = "\n".join(_legend_texts(fig))
        assert "建议新址" not in joined
        assert "未计入" not in joined
        assert "建成运营 3 处" in joined
    finally:
        plt.close(fig)
