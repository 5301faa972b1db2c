"""A check of an XLSX workbook's extent before the reader sees it.

python-calamine allocates the whole rectangle from A1 to the last used cell: one stray cell at
``XFD1048576`` asks for 17 billion cells, and the process is killed by an out-of-memory abort (or a
``PanicException``) that no Python handler can turn into a message. The worksheets' XML is scanned
(streamed, nothing is kept) for the last row and column; a rectangle too large is refused with the
file, the sheet and the cell named.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from mzgis.errors import LayerError

__all__ = ["MAX_CELLS", "check_xlsx_extent"]

#: The largest rectangle (rows × columns from A1) the reader is given: 50 million cells.
MAX_CELLS = 50_000_000

_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def check_xlsx_extent(path: Path, max_cells: int = MAX_CELLS) -> None:
    """Refuse a workbook whose used range on any worksheet exceeds ``max_cells``."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip: the reader gives its own clear error
    with zf:
        for name in sorted(n for n in zf.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)):
            max_row = max_col = 0
            last = b""
            tail = b""
            with zf.open(name) as fh:
                while chunk := fh.read(1 << 20):
                    buf = tail + chunk
                    for m in _CELL.finditer(buf):
                        c, r = _col(m.group(1)), int(m.group(2))
                        if r * c > max_row * max_col or r > max_row or c > max_col:
                            last = m.group(1) + m.group(2)
                        max_row, max_col = max(max_row, r), max(max_col, c)
                    tail = buf[-256:]
            if max_row * max_col > max_cells:
                sheet = Path(name).stem
                msg = (f"{path}: 工作表 {sheet} 的使用范围过大 the used range of worksheet {sheet} reaches cell "
                       f"{last.decode()} ({max_row:,} 行 rows × {max_col:,} 列 columns, more than {max_cells:,} cells); "
                       "修改 fix: 删除远处的空白或杂散单元格后另存为 delete the stray far-away cells in Excel/WPS "
                       "(Ctrl+End shows the last one) and save again, or save the sheet as CSV")
                raise LayerError(msg)
