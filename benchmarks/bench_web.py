"""Load test of ``mzgis serve`` on 127.0.0.1 (issue 16): the map page and recording an inspection.

Starts a real ``mzgis serve`` process on a workspace (by default a synthetic one: a 9 × 7 street
grid with facilities, communities, six boundary lines and nine markers, with ``mzgis map`` run),
logs in once as a viewer and once as place-name staff (Argon2 is deliberately slow; every client
reuses the session cookie), then runs, one after the other, for ``--seconds`` each:

* **map**: ``--clients`` concurrent clients GET ``/out/map.html`` (the leaders' map page);
* **record**: ``--clients`` concurrent clients POST ``/field/record`` — a random marker, a small
  JPEG photo (a few KB), a fresh ``client_key``; every ``--resend``-th request resends the key of
  an inspection already stored (a phone retrying), which must be answered as a success and not
  stored again.

Reports requests/s, median and p95 latency and errors for each (errors must be 0), then checks
nothing was lost: the store holds exactly one inspection record per successful first send (its
key), no key twice, one photo file per stored record (and at most one marker-history row: a record
that repeats a marker's condition and date leaves the marker, and so its history, unchanged).

Run: ``.venv/bin/python benchmarks/bench_web.py [--clients 50] [--seconds 60] [--ws WS]``.
Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VIEWER = ("bench-lead", "bench-viewer-pass")
FIELD = ("bench-field", "bench-field-pass")


def mzgis(*args: str) -> None:
    exe = Path(sys.executable).with_name("mzgis")
    subprocess.run([str(exe), *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def build(root: Path) -> Path:
    from tests.security.workspace import build_workspace

    texts = [f"名称{i}" for i in range(9)]
    ws = build_workspace(root, texts, name="压力测试", jurisdiction="测试区", single="自定义")
    mzgis("map", ws)
    return ws


def add_users(ws: Path) -> None:
    from mzgis.gis.workspace import Workspace
    from mzgis.web.auth import Accounts

    acc = Accounts(Workspace.open(ws).store)
    for (login, pw), role in ((VIEWER, "viewer"), (FIELD, "placename")):
        if acc.get(login) is None:
            acc.add(login, pw, role, by="bench_web")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(ws: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    exe = Path(sys.executable).with_name("mzgis")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "serve", str(ws), "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mzgis serve exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=2).text == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("mzgis serve did not start in 60 s")


def login(url: str, user: tuple[str, str]) -> tuple[dict[str, str], str]:
    """Session cookies and the CSRF token of a logged-in user."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as c:
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert tok
        r = c.post("/login", data={"csrf_token": tok.group(1), "login": user[0], "password": user[1], "next": "/"})
        assert r.status_code == 303, r.text
        tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
        assert tok
        return dict(c.cookies), tok.group(1)


def small_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((96, 72), 40).convert("RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


class Phase:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.retries: list[str] = []  # transport failures that were sent again (a phone resends)
        self.elapsed = 0.0

    async def send(self, fn: Any) -> Any:
        """``await fn()``, sent again (the same request, the same key) after a transport failure — a
        timeout or a dropped connection — up to 3 times, as the phone's queue does."""
        import httpx

        for attempt in range(4):
            try:
                return await fn()
            except httpx.TransportError as exc:
                if attempt == 3:
                    raise
                self.retries.append(f"{type(exc).__name__}: {exc}")
        raise AssertionError

    def report(self) -> str:
        lat = sorted(self.latencies)
        n = len(lat)

        def pct(p: float) -> float:
            return 1000 * lat[min(n - 1, int(p * n))] if n else float("nan")

        return (f"{self.name:7s} {n:7d} requests in {self.elapsed:5.1f} s = {n / self.elapsed:7.1f} req/s, "
                f"median {pct(0.5):7.1f} ms, p95 {pct(0.95):7.1f} ms, errors {len(self.errors)}, "
                f"sent again after a transport failure {len(self.retries)}")


async def run_phase(ph: Phase, clients: int, seconds: float, make: Any) -> Phase:
    """``clients`` workers, each calling ``make(w, i)`` (a coroutine giving an error text or None) in
    a loop until ``seconds`` have passed."""
    stop = time.monotonic() + seconds

    async def worker(w: int) -> None:
        i = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                err = await make(w, i)
            except Exception as exc:  # a transport error is an error of the run, not of the script
                err = f"{type(exc).__name__}: {exc}"
            if err is None:
                ph.latencies.append(time.perf_counter() - t0)
            else:
                ph.errors.append(err)
            i += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    ph.elapsed = time.perf_counter() - t0
    return ph


async def load(url: str, ws: Path, clients: int, seconds: float, resend: int, timeout: float) -> dict[str, Any]:
    import httpx

    from mzgis.gis.workspace import Workspace

    view_cookies, _ = login(url, VIEWER)
    field_cookies, csrf = login(url, FIELD)
    store = Workspace.open(ws).store
    codes = sorted(str(c) for n in store.layer_names("boundary_markers") for c in store.read(n)["feature_id"])
    photo = small_jpeg()
    today = dt.date.today().isoformat()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    first_sent: list[str] = []  # keys answered as stored
    resent: list[str] = []  # keys answered as already stored
    results: dict[str, Any] = {}

    phases = {"map": Phase("map"), "record": Phase("record")}
    async with httpx.AsyncClient(base_url=url, cookies=view_cookies, limits=limits, timeout=timeout) as c:
        async def get_map(w: int, i: int) -> str | None:
            r = await phases["map"].send(lambda: c.get("/out/map.html"))
            if r.status_code != 200 or len(r.content) < 1000:
                return f"map {r.status_code}"
            return None

        await get_map(0, 0)  # warm up
        results["map_bytes"] = len((await c.get("/out/map.html")).content)
        results["map"] = await run_phase(phases["map"], clients, seconds, get_map)

    async with httpx.AsyncClient(base_url=url, cookies=field_cookies, limits=limits, timeout=timeout,
                                 headers={"Accept": "application/json"}) as c:
        rng = random.Random(16)

        async def record(w: int, i: int) -> str | None:
            again = resend and i % resend == resend - 1 and first_sent
            key = rng.choice(first_sent) if again else secrets.token_hex(16)
            data = {"csrf_token": csrf, "code": rng.choice(codes), "client_key": key,
                    "condition": rng.choice(["完好", "损坏", "移位"]), "date": today, "inspector": f"巡查员{w}",
                    "note": f"load {w}/{i}"}
            r = await phases["record"].send(lambda: c.post(
                "/field/record", data=data, files={"photo": (f"IMG_{w}_{i}.jpg", photo, "image/jpeg")}))
            if r.status_code != 200:
                return f"record {r.status_code}: {r.text[:200]}"
            body = r.json()
            if not body.get("ok"):
                return f"record not ok: {body}"
            if body["duplicate"] and not again:  # a new key sent again after a lost answer: stored once
                first_sent.append(key)
                return None
            if body["duplicate"] != bool(again):
                return f"record duplicate={body['duplicate']} for a {'resent' if again else 'new'} key"
            (resent if again else first_sent).append(key)
            return None

        err = await record(0, 0)  # warm-up: the first record loads the pipelines (seconds of imports)
        assert err is None, err
        results["record"] = await run_phase(phases["record"], clients, seconds, record)
    results["first_sent"] = first_sent
    results["resent"] = resent
    return results


def check(ws: Path, first_sent: list[str], h0: int, photos0: set[Path]) -> list[str]:
    """Nothing lost, nothing twice: the store against the successful first sends."""
    from mzgis.gis.workspace import Workspace

    store = Workspace.open(ws).store
    recs = store.records("mzgis_inspections")
    keys = [k for k in recs.get("client_key", []) if isinstance(k, str)]
    problems = []
    if sorted(keys) != sorted(first_sent):
        problems.append(f"records {len(keys)} != successful first sends {len(first_sent)} "
                        f"(missing {len(set(first_sent) - set(keys))}, extra {len(set(keys) - set(first_sent))})")
    if len(keys) != len(set(keys)):
        problems.append(f"{len(keys) - len(set(keys))} keys stored twice")
    # a marker's row changes (and gets a history row) unless the same condition and date were recorded before
    h = sum(len(store.history(n)) for n in store.layer_names("boundary_markers")) - h0
    if not 0 < h <= len(first_sent):
        problems.append(f"marker history rows {h}, records {len(first_sent)}")
    photos = {p for p in (ws / "photos").rglob("*") if p.is_file()} - photos0 if (ws / "photos").exists() else set()
    if len(photos) != len(first_sent):
        problems.append(f"photo files {len(photos)} != records {len(first_sent)}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a client waits for an answer")
    ap.add_argument("--resend", type=int, default=10, help="every Nth request of a client resends a stored key (0: never)")
    ap.add_argument("--ws", type=Path, help="an existing workspace with a map and markers (copied, not changed)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_web_"))
    try:
        if a.ws:
            ws = tmp / "ws"
            shutil.copytree(a.ws, ws, ignore=shutil.ignore_patterns(".mzgis-web"))
        else:
            t0 = time.perf_counter()
            ws = build(tmp)
            print(f"workspace built in {time.perf_counter() - t0:.0f} s")
        add_users(ws)
        from mzgis.gis.workspace import Workspace

        store = Workspace.open(ws).store
        h0 = sum(len(store.history(n)) for n in store.layer_names("boundary_markers"))
        n0 = len(store.records("mzgis_inspections"))
        if n0:
            sys.exit("the workspace already holds inspection records; give one without (the check counts them)")
        photos0 = {p for p in (ws / "photos").rglob("*") if p.is_file()} if (ws / "photos").exists() else set()
        proc, url = start(ws, tmp / "serve.log")
        load_before = os.getloadavg()[0]
        try:
            res = asyncio.run(load(url, ws, a.clients, a.seconds, a.resend, a.timeout))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"mzgis serve on 127.0.0.1, {a.clients} concurrent clients, {a.seconds:.0f} s per phase; "
              f"{os.cpu_count()} CPUs, load average before the run {load_before:.1f} (shared machine: other jobs ran)")
        print(f"map page /out/map.html: {res['map_bytes'] / 1024:.0f} KB")
        print(res["map"].report())
        print(res["record"].report() + f"  ({len(res['first_sent'])} stored, {len(res['resent'])} resent keys "
                                        "answered as already stored)")
        errors = res["map"].errors + res["record"].errors
        for e in sorted(set(errors))[:10]:
            print("  error:", e)
        for e in sorted(set(res["map"].retries + res["record"].retries))[:5]:
            print("  sent again after:", e)
        problems = check(ws, res["first_sent"], h0, photos0)
        for p in problems:
            print("  LOST/DUPLICATE:", p)
        if not problems:
            print(f"check: {len(res['first_sent'])} records in the store = successful first sends, no key twice, "
                  "one photo each")
        return 1 if errors or problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
