"""The application factory of ``mzgis serve``: middleware, templates, error pages, routers."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from mzgis.errors import MzgisError
from mzgis.web.auth import (
    Accounts,
    LoginLimiter,
    NotLoggedIn,
    User,
    check_csrf,
    csrf_token,
)
from mzgis.web.pages import NavItem, render, url_with

__all__ = ["NavItem", "WebState", "create_app", "render", "session_secret"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: Folder (inside the workspace) of the web app's private files: the session secret.
SECRET_DIR = ".mzgis-web"
SECRET_NAME = "session.key"

#: Content-Security-Policy of the app's own pages: no inline script or style, nothing off-site.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Policy of the workspace's own output pages (maps, reports: inline Leaflet scripts), shown in a
#: sandbox: scripts run, but in an opaque origin with no access to the session or the app.
OUT_CSP = ("default-src 'self' data: blob:; script-src 'self' 'unsafe-inline' data: blob:; "
           "style-src 'self' 'unsafe-inline' data:; img-src 'self' data: blob:; font-src 'self' data:; "
           "connect-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'self'; sandbox allow-scripts allow-popups allow-downloads")


@dataclass
class WebState:
    """What every request of one app shares (``request.app.state.mz``)."""

    root: Path
    store_url: str | None
    nav: list[NavItem] = field(default_factory=list)
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    #: one analysis at a time (they write the same out/ files)
    analysis_lock: threading.Lock = field(default_factory=threading.Lock)
    #: largest request body per path, where it differs from the app's ``max_body_bytes``
    body_limits: dict[str, int] = field(default_factory=dict)
    #: failed logins per address over all accounts (password spraying)
    address_limiter: LoginLimiter = field(default_factory=lambda: LoginLimiter(50, 60.0))
    #: Argon2 verifications at once (each takes 64 MB and tens of ms: a flood of logins waits here)
    verify_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    #: how long a session lives (seconds from login; the store's sessions expire then)
    session_max_age_s: int = 12 * 3600
    #: the session-signing secret (also keys the CSRF token of the login form)
    secret: bytes = b""
    #: form limits (``max_files``, ``max_fields``) per path, where they differ from ``auth.FORM_LIMITS``
    form_limits: dict[str, dict[str, int]] = field(default_factory=dict)

    def workspace(self) -> Any:
        """The workspace, opened afresh (its settings may have changed), on ``store_url`` if given."""
        from mzgis.gis.workspace import Workspace

        ws = Workspace.open(self.root)
        if self.store_url:
            ws.config.setdefault("store", {})["url"] = self.store_url
        return ws

    def store(self) -> Any:
        from mzgis.layers.store import open_store

        return open_store(self.store_url) if self.store_url else self.workspace().store

    def accounts(self) -> Accounts:
        return Accounts(self.store())


def session_secret(root: Path) -> bytes:
    """The workspace's session-signing secret, made on first start (``.mzgis-web/session.key``, mode
    0600, folder 0700). It is never printed, never in the repository and never under ``out/``."""
    d = root / SECRET_DIR
    d.mkdir(mode=0o700, exist_ok=True)
    p = d / SECRET_NAME
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = p.read_bytes().strip()
        if len(data) < 32:
            msg = f"{p}: 会话密钥太短 the session secret is too short; 删除它以重新生成 delete it to make a new one"
            raise MzgisError(msg) from None
        return data
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_hex(32).encode())
    return p.read_bytes().strip()


def _templates() -> Jinja2Templates:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["url"] = url_with
    env.globals["csrf_token"] = csrf_token
    return Jinja2Templates(env=env)


def _security_headers(resp: Response, path: str) -> None:
    h = resp.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if path.startswith("/out/"):
        h.setdefault("Content-Security-Policy", OUT_CSP)
        h.setdefault("X-Frame-Options", "SAMEORIGIN")
    else:
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Frame-Options", "DENY")
    if not path.startswith("/static/"):
        h.setdefault("Cache-Control", "no-store")


def create_app(workspace_path: str | Path, *, store_url: str | None = None, secure_cookies: bool = False,
               login_max_failures: int = 5, login_window_s: float = 60.0, session_max_age_s: int = 12 * 3600,
               max_body_bytes: int = 2 * 1024 * 1024,
               routers: Sequence[tuple[APIRouter, Sequence[NavItem]]] = ()) -> FastAPI:
    """The web app of a workspace.

    Parameters
    ----------
    workspace_path
        The workspace folder (``mzgis.toml``); its store is the one the app reads and writes.
    store_url
        A ``postgresql://`` URL to use instead of the workspace's ``[store] url``.
    secure_cookies
        Send the session cookie over HTTPS only (set behind a TLS proxy).
    login_max_failures, login_window_s
        The login rate limit per (account, client address).
    max_body_bytes
        The largest request body (``Content-Length``) accepted; larger ones get 413 before
        anything reads them, a body without a length 411. A route that takes uploads raises it
        for its own path through ``app.state.mz.body_limits[path] = bytes``.
    routers
        Extra routers with their navigation entries (see :mod:`mzgis.web`).
    """
    from mzgis.gis.workspace import Workspace

    root = Path(workspace_path)
    ws = Workspace.open(root)  # a clear error now rather than at the first request
    if store_url:
        ws.config.setdefault("store", {})["url"] = store_url
    ws.store.layer_names()  # the store opens
    state = WebState(root=root, store_url=store_url,
                     limiter=LoginLimiter(login_max_failures, login_window_s),
                     address_limiter=LoginLimiter(10 * login_max_failures, login_window_s),
                     session_max_age_s=session_max_age_s, secret=session_secret(root))
    app = FastAPI(title="mzgis", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_csrf)])
    app.state.mz = state
    app.state.templates = _templates()
    app.add_middleware(SessionMiddleware, secret_key=state.secret.decode(), session_cookie="mzgis_session",
                       max_age=session_max_age_s, same_site="lax", https_only=secure_cookies)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        resp: Response
        if _CTRL_PATH.search(request.url.path):  # a NUL or control character: bad input on every route
            resp = PlainTextResponse("路径含控制字符 the path holds control characters (e.g. %00); 请求无效 bad request",
                                     status_code=400)
            _security_headers(resp, request.url.path)
            return resp
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            limit = state.body_limits.get(request.url.path, max_body_bytes)
            length = request.headers.get("content-length")
            if length is None and request.headers.get("transfer-encoding"):
                resp = PlainTextResponse("需要 Content-Length 411 length required", status_code=411)
            elif length is not None and (not length.isdigit() or int(length) > limit):
                resp = PlainTextResponse(f"请求太大 request too large: 至多 at most {limit} bytes", status_code=413)
            else:
                resp = await call_next(request)
            _security_headers(resp, request.url.path)
            return resp
        resp = await call_next(request)
        _security_headers(resp, request.url.path)
        return resp

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(url_with("/login", next=request.url.path + (
                "?" + request.url.query if request.url.query else "")), status_code=303)
        return PlainTextResponse("请先登录 please log in first", status_code=401)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (401, 403, 404, 405, 409, 413, 415, 429) and "text/html" in request.headers.get("accept", ""):
            return render(request, "error.html", {"status": exc.status_code, "message": str(exc.detail)},
                          status=exc.status_code)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(MzgisError)
    async def mzgis_error(request: Request, exc: MzgisError) -> Response:
        return render(request, "error.html", {"status": 400, "message": f"错误 error: {exc}"}, status=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return PlainTextResponse(f"内部错误 internal error ({type(exc).__name__}); 这是 mzgis 的缺陷 this is a "
                                 "bug in mzgis: 请报告 please report it. 项目库未改动 nothing was half-written "
                                 "(every write is one transaction).", status_code=500)

    app.add_middleware(PanicGuard)  # a pyo3 panic (BaseException) reaches the internal-error page

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from mzgis.web import (
        routes_core,
        routes_edit,
        routes_field,
        routes_import,
        routes_plan,
        routes_view,
    )

    app.add_middleware(routes_field.UploadLimit)  # a too-large photo gets its own message (413)
    state.body_limits[routes_field.RECORD_PATH] = routes_field.MAX_BODY_BYTES
    state.body_limits[routes_import.IMPORT_PATH] = routes_import.MAX_BODY_BYTES  # a layer file, up to 20 MB
    state.form_limits[routes_field.RECORD_PATH] = routes_field.RECORD_FORM_LIMITS  # parsed once, by check_csrf
    state.form_limits[routes_import.IMPORT_PATH] = routes_import.IMPORT_FORM_LIMITS
    # the app's own pages, the field-inspection pages (issue 16, point 4) among them
    for router, nav in [(routes_core.router, routes_core.NAV), (routes_view.router, routes_view.NAV),
                        (routes_plan.router, routes_plan.NAV), (routes_import.router, routes_import.NAV),
                        (routes_edit.router, routes_edit.NAV),
                        (routes_field.router, routes_field.NAV), *routers]:
        app.include_router(router)
        state.nav.extend(nav)
    state.nav.extend(routes_core.ADMIN_NAV)
    return app


_CTRL_PATH = re.compile(r"[\x00-\x1f\x7f]")
_REAL_BASE = (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)


class PanicGuard:
    """ASGI middleware: a BaseException that is not an Exception nor one of Python's own
    (KeyboardInterrupt, SystemExit, GeneratorExit, cancellation) — a pyo3 ``PanicException`` from a
    native reader — is raised again as a RuntimeError, so the app's internal-error page answers it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            raise
        except _REAL_BASE:
            raise
        except BaseException as exc:
            msg = f"{type(exc).__name__}: {str(exc)[:200]}"
            raise RuntimeError(msg) from exc


def require(user: User | None) -> User:
    """The user, or the login form (for code that checks the user itself)."""
    if user is None:
        raise NotLoggedIn
    return user
