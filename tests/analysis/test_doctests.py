"""The Examples sections of the analysis API run as doctests (tiny hand-made frames, fast).

Each example states a hand-computed answer, so a change that alters a result fails here as well
as in the unit tests; every public module is expected to carry at least one example.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_guards", "access", "addresses", "area_standard", "boundaries", "coverage", "demand", "equity",
           "indicators", "markers", "reach", "service_areas", "siting", "siting_enough", "assumptions",
           "corridors", "zones"]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    mod = importlib.import_module(f"mzgis.analysis.{name}")
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0, f"mzgis.analysis.{name} has no examples"
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of mzgis.analysis.{name} failed (see stdout)"
