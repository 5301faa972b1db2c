"""Print maps and the report's pieces without a workspace: labels that do not overlap, paper
choice, the plain-Chinese conclusion against hand-made tables, the issuing unit and the date."""

from __future__ import annotations

import datetime as dt
import itertools

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from mzgis.errors import ConfigError
from mzgis.maps.print_map import SheetInfo, draw_sheet, paper_names
from mzgis.maps.summary import conclusion
from mzgis.maps.webmap import MapData


def _crowded() -> MapData:
    """A 12 × 12 grid of 150 m communities with names far longer than the cells."""
    cells, names = [], []
    for i, j in itertools.product(range(12), range(12)):
        x0, y0 = 116.40 + i * 0.00175, 39.90 + j * 0.00135
        cells.append(shapely.box(x0, y0, x0 + 0.00175, y0 + 0.00135))
        names.append(f"很长很长的社区名称第{i}-{j}号{{{{7*191}}}}")
    com = gpd.GeoDataFrame({"feature_id": [f"C{k}" for k in range(len(cells))], "name": names}, geometry=cells,
                           crs="EPSG:4326")
    return MapData(title="拥挤的地图", units={"community": com})


@pytest.mark.parametrize(("paper", "orientation"), [("A4", "portrait"), ("A3", "landscape")])
def test_labels_do_not_overlap(paper, orientation):
    import matplotlib.pyplot as plt

    fig = draw_sheet(_crowded(), SheetInfo(title="t", issuing_unit="u"), paper=paper, orientation=orientation)
    try:
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        ax = fig.axes[0]
        labels = [t for t in ax.texts if "社区名称" in t.get_text()]
        assert 0 < len(labels) < 144  # some placed, the rest left out
        boxes = [t.get_window_extent(r) for t in labels]
        frame = ax.get_window_extent(r)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b)
        for b in boxes:
            assert frame.x0 <= b.x0
            assert b.x1 <= frame.x1
            assert frame.y0 <= b.y0
            assert b.y1 <= frame.y1
        assert all(t.get_text().endswith("{{7*191}}") for t in labels)  # drawn as written
    finally:
        plt.close(fig)


def test_paper_names():
    assert paper_names("all") == [("A4", "landscape"), ("A4", "portrait"), ("A3", "landscape"), ("A3", "portrait")]
    assert paper_names("a3-portrait") == [("A3", "portrait")]
    assert paper_names("A4") == [("A4", "landscape"), ("A4", "portrait")]
    for bad in ("A5", "A4-sideways"):
        with pytest.raises(ConfigError, match="--paper"):
            paper_names(bad)


def _coverage(share: float, households: float) -> pd.DataFrame:
    return pd.DataFrame([
        {"unit_code": "ALL", "unit_name": "全区", "level": "jurisdiction", "minutes": 5.0, "households": households,
         "households_covered": households * share / 2, "share_covered": share / 2},
        {"unit_code": "ALL", "unit_name": "全区", "level": "jurisdiction", "minutes": 15.0, "households": households,
         "households_covered": households * share, "share_covered": share}])


def test_conclusion_from_hand_made_tables():
    cov = _coverage(0.724, 10_000)
    unc = pd.DataFrame({"unit_name": ["甲社区", "乙社区", "丙社区", "丁社区"],
                        "households_uncovered": [300.0, 1_500.0, 0.0, 900.0],
                        "population_uncovered": [2_000.0, 100.0, 0.0, 50.0]})
    ind = pd.DataFrame([
        {"indicator_id": "SC-15", "name_zh": "社区养老服务驿站15分钟步行覆盖率（户）", "target": 100.0, "comparator": "≥",
         "actual": 72.4, "unit": "%", "passed": False, "binding": "预期性"},
        {"indicator_id": "EC-04", "name_zh": "建成运营社区养老服务驿站", "target": 36.0, "comparator": "≥",
         "actual": 4.0, "unit": "家", "passed": False, "binding": "约束性"},
        {"indicator_id": "EC-03", "name_zh": "养老照料中心", "target": 9.0, "comparator": "≥", "actual": 9.0,
         "unit": "家", "passed": True, "binding": "约束性"},
        {"indicator_id": "FN-02", "name_zh": "公墓覆盖", "target": 80.0, "comparator": "≥", "actual": float("nan"),
         "unit": "%", "passed": None, "binding": "约束性"}])
    text = conclusion(indicators=ind, coverage=cov, coverage_kind="elderly_care_station", uncovered=unc)
    assert text.startswith("社区养老服务驿站 15 分钟服务圈覆盖 72.4% 户（7,240/10,000 户），未达 100% 目标")
    # ranked by uncovered households (not residents), communities with none left out
    assert "未覆盖的 2,700 户集中在乙社区（1,500 户）、丁社区（900 户）、甲社区（300 户）" in text
    assert "丙社区" not in text
    assert "规划指标 4 项中 1 项达标、2 项未达标、1 项不适用" in text
    assert "约束性指标未达标：建成运营社区养老服务驿站（现状 4家，目标 ≥36家）" in text
    assert "预期性指标未达标：社区养老服务驿站15分钟步行覆盖率（户）" in text
    # met, and no target indicator: says full coverage
    full = conclusion(indicators=None, coverage=_coverage(1.0, 500), coverage_kind="elderly_care_station",
                      uncovered=None)
    assert full == "社区养老服务驿站 15 分钟服务圈覆盖 100.0% 户（500/500 户），已全覆盖。"


def test_issuing_unit_and_date(workspace):
    import tomllib

    import tomli_w

    from mzgis.gis.pipelines import issuing_unit, report_date
    from mzgis.gis.workspace import Workspace

    assert issuing_unit(workspace) == "测试区"  # [project] name
    cfg = tomllib.loads(workspace.config_path.read_text(encoding="utf-8"))
    cfg["report"] = {"issuing_unit": "朝阳区民政局"}
    workspace.config_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    assert issuing_unit(Workspace.open(workspace.root)) == "朝阳区民政局"
    cfg["report"] = {"issuing_unit": 3}
    workspace.config_path.write_text(tomli_w.dumps(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="issuing_unit"):
        issuing_unit(Workspace.open(workspace.root))
    assert report_date("2026-11-20") == dt.date(2026, 11, 20)
    assert report_date(None) == dt.date.today()
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        report_date("20/11/2026")
