"""mzgis — 民政设施规划与覆盖分析 GIS (facility planning and coverage analysis).

A library first: ``import mzgis`` gives the functions of :mod:`mzgis.api` — open a workspace and
read its layers as GeoDataFrames, build or load the walking graph, and run ``reach``,
``coverage``, ``service_areas``, ``site``, ``access`` and the ``inspect_*`` checks on frames
(see ``docs/api.md``). They are loaded on first use (PEP 562), so ``import mzgis`` and the
``mzgis`` command line start without geopandas.

Packages, in the direction data flows:

- :mod:`mzgis.layers`   — what the data *is*: layer types, import, coordinates, the project store,
  the road network.
- :mod:`mzgis.analysis` — how to *compute*: network reach, service areas, coverage, indicators.
- :mod:`mzgis.maps`     — how to *show*: offline interactive maps and reports.
- :mod:`mzgis.gis`      — the application: the ``mzgis`` CLI, the workspace, pipelines, the demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "RoadGraph", "Workspace", "__version__", "access", "access_by_unit", "boundary_lines", "coverage",
    "demand_points", "demo_workspace", "graph_from_lines", "graph_from_osm", "import_layer",
    "init_workspace", "inspect_addresses", "inspect_boundaries", "inspect_markers", "inspection_plan",
    "list_layers", "load_graph", "open_workspace", "reach", "reach_pairs", "read_demand",
    "read_facilities", "read_layer", "read_units", "service_areas", "site",
]

#: The names of :mod:`mzgis.api` that ``mzgis.<name>`` gives (``mzgis.api.__all__``; a test checks).
API_NAMES = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from mzgis.api import (
        RoadGraph,
        Workspace,
        access,
        access_by_unit,
        boundary_lines,
        coverage,
        demand_points,
        demo_workspace,
        graph_from_lines,
        graph_from_osm,
        import_layer,
        init_workspace,
        inspect_addresses,
        inspect_boundaries,
        inspect_markers,
        inspection_plan,
        list_layers,
        load_graph,
        open_workspace,
        reach,
        reach_pairs,
        read_demand,
        read_facilities,
        read_layer,
        read_units,
        service_areas,
        site,
    )


def __getattr__(name: str) -> Any:
    """``mzgis.coverage`` and the other API names: imported from :mod:`mzgis.api` when first used."""
    if name in API_NAMES:
        import importlib

        value = getattr(importlib.import_module("mzgis.api"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    msg = f"module 'mzgis' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *API_NAMES})
