"""Attack tests: every bad value of mzgis.toml is refused with its file, line and key; good ones work."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from mzgis.gis.cli import main
from mzgis.gis.settings import key_lines
from tests.security.conftest import assert_clear_error, snapshot

# (text replaced, replacement, key named in the message, words the message must have)
BAD = [
    ("walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = true", "walk_speed_km_per_h", "booleans are not numbers"),
    ("walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = inf", "walk_speed_km_per_h", "finite"),
    ("walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = nan", "walk_speed_km_per_h", "finite"),
    ("walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = -4", "walk_speed_km_per_h", "out of range"),
    ("walk_speed_km_per_h = 4.0", 'walk_speed_km_per_h = "4"', "walk_speed_km_per_h", "number"),
    ("elderly_walk_speed_km_per_h = 3.0", "elderly_walk_speed_km_per_h = 0", "elderly_walk_speed_km_per_h", "> 0"),
    ("persons_per_household = 2.6", "persons_per_household = -2.6", "persons_per_household", "out of range"),
    ("persons_per_household = 2.6", "persons_per_household = false", "persons_per_household", "booleans"),
    ("elderly_share = 0.2", "elderly_share = 1.5", "elderly_share", "≤ 1"),
    ("max_snap_distance_m = 300.0", "max_snap_distance_m = -inf", "max_snap_distance_m", "finite"),
    ("sliver_m2 = 100.0", "sliver_m2 = -1", "sliver_m2", "out of range"),
    ("cycle_years = 5.0", "cycle_years = [5]", "cycle_years", "number"),
    ("walk_speed_km_per_h = 4.0", "walk_sped_km_per_h = 4.0", "walk_sped_km_per_h", "did you mean 'walk_speed_km_per_h'"),
    ("[inspection]", "[inspecton]", "inspecton", "did you mean 'inspection'"),
    ('name = "安全测试区"', "name = 5", "name", "string"),
    ('plan = "none"', 'plan = "mentougu"', "plan", "did you mean 'mentougou'"),
    ('plan = "none"', 'plan = "plan.txt"', "plan", ".toml"),
    ('plan = "none"', "plan = 1", "plan", "string"),
    ('metric_crs = "auto"', 'metric_crs = "EPSG:4326"', "metric_crs", "projected"),
    ('default_coords = ""', 'default_coords = "mars2"', "default_coords", "unknown coordinates"),
    ("service_area_buffer_m = 40.0", 'service_area_buffer_m = 40.0\nthreshold_mode = "distanse"', "threshold_mode",
     "'minutes', 'distance'"),
    ("service_area_buffer_m = 40.0", "service_area_buffer_m = 40.0\ncircle_distances_m = [300, -500]",
     "circle_distances_m", "out of range"),
]


def _set_config(ws, old, new):
    p = ws / "mzgis.toml"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def _append(ws, extra: str, text: str | None = None):
    """Append TOML to the settings, first dropping any section the addition declares again (so the
    file stays valid TOML whatever sections ``mzgis init`` writes)."""
    p = ws / "mzgis.toml"
    text = p.read_text(encoding="utf-8") if text is None else text
    for header in re.findall(r"^\[([^\[\]]+)\]$", extra, flags=re.M):
        text = re.sub(rf"^\[{re.escape(header)}\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)
    p.write_text(text + extra, encoding="utf-8")
    return p


def _line_of(text: str, needle: str) -> int:
    """The line where the test wrote the bad value (independent of the validator's scanner)."""
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip() == needle.strip())


@pytest.mark.parametrize(("old", "new", "key", "words"), BAD)
def test_bad_setting_is_refused_with_file_line_and_key(ws, capsys, old, new, key, words):
    p = _set_config(ws, old, new)
    before = snapshot(ws)
    assert main(["layers", str(ws)]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, key, words)
    assert f"{p}:{_line_of(p.read_text(encoding='utf-8'), new.splitlines()[-1])}:" in err
    assert snapshot(ws) == before
    # the other commands refuse too, before touching anything
    assert main(["export", str(ws), "stations", str(ws / "out" / "s.csv")]) == 2
    assert not (ws / "out" / "s.csv").exists()
    assert snapshot(ws) == before


APPENDED = [
    ('\n[maps]\ntianditu_kye = "k"\n', "tianditu_kye", "did you mean 'tianditu_key'"),
    ('\n[store]\nurl = 5\n', "url", "string"),
    ('\n[store]\nurll = "postgresql://x"\n', "urll", "did you mean 'url'"),
    ('\n[[area_rules]]\nname = "x"\ncommunity_types = ["*"]\nmin_total_m2 = true\n', "min_total_m2", "booleans"),
    ('\n[[area_rules]]\nname = "x"\nm2_per_100_households = 35\n', "area_rules", "community_types"),
    ('\n[[area_rules]]\ncommunity_types = ["*"]\nm2_per_100_households = -35\n', "m2_per_100_households", "range"),
    ('\n[[indicators.custom]]\nid = "X"\nname_zh = "x"\nmethod = "cuont"\ntarget = 1\n', "method",
     "did you mean 'count'"),
    ('\n[[indicators.custom]]\nid = "X"\nname_zh = "x"\nmethod = "count"\ntarget = nan\n', "target", "finite"),
    ('\n[travell]\nwalk_speed_km_per_h = 4.0\n', "travell", "did you mean 'travel'"),
]


@pytest.mark.parametrize(("extra", "key", "words"), APPENDED)
def test_bad_appended_section_is_refused(ws, capsys, extra, key, words):
    p = _append(ws, extra)
    before = snapshot(ws)
    assert main(["layers", str(ws)]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, key, words)
    assert re.search(rf"{re.escape(str(p))}:\d+:", err)
    assert snapshot(ws) == before


def test_targets_must_be_numbers(ws, capsys):
    p = _set_config(ws, "[indicators.targets]", '[indicators.targets]\n"EC-04" = true')
    assert main(["layers", str(ws)]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, "EC-04", "booleans")
    line = _line_of(p.read_text(encoding="utf-8"), '"EC-04" = true')
    assert f"{p}:{line}:" in err


VALID = [
    "",
    '\n[store]\nurl = ""\n',  # "" = project.gpkg (a postgresql:// URL would connect)
    '\n[maps]\ntianditu_key = "0123abcd"\n',
    '\n[[area_rules]]\nname = "赤峰 35㎡/百户"\ncommunity_types = ["*"]\nm2_per_100_households = 35\nmin_total_m2 = 300\n',
    '\n[[indicators.custom]]\nid = "X-01"\nname_zh = "儿童之家社区覆盖率"\nmethod = "unit_coverage"\n'
    'kinds = ["children_home"]\nlevel = "community"\ntarget = 90\nbinding = true\nunit_filter = "社区$"\n',
]


@pytest.mark.parametrize("extra", VALID)
def test_valid_settings_keep_working(ws, capsys, extra):
    p = ws / "mzgis.toml"
    text = p.read_text(encoding="utf-8").replace('plan = "none"', 'plan = "mentougou"')
    text = text.replace("[indicators.targets]", '[indicators.targets]\n"EC-04" = 40')
    text = text.replace("[indicators.params]", "[indicators.params]\n\n[indicators.params.FN-02]\nwithin_m = 3000")
    _append(ws, extra, text)
    assert main(["layers", str(ws)]) == 0
    assert "stations" in capsys.readouterr().out


@pytest.mark.parametrize("plan", ["none", "mentougou", "chifeng", "plans/本区规划.toml"])
def test_every_kind_of_plan_setting_is_accepted(ws, capsys, plan):
    _set_config(ws, 'plan = "none"', f'plan = "{plan}"')
    assert main(["layers", str(ws)]) == 0


def test_every_default_key_is_in_the_schema():
    """The schema knows every key mzgis init writes (so no valid workspace is refused)."""
    from mzgis.gis.settings import SCHEMA
    from mzgis.gis.workspace import DEFAULT_CONFIG

    for section, keys in DEFAULT_CONFIG.items():
        assert section in SCHEMA["keys"]
        for k in keys:
            assert k in SCHEMA["keys"][section]["keys"], (section, k)


def test_key_lines_finds_keys_tables_and_arrays_of_tables():
    text = ('# c\n[project]\nname = "x"\n\n[[area_rules]]\nname = "a"\n[[area_rules]]\n  "name" = "b"\n'
            "[indicators.params.FN-02]\nwithin_m = 3\n")
    lines = key_lines(text)
    assert lines[("project", "name")] == 3
    assert lines[("area_rules", 0, "name")] == 6
    assert lines[("area_rules", 1)] == 7
    assert lines[("area_rules", 1, "name")] == 8
    assert lines[("indicators", "params", "FN-02", "within_m")] == 10


def test_bad_setting_via_subprocess_has_no_traceback(ws):
    p = _set_config(ws, "walk_speed_km_per_h = 4.0", "walk_speed_km_per_h = nan")
    r = subprocess.run([sys.executable, "-m", "mzgis.gis.cli", "layers", str(ws)], capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode == 2
    assert_clear_error(r.stderr, f"{p}:", "walk_speed_km_per_h")
    assert r.stdout == ""


@pytest.mark.parametrize(("params", "key", "words"), [
    ("within_m = true", "within_m", "booleans"),
    ("within_m = -1", "within_m", "range"),
    ("withn_m = 3000", "withn_m", "did you mean 'within_m'"),
    ('unit_filter = "[乡镇"', "unit_filter", "regular expression"),
])
def test_indicator_params_are_checked(ws, capsys, params, key, words):
    p = _set_config(ws, "[indicators.params]", f"[indicators.params]\n\n[indicators.params.FN-02]\n{params}")
    before = snapshot(ws)
    assert main(["layers", str(ws)]) == 2
    err = capsys.readouterr().err
    assert_clear_error(err, key, words)
    assert f"{p}:{_line_of(p.read_text(encoding='utf-8'), params)}:" in err
    assert snapshot(ws) == before


_KEY = st.text(alphabet="abcxyz_-019界桩 .\x27\"", min_size=1, max_size=12)
_LEAF = st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=8),
                  st.booleans(), st.lists(st.integers(0, 9), max_size=4))
_DOC = st.dictionaries(_KEY, st.one_of(_LEAF, st.dictionaries(_KEY, st.one_of(
    _LEAF, st.dictionaries(_KEY, _LEAF, min_size=1, max_size=3)), min_size=1, max_size=4)), min_size=1, max_size=5)


def _leaves(d, path=()):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, (*path, k))
        else:
            yield (*path, k)


@settings(max_examples=60, deadline=None)
@given(_DOC)
def test_key_lines_points_at_the_line_of_every_key(doc):
    """Oracle: tomli_w writes the file; the line found for each key must be that key's assignment."""
    text = tomli_w.dumps(doc)
    lines = key_lines(text)
    rows = text.splitlines()
    for path in _leaves(doc):
        assert path in lines, (path, text)
        row = rows[lines[path] - 1].strip()
        key = re.match(r"""^((?:"(?:[^"\\]|\\.)*"|'[^']*'|[^="'])+)=""", row)
        assert key, (path, row)
        assert list(tomllib.loads(key.group(1) + "= 0")) == [path[-1]], (path, row)
