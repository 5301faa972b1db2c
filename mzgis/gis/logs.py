"""Logging and progress-bar set-up for the command line."""

from __future__ import annotations

import logging
import sys

__all__ = ["setup_logging"]


def setup_logging(verbose: int = 0) -> None:
    """Log to stderr: warnings by default, info with ``-v``, debug with ``-vv``."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

