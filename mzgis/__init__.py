"""mzgis — 民政设施规划与覆盖分析 GIS (facility planning and coverage analysis).

Packages, in the direction data flows:

- :mod:`mzgis.layers`   — what the data *is*: layer types, import, coordinates, the project store,
  the road network.
- :mod:`mzgis.analysis` — how to *compute*: network reach, service areas, coverage, indicators.
- :mod:`mzgis.maps`     — how to *show*: offline interactive maps and reports.
- :mod:`mzgis.gis`      — the application: the ``mzgis`` CLI, the workspace, pipelines, the demo.
"""

__version__ = "0.1.0"
