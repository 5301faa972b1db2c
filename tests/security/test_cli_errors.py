"""Attack tests: bad arguments and failing disks give one clear bilingual message, exit 2, no
traceback, and leave the store and the settings unchanged."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from mzgis.gis.cli import build_parser as main_parser
from mzgis.gis.cli import main
from tests.security.conftest import assert_clear_error, snapshot

# (arguments after the workspace, the flag the message must name)
BAD_ARGS = [
    (["inspect", "{ws}", "markers", "--today", "2026-13-40"], "--today"),
    (["inspect", "{ws}", "markers", "--today", "yesterday"], "--today"),
    (["record", "{ws}", "JZ-01", "--condition", "损坏", "--date", "20/11/2026", "--inspector", "张三"], "--date"),
    (["record", "{ws}", "JZ-01", "--condition", "损坏", "--date", "2026-02-30", "--inspector", "张三"], "--date"),
    (["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "5,abc"], "--minutes"),
    (["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "abc"], "--minutes"),
    (["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "5,,15"], "--minutes"),
    (["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "-5"], "--minutes"),
    (["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "nan"], "--minutes"),
    (["reach", "{ws}", "--facilities", "stations", "--demand", "x", "--minutes", "inf"], "--minutes"),
    (["service-areas", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "5,,10"], "--minutes"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "3", "--coords", "martian"], "--coords"),
    (["export", "{ws}", "stations", "{ws}/out/s.csv", "--coords", "martian"], "--coords"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--target", "1.5"], "--target"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--target", "0"], "--target"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--target", "90%"], "--target"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "0"], "--add"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "2.5"], "--add"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "3", "--capacity", "-1"], "--capacity"),
    (["site", "{ws}", "--kind", "社区养老服务驿站", "--add", "3", "--minutes", "nan"], "--minutes"),
    (["import", "{ws}", "x.csv", "--type", "facilities", "--coords", "martian"], "--coords"),
    (["edit", "{ws}", "markers", "update", "JZ-01", "--expect-version", "-1"], "--expect-version"),
    (["revert", "{ws}", "markers", "JZ-01", "--version", "abc"], "--version"),
]


@pytest.mark.parametrize(("argv", "flag"), BAD_ARGS)
def test_bad_argument_is_refused_before_anything_is_touched(ws, capsys, argv, flag):
    before = snapshot(ws)
    assert main([a.format(ws=ws) for a in argv]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, flag, "invalid")
    assert snapshot(ws) == before


def test_site_needs_add_or_target(ws, capsys):
    assert main(["site", str(ws), "--kind", "社区养老服务驿站"]) == 2
    assert_clear_error(capsys.readouterr().err, "--add", "--target")


def test_init_on_a_file_path(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("keep me", encoding="utf-8")
    assert main(["init", str(f), "--name", "x"]) == 2
    assert_clear_error(capsys.readouterr().err, str(f), "not a folder")
    assert f.read_text(encoding="utf-8") == "keep me"
    assert main(["init", str(f / "ws"), "--name", "x"]) == 2
    assert_clear_error(capsys.readouterr().err, str(f))
    assert f.read_text(encoding="utf-8") == "keep me"


def test_config_that_is_a_folder(tmp_path, capsys):
    ws = tmp_path / "w"
    ws.mkdir()
    (ws / "mzgis.toml").mkdir()
    assert main(["layers", str(ws)]) == 2
    assert_clear_error(capsys.readouterr().err, "mzgis.toml")


def test_config_that_is_not_utf8(ws, capsys):
    p = ws / "mzgis.toml"
    p.write_bytes(p.read_text(encoding="utf-8").encode("gbk"))
    before = snapshot(ws)
    assert main(["layers", str(ws)]) == 2
    assert_clear_error(capsys.readouterr().err, "mzgis.toml", "UTF-8")
    assert snapshot(ws) == before


@pytest.mark.parametrize(("exc", "words"), [
    (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    (OSError(errno.ENOSPC, "No space left on device"), "disk full"),
    (OSError(errno.EROFS, "Read-only file system"), "read-only"),
    (IsADirectoryError(errno.EISDIR, "Is a directory"), "is a folder"),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory"), "not a folder"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), "not found"),
])
def test_file_system_errors_are_clear(ws, capsys, monkeypatch, exc, words):
    import mzgis.layers.export as export

    target = ws / "out" / "s.csv"
    exc.filename = str(target)

    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(export, "export_frame", failing)
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(target)]) == 2
    assert_clear_error(capsys.readouterr().err, str(target), words)
    assert snapshot(ws) == before


class PanicException(BaseException):
    """Stands for ``pyo3_runtime.PanicException`` (a Rust panic, e.g. in python-calamine)."""


@pytest.mark.parametrize("exc", [KeyError("surprise"), RuntimeError("surprise"), PanicException("surprise")])
def test_internal_fault_exits_1_with_one_line_and_a_traceback_file(ws, capsys, monkeypatch, exc):
    import mzgis.layers.export as export

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(export, "export_frame", boom)
    monkeypatch.delenv("MZGIS_DEBUG", raising=False)
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 1
    err = capsys.readouterr().err
    assert_clear_error(err, "内部错误 internal error", "surprise", "fault in mzgis", "--debug", "report")
    assert len(err.strip().splitlines()) == 1
    logs = sorted((ws / "logs").glob("mzgis-fault-*.log"))
    assert len(logs) == 1
    assert str(logs[0]) in err
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback" in text
    assert "surprise" in text
    assert "export" in text
    for how in (["--debug"], ["-v"]):
        assert main([*how, "export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 1
        assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("MZGIS_DEBUG", "1")
    assert main(["export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert snapshot(ws) == before


def test_internal_fault_in_a_real_process_exits_1_without_traceback(ws, tmp_path):
    """A fault outside any workspace: the traceback goes to the temp folder; stderr has one line."""
    code = ("import sys, mzgis.gis.cli as c, mzgis.gis.workspace as w\n"
            "def boom(cls, d):\n    raise ZeroDivisionError('inside')\n"
            "w.Workspace.open = classmethod(boom)\n"
            "sys.exit(c.main(['layers', sys.argv[1]]))\n")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("MZGIS_DEBUG", None)
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60,
                       check=False, env=env)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "ZeroDivisionError" in r.stderr
    assert str(tmp_path / "mzgis-faults") in r.stderr
    assert "inside" in next((tmp_path / "mzgis-faults").glob("mzgis-fault-*.log")).read_text(encoding="utf-8")


def test_exit_codes_are_documented_in_help(capsys):
    with pytest.raises(SystemExit) as e:
        main_parser().parse_args(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "退出状态 exit status" in out
    for line in ("0  完成 done", "2  输入或用法错误 bad input or usage", "1  mzgis 内部错误 internal fault"):
        assert line in out


def test_bad_input_and_usage_exit_2(ws, capsys):
    assert main(["export", str(ws), "no_such_layer", str(ws / "out" / "s.csv")]) == 2
    assert_clear_error(capsys.readouterr().err, "no_such_layer")
    assert main(["export"]) == 2
    assert main(["no-such-command"]) == 2


@pytest.mark.parametrize("argv", [
    ["coverage", "{ws}", "--kind", "社区养老服务驿站", "--minutes", "abc"],
    ["site", "{ws}", "--kind", "社区养老服务驿站", "--target", "1.5"],
    ["inspect", "{ws}", "plan", "--today", "bad"],
    ["export", "{ws}", "stations", "{ws}/./project.gpkg"],
    ["map", "{ws}", "--out", "{ws}/mzgis.toml"],
    ["init", "{ws}/mzgis.toml", "--name", "x"],
    ["record", "{ws}", "../../../etc/passwd", "--condition", "损坏", "--date", "2026-11-20", "--inspector", "x"],
])
def test_no_traceback_in_a_real_process(ws, argv):
    before = snapshot(ws)
    r = subprocess.run([sys.executable, "-m", "mzgis.gis.cli", *[a.format(ws=ws) for a in argv]],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert_clear_error(r.stderr)
    assert snapshot(ws) == before


def test_a_folder_where_a_file_is_expected(ws, tmp_path, capsys):
    folder = tmp_path / "roads.osm"
    folder.mkdir()
    before = snapshot(ws)
    assert main(["network", str(ws), str(folder)]) == 2
    assert_clear_error(capsys.readouterr().err, "roads.osm")
    assert snapshot(ws) == before


def test_a_store_that_is_not_a_database_is_reported_cleanly(ws, capsys):
    store = ws / "project.gpkg"
    store.write_bytes(b"this is not a GeoPackage" * 100)
    cfg = (ws / "mzgis.toml").read_bytes()
    for argv in (["layers", str(ws)], ["export", str(ws), "stations", str(ws / "out" / "s.csv")]):
        assert main(argv) == 2
        assert_clear_error(capsys.readouterr().err)
    assert store.read_bytes() == b"this is not a GeoPackage" * 100
    assert (ws / "mzgis.toml").read_bytes() == cfg


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full")
def test_a_real_full_disk(ws):
    """Writing to /dev/full fails with ENOSPC: a real disk-full error, no simulation."""
    # the first map remembers the resolved metric CRS in the store (once per workspace); after that
    # a failing map must change nothing
    assert main(["map", str(ws), "--out", str(ws / "out" / "first.html")]) == 0
    before = snapshot(ws)
    r = subprocess.run([sys.executable, "-m", "mzgis.gis.cli", "map", str(ws), "--out", "/dev/full"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2, r.stderr
    assert_clear_error(r.stderr, "/dev/full", "disk full")
    assert snapshot(ws) == before


@pytest.mark.parametrize(("argv", "named"), [
    (["boundaries", "{ws}", "--units", "stations"], "admin units"),
    (["inspect", "{ws}", "boundaries", "--units", "markers"], "admin units"),
    (["network", "{ws}", "{src}"], "unsupported format"),
    (["history", "{ws}", "nolayer"], "nolayer"),
    (["edit", "{ws}", "stations", "add", "F9", "--lonlat", "500,500"], "outside the import extent"),
    (["edit", "{ws}", "stations", "add", "F9", "--lonlat", "39.99,116.32"], "look swapped"),
    (["edit", "{ws}", "stations", "add", "F9", "--lonlat", "nan,40"], "finite"),
    (["edit", "{ws}", "stations", "update", "F1", "--wkt", "POINT EMPTY"], "empty"),
    (["edit", "{ws}", "stations", "update", "F1", "--wkt", "POINT (1e400 40)"], "--wkt"),
])
def test_wrong_inputs_to_place_and_network_commands(ws, capsys, argv, named):
    src = ws.parent / "stations.csv"
    src.write_text("编号,经度,纬度\nX,116.3,40.0\n", encoding="utf-8")
    before = snapshot(ws)
    assert main([a.format(ws=ws, src=src) for a in argv]) == 2
    assert_clear_error(capsys.readouterr().err, named)
    assert snapshot(ws) == before


@pytest.mark.parametrize(("argv", "named"), [
    (["--metric-crs", "EPSG:4326"], "metric_crs"),
    (["--metric-crs", "not-a-crs"], "metric_crs"),
    (["--plan", "mentougu"], "mentougu"),
])
def test_init_with_bad_settings_writes_nothing(tmp_path, capsys, argv, named):
    ws = tmp_path / "new"
    assert main(["init", str(ws), "--name", "x", *argv]) == 2
    assert_clear_error(capsys.readouterr().err, named)
    assert not ws.exists()


def test_names_list_in_gbk_is_read_and_garbage_is_refused(ws, tmp_path, capsys):
    addr = tmp_path / "addr.csv"
    addr.write_text("编号,地址,经度,纬度\nA1,北京市海淀区燕园街道颐和园路5号,116.31,39.99\n", encoding="utf-8")
    assert main(["import", str(ws), str(addr), "--layer", "doorplates", "--type", "addresses", "--coords",
                 "wgs84"]) == 0
    gbk = tmp_path / "names.csv"
    gbk.write_bytes("燕园街道\n颐和园路\n".encode("gbk"))
    assert main(["inspect", str(ws), "addresses", "--names", str(gbk)]) == 0
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00\xd8\x81")
    before = snapshot(ws)
    assert main(["inspect", str(ws), "addresses", "--names", str(bad)]) == 2
    assert_clear_error(capsys.readouterr().err, "--names", "bad.csv", "UTF-8")
    assert snapshot(ws) == before


def test_xlsx_with_a_cell_at_xfd1048576_is_refused_not_an_abort(ws, tmp_path):
    """python-calamine would allocate 17 billion cells and abort the process (exit 134, a Rust
    backtrace): the extent is checked first, exit 2 naming the file and the cell."""
    import openpyxl

    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.append(["编号", "名称", "经度", "纬度"])
    sheet.append(["F9", "甲驿站", 116.31, 40.0])
    sheet["XFD1048576"] = "x"
    src = tmp_path / "far.xlsx"
    wb.save(src)
    before = snapshot(ws)
    r = subprocess.run([sys.executable, "-m", "mzgis.gis.cli", "import", str(ws), str(src), "--layer", "far",
                        "--type", "facilities", "--kind", "社区养老服务驿站", "--coords", "wgs84"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert_clear_error(r.stderr, "far.xlsx", "XFD1048576", "CSV")
    assert snapshot(ws) == before
