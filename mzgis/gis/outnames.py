"""Output names that say what was computed, so one run never overwrites another's figures.

The default run keeps its plain name (``coverage_<kind>.csv``: what the map, the report and the
web pages look for); a run with another demand source, scenario (counted statuses), walking
profile, thresholds, snapping rule or date carries each difference in its name, e.g.
``coverage_elderly_care_station_buildings_planned.csv``.

>>> variant_suffix(statuses=("建成运营",))
''
>>> variant_suffix(demand="buildings", statuses=("建成运营", "在建", "规划"))
'_buildings_planned'
>>> variant_suffix(demand="/data/pop.tif", statuses=("建成运营", "在建"), profile="elderly", date="2026-12-07")
'_pop_operating-under_construction_elderly_2026-12-07'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mzgis.layers.paths import safe_filename
from mzgis.layers.schemas import OPERATING, PLANNED, SCENARIO_STATUSES, UNDER_CONSTRUCTION

__all__ = ["output_stem", "split_stem", "variant_suffix"]

_STATUS_ID = {OPERATING: "operating", UNDER_CONSTRUCTION: "under_construction", PLANNED: "planned"}


def _scenario(statuses: Sequence[str]) -> str:
    st = tuple(statuses)
    if st == SCENARIO_STATUSES["today"]:
        return ""
    for name, group in SCENARIO_STATUSES.items():
        if set(group) == set(st):
            return name
    return "-".join(_STATUS_ID.get(s, s) for s in st)


def variant_suffix(*, demand: str | None = None, statuses: Sequence[str] = SCENARIO_STATUSES["today"],
                   profile: str = "walk", minutes: Sequence[float] | None = None,
                   default_minutes: Sequence[float] | None = None, snap_to: str | None = None,
                   default_snap_to: str | None = None, date: str | None = None) -> str:
    """``_part_part…`` for every setting that differs from the default run ('' for the default).

    ``demand`` is a layer name or a raster path (its file stem is used); ``minutes`` and
    ``snap_to`` count only where they differ from the workspace's ``default_minutes`` and
    ``default_snap_to``."""
    parts = []
    if demand:
        parts.append(Path(demand).stem if Path(demand).suffix.lower() in (".tif", ".tiff") else demand)
    parts.append(_scenario(statuses))
    if profile and profile != "walk":
        parts.append(profile)
    if minutes and [float(m) for m in minutes] != [float(m) for m in (default_minutes or [])]:
        parts.append("-".join(f"{m:g}" for m in minutes) + "min")
    if snap_to and snap_to != (default_snap_to or snap_to):
        parts.append(f"snap-{snap_to}")
    if date:
        parts.append(date)
    return "".join("_" + safe_filename(p, default="x") for p in parts if p)


def output_stem(prefix: str, kind_id: str, **variant: object) -> str:
    """``<prefix>_<kind>`` plus :func:`variant_suffix` (same keywords), safe as a file name."""
    return f"{prefix}_{safe_filename(kind_id, default='layer')}" + variant_suffix(**variant)  # type: ignore[arg-type]


def split_stem(stem: str, kind_ids: Sequence[str]) -> tuple[str | None, str]:
    """``(kind id, variant)`` of a stem as :func:`output_stem` makes it without its prefix, e.g.
    ``elderly_care_station_buildings_planned`` → ``("elderly_care_station", "buildings_planned")``;
    the longest kind id that the stem starts with wins; ``(None, stem)`` when none does.

    >>> split_stem("elderly_care_station_buildings_planned", ["elderly_care_station", "elderly_care"])
    ('elderly_care_station', 'buildings_planned')
    >>> split_stem("elderly_care_station", ["elderly_care_station"])
    ('elderly_care_station', '')
    """
    for kid in sorted(kind_ids, key=len, reverse=True):
        safe = safe_filename(kid, default="layer")
        if stem == safe or stem.startswith(safe + "_"):
            return kid, stem[len(safe) + 1:]
    return None, stem
