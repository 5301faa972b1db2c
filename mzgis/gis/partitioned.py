"""``mzgis coverage --by LEVEL --workers N [--scheduler tcp://…]``: coverage computed unit by unit
on Dask distributed (:mod:`mzgis.analysis.partition`), with the same outputs as the one-process run.

The pipeline is :func:`mzgis.gis.pipelines.run_coverage` itself; only its reach step is replaced
by :func:`~mzgis.analysis.partition.reach_partitioned`, whose per-point result is identical, so the
tables, spreadsheets and the ``gaps_<kind>`` layer are the same files. See ``docs/scale.md``.
"""

from __future__ import annotations

import argparse
import functools
import re
from typing import Any

from mzgis.errors import LayerError

__all__ = ["LEVEL_ALIASES", "partitioned_reach", "run_coverage_partitioned", "scheduler_address", "worker_count"]

#: ``--by`` names: the store's levels, and the words a bureau uses for them.
LEVEL_ALIASES = {
    "county": "district", "区县": "district", "区": "district", "县": "district",
    "街道": "subdistrict", "乡镇": "subdistrict", "township": "subdistrict",
    "社区": "community", "村": "community", "village": "community",
}

_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})")


def scheduler_address(text: str) -> str:
    """``--scheduler``: a Dask scheduler address ``tcp://host:port`` (or ``tls://``)."""
    s = text.strip()
    m = _ADDRESS.fullmatch(s)
    if m is None or not 0 < int(m.group(3)) < 65536:
        msg = (f"'{text}' 不是调度器地址 is not a Dask scheduler address; 请写成 write it as tcp://HOST:PORT, "
               "e.g. tcp://10.0.0.5:8786")
        raise argparse.ArgumentTypeError(msg)
    return s


def worker_count(text: str) -> int:
    """``--workers``: 1 to 256 local worker processes."""
    try:
        n = int(text.strip())
    except ValueError:
        n = 0
    if not 1 <= n <= 256:
        msg = f"'{text}' 应为 1–256 的整数 must be a whole number of worker processes from 1 to 256"
        raise argparse.ArgumentTypeError(msg)
    return n


def partitioned_reach(ws: Any, *, by: str, workers: int | None = None, scheduler: str | None = None,
                      client: Any = None) -> Any:
    """The reach step of :func:`~mzgis.gis.pipelines.run_coverage`, partitioned by the units of
    level ``by`` (``county`` = district)."""
    from mzgis.analysis.partition import reach_partitioned
    from mzgis.gis.pipelines import units_by_level

    level = LEVEL_ALIASES.get(by.strip(), by.strip())
    units = units_by_level(ws)
    if level not in units:
        have = ", ".join(units) or "—"
        msg = (f"--by {by}: 项目库中没有该级行政单位 the store has no admin units of level {level!r} "
               f"(有 levels present: {have}). 导入 import them with `mzgis import {ws.root} FILE --type "
               f"admin_units --level {level}`, 或改用 or use --by with one of: {have}")
        raise LayerError(msg)
    return functools.partial(reach_partitioned, units=units[level], workers=workers, scheduler=scheduler,
                             client=client)


def run_coverage_partitioned(ws: Any, *, by: str, workers: int | None = None, scheduler: str | None = None,
                             client: Any = None, **kw: Any) -> Any:
    """:func:`~mzgis.gis.pipelines.run_coverage` with the reach computed per unit of ``by`` on Dask
    (a ``LocalCluster`` of ``workers`` processes, the scheduler at ``scheduler``, or ``client``)."""
    from mzgis.gis.pipelines import run_coverage

    return run_coverage(ws, reach=partitioned_reach(ws, by=by, workers=workers, scheduler=scheduler, client=client),
                        **kw)
