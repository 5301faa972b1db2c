"""Road and place labels: one label per named street (dual carriageways too), spacing along long
streets, nothing for unnamed or very short ways, zoom by class; tile URL templates checked."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from mzgis.maps.labels import place_label_points, road_label_points


def _roads():
    # 1 km per 0.0117° of longitude at 40°N: a 2.4 km dual carriageway (two ways 20 m apart), a
    # 300 m residential street, an unnamed service road and a 30 m named stub
    d = 0.0117
    return gpd.GeoDataFrame(
        {"highway": ["primary", "primary", "residential", "service", "residential"],
         "name": ["长安街", "长安街", "胡同", "", "短巷"]},
        geometry=[shapely.LineString([(116.0, 40.0), (116.0 + 2.4 * d, 40.0)]),
                  shapely.LineString([(116.0 + 2.4 * d, 40.00018), (116.0, 40.00018)]),
                  shapely.LineString([(116.1, 40.0), (116.1, 40.0027)]),
                  shapely.LineString([(116.2, 40.0), (116.21, 40.0)]),
                  shapely.LineString([(116.3, 40.0), (116.3 + 0.03 * d, 40.0)])], crs="EPSG:4326")


def test_road_labels_one_per_street_and_spacing():
    lab = road_label_points(_roads(), spacing_m=900.0)
    counts = lab["text"].value_counts().to_dict()
    assert counts == {"长安街": 2, "胡同": 1}  # 2.4 km // 900 m = 2 per carriageway, the twin dropped
    assert set(lab.loc[lab["text"] == "长安街", "minzoom"]) == {14}
    assert set(lab.loc[lab["text"] == "胡同", "minzoom"]) == {16}
    xs = sorted(lab.loc[lab["text"] == "长安街", "lon"])
    assert xs[1] - xs[0] == pytest.approx(1.2 * 0.0117, rel=0.01)


def test_place_labels_inside_their_units():
    units = {"subdistrict": gpd.GeoDataFrame({"name": ["望京街道", ""]}, geometry=[
        shapely.Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]), shapely.box(5, 5, 6, 6)], crs="EPSG:4326")}
    lab = place_label_points(units)
    assert list(lab["text"]) == ["望京街道"]
    assert units["subdistrict"].geometry[0].contains(shapely.Point(lab["lon"][0], lab["lat"][0]))
    assert list(lab["minzoom"]) == [12]


@pytest.mark.parametrize("url", ["http://10.0.0.5/tiles/{z}/{x}/{y}.png", "https://t{s}.gov.example/{z}/{y}/{x}",
                                 "http://tiles.local:8080/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"])
def test_tile_url_accepts_templates(url):
    from mzgis.maps.webmap import tile_url

    assert tile_url(url) == url


@pytest.mark.parametrize("url", ["", "file:///x/{z}/{x}/{y}.png", "http:///{z}/{x}/{y}", "http://h/{z}/{x}",
                                 "http://h/{z}/{x}/{y}\"onerror=", "http://h/{z}/{x}/{y}<script>", "http://h/{z}/{x}/{y}/{{t}}",
                                 "http://h/{z}/{x}/{y} x", None, 3])
def test_tile_url_refuses_everything_else(url):
    from mzgis.errors import ConfigError
    from mzgis.maps.webmap import tile_url

    with pytest.raises(ConfigError, match=r"\[maps\] tiles"):
        tile_url(url)
