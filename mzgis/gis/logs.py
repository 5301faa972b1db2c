"""Logging and progress-bar set-up for the command line."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO

from mzgis.errors import MzgisWarning

__all__ = ["setup_logging", "show_warning"]

_default_showwarning = warnings.showwarning


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: TextIO | None = None, line: str | None = None) -> None:
    """mzgis's own warnings (e.g. two layers in different CRSs) as one line for the user, like its
    errors: ``注意 warning: …``, without the Python file and line; other warnings as Python shows them."""
    if issubclass(category, MzgisWarning):
        print(f"注意 warning: {message}", file=file or sys.stderr)
        return
    _default_showwarning(message, category, filename, lineno, file, line)


def setup_logging(verbose: int = 0) -> None:
    """Log to stderr: warnings by default, info with ``-v``, debug with ``-vv``."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    warnings.showwarning = show_warning

