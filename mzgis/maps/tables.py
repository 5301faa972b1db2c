"""Tables for people: CSV (UTF-8 with BOM, for Excel) and XLSX with Chinese headers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mzgis.layers.safe_text import write_csv, write_xlsx

__all__ = ["write_table"]


def write_table(df: pd.DataFrame, csv_path: Path, *, xlsx_path: Path | None = None,
                headers_zh: Mapping[str, str] | None = None, sheet: str = "表1") -> list[Path]:
    """Write a table as CSV (English column names, for machines) and optionally XLSX (Chinese
    headers, for people). Text that a spreadsheet would read as a formula is neutralised in both
    (:mod:`mzgis.layers.safe_text`). Returns the files written."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(df, csv_path)
    out = [csv_path]
    if xlsx_path is not None:
        zh = df.rename(columns=dict(headers_zh or {}))
        for c in zh.columns:
            if zh[c].dtype == bool or zh[c].map(lambda v: isinstance(v, bool)).any():
                zh[c] = zh[c].map(lambda v: "是" if v is True else ("否" if v is False else ""))

        def widths(ws: Any, frame: pd.DataFrame) -> None:
            for i, c in enumerate(frame.columns):
                width = max(8, min(40, int(max([len(str(c)) * 2] + [len(str(v)) for v in frame[c].head(200)]) + 2)))
                ws.set_column(i, i, width)

        write_xlsx(zh, xlsx_path, sheet=sheet, format_sheet=widths)
        out.append(xlsx_path)
    return out
