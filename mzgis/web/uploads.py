"""Form input of the web pages: uploads spooled to the workspace's cache (one place for the size
limit and the clean-up) and text fields checked the same way on every page.

The browser's file name is never used as a path: the file gets a new temporary name made by
``mkstemp`` (never an existing file), and it is removed if the copy fails or goes over the limit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from starlette.datastructures import UploadFile

from mzgis.errors import LayerError

__all__ = ["form_text", "spool_upload"]

_CHUNK = 256 * 1024


async def spool_upload(upload: UploadFile, folder: Path, *, prefix: str, suffix: str, limit: int,
                       too_large: Callable[[int], str]) -> tuple[Path, int]:
    """The upload copied to a new temporary file in ``folder``, at most ``limit`` bytes (413 with
    ``too_large(size)`` beyond it, nothing left behind); its path and size."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    path = Path(tmp)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise HTTPException(status_code=413, detail=too_large(size))
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size


def form_text(form: Any, name: str, *, max_len: int, label: str, error: type[Exception],
              multiline: bool = False) -> str:
    """A text field of a posted form, stripped: "" when absent; ``error`` (shown with the form,
    nothing written) for a file in its place, more than ``max_len`` characters, or a control
    character. A ``multiline`` field (a note) follows :func:`mzgis.layers.values.clean_text`: tab
    and line breaks allowed, a browser's CR+LF (and a lone CR) stored as LF."""
    from mzgis.layers.values import clean_text

    v = form.get(name)
    if v is None:
        return ""
    if not isinstance(v, str):
        msg = f"{label}: 应为文字 must be text, not a file"
        raise error(msg)
    v = v.strip()
    try:
        v = clean_text(v, label, multiline=multiline)
    except LayerError as exc:
        raise error(str(exc)) from None
    if len(v) > max_len:
        msg = f"{label}: 太长 too long ({len(v)} 个字符 characters); 至多 at most {max_len}"
        raise error(msg)
    return v
