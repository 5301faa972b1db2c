"""Analysis: how to *compute* — network reach, service areas, coverage, standards, siting.

Takes layers (GeoDataFrames and the road graph) and returns plain tables and GeoDataFrames, in the
caller's CRS and index. Every public function checks its inputs first (:mod:`._guards`: a CRS,
a projected one where metres are computed, unique ids, the columns it needs, positive thresholds)
and raises a named, bilingual error of :mod:`mzgis.errors` that says which layer or argument is
wrong and how to fix it. Imports :mod:`mzgis.layers` only.
"""
