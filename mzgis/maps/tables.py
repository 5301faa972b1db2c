"""Tables for people: CSV (UTF-8 with BOM, for Excel) and XLSX with Chinese headers, number and
percent formats and a frozen header row."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mzgis.layers.safe_text import write_csv, write_xlsx

__all__ = ["PERCENT", "THOUSANDS", "default_number_formats", "write_table"]

#: Excel number formats: shares (0–1) as percent with one decimal; counts with thousands separators.
PERCENT = "0.0%"
THOUSANDS = "#,##0"
DECIMAL = "#,##0.0"
_COUNTS = ("households", "population", "elderly", "beds", "count")


def default_number_formats(df: pd.DataFrame) -> dict[str, str]:
    """Formats by column name (English names, as in the CSV): ``share*`` columns (0–1) as percent,
    households/population/elderly counts as whole numbers, areas (``*_m2``) and distances
    (``*_m``) with one decimal. Only numeric columns get a format."""
    out: dict[str, str] = {}
    for c in df.columns:
        name = str(c)
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            continue
        if name.startswith("share") or name.endswith("_share"):
            out[name] = PERCENT
        elif any(name == k or name.startswith(k + "_") for k in _COUNTS):
            out[name] = THOUSANDS
        elif name.endswith(("_m2", "_m", "_per_100_households")):
            out[name] = DECIMAL
    return out


def write_table(df: pd.DataFrame, csv_path: Path, *, xlsx_path: Path | None = None,
                headers_zh: Mapping[str, str] | None = None, sheet: str = "表1",
                number_formats: Mapping[str, str] | None = None) -> list[Path]:
    """Write a table as CSV (English column names, for machines) and optionally XLSX (Chinese
    headers, for people: shares as percent, counts with thousands separators, the header row
    frozen). Text that a spreadsheet would read as a formula is neutralised in both
    (:mod:`mzgis.layers.safe_text`). ``number_formats`` (English column → Excel format) adds to or
    overrides :func:`default_number_formats`. Returns the files written."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(df, csv_path)
    out = [csv_path]
    if xlsx_path is not None:
        rename = dict(headers_zh or {})
        formats = {rename.get(c, c): f for c, f in {**default_number_formats(df), **dict(number_formats or {})}.items()}
        zh = df.rename(columns=rename)
        for c in zh.columns:
            if zh[c].dtype == bool or zh[c].map(lambda v: isinstance(v, bool)).any():
                zh[c] = zh[c].map(lambda v: "是" if v is True else ("否" if v is False else ""))

        def widths(ws: Any, frame: pd.DataFrame) -> None:
            for i, c in enumerate(frame.columns):
                cells = [min(14, len(str(v))) if isinstance(v, int | float) else len(str(v)) for v in frame[c].head(200)]
                width = max(8, min(40, int(max([len(str(c)) * 2, *cells]) + 2)))
                ws.set_column(i, i, width)

        write_xlsx(zh, xlsx_path, sheet=sheet, format_sheet=widths, number_formats=formats, freeze_header=True)
        out.append(xlsx_path)
    return out
