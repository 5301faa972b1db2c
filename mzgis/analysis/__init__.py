"""Analysis: how to *compute* — network reach, service areas, coverage, standards, siting.

Takes layers (GeoDataFrames and the road graph) and returns plain tables and GeoDataFrames.
Imports :mod:`mzgis.layers` only.
"""
