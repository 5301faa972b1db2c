"""``type=`` functions for the command line's arguments.

Each one turns the text of an argument into its value or raises
:class:`argparse.ArgumentTypeError` with a bilingual message saying what was found and what to
write instead; argparse then prints it with the usage line and exits with status 2, before any
file is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import NoReturn

from mzgis.errors import MzgisError

__all__ = ["DEMAND_HELP", "EXPECT_HELP", "ID_HELP", "KIND_HELP", "LAYER_HELP", "PROFILE_HELP", "WS_HELP",
           "add_output_coords", "coords_name", "iso_date", "key_values", "minutes_list", "positive_float",
           "positive_int", "share"]


#: Help texts of arguments many commands share (Chinese with English alongside).
WS_HELP = "工作区文件夹 the workspace folder (holds mzgis.toml)"
KIND_HELP = "设施类型 facility kind (Chinese name or English id, e.g. 社区养老服务驿站)"
PROFILE_HELP = "出行方式 travel profile: walk 步行 (default) | elderly 老年人步行 (slower)"
DEMAND_HELP = "需求图层或人口栅格 demand layer or population GeoTIFF (default: every demand layer)"
LAYER_HELP = "图层名 layer name"
ID_HELP = "要素编号 feature id"
EXPECT_HELP = "版本核对 refuse if the feature is no longer at this version (someone changed it meanwhile)"


def _fail(msg: str) -> NoReturn:
    raise argparse.ArgumentTypeError(msg)


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        _fail(f"'{text}' 不是数字 is not a number ({what})")
    if not math.isfinite(v):
        _fail(f"'{text}' 不是有限数字 is not a finite number ({what})")
    return v


def iso_date(text: str) -> str:
    """A calendar date written ``YYYY-MM-DD`` (returned in that form)."""
    s = text.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", s, re.ASCII):
        y, m, d = (int(p) for p in s.split("-"))
        try:
            return dt.date(y, m, d).isoformat()
        except ValueError:
            pass
    _fail(f"'{text}' 不是有效日期 is not a valid date; 请写成 write it as YYYY-MM-DD, e.g. 2026-11-20")


def minutes_list(text: str) -> list[float]:
    """Comma-separated positive minutes, e.g. ``5,10,15``."""
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(p == "" for p in parts):
        _fail(f"'{text}' 格式错误 is not a list of minutes; 请写成 write e.g. 5,10,15")
    out = []
    for p in parts:
        v = _number(p, "minutes, e.g. 5,10,15")
        if not 0 < v <= 600:
            _fail(f"'{p}' 分钟数应在 0–600 之间 minutes must be > 0 and ≤ 600 (in '{text}')")
        out.append(v)
    return out


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = _number(text, "a positive number")
    if v <= 0:
        _fail(f"'{text}' 应为正数 must be a positive number")
    return v


def positive_int(text: str) -> int:
    """A whole number ≥ 1."""
    try:
        v = int(text.strip())
    except ValueError:
        _fail(f"'{text}' 不是正整数 is not a whole number ≥ 1, e.g. 3")
    if v < 1:
        _fail(f"'{text}' 应为正整数 must be a whole number ≥ 1, e.g. 3")
    return v


def share(text: str) -> float:
    """A share in (0, 1], e.g. ``0.9`` (percentages like ``90%`` are refused, not guessed)."""
    v = _number(text.rstrip("%") if text.endswith("%") else text, "a share between 0 and 1")
    if text.endswith("%") or not 0 < v <= 1:
        _fail(f"'{text}' 应为 0 到 1 之间的比例 must be a share > 0 and ≤ 1, e.g. 0.9 for 90%")
    return v


def coords_name(text: str) -> str:
    """A ``--coords`` value: wgs84, cgcs2000, gcj02, bd09 or EPSG:n (checked, returned as given)."""
    from mzgis.errors import CrsError
    from mzgis.layers.crs import parse_source_coords

    try:
        parse_source_coords(text)
    except CrsError as exc:
        _fail(str(exc))
    return text


def add_output_coords(parser: argparse.ArgumentParser, what: str) -> None:
    """``--coords`` for the coordinates a command writes (``export``, ``site``, ``inspect``)."""
    parser.add_argument("--coords", default="wgs84", type=coords_name,
                        help=f"{what} coordinates: wgs84 (default) | gcj02 (高德/腾讯) | bd09 (百度) | cgcs2000 | EPSG:n")


def key_values(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``FIELD=VALUE`` items of a repeated option (``--map``, ``--set``) as a dict; a bad item is bad input."""
    out: dict[str, str] = {}
    for it in items or []:
        if "=" not in it:
            msg = f"{flag} {it}: 格式应为 expected FIELD=COLUMN"
            raise MzgisError(msg)
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out
