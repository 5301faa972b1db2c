"""Accessibility results already computed (``mzgis access`` wrote ``out/access_<kind>_units.csv``,
``_worst.csv`` and ``_lorenz.png``), read back for the report and the map: the report shows the
numbers of those files, never numbers of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mzgis.layers.kinds import KINDS
from mzgis.layers.safe_text import restore_frame

__all__ = ["SavedAccess", "saved_access"]

#: text columns of the access tables (read as text whatever they hold: a code "007" stays "007")
_TEXT = ("level", "unit_code", "unit_name", "facility_kind", "facility_status", "access_unit", "access_unit_zh",
         "method", "decay", "threshold", "supply")


@dataclass
class SavedAccess:
    """One kind's saved accessibility results."""

    kind: str
    by_unit: pd.DataFrame
    worst: pd.DataFrame
    lorenz: Path | None
    units_file: Path
    written: dt.datetime

    @property
    def unit_label(self) -> str:
        """The access measure in words, e.g. 每千名老年人床位数."""
        col = self.by_unit.get("access_unit_zh")
        return str(col.iloc[0]) if col is not None and len(col) else ""

    @property
    def source(self) -> str:
        """Where the numbers come from and when they were computed."""
        return (f"数据 data: out/{self.units_file.name}, out/{self.units_file.name.replace('_units', '_worst')}"
                f"（计算于 computed {self.written:%Y-%m-%d %H:%M}；重新计算 recompute: mzgis access）")


def _read(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=dict.fromkeys(_TEXT, str), keep_default_na=False,
                     na_values={c: [""] for c in ("demand", "access", "supply_reachable", "facilities_reachable",
                                                   "share_below_target", "gini", "target")})
    return restore_frame(df)


def saved_access(out_dir: Path, kinds: Iterable[str] | None = None) -> list[SavedAccess]:
    """The saved results of the given kind ids (default: every kind that has them), in kind order.

    Kind ids come from :data:`~mzgis.layers.kinds.KINDS`, never from file names, so nothing in
    ``out/`` can make the report read another path."""
    wanted = [k for k in KINDS if kinds is None or k in set(kinds)]
    found = []
    for k in wanted:
        units = out_dir / f"access_{k}_units.csv"
        if not units.is_file():
            continue
        worst_file = out_dir / f"access_{k}_worst.csv"
        png = out_dir / f"access_{k}_lorenz.png"
        by_unit = _read(units)
        worst = _read(worst_file) if worst_file.is_file() else by_unit.iloc[0:0]
        found.append(SavedAccess(k, by_unit, worst, png if png.is_file() else None, units,
                                 dt.datetime.fromtimestamp(units.stat().st_mtime)))
    return found


#: the settings of an ``mzgis access`` run that ``mzgis report --access`` repeats
RUN_KEYS = ("supply", "demand_field", "method", "decay", "minutes", "distance_m", "demand", "profile", "target")


def record_access_run(out_dir: Path, kind: str, settings: dict[str, object]) -> Path:
    """Write ``out/access_<kind>_run.json``: the settings of the run that wrote the access files,
    so that ``mzgis report --access`` reruns it the same way (never with another method)."""
    import json

    path = out_dir / f"access_{KINDS[kind].id}_run.json"
    path.write_text(json.dumps({k: settings.get(k) for k in RUN_KEYS}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return path


def recorded_access_run(out_dir: Path, kind: str) -> dict[str, object]:
    """The settings :func:`record_access_run` wrote for a kind ({} if none, or unreadable)."""
    import json

    path = out_dir / f"access_{KINDS[kind].id}_run.json"
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: got[k] for k in RUN_KEYS if isinstance(got, dict) and got.get(k) is not None}
