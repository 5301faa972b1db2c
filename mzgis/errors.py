"""The one exception hierarchy of mzgis.

Every error subclasses :class:`MzgisError` *and* the matching built-in, so ``except ValueError``
still catches a :class:`LayerError`. Messages name the file, row, field, what was found and how to
fix it; they are written Chinese first with English alongside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class MzgisError(Exception):
    """Base class of every mzgis error."""


class LayerError(ValueError, MzgisError):
    """Input data that cannot become a valid layer (bad rows, fields, geometries)."""


class CrsError(ValueError, MzgisError):
    """A missing, unknown or unsuitable coordinate reference system."""


class WorkspaceError(ValueError, MzgisError):
    """A missing or malformed workspace (``mzgis.toml``, ``project.gpkg``)."""


class StoreError(RuntimeError, MzgisError):
    """The project store could not be read or written."""


class StaleEditError(StoreError):
    """An edit was made from an out-of-date copy of a feature (its version moved on)."""


class SitingError(RuntimeError, MzgisError):
    """The siting model could not be solved (infeasible target, solver failure)."""

class DuplicateRecordError(StoreError):
    """A record whose key the store already holds (a resent web inspection): nothing was written.
    ``existing`` is the stored record (column → value)."""

    def __init__(self, msg: str, existing: Mapping[Any, Any] | None = None) -> None:
        super().__init__(msg)
        self.existing = dict(existing or {})


class RecordKeyConflictError(StoreError):
    """A record key (``client_key``) already stored for another record or by another user: the new
    record is refused, nothing was written (the web answers 409)."""


class NetworkError(ValueError, MzgisError):
    """A road network that cannot be built or used (empty, unreadable, mismatched CRS)."""


class ConfigError(ValueError, MzgisError):
    """A setting in ``mzgis.toml`` that is missing or has the wrong form."""


class MissingColumnError(LayerError):
    """A layer handed to an analysis function lacks a column the function needs."""


class DuplicateIdError(LayerError):
    """An id column (``feature_id`` or the one named) holds the same id on more than one row."""


class DoubleCountError(LayerError):
    """Two layers hold the same things (the same stations, the same buildings): summing them would
    count them twice."""


class GeometryKindError(LayerError):
    """A layer of the wrong geometry kind for an analysis: a corridor along points or polygons."""


class ParameterError(ValueError, MzgisError):
    """An analysis argument out of range: empty or non-positive thresholds, speeds, distances."""


class MzgisWarning(UserWarning):
    """Base class of the warnings mzgis gives (the analysis still runs)."""


class CrsMismatchWarning(MzgisWarning):
    """Two layers of one analysis are in different CRSs; one was reprojected to the other's."""


class FieldProblem:
    """One problem found in one row/feature and field of a source file.

    Parameters
    ----------
    row
        Human row label as the user sees it (``"第 12 行"`` / ``"line 12"`` for CSV, the Excel row
        for XLSX, the feature number for vector files).
    field
        The column as named in the source file (or the mzgis field if no column exists).
    found
        What was found, as text.
    fix
        How to fix it.
    """

    __slots__ = ("field", "fix", "found", "problem", "row")

    def __init__(self, row: str, field: str, found: str, problem: str, fix: str) -> None:
        self.row = row
        self.field = field
        self.found = found
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.row}, 字段 field '{self.field}': {self.problem}（发现 found: {self.found}）。修改 fix: {self.fix}"


class ValidationFailed(LayerError):
    """Raised with every :class:`FieldProblem` found in one source file (up to a limit)."""

    MAX_SHOWN = 20

    def __init__(self, path: str, problems: list[FieldProblem], total: int | None = None) -> None:
        self.path = path
        self.problems = problems
        self.total = total if total is not None else len(problems)
        shown = problems[: self.MAX_SHOWN]
        lines = [f"导入失败 import failed: {path} 有 {self.total} 处问题 problems; 项目库未改动 store unchanged."]
        lines += [f"  - {p}" for p in shown]
        if self.total > len(shown):
            lines.append(f"  …另有 {self.total - len(shown)} 处 and {self.total - len(shown)} more")
        super().__init__("\n".join(lines))


class ClusterError(RuntimeError, MzgisError):
    """The Dask cluster could not be reached or a partition could not be computed on it."""


class AccountError(ValueError, MzgisError):
    """A bad account name, role or password (``mzgis users``, the web app's accounts)."""


class FieldInputError(LayerError):
    """A field-inspection form value that cannot be recorded (shown with the form; nothing written)."""


class ImportInputError(LayerError):
    """A value of the web import form that cannot be used (shown with the form; nothing written)."""
