"""Coverage outputs named by what was computed: a run with another demand layer or scenario no
longer overwrites the default run's table, which keeps its name (the map and report read it)."""

from __future__ import annotations

import pandas as pd
import pytest

from mzgis.gis.cli import main
from mzgis.gis.pipelines import run_coverage
from tests.gis.test_double_count import KIND, _points, _stations
from tests.gis.test_double_count import street as street


def _households(path):
    t = pd.read_csv(path, encoding="utf-8-sig")
    return float(t[(t["level"] == "jurisdiction") & (t["minutes"] == 15)]["households"].iloc[0])


def test_other_demand_or_scenario_does_not_overwrite_the_default(street, capsys):
    ws = street
    ws.store.write_layer("homes", _points(["A", "B", "C"], [100.0, 2000.0, 3000.0], households=[100.0, 60.0, 40.0]),
                         layer_type="demand")
    ws.store.write_layer("planned", _stations(["P1"], [2000.0]).assign(status=["规划"]), layer_type="facilities",
                         kind=KIND)
    out = ws.out_dir
    default = run_coverage(ws, kind=KIND)
    assert out / f"coverage_{KIND}.csv" in default.files
    assert out / f"coverage_{KIND}.xlsx" in default.files
    # another demand layer (a subset), and the planned scenario
    ws.store.write_layer("homes_a", _points(["A1"], [100.0], households=[100.0]).assign(
        geometry=lambda g: g.geometry.translate(0, 600)), layer_type="demand")
    assert main(["coverage", str(ws.root), "--kind", KIND, "--demand", "homes_a"]) == 0
    printed = capsys.readouterr().out
    assert f"coverage_{KIND}_homes_a.csv" in printed
    plan = run_coverage(ws, kind=KIND, demand="homes", statuses=("建成运营", "在建", "规划"))
    assert {p.name for p in plan.files} == {f"coverage_{KIND}_homes_planned.csv", f"coverage_{KIND}_homes_planned.xlsx",
                                             f"uncovered_{KIND}_homes_planned.csv"}
    # the default table still holds the default run's figures (run before homes_a existed: 200)
    assert _households(out / f"coverage_{KIND}.csv") == pytest.approx(200.0)
    assert _households(out / f"coverage_{KIND}_homes_a.csv") == pytest.approx(100.0)
    t = pd.read_csv(out / f"coverage_{KIND}_homes_planned.csv", encoding="utf-8-sig")
    assert set(t["facility_status"]) == {"建成运营、在建、规划"}
    # the gaps layer of a variant run is its own too; the default one is kept
    assert f"gaps_{KIND}_homes_planned" in ws.store.layer_names()
    assert ws.store.read(f"gaps_{KIND}")["households"].sum() == pytest.approx(
        200.0 - float(default.table.query("level == 'jurisdiction' and minutes == 15")["households_covered"].iloc[0]))
