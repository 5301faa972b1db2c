"""Uploads spooled to the workspace's cache: one place for the size limit and the clean-up.

The browser's file name is never used as a path: the file gets a new temporary name made by
``mkstemp`` (never an existing file), and it is removed if the copy fails or goes over the limit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException
from starlette.datastructures import UploadFile

__all__ = ["spool_upload"]

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
