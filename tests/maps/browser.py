"""Open a local page in real headless Chromium (Debian's, installed by scripts/setup.sh) with the
network cut off, recording console errors, failed and off-machine requests, and dialogs."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    pytest.fail("headless Chromium is not installed: run `make test` (scripts/setup.sh installs Debian's chromium)")
    raise AssertionError  # unreachable


@dataclass
class PageVisit:
    """What happened while the page was open."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    load_seconds: float = 0.0
    result: Any = None


def visit(path: Path, *, screenshot: Path | None = None, script: str | None = None,
          actions: Any = None, size: tuple[int, int] = (1400, 900)) -> PageVisit:
    """Open ``path`` offline, wait until Leaflet has drawn, optionally run actions / a script."""
    from playwright.sync_api import sync_playwright

    v = PageVisit()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, offline=True)
        page = ctx.new_page()

        def on_request(req: Any) -> None:
            if not req.url.startswith(("file:", "data:", "about:", "blob:")):
                v.network_requests.append(req.url)

        def route(r: Any) -> None:
            if r.request.url.startswith(("file:", "data:", "about:", "blob:")):
                r.continue_()
            else:
                r.abort()

        page.on("console", lambda msg: v.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: v.console_errors.append(str(exc)))
        page.on("requestfailed", lambda req: v.failed_requests.append(req.url))
        page.on("request", on_request)
        page.on("dialog", lambda d: (v.dialogs.append(d.message), d.dismiss()))
        page.route("**/*", route)
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-container", timeout=15_000)
        page.wait_for_function("document.querySelectorAll('.leaflet-control-layers-selector').length > 0",
                               timeout=15_000)
        v.load_seconds = time.perf_counter() - t0
        if actions is not None:
            actions(page)
        if script is not None:
            v.result = page.evaluate(script)
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        ctx.close()
        browser.close()
    return v


def non_blank(png: Path, *, min_colours: int = 50) -> bool:
    """True if an image has real content (many distinct colours, not one flat fill)."""
    from PIL import Image

    im = Image.open(png).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 20)
    return colours is not None and len(colours) >= min_colours
