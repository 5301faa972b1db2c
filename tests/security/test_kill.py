"""SIGKILL at random moments of every write command: the store always opens, and what it holds is
what it held before the command or what the command writes when it finishes — never a half.

Each command first runs to the end on a copy of the workspace (the "after" state and its duration);
then, on fresh copies, it is killed at seeded random moments spread over that duration. States are
compared by a summary without timestamps: per layer the active and retired features, the versions
and ids; the history rows per layer and action; the inspection records; the settings' keys.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mzgis.gis.workspace import Workspace
from tests.security.workspace import build_workspace

KILLS_PER_COMMAND = 3


def _photo(path: Path) -> Path:
    # a valid 1×1 PNG
    path.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"))
    return path


COMMANDS: dict[str, list[str]] = {
    "import": ["import", "{ws}", "{inputs}/stations.geojson", "--layer", "stations", "--type", "facilities",
               "--kind", "社区养老服务驿站", "--retire-missing"],
    "edit-update": ["edit", "{ws}", "stations", "update", "F0", "--set", "name=改名驿站"],
    "edit-add": ["edit", "{ws}", "stations", "add", "F99", "--set", "name=新驿站", "--lonlat", "116.401,39.901"],
    "edit-retire": ["edit", "{ws}", "stations", "retire", "F1"],
    "record": ["record", "{ws}", "M0", "--condition", "损坏", "--date", "2026-11-20", "--inspector", "张三",
               "--photo", "{photo}"],
    "coverage": ["coverage", "{ws}", "--kind", "社区养老服务驿站"],
    "site": ["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "1", "--candidates", "candidates"],
    "boundaries": ["boundaries", "{ws}", "--units", "communities"],
}


def _summary(ws_dir: Path) -> dict[str, Any]:
    store = Workspace.open(ws_dir).store
    out: dict[str, Any] = {}
    for name in store.layer_names():
        g = store.read(name, include_retired=True, internal=True)
        out[name] = sorted((str(f), int(v), r is None or r != r)
                           for f, v, r in zip(g["feature_id"], g["mz_version"], g["mz_retired_at"], strict=True))
        h = store.history(name)
        out[f"history:{name}"] = sorted(zip(h["feature_id"].astype(str), h["action"], h["version"].astype(int),
                                            strict=True))
    rec = store.records("mzgis_inspections")
    out["records"] = len(rec)
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    ws = build_workspace(root, [f"名称{i}" for i in range(6)], name="测试区", jurisdiction="测试区", single="单项")
    # the import command re-imports a changed file: one station renamed, one left out
    src = root / "inputs" / "stations.geojson"
    src.write_text(src.read_text(encoding="utf-8").replace("名称0", "名称0改", 1), encoding="utf-8")
    _photo(root / "photo.png")
    return ws


def _args(cmd: str, ws: Path) -> list[str]:
    root = ws.parent
    return [a.format(ws=ws, inputs=root / "inputs", photo=root / "photo.png") for a in COMMANDS[cmd]]


def _start(args: list[str], *, capture: bool = False) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("mzgis")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mzgis.gis.cli"]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE if capture else subprocess.DEVNULL, start_new_session=True)


def _copy(base: Path, dest: Path) -> Path:
    shutil.copytree(base.parent, dest, symlinks=True)
    return dest / base.name


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_sigkill_leaves_before_or_after(base, tmp_path, cmd):
    before = _summary(base)
    # the whole run: the after state and how long the command takes
    done = _copy(base, tmp_path / "done")
    t0 = time.perf_counter()
    p = _start(_args(cmd, done), capture=True)
    _, err = p.communicate(timeout=300)
    duration = time.perf_counter() - t0
    assert p.returncode == 0, err.decode()
    after = _summary(done)
    assert after != before, "the command must write something for this test to mean anything"
    rng = np.random.default_rng(abs(hash(cmd)) % 2**32)
    seen = []
    for k in range(KILLS_PER_COMMAND):
        ws = _copy(base, tmp_path / f"k{k}")
        p = _start(_args(cmd, ws))
        time.sleep(float(rng.uniform(0.35, 1.0)) * duration)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
        state = _summary(ws)  # the store opens after the kill
        assert state in (before, after), f"{cmd}: kill {k} left a state that is neither before nor after"
        seen.append("before" if state == before else "after")
        if cmd == "record" and state == before:
            photos = ws / "photos"
            assert not photos.exists() or not any(p for p in photos.rglob("*") if p.is_file()), \
                "a killed record left a photo without its inspection"
    assert len(seen) == KILLS_PER_COMMAND
