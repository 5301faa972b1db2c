"""The one set of rules for field values, used by every writer: import, ``mzgis edit``,
``mzgis record``, the web forms (``/edit/feature``, ``/field/record``) and :mod:`mzgis.api`.

* Dates: ``YYYY-MM-DD`` in ASCII digits (month and day may have one digit; a spreadsheet's
  ``2026/11/20``, ``2026.11.20`` and ``2026年11月20日`` are read too: the year comes first), a real calendar day,
  not in the future (:func:`latest_today`: China's day counts, UTC+8) and not before
  :data:`EARLIEST_DAY`. ``26-11-20``, ``2026-11-20T00:00``, ``２０２６-１１-２０`` and ``0001-01-01``
  are refused. A cell a spreadsheet already holds as a date (a ``datetime``) is taken as that day.
* Numbers: finite, inside the range of the field (:func:`check_number`).
* Text: no control characters; a multi-line text keeps tab and line breaks, CR+LF and CR are
  stored as LF (:func:`clean_text`).

Each check returns the value as stored or raises :class:`~mzgis.errors.LayerError` with a
bilingual message naming the field, what was found and the form expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from mzgis.errors import LayerError

__all__ = ["EARLIEST_DAY", "EMPTY_WORDS", "MAX_ACCURACY_M", "check_date", "check_number", "clean_text",
           "date_problem", "latest_today", "refuse_empty_words"]

#: Cell texts an imported file uses for "no value" (database and pandas exports), read as empty.
EMPTY_WORDS = ("", "nan", "none", "null", "<na>", "nat")

#: The earliest day a date field may hold (a boundary marker, an inspection: nothing older).
EARLIEST_DAY = dt.date(1900, 1, 1)
#: The largest position accuracy (metres) a phone may report that is still a position.
MAX_ACCURACY_M = 10_000.0

#: China has one time zone (UTC+8) and no daylight saving time.
_CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
_ISO = re.compile(r"([0-9]{4})([-/.年])([0-9]{1,2})(?:\2|月)([0-9]{1,2})日?", re.ASCII)
_FORM = "请写成 write it as YYYY-MM-DD, e.g. 2026-11-20"


def latest_today() -> dt.date:
    """The latest date that is not in the future for the inspectors: today here or in China
    (a phone in Beijing may already be a day ahead of a server's UTC clock)."""
    return max(dt.date.today(), dt.datetime.now(_CHINA_TZ).date())


def date_problem(value: Any) -> tuple[str | None, str | None]:
    """``(ISO day, None)`` for a valid date value, ``(None, what is wrong)`` otherwise."""
    if isinstance(value, dt.datetime):  # pandas.Timestamp too
        if value.time() != dt.time(0):
            return None, f"日期带时间 the date has a time of day; {_FORM}"
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        found = _ISO.fullmatch(str(value).strip())
        if found is None or (found[2] == "年") != str(value).strip().endswith("日"):
            return None, f"日期格式不对 not a date in the form YYYY-MM-DD; {_FORM}"
        y, m, d = int(found[1]), int(found[3]), int(found[4])
        try:
            day = dt.date(y, m, d)
        except ValueError:
            return None, f"没有这一天 no such day; {_FORM}"
    if day > latest_today():
        return None, f"日期在将来 the date is in the future (today is {latest_today()})"
    if day < EARLIEST_DAY:
        return None, f"日期太早 the date is before {EARLIEST_DAY}; 请检查 check the year"
    return day.isoformat(), None


def check_date(value: Any, what: str) -> str:
    """A date field's value as ``YYYY-MM-DD``, else LayerError naming ``what``."""
    day, problem = date_problem(value)
    if day is None:
        msg = f"{what} {str(value)[:40]!r}: {problem}"
        raise LayerError(msg)
    return day


def check_number(value: Any, what: str, *, low: float = 0.0, high: float = math.inf) -> float:
    """A finite number ``low ≤ x ≤ high`` (text is parsed), else LayerError naming ``what``."""
    try:
        v = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        msg = f"{what} {str(value)[:40]!r}: 不是数字 not a number"
        raise LayerError(msg) from None
    if not math.isfinite(v) or not low <= v <= high:
        msg = f"{what} {str(value)[:40]!r}: 应为 {low:g} 到 {high:g} 之间的数字 must be a number from {low:g} to {high:g}"
        raise LayerError(msg)
    return v


_CTRL_LINE = re.compile(r"[\x00-\x1f\x7f]")
_CTRL_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str, what: str, *, multiline: bool = False) -> str:
    """Text without control characters (tab and line breaks allowed when ``multiline``; CR+LF
    and CR become LF), else LayerError naming ``what``."""
    v = value.replace("\r\n", "\n").replace("\r", "\n") if multiline else value
    bad = (_CTRL_TEXT if multiline else _CTRL_LINE).search(v)
    if bad:
        msg = f"{what}: 含控制字符 contains a control character (U+{ord(bad.group()):04X}); 请删除 remove it"
        raise LayerError(msg)
    return v


def refuse_empty_words(changes: dict[str, object], source: str) -> None:
    """An edit that sets a field to ``nan``/``NULL``/``None`` (text) is refused: in a file such a
    cell means "empty", but typed into an edit it is most likely a mistake, and it would silently
    empty the field. To clear a field the edit gives nothing after ``=``."""
    for k, v in changes.items():
        if isinstance(v, str) and v.strip() and v.strip().lower() in EMPTY_WORDS:
            msg = (f"{source}: 字段 {k} 的值 {v.strip()!r} 不是数值也不是空 is neither a value nor empty "
                   f"(field {k}); 要清空该字段请写 to clear the field write {k}= (nothing after =), "
                   "否则填写实际值 else give the real value. 未改动 nothing was changed.")
            raise LayerError(msg)
