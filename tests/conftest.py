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


@pytest.fixture
def gpkg_workspace(tmp_path: Path):
    """A fresh workspace on the GeoPackage back end (for what only a file has)."""
    from mzgis.gis.workspace import init_workspace

    return init_workspace(tmp_path / "gws", name="测试区")


# -- the demo, run once ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_once(tmp_path_factory) -> tuple[Path, str]:
    """``mzgis demo`` run once for the whole session: (its workspace, what it printed). Tests only
    read it; a test that writes takes a private copy (:func:`copy_demo`)."""
    import contextlib
    import io

    from mzgis.gis.cli import main

    root = tmp_path_factory.mktemp("demo-once") / "ws"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["demo", str(root)])
    assert rc == 0, buf.getvalue()
    return root, buf.getvalue()


def copy_demo(demo_once: tuple[Path, str], dst: Path) -> Path:
    """A private copy of the session's demo workspace (store, outputs and caches) at ``dst``."""
    import shutil

    shutil.copytree(demo_once[0], dst)
    return dst


# -- store back ends ------------------------------------------------------------------------------

def _pg_binaries() -> bool:
    import glob

    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) and bool(
        glob.glob("/usr/share/postgresql/*/extension/postgis.control"))


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL + PostGIS server started by scripts/postgis.sh (stopped at the end).

    Yields its data folder and the URL of its template database ``mzgis`` (with PostGIS)."""
    import subprocess
    import tempfile

    if not _pg_binaries():
        pytest.skip("PostgreSQL/PostGIS server binaries are not installed (scripts/setup.sh installs "
                    "postgresql and postgresql-15-postgis-3)")
    folder = tempfile.mkdtemp(prefix="mzgis-pg-")
    script = str(ROOT / "scripts" / "postgis.sh")
    url = subprocess.run(["bash", script, "start", folder], check=True, capture_output=True, text=True,
                         timeout=180).stdout.strip().splitlines()[-1]
    try:
        yield folder, url
    finally:
        subprocess.run(["bash", script, "stop", folder], check=False, capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", folder], check=False)


@pytest.fixture(scope="session")
def pg_server(pg_cluster):
    """The URL of the test server's template database ``mzgis`` (with PostGIS)."""
    return pg_cluster[1]


_DB_COUNTER = [0]


def new_pg_database(server_url: str) -> str:
    """The URL of a new, empty database (PostGIS enabled) on the test server."""
    import psycopg

    _DB_COUNTER[0] += 1
    name = f"t{os.getpid()}_{_DB_COUNTER[0]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}" TEMPLATE mzgis')
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database (PostGIS enabled) on the test server."""
    return new_pg_database(pg_server)


@pytest.fixture(params=["gpkg", "postgis"])
def backend(request):
    """The store back end under test: ``"gpkg"`` or a ``postgresql://`` URL."""
    if request.param == "gpkg":
        return "gpkg"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_workspace(tmp_path: Path, backend):
    """A fresh workspace on each store back end (same test, GeoPackage and PostGIS)."""
    from mzgis.gis.workspace import init_workspace

    return init_workspace(tmp_path / "ws", name="测试区", store=None if backend == "gpkg" else backend)
