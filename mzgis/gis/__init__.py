"""The application: the ``mzgis`` command line, the workspace, pipelines and the demo.

This is the only package that imports :mod:`mzgis.layers`, :mod:`mzgis.analysis` and
:mod:`mzgis.maps` together.
"""
