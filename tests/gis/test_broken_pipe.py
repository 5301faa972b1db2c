"""Output piped into a reader that stops early (``mzgis layers WS | head -1``): the work done stays
done, and mzgis must not claim otherwise ("the store is unchanged") nor print a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from mzgis.gis.cli import main


def test_a_closed_pipe_after_the_work_does_not_claim_the_store_unchanged(tmp_path):
    ws = tmp_path / "ws"
    assert main(["init", str(ws), "--name", "管道"]) == 0
    src = tmp_path / "s.csv"
    src.write_text("编号,名称,经度,纬度,状态\n" + "".join(f"S{i},驿站{i},116.{400 + i},39.9,建成运营\n"
                                                       for i in range(40)), encoding="utf-8")
    code = ("import sys; from mzgis.gis.cli import main; sys.stdout.close = lambda: None; "
            "sys.exit(main(sys.argv[1:]))")
    r, w = os.pipe()
    os.close(r)  # the reader is gone before mzgis writes: every print raises BrokenPipeError
    proc = subprocess.run([sys.executable, "-c", code, "import", str(ws), str(src), "--layer", "stations",
                           "--type", "facilities", "--kind", "社区养老服务驿站", "--coords", "wgs84",
                           "--id-field", "编号"], stdout=w, stderr=subprocess.PIPE, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    os.close(w)
    assert "Traceback" not in proc.stderr
    assert "unchanged" not in proc.stderr, proc.stderr
    assert "pipe" in proc.stderr.lower()
    assert proc.returncode == 141
    from mzgis.gis.workspace import Workspace

    assert len(Workspace.open(ws).store.read("stations")) == 40  # the import was done and kept
