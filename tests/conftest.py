"""Shared fixtures: real data from ../shared/data, tiny hand-made fixtures, workspaces."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MZGIS_SHARED_DATA", ROOT.parent / "shared" / "data"))
OSM = SHARED / "osm"
BOUNDARIES = SHARED / "boundaries"


def shared(path: str) -> Path:
    """A file of ../shared/data; missing data fails on CI and skips elsewhere."""
    p = SHARED / path
    if not p.exists():
        if os.environ.get("CI"):
            pytest.fail(f"real test data missing on CI: {p}")
        pytest.skip(f"real test data not available: {p}")
    return p


def sha256(path: Path) -> str:
    """Hash of a file, to prove a failed command left it byte-for-byte unchanged."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh workspace with the default (China) settings."""
    from mzgis.gis.workspace import init_workspace

    return init_workspace(tmp_path / "ws", name="测试区")
