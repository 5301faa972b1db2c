"""Spreadsheet-safe tables: every CSV and XLSX mzgis writes goes through here.

A name, address or id that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, WPS and LibreOffice as a formula (CSV/formula injection: ``=HYPERLINK(…)``,
``=cmd|…``). As OWASP recommends, such *text* cells are written with a leading single quote
(``'=1+1``), which spreadsheets show as text. Numbers stay numbers: only ``str`` values are
touched, so ``-3.5`` stored as a number is written as ``-3.5``. XLSX files are written with
xlsxwriter told never to turn strings into formulas, URLs or numbers.

:func:`write_csv` and :func:`write_xlsx` are the only writers of tables in mzgis (a test checks
that no other module calls ``to_csv``/``to_excel``/``ExcelWriter``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_frame", "restore_frame", "write_csv", "write_xlsx"]

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: xlsxwriter options: strings are always strings.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

_SHEET_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def neutralise_cell(value: Any) -> Any:
    """``'`` + the text if it starts like a formula; anything that is not text is returned as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A table read back from a CSV mzgis wrote, with the text as the user wrote it: the quote
    :func:`neutralise_cell` put before ``=``, ``+``, ``-``, ``@`` … is taken off again."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: v[1:] if isinstance(v, str) and v.startswith("'")
                                and v[1:].startswith(FORMULA_PREFIXES) else v)
    return out


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and text column name) neutralised; numeric columns untouched."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
            continue
        out[c] = col.map(neutralise_cell).astype(object) if len(col) else col
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8-sig") -> Path:
    """Write a table as CSV (UTF-8 with BOM by default, so Excel on Chinese Windows reads it).

    Lines end in CRLF (RFC 4180): Python's csv module then quotes every field holding a CR or an LF,
    so a carriage return inside a name cannot start a new row (whose first cell could be a formula).
    """
    p = Path(path)
    neutralise_frame(df).to_csv(p, index=False, encoding=encoding, lineterminator="\r\n")
    return p


def sheet_name(name: str) -> str:
    """A valid Excel sheet name (at most 31 characters, none of ``[]:*?/\\``)."""
    return str(name).translate(_SHEET_BAD)[:31].strip("'") or "Sheet1"


def write_xlsx(df: pd.DataFrame, path: str | Path, *, sheet: str = "Sheet1",
               format_sheet: Callable[[Any, pd.DataFrame], None] | None = None,
               number_formats: Mapping[str, str] | None = None, freeze_header: bool = False) -> Path:
    """Write a table as XLSX with text cells neutralised and no string turned into a formula or URL.

    ``number_formats`` maps a column name of ``df`` to an Excel number format (``"0.0%"``,
    ``"#,##0"``) applied to that column's cells; ``freeze_header`` keeps the header row in view
    when scrolling. ``format_sheet(worksheet, frame)`` may set column widths on the xlsxwriter
    worksheet (called before the number formats, which keep the widths it set).
    """
    p = Path(path)
    safe = neutralise_frame(df)
    name = sheet_name(sheet)
    with pd.ExcelWriter(p, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS}) as xw:
        safe.to_excel(xw, index=False, sheet_name=name)
        ws = xw.sheets[name]
        widths: dict[int, float | None] = {}
        if format_sheet is not None:
            format_sheet(_WidthRecorder(ws, widths), safe)
        for i, w in widths.items():
            ws.set_column(i, i, w)
        for col, fmt in (number_formats or {}).items():
            key = neutralise_cell(col)
            if key in safe.columns:
                i = list(safe.columns).index(key)
                ws.set_column(i, i, widths.get(i), xw.book.add_format({"num_format": fmt}))
        if freeze_header:
            ws.freeze_panes(1, 0)
    return p


class _WidthRecorder:
    """Passes calls to an xlsxwriter worksheet, remembering the column widths set, so that a
    number format set afterwards on the same column keeps its width."""

    def __init__(self, ws: Any, widths: dict[int, float | None]) -> None:
        self._ws = ws
        self._widths = widths

    def set_column(self, first: int, last: int, width: float | None = None, *args: Any, **kwargs: Any) -> Any:
        for i in range(first, last + 1):
            self._widths[i] = width
        return self._ws.set_column(first, last, width, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)
