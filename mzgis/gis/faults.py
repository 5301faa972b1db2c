"""Internal faults of the command line: the full traceback goes to a file, the user sees one line.

Exit status 1 means a fault in mzgis (a bug), never in the user's data (that is exit status 2).
The traceback is written to ``logs/`` of the workspace when there is one (else the temp folder);
``--debug`` or the environment variable ``MZGIS_DEBUG=1`` also prints it on stderr.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from mzgis import __version__

__all__ = ["DEBUG_ENV", "debug_wanted", "fault_line", "is_panic", "write_fault_report"]

#: The environment variable that prints the traceback of an internal fault (any value but 0/empty).
DEBUG_ENV = "MZGIS_DEBUG"


def debug_wanted() -> bool:
    """Whether ``MZGIS_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "").strip() not in ("", "0", "false", "no")


def is_panic(exc: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (``pyo3_runtime.PanicException``, a ``BaseException``)."""
    return any(t.__name__ == "PanicException" for t in type(exc).__mro__)


def _folder(workspace: str | None) -> Path:
    if workspace:
        ws = Path(workspace)
        if (ws / "mzgis.toml").is_file():
            logs = ws / "logs"
            try:
                logs.mkdir(exist_ok=True)
                if os.access(logs, os.W_OK):
                    return logs
            except OSError:
                pass
    tmp = Path(tempfile.gettempdir()) / "mzgis-faults"
    tmp.mkdir(exist_ok=True)
    return tmp


def write_fault_report(exc: BaseException, argv: Sequence[str], workspace: str | None) -> Path | None:
    """Write the command, the versions and the traceback of ``exc``; the file, or None if it failed."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    text = (f"mzgis {__version__} fault report {dt.datetime.now().isoformat(timespec='seconds')}\n"
            f"python {sys.version.split()[0]} on {sys.platform}\n"
            f"command: mzgis {' '.join(map(str, argv))}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        path = _folder(workspace) / f"mzgis-fault-{stamp}.log"
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path


def fault_line(exc: BaseException, path: Path | None) -> str:
    """The one line the user sees for an internal fault."""
    what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip().rstrip(":")[:300]
    where = (f"完整记录已写入 the full traceback was written to {path}" if path is not None
             else "完整记录未能写入文件 the traceback could not be written to a file; 用 --debug 查看 run again with --debug")
    return (f"错误 error: mzgis 内部错误 internal error ({what}). 这是 mzgis 的缺陷，不是您数据的问题 this is a fault "
            f"in mzgis, not in your data; {where}; 请将该文件和所运行的命令报告给 mzgis 维护者 please report it to the "
            f"mzgis maintainers with that file and the command you ran (--debug or {DEBUG_ENV}=1 shows the traceback here).")
