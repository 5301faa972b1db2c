"""Safe file names and paths built from data or arguments.

Marker codes, layer names, kind ids and photo names come from users' files and commands; none may
choose where a file is written. :func:`safe_filename` turns any text into one harmless path
component, :func:`inside` checks a final path stays in its folder, and :func:`same_or_inside`
tells whether an output path would land on a protected file (also through symlinks, ``.``/``..``
and letter case).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from mzgis.errors import LayerError

__all__ = ["MAX_NAME_CHARS", "inside", "real", "safe_filename", "same_or_inside", "unique_path"]

#: Longest file-name stem kept (characters; a Chinese character is 3 bytes in UTF-8, and most
#: file systems allow 255 bytes).
MAX_NAME_CHARS = 64

_UNSAFE = re.compile(r"[^\w\-.\u4e00-\u9fff]+", re.UNICODE)
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_filename(name: object, *, default: str = "file", max_chars: int = MAX_NAME_CHARS) -> str:
    """One harmless file-name component made from any text.

    Path separators, ``..``, NUL and other control characters, spaces and shell or Windows
    special characters become ``_``; letters, digits (Chinese included), ``-``, ``_`` and ``.``
    are kept; leading dots are dropped (no hidden files, no ``..``); Windows device names are
    prefixed; the result is at most ``max_chars`` characters and never empty (``default``).
    """
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else "_" for ch in text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\.{2,}", "_", text)  # no "..", anywhere
    text = re.sub(r"_{2,}", "_", text).strip("._ ")
    if text.split(".")[0].lower() in _WINDOWS_RESERVED:
        text = "_" + text
    text = text[:max_chars].rstrip("._ ")
    return text or default


def real(path: str | Path) -> Path:
    """The absolute path with every symlink resolved (the path need not exist)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _key(path: Path) -> str:
    return os.path.normcase(str(real(path))).casefold()


def inside(path: str | Path, folder: str | Path) -> bool:
    """True if ``path`` (resolved) lies inside ``folder`` (resolved)."""
    p, f = real(path), real(folder)
    return p == f or f in p.parents


def same_or_inside(path: str | Path, files: Iterable[str | Path] = (), folders: Iterable[str | Path] = ()) -> Path | None:
    """The protected file or folder ``path`` would overwrite, or None.

    ``path`` is compared after resolving symlinks and ``.``/``..``, ignoring letter case (a
    workspace copied to a case-insensitive disk must not lose its store), and with
    :func:`os.path.samefile` for hard links.
    """
    p = real(path)
    pk = _key(p)
    for f in files:
        fp = Path(f)
        if pk == _key(fp):
            return fp
        try:
            if p.exists() and fp.exists() and os.path.samefile(p, fp):
                return fp
        except OSError:
            pass
    for d in folders:
        dk = _key(Path(d))
        if pk == dk or pk.startswith(dk.rstrip(os.sep) + os.sep):
            return Path(d)
    return None


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """A path ``folder/stem[-n]suffix`` that did not exist; the file is created empty (exclusively)
    so no other writer can take the same name."""
    for n in range(1, 10_000):
        p = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return p
    msg = f"{folder}: 同名文件过多 too many files named {stem}*{suffix}"
    raise LayerError(msg)
