"""How the leaders' pages print figures: no raw floats, no "nan%", no unit after a missing value."""

from __future__ import annotations

import math

import pandas as pd

from mzgis.web.routes_view import coverage_rows, figure


def test_figures_read_as_a_person_writes_them():
    assert figure(70795.0) == "70,795"
    assert figure(95.38308969367516) == "95.4"
    assert figure(math.nan) == "—"
    assert figure("") == "—"
    assert figure(None) == "—"


def test_coverage_share_of_a_unit_without_households_is_a_dash():
    df = pd.DataFrame({"level": ["community", "community", "community"], "unit_name": ["甲", "乙", "丙"],
                       "unit_code": ["C1", "C2", "C3"], "minutes": [15, 15, 15], "households": [120, 0, 50],
                       "households_covered": [90, 0, 50], "share_covered": [0.75, math.nan, 1.0]})
    rows = coverage_rows(df)
    assert [r["share"] for r in rows] == ["75.0%", "—", "100.0%"]
    # the same table read back from its CSV (an empty cell)
    csv = df.to_csv(index=False)
    from io import StringIO

    assert [r["share"] for r in coverage_rows(pd.read_csv(StringIO(csv)))] == ["75.0%", "—", "100.0%"]
