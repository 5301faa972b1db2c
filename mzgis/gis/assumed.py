"""The assumptions of a command's run, as console/report lines: the demand settings that produced
figures (:func:`~mzgis.analysis.assumptions.demand_assumptions`) and the travel/method settings
(:func:`~mzgis.analysis.assumptions.travel_assumptions`). Every command calls this, so coverage,
access, site, standards and the report say the same thing."""

from __future__ import annotations

import pandas as pd

from mzgis.analysis.assumptions import demand_assumptions, travel_assumptions
from mzgis.gis.inputs import demand_settings, snap_setting
from mzgis.gis.workspace import Workspace

__all__ = ["run_assumptions"]


def run_assumptions(ws: Workspace, dem: pd.DataFrame | None, *, profile: str = "walk", threshold: str | None = None,
                    snap_to: str | None = None, method: str | None = None, decay: str | None = None) -> list[str]:
    """One line per assumption of a run on ``dem`` (the demand points it counted)."""
    items = demand_assumptions(dem, demand_settings(ws)) if dem is not None else []
    items += travel_assumptions(speed_m_per_min=ws.walk_speed_m_per_min(profile), threshold=threshold,
                                max_snap_m=ws.settings.travel.max_snap_distance_m,
                                snap_to=snap_setting(ws, snap_to), method=method, decay=decay)
    return [str(a) for a in items]
