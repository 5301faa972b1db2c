"""Importing a layer from the browser (role planner), as ``mzgis import`` does.

The upload (CSV, XLSX, GeoJSON or a zipped Shapefile) is copied, bounded, to a temporary file
under the workspace's ``cache/`` whose name is made here (``.import-XXXX.csv``): the user's file
name is never a path; only its extension, checked against :data:`EXTENSIONS`, is kept. The copy
goes through :func:`mzgis.gis.pipelines.import_file` — the same validation and bilingual errors as
the command line, one transaction, the logged-in user in the store's history — and is deleted
afterwards. A zip is read in place by GDAL (never extracted) after its table of contents is checked.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from mzgis.errors import ImportInputError, MzgisError
from mzgis.web.auth import User, read_form, require_role
from mzgis.web.pages import NavItem, render
from mzgis.web.rights import check_write
from mzgis.web.uploads import form_text, spool_upload

__all__ = ["EXTENSIONS", "IMPORT_FORM_LIMITS", "IMPORT_PATH", "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "NAV", "router"]

router = APIRouter()
IMPORT_PATH = "/plan/import"
#: Form limits of the import form (one file and a few fields), applied where the form is parsed.
IMPORT_FORM_LIMITS = {"max_files": 1, "max_fields": 20}
NAV: list[NavItem] = [NavItem(IMPORT_PATH, "导入", "Import", "planner")]

#: Largest file the import form takes.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest request body of the import form (the file and the text fields).
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
#: Extensions accepted (the temporary copy keeps the extension, so the reader knows the format).
EXTENSIONS = (".csv", ".xlsx", ".geojson", ".json", ".zip")
#: A zipped Shapefile: at most this many members and this many bytes once uncompressed.
MAX_ZIP_MEMBERS = 50
MAX_ZIP_BYTES = 200 * 1024 * 1024
COORDS = [("", "默认 workspace default"), ("wgs84", "WGS-84 (GPS)"), ("gcj02", "GCJ-02 (高德/腾讯 Amap/Tencent)"),
          ("bd09", "BD-09 (百度 Baidu)"), ("cgcs2000", "CGCS2000")]
LEVELS = [("", "—"), ("district", "区县 district"), ("subdistrict", "街道乡镇 subdistrict"),
          ("community", "社区村 community")]
_CTRL = re.compile(r"[\x00-\x1f\x7f]")


def _choices() -> dict[str, Any]:
    from mzgis.layers.kinds import KINDS
    from mzgis.layers.schemas import SCHEMAS

    return {"types": [(t, s.label_zh) for t, s in SCHEMAS.items()],
            "kinds": [(k.id, k.name_zh) for k in KINDS.values()], "levels": LEVELS, "coords": COORDS,
            "extensions": ", ".join(EXTENSIONS), "max_mb": MAX_UPLOAD_BYTES // 2**20}


def _page(request: Request, *, form: dict[str, str] | None = None, report: dict[str, Any] | None = None,
          error: str | None = None, status: int = 200) -> Response:
    values = {"layer": "", "type": "facilities", "kind": "", "level": "", "coords": "", "retire_missing": "",
              **(form or {})}
    return render(request, "plan_import.html", {**_choices(), "form": values, "report": report, "error": error},
                  status=status)


@router.get(IMPORT_PATH)
def import_page(request: Request, user: Annotated[User, Depends(require_role("planner"))]) -> Response:
    return _page(request)


def _text(form: Any, name: str, *, max_len: int, label: str) -> str:
    return form_text(form, name, max_len=max_len, label=label, error=ImportInputError)


def upload_extension(name: str) -> str:
    """The extension of an upload's file name (lower case), or ImportInputError if the name holds a
    path or control characters or the extension is not one of :data:`EXTENSIONS`."""
    if "/" in name or "\\" in name or _CTRL.search(name) or name.strip() in ("", ".", "..") or len(name) > 255:
        msg = (f"文件名无效 invalid file name {name[:80]!r}: 不能含路径或控制字符 it may not hold a path "
               "('/', '\\\\', '..') or control characters; 请选择文件本身 choose the file itself")
        raise ImportInputError(msg)
    ext = os.path.splitext(name)[1].lower()
    if ext not in EXTENSIONS:
        msg = (f"文件 {name[:80]!r}: 不支持的格式 unsupported format {ext or '(no extension)'!r}; "
               f"支持 supported: CSV, XLSX, GeoJSON, 压缩的 Shapefile zipped Shapefile ({', '.join(EXTENSIONS)})")
        raise ImportInputError(msg)
    return ext


async def _save_upload(upload: UploadFile, folder: Path, ext: str) -> tuple[Path, int]:
    """The upload copied to a new temporary file in ``folder`` (never an existing one), at most
    :data:`MAX_UPLOAD_BYTES`; its size."""
    return await spool_upload(upload, folder, prefix=".import-", suffix=ext, limit=MAX_UPLOAD_BYTES,
                              too_large=lambda _size: (f"文件太大 the file is too large; 至多 at most "
                                                       f"{MAX_UPLOAD_BYTES // 2**20} MB. 未写入 nothing was written."))


def check_zip(path: Path, name: str) -> None:
    """A zipped Shapefile: a readable zip with one ``.shp``, few members and a bounded size."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        msg = f"文件 {name[:80]!r}: 不是可读的 zip 文件 not a readable zip file ({type(exc).__name__})"
        raise ImportInputError(msg) from None
    shps = [i for i in infos if i.filename.lower().endswith(".shp")]
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_ZIP_BYTES or len(shps) != 1:
        msg = (f"文件 {name[:80]!r}: zip 应只含一个 Shapefile a zip must hold one Shapefile (.shp .shx .dbf .prj .cpg; "
               f"至多 at most {MAX_ZIP_MEMBERS} files, {MAX_ZIP_BYTES // 2**20} MB uncompressed); "
               f"found {len(shps)} .shp in {len(infos)} files")
        raise ImportInputError(msg)


@router.post(IMPORT_PATH)
async def import_upload(request: Request, user: Annotated[User, Depends(require_role("planner"))]) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await read_form(request, **IMPORT_FORM_LIMITS)
    values: dict[str, str] = {}
    tmp: Path | None = None
    shown = ""
    try:
        values = {"layer": _text(form, "layer", max_len=56, label="图层名 layer name"),
                  "type": _text(form, "type", max_len=40, label="类型 type"),
                  "kind": _text(form, "kind", max_len=100, label="设施类型 kind"),
                  "level": _text(form, "level", max_len=20, label="级别 level"),
                  "coords": _text(form, "coords", max_len=20, label="坐标 coordinates"),
                  "retire_missing": "1" if form.get("retire_missing") else ""}
        choices = _choices()
        if values["type"] not in dict(choices["types"]):
            msg = f"类型 type {values['type'][:40]!r}: 请选择 choose one of {', '.join(dict(choices['types']))}"
            raise ImportInputError(msg)
        if values["level"] not in dict(LEVELS):
            msg = f"级别 level {values['level'][:20]!r}: 请选择 choose one of district, subdistrict, community"
            raise ImportInputError(msg)
        if values["coords"] not in dict(COORDS):
            msg = f"坐标 coordinates {values['coords'][:20]!r}: 请选择 choose one of wgs84, gcj02, bd09, cgcs2000"
            raise ImportInputError(msg)
        if not values["layer"]:
            msg = "请填写图层名 give the layer name (letters, digits and _, e.g. stations_2024)"
            raise ImportInputError(msg)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not (upload.filename or upload.size):
            msg = "请选择要导入的文件 choose the file to import (CSV, XLSX, GeoJSON or a zipped Shapefile)"
            raise ImportInputError(msg)
        shown = upload.filename or ""
        ext = upload_extension(shown)
        ws = request.app.state.mz.workspace()
        check_write(user, ws.store, values["layer"], values["type"])
        ws.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp, size = await _save_upload(upload, ws.cache_dir, ext)
        if size == 0:
            msg = f"文件 {shown[:80]!r}: 文件是空的 the file is empty"
            raise ImportInputError(msg)
        if ext == ".zip":
            check_zip(tmp, shown)
        src = tmp

        def write() -> Any:
            from mzgis.gis.pipelines import import_file

            return import_file(request.app.state.mz.workspace(), src, layer=values["layer"],
                               layer_type=values["type"], kind=values["kind"] or None,
                               level=values["level"] or None, coords=values["coords"] or None,
                               retire_missing=bool(values["retire_missing"]), user=user.login,
                               source_label=f"upload:{shown}")

        rep = await run_in_threadpool(write)
    except MzgisError as exc:
        text = f"错误 error: {exc}"
        if tmp is not None:  # the temporary path means nothing to the user: name the file they chose
            text = text.replace(str(tmp), shown).replace(tmp.name, shown)
        text = (text.replace("--kind", "设施类型 kind").replace("--level", "级别 level")
                .replace("--coords", "坐标 coordinates").replace("--layer name", "图层名 layer name")
                .replace("--layer ", "图层名 layer name "))
        return _page(request, form=values, error=text + "\n未写入 nothing was written.", status=400)
    finally:
        await form.close()  # the upload's spooled copy, also when the write is refused (403)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    report = {"summary": rep.summary().splitlines()[0], "layer": rep.layer, "layer_type": rep.layer_type,
              "inserted": rep.inserted, "updated": rep.updated, "unchanged": rep.unchanged, "retired": rep.retired,
              "rows": rep.inserted + rep.updated + rep.unchanged, "total": rep.total_active,
              "skipped": list(rep.skipped), "notes": list(rep.notes), "file": shown}
    return _page(request, form=values, report=report)
