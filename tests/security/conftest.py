"""Fixtures of the attack tests: a small workspace, a dump of the store, bilingual-message checks."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from mzgis.gis.cli import main

#: Marker codes that try to choose where the inspection photo goes (plus harmless odd ones).
NASTY_CODES = ["../../../x", "/tmp/mzgis_abs_evil", "JZ/01", "..", "C" * 300, "界桩 01 号", "a\\b"]


def dump_store(path: Path) -> list[tuple[str, list[str]]]:
    """Every table of the store with its rows, sorted: equal dumps mean an unchanged store
    (whatever the write mechanism does to the file's bytes)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(t, sorted(repr(r) for r in con.execute(f'SELECT * FROM "{t}"'))) for t in tables]
    finally:
        con.close()


def snapshot(ws: Path) -> tuple[bytes, list[tuple[str, list[str]]]]:
    """The config's bytes and the store's content."""
    return (ws / "mzgis.toml").read_bytes(), dump_store(ws / "project.gpkg")


def assert_clear_error(err: str, *names: str) -> None:
    """One bilingual error message (Chinese and English), naming each of ``names``, no traceback."""
    assert "Traceback" not in err
    assert "错误" in err
    assert re.search(r"[\u4e00-\u9fff]", err)
    assert re.search(r"\b(error|invalid|refusing|not|must|unknown)\b", err)
    for n in names:
        assert n in err, f"{n!r} not named in: {err}"


@pytest.fixture(scope="session")
def base_ws(tmp_path_factory) -> Path:
    """A workspace with a facility layer and a marker layer whose codes are path payloads."""
    root = tmp_path_factory.mktemp("secbase")
    ws = root / "ws"
    assert main(["init", str(ws), "--name", "安全测试区"]) == 0
    fac = root / "stations.csv"
    fac.write_text("编号,名称,经度,纬度\nF1,甲驿站,116.3260,40.0030\nF2,乙驿站,116.3100,39.9930\n", encoding="utf-8")
    assert main(["import", str(ws), str(fac), "--layer", "stations", "--type", "facilities", "--kind",
                 "社区养老服务驿站", "--coords", "wgs84"]) == 0
    rows = ["界桩编号,所属界线,经度,纬度,状况,最近检查日期"]
    for i, code in enumerate(["JZ-01", *NASTY_CODES]):
        c = code.replace('"', '""')
        rows.append(f'"{c}",L1,{116.30 + i * 0.001:.4f},40.0000,完好,2023-04-01')
    mk = root / "markers.csv"
    mk.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["import", str(ws), str(mk), "--layer", "markers", "--type", "boundary_markers",
                 "--coords", "wgs84", "--id-field", "界桩编号"]) == 0
    return ws


@pytest.fixture
def ws(base_ws: Path, tmp_path: Path) -> Path:
    """A private copy of the base workspace."""
    dst = tmp_path / "ws"
    shutil.copytree(base_ws, dst)
    return dst
