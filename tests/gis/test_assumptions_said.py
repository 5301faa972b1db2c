"""Issue 23: the commands that count demand print the assumptions they used, the same lines in
each (one place collects them): the compounds give households only, so residents are households
× 2.6 and elderly 20 % of residents — assumed, and said."""

from __future__ import annotations

from mzgis.gis.cli import main
from tests.gis.test_site_standards_oracles import street_ws  # noqa: F401  (the fixture)

KIND = "elderly_care_station"


def _assumed(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if "假设 assumed" in ln]


def test_coverage_access_and_site_say_the_same_demand_assumptions(street_ws, capsys):  # noqa: F811
    ws = str(street_ws.root)
    assert main(["coverage", ws, "--kind", KIND, "--minutes", "15"]) == 0
    cov = _assumed(capsys.readouterr().out)
    assert any("每户人数 persons per household: 2.6" in ln and "3 / 3" in ln for ln in cov), cov
    assert any("老年人口占比 elderly share: 20%" in ln for ln in cov), cov
    assert any("步行速度 walking speed" in ln for ln in cov), cov
    assert any("吸附规则 snapping rule" in ln for ln in cov), cov
    assert not any("floors" in ln for ln in cov)  # no footprints: no floors assumed
    assert main(["access", ws, "--kind", KIND, "--supply", "count", "--method", "2sfca", "--minutes", "15"]) == 0
    acc = _assumed(capsys.readouterr().out)
    assert any("可达性方法 access method: 2sfca" in ln for ln in acc), acc
    assert any("距离衰减 distance decay" in ln for ln in acc), acc
    assert main(["site", ws, "--kind", KIND, "--add", "1", "--minutes", "15"]) == 0
    site = _assumed(capsys.readouterr().out)
    demand_lines = [ln for ln in cov if "persons per household" in ln or "elderly share" in ln]
    for ln in demand_lines:
        assert ln in acc
        assert ln in site
