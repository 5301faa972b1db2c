"""Reading source files into raw tables: CSV, XLSX, GeoJSON, Shapefile, GeoPackage.

Readers return a :class:`RawSource`: the table exactly as the file has it (CSV/XLSX cells as
text, so the validator can say what it found), the geometry if the format has one, and how to
name a row to the user (line numbers for CSV, Excel row numbers, feature numbers).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from mzgis.errors import LayerError

__all__ = ["TABLE_SUFFIXES", "VECTOR_SUFFIXES", "RawSource", "detect_encoding", "read_source"]

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls")
VECTOR_SUFFIXES = (".geojson", ".json", ".shp", ".gpkg", ".zip", ".fgb")


@dataclass
class RawSource:
    """A source file read as it is.

    Attributes
    ----------
    path
        The file.
    table
        Attribute columns (text for CSV/XLSX, typed for vector formats).
    geometry
        The geometry column of vector formats, None for tables.
    crs
        The CRS the file declares (None if it declares none).
    row_labels
        How to name each row to the user, aligned with ``table``.
    encoding
        Text encoding detected or used.
    """

    path: Path
    table: pd.DataFrame
    geometry: gpd.GeoSeries | None
    crs: CRS | None
    row_labels: list[str]
    encoding: str | None = None

    @property
    def is_table(self) -> bool:
        """True for CSV/XLSX sources (coordinates in columns)."""
        return self.geometry is None


def detect_encoding(data: bytes) -> str:
    """Return ``"utf-8-sig"`` if the bytes decode as UTF-8, else ``"gb18030"`` (a superset of GBK).

    Chinese spreadsheets saved by Excel on Windows are GBK; GB18030 decodes every GBK file and
    more. Bytes that are neither raise :class:`LayerError`.
    """
    try:
        data.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        msg = (
            f"文本编码无法识别 cannot decode the file as UTF-8 or GBK/GB18030 (byte {exc.start}). "
            "请另存为 UTF-8 CSV. Save it as 'CSV UTF-8' and import again."
        )
        raise LayerError(msg) from exc


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
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(p, encoding=encoding, sep="\t" if suffix == ".tsv" else None)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_xlsx(p, sheet=sheet)
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(p, source_layer=source_layer, encoding=encoding)
    msg = (
        f"{p}: 不支持的文件格式 unsupported format '{suffix}'. "
        "支持 supported: CSV, XLSX, GeoJSON, Shapefile (.shp), GeoPackage (.gpkg)."
    )
    raise LayerError(msg)


def _read_csv(p: Path, *, encoding: str | None, sep: str | None) -> RawSource:
    data = p.read_bytes()
    try:
        enc = encoding or detect_encoding(data)
        text = data.decode(enc)
    except LayerError as exc:
        msg = f"{p}: {exc}"
        raise LayerError(msg) from exc
    except (UnicodeDecodeError, LookupError) as exc:
        msg = f"{p}: 不能按 {encoding} 解码 cannot decode with encoding {encoding}: {exc}"
        raise LayerError(msg) from exc
    if sep is None:
        first = text.split("\n", 1)[0]
        sep = max([",", "\t", ";", "|"], key=first.count)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        msg = f"{p}: CSV 无法解析 cannot parse CSV: {exc}"
        raise LayerError(msg) from exc
    df.columns = [str(c).strip() for c in df.columns]
    labels = [f"第 {i + 2} 行 line {i + 2}" for i in range(len(df))]
    return RawSource(p, df, None, None, labels, enc)


def _read_xlsx(p: Path, *, sheet: str | int | None) -> RawSource:
    try:
        df = pd.read_excel(p, sheet_name=sheet if sheet is not None else 0, engine="calamine",
                           dtype=object)
    except Exception as exc:  # calamine raises its own error types
        msg = f"{p}: 无法读取 Excel cannot read the workbook (sheet {sheet!r}): {exc}"
        raise LayerError(msg) from exc
    df.columns = [str(c).strip() for c in df.columns]
    df = df.map(_cell_text)
    sheet_name = sheet if isinstance(sheet, str) else "1"
    labels = [f"第 {i + 2} 行 row {i + 2} (工作表 sheet {sheet_name})" for i in range(len(df))]
    return RawSource(p, df, None, None, labels, None)


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
    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:
        msg = f"{p}: 无法读取 cannot read as a GIS file: {exc}"
        raise LayerError(msg) from exc
    names = [str(x[0]) for x in layers]
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
    if encoding:
        kwargs["encoding"] = encoding
    try:
        gdf = pyogrio.read_dataframe(p, layer=source_layer, use_arrow=True, **kwargs)
    except Exception as exc:
        msg = f"{p}: 无法读取 cannot read layer {source_layer!r}: {exc}"
        raise LayerError(msg) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        msg = f"{p}: 没有几何 has no geometry column; a table belongs in CSV/XLSX with 经度/纬度 columns."
        raise LayerError(msg)
    crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    geom = gdf.geometry
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table.columns = [str(c).strip() for c in table.columns]
    labels = [f"要素 feature #{i + 1}" for i in range(len(gdf))]
    return RawSource(p, table.reset_index(drop=True), geom.reset_index(drop=True), crs, labels,
                     encoding)
