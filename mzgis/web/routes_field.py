"""Field inspection by the place-name staff (role placename), on a phone: the inspection task
list per boundary line (the plan ``mzgis inspect plan`` computes), the markers of a line in order
with what is due, and a marker page that records an inspection — photo, condition, date,
inspector, note and, for a moved marker, the phone's position (WGS-84) with its offset from the
marker's recorded position.

Every inspection goes through :func:`mzgis.gis.pipelines.run_record`, as ``mzgis record`` does:
the same validation, the same store write (one transaction, the logged-in user in the history),
photos in ``photos/<date>/`` under safe, unique names. Each form carries a client-made key
(``client_key``); a key the store already holds is not written again: the same record from the
same user is answered as a success (``duplicate``), so the browser's offline queue
(``static/field.js``) may resend safely; another record or another user under that key is refused
with 409 and a message the queue shows.

Uploads are bounded before they are parsed (:class:`UploadLimit`) and checked by content
(Pillow opens them; JPEG, PNG or WebP only).
"""

from __future__ import annotations

import math
import re
import secrets
import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Receive, Scope, Send

from mzgis.errors import FieldInputError, LayerError, MzgisError, RecordKeyConflictError
from mzgis.web.auth import User, read_form, require_role
from mzgis.web.pages import NavItem, render, url_with
from mzgis.web.rights import check_write
from mzgis.web.uploads import form_text, spool_upload

__all__ = ["MAX_PHOTO_BYTES", "NAV", "RECORD_FORM_LIMITS", "RECORD_PATH", "UploadLimit", "router"]

router = APIRouter()
NAV: list[NavItem] = [NavItem("/field", "联检", "Inspection", "placename")]

#: Largest photo the field form takes (a phone's camera photo is 2–8 MB).
MAX_PHOTO_BYTES = 12 * 1024 * 1024
#: Largest request body of a field form (the photo and the text fields).
MAX_BODY_BYTES = MAX_PHOTO_BYTES + 64 * 1024
RECORD_PATH = "/field/record"
#: Form limits of the record form (the photo and about ten text fields), applied where the form is parsed.
RECORD_FORM_LIMITS = {"max_files": 1, "max_fields": 30}
#: Photo formats accepted, by what Pillow finds in the content.
PHOTO_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
CONDITIONS = [("完好", "good"), ("损坏", "damaged"), ("丢失", "missing"), ("移位", "moved")]
MAX_INSPECTOR = 100
MAX_NOTE = 1000
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def too_large_message(size: int | None) -> str:
    found = _mb(size) if size is not None else f"> {_mb(MAX_PHOTO_BYTES)}"
    return (f"错误 error: 照片太大 the photo is too large ({found}); 至多 at most {_mb(MAX_PHOTO_BYTES)}: "
            "请降低相机分辨率后重拍 lower the camera's resolution and take it again. 未写入 nothing was written.")


class UploadLimit:
    """ASGI middleware: a POST to ``/field/`` whose Content-Length is larger than ``max_bytes`` gets
    413 with a message about the photo before anything parses it; its body is read and dropped
    (bounded) so the phone reads the answer rather than a reset connection. (The app's own limit,
    raised for :data:`RECORD_PATH`, answers a body without a length with 411.)"""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, prefix: str = "/field/") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = None
        if scope["type"] == "http" and scope["method"] == "POST" and str(scope["path"]).startswith(self.prefix):
            for k, v in scope.get("headers", []):
                if k == b"content-length" and v.isdigit():
                    length = int(v)
        if length is None or length <= self.max_bytes:
            await self.app(scope, receive, send)
            return
        seen, more = 0, True
        while more and seen <= 8 * self.max_bytes:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            seen += len(msg.get("body", b""))
            more = bool(msg.get("more_body"))
        body = too_large_message(length).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})


# -- the plan ----------------------------------------------------------------------------------------

def _text(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def plan_rows(request: Request) -> list[dict[str, str]]:
    """The inspection plan as ``mzgis inspect plan`` computes it (files are not written)."""
    from mzgis.gis.pipelines import inspection_plan_table

    ws = request.app.state.mz.workspace()
    if not (ws.store.layer_names("boundary_lines") and ws.store.layer_names("boundary_markers")):
        return []  # nothing imported yet: the page says what to import, not an error
    table = inspection_plan_table(ws)
    return [{str(k): _text(v) for k, v in r.items()} for r in table.to_dict("records")]


def _lines(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        d = out.setdefault(r["line_id"], {"id": r["line_id"], "left": r["left_code"], "right": r["right_code"],
                                          "length": r["line_length_m"], "markers": 0, "due": 0, "action": 0})
        if r["marker_code"]:
            d["markers"] += 1
            d["due"] += "到期" in r["task"]
            d["action"] += "处置" in r["task"]
    return list(out.values())


@router.get("/field")
def lines_page(request: Request, user: Annotated[User, Depends(require_role("placename"))]) -> Response:
    return render(request, "field_lines.html", {"lines": _lines(plan_rows(request))})


@router.get("/field/line")
def line_page(request: Request, user: Annotated[User, Depends(require_role("placename"))], id: str) -> Response:
    rows = [r for r in plan_rows(request) if r["line_id"] == id]
    if not rows:
        raise HTTPException(status_code=404, detail=f"联检计划中没有界线 no boundary line {id!r} in the inspection plan")
    line = _lines(rows)[0]
    markers = [r for r in rows if r["marker_code"]]
    return render(request, "field_line.html", {"line": line, "markers": markers})


# -- a marker -------------------------------------------------------------------------------------------

def _find_marker(store: Any, code: str) -> tuple[str, pd.Series]:
    for n in store.layer_names("boundary_markers"):
        try:
            row = store.feature(n, code)
        except LayerError:
            continue
        return n, row
    raise HTTPException(status_code=404, detail=f"没有界桩 no boundary marker {code!r}; 请检查编号 check the code")


def _inspections(store: Any, code: str, limit: int = 5) -> list[dict[str, str]]:
    df = store.records("mzgis_inspections")
    if df.empty or "marker_code" not in df:
        return []
    # the latest inspections by their date (one sent late from an offline queue sorts by when it
    # was made, not when it arrived), ties in the order they were stored
    df = df[df["marker_code"].astype(str) == code]
    df = df.assign(_day=df["date"].astype(str) if "date" in df else "").sort_values(["_day", "id"]).tail(limit)
    keep = ["id", "date", "condition", "inspector", "note", "photo", "offset_m"]
    return [{k: _text(r.get(k)) for k in keep} for r in df.to_dict("records")][::-1]


#: The photo types ``run_record`` stores, as served.
PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def photo_file(root: Path, stored: str) -> Path | None:
    """The file of a photo path as an inspection record holds it (``photos/<date>/<name>``), or None
    when it is anything else: not relative, outside ``photos/``, another type, or missing. The
    record is data like any other (a store can be edited with other tools): it is never trusted
    as a path."""
    if not stored or "\\" in stored or "\x00" in stored or stored.startswith("/"):
        return None
    parts = stored.split("/")
    if parts[0] != "photos" or any(p in ("", ".", "..") for p in parts) or len(parts) != 3:
        return None
    if Path(parts[-1]).suffix.lower() not in PHOTO_TYPES:
        return None
    base = (root / "photos").resolve()
    p = (root / stored).resolve()
    if not p.is_relative_to(base) or not p.is_file():
        return None
    return p


@router.get("/field/photo/{record_id}")
def photo(request: Request, user: Annotated[User, Depends(require_role("placename"))], record_id: int) -> Response:
    """The photo of one inspection record, as it was stored."""
    df = request.app.state.mz.store().records("mzgis_inspections")
    rec = df[pd.to_numeric(df["id"], errors="coerce") == record_id] if "id" in df and "photo" in df else df.iloc[0:0]
    p = None if rec.empty else photo_file(request.app.state.mz.root, _text(rec["photo"].iloc[0]))
    if p is None:
        raise HTTPException(status_code=404, detail=f"没有这张照片 no photo for inspection record {record_id}")
    return FileResponse(p, media_type=PHOTO_TYPES[p.suffix.lower()])


def _marker_page(request: Request, user: User, code: str, *, error: str | None = None,
                 values: dict[str, str] | None = None, saved: str | None = None, status: int = 200,
                 warning: str | None = None) -> Response:
    from mzgis.gis.pipelines import latest_today

    store = request.app.state.mz.store()
    layer, row = _find_marker(store, code)
    g = row.geometry
    pt = None if g is None or g.is_empty else g.centroid
    plan = next((r for r in plan_rows(request) if r["marker_code"] == code), None)
    today = latest_today().isoformat()
    form = {"condition": _text(row.get("condition")) or "完好", "date": today, "inspector": user.login, "note": "",
            **(values or {})}
    return render(request, "field_marker.html", {
        "code": code, "layer": layer, "line_id": _text(row.get("line_id")), "plan": plan,
        "condition": _text(row.get("condition")), "last": _text(row.get("last_inspection_date")),
        "lon": None if pt is None else f"{pt.x:.7f}", "lat": None if pt is None else f"{pt.y:.7f}",
        "retired": row.get("mz_retired_at") is not None and not pd.isna(row.get("mz_retired_at")),
        "today": today, "form": form, "conditions": CONDITIONS, "key": secrets.token_hex(16),
        "max_photo": MAX_PHOTO_BYTES, "max_photo_text": _mb(MAX_PHOTO_BYTES), "error": error, "saved": saved,
        "warning": warning, "history": _inspections(store, code)}, status=status)


def far_warning(far_m: str | None) -> str | None:
    """The far-position warning of a saved record from its offset (``?far_m=``), or None for
    anything that is not such an offset: the page never shows text from its URL."""
    from mzgis.gis.run_places import offset_warning

    try:
        return offset_warning(f"{float(str(far_m)):.2f}") if far_m and math.isfinite(float(far_m)) else None
    except (ValueError, LayerError):
        return None


@router.get("/field/marker")
def marker_page(request: Request, user: Annotated[User, Depends(require_role("placename"))], code: str,
                saved: str | None = None, far_m: str | None = None) -> Response:
    return _marker_page(request, user, code, saved=saved, warning=far_warning(far_m) if saved else None)


# -- recording ------------------------------------------------------------------------------------------

def _field(form: Any, name: str, *, max_len: int, label: str, multiline: bool = False) -> str:
    return form_text(form, name, max_len=max_len, label=label, error=FieldInputError, multiline=multiline)


def _float(form: Any, name: str, label: str) -> float | None:
    raw = form.get(name)
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    try:
        return float(str(raw))
    except ValueError:
        msg = f"{label} {str(raw)[:40]!r}: 不是数字 not a number"
        raise FieldInputError(msg) from None


def check_upload_name(name: str) -> str:
    """An upload's file name, or FieldInputError if it holds a path or control characters (a camera
    names its photo ``IMG_1234.jpg``; a path in the name is an attack, never a photo)."""
    if "/" in name or "\\" in name or _CTRL.search(name) or "\t" in name or "\n" in name or name.strip() in (".", ".."):
        msg = (f"照片文件名无效 invalid photo file name {name[:80]!r}: 不能含路径或控制字符 it may not hold a path "
               "('/', '\\\\', '..') or control characters; 请选择照片文件 choose the photo file itself")
        raise FieldInputError(msg)
    if len(name) > 255:
        msg = "照片文件名太长 the photo's file name is too long (> 255 characters)"
        raise FieldInputError(msg)
    return name


async def _save_upload(upload: UploadFile, folder: Path) -> tuple[Path, int]:
    """The upload copied to a temporary file in ``folder`` (the workspace's cache), at most
    :data:`MAX_PHOTO_BYTES`; its size."""
    return await spool_upload(upload, folder, prefix=".upload-", suffix=".part", limit=MAX_PHOTO_BYTES,
                              too_large=too_large_message)


def check_photo(path: Path, name: str) -> str:
    """Pillow must open the photo as JPEG, PNG or WebP; its extension."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = str(im.format)
                im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        msg = (f"照片 photo {name[:80]!r}: 不是可读的图片 not a readable image ({type(exc).__name__}); "
               "请上传相机拍的 JPEG、PNG 或 WebP 照片 upload a JPEG, PNG or WebP photo from the camera")
        raise FieldInputError(msg) from None
    if fmt not in PHOTO_FORMATS:
        msg = (f"照片 photo {name[:80]!r}: 格式 format {fmt} 不支持 is not accepted; 只收 JPEG、PNG、WebP "
               "only JPEG, PNG or WebP")
        raise FieldInputError(msg)
    return PHOTO_FORMATS[fmt]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _recorded(request: Request, code: str, rec: dict[str, Any]) -> Response:
    """The answer to a stored (or already stored, or superseded) inspection: JSON for the page's
    script and its offline queue, else back to the marker page."""
    dup = bool(rec.get("duplicate"))
    msg = (f"已记录 recorded: 界桩 marker {rec['marker_code']} {rec['date']} {rec['condition']}"
           + ("（此前已收到 already received earlier）" if dup else "")
           + ("（已有更晚的检查，界桩状况未改 a later inspection is on record: the marker's condition is kept）"
              if rec.get("superseded") else ""))
    saved = "dup" if dup else "old" if rec.get("superseded") else "1"
    warning = rec.get("warning")  # a position far from the marker: stored, and said so
    msg += f" {warning}" if warning else ""
    # the marker page says it again from the offset (the URL carries a number, never the text)
    nxt = url_with("/field/marker", code=code, saved=saved, **({"far_m": rec["offset_m"]} if warning else {}))
    if _wants_json(request):
        return JSONResponse({"ok": True, "duplicate": dup, "superseded": bool(rec.get("superseded")),
                             "marker": rec["marker_code"], "message": msg, "warning": warning,
                             "offset_m": rec.get("offset_m"), "photo": rec.get("photo"), "next": nxt})
    return RedirectResponse(nxt, status_code=303)


@router.post(RECORD_PATH)
async def record(request: Request, user: Annotated[User, Depends(require_role("placename"))]) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await read_form(request, **RECORD_FORM_LIMITS)
    code = str(form.get("code") or "")
    photo_tmp: Path | None = None
    values: dict[str, str] = {}
    try:
        condition = _field(form, "condition", max_len=20, label="状况 condition")
        date = _field(form, "date", max_len=20, label="日期 date")
        inspector = _field(form, "inspector", max_len=MAX_INSPECTOR, label="检查人 inspector")
        note = _field(form, "note", max_len=MAX_NOTE, label="说明 note", multiline=True)
        values = {"condition": condition, "date": date, "inspector": inspector, "note": note}
        key = _field(form, "client_key", max_len=64, label="client_key")
        if not KEY_RE.match(key):
            msg = "表单缺少记录编号 the form has no valid record key (client_key); 请刷新页面 reload the page"
            raise FieldInputError(msg)
        if not code:
            msg = "缺少界桩编号 the marker code (code) is missing"
            raise FieldInputError(msg)
        lon = _float(form, "lon", "经度 longitude")
        lat = _float(form, "lat", "纬度 latitude")
        accuracy = _float(form, "accuracy", "精度 accuracy")
        if (lon is None) != (lat is None):
            msg = "位置需要经度和纬度 a position needs both longitude and latitude"
            raise FieldInputError(msg)
        upload = form.get("photo")
        photo_name = None
        if isinstance(upload, UploadFile) and (upload.filename or upload.size):
            photo_name = check_upload_name(upload.filename or "photo")
            ws = request.app.state.mz.workspace()
            ws.cache_dir.mkdir(parents=True, exist_ok=True)
            photo_tmp, size = await _save_upload(upload, ws.cache_dir)
            if size == 0:
                msg = f"照片 photo {photo_name!r}: 文件是空的 the file is empty"
                raise FieldInputError(msg)
            await run_in_threadpool(check_photo, photo_tmp, photo_name)
        elif upload is not None and not isinstance(upload, UploadFile | str):
            msg = "照片 photo: 应为文件 must be a file"
            raise FieldInputError(msg)

        if photo_name is not None:
            # the key in the name keeps names of different records apart even when two arrive at once
            # (phones often name every upload image.jpg); run_record still never overwrites a file
            photo_name = f"{Path(photo_name).stem}_{key[:8]}"

        def write() -> dict[str, Any]:
            from mzgis.gis.pipelines import run_record

            ws = request.app.state.mz.workspace()
            check_write(user, ws.store, "", "boundary_markers")  # an inspection writes the marker's condition
            return run_record(ws, code, condition=condition or "", date=date, inspector=inspector,
                              note=note or None, photo=None if photo_tmp is None else str(photo_tmp),
                              photo_name=photo_name, accuracy_m=accuracy,
                              position=None if lon is None or lat is None else (lon, lat),
                              user=user.login, client_key=key)

        if not date:
            msg = "日期 date: 请填写检查日期 give the day of the inspection (YYYY-MM-DD)"
            raise FieldInputError(msg)
        rec = await run_in_threadpool(write)
    except MzgisError as exc:
        text = f"错误 error: {exc}"
        text = text.replace("--date", "日期 date").replace("--condition", "状况 condition").replace(
            "--inspector", "检查人 inspector").replace("--photo", "照片 photo")
        # a key already used for another record (or by another user): 409, the queue keeps it and says so
        conflict = isinstance(exc, RecordKeyConflictError)
        status = 409 if conflict else 400
        if _wants_json(request):
            return JSONResponse({"ok": False, "error": text, "conflict": conflict}, status_code=status)
        try:
            return _marker_page(request, user, code, error=text, values=values, status=status)
        except HTTPException:
            return render(request, "error.html", {"status": status, "message": text}, status=status)
    finally:
        if photo_tmp is not None:
            photo_tmp.unlink(missing_ok=True)
    return _recorded(request, code, rec)
