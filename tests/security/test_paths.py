"""Attack tests: paths built from data or arguments never leave their folder or hit the workspace.

Every case runs the real CLI (``main([...])``), and checks the exit status, the message and that
the store and the settings are unchanged.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from mzgis.gis.cli import main
from mzgis.layers.paths import safe_filename
from tests.security.conftest import NASTY_CODES, assert_clear_error, dump_store, snapshot

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
DAY = "2026-11-20"


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _inspections(ws: Path) -> list[tuple[str, ...]]:
    con = sqlite3.connect(ws / "project.gpkg")
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name='mzgis_inspections'").fetchone():
            return []
        return [tuple(r) for r in con.execute("SELECT marker_code, date, photo FROM mzgis_inspections ORDER BY id")]
    finally:
        con.close()


def _marker(ws: Path, code: str) -> tuple[str, str]:
    from mzgis.gis.workspace import Workspace

    m = Workspace.open(ws).store.read("markers").set_index("feature_id")
    return str(m.loc[code, "condition"]), str(m.loc[code, "last_inspection_date"])


# -- safe_filename ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../../x", "/etc/passwd", "a/b\\c", "..", ".", "", "a\x00b", "x" * 300,
                                  "名字 有 空格", "CON", "nul.txt", " . . ", "a..b", "\n\t", "..\\..\\win"])
def test_safe_filename_is_one_harmless_component(name, tmp_path):
    s = safe_filename(name)
    assert s
    assert "/" not in s
    assert "\\" not in s
    assert "\x00" not in s
    assert ".." not in s
    assert not s.startswith(".")
    assert len(s) <= 64
    assert s.split(".")[0].lower() not in ("con", "nul")
    # the name really is one file inside the folder
    p = tmp_path / s
    p.write_text("x")
    assert p.resolve().parent == tmp_path.resolve()


def test_safe_filename_keeps_readable_names():
    assert safe_filename("社区养老服务驿站") == "社区养老服务驿站"
    assert safe_filename("JZ-0101_photo.jpg") == "JZ-0101_photo.jpg"
    assert safe_filename("界桩 01 号") == "界桩_01_号"


# -- record: the photo path ---------------------------------------------------------------------------
@pytest.mark.parametrize("code", NASTY_CODES)
def test_record_photo_stays_in_photos_folder(ws, tmp_path, code):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    outside_before = _files(tmp_path) - _files(ws)
    abs_before = set(Path("/tmp").glob("mzgis_abs_evil*"))
    assert main(["record", str(ws), code, "--condition", "损坏", "--date", DAY, "--inspector", "张三",
                 "--photo", str(photo)]) == 0
    folder = ws / "photos" / DAY
    saved = list(folder.iterdir())
    assert len(saved) == 1
    p = saved[0]
    assert p.read_bytes() == JPEG
    assert p.resolve().parent == folder.resolve()
    assert len(p.name.encode()) <= 255
    assert p.suffix == ".jpg"
    # nothing was written anywhere else
    assert _files(tmp_path) - _files(ws) == outside_before
    assert set(Path("/tmp").glob("mzgis_abs_evil*")) == abs_before
    assert not (ws.parent.parent / "x").exists()
    # the record names the file it saved
    assert _inspections(ws) == [(code, DAY, p.relative_to(ws).as_posix())]
    assert _marker(ws, code) == ("损坏", DAY)


def test_record_photo_names_with_spaces_chinese_and_long(ws, tmp_path):
    long = tmp_path / ("长" * 60 + "x" * 40 + ".JPG")
    odd = tmp_path / "我的 照片 (1).jpeg"
    for f in (long, odd):
        f.write_bytes(JPEG)
        assert main(["record", str(ws), "JZ-01", "--condition", "完好", "--date", DAY, "--inspector", "李四",
                     "--photo", str(f)]) == 0
    names = sorted(p.name for p in (ws / "photos" / DAY).iterdir())
    assert len(names) == 2
    assert all(" " not in n and "(" not in n and len(n.encode()) <= 255 and n.endswith(".jpg") for n in names)


def test_two_photos_of_the_same_name_on_one_day_are_both_kept(ws, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "p.jpg").write_bytes(JPEG + b"first")
    (b / "p.jpg").write_bytes(JPEG + b"second")
    for d in (a, b):
        assert main(["record", str(ws), "JZ-01", "--condition", "完好", "--date", DAY, "--inspector", "李四",
                     "--photo", str(d / "p.jpg")]) == 0
    saved = {p.read_bytes() for p in (ws / "photos" / DAY).iterdir()}
    assert saved == {JPEG + b"first", JPEG + b"second"}
    recs = _inspections(ws)
    assert len(recs) == 2
    assert recs[0][2] != recs[1][2]


@pytest.mark.parametrize(("content", "why"), [(b"#!/bin/sh\nrm -rf /\n", "not an image"), (b"", "size"),
                                               (None, "folder"), ("missing", "not found")])
def test_record_refuses_a_bad_photo_and_changes_nothing(ws, tmp_path, capsys, content, why):
    photo = tmp_path / "evil.jpg"
    if content is None:
        photo.mkdir()
    elif isinstance(content, bytes):
        photo.write_bytes(content)
    before = snapshot(ws)
    assert main(["record", str(ws), "JZ-01", "--condition", "损坏", "--date", DAY, "--inspector", "张三",
                 "--photo", str(photo)]) == 2
    assert_clear_error(capsys.readouterr().err, "evil.jpg", why)
    assert snapshot(ws) == before
    assert not (ws / "photos").exists()


def test_record_of_an_unknown_marker_copies_no_photo(ws, tmp_path, capsys):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    before = snapshot(ws)
    for code, named in (("NOPE", "no boundary marker"), ("../../../x/../y", "no boundary marker"),
                        ("a\x00b", "NUL")):
        assert main(["record", str(ws), code, "--condition", "损坏", "--date", DAY, "--inspector", "张三",
                     "--photo", str(photo)]) == 2
        assert_clear_error(capsys.readouterr().err, named)
    assert snapshot(ws) == before
    assert not (ws / "photos").exists()


def test_record_failing_in_the_store_leaves_no_photo_and_no_half_record(ws, tmp_path, capsys):
    """The inspection record cannot be written (a trigger aborts it, as a full disk would): the
    marker's update in the same transaction is rolled back, the photo removed, the store unchanged."""
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    con = sqlite3.connect(ws / "project.gpkg")
    con.executescript(
        "CREATE TABLE IF NOT EXISTS mzgis_inspections (id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT, layer TEXT, "
        "marker_code TEXT, date TEXT, condition TEXT, inspector TEXT, photo TEXT, note TEXT);"
        "CREATE TRIGGER refuse BEFORE INSERT ON mzgis_inspections "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;")
    con.close()
    before = snapshot(ws)
    assert main(["record", str(ws), "JZ-01", "--condition", "丢失", "--date", DAY, "--inspector", "张三",
                 "--photo", str(photo)]) == 2
    assert_clear_error(capsys.readouterr().err, "full")
    assert snapshot(ws) == before
    assert _marker(ws, "JZ-01") == ("完好", "2023-04-01")
    assert _inspections(ws) == []
    assert not (ws / "photos").exists() or _files(ws / "photos") == set()


# -- output paths ---------------------------------------------------------------------------------------
PROTECTED = [
    ("project.gpkg", "project.gpkg"),
    ("./project.gpkg", "project.gpkg"),
    ("out/../project.gpkg", "project.gpkg"),
    ("PROJECT.GPKG", "project.gpkg"),
    ("mzgis.toml", "mzgis.toml"),
    ("project.gpkg-wal", "project.gpkg-wal"),
    ("project.gpkg.lock", "project.gpkg.lock"),
    (".project.gpkg.new", ".project.gpkg.new"),
    ("cache/graph.gpkg", "cache"),
    ("photos/x.csv", "photos"),
]


@pytest.mark.parametrize(("rel", "named"), PROTECTED)
def test_export_refuses_workspace_files(ws, capsys, rel, named):
    before = snapshot(ws)
    out = f"{ws}/{rel}"
    assert main(["export", str(ws), "stations", out]) == 2
    assert_clear_error(capsys.readouterr().err, named, "refusing")
    assert snapshot(ws) == before


@pytest.mark.parametrize("target", ["project.gpkg", "mzgis.toml"])
def test_export_and_map_refuse_a_symlink_to_the_store_or_config(ws, tmp_path, capsys, target):
    link = tmp_path / "innocent.gpkg"
    link.symlink_to(ws / target)
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(link)]) == 2
    assert_clear_error(capsys.readouterr().err, target)
    assert main(["map", str(ws), "--out", str(link)]) == 2
    assert_clear_error(capsys.readouterr().err, target)
    assert snapshot(ws) == before
    assert link.is_symlink()


def test_export_refuses_the_store_by_a_relative_path(ws, capsys, monkeypatch):
    monkeypatch.chdir(ws)
    before = snapshot(ws)
    assert main(["export", ".", "stations", "project.gpkg"]) == 2
    assert main(["export", "../ws", "stations", "./out/../project.gpkg"]) == 2
    assert_clear_error(capsys.readouterr().err, "project.gpkg")
    assert snapshot(ws) == before


@pytest.mark.parametrize("rel", ["project.gpkg", "./mzgis.toml", "cache/m.html", "Mzgis.toml"])
def test_map_out_refuses_workspace_files(ws, capsys, rel):
    before = snapshot(ws)
    assert main(["map", str(ws), "--out", f"{ws}/{rel}"]) == 2
    assert_clear_error(capsys.readouterr().err, "refusing")
    assert snapshot(ws) == before


def test_map_out_refuses_the_network_source(ws, tmp_path, capsys):
    from mzgis.gis.workspace import Workspace

    src = tmp_path / "roads.osm"
    src.write_text("<osm/>", encoding="utf-8")
    Workspace.open(ws).store.set_meta("network_source", str(src))
    before = snapshot(ws)
    assert main(["map", str(ws), "--out", str(src)]) == 2
    assert_clear_error(capsys.readouterr().err, "roads.osm", "input")
    assert src.read_text(encoding="utf-8") == "<osm/>"
    assert snapshot(ws) == before


def test_export_to_a_folder_is_refused(ws, capsys):
    (ws / "out" / "x.gpkg").mkdir()
    before = snapshot(ws)
    for target in (ws / "out", ws / "out" / "x.gpkg"):
        assert main(["export", str(ws), "stations", str(target)]) == 2
        assert_clear_error(capsys.readouterr().err, "是文件夹 is a folder")
    assert (ws / "out" / "x.gpkg").is_dir()
    assert snapshot(ws) == before


def test_ordinary_outputs_may_be_overwritten(ws, tmp_path):
    for out in (ws / "out" / "stations.csv", tmp_path / "stations.geojson", ws / "stations.gpkg"):
        assert main(["export", str(ws), "stations", str(out)]) == 0
        assert main(["export", str(ws), "stations", str(out)]) == 0
        assert out.stat().st_size > 0
    assert dump_store(ws / "project.gpkg")  # still a readable store


def test_output_file_names_from_kinds_are_safe(ws):
    """Output names built from kinds (coverage_<kind>, sites_<kind>) go through safe_filename."""
    from mzgis.layers.kinds import KINDS

    for k in KINDS:
        s = safe_filename(k)
        assert s == k  # registered kind ids are already safe: names do not change
    assert safe_filename("../../evil") != "../../evil"


# -- demo over an existing folder ---------------------------------------------------------------------
def test_demo_refuses_a_real_workspace_and_a_non_empty_folder(ws, tmp_path, capsys):
    before = snapshot(ws)
    assert main(["demo", str(ws)]) == 2
    assert_clear_error(capsys.readouterr().err, str(ws), "--force")
    assert snapshot(ws) == before
    other = tmp_path / "stuff"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"precious")
    assert main(["demo", str(other)]) == 2
    assert_clear_error(capsys.readouterr().err, "stuff")
    assert (other / "thesis.docx").read_bytes() == b"precious"
    f = tmp_path / "file.txt"
    f.write_text("keep", encoding="utf-8")
    assert main(["demo", str(f)]) == 2
    assert f.read_text(encoding="utf-8") == "keep"


def test_demo_force_moves_a_workspace_aside_and_says_so(ws, capsys, monkeypatch):
    from mzgis.gis import demo

    before = snapshot(ws)
    calls = []

    def fake_init(root, **kw):  # stop right after the folder was cleared: the demo itself is slow
        calls.append(root)
        raise OSError(errno.ENOSPC, "No space left on device", str(root))

    monkeypatch.setattr(demo, "init_workspace", fake_init)
    assert main(["demo", str(ws), "--force"]) == 2
    err = capsys.readouterr().err
    backups = [p for p in ws.parent.iterdir() if p.name.startswith("ws.bak-")]
    assert len(backups) == 1
    assert snapshot(backups[0]) == before  # moved, not deleted
    assert calls == [ws]
    assert "disk full" in err
    assert os.path.isdir(ws)


def test_export_refuses_a_hard_link_to_the_store(ws, tmp_path, capsys):
    link = tmp_path / "copy.gpkg"
    os.link(ws / "project.gpkg", link)
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(link)]) == 2
    assert_clear_error(capsys.readouterr().err, "project.gpkg", "refusing")
    assert snapshot(ws) == before


def test_photos_folder_linked_outside_the_workspace_is_refused(ws, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ws / "photos").symlink_to(elsewhere)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(JPEG)
    before = snapshot(ws)
    assert main(["record", str(ws), "JZ-01", "--condition", "损坏", "--date", DAY, "--inspector", "张三",
                 "--photo", str(photo)]) == 2
    assert_clear_error(capsys.readouterr().err, "outside the workspace")
    assert snapshot(ws) == before
    assert list(elsewhere.rglob("*")) == []


@pytest.mark.parametrize("cmd", [["coverage", "--kind"], ["site", "--add", "1", "--kind"], ["map", "--kinds"]])
@pytest.mark.parametrize("kind", ["../../evil", "/tmp/mzgis_evil_kind", "a\x00b"])
def test_kind_names_never_become_paths(ws, tmp_path, capsys, cmd, kind):
    before = snapshot(ws)
    files = _files(tmp_path)
    assert main([cmd[0], str(ws), *cmd[1:], kind]) == 2
    assert_clear_error(capsys.readouterr().err)
    assert snapshot(ws) == before
    assert _files(tmp_path) == files
    assert not list(Path("/tmp").glob("mzgis_evil_kind*"))


def test_out_folder_that_is_a_file(ws, capsys):
    shutil.rmtree(ws / "out")
    (ws / "out").write_text("not a folder", encoding="utf-8")
    before = snapshot(ws)
    assert main(["inspect", str(ws), "markers"]) == 2
    assert_clear_error(capsys.readouterr().err, "out", "is a file")
    assert snapshot(ws) == before


def test_export_refuses_the_file_the_layer_was_imported_from(ws, capsys):
    from mzgis.gis.workspace import Workspace

    src = Workspace.open(ws).store.layer_info("stations")["source"]
    original = Path(src).read_bytes()
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", src]) == 2
    assert_clear_error(capsys.readouterr().err, "stations.csv", "input")
    assert Path(src).read_bytes() == original
    assert snapshot(ws) == before


@pytest.mark.parametrize("rel", ["project.gpkg", "./PROJECT.gpkg", "mzgis.toml", "cache/copy.gpkg"])
def test_store_copy_never_overwrites_the_store_or_the_settings(ws, capsys, rel):
    before = snapshot(ws)
    assert main(["store", "copy", str(ws), f"{ws}/{rel}", "--force"]) == 2
    assert_clear_error(capsys.readouterr().err, "refusing")
    assert snapshot(ws) == before


def test_store_copy_to_an_ordinary_file_works(ws, tmp_path):
    dst = tmp_path / "copy.gpkg"
    assert main(["store", "copy", str(ws), str(dst)]) == 0
    names = {t for t, _ in dump_store(dst)}
    assert {"stations", "markers"} <= names


@pytest.mark.parametrize("argv", [
    ["export", "{ws}", "stations", "{ws}/out/a\x00b.csv"],
    ["map", "{ws}", "--out", "{ws}/out/m\x00.html"],
    ["record", "{ws}", "JZ-01", "--condition", "损坏", "--date", DAY, "--inspector", "x", "--photo", "p\x00.jpg"],
    ["store", "copy", "{ws}", "{ws}/out/c\x00.gpkg"],
])
def test_nul_in_a_path_argument(ws, capsys, argv):
    before = snapshot(ws)
    assert main([a.format(ws=ws) for a in argv]) == 2
    assert_clear_error(capsys.readouterr().err, "NUL")
    assert snapshot(ws) == before


@pytest.mark.parametrize("out", ["x" * 300 + ".csv", "长" * 100 + ".csv"])
def test_overlong_output_name(ws, capsys, out):
    before = snapshot(ws)
    assert main(["export", str(ws), "stations", str(ws / "out" / out)]) == 2
    assert_clear_error(capsys.readouterr().err, "file name too long")
    assert snapshot(ws) == before


@pytest.mark.parametrize("units", ["../../evil", "/tmp/mzgis_evil_units", "a b", "C" * 300])
def test_layer_names_in_output_file_names(ws, tmp_path, capsys, units):
    files = _files(tmp_path)
    before = snapshot(ws)
    assert main(["inspect", str(ws), "boundaries", "--units", units]) == 2
    assert_clear_error(capsys.readouterr().err)
    assert snapshot(ws) == before
    assert _files(tmp_path) == files
    assert not list(Path("/tmp").glob("mzgis_evil_units*"))
