"""Fixtures of the web app tests: a hostile workspace, a real ``mzgis serve`` process, Playwright.

``web_ws``      a workspace (built once per session) whose every text field holds a script or
                template payload, with out/ made by the real commands (standards, coverage, map,
                report) and one account per role (:data:`USERS`)
``web_server``  ``mzgis serve`` as its own process on a free 127.0.0.1 port against ``web_ws``
``browser``     Debian's Chromium through Playwright (one per test module)
``phone``       a function that opens a new browser context at phone size (390 × 844) and returns
                its page; every page fails the test at the end if a dialog opened (a script ran)
                or the console reported an error (e.g. a Content-Security-Policy violation)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.security.test_templates import JURISDICTION, NAME, SINGLE, TEXTS
from tests.security.workspace import build_workspace, mzgis

#: role → (account, password); ``victim`` is the account the rate-limit test hammers
USERS = {
    "viewer": ("lead", "viewer-pass-1"),
    "planner": ("plan", "planner-pass-1"),
    "placename": ("field", "placename-pass-1"),
    "admin": ("boss", "admin-pass-1"),
}
EXTRA_USERS = {"victim": ("placename", "victim-pass-1"), "field2": ("placename", "field2-pass-1"),
               "gone": ("viewer", "gone-pass-1")}
PHONE = {"width": 390, "height": 844}


def mzgis_exe() -> list[str]:
    exe = Path(sys.executable).with_name("mzgis")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mzgis.gis.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add_accounts(ws: Path) -> None:
    from mzgis.gis.workspace import Workspace
    from mzgis.web.auth import Accounts

    acc = Accounts(Workspace.open(ws).store)
    for role, (login, pw) in USERS.items():
        acc.add(login, pw, role, by="test-setup")
    for login, (role, pw) in EXTRA_USERS.items():
        acc.add(login, pw, role, by="test-setup")


@pytest.fixture(scope="session")
def web_ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("web")
    ws = build_workspace(root, TEXTS, name=NAME, jurisdiction=JURISDICTION, single=SINGLE)
    for cmd in (["standards", ws], ["coverage", ws, "--kind", "社区养老服务驿站"], ["map", ws], ["report", ws]):
        assert mzgis(*cmd) == 0, cmd
    add_accounts(ws)
    return ws


@dataclass
class Server:
    """A running ``mzgis serve`` process."""

    url: str
    ws: Path
    proc: subprocess.Popen[bytes]
    log: Path
    store_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def store(self) -> Any:
        from mzgis.layers.store import open_store

        return open_store(self.store_url or self.ws / "project.gpkg")

    def dump(self) -> dict[str, Any]:
        """The store's content, with the accounts and inspection tables."""
        s = self.store()
        d = s.dump()
        d["accounts"] = s.accounts().to_dict("records")
        return d


def start_server(ws: Path, log: Path, *args: str) -> Server:
    port = free_port()
    env = {**os.environ, "MZGIS_USER": "server-process"}  # a write without the web user would show it
    with log.open("wb") as out:
        proc = subprocess.Popen([*mzgis_exe(), "serve", str(ws), "--port", str(port), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"mzgis serve exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=2).text == "ok":
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mzgis serve did not answer in 60 s: {log.read_text(errors='replace')}")
        time.sleep(0.2)
    return Server(url, ws, proc, log)


def stop_server(srv: Server) -> None:
    srv.proc.terminate()
    try:
        srv.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait(timeout=20)


@pytest.fixture(scope="session")
def web_server(web_ws: Path, tmp_path_factory) -> Iterator[Server]:
    srv = start_server(web_ws, tmp_path_factory.mktemp("serverlog") / "serve.log")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.maps.browser import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class PhoneLog:
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    off_site: list[str] = field(default_factory=list)


@pytest.fixture
def phone(browser: Any) -> Iterator[Callable[[], Any]]:
    """``phone()`` → a new page in its own context (own cookies) at 390 × 844."""
    contexts: list[Any] = []
    log = PhoneLog()

    def make() -> Any:
        ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("dialog", lambda d: (log.dialogs.append(d.message), d.dismiss()))
        # a page answered 403/404 on purpose is fine; a missing asset or a CSP violation is not
        page.on("console", lambda m: log.console_errors.append(f"{page.url}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: log.console_errors.append(f"{r.url}: {r.status}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        page.on("pageerror", lambda exc: log.console_errors.append(f"{page.url}: {exc}"))
        page.on("request", lambda r: log.off_site.append(r.url)
                if not r.url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")) else None)
        page.set_default_timeout(15_000)
        return page

    make.log = log  # type: ignore[attr-defined]
    yield make
    for ctx in contexts:
        ctx.close()
    assert log.dialogs == [], f"a script ran: dialogs {log.dialogs}"
    assert log.off_site == [], f"requests off this machine: {log.off_site}"
    assert log.console_errors == [], f"console errors: {log.console_errors}"


def login(page: Any, server: Server, login_name: str, password: str) -> Any:
    """Log in through the form; returns the page (on the home page)."""
    page.goto(server.url + "/login")
    page.fill("input[name=login]", login_name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return page


def login_as(page: Any, server: Server, role: str) -> Any:
    return login(page, server, *USERS[role])


def http_login(server: Server, login_name: str, password: str) -> Any:
    """An httpx client logged in through the form (its own cookies); the CSRF token in ``.csrf``."""
    import re

    import httpx

    c = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    r = c.get("/login")
    tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert tok, r.text
    r = c.post("/login", data={"csrf_token": tok.group(1), "login": login_name, "password": password, "next": "/"})
    c.last_login = r  # type: ignore[attr-defined]
    if r.status_code == 303:
        home = c.get("/")
        tok = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        c.csrf = tok.group(1) if tok else None  # type: ignore[attr-defined]
    else:
        c.csrf = None  # type: ignore[attr-defined]
    return c


@pytest.fixture
def http(web_server: Server) -> Iterator[Callable[..., Any]]:
    """``http(login, password, server=web_server)`` → a logged-in httpx client (closed at the end)."""
    clients: list[Any] = []

    def make(login_name: str, password: str, server: Server | None = None) -> Any:
        c = http_login(server or web_server, login_name, password)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def private_ws(web_ws: Path, tmp_path: Path) -> Path:
    """A private copy of the web workspace (without its session secret)."""
    dst = tmp_path / "ws"
    shutil.copytree(web_ws, dst, ignore=shutil.ignore_patterns(".mzgis-web"))
    return dst
