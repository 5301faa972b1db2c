"""A source file as it was read, before mapping and validation (:class:`RawSource`): what every
reader (:mod:`mzgis.layers.sources`, :mod:`mzgis.layers.osm_lines`) returns to the importer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from mzgis.errors import FieldProblem

__all__ = ["RawSource"]


@dataclass
class RawSource:
    """A source file read as it is.

    Attributes
    ----------
    path
        The file.
    table
        Attribute columns (text for CSV/XLSX, typed for vector formats).
    geometry
        The geometry column of vector formats, None for tables.
    crs
        The CRS the file declares (None if it declares none).
    row_labels
        How to name each row to the user, aligned with ``table``.
    encoding
        Text encoding detected or used.
    notes
        What reading did that the user should know (renamed columns).
    problems
        Cell problems only the reader can see (Excel error values, formulas without a value).
    renamed
        ``{column as in the table: column as in the file}`` for columns renamed to keep them apart.
    """

    path: Path
    table: pd.DataFrame
    geometry: gpd.GeoSeries | None
    crs: CRS | None
    row_labels: list[str]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[FieldProblem] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def is_table(self) -> bool:
        """True for CSV/XLSX sources (coordinates in columns)."""
        return self.geometry is None
