"""Reading source files into raw tables: CSV, XLSX, GeoJSON, Shapefile, GeoPackage.

Readers return a :class:`RawSource`: the table exactly as the file has it (CSV/XLSX cells as
text, so the validator can say what it found), the geometry if the format has one, and how to
name a row to the user (line numbers for CSV, Excel row numbers, feature numbers).
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import json
import logging
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from mzgis.errors import FieldProblem, LayerError, MzgisError
from mzgis.layers.raw import RawSource

__all__ = ["TABLE_SUFFIXES", "VECTOR_SUFFIXES", "RawSource", "detect_encoding", "read_source"]

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
VECTOR_SUFFIXES = (".geojson", ".json", ".shp", ".gpkg", ".zip", ".fgb")


def detect_encoding(data: bytes) -> str:
    """Return ``"utf-8-sig"`` if the bytes decode as UTF-8, else ``"gb18030"`` (a superset of GBK).

    Chinese spreadsheets saved by Excel on Windows are GBK; GB18030 decodes every GBK file and
    more. A file that is UTF-8 in some lines and not in others (a GBK row pasted into a UTF-8 file)
    is not guessed: :class:`LayerError` names the lines that are not UTF-8. Bytes that are neither
    raise :class:`LayerError` too.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text" (.txt) export
    try:
        data.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad = _undecodable_lines(lines, "utf-8")
    if not data.startswith(codecs.BOM_UTF8) and not _has_utf8_chinese(lines, set(bad)):
        try:
            data.decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError:
            bad = _undecodable_lines(lines, "gb18030")
            msg = (
                f"文本编码无法识别 cannot decode the file as UTF-8 or GBK/GB18030: 第 line(s) {_line_list(bad)}. "
                "请另存为 UTF-8 CSV. Save it as 'CSV UTF-8' and import again, or pass --encoding ENCODING."
            )
            raise LayerError(msg) from None
    msg = (
        f"文件编码混杂 mixed encodings: the file is UTF-8 but line(s) {_line_list(bad)} are not "
        "(GBK/GB18030 text pasted in?). 不会猜测以免乱码 nothing is guessed, to avoid garbled text. "
        "修改 fix: retype or re-save those lines as UTF-8 (save the whole file as 'CSV UTF-8'); "
        "if the whole file is really GBK, pass --encoding gb18030."
    )
    raise LayerError(msg)


def _undecodable_lines(lines: list[bytes], encoding: str) -> list[int]:
    """1-based numbers of the lines that do not decode strictly with ``encoding``."""
    bad = []
    for i, line in enumerate(lines):
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            bad.append(i + 1)
    return bad


def _has_utf8_chinese(lines: list[bytes], bad: set[int]) -> bool:
    """True if a line that is valid UTF-8 holds CJK text (evidence the file is meant as UTF-8).

    GBK bytes that happen to be valid UTF-8 decode to Latin/Greek/Cyrillic letters, almost never to
    a whole line of CJK characters, so a UTF-8 line with CJK text tells a UTF-8 file from a GBK one.
    """
    for i, line in enumerate(lines):
        if i + 1 in bad or line.isascii():
            continue
        text = line.decode("utf-8")
        if any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef" for ch in text):
            return True
    return False


def _line_list(lines: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in lines[:limit])
    return shown + (f" … (+{len(lines) - limit})" if len(lines) > limit else "")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")


def _column_key(name: str) -> str:
    """Column names the store cannot tell apart (SQLite and GDAL ignore case) share a key."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _clean_columns(raw_names: list[object], path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """Column names as text, stripped, without control characters, and unique ignoring case.

    Returns the names, notes on every change and ``{new name: name in the file}`` of renamed ones.
    Nothing is dropped: a name that clashes with an earlier one is kept with a ``_2``, ``_3`` suffix.
    """
    names: list[str] = []
    notes: list[str] = []
    renamed: dict[str, str] = {}
    seen: dict[str, str] = {}
    for j, raw_name in enumerate(raw_names):
        orig = "" if raw_name is None or (isinstance(raw_name, float) and raw_name != raw_name) else str(raw_name)
        name = _CONTROL.sub("", orig).strip()
        if name != orig.strip():
            notes.append(f"列名 column {j + 1} {orig!r}: 已删除控制字符 control characters removed → '{name}'")
        if not name:
            name = f"column_{j + 1}"
        key = _column_key(name)
        if key in seen:
            k = 2
            while _column_key(f"{name}_{k}") in seen or any(_column_key(f"{name}_{k}") == _column_key(str(r))
                                                           for r in raw_names):
                k += 1
            new = f"{name}_{k}"
            notes.append(
                f"列名 column {j + 1} {orig!r} 与 '{seen[key]}' 仅大小写/空格不同 differs from '{seen[key]}' only "
                f"by case or spaces: 两列都保留 both are kept, this one as '{new}'; 自动匹配用 '{seen[key]}' "
                f"the automatic mapping uses '{seen[key]}' — to use this one pass --map FIELD={new}"
            )
            renamed[new] = orig
            name = new
            key = _column_key(name)
        seen[key] = name
        names.append(name)
    if notes:
        log.info("%s: %s", path, "; ".join(notes))
    return names, notes, renamed


def read_source(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    source_layer: str | None = None,
    encoding: str | None = None,
) -> RawSource:
    """Read a source file of any supported format.

    Parameters
    ----------
    path
        CSV, XLSX, GeoJSON, Shapefile or GeoPackage file.
    sheet
        XLSX sheet name or index (default: the first).
    source_layer
        Layer inside a GeoPackage (default: the only one; an error if there are several).
    encoding
        Force a text encoding (CSV; Shapefiles without a ``.cpg`` file).
    """
    p = Path(path)
    if not p.exists():
        msg = f"文件不存在 file not found: {p}"
        raise LayerError(msg)
    if p.is_dir():
        msg = f"{p}: 是文件夹 is a folder, not a file; give the .shp/.csv/... file itself"
        raise LayerError(msg)
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            return _read_csv(p, encoding=encoding, sep="\t" if suffix == ".tsv" else None)
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return _read_xlsx(p, sheet=sheet)
        if suffix in VECTOR_SUFFIXES:
            return _read_vector(p, source_layer=source_layer, encoding=encoding)
        if p.name.lower().endswith((".osm", ".osm.pbf")):  # railways, highways, rivers: --type lines
            from mzgis.layers.osm_lines import read_osm_lines
            return read_osm_lines(p)
    except MzgisError:
        raise
    except Exception as exc:  # a hostile file must give a message, never a traceback
        msg = (f"{p}: 无法读取 cannot read the file ({type(exc).__name__}: {exc}). "
               "请检查文件是否完整、格式是否与扩展名一致 check that the file is complete and of the format its "
               "extension says; re-save it from the program that made it.")
        raise LayerError(msg) from exc
    msg = (
        f"{p}: 不支持的文件格式 unsupported format '{suffix}'. "
        "支持 supported: CSV, XLSX, GeoJSON, Shapefile (.shp), GeoPackage (.gpkg), OSM (.osm, .osm.pbf: --type lines)."
    )
    raise LayerError(msg)


def _read_csv(p: Path, *, encoding: str | None, sep: str | None) -> RawSource:
    data = p.read_bytes()
    if not data.lstrip(b"\xef\xbb\xbf").strip():
        msg = f"{p}: 文件为空 the file is empty (no header, no rows); 请检查导出 check the export."
        raise LayerError(msg)
    try:
        if encoding:
            enc = encoding
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                bad = _undecodable_lines(data.split(b"\n"), enc)
                msg = (f"{p}: 不能按 {encoding} 解码 cannot decode with encoding {encoding}: 第 line(s) "
                       f"{_line_list(bad)}. 修改 fix: re-save those lines in {encoding}, or pass another --encoding "
                       "(utf-8, gb18030).")
                raise LayerError(msg) from None
        else:
            enc = detect_encoding(data)
            text = data.decode(enc)
    except LayerError as exc:
        msg = str(exc) if str(exc).startswith(str(p)) else f"{p}: {exc}"
        raise LayerError(msg) from exc
    except LookupError as exc:
        msg = f"{p}: 不认识的编码 unknown encoding {encoding!r}: use utf-8, gbk or gb18030"
        raise LayerError(msg) from exc
    text = text.lstrip("\ufeff")
    if sep is None:
        first = text.split("\n", 1)[0]
        sep = max([",", "\t", ";", "|"], key=first.count)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         skipinitialspace=True, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        msg = f"{p}: CSV 无法解析 cannot parse CSV: {exc}. 修改 fix: check quotes and separators on that line."
        raise LayerError(msg) from exc
    if df.empty:
        msg = f"{p}: 文件为空 the file is empty (no header, no rows); 请检查导出 check the export."
        raise LayerError(msg)
    records = len(df)
    top, titles = _header_row(df.fillna(""))
    header = df.iloc[top].tolist()
    columns, notes, renamed = _clean_columns(header, p)
    if titles:
        notes.insert(0, "表头上方的标题行已跳过 title lines above the header skipped: " + "; ".join(titles))
    df = df.iloc[top + 1:].reset_index(drop=True)
    df.columns = columns
    lines = _record_lines(text, sep, records)
    labels = [f"第 {n} 行 line {n}" for n in lines[top + 1:]]
    df = _drop_empty_unnamed_columns(df, header)
    df, labels = _drop_empty_rows(df, labels, notes)
    return RawSource(p, df, None, None, labels, enc, notes=notes, renamed=renamed)


_TOTAL_WORDS = {"合计", "总计", "小计", "合 计", "总 计", "共计", "total", "sum"}


def _drop_empty_rows(df: pd.DataFrame, labels: list[str], notes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Leave out rows with every cell empty (Excel writes them as ``,,,``), and the 合计/总计/小计
    rows bureau ledgers end with (a total is not a feature: counted, it would double the sums)."""
    if df.empty:
        return df, labels
    cells = df.fillna("").astype(str).apply(lambda c: c.str.strip())
    total = cells.iloc[:, : min(3, cells.shape[1])].apply(lambda c: c.str.lower().isin(_TOTAL_WORDS)).any(axis=1)
    total_rows = total.to_numpy()
    if total_rows.any():
        gone_t = [labels[i] for i in total_rows.nonzero()[0][:10]]
        notes.append(f"{int(total_rows.sum())} 个合计行已忽略 total rows (合计/总计/小计) left out: {'; '.join(gone_t)}")
        df = df[~total_rows].reset_index(drop=True)
        cells = cells[~total_rows].reset_index(drop=True)
        labels = [lb for lb, t in zip(labels, total_rows, strict=True) if not t]
    blank = (cells == "").all(axis=1).to_numpy()
    if not blank.any():
        return df, labels
    gone = [labels[i] for i in blank.nonzero()[0][:10]]
    more = f" (+{int(blank.sum()) - 10})" if blank.sum() > 10 else ""
    notes.append(f"{int(blank.sum())} 个空行已忽略 empty rows left out: {'; '.join(gone)}{more}")
    keep = ~blank
    return df[keep].reset_index(drop=True), [lb for lb, k in zip(labels, keep, strict=True) if k]


def _record_lines(text: str, sep: str, records: int) -> list[int]:
    """The line on which each CSV record starts (blank lines and line breaks inside quotes counted).

    Falls back to "record i is on line i + 1" if the csv module and pandas disagree on the records.
    """
    starts: list[int] = []
    try:
        reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
        before = 0
        for row in reader:
            if any(c.strip() for c in row) or len(row) > 1:
                starts.append(before + 1)
            before = reader.line_num
    except csv.Error:
        starts = []
    return starts if len(starts) == records else list(range(1, records + 1))


def _read_xlsx(p: Path, *, sheet: str | int | None) -> RawSource:
    which: str | int = sheet if sheet is not None else 0
    from mzgis.layers.xlsx_guard import check_xlsx_extent

    check_xlsx_extent(p)  # a stray far-away cell would abort the reader (out of memory)
    try:
        df = pd.read_excel(p, sheet_name=which, engine="calamine", dtype=object, header=None)
    except Exception as exc:  # calamine raises its own error types
        msg = (f"{p}: 无法读取 Excel cannot read the workbook (sheet {sheet!r}): {exc}. "
               "修改 fix: open it in Excel/WPS and save it again as .xlsx; choose a sheet with --sheet NAME.")
        raise LayerError(msg) from exc
    sheet_name = which if isinstance(which, str) else "1" if sheet is None else str(which)
    df = df.map(_cell_text)
    filled = (df != "").any(axis=1).to_numpy()
    if df.empty or not filled.any():
        msg = f"{p}: 工作表 sheet {sheet_name} 为空 is empty (no header, no rows); choose another with --sheet NAME."
        raise LayerError(msg)
    top, titles = _header_row(df)  # before merged cells are filled: a merged title is one cell
    merges = _merged_ranges(p, which)
    header, depth, merge_notes = _merged_header(df, top, merges)
    columns, notes, renamed = _clean_columns(header, p)
    if titles:
        notes.insert(0, "表头上方的标题行已跳过 title rows above the header skipped: " + "; ".join(titles))
    notes += merge_notes
    first = top + depth  # the first data row (0-based)
    sections = _section_rows(df, merges, first)
    notes += _fill_merged(df, merges, first)
    df = df.iloc[first:].reset_index(drop=True)
    df.columns = columns
    labels = [f"第 {first + i + 1} 行 row {first + i + 1} (工作表 sheet {sheet_name})" for i in range(len(df))]
    problems: list[FieldProblem] = []
    if p.suffix.lower() in (".xlsx", ".xlsm") and (df == "").to_numpy().any():
        problems = _formula_problems(p, which, df, labels, first_row=first + 1)
    if sections:
        drop = np.array([i + first in sections for i in range(len(df))], dtype=bool)
        notes.append(f"{int(drop.sum())} 个分组标题行已跳过 section rows (one merged cell across the table) left out: "
                     + "; ".join(f"{labels[i]} {next((str(v) for v in df.iloc[i] if v != ''), '')[:30]!r}"
                                 for i in np.flatnonzero(drop)[:10]))
        df = df[~drop].reset_index(drop=True)
        labels = [lb for lb, d in zip(labels, drop, strict=True) if not d]
    df = _drop_empty_unnamed_columns(df, header)
    df, labels = _drop_empty_rows(df, labels, notes)
    return RawSource(p, df, None, None, labels, None, notes=notes, problems=problems, renamed=renamed)


#: A merged range as calamine gives it: ((first row, first column), (last row, last column)), 0-based.
Merge = tuple[tuple[int, int], tuple[int, int]]


def _merged_ranges(p: Path, which: str | int) -> list[Merge]:
    """The merged cell ranges of a sheet (empty for formats calamine reads none from, e.g. .xls)."""
    try:
        import python_calamine

        wb = python_calamine.CalamineWorkbook.from_path(str(p))
        sh = wb.get_sheet_by_name(which) if isinstance(which, str) else wb.get_sheet_by_index(which)
        ranges = sh.merged_cell_ranges or []
    except Exception:  # the table itself was read; without merge information cells stay as they are
        log.debug("%s: no merged-cell information", p, exc_info=True)
        return []
    return [((int(a[0]), int(a[1])), (int(b[0]), int(b[1]))) for a, b in ranges]


def _merged_header(df: pd.DataFrame, top: int, merges: list[Merge]) -> tuple[list[object], int, list[str]]:
    """Column names from a header whose cells may be merged; returns the names, the header's
    height in rows (1 or 2) and notes.

    Bureau ledgers group columns under a merged cell (设施信息 over 名称 and 地址, 坐标 over 经度
    and 纬度) and merge the cells of ungrouped columns down both header rows (床位数). Such a
    header is two rows: a column is named by its lower cell (名称), by its upper cell where the
    lower is part of a vertical merge or empty (床位数), and by both (运营单位名称) where two groups
    hold columns of the same lower name.
    """
    upper = [str(v) for v in df.iloc[top].tolist()]
    ncol = len(upper)
    groups = [m for m in merges if m[0][0] == top and m[1][1] > m[0][1]]
    if not groups or top + 1 >= len(df):
        return list(upper), 1, []
    lower_row = df.iloc[top + 1]
    down = {c for (r0, c0), (r1, c1) in merges if r0 == top and r1 > top for c in range(c0, c1 + 1)}
    group_of: dict[int, str] = {}
    for (_, c0), (_, c1) in groups:
        for c in range(c0, min(c1, ncol - 1) + 1):
            group_of[c] = upper[c0]
    beneath = [str(lower_row.iloc[c]).strip() for c in group_of if c not in down]
    outside = [str(lower_row.iloc[c]).strip() for c in range(ncol) if c not in group_of and c not in down]
    # a second header row names the grouped columns (text, not numbers) and nothing else: a row with
    # values outside the groups, or numbers beneath them, is the first data row
    if not any(beneath) or any(outside) or any(_is_number(v) for v in beneath):
        return list(upper), 1, []
    lower = ["" if c in down else str(lower_row.iloc[c]).strip() for c in range(ncol)]
    counts: dict[str, int] = {}
    for v in lower:
        if v:
            counts[v] = counts.get(v, 0) + 1
    names: list[object] = []
    for c in range(ncol):
        lo, up = lower[c], group_of.get(c, upper[c])
        if not lo:
            names.append(up)
        elif counts[lo] > 1 and up and up != lo:
            names.append(f"{up}{lo}")
        else:
            names.append(lo)
    shown = ", ".join(f"{group_of[c]}/{lower[c]}" for c in sorted(group_of) if lower[c])[:200]
    return names, 2, [f"两行表头（合并单元格）two-row header with merged cells, rows {top + 1}–{top + 2}: "
                      f"列名取下行 columns named by the lower row ({shown})"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _section_rows(df: pd.DataFrame, merges: list[Merge], first: int) -> set[int]:
    """Data rows that are only one merged cell across the table (a section heading such as
    "一、已建成驿站"): left out, they are not features."""
    ncol = df.shape[1]
    out: set[int] = set()
    for (r0, c0), (r1, c1) in merges:
        if r0 < first or r0 != r1 or c1 - c0 + 1 < max(2, (ncol + 1) // 2):
            continue
        row = df.iloc[r0]
        filled = [c for c in range(ncol) if str(row.iloc[c]).strip()]
        if filled and all(c0 <= c <= c1 for c in filled):
            out.add(r0)
    return out


def _fill_merged(df: pd.DataFrame, merges: list[Merge], first: int) -> list[str]:
    """Give every cell of a merged range in the data rows the value of its first cell (a 街道 cell
    merged down the rows of its stations holds the 街道 of each of them); returns a note."""
    filled = 0
    nrow, ncol = df.shape
    for (r0, c0), (r1, c1) in merges:
        if r1 < first or r0 < first or (r0 == r1 and c0 == c1) or r0 >= nrow or c0 >= ncol:
            continue
        value = str(df.iat[r0, c0])
        if value == "":
            continue
        cells = [(r, c) for r in range(r0, min(r1, nrow - 1) + 1) for c in range(c0, min(c1, ncol - 1) + 1)]
        if r0 == r1 and len(cells) >= max(2, (ncol + 1) // 2):
            continue  # a section heading (left out), not a value of each cell
        for r, c in cells:
            if df.iat[r, c] == "":
                df.iat[r, c] = value
                filled += 1
    if not filled:
        return []
    return [f"合并单元格已展开 merged cells in the data filled: {filled} 个单元格取合并区域的值 cells take the value of "
            "their merged range (e.g. a 街道 merged down several rows)"]


def _header_row(df: pd.DataFrame) -> tuple[int, list[str]]:
    """The header row of a sheet: the first non-empty row, after title rows.

    A title row (one filled cell, e.g. a merged "XX区养老驿站一览表" or "制表日期") above rows with
    several filled cells is skipped, at most three of them; the skipped titles are returned for a note.
    """
    counts = (df != "").sum(axis=1).to_numpy()
    filled = [int(i) for i in (counts > 0).nonzero()[0]]
    titles: list[str] = []
    k = 0
    while k + 1 < len(filled) and counts[filled[k]] == 1 and (counts[filled[k + 1:]] >= 2).any() and len(titles) < 3:
        row = df.iloc[filled[k]]
        titles.append(f"{filled[k] + 1}: {str(row[row != ''].iloc[0])[:40]!r}")
        k += 1
    return filled[k], titles


def _drop_empty_unnamed_columns(df: pd.DataFrame, header: list[object]) -> pd.DataFrame:
    """Leave out columns with neither a name nor a value (trailing commas, unused Excel columns)."""
    drop = [c for c, h in zip(df.columns, header, strict=True)
            if not str(h if h is not None and h == h else "").strip()
            and not (df[c].fillna("").astype(str).str.strip() != "").any()]
    return df.drop(columns=drop) if drop else df


def _formula_problems(p: Path, which: str | int, df: pd.DataFrame, labels: list[str], *,
                      first_row: int = 2) -> list[FieldProblem]:
    """Cells that read as empty but hold an Excel error (#DIV/0!, #N/A …) or a formula with no value.

    calamine reads both as empty cells, which would silently turn a broken formula into a missing
    value; openpyxl still sees the formula or the error code.
    """
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's remarks on unsupported extensions are not for the user
        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
            return _scan_formulas(wb, which, df, labels, first_row)
        except Exception:  # openpyxl cannot read every file calamine can; the check is then skipped
            log.debug("%s: formula check skipped", p, exc_info=True)
            return []


def _scan_formulas(wb: Any, which: str | int, df: pd.DataFrame, labels: list[str],
                   first_row: int) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    try:
        ws = wb[which] if isinstance(which, str) else wb.worksheets[which]
        for i, row in enumerate(ws.iter_rows(min_row=first_row, values_only=False)):
            if i >= len(df):
                break
            for j, cell in enumerate(row):
                if j >= df.shape[1] or df.iat[i, j] != "":
                    continue
                kind = getattr(cell, "data_type", None)
                if kind not in ("f", "e"):
                    continue
                found = str(cell.value)
                problem = ("Excel 错误值 an Excel error value" if kind == "e" or found.startswith("#")
                           else "公式没有计算结果 a formula with no computed value (or one giving an error)")
                out.append(FieldProblem(labels[i], str(df.columns[j]), repr(found), problem,
                                        "在 Excel 中修正公式或粘贴为数值 fix the formula, or paste the values "
                                        "(选择性粘贴-数值) and save again"))
                if len(out) >= 200:
                    return out
    finally:
        wb.close()
    return out


def _cell_text(v: object) -> str:
    """Spreadsheet cell as the text the user typed (floats without a spurious .0)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v).strip()


def _read_vector(p: Path, *, source_layer: str | None, encoding: str | None) -> RawSource:
    if p.suffix.lower() == ".shp":
        _check_shapefile_parts(p)
    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:
        if p.suffix.lower() in (".geojson", ".json"):
            _check_json(p)
        msg = f"{p}: 无法读取 cannot read as a GIS file: {exc}"
        raise LayerError(msg) from exc
    names = [str(x[0]) for x in layers if str(x[0]) != "layer_styles"]  # QGIS's style table, not data
    if source_layer is None:
        if len(names) > 1:
            msg = (
                f"{p}: 含多个图层 has several layers {names}; "
                "用 --source-layer NAME 选择一个 choose one with --source-layer."
            )
            raise LayerError(msg)
        source_layer = names[0] if names else None
    elif source_layer not in names:
        msg = f"{p}: 没有图层 no layer '{source_layer}'; 可选 layers: {names}"
        raise LayerError(msg)
    kwargs: dict[str, object] = {}
    notes_enc: list[str] = []
    if not encoding and p.suffix.lower() == ".shp" and not p.with_suffix(".cpg").exists() \
            and not p.with_suffix(".CPG").exists():
        encoding = _dbf_encoding(p.with_suffix(".dbf"))
        if encoding:
            notes_enc.append(f"没有 .cpg 文件 no .cpg file: 属性按 {encoding} 读取 attributes read as {encoding} "
                             "(the only encoding the whole .dbf decodes in); 如不对 if wrong, pass --encoding")
    if encoding:
        kwargs["encoding"] = encoding
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            # NaN/inf coordinates: the importer reports them per feature, with the feature number
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            try:
                gdf = pyogrio.read_dataframe(p, layer=source_layer, use_arrow=True, **kwargs)
            finally:
                caught = list(recorded)
    except Exception as exc:
        if p.suffix.lower() in (".geojson", ".json"):
            _check_json(p)
        gdal_warnings = _gdal_warnings(caught)
        said = f" (GDAL: {'; '.join(gdal_warnings)})" if gdal_warnings else ""
        msg = f"{p}: 无法读取 cannot read layer {source_layer!r}: {exc}{said}"
        raise LayerError(msg) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        msg = f"{p}: 没有几何 has no geometry column; a table belongs in CSV/XLSX with 经度/纬度 columns."
        raise LayerError(msg)
    gdal_warnings = _gdal_warnings(caught)
    crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    geom = gdf.geometry
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    columns, notes, renamed = _clean_columns(list(table.columns), p)
    notes += [f"GDAL 读取时提示 said while reading: {w}" for w in gdal_warnings] + notes_enc
    table.columns = columns
    labels = [f"要素 feature #{i + 1}" for i in range(len(gdf))]
    return RawSource(p, table.reset_index(drop=True), geom.reset_index(drop=True), crs, labels,
                     encoding, notes=notes, renamed=renamed)


def _dbf_encoding(dbf: Path) -> str | None:
    """The text encoding of a Shapefile's ``.dbf`` that came without a ``.cpg``: UTF-8 if every
    byte of its header and records decodes as UTF-8, else GB18030 if they all decode as that (bureau
    Shapefiles from Chinese desktop GIS are GBK), else None (GDAL's own default)."""
    try:
        raw = dbf.read_bytes()
    except OSError:
        return None
    if len(raw) < 32:
        return None
    header_len = int.from_bytes(raw[8:10], "little")
    # field names (32-byte descriptors from byte 32) and the records; numbers are ASCII
    names = b"".join(raw[k:k + 11].rstrip(b"\x00") for k in range(32, max(32, header_len - 1), 32))
    text = names + raw[header_len:].rstrip(b"\x1a")
    if text.isascii():
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            text.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    return None


def _gdal_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """GDAL's run-time warnings while reading, as text for the user (not Python warnings on stderr).

    Other warnings (deprecations of the libraries) are issued again unchanged.
    """
    said: list[str] = []
    for w in caught:
        if issubclass(w.category, RuntimeWarning):
            text = str(w.message).strip()
            if text and text not in said:
                said.append(text[:300])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return said[:10]


def _check_shapefile_parts(p: Path) -> None:
    """A Shapefile is three files at least: refuse clearly when .shx or .dbf is missing."""
    present = {q.suffix.lower() for q in p.parent.glob(f"{glob.escape(p.stem)}.*") if q.stem == p.stem}
    missing = [s for s in (".shx", ".dbf") if s not in present]
    if missing:
        what = {".shx": "索引 index", ".dbf": "属性表 attribute table"}
        parts = ", ".join(f"{p.stem}{s} ({what[s]})" for s in missing)
        msg = (f"{p}: Shapefile 缺少配套文件 is missing {parts}. 修改 fix: copy every file of the shapefile "
               f"({p.stem}.shp, .shx, .dbf, .prj, .cpg) into the same folder, or send it as one .zip / .gpkg.")
        raise LayerError(msg)


def _check_json(p: Path) -> None:
    """GeoJSON must be JSON: say where it is broken (GDAL only says it does not recognise it)."""
    try:
        with p.open("rb") as fh:
            obj = json.load(fh)
    except UnicodeDecodeError as exc:
        msg = f"{p}: GeoJSON 必须是 UTF-8 must be UTF-8 text (byte {exc.start}); re-save it as UTF-8."
        raise LayerError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = (f"{p}: 不是有效的 JSON not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
               "修改 fix: the file is cut off or edited by hand; export it again.")
        raise LayerError(msg) from exc
    except RecursionError as exc:
        msg = f"{p}: JSON 嵌套过深 nested too deeply to read; export it again."
        raise LayerError(msg) from exc
    kinds = {"FeatureCollection", "Feature", "Point", "MultiPoint", "LineString", "MultiLineString",
             "Polygon", "MultiPolygon", "GeometryCollection"}
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind not in kinds:
        found = type(obj).__name__ if not isinstance(obj, dict) else f"type={kind!r}"
        msg = (f"{p}: 不是 GeoJSON not GeoJSON (found {found}); 需要 expected a FeatureCollection, a Feature "
               "or a geometry object with a \"type\" member.")
        raise LayerError(msg)
