"""The command line shows mzgis's own warnings as one plain line, like its errors."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import warnings
from mzgis.gis.logs import setup_logging
from mzgis.errors import CrsMismatchWarning
setup_logging(0)
warnings.warn(CrsMismatchWarning("设施 facilities EPSG:4326 ≠ 需求 demand EPSG:32650: reprojected"), stacklevel=1)
warnings.warn("a library's own remark", DeprecationWarning, stacklevel=1)
"""


def test_mzgis_warning_is_one_plain_line():
    r = subprocess.run([sys.executable, "-W", "always", "-c", CODE], capture_output=True, text=True, timeout=60,
                       check=True)
    lines = r.stderr.splitlines()
    assert "注意 warning: 设施 facilities EPSG:4326 ≠ 需求 demand EPSG:32650: reprojected" in lines
    assert not any("CrsMismatchWarning" in ln for ln in lines)  # no class name, file or source line
    assert sum("reprojected" in ln for ln in lines) == 1
    # other warnings keep Python's form (with their category), for the developers
    assert any("DeprecationWarning: a library's own remark" in ln for ln in lines)
