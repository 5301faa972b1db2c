"""`mzgis access` says how many facilities it really counted: a station too far from the network is
left out of the figures, so "计入设施 facilities counted" must not include it (said 4 where 3 counted,
while coverage already said 3 and the one left out)."""

from __future__ import annotations

from tests.security.workspace import EAST, NORTH, build_workspace, mzgis


def test_access_counts_what_it_counted(tmp_path, capsys):
    ws = build_workspace(tmp_path, ["甲", "乙"], name="项目", jurisdiction="辖区", single="自定义")
    assert mzgis("edit", ws, "stations", "add", "FAR", "--set", "name=远站", "--set", "status=建成运营",
                 "--lonlat", f"{EAST + 0.02},{NORTH}") == 0
    capsys.readouterr()
    assert mzgis("access", ws, "--kind", "社区养老服务驿站", "--supply", "count", "--demand-field", "households",
                 "--method", "2sfca") == 0
    said = [ln for ln in capsys.readouterr().out.splitlines() if "facilities counted" in ln]
    assert len(said) == 1, said
    assert "，2 处" in said[0], said
    assert "另 1 处" in said[0], said
    page = (ws / "out" / "access_elderly_care_station.html").read_text(encoding="utf-8")
    assert "共 2 处" in page
    assert "共 3 处" not in page
