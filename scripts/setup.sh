#!/usr/bin/env bash
# Installs everything mzgis needs on a fresh machine: the Python virtual environment with the
# package and its test tools, and (as root, where apt-get exists) the system packages the map and
# report tests use: Debian's chromium (headless browser checks) and a CJK font for static maps.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev,bench]"
