"""Network commands: ``mzgis network`` and ``mzgis reach`` (added with the reach engine)."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any) -> None:
    """Register the network commands on the top-level subparsers."""
    _ = (sub, argparse)
