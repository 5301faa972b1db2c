"""The place-name staff's commands: ``mzgis boundaries``, ``inspect`` (one function per
inspection) and ``record``.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import io
import logging
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from mzgis.analysis.addresses import check_addresses, check_place_names
from mzgis.analysis.boundaries import BoundaryLines, derive_boundary_lines, inspect_units
from mzgis.analysis.markers import inspect_markers, inspection_plan
from mzgis.errors import DuplicateRecordError, LayerError, RecordKeyConflictError
from mzgis.gis.inputs import (
    check_admin_layer,
    file_stem,
    layers_of,
    units_by_level,
)
from mzgis.gis.marker_lines import lines_for_markers
from mzgis.gis.workspace import Workspace
from mzgis.layers.crs import with_output_coords
from mzgis.layers.values import MAX_ACCURACY_M, check_date, check_number, clean_text
from mzgis.maps.tables import write_table

log = logging.getLogger(__name__)


def run_boundaries(ws: Workspace, *, units: str) -> BoundaryLines:
    """Derive the boundary lines of an admin-unit layer into layer ``boundary_lines_<units>``."""
    check_admin_layer(ws, units, "--units")
    layer = ws.store.read(units)
    res = derive_boundary_lines(layer, ws.metric_crs().to_string())
    name = f"boundary_lines_{units}"
    level = ws.store.layer_info(units) or {}
    lines = res.lines.assign(level=level.get("level"))
    ws.store.write_layer(name, lines, layer_type="boundary_lines", level=level.get("level"), source=f"derived from {units}",
                         retire_missing=True, note=f"boundaries --units {units}")
    return res


#: The columns of the inspection tables, in Chinese.
#: Where a finding is: ``lon``/``lat`` in the coordinates asked for (``--coords``, as export and site).
_WHERE_ZH = {"lon": "经度", "lat": "纬度", "coord_system": "坐标系"}
_BOUNDARY_ZH = {"finding": "问题", "units": "涉及单位", "area_m2": "面积(㎡)", "detail": "说明", **_WHERE_ZH}
_MARKER_ZH = {"marker_code": "界桩编号", "line_id": "界线", "finding": "问题", "detail": "说明",
              "distance_m": "距离(m)", **_WHERE_ZH}
_PLAN_ZH = {"line_id": "界线", "left_code": "左侧", "right_code": "右侧", "line_length_m": "界线长度(m)", "seq": "序号",
            "marker_code": "界桩编号", "chainage_m": "里程(m)", "condition": "状况",
            "last_inspection_date": "最近检查", "task": "任务", **_WHERE_ZH}
_ADDRESS_ZH = {"feature_id": "编号", "address": "地址", "finding": "问题", "detail": "说明", **_WHERE_ZH}

Inspection = tuple[list[Path], pd.DataFrame]


def _day(today: str | dt.date | None) -> dt.date | None:
    """``--today`` as a date (None: today)."""
    return pd.Timestamp(today).date() if today else None


def run_inspect_boundaries(ws: Workspace, *, units: str | None, parents: str | None = None,
                           coords: str = "wgs84") -> Inspection:
    """``inspect boundaries``: overlaps, gaps, slivers and parent mismatches of an admin-unit layer;
    ``out/inspect_boundaries_<layer>.csv/.xlsx`` and the findings layer ``inspect_boundaries_<layer>``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    if not units:
        msg = "inspect boundaries needs --units LAYER"
        raise LayerError(msg)
    check_admin_layer(ws, units, "--units")
    if parents:
        check_admin_layer(ws, parents, "--parents")
    parent_layer = ws.store.read(parents) if parents else None
    if parent_layer is None:
        # by default the units of the level above, when the store has them
        level = (ws.store.layer_info(units) or {}).get("level")
        above = {"subdistrict": "district", "community": "subdistrict"}.get(str(level))
        parent_layer = units_by_level(ws).get(above) if above else None
    found = inspect_units(ws.store.read(units), ws.metric_crs().to_string(), parents=parent_layer,
                          sliver_m2=ws.settings.sliver_m2)
    table = with_output_coords(pd.DataFrame(found.drop(columns="geometry")), coords)
    # one file per inspected layer, so inspecting communities does not overwrite subdistricts
    stem = f"inspect_boundaries_{file_stem(units)}"
    files = write_table(table, out / f"{stem}.csv", xlsx_path=out / f"{stem}.xlsx", headers_zh=_BOUNDARY_ZH,
                        sheet="界线拓扑检查")
    name = f"inspect_boundaries_{units}"
    if len(found) or name in ws.store.layer_names():
        geo = found.assign(feature_id=[f"P{i + 1}" for i in range(len(found))])
        ws.store.write_layer(name, geo, layer_type="findings", retire_missing=True, note="inspect boundaries")
    return files, table


def run_inspect_markers(ws: Workspace, *, markers: str | None = None, lines: str | None = None,
                        today: str | dt.date | None = None, coords: str = "wgs84") -> Inspection:
    """``inspect markers``: markers off, or far from, their line, missing markers, overdue checks;
    ``out/inspect_markers.csv/.xlsx``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    day = _day(today)
    mk = layers_of(ws, "boundary_markers", markers)
    ln = lines_for_markers(ws, mk, lines)
    table = with_output_coords(inspect_markers(mk, ln, ws.metric_crs().to_string(), settings=ws.settings.markers,
                                               today=day), coords)
    files = write_table(table, out / "inspect_markers.csv", xlsx_path=out / "inspect_markers.xlsx",
                        headers_zh=_MARKER_ZH, sheet="界桩检查")
    return files, table


def run_inspect_plan(ws: Workspace, *, markers: str | None = None, lines: str | None = None,
                     today: str | dt.date | None = None, coords: str = "wgs84") -> Inspection:
    """``inspect plan``: the joint-inspection task list along every line; ``out/inspection_plan.csv/.xlsx``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    day = _day(today)
    table = with_output_coords(inspection_plan_table(ws, markers=markers, lines=lines, today=day), coords)
    files = write_table(table, out / "inspection_plan.csv", xlsx_path=out / "inspection_plan.xlsx",
                        headers_zh=_PLAN_ZH, sheet="联检任务")
    return files, table


def inspection_plan_table(ws: Workspace, *, markers: str | None = None, lines: str | None = None,
                          today: dt.date | None = None) -> pd.DataFrame:
    """The inspection task list (``inspect plan``) without writing its files: per boundary line,
    its markers in order along the line with what is due (the web app's field pages show it)."""
    mk = layers_of(ws, "boundary_markers", markers)
    ln = lines_for_markers(ws, mk, lines)
    return inspection_plan(mk, ln, ws.metric_crs().to_string(), settings=ws.settings.markers, today=today)


def run_inspect_addresses(ws: Workspace, *, addresses: str | None = None,
                          names_file: str | None = None, coords: str = "wgs84") -> Inspection:
    """``inspect addresses``: address and place-name checks (against ``--names``, a standard list);
    ``out/inspect_addresses.csv/.xlsx``."""
    out = ws.out_dir  # first: an out/ that is a file is refused before any work
    ad = layers_of(ws, "addresses", addresses)
    table = check_addresses(ad, units_by_level(ws))
    if names_file:
        std = _read_names(names_file)
        if ws.store.layer_names("place_names"):
            table = pd.concat([table, check_place_names(layers_of(ws, "place_names", None), std)], ignore_index=True)
    table = with_output_coords(table, coords)
    files = write_table(table, out / "inspect_addresses.csv", xlsx_path=out / "inspect_addresses.xlsx",
                        headers_zh=_ADDRESS_ZH, sheet="地址检查")
    return files, table


def run_inspect(ws: Workspace, what: str, *, units: str | None = None, parents: str | None = None,
                markers: str | None = None, lines: str | None = None, addresses: str | None = None,
                names_file: str | None = None, today: str | None = None, coords: str = "wgs84") -> Inspection:
    """The place-name staff's inspections by name (``mzgis inspect WS WHAT``): ``boundaries``,
    ``markers``, ``plan`` or ``addresses``; each is also a function of its own (``run_inspect_*``).
    The ``lon``/``lat`` of every finding are written in ``coords`` (as ``export`` and ``site``)."""
    _ = ws.out_dir  # checked first, as each inspection does: an out/ that is a file is refused first
    _day(today)  # a bad --today is refused whatever the inspection
    if what == "boundaries":
        return run_inspect_boundaries(ws, units=units, parents=parents, coords=coords)
    if what == "markers":
        return run_inspect_markers(ws, markers=markers, lines=lines, today=today, coords=coords)
    if what == "plan":
        return run_inspect_plan(ws, markers=markers, lines=lines, today=today, coords=coords)
    if what == "addresses":
        return run_inspect_addresses(ws, addresses=addresses, names_file=names_file, coords=coords)
    msg = f"inspect {what}: use boundaries, markers, plan or addresses"
    raise LayerError(msg)


def _read_names(path: str) -> list[str]:
    """``--names``: a standard place-name list, one name per line (UTF-8 or GBK/GB18030)."""
    raw = Path(path).read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        msg = f"--names {path}: 无法识别编码 neither UTF-8 nor GBK/GB18030 text; 请另存为 UTF-8 save it as UTF-8"
        raise LayerError(msg)
    if not text.strip():
        return []
    col = pd.read_csv(io.StringIO(text), header=None, dtype=str, skip_blank_lines=True)[0]
    return [str(n).strip() for n in col.dropna() if str(n).strip()]


#: Largest photo ``mzgis record`` copies into the workspace.
MAX_PHOTO_BYTES = 50 * 1024 * 1024

#: Image types accepted as inspection photos: leading bytes → file extension.
_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, ".jpg"), (b"\x89PNG\r\n\x1a\n", 0, ".png"), (b"GIF87a", 0, ".gif"),
    (b"GIF89a", 0, ".gif"), (b"II*\x00", 0, ".tif"), (b"MM\x00*", 0, ".tif"), (b"BM", 0, ".bmp"),
    (b"WEBP", 8, ".webp"), (b"ftypheic", 4, ".heic"), (b"ftypheix", 4, ".heic"), (b"ftypmif1", 4, ".heif"),
)


def _photo_extension(src: Path) -> str:
    """Check ``--photo`` is a readable image file of sensible size; its extension by content."""
    if not src.is_file():
        what = "是文件夹 is a folder" if src.is_dir() else "文件不存在 file not found"
        msg = f"--photo {src}: {what}; 请给出照片文件 give the photo's file (JPEG, PNG, …)"
        raise LayerError(msg)
    size = src.stat().st_size
    if size == 0 or size > MAX_PHOTO_BYTES:
        msg = (f"--photo {src}: 文件大小 {size} 字节 size {size} bytes; 照片应在 1 字节到 {MAX_PHOTO_BYTES // 2**20} MB "
               f"之间 a photo must be between 1 byte and {MAX_PHOTO_BYTES // 2**20} MB")
        raise LayerError(msg)
    with open(src, "rb") as fh:
        head = fh.read(16)
    for magic, at, ext in _IMAGE_MAGIC:
        if head[at:at + len(magic)] == magic:
            return ext
    msg = (f"--photo {src}: 不是图片 not an image (its content is not JPEG, PNG, GIF, TIFF, BMP, WebP or HEIC); "
           "请给出照片文件 give the photo's file")
    raise LayerError(msg)


def _marker_row(ws: Workspace, marker_code: str, layer: str | None) -> tuple[str, int]:
    """The marker layer holding ``marker_code`` and the marker's current version."""
    store = ws.store
    names = [layer] if layer else store.layer_names("boundary_markers")
    if layer and layer not in store.layer_names():
        msg = f"--layer {layer}: 没有图层 no such layer; layers: {store.layer_names('boundary_markers')}"
        raise LayerError(msg)
    found = []
    for n in names:
        try:
            found.append((n, store.feature(n, str(marker_code))))
        except LayerError:
            continue
    if len(found) > 1:
        held = [n for n, _ in found]
        msg = (f"界桩 {marker_code} 在多个界桩图层中 marker '{marker_code}' is in several marker layers {held}: "
               f"用 --layer 指定 choose one with --layer LAYER (e.g. --layer {held[0]})")
        raise LayerError(msg)
    for n, row in found:
        missing = {"condition", "last_inspection_date"} - set(row.index)
        if missing:
            msg = (f"图层 layer '{n}' 没有字段 has no fields {sorted(missing)}: 它不是界桩图层 it is not a "
                   "boundary-marker layer (import markers with --type boundary_markers)")
            raise LayerError(msg)
        if not pd.isna(row.get("mz_retired_at")):
            msg = f"界桩 marker '{marker_code}' 已退役 is retired in '{n}'; 用 use `mzgis revert` to bring it back"
            raise LayerError(msg)
        return n, int(row["mz_version"])
    msg = f"没有界桩 no boundary marker '{marker_code}' in {names}; 请检查编号 check the code"
    raise LayerError(msg)


#: A recorded position farther than this from the marker is stored with a warning (a marker moved
#: that far, or the phone's fix is poor: the inspector should look again).
WARN_OFFSET_M = 1_000.0
#: A recorded position farther than this is refused: no marker moves that far; the position is wrong.
MAX_OFFSET_M = 50_000.0


def check_position(lon: float, lat: float, flag: str = "position") -> tuple[float, float]:
    """A WGS-84 position (degrees) that is finite and inside the valid ranges, else LayerError."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        msg = (f"{flag} {lon},{lat}: 不是有效的 WGS-84 坐标 not a valid WGS-84 position (经度 longitude -180…180, "
               "纬度 latitude -90…90 degrees)")
        raise LayerError(msg)
    return float(lon), float(lat)


def geodesic_offset_m(a: Any, lon: float, lat: float) -> float:
    """Distance in metres on the WGS-84 ellipsoid from point ``a`` (lon/lat) to (lon, lat)."""
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(float(a.x), float(a.y), lon, lat)
    return float(d)


def _record_checks(condition: str, date: str, inspector: str, client_key: str | None) -> tuple[str, str]:
    """The inspection's condition (normalised) and ISO date, checked before anything is read or written."""
    from mzgis.layers.schemas import MARKER_CONDITIONS

    cond = MARKER_CONDITIONS.get(condition, MARKER_CONDITIONS.get(condition.lower()))
    if cond is None:
        msg = f"--condition {condition}: 应为 use one of {sorted(set(MARKER_CONDITIONS.values()))}"
        raise LayerError(msg)
    day = check_date(date, "--date")
    if not inspector.strip() or "\x00" in inspector:
        msg = f"--inspector {inspector!r}: 请给出检查人姓名 give the inspector's name"
        raise LayerError(msg)
    if client_key is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", client_key):
        msg = f"client_key {client_key!r}: 应为 8–64 个字母、数字、_ 或 - must be 8-64 letters, digits, '_' or '-'"
        raise LayerError(msg)
    return cond, day


def offset_warning(offset_m: str | None) -> str | None:
    """None for a position near its marker; a warning beyond :data:`WARN_OFFSET_M`; LayerError
    beyond :data:`MAX_OFFSET_M` (nothing written)."""
    if offset_m is None or float(offset_m) <= WARN_OFFSET_M:
        return None
    km = float(offset_m) / 1000
    if float(offset_m) > MAX_OFFSET_M:
        msg = (f"位置 position: 离界桩 {km:,.1f} km from the marker (> {MAX_OFFSET_M / 1000:g} km): 位置有误 the "
               "position is wrong; 请重新定位或不填位置 locate again, or record without a position")
        raise LayerError(msg)
    return (f"警告 warning: 位置离界桩 {km:,.1f} km the position is {km:,.1f} km from the marker "
            f"(> {WARN_OFFSET_M / 1000:g} km); 已保存 stored — 请核实界桩位置或重新定位 check the marker or locate again")


def _record_extra(ws: Workspace, where: str, marker_code: str, *, user: str | None,
                  position: tuple[float, float] | None, accuracy_m: float | None,
                  client_key: str | None) -> dict[str, Any]:
    """The optional columns of an inspection record: where the marker was found (and its offset
    from the recorded position), who recorded it, the client's key."""
    extra: dict[str, Any] = {}
    if position is not None:
        lon, lat = check_position(*position)
        here = ws.store.feature(where, str(marker_code)).geometry
        extra = {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}",
                 "offset_m": None if here is None or here.is_empty else f"{geodesic_offset_m(here.centroid, lon, lat):.2f}"}
        if accuracy_m is not None:  # checked by run_record (values.check_number)
            extra["accuracy_m"] = f"{accuracy_m:.1f}"
    if user is not None:
        extra["recorded_by"] = user
    if client_key is not None:
        extra["client_key"] = client_key
    return extra


#: What makes an inspection the one it is: a resend under its key must match these (the time it
#: arrived, the offset and the photo's final name do not count; the photo is compared by content).
_SAME_RECORD = ("layer", "marker_code", "date", "condition", "inspector", "note", "lon", "lat", "accuracy_m",
                "recorded_by")


def _norm(v: Any) -> str | None:
    return None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == "" else str(v)


def _resend_or_conflict(ws: Workspace, held: dict[str, Any], rec: dict[str, Any], *, photo: str | None,
                        user: str | None, client_key: str) -> None:
    """Nothing when ``rec`` is the record ``held`` under its key sent again by the same user (a
    resend: answered as a duplicate); :class:`RecordKeyConflictError` when the key was stored by
    another user or for another inspection (nothing written, nothing of the other record told)."""
    from mzgis.layers.paths import inside

    if _norm(held.get("recorded_by")) != _norm(user):
        msg = (f"记录编号 client_key {client_key!r} 已被另一用户的记录使用 is already used by another user's record; "
               "本条未写入 nothing was written: 请在界桩页面重新记录 record this inspection again from the marker page "
               "(它会得到新编号 it gets a new key)")
        raise RecordKeyConflictError(msg)
    differ = [c for c in _SAME_RECORD if _norm(held.get(c)) != _norm(rec.get(c))]
    stored = _norm(held.get("photo"))
    if (stored is None) != (not photo):
        differ.append("photo")
    elif photo and stored:
        p = ws.root / stored
        if inside(p, ws.root) and p.is_file() and not filecmp.cmp(photo, p, shallow=False):
            differ.append("photo")
    if differ:
        msg = (f"记录编号 client_key {client_key!r} 已用于另一条检查 is already used for a different inspection "
               f"(界桩 marker {_norm(held.get('marker_code'))}, {_norm(held.get('date'))}; 不同之处 differs in: "
               f"{', '.join(differ)}); 本条未写入 nothing was written: 请在界桩页面重新记录 record it again from the "
               "marker page (它会得到新编号 it gets a new key)")
        raise RecordKeyConflictError(msg)


def _stage_photo(ws: Workspace, photo: str, photo_name: str | None, marker_code: str,
                 day: str) -> tuple[Path | None, Path | None]:
    """``(final path in photos/<day>/, temporary copy in cache/)`` of an inspection photo; the copy
    waits in cache/ (same disk) until the store has the record, so a killed or failed command
    leaves nothing in photos/. ``(None, None)`` when the file has no photo extension to keep."""
    from mzgis.layers.paths import inside, safe_filename

    ext = _photo_extension(Path(photo))
    if not ext:
        return None, None
    folder = ws.root / "photos" / day
    if not inside(folder, ws.root):
        msg = f"{folder}: 照片文件夹不在工作区内 the photo folder lies outside the workspace (a symlink?)"
        raise LayerError(msg)
    stem = safe_filename(f"{marker_code}_{Path(photo_name or photo).stem}", default="photo")
    final = folder / f"{stem}{ext}"
    n = 1
    while final.exists():  # a unique name: never overwrite an earlier photo
        n += 1
        final = folder / f"{stem}-{n}{ext}"
    if not inside(final, ws.root):
        msg = f"{final}: 照片路径不在工作区内 the photo path lies outside the workspace"
        raise LayerError(msg)
    fd, tmp = tempfile.mkstemp(prefix=".photo-", suffix=".part", dir=ws.cache_dir)
    os.close(fd)
    part = Path(tmp)
    try:
        shutil.copyfile(photo, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return final, part


def run_record(ws: Workspace, marker_code: str, *, condition: str, date: str, inspector: str,
               photo: str | None = None, note: str | None = None, layer: str | None = None,
               user: str | None = None, photo_name: str | None = None,
               position: tuple[float, float] | None = None, accuracy_m: float | None = None,
               client_key: str | None = None) -> dict[str, Any]:
    """Record one marker inspection: the marker's condition and date updated (history kept) and an
    inspection record appended (``mzgis_inspections``); a photo is copied to
    ``photos/<date>/<code>_<name><ext>`` (a safe, unique name inside the workspace).

    Everything is checked first; the photo is copied under a temporary name, the store is written,
    and only then the photo is moved in place: a failure leaves no photo and no half record.

    ``user`` is who the store's history names (default the inspector; the web app passes the
    logged-in user); ``photo_name`` the name the photo's file name is made from (default the
    photo's own; an upload's name is only a hint); ``position`` (lon, lat in WGS-84) where the
    marker was found, stored with its offset in metres from the marker's recorded position (the
    marker's geometry is not moved); ``client_key`` a key the record is stored with: a record
    whose key the store already holds is not written again: the same inspection from the same user
    is a resend (the result has ``duplicate=True``); another inspection, or another user, under that
    key raises :class:`~mzgis.errors.RecordKeyConflictError`.
    An inspection dated before the marker's last inspection is stored as a record but leaves the
    marker's condition and date as they are (the result has ``superseded=True``).
    """
    cond, day = _record_checks(condition, date, inspector, client_key)
    if accuracy_m is not None:
        accuracy_m = check_number(accuracy_m, "精度 accuracy (m)", high=MAX_ACCURACY_M)
        if position is None:
            msg = (f"精度 accuracy (m) {accuracy_m:g}: 没有位置 given without a position (经度 longitude, 纬度 "
                   "latitude); 请重新定位或不填精度 locate again, or leave the accuracy out")
            raise LayerError(msg)
    note = None if note is None else clean_text(note, "说明 note", multiline=True)
    where, _ = _marker_row(ws, marker_code, layer)
    extra = _record_extra(ws, where, marker_code, user=user, position=position, accuracy_m=accuracy_m,
                          client_key=client_key)
    warning = offset_warning(extra.get("offset_m"))
    store = ws.store
    final: Path | None = None
    part: Path | None = None
    try:
        if photo:
            final, part = _stage_photo(ws, photo, photo_name, marker_code, day)
        rec = {"ts": pd.Timestamp.now().isoformat(timespec="seconds"), "layer": where,
               "marker_code": str(marker_code), "date": day, "condition": cond, "inspector": inspector,
               "photo": None if final is None else final.relative_to(ws.root).as_posix(), "note": note, **extra}
        # the marker's new condition and the inspection record: one transaction
        try:
            # no expect_version: an inspection is a new observation, not an edit of what was shown, so
            # another inspection of the marker landing meanwhile is no conflict; edit_feature locks the
            # row and refuses a marker retired meanwhile in its own transaction
            # an inspection older than the marker's last one (queued offline, sent late) is kept as a
            # record but does not overwrite the newer condition
            report = store.edit_feature(where, marker_code, changes={"condition": cond, "last_inspection_date": day},
                               user=user or inspector, note=f"inspection {day}" + (f": {note}" if note else ""),
                               records={"mzgis_inspections": [rec]},
                               unique_record=None if client_key is None else ("mzgis_inspections", "client_key",
                                                                                client_key),
                                        keep_newer="last_inspection_date")
        except DuplicateRecordError as dup:
            if part is not None:
                part.unlink(missing_ok=True)
                part = None
            _resend_or_conflict(ws, dup.existing, rec, photo=photo, user=user, client_key=str(client_key))
            return {**rec, "photo": None, "duplicate": True, "superseded": False, "warning": warning}
        if part is not None and final is not None:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, final)
            part = None
        return {**rec, "duplicate": False, "superseded": report.kept_newer, "warning": warning}
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
