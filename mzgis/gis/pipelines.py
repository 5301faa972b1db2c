"""The commands' pipelines, one import away: inputs from the workspace → :mod:`mzgis.analysis` →
outputs (tables in ``out/``, store layers, maps and reports).

The work lives in small modules, one per family of commands; this module re-exports them so
``from mzgis.gis.pipelines import run_coverage`` keeps working:

* :mod:`mzgis.gis.inputs` — choosing inputs: layers by role, the network, demand, statuses;
* :mod:`mzgis.gis.run_coverage` — ``reach``, ``coverage``, ``standards``, ``service-areas``;
* :mod:`mzgis.gis.run_map` — ``map`` and ``report``;
* :mod:`mzgis.gis.run_site` — ``site``;
* :mod:`mzgis.gis.run_access` — ``access`` and ``compare``;
* :mod:`mzgis.gis.run_places` — ``boundaries``, ``inspect``, ``record``;
* :mod:`mzgis.gis.edit` — ``edit``.
"""

from __future__ import annotations

from mzgis.gis.edit import edit_feature
from mzgis.gis.inputs import (
    SAMPLE_DATA_KEY,
    SCENARIOS,
    all_facilities,
    build_network,
    counted_label,
    counted_statuses,
    demand_settings,
    import_file,
    is_sample_workspace,
    load_demand,
    load_network,
    parse_join_npy,
    snap_setting,
    units_by_level,
)
from mzgis.gis.run_access import (
    AccessRun,
    CompareRun,
    Threshold,
    access_target,
    parse_scenarios,
    run_access,
    run_compare,
    threshold_setting,
)
from mzgis.gis.run_coverage import (
    CoverageRun,
    StandardsRun,
    run_coverage,
    run_reach,
    run_service_areas,
    run_standards,
)
from mzgis.gis.run_map import (
    MapRun,
    issuing_unit,
    report_date,
    roads_layer,
    run_map,
    run_report,
    write_report,
)
from mzgis.gis.run_places import (
    MAX_PHOTO_BYTES,
    check_position,
    geodesic_offset_m,
    inspection_plan_table,
    run_boundaries,
    run_inspect,
    run_inspect_addresses,
    run_inspect_boundaries,
    run_inspect_markers,
    run_inspect_plan,
    run_record,
)
from mzgis.gis.run_site import SiteRun, run_site
from mzgis.layers.values import latest_today

__all__ = [
    "MAX_PHOTO_BYTES",
    "SAMPLE_DATA_KEY",
    "SCENARIOS",
    "AccessRun",
    "CompareRun",
    "CoverageRun",
    "MapRun",
    "SiteRun",
    "StandardsRun",
    "Threshold",
    "access_target",
    "all_facilities",
    "build_network",
    "check_position",
    "counted_label",
    "counted_statuses",
    "demand_settings",
    "edit_feature",
    "geodesic_offset_m",
    "import_file",
    "inspection_plan_table",
    "is_sample_workspace",
    "issuing_unit",
    "latest_today",
    "load_demand",
    "load_network",
    "parse_join_npy",
    "parse_scenarios",
    "report_date",
    "roads_layer",
    "run_access",
    "run_boundaries",
    "run_compare",
    "run_coverage",
    "run_inspect",
    "run_inspect_addresses",
    "run_inspect_boundaries",
    "run_inspect_markers",
    "run_inspect_plan",
    "run_map",
    "run_reach",
    "run_record",
    "run_report",
    "run_service_areas",
    "run_site",
    "run_standards",
    "snap_setting",
    "threshold_setting",
    "units_by_level",
    "write_report",
]
