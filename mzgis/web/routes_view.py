"""The leaders' view (role viewer): the latest map and report, the indicators, coverage per unit."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response

from mzgis.web.auth import User, require_role
from mzgis.web.pages import NavItem, render

router = APIRouter()
NAV: list[NavItem] = [
    NavItem("/view/maps", "地图报告", "Map & report", "viewer"),
    NavItem("/view/indicators", "指标", "Indicators", "viewer"),
    NavItem("/view/coverage", "覆盖", "Coverage", "viewer"),
]

#: Output pages a leader opens, with the command that makes each.
PAGES = [
    ("map.html", "设施分布与服务圈地图", "map of facilities and service circles", "mzgis map WS"),
    ("report.html", "规划评估报告", "planning report", "mzgis report WS"),
]
#: Files under out/ that are served (by suffix), with their media types.
SERVED = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8", ".png": "image/png",
          ".pdf": "application/pdf", ".svg": "image/svg+xml",
          ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def _stamp(p: Path) -> str:
    return dt.datetime.fromtimestamp(p.stat().st_mtime).astimezone().isoformat(timespec="minutes")


def read_csv(p: Path) -> pd.DataFrame:
    """An output table as text (what the file says, nothing computed here)."""
    return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@router.get("/view/maps")
def maps_page(request: Request, user: Annotated[User, Depends(require_role("viewer"))]) -> Response:
    out = request.app.state.mz.root / "out"
    pages = []
    for name, zh, en, cmd in PAGES:
        p = out / name
        pages.append({"name": name, "zh": zh, "en": en, "command": cmd.replace("WS", str(request.app.state.mz.root)),
                      "exists": p.is_file(), "stamp": _stamp(p) if p.is_file() else None})
    return render(request, "maps.html", {"pages": pages})


@router.get("/out/{name}")
def out_file(request: Request, name: str, user: Annotated[User, Depends(require_role("viewer"))]) -> Response:
    """A file of the workspace's ``out/`` folder, read-only: a plain name (no folders), a known
    type, a regular file inside ``out/`` (no symlink out of it)."""
    out = (request.app.state.mz.root / "out").resolve()
    suffix = Path(name).suffix.lower()
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in SERVED:
        raise HTTPException(status_code=404, detail=f"没有这个输出文件 no such output file: {name}")
    p = (out / name).resolve()
    if p.parent != out or not p.is_file():
        raise HTTPException(status_code=404, detail=f"没有这个输出文件 no such output file: {name}")
    headers = {} if suffix in (".html", ".png", ".svg", ".pdf") else {"Content-Disposition": "attachment"}
    return FileResponse(p, media_type=SERVED[suffix], headers=headers)


def passed_zh(v: str) -> str:
    low = str(v).strip().lower()
    if low in ("true", "1", "是", "yes"):
        return "达标"
    if low in ("false", "0", "否", "no"):
        return "未达标"
    return "无法评估"


@router.get("/view/indicators")
def indicators_page(request: Request, user: Annotated[User, Depends(require_role("viewer"))]) -> Response:
    p = request.app.state.mz.root / "out" / "indicators.csv"
    rows: list[dict[str, Any]] = []
    stamp = None
    if p.is_file():
        df = read_csv(p)
        stamp = _stamp(p)
        for r in df.to_dict("records"):
            rows.append({"id": r.get("indicator_id", ""), "name": r.get("name_zh", ""),
                         "target": f"{r.get('comparator', '')} {figure(r.get('target', ''))}".strip(),
                         "actual": figure(r.get("actual", "")), "unit": r.get("unit", ""),
                         "passed": passed_zh(r.get("passed", "")), "binding": r.get("binding", ""),
                         "detail": r.get("detail", "")})
    counts = {k: sum(1 for r in rows if r["passed"] == k) for k in ("达标", "未达标", "无法评估")}
    return render(request, "indicators.html", {"rows": rows, "stamp": stamp, "counts": counts,
                                               "command": f"mzgis standards {request.app.state.mz.root}"})


def figure(value: Any) -> str:
    """A figure as a leader reads it: whole numbers with thousands separators, others to one
    decimal, "—" for none (the CSV keeps full precision)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value) if value not in (None, "") else "—"
    if not math.isfinite(x):
        return "—"
    return f"{x:,.0f}" if x == round(x) else f"{x:,.1f}"


def coverage_files(out: Path) -> list[tuple[str, Path]]:
    """(run, file) of every coverage table in ``out/``: the run is the file's stem after
    ``coverage_`` (a kind id, then what differs from the default run, if anything)."""
    return sorted((p.stem.removeprefix("coverage_"), p) for p in out.glob("coverage_*.csv") if p.is_file())


def coverage_choices(files: list[tuple[str, Path]]) -> list[dict[str, str]]:
    """The runs a reader chooses from, each labelled by its kind and how it differs from the
    default run (demand, scenario, profile, minutes …), default runs first."""
    from mzgis.gis.outnames import split_stem
    from mzgis.layers.kinds import KINDS

    out = []
    for run, _ in files:
        kid, variant = split_stem(run, list(KINDS))
        name = KINDS[kid].name_zh if kid else run
        label = f"{name}（{variant.replace('_', ' ')}）" if kid and variant else f"{name}（默认 default）" if kid else run
        out.append({"value": run, "label": label, "kind": kid or run, "variant": variant if kid else ""})
    return sorted(out, key=lambda c: (c["kind"], c["variant"] != "", c["variant"]))


def coverage_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a coverage table a person reads: unit, minutes, households covered, share."""
    rows = []
    for r in df.to_dict("records"):
        try:
            x = 100 * float(r.get("share_covered", ""))
        except (TypeError, ValueError):
            x = math.nan
        share = f"{x:.1f}%" if math.isfinite(x) else "—"  # no households in the unit: no share
        rows.append({"level": r.get("level", ""), "unit": r.get("unit_name", ""), "code": r.get("unit_code", ""),
                     "minutes": r.get("minutes", ""), "households": r.get("households", ""),
                     "covered": r.get("households_covered", ""), "share": share})
    return rows


@router.get("/view/coverage")
def coverage_page(request: Request, user: Annotated[User, Depends(require_role("viewer"))],
                  kind: str | None = None) -> Response:
    out = request.app.state.mz.root / "out"
    files = coverage_files(out)
    choices = coverage_choices(files)
    kinds = [c["value"] for c in choices]
    chosen = kind if kind in kinds else (kinds[0] if kinds else None)
    rows: list[dict[str, Any]] = []
    stamp = facility = status = None
    if chosen is not None:
        p = dict(files)[chosen]
        df = read_csv(p)
        stamp = _stamp(p)
        facility = str(df["facility_kind"].iloc[0]) if "facility_kind" in df and len(df) else chosen
        rows = coverage_rows(df)
        if "facility_status" in df and len(df):
            status = str(df["facility_status"].iloc[0])
    return render(request, "coverage.html", {"kinds": choices, "kind": chosen, "rows": rows, "stamp": stamp,
                                             "facility": facility, "status": status,
                                             "command": f"mzgis coverage {request.app.state.mz.root} --kind KIND"})
