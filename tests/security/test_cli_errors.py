"""Attack tests: bad arguments and failing disks give one clear bilingual message, exit 2, no
traceback, and leave the store and the settings unchanged."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

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


def test_unexpected_error_is_one_paragraph_and_details_with_v(ws, capsys, monkeypatch):
    import mzgis.layers.export as export

    def boom(*args, **kwargs):
        msg = "surprise"
        raise KeyError(msg)

    monkeypatch.setattr(export, "export_frame", boom)
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, "内部错误 internal error", "surprise", "-v")
    assert len(err.strip().splitlines()) == 1
    assert main(["-v", "export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert snapshot(ws) == before


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
