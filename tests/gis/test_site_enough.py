"""Issue 23: ``mzgis site --add 2`` when one new site already covers everything must not propose
a second site worth "+0 户"; it says that one suffices (console, tables, notes file)."""

from __future__ import annotations

import pandas as pd

from mzgis.gis.cli import main
from tests.gis.test_site_standards_oracles import street_ws  # noqa: F401  (the fixture)


def test_a_site_adding_nothing_is_not_proposed(street_ws, capsys):  # noqa: F811
    ws = street_ws
    # at 15 min (1 km) one site between B (2 km) and C (3 km) covers both; a second adds nothing
    assert main(["site", str(ws.root), "--kind", "elderly_care_station", "--add", "2", "--minutes", "15",
                 "--method", "exact"]) == 0
    said = capsys.readouterr().out
    assert "+0 户" not in said
    assert "1 个新址即可" in said
    assert "1 new site suffices" in said
    t = pd.read_csv(ws.out_dir / "sites_elderly_care_station.csv", encoding="utf-8-sig")
    assert len(t) == 1
    assert (t["households_gained"] > 0).all()
    assert t["cumulative_share"].iloc[-1] == 1.0
    assert "1 new site suffices" in (ws.out_dir / "sites_elderly_care_station_notes.txt").read_text(encoding="utf-8")
    assert len(ws.store.read("sites_elderly_care_station")) == 1
