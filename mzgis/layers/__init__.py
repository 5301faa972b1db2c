"""Layers: what the data *is* — layer types, import, coordinates, the project store, the network.

This package imports nothing from :mod:`mzgis.analysis`, :mod:`mzgis.maps` or :mod:`mzgis.gis`.
"""
