#!/usr/bin/env bash
# Installs everything mzgis needs on a fresh machine: the Python virtual environment with the
# package and its test tools, and (as root, where apt-get exists) the system packages the map and
# report tests use: Debian's chromium (headless browser checks), fonts-noto-cjk (Chinese
# labels in static PNG and PDF maps), poppler-utils (pdfinfo/pdftoppm check the PDF maps), and
# PostgreSQL + PostGIS (the shared store back end; the tests start a throwaway server with
# scripts/postgis.sh), and python3-qgis (QGIS's own Python: the tests open the projects and styles
# `mzgis qgis` writes in real QGIS, run by the system python3).
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
command -v pdfinfo >/dev/null 2>&1 || need+=(poppler-utils)
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || need+=(python3-qgis)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]} (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null
  else
    echo "setup: please install ${need[*]} (Debian: apt-get install ${need[*]}); map browser tests need them" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev,bench]"
